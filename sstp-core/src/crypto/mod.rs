//! The key math of an SSTP session, on RustCrypto primitives (no hand-rolled
//! MD4, MD5, DES, SHA or HMAC):
//!
//! - [`mschapv2`]: MS-CHAPv2 (RFC 2759 §8): password hashes, NT-Response,
//!   authenticator response, and the client and server checks.
//! - [`mppe`]: MPPE master and session keys (RFC 3079 §3.3/§3.4) and the
//!   EAP-MSCHAPv2 MSK.
//! - [`binding`]: SSTP crypto binding (MS-SSTP §3.2.5.2): HLAK, CMK, Compound
//!   MAC, certificate hash and the server-side check of a CALL_CONNECTED.
//! - [`chap`]: CHAP-MD5 responses (RFC 1994 §4.1).
//!
//! Secrets (passwords, password hashes, master and session keys, HLAK, CMK,
//! MSK) live in types that zeroize themselves on drop and print as `..` in
//! `Debug`. Comparisons of values a peer sends against values we compute use
//! [`subtle`] so their timing does not depend on where they differ.
//!
//! # A full MS-CHAPv2 + SSTP exchange
//!
//! The test `full_mschapv2_and_binding_exchange` below walks one, client and server.

pub(crate) mod binding;
pub(crate) mod chap;
pub(crate) mod mppe;
pub(crate) mod mschapv2;

/// Appends `bytes` as upper-case hex digits (the form RFC 2759 §5 uses for
/// the authenticator response).
fn push_hex_upper(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn full_mschapv2_and_binding_exchange() {
        use crate::crypto::binding::{CertHashes, Hlak, compound_mac, verify_call_connected};
        use crate::crypto::mppe::{MasterKey, MppeKeys, Role};
        use crate::crypto::mschapv2::{
            Credential, check_authenticator_response, generate_nt_response, verify_nt_response,
        };
        use crate::wire::sstp::{HashBitmask, HashProtocol};

        let auth_challenge = [0x5b; 16]; // from the server's CHAP Challenge
        let peer_challenge = [0x21; 16]; // the client's random bytes
        let user = b"User"; // without any `DOMAIN\` prefix (RFC 2759 §8.2)

        // Client: answer the challenge.
        let client_hash = Credential::from_password("clientPass").nt_password_hash();
        let nt_response =
            generate_nt_response(&auth_challenge, &peer_challenge, user, &client_hash);

        // Server: check it against its own copy of the credential.
        let server_hash = Credential::from_nt_hash(*client_hash.as_bytes()).nt_password_hash();
        let authenticator = verify_nt_response(
            &server_hash,
            &auth_challenge,
            &peer_challenge,
            user,
            &nt_response,
        )
        .expect("right password");

        // Client: check the server's "S=..." before trusting anything it says.
        assert!(check_authenticator_response(
            &client_hash,
            &nt_response,
            &peer_challenge,
            &auth_challenge,
            user,
            authenticator.as_bytes(),
        ));

        // Both: the same HLAK from their own MPPE keys (MS-SSTP §3.2.5.2.2).
        let client_keys = MppeKeys::derive(
            &MasterKey::from_password_hash(&client_hash, &nt_response),
            Role::Client,
        );
        let server_keys = MppeKeys::derive(
            &MasterKey::from_password_hash(&server_hash, &nt_response),
            Role::Server,
        );
        let client_hlak = Hlak::from_mschapv2(&client_keys);
        let server_hlak = Hlak::from_mschapv2(&server_keys);
        assert_eq!(client_hlak.as_bytes(), server_hlak.as_bytes());

        // Client: seal the CALL_CONNECTED message another module built
        // (SSTP header .. nonce, cert hash, zeroed MAC field).
        let mut call_connected = [0u8; 112];
        call_connected[..16].copy_from_slice(&[
            0x10, 0x01, 0x00, 0x70, 0x00, 0x04, 0x00, 0x01, 0x00, 0x03, 0x00, 0x68, 0x00, 0x00,
            0x00, 0x02,
        ]);
        let nonce = [7u8; 32];
        let certs = CertHashes::from_der(b"the server's DER certificate");
        call_connected[16..48].copy_from_slice(&nonce);
        call_connected[48..80].copy_from_slice(&certs.padded(HashProtocol::Sha256));
        let mac = compound_mac(HashProtocol::Sha256, &client_hlak, &call_connected);
        call_connected[80..112].copy_from_slice(&mac);

        // Server: verify it.
        verify_call_connected(
            &call_connected,
            HashBitmask::SHA256,
            &nonce,
            &certs.clone().into(),
            &server_hlak,
        )
        .expect("binding holds");
    }
}
