//! SSTP crypto binding (MS-SSTP §3.2.5.2): the HLAK from the PPP
//! authentication, the Compound MAC Key (CMK), the Compound MAC over the
//! CALL_CONNECTED message, the server certificate hash, and the server's
//! check of all of it.
//!
//! This module works on the raw 112-byte CALL_CONNECTED message (MS-SSTP
//! §2.2.11); the wire layer builds and parses it and owns the field offsets
//! (`crate::wire::sstp`), checked against §2.2.11 and both §4.7 examples:
//!
//! | bytes     | field |
//! |-----------|-------|
//! | 0..4      | SSTP header `10 01 00 70` (§2.2.1) |
//! | 4..8      | Message Type `00 04`, Num Attributes `00 01` (§2.2.2) |
//! | 8..12     | attribute header `00 03 00 68` (§2.2.4, §2.2.7) |
//! | 12..15    | Reserved2 |
//! | 15        | Hash Protocol Bitmask ([`HASH_PROTOCOL_OFFSET`]) |
//! | 16..48    | Nonce ([`NONCE_RANGE`]) |
//! | 48..80    | Cert Hash, SHA1 zero-padded to 32 ([`CERT_HASH_RANGE`]) |
//! | 80..112   | Compound MAC, SHA1 zero-padded to 32 ([`MAC_RANGE`]) |

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::mppe::{MppeKeys, Msk, Role};
use crate::wire::sstp::{
    CALL_CONNECTED_LEN, CERT_HASH_RANGE, HASH_PROTOCOL_OFFSET, HashBitmask, HashProtocol,
    MAC_RANGE, NONCE_RANGE,
};

/// The Compound MAC Key seed (MS-SSTP §3.2.5.2.2, 29 ASCII bytes).
const CMK_SEED: &[u8; 29] = b"SSTP inner method derived CMK";

/// The Higher-Layer Authentication Key (MS-SSTP §3.2.5.2.2), 32 bytes.
/// Zeroized on drop.
#[derive(Clone)]
pub(crate) struct Hlak([u8; 32]);

impl Hlak {
    /// 32 zero bytes: the HLAK when the PPP authentication made no keys (PAP,
    /// CHAP-MD5) or was bypassed (§3.2.5.2.2).
    pub(crate) const fn zero() -> Self {
        Self([0; 32])
    }

    /// An HLAK known from elsewhere.
    #[cfg(test)]
    pub(crate) const fn from_bytes(hlak: [u8; 32]) -> Self {
        Self(hlak)
    }

    /// The MS-CHAPv2 HLAK (§3.2.5.2.2): client MasterSendKey ‖
    /// MasterReceiveKey, server MasterReceiveKey ‖ MasterSendKey (RFC 3079
    /// §3 keys). Both give the Magic2 key followed by the Magic3 key, so
    /// client and server agree.
    pub(crate) fn from_mschapv2(keys: &MppeKeys) -> Self {
        let (first, second) = match keys.role() {
            Role::Client => (keys.send_key(), keys.receive_key()),
            Role::Server => (keys.receive_key(), keys.send_key()),
        };
        let mut hlak = [0u8; 32];
        hlak[..16].copy_from_slice(first.as_bytes());
        hlak[16..].copy_from_slice(second.as_bytes());
        Self(hlak)
    }

    /// The HLAK of an EAP method other than EAP-TLS (§3.2.5.2.2): the MSK's
    /// first 32 bytes, zero-padded if it is shorter.
    pub(crate) fn from_msk(msk: &[u8]) -> Self {
        let mut hlak = [0u8; 32];
        for (d, s) in hlak.iter_mut().zip(msk) {
            *d = *s;
        }
        Self(hlak)
    }

    /// [`from_msk`](Self::from_msk) for the EAP-MSCHAPv2 MSK; equals
    /// [`from_mschapv2`](Self::from_mschapv2) for the same exchange.
    pub(crate) fn from_eap_msk(msk: &Msk) -> Self {
        Self::from_msk(msk.as_bytes())
    }

    /// The 32 bytes.
    pub(crate) const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for Hlak {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for Hlak {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Hlak(..)")
    }
}

/// The Compound MAC Key (MS-SSTP §3.2.5.2.2, §3.2.5.2.4): 20 bytes for SHA1,
/// 32 for SHA256. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct Cmk {
    protocol: HashProtocol,
    key: [u8; 32],
}

