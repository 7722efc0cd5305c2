//! MPPE keys from MS-CHAPv2 (RFC 3079 §3): the master key, the 128-bit
//! master send and receive keys of each side, and the EAP-MSCHAPv2 MSK.
//!
//! SSTP never encrypts with MPPE (TLS does that); it needs these keys only to
//! build the crypto-binding HLAK (MS-SSTP §3.2.5.2.2, see
//! [`Hlak::from_mschapv2`](super::binding::Hlak::from_mschapv2)).
//!
//! **Direction.** The Magic2-derived key is the client's send key and the
//! server's receive key; the Magic3-derived key is the client's receive key
//! and the server's send key. RFC 3079 §3.5.3 labels the Magic3 key
//! "SendStartKey128" because its example is computed for the server side,
//! an easy label to misread.

use sha1::{Digest, Sha1};
use zeroize::Zeroize;

use super::mschapv2::{NT_RESPONSE_LEN, NtPasswordHash, PasswordHashHash};

/// RFC 3079 §3.4 Magic1. Note the capital K: "MPPE Master Key".
const MAGIC1: &[u8; 27] = b"This is the MPPE Master Key";
/// RFC 3079 §3.4 Magic2.
const MAGIC2: &[u8; 84] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
/// RFC 3079 §3.4 Magic3.
const MAGIC3: &[u8; 84] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";
/// RFC 3079 §3.4 SHSpad1: 40 bytes of 0x00.
const SHS_PAD1: [u8; 40] = [0x00; 40];
/// RFC 3079 §3.4 SHSpad2: 40 bytes of 0xF2.
const SHS_PAD2: [u8; 40] = [0xf2; 40];

/// Which end of the PPP link derives the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// The peer (MS-CHAPv2 responder, SSTP client).
    Client,
    /// The authenticator (SSTP server).
    Server,
}

/// The MPPE master key (RFC 3079 §3.4 GetMasterKey), 16 bytes. Both sides
/// derive the same value. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct MasterKey([u8; 16]);

impl MasterKey {
    /// GetMasterKey(PasswordHashHash, NTResponse) (RFC 3079 §3.4): the first
    /// 16 bytes of SHA1(PasswordHashHash ‖ NTResponse ‖ Magic1).
    pub(crate) fn derive(
        password_hash_hash: &PasswordHashHash,
        nt_response: &[u8; NT_RESPONSE_LEN],
    ) -> Self {
        let digest = Sha1::new()
            .chain_update(password_hash_hash.as_bytes())
            .chain_update(nt_response)
            .chain_update(MAGIC1)
            .finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }

    /// [`derive`](Self::derive) from the NT password hash (hashes it once
    /// more first, RFC 2759 §8.4).
    pub(crate) fn from_password_hash(
        password_hash: &NtPasswordHash,
        nt_response: &[u8; NT_RESPONSE_LEN],
    ) -> Self {
        Self::derive(&password_hash.hash_hash(), nt_response)
    }

