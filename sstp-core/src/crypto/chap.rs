//! CHAP with MD5 (RFC 1994 §4.1): Response Value =
//! MD5(Identifier ‖ secret ‖ Challenge Value).
//!
//! CHAP-MD5 makes no keys, so an SSTP session authenticated with it binds
//! with the zero HLAK (MS-SSTP §3.2.5.2.2,
//! [`Hlak::zero`](super::binding::Hlak::zero)).

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// Length of a CHAP-MD5 Response Value.
pub(crate) const MD5_RESPONSE_LEN: usize = 16;

/// The Response Value for a Challenge: MD5(Identifier ‖ secret ‖ challenge)
/// (RFC 1994 §4.1; the Identifier is the one of the Challenge packet).
pub(crate) fn chap_md5_response(
    identifier: u8,
    secret: &[u8],
    challenge: &[u8],
) -> [u8; MD5_RESPONSE_LEN] {
    Md5::new()
        .chain_update([identifier])
        .chain_update(secret)
        .chain_update(challenge)
        .finalize()
        .into()
}

/// The authenticator's check of a Response Value, in constant time. A value
/// of the wrong length never matches.
pub(crate) fn verify_chap_md5_response(
    identifier: u8,
    secret: &[u8],
    challenge: &[u8],
    received: &[u8],
) -> bool {
    let expected = chap_md5_response(identifier, secret, challenge);
    // ct_eq on slices of different lengths is false without comparing bytes;
    // the length of a CHAP-MD5 value is public anyway.
    bool::from(expected.as_slice().ct_eq(received))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_md5_of_id_secret_challenge() {
        // Independently: MD5(0x01 || "secret" || 00 01 02 .. 0f).
        let challenge: Vec<u8> = (0..16).collect();
        let mut input = vec![0x01];
        input.extend_from_slice(b"secret");
        input.extend_from_slice(&challenge);
        let expected: [u8; 16] = Md5::digest(&input).into();
        assert_eq!(chap_md5_response(1, b"secret", &challenge), expected);
    }

    #[test]
    fn known_md5_vector() {
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321 A.5):
        // identifier 'a', secret "b", challenge "c".
        assert_eq!(
            chap_md5_response(b'a', b"b", b"c").to_vec(),
            hex::decode("900150983cd24fb0d6963f7d28e17f72").expect("hex")
        );
    }

    #[test]
    fn verify_accepts_only_the_exact_value() {
        let challenge = [0x42u8; 16];
        let good = chap_md5_response(7, b"pw", &challenge);
        assert!(verify_chap_md5_response(7, b"pw", &challenge, &good));
        assert!(!verify_chap_md5_response(8, b"pw", &challenge, &good));
        assert!(!verify_chap_md5_response(7, b"pW", &challenge, &good));
        assert!(!verify_chap_md5_response(7, b"pw", &challenge[..15], &good));
        assert!(!verify_chap_md5_response(7, b"pw", &challenge, &good[..15]));
        assert!(!verify_chap_md5_response(7, b"pw", &challenge, &[]));
        let mut longer = good.to_vec();
        longer.push(0);
        assert!(!verify_chap_md5_response(7, b"pw", &challenge, &longer));
        for i in 0..16 {
            let mut bad = good;
            bad[i] ^= 0x10;
            assert!(!verify_chap_md5_response(7, b"pw", &challenge, &bad));
        }
    }
}