impl Cmk {
    /// CMK = the first LEN bytes of PRF+(HLAK, seed, LEN), LEN = 20 or 32
    /// as a little-endian u16. One PRF block is enough for LEN ≤ hash length:
    /// T1 = HMAC-H(HLAK, "SSTP inner method derived CMK" ‖ LEN ‖ 0x01).
    pub(crate) fn derive(protocol: HashProtocol, hlak: &Hlak) -> Self {
        let len = protocol.output_len();
        // output_len is 20 or 32, so the u16 conversion cannot fail.
        let len_le = u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes();
        let mut key = [0u8; 32];
        hmac(
            protocol,
            hlak.as_bytes(),
            &[CMK_SEED, &len_le, &[0x01]],
            &mut key,
        );
        Self { protocol, key }
    }

    /// The hash protocol this key is for.
    pub(crate) const fn protocol(&self) -> HashProtocol {
        self.protocol
    }

    /// The key bytes (20 or 32).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.key
            .get(..self.protocol.output_len())
            .unwrap_or(&self.key)
    }

    /// The Compound MAC (MS-SSTP §3.2.5.2.1, §3.2.5.2.3) of a CALL_CONNECTED
    /// message: HMAC-H(CMK, the whole 112 bytes with the Compound MAC and
    /// Padding fields zeroed), zero-padded to 32 bytes for SHA1.
    ///
    /// The MAC field and its padding (bytes 80..112) are always zeroed; for
    /// SHA1 the certificate-hash Padding (bytes 68..80) is zeroed too, as
    /// §3.2.5.2.1 says, so a peer's non-zero padding is ignored (§2.2.7
    /// "MUST be ignored on receipt"). The hash-protocol byte in `message` is
    /// not consulted: the CMK's protocol rules.
    pub(crate) fn compound_mac(&self, message: &[u8; CALL_CONNECTED_LEN]) -> [u8; 32] {
        let mut input = *message;
        input[MAC_RANGE].fill(0);
        let len = self.protocol.output_len();
        if let Some(padding) = input.get_mut(CERT_HASH_RANGE.start + len..CERT_HASH_RANGE.end) {
            padding.fill(0);
        }
        let mut mac = [0u8; 32];
        hmac(self.protocol, self.as_bytes(), &[&input], &mut mac);
        mac
    }
}

impl Drop for Cmk {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl core::fmt::Debug for Cmk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Cmk({:?}, ..)", self.protocol)
    }
}

/// HMAC-H(key, parts...) into the front of `out` (20 or 32 bytes written).
///
/// Keys here are at most 32 bytes, shorter than the 64-byte block of SHA1 and
/// SHA256, so the key is zero-padded to a block and used directly: RFC 2104
/// §2 step (1) does exactly that for short keys, and it keeps the fallible
/// `new_from_slice` out of this code.
fn hmac(protocol: HashProtocol, key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
        let mut block = Key::<M>::default();
        debug_assert!(key.len() <= block.len(), "HMAC key longer than a block");
        for (d, s) in block.iter_mut().zip(key) {
            *d = *s;
        }
        let mut mac = <M as KeyInit>::new(&block);
        block.as_mut_slice().zeroize();
        for part in parts {
            mac.update(part);
        }
        let tag = mac.finalize().into_bytes();
        for (d, s) in out.iter_mut().zip(tag.iter()) {
            *d = *s;
        }
    }
    match protocol {
        HashProtocol::Sha1 => run::<Hmac<Sha1>>(key, parts, out),
        HashProtocol::Sha256 => run::<Hmac<Sha256>>(key, parts, out),
    }
}

/// The server certificate's hash in both forms (MS-SSTP §2.2.7 Cert Hash),
/// so a server can check whichever protocol the client chose. Behind TLS
/// offload these are the offloader's certificate hashes, which a server must
/// be able to configure (MS-SSTP §3.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertHashes {
    /// SHA1 of the DER certificate.
    pub sha1: [u8; 20],
    /// SHA256 of the DER certificate.
    pub sha256: [u8; 32],
}

impl CertHashes {
    /// Both hashes of a DER-encoded X.509 certificate (the TLS leaf).
    pub fn from_der(certificate_der: &[u8]) -> Self {
        Self {
            sha1: Sha1::digest(certificate_der).into(),
            sha256: Sha256::digest(certificate_der).into(),
        }
    }