    /// The 16 key bytes.
    pub(crate) const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A 128-bit MPPE start key (RFC 3079 §3.4 GetAsymmetricStartKey with
/// SessionKeyLength 16). Zeroized on drop.
#[derive(Clone)]
pub struct SessionKey([u8; 16]);

impl SessionKey {
    /// GetAsymmetricStartKey(MasterKey, 16, IsSend, IsServer) (RFC 3079
    /// §3.4): the first 16 bytes of
    /// SHA1(MasterKey ‖ SHSpad1 ‖ Magic ‖ SHSpad2), with Magic2 for the
    /// client's send / server's receive key and Magic3 for the other one.
    pub(crate) fn asymmetric_start_key(master_key: &MasterKey, is_send: bool, role: Role) -> Self {
        let magic = match (is_send, role) {
            (true, Role::Client) | (false, Role::Server) => MAGIC2,
            (true, Role::Server) | (false, Role::Client) => MAGIC3,
        };
        let digest = Sha1::new()
            .chain_update(master_key.as_bytes())
            .chain_update(SHS_PAD1)
            .chain_update(magic)
            .chain_update(SHS_PAD2)
            .finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }

    /// The 16 key bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// One side's MasterSendKey and MasterReceiveKey (RFC 3079 §3.4), 128-bit.
#[derive(Debug, Clone)]
pub struct MppeKeys {
    role: Role,
    send: SessionKey,
    receive: SessionKey,
}

impl MppeKeys {
    /// Both start keys of `role` from the master key.
    pub(crate) fn derive(master_key: &MasterKey, role: Role) -> Self {
        Self {
            role,
            send: SessionKey::asymmetric_start_key(master_key, true, role),
            receive: SessionKey::asymmetric_start_key(master_key, false, role),
        }
    }

    /// The server's (NAS's) keys from a backend that ran MS-CHAPv2: RADIUS
    /// MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3, once
    /// decrypted), which RFC 2548 names from the NAS's side: Send-Key
    /// encrypts what the NAS sends, so it is the server's MasterSendKey.
    pub fn from_server_keys(send: [u8; 16], receive: [u8; 16]) -> Self {
        Self::from_keys(Role::Server, send, receive)
    }

    /// Keys received from elsewhere, seen from `role`.
    pub(crate) fn from_keys(role: Role, send: [u8; 16], receive: [u8; 16]) -> Self {
        Self {
            role,
            send: SessionKey(send),
            receive: SessionKey(receive),
        }
    }

    /// The side these keys belong to.
    pub(crate) const fn role(&self) -> Role {
        self.role
    }

    /// MasterSendKey of this side.
    pub const fn send_key(&self) -> &SessionKey {
        &self.send
    }

    /// MasterReceiveKey of this side.
    pub const fn receive_key(&self) -> &SessionKey {
        &self.receive
    }
}

/// The EAP-MSCHAPv2 Master Session Key, 64 bytes:
/// MasterReceiveKey ‖ MasterSendKey of the *server* (= the peer's send key ‖
/// the peer's receive key, i.e. the Magic2 key ‖ the Magic3 key), then 32
/// zero bytes. Zeroized on drop.
///
/// Source: [MS-CHAP] §3.1.5.1 as quoted in wpa_supplicant
/// `src/eap_peer/eap_mschapv2.c` `eap_mschapv2_getKey` ("MSK =
/// MasterReceiveKey + MasterSendKey + 32 bytes zeros (padding)"); hostapd
/// `src/eap_server/eap_server_mschapv2.c` `eap_mschapv2_getKey` builds the
/// same first 32 bytes ("server MS-MPPE-Recv-Key | MS-MPPE-Send-Key") and
/// returns only those 32. The padding changes nothing for SSTP, whose HLAK is
/// the first 32 bytes (MS-SSTP §3.2.5.2.2) and so equals the MS-CHAPv2 HLAK.
#[derive(Clone)]
pub struct Msk([u8; 64]);

impl Msk {
    /// The EAP-MSCHAPv2 MSK from the MS-CHAPv2 master key (same on both
    /// sides).
    pub(crate) fn from_mschapv2(master_key: &MasterKey) -> Self {
        let server = MppeKeys::derive(master_key, Role::Server);
        let mut msk = [0u8; 64];
        msk[..16].copy_from_slice(server.receive_key().as_bytes());
        msk[16..32].copy_from_slice(server.send_key().as_bytes());
        Self(msk)
    }

    /// An MSK obtained elsewhere (another EAP method, RADIUS).
    pub const fn from_bytes(msk: [u8; 64]) -> Self {
        Self(msk)
    }

    /// The 64 bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Drop for Msk {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for Msk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Msk(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::mschapv2::NtPasswordHash;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        let v = hex::decode(s).expect("test hex");
        v.try_into().expect("test hex length")
    }

    // RFC 3079 §3.5.3, built on the RFC 2759 §9.2 exchange.
    const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    const PASSWORD_HASH_HASH: &str = "41C00C584BD2D91C4017A2A12FA59F3F";
    const MASTER_KEY: &str = "FDECE3717A8C838CB388E527AE3CDD31";
    /// Magic2: client send = server receive.
    const MAGIC2_KEY: &str = "D5F0E9521E3EA9589645E86051C82226";
    /// Magic3: client receive = server send; the RFC's "SendStartKey128".
    const MAGIC3_KEY: &str = "8B7CDC149B993A1BA118CB153F56DCCB";

    fn master() -> MasterKey {
        MasterKey::from_password_hash(
            &NtPasswordHash::from_password("clientPass"),
            &h(NT_RESPONSE),
        )
    }

    #[test]
    fn rfc3079_3_5_3_master_key() {
        let hash = NtPasswordHash::from_password("clientPass");
        assert_eq!(hash.hash_hash().as_bytes(), &h::<16>(PASSWORD_HASH_HASH));
        assert_eq!(master().as_bytes(), &h::<16>(MASTER_KEY));
        let direct = MasterKey::derive(&hash.hash_hash(), &h(NT_RESPONSE));
        assert_eq!(direct.as_bytes(), &h::<16>(MASTER_KEY));
    }

    #[test]
    fn rfc3079_3_5_3_start_keys_by_role() {
        let client = MppeKeys::derive(&master(), Role::Client);
        let server = MppeKeys::derive(&master(), Role::Server);
        assert_eq!(client.role(), Role::Client);
        assert_eq!(client.send_key().as_bytes(), &h::<16>(MAGIC2_KEY));
        assert_eq!(client.receive_key().as_bytes(), &h::<16>(MAGIC3_KEY));
        // The RFC's "SendStartKey128" is the server's send key.
        assert_eq!(server.send_key().as_bytes(), &h::<16>(MAGIC3_KEY));
        assert_eq!(server.receive_key().as_bytes(), &h::<16>(MAGIC2_KEY));
    }

    #[test]
    fn lowercase_k_in_magic1_would_be_wrong() {
        // RFC 3079 §3.4's Magic1 has a capital K (an easy slip), and
        // the lowercase variant gives a different key.
        assert!(MAGIC1.ends_with(b"Master Key"));
        let wrong = Sha1::new()
            .chain_update(h::<16>(PASSWORD_HASH_HASH))
            .chain_update(h::<24>(NT_RESPONSE))
            .chain_update(b"This is the MPPE Master key")
            .finalize();
        assert_ne!(&wrong[..16], &h::<16>(MASTER_KEY));
    }

    #[test]
    fn msk_is_server_recv_send_then_zeros() {
        let msk = Msk::from_mschapv2(&master());
        let bytes = msk.as_bytes();
        assert_eq!(&bytes[..16], &h::<16>(MAGIC2_KEY));
        assert_eq!(&bytes[16..32], &h::<16>(MAGIC3_KEY));
        assert_eq!(&bytes[32..], &[0u8; 32]);
    }

    #[test]
    fn keys_do_not_print() {
        assert_eq!(format!("{:?}", master()), "MasterKey(..)");
        let keys = MppeKeys::derive(&master(), Role::Client);
        assert!(!format!("{keys:?}").to_lowercase().contains("d5f0"));
    }
}