    /// The Cert Hash field for `protocol`: the hash, zero-padded to 32 bytes.
    pub fn padded(&self, protocol: HashProtocol) -> [u8; 32] {
        match protocol {
            HashProtocol::Sha1 => {
                let mut out = [0u8; 32];
                out[..20].copy_from_slice(&self.sha1);
                out
            }
            HashProtocol::Sha256 => self.sha256,
        }
    }
}

/// The certificate hashes a server accepts in a Call Connected (MS-SSTP
/// §3.3.1 ServerCertificateHash, §3.3.5.2.3). Behind a TLS offloader the
/// client hashes the certificate the offloader showed it, which the server
/// cannot see, so an administrator lists them; more than one of a protocol
/// lets a certificate rollover go through without a moment where either
/// certificate fails. A server that terminates TLS itself has one of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedCertHashes {
    sha1: Vec<[u8; 20]>,
    sha256: Vec<[u8; 32]>,
}

impl AcceptedCertHashes {
    /// The hashes given; `None` when there are none at all (no binding
    /// could ever verify).
    pub fn new(sha1: Vec<[u8; 20]>, sha256: Vec<[u8; 32]>) -> Option<Self> {
        if sha1.is_empty() && sha256.is_empty() {
            return None;
        }
        Some(Self { sha1, sha256 })
    }

    /// The hash protocols this set can check, as the Connect Ack's Hash
    /// Protocol Bitmask (§2.2.6): a protocol without a hash is not offered,
    /// so a client never picks one whose binding must fail.
    pub const fn bitmask(&self) -> HashBitmask {
        let mut bits = 0;
        if !self.sha1.is_empty() {
            bits |= HashProtocol::Sha1.bit();
        }
        if !self.sha256.is_empty() {
            bits |= HashProtocol::Sha256.bit();
        }
        HashBitmask(bits)
    }

    /// Whether a received Cert Hash field (§2.2.7, zero-padded to 32) is one
    /// of ours for `protocol`. Every candidate is compared in constant time
    /// and all of them are compared, so the time says nothing of which one,
    /// if any, matched.
    pub fn matches(&self, protocol: HashProtocol, received: &[u8; 32]) -> bool {
        let len = protocol.output_len();
        let mut found = subtle::Choice::from(0);
        match protocol {
            HashProtocol::Sha1 => {
                for ours in &self.sha1 {
                    found |= ours[..].ct_eq(&received[..len]);
                }
            }
            HashProtocol::Sha256 => {
                for ours in &self.sha256 {
                    found |= ours[..].ct_eq(&received[..len]);
                }
            }
        }
        bool::from(found)
    }
}

impl From<CertHashes> for AcceptedCertHashes {
    fn from(hashes: CertHashes) -> Self {
        Self {
            sha1: vec![hashes.sha1],
            sha256: vec![hashes.sha256],
        }
    }
}

/// The Cert Hash field for one protocol from a DER certificate (SHA1 →
/// 20 bytes zero-padded to 32; SHA256 → 32 bytes).
#[cfg(test)]
pub(crate) fn cert_hash(protocol: HashProtocol, certificate_der: &[u8]) -> [u8; 32] {
    match protocol {
        HashProtocol::Sha1 => CertHashes {
            sha1: Sha1::digest(certificate_der).into(),
            sha256: [0; 32],
        }
        .padded(protocol),
        HashProtocol::Sha256 => Sha256::digest(certificate_der).into(),
    }
}

/// The Compound MAC of `message` under `hlak` (derives the CMK first).
pub(crate) fn compound_mac(
    protocol: HashProtocol,
    hlak: &Hlak,
    message: &[u8; CALL_CONNECTED_LEN],
) -> [u8; 32] {
    Cmk::derive(protocol, hlak).compound_mac(message)
}

/// Client side: writes the Compound MAC into bytes 80..112 of a
/// CALL_CONNECTED whose other fields are already filled in.
pub(crate) fn seal_call_connected(
    message: &mut [u8; CALL_CONNECTED_LEN],
    protocol: HashProtocol,
    hlak: &Hlak,
) {
    let mac = compound_mac(protocol, hlak, message);
    message[MAC_RANGE].copy_from_slice(&mac);
}

/// Constant-time comparison of a received nonce with the one we sent.
pub(crate) fn verify_nonce(expected: &[u8; 32], received: &[u8; 32]) -> bool {
    bool::from(expected.ct_eq(received))
}

/// Constant-time comparison of a received Cert Hash field with ours; only
/// the hash bytes count (padding is ignored, §2.2.7).
pub(crate) fn verify_cert_hash(
    protocol: HashProtocol,
    expected: &AcceptedCertHashes,
    received: &[u8; 32],
) -> bool {
    expected.matches(protocol, received)
}

/// Constant-time check of the Compound MAC in a CALL_CONNECTED; only the
/// MAC bytes count (padding is ignored, §2.2.7).
pub(crate) fn verify_compound_mac(cmk: &Cmk, message: &[u8; CALL_CONNECTED_LEN]) -> bool {
    let len = cmk.protocol().output_len();
    let expected = cmk.compound_mac(message);
    let received = &message[MAC_RANGE];
    match (expected.get(..len), received.get(..len)) {
        (Some(e), Some(r)) => bool::from(e.ct_eq(r)),
        _ => false,
    }
}

/// Why a CALL_CONNECTED failed the binding check. Every one of these ends
/// the call with CALL_ABORT (MS-SSTP §3.3.5.2.3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The Hash Protocol Bitmask is not exactly one known bit.
    #[error("crypto binding: invalid hash protocol {0:#04x}")]
    InvalidHashProtocol(u8),
    /// The client chose a hash the server did not offer in CONNECT_ACK.
    #[error("crypto binding: hash protocol {0:?} was not offered")]
    HashProtocolNotOffered(HashProtocol),
    /// The nonce is not the one from CONNECT_ACK (replay or relay).
    #[error("crypto binding: nonce mismatch")]
    NonceMismatch,
    /// The certificate hash is not ours (a TLS man in the middle).
    #[error("crypto binding: certificate hash mismatch")]
    CertHashMismatch,
    /// The Compound MAC is wrong (wrong keys, or a relayed PPP session).
    #[error("crypto binding: compound MAC mismatch")]
    MacMismatch,
}

/// Server side (MS-SSTP §3.3.5.2.3): checks a CALL_CONNECTED's hash
/// protocol against the bitmask offered in CONNECT_ACK, its nonce, its
/// certificate hash and its Compound MAC. Returns the protocol the client
/// used. Comparisons are constant time.
pub(crate) fn verify_call_connected(
    message: &[u8; CALL_CONNECTED_LEN],
    offered: HashBitmask,
    nonce: &[u8; 32],
    cert_hashes: &AcceptedCertHashes,
    hlak: &Hlak,
) -> Result<HashProtocol, BindingError> {
    let bitmask = HashBitmask(message[HASH_PROTOCOL_OFFSET]);
    let protocol =
        HashProtocol::from_bitmask(bitmask).ok_or(BindingError::InvalidHashProtocol(bitmask.0))?;
    if !offered.contains(protocol) {
        return Err(BindingError::HashProtocolNotOffered(protocol));
    }
    let mut received_nonce = [0u8; 32];
    received_nonce.copy_from_slice(&message[NONCE_RANGE]);
    if !verify_nonce(nonce, &received_nonce) {
        return Err(BindingError::NonceMismatch);
    }
    let mut received_cert = [0u8; 32];
    received_cert.copy_from_slice(&message[CERT_HASH_RANGE]);
    if !verify_cert_hash(protocol, cert_hashes, &received_cert) {
        return Err(BindingError::CertHashMismatch);
    }
    if !verify_compound_mac(&Cmk::derive(protocol, hlak), message) {
        return Err(BindingError::MacMismatch);
    }
    Ok(protocol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::mppe::{MasterKey, MppeKeys, Msk, Role};
    use crate::crypto::mschapv2::NtPasswordHash;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        let v = hex::decode(s).expect("test hex");
        v.try_into().expect("test hex length")
    }

    /// MS-SSTP §4.7, SHA256 example: CALL_CONNECTED as sent.
    const SHA256_CALL_CONNECTED: &str = "
        10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02
        41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
        B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35
        79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84
        B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D
        52 A6 8E FD 8C FF BF 52 77 0B 8F 0F E8 EC 73 71
        65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49";
    const SHA256_HLAK: &str = "2A1BB40D55AB0F5EF32F06F2B3CC73C48FD3FAC41D7A1315A19228D9024CA164";
    const SHA256_NONCE: &str = "412B489AEBD7ECC7D08966F26BE7CD72B231A0E9210D7C91B308862B0344C435";
    const SHA256_CERT: &str = "7993EF314C493DACE9F02D60E7E61C84B6690AAFE9D7AEEA92CBBE8AD599422D";
    const SHA256_MAC: &str = "52A68EFD8CFFBF52770B8F0FE8EC73716583AF6D611EB6D179B3B20840985449";
    /// Not printed in §4.7: computed here from its HLAK (§3.2.5.2.4).
    const SHA256_CMK: &str = "ECF59AC9FE155CF0A9E7D66ADC1B363C1AD7BA91A9217F0CEC2A534298828DF6";

    /// MS-SSTP §4.7, SHA1 example: CALL_CONNECTED as sent.
    const SHA1_CALL_CONNECTED: &str = "
        10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 01
        0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
        07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF
        58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C
        53 48 05 A5 00 00 00 00 00 00 00 00 00 00 00 00
        69 91 5D D5 83 D8 06 2F EF 16 F6 1D B2 F0 32 90
        EC 27 CB 6C 00 00 00 00 00 00 00 00 00 00 00 00";
    const SHA1_HLAK: &str = "4B3128F43925D9006EEFB1C4E86515A1D88E56BAB3CA2BDF0373B7F5A8A13B19";
    const SHA1_NONCE: &str = "0F1A2D58D4A3E3000FAD3CE4906E07B707AA9E441CCEAC5CBD7B2CC1C9D86CDF";
    const SHA1_CERT: &str = "5826B629BDA59B8E6FD8DCD2622FD34C534805A5";
    const SHA1_MAC: &str = "69915DD583D8062FEF16F61DB2F03290EC27CB6C";
    /// Not printed in §4.7: computed here from its HLAK (§3.2.5.2.2).
    const SHA1_CMK: &str = "A98B862A38CC7E224B42CD128586ACB22F0BD1E9";

    fn cert_hashes(sha1: &str, sha256: &str) -> AcceptedCertHashes {
        CertHashes {
            sha1: h(sha1),
            sha256: h(sha256),
        }
        .into()
    }

    #[test]
    fn hash_protocol_bits_and_choice() {
        assert_eq!(HashProtocol::Sha1.bit(), 0x01);
        assert_eq!(HashProtocol::Sha256.bit(), 0x02);
        let from = |v| HashProtocol::from_bitmask(HashBitmask(v));
        assert_eq!(from(0x01), Some(HashProtocol::Sha1));
        assert_eq!(from(0x02), Some(HashProtocol::Sha256));
        for v in [0x00, 0x03, 0x04, 0x80, 0xff] {
            assert_eq!(from(v), None, "{v:#x}");
        }
        let choose = |v| HashBitmask(v).choose(HashBitmask::SHA1_AND_SHA256);
        assert_eq!(choose(0x03), Some(HashProtocol::Sha256));
        assert_eq!(choose(0x02), Some(HashProtocol::Sha256));
        assert_eq!(choose(0x01), Some(HashProtocol::Sha1));
        assert_eq!(choose(0xfd), Some(HashProtocol::Sha1));
        assert_eq!(choose(0x00), None);
        assert_eq!(choose(0xfc), None);
        assert_eq!(
            HashBitmask(0x03).choose(HashBitmask::SHA1),
            Some(HashProtocol::Sha1)
        );
        assert_eq!(HashBitmask::only(HashProtocol::Sha256), HashBitmask::SHA256);
    }

    #[test]
    fn offsets_match_ms_sstp_4_7_examples() {
        let m: [u8; 112] = h(SHA256_CALL_CONNECTED);
        assert_eq!(m[HASH_PROTOCOL_OFFSET], 0x02);
        assert_eq!(m[NONCE_RANGE], h::<32>(SHA256_NONCE));
        assert_eq!(m[CERT_HASH_RANGE], h::<32>(SHA256_CERT));
        assert_eq!(m[MAC_RANGE], h::<32>(SHA256_MAC));
        let m: [u8; 112] = h(SHA1_CALL_CONNECTED);
        assert_eq!(m[HASH_PROTOCOL_OFFSET], 0x01);
        assert_eq!(m[NONCE_RANGE], h::<32>(SHA1_NONCE));
        assert_eq!(m[CERT_HASH_RANGE][..20], h::<20>(SHA1_CERT));
        assert_eq!(m[MAC_RANGE][..20], h::<20>(SHA1_MAC));
    }

    #[test]
    fn ms_sstp_4_7_sha256_cmk_and_mac() {
        let m: [u8; 112] = h(SHA256_CALL_CONNECTED);
        let hlak = Hlak::from_bytes(h(SHA256_HLAK));
        let cmk = Cmk::derive(HashProtocol::Sha256, &hlak);
        assert_eq!(cmk.as_bytes(), &h::<32>(SHA256_CMK));
        assert_eq!(cmk.compound_mac(&m), h::<32>(SHA256_MAC));
        assert!(verify_compound_mac(&cmk, &m));
        let certs = cert_hashes("0000000000000000000000000000000000000000", SHA256_CERT);
        assert_eq!(
            verify_call_connected(&m, HashBitmask(0x02), &h(SHA256_NONCE), &certs, &hlak),
            Ok(HashProtocol::Sha256)
        );
    }

    #[test]
    fn ms_sstp_4_7_sha1_cmk_and_mac() {
        let m: [u8; 112] = h(SHA1_CALL_CONNECTED);
        let hlak = Hlak::from_bytes(h(SHA1_HLAK));
        let cmk = Cmk::derive(HashProtocol::Sha1, &hlak);
        assert_eq!(cmk.as_bytes(), &h::<20>(SHA1_CMK));
        let mac = cmk.compound_mac(&m);
        assert_eq!(mac[..20], h::<20>(SHA1_MAC));
        assert_eq!(mac[20..], [0u8; 12]);
        assert!(verify_compound_mac(&cmk, &m));
        let certs = cert_hashes(SHA1_CERT, SHA256_CERT);
        assert_eq!(
            verify_call_connected(&m, HashBitmask(0x01), &h(SHA1_NONCE), &certs, &hlak),
            Ok(HashProtocol::Sha1)
        );
        assert_eq!(
            verify_call_connected(&m, HashBitmask(0x03), &h(SHA1_NONCE), &certs, &hlak),
            Ok(HashProtocol::Sha1)
        );
    }

    #[test]
    fn seal_reproduces_the_spec_messages_byte_for_byte() {
        for (msg, hlak, protocol) in [
            (SHA256_CALL_CONNECTED, SHA256_HLAK, HashProtocol::Sha256),
            (SHA1_CALL_CONNECTED, SHA1_HLAK, HashProtocol::Sha1),
        ] {
            let expected: [u8; 112] = h(msg);
            let mut m = expected;
            m[MAC_RANGE].fill(0xaa); // whatever was there is replaced
            seal_call_connected(&mut m, protocol, &Hlak::from_bytes(h(hlak)));
            assert_eq!(m, expected);
        }
    }

    #[test]
    fn chained_rfc2759_hlak_and_cmks() {
        // HLAK (MS-SSTP §3.2.5.2.4) for the RFC 2759 §9.2 credentials, from
        // their RFC 3079 §3.5.3 MPPE keys; derived here, not published.
        let hash = NtPasswordHash::from_password("clientPass");
        let nt: [u8; 24] = h("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
        let master = MasterKey::from_password_hash(&hash, &nt);
        let expected_hlak: [u8; 32] =
            h("D5F0E9521E3EA9589645E86051C822268B7CDC149B993A1BA118CB153F56DCCB");
        let client = Hlak::from_mschapv2(&MppeKeys::derive(&master, Role::Client));
        let server = Hlak::from_mschapv2(&MppeKeys::derive(&master, Role::Server));
        assert_eq!(client.as_bytes(), &expected_hlak);
        assert_eq!(server.as_bytes(), &expected_hlak);
        // The EAP-MSCHAPv2 MSK gives the same HLAK.
        assert_eq!(
            Hlak::from_eap_msk(&Msk::from_mschapv2(&master)).as_bytes(),
            &expected_hlak
        );

        assert_eq!(
            Cmk::derive(HashProtocol::Sha256, &client).as_bytes(),
            &h::<32>("150707E682B16F4CA9430560C562894AFD10050DB4182D35C3E9E06284445271")
        );
        assert_eq!(
            Cmk::derive(HashProtocol::Sha1, &client).as_bytes(),
            &h::<20>("3AFBFF0BA79DD9743BD09949FA99F9D0C92D3698")
        );
    }

    #[test]
    fn zero_hlak_cmks() {
        // The PAP / CHAP-MD5 path: no keys, a zero HLAK (MS-SSTP §3.2.5.2.4).
        let zero = Hlak::zero();
        assert_eq!(zero.as_bytes(), &[0u8; 32]);
        assert_eq!(
            Cmk::derive(HashProtocol::Sha256, &zero).as_bytes(),
            &h::<32>("D342EB00477D6A37E1A184FB0168CB3EA3B6645FA0F227904D20EEF5CB8F9327")
        );
        assert_eq!(
            Cmk::derive(HashProtocol::Sha1, &zero).as_bytes(),
            &h::<20>("AE571EDE1E11EFB7BB85B8B4F07E15F0E086761A")
        );
    }

    #[test]
    fn cmk_len_field_is_little_endian() {
        // Recompute T1 with LEN big-endian and make sure it differs.
        let hlak = Hlak::from_bytes(h(SHA256_HLAK));
        let mut wrong = [0u8; 32];
        hmac(
            HashProtocol::Sha256,
            hlak.as_bytes(),
            &[CMK_SEED, &[0x00, 0x20], &[0x01]],
            &mut wrong,
        );
        assert_ne!(&wrong, Cmk::derive(HashProtocol::Sha256, &hlak).as_bytes());
    }

    #[test]
    fn hmac_matches_rfc4231_and_rfc2202() {
        // RFC 4231 test case 2 (short key "Jefe").
        let mut out = [0u8; 32];
        hmac(
            HashProtocol::Sha256,
            b"Jefe",
            &[b"what do ya want ", b"for nothing?"],
            &mut out,
        );
        assert_eq!(
            out,
            h::<32>("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        // RFC 2202 test case 2 for HMAC-SHA1.
        let mut out = [0u8; 32];
        hmac(
            HashProtocol::Sha1,
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &mut out,
        );
        assert_eq!(
            out[..20],
            h::<20>("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
        assert_eq!(out[20..], [0u8; 12]);
    }

    #[test]
    fn hlak_from_msk_truncates_or_pads() {
        let long: Vec<u8> = (0..64).collect();
        assert_eq!(Hlak::from_msk(&long).as_bytes()[..], long[..32]);
        let short = [0xabu8; 10];
        let hlak = Hlak::from_msk(&short);
        assert_eq!(hlak.as_bytes()[..10], short);
        assert_eq!(hlak.as_bytes()[10..], [0u8; 22]);
        assert_eq!(Hlak::from_msk(&[]).as_bytes(), &[0u8; 32]);
    }

    #[test]
    fn cert_hash_of_der() {
        // SHA1("abc") and SHA256("abc") (FIPS 180-2 examples).
        let sha1 = cert_hash(HashProtocol::Sha1, b"abc");
        assert_eq!(
            sha1[..20],
            h::<20>("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(sha1[20..], [0u8; 12]);
        let sha256 = cert_hash(HashProtocol::Sha256, b"abc");
        assert_eq!(
            sha256,
            h::<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let both = CertHashes::from_der(b"abc");
        assert_eq!(both.padded(HashProtocol::Sha1), sha1);
        assert_eq!(both.padded(HashProtocol::Sha256), sha256);
    }

    #[test]
    fn verify_rejects_every_tampered_field() {
        let good: [u8; 112] = h(SHA256_CALL_CONNECTED);
        let hlak = Hlak::from_bytes(h(SHA256_HLAK));
        let nonce: [u8; 32] = h(SHA256_NONCE);
        let certs = cert_hashes("0000000000000000000000000000000000000000", SHA256_CERT);
        let check = |m: &[u8; 112], offered: u8| {
            verify_call_connected(m, HashBitmask(offered), &nonce, &certs, &hlak)
        };

        assert_eq!(
            check(&good, 0x01),
            Err(BindingError::HashProtocolNotOffered(HashProtocol::Sha256))
        );
        for v in [0x00, 0x03, 0x04] {
            let mut m = good;
            m[HASH_PROTOCOL_OFFSET] = v;
            assert_eq!(check(&m, 0x03), Err(BindingError::InvalidHashProtocol(v)));
        }
        for i in NONCE_RANGE {
            let mut m = good;
            m[i] ^= 1;
            assert_eq!(
                check(&m, 0x02),
                Err(BindingError::NonceMismatch),
                "byte {i}"
            );
        }
        for i in CERT_HASH_RANGE {
            let mut m = good;
            m[i] ^= 1;
            assert_eq!(
                check(&m, 0x02),
                Err(BindingError::CertHashMismatch),
                "byte {i}"
            );
        }
        for i in MAC_RANGE {
            let mut m = good;
            m[i] ^= 1;
            assert_eq!(check(&m, 0x02), Err(BindingError::MacMismatch), "byte {i}");
        }
        // The header is covered by the MAC.
        for i in 0..HASH_PROTOCOL_OFFSET {
            let mut m = good;
            m[i] ^= 1;
            assert_eq!(check(&m, 0x02), Err(BindingError::MacMismatch), "byte {i}");
        }
        // Wrong key.
        assert_eq!(
            verify_call_connected(&good, HashBitmask(0x02), &nonce, &certs, &Hlak::zero()),
            Err(BindingError::MacMismatch)
        );
    }

    #[test]
    fn sha1_padding_is_ignored_on_receipt() {
        let good: [u8; 112] = h(SHA1_CALL_CONNECTED);
        let hlak = Hlak::from_bytes(h(SHA1_HLAK));
        let certs = cert_hashes(SHA1_CERT, SHA256_CERT);
        let mut m = good;
        m[68..80].fill(0x5a); // cert-hash Padding
        m[100..112].fill(0xa5); // Padding1 after the MAC
        assert_eq!(
            verify_call_connected(&m, HashBitmask(0x01), &h(SHA1_NONCE), &certs, &hlak),
            Ok(HashProtocol::Sha1)
        );
    }

    #[test]
    fn accepted_hashes_any_of_a_rollover_and_only_offered_protocols() {
        // The §4.7 SHA256 example's certificate beside another one: either
        // verifies (a rollover), a third does not, and the SHA1 list being
        // empty takes SHA1 out of the offer (§2.2.6 bitmask).
        let m: [u8; 112] = h(SHA256_CALL_CONNECTED);
        let hlak = Hlak::from_bytes(h(SHA256_HLAK));
        let nonce: [u8; 32] = h(SHA256_NONCE);
        let old = [0x11u8; 32];
        let set = AcceptedCertHashes::new(vec![], vec![old, h(SHA256_CERT)]).expect("hashes");
        assert_eq!(set.bitmask(), HashBitmask::SHA256);
        assert_eq!(
            verify_call_connected(&m, set.bitmask(), &nonce, &set, &hlak),
            Ok(HashProtocol::Sha256)
        );
        let set = AcceptedCertHashes::new(vec![], vec![h(SHA256_CERT), old]).expect("hashes");
        assert!(set.matches(HashProtocol::Sha256, &h(SHA256_CERT)));
        assert!(set.matches(HashProtocol::Sha256, &old));
        let other = AcceptedCertHashes::new(vec![[0x22; 20]], vec![old]).expect("hashes");
        assert_eq!(other.bitmask(), HashBitmask::SHA1_AND_SHA256);
        assert_eq!(
            verify_call_connected(&m, other.bitmask(), &nonce, &other, &hlak),
            Err(BindingError::CertHashMismatch)
        );
        // SHA1: the 20 hash bytes count, the padding does not.
        let sha1 = AcceptedCertHashes::new(vec![h(SHA1_CERT)], vec![]).expect("hashes");
        assert_eq!(sha1.bitmask(), HashBitmask::SHA1);
        let mut field = [0x5au8; 32];
        field[..20].copy_from_slice(&h::<20>(SHA1_CERT));
        assert!(sha1.matches(HashProtocol::Sha1, &field));
        assert!(!sha1.matches(HashProtocol::Sha256, &field));
        let m1: [u8; 112] = h(SHA1_CALL_CONNECTED);
        assert_eq!(
            verify_call_connected(
                &m1,
                sha1.bitmask(),
                &h(SHA1_NONCE),
                &sha1,
                &Hlak::from_bytes(h(SHA1_HLAK))
            ),
            Ok(HashProtocol::Sha1)
        );
        assert_eq!(AcceptedCertHashes::new(vec![], vec![]), None);
    }

    #[test]
    fn secrets_do_not_print() {
        let hlak = Hlak::from_bytes(h(SHA256_HLAK));
        assert_eq!(format!("{hlak:?}"), "Hlak(..)");
        let cmk = Cmk::derive(HashProtocol::Sha1, &hlak);
        assert_eq!(format!("{cmk:?}"), "Cmk(Sha1, ..)");
    }
}
