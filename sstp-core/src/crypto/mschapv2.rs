//! MS-CHAPv2 (RFC 2759 §8): the password hashes, the 24-byte NT-Response the
//! peer sends, and the 20-byte authenticator response the authenticator
//! sends back in its `S=` success message.
//!
//! The functions are named after the RFC's routines so the two can be read
//! side by side. [`verify_nt_response`] (server) and
//! [`check_authenticator_response`] (client) are the two checks; both compare
//! in constant time.
//!
//! # User names
//!
//! RFC 2759 §8.2 hashes the user name "without any domain". Windows sends
//! `DOMAIN\user` in the CHAP/EAP Name field but hashes only `user`, so callers
//! pass the name through [`user_name_without_domain`] first (hostapd and
//! FreeRADIUS do the same). The functions here take the raw bytes they hash.

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Length of the authenticator and peer challenges (RFC 2759 §4).
pub(crate) const CHALLENGE_LEN: usize = 16;
/// Length of the NT-Response (RFC 2759 §4).
pub(crate) const NT_RESPONSE_LEN: usize = 24;
/// Length of the authenticator response (RFC 2759 §5).
pub(crate) const AUTHENTICATOR_RESPONSE_LEN: usize = 20;

/// RFC 2759 §8.7 Magic1: "Magic server to client signing constant".
const AUTH_MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
/// RFC 2759 §8.7 Magic2: "Pad to make it do more than one iteration".
const AUTH_MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";

/// A password as MS-CHAPv2 uses it: either the plaintext (hashed on demand)
/// or its NT hash, which is all a server needs to store.
///
/// Both forms are zeroized on drop and never printed.
#[non_exhaustive]
#[derive(Clone)]
pub enum Credential {
    /// The plaintext password (Unicode; RFC 2759 allows up to 256 characters).
    Password(Zeroizing<String>),
    /// The NT password hash (MD4 of the UTF-16LE password), e.g. from an
    /// `smbpasswd`-style store.
    NtHash(NtPasswordHash),
}

impl Credential {
    /// A credential from a plaintext password.
    pub fn from_password(password: impl Into<String>) -> Self {
        Self::Password(Zeroizing::new(password.into()))
    }

    /// A credential from a 16-byte NT password hash.
    pub fn from_nt_hash(hash: [u8; 16]) -> Self {
        Self::NtHash(NtPasswordHash::from_bytes(hash))
    }

    /// The NT password hash of this credential (RFC 2759 §8.3).
    pub fn nt_password_hash(&self) -> NtPasswordHash {
        match self {
            Self::Password(password) => NtPasswordHash::from_password(password),
            Self::NtHash(hash) => hash.clone(),
        }
    }
}

impl core::fmt::Debug for Credential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Credential::Password(..)"),
            Self::NtHash(_) => f.write_str("Credential::NtHash(..)"),
        }
    }
}

/// NtPasswordHash (RFC 2759 §8.3): MD4 of the password in UTF-16LE.
/// Zeroized on drop.
#[derive(Clone)]
pub struct NtPasswordHash([u8; 16]);

impl NtPasswordHash {
    /// NtPasswordHash(Password) (RFC 2759 §8.3). The UTF-16LE copy of the
    /// password is zeroized after hashing.
    pub fn from_password(password: &str) -> Self {
        let mut unicode = Zeroizing::new(Vec::with_capacity(password.len().saturating_mul(2)));
        for unit in password.encode_utf16() {
            unicode.extend_from_slice(&unit.to_le_bytes());
        }
        Self(Md4::digest(unicode.as_slice()).into())
    }

    /// A hash that is already known (stored credential).
    pub const fn from_bytes(hash: [u8; 16]) -> Self {
        Self(hash)
    }

    /// The 16 hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// HashNtPasswordHash(PasswordHash) (RFC 2759 §8.4): MD4 of this hash.
    pub(crate) fn hash_hash(&self) -> PasswordHashHash {
        PasswordHashHash(Md4::digest(self.0).into())
    }
}

impl Drop for NtPasswordHash {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for NtPasswordHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NtPasswordHash(..)")
    }
}

/// PasswordHashHash (RFC 2759 §8.4): MD4 of the NT password hash; the input
/// of the authenticator response and of the MPPE master key. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct PasswordHashHash([u8; 16]);

impl PasswordHashHash {
    /// The 16 hash bytes.
    pub(crate) const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Drop for PasswordHashHash {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for PasswordHashHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PasswordHashHash(..)")
    }
}

/// The authenticator response (RFC 2759 §8.7): 20 bytes the authenticator
/// sends as `S=` followed by 40 upper-case hex digits, proving it knows the
/// password too.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatorResponse([u8; AUTHENTICATOR_RESPONSE_LEN]);

impl AuthenticatorResponse {
    /// Wraps 20 bytes (e.g. the ones parsed from an `S=` message).
    pub const fn from_bytes(bytes: [u8; AUTHENTICATOR_RESPONSE_LEN]) -> Self {
        Self(bytes)
    }

    /// The 20 bytes.
    pub const fn as_bytes(&self) -> &[u8; AUTHENTICATOR_RESPONSE_LEN] {
        &self.0
    }

    /// `"S="` followed by the 40 upper-case hex digits (RFC 2759 §5, §8.7),
    /// the start of the success message.
    pub fn to_success_string(&self) -> String {
        let mut s = String::with_capacity(2 + 2 * AUTHENTICATOR_RESPONSE_LEN);
        s.push_str("S=");
        super::push_hex_upper(&mut s, &self.0);
        s
    }

    /// Constant-time comparison with bytes a peer sent.
    pub fn ct_matches(&self, received: &[u8; AUTHENTICATOR_RESPONSE_LEN]) -> bool {
        bool::from(self.0.ct_eq(received))
    }
}

/// Strips a leading `DOMAIN\` from a user name: RFC 2759 §8.2 hashes the
/// user name "without any domain", and Windows peers send `DOMAIN\user`.
/// Everything up to and including the first backslash is removed.
pub fn user_name_without_domain(user_name: &[u8]) -> &[u8] {
    match user_name.iter().position(|&b| b == b'\\') {
        Some(i) => user_name.get(i + 1..).unwrap_or_default(),
        None => user_name,
    }
}

/// ChallengeHash (RFC 2759 §8.2): the first 8 bytes of
/// SHA1(PeerChallenge ‖ AuthenticatorChallenge ‖ UserName).
///
/// `user_name` is hashed as given; strip any `DOMAIN\` prefix first (see
/// [`user_name_without_domain`]).
pub(crate) fn challenge_hash(
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
) -> [u8; 8] {
    let digest = Sha1::new()
        .chain_update(peer_challenge)
        .chain_update(authenticator_challenge)
        .chain_update(user_name)
        .finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// ChallengeResponse (RFC 2759 §8.5): the password hash, zero-padded to 21
/// bytes, is cut into three 7-byte DES keys, each of which encrypts the
/// 8-byte challenge.
pub(crate) fn challenge_response(challenge: &[u8; 8], password_hash: &NtPasswordHash) -> [u8; 24] {
    let mut z_password_hash = Zeroizing::new([0u8; 21]);
    z_password_hash[..16].copy_from_slice(password_hash.as_bytes());
    let mut response = [0u8; 24];
    for (key, out) in z_password_hash
        .chunks_exact(7)
        .zip(response.chunks_exact_mut(8))
    {
        let mut key7 = Zeroizing::new([0u8; 7]);
        key7.copy_from_slice(key);
        out.copy_from_slice(&des_encrypt(challenge, &key7));
    }
    response
}

/// DesEncrypt (RFC 2759 §8.6): DES-ECB of one block under a 7-byte key,
/// expanded to the 8-byte DES key form.
fn des_encrypt(clear: &[u8; 8], key7: &[u8; 7]) -> [u8; 8] {
    let key8 = Zeroizing::new(expand_des_key(key7));
    let cipher = Des::new(&(*key8).into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// Spreads 56 key bits over 8 bytes, 7 bits each in the high bits, and sets
/// the low bit of each byte for odd parity (RFC 2759 §8.6 "parity bits");
/// DES ignores the parity bits but some implementations check them.
fn expand_des_key(key7: &[u8; 7]) -> [u8; 8] {
    let mut wide = [0u8; 8];
    wide[1..].copy_from_slice(key7);
    let bits = u64::from_be_bytes(wide);
    wide.zeroize();
    let mut key8 = [0u8; 8];
    for (i, byte) in key8.iter_mut().enumerate() {
        let shift = 49 - 7 * i; // i ≤ 7, so this never underflows
        let seven = ((bits >> shift) & 0x7f) as u8;
        let parity = u8::from(seven.count_ones().is_multiple_of(2));
        *byte = (seven << 1) | parity;
    }
    key8
}

/// GenerateNTResponse (RFC 2759 §8.1): the 24-byte NT-Response the peer puts
/// in its CHAP Response value.
pub(crate) fn generate_nt_response(
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
    password_hash: &NtPasswordHash,
) -> [u8; NT_RESPONSE_LEN] {
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    challenge_response(&challenge, password_hash)
}

/// GenerateAuthenticatorResponse (RFC 2759 §8.7): the 20 bytes the
/// authenticator returns in `S=...`.
pub(crate) fn generate_authenticator_response(
    password_hash: &NtPasswordHash,
    nt_response: &[u8; NT_RESPONSE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
) -> AuthenticatorResponse {
    let password_hash_hash = password_hash.hash_hash();
    let digest = Sha1::new()
        .chain_update(password_hash_hash.as_bytes())
        .chain_update(nt_response)
        .chain_update(AUTH_MAGIC1)
        .finalize();
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    let digest = Sha1::new()
        .chain_update(digest)
        .chain_update(challenge)
        .chain_update(AUTH_MAGIC2)
        .finalize();
    AuthenticatorResponse(digest.into())
}

/// CheckAuthenticatorResponse (RFC 2759 §8.8), for the peer: whether the
/// 20 bytes the authenticator sent in `S=` are the ones the password gives.
/// Constant time. A peer must not trust the link (or send SSTP
/// CALL_CONNECTED) before this returns `true`.
pub(crate) fn check_authenticator_response(
    password_hash: &NtPasswordHash,
    nt_response: &[u8; NT_RESPONSE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
    received: &[u8; AUTHENTICATOR_RESPONSE_LEN],
) -> bool {
    generate_authenticator_response(
        password_hash,
        nt_response,
        peer_challenge,
        authenticator_challenge,
        user_name,
    )
    .ct_matches(received)
}

/// The authenticator's check of a peer's NT-Response (RFC 2759 §8.1 run on
/// the server side): recomputes it from the stored credential and compares in
/// constant time. On a match, returns the authenticator response to send in
/// the success message; on a mismatch, `None` (send a Failure, E=691).
pub(crate) fn verify_nt_response(
    password_hash: &NtPasswordHash,
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
    received_nt_response: &[u8; NT_RESPONSE_LEN],
) -> Option<AuthenticatorResponse> {
    let expected = Zeroizing::new(generate_nt_response(
        authenticator_challenge,
        peer_challenge,
        user_name,
        password_hash,
    ));
    if bool::from(expected.ct_eq(received_nt_response)) {
        Some(generate_authenticator_response(
            password_hash,
            received_nt_response,
            peer_challenge,
            authenticator_challenge,
            user_name,
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        let v = hex::decode(s).expect("test hex");
        v.try_into().expect("test hex length")
    }

    // RFC 2759 §9.2.
    const USER: &[u8] = b"User";
    const PASSWORD: &str = "clientPass";
    const AUTH_CHALLENGE: &str = "5B5D7C7D7B3F2F3E3C2C602132262628";
    const PEER_CHALLENGE: &str = "21402324255E262A28295F2B3A337C7E";
    const CHALLENGE: &str = "D02E4386BCE91226";
    const PASSWORD_HASH: &str = "44EBBA8D5312B8D611474411F56989AE";
    const PASSWORD_HASH_HASH: &str = "41C00C584BD2D91C4017A2A12FA59F3F";
    const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    const AUTHENTICATOR_RESPONSE: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

    #[test]
    fn rfc2759_9_2_password_hash() {
        let hash = NtPasswordHash::from_password(PASSWORD);
        assert_eq!(hash.as_bytes(), &h::<16>(PASSWORD_HASH));
        assert_eq!(hash.hash_hash().as_bytes(), &h::<16>(PASSWORD_HASH_HASH));
    }

    #[test]
    fn rfc2759_9_2_challenge_hash() {
        let c = challenge_hash(&h(PEER_CHALLENGE), &h(AUTH_CHALLENGE), USER);
        assert_eq!(c, h::<8>(CHALLENGE));
    }

    #[test]
    fn rfc2759_9_2_nt_response() {
        let hash = NtPasswordHash::from_password(PASSWORD);
        let r = generate_nt_response(&h(AUTH_CHALLENGE), &h(PEER_CHALLENGE), USER, &hash);
        assert_eq!(r, h::<24>(NT_RESPONSE));
        assert_eq!(
            challenge_response(&h(CHALLENGE), &hash),
            h::<24>(NT_RESPONSE)
        );
    }

    #[test]
    fn rfc2759_9_2_authenticator_response() {
        let hash = NtPasswordHash::from_password(PASSWORD);
        let a = generate_authenticator_response(
            &hash,
            &h(NT_RESPONSE),
            &h(PEER_CHALLENGE),
            &h(AUTH_CHALLENGE),
            USER,
        );
        assert_eq!(a.to_success_string(), AUTHENTICATOR_RESPONSE);
        assert_eq!(a.as_bytes(), &h::<20>(&AUTHENTICATOR_RESPONSE[2..]));
    }

    #[test]
    fn credential_forms_agree() {
        let from_password = Credential::from_password(PASSWORD).nt_password_hash();
        let from_hash = Credential::from_nt_hash(h(PASSWORD_HASH)).nt_password_hash();
        assert_eq!(from_password.as_bytes(), from_hash.as_bytes());
    }

    #[test]
    fn unicode_password_is_utf16le() {
        // "é" is U+00E9 -> E9 00; MD4 of that pair, not of the UTF-8 bytes C3 A9.
        let hash = NtPasswordHash::from_password("é");
        assert_eq!(
            hash.as_bytes(),
            &<[u8; 16]>::from(Md4::digest([0xe9, 0x00]))
        );
        assert_ne!(
            hash.as_bytes(),
            &<[u8; 16]>::from(Md4::digest([0xc3, 0xa9]))
        );
        // A non-BMP character is a surrogate pair: U+1F600 -> D83D DE00.
        let hash = NtPasswordHash::from_password("\u{1F600}");
        assert_eq!(
            hash.as_bytes(),
            &<[u8; 16]>::from(Md4::digest([0x3d, 0xd8, 0x00, 0xde]))
        );
    }

    #[test]
    fn des_key_expansion_sets_odd_parity() {
        // All-ones key: each byte is 1111111 + parity 0 (seven ones is odd).
        assert_eq!(expand_des_key(&[0xff; 7]), [0xfe; 8]);
        // All-zero key: each byte 0000000 + parity 1.
        assert_eq!(expand_des_key(&[0; 7]), [0x01; 8]);
        // 7 bits per byte in order: 0x80 first bit only -> first byte 1000000x.
        let k = expand_des_key(&[0x80, 0, 0, 0, 0, 0, 0]);
        assert_eq!(k, [0x80, 1, 1, 1, 1, 1, 1, 1]);
        let k = expand_des_key(&[0, 0, 0, 0, 0, 0, 0x01]);
        assert_eq!(k, [1, 1, 1, 1, 1, 1, 1, 0x02]);
        for k in [
            expand_des_key(&h("0123456789ABCD")),
            expand_des_key(&[0x5a; 7]),
        ] {
            assert!(k.iter().all(|b| b.count_ones() % 2 == 1), "{k:02x?}");
        }
    }

    #[test]
    fn des_encrypt_matches_single_des_vector() {
        // FIPS 81 / classic DES vector: key 133457799BBCDFF1 encrypts
        // 0123456789ABCDEF to 85E813540F0AB405. The 7-byte form of that key
        // is its high 7 bits per byte.
        let key8: [u8; 8] = h("133457799BBCDFF1");
        let mut bits = 0u64;
        for b in key8 {
            bits = (bits << 7) | u64::from(b >> 1);
        }
        let mut key7 = [0u8; 7];
        key7.copy_from_slice(&bits.to_be_bytes()[1..]);
        assert_eq!(expand_des_key(&key7), key8); // the vector's key already has odd parity
        assert_eq!(
            des_encrypt(&h("0123456789ABCDEF"), &key7),
            h::<8>("85E813540F0AB405")
        );
    }

    #[test]
    fn server_verifies_and_client_checks() {
        let hash = NtPasswordHash::from_password(PASSWORD);
        let nt = h::<24>(NT_RESPONSE);
        let a = verify_nt_response(&hash, &h(AUTH_CHALLENGE), &h(PEER_CHALLENGE), USER, &nt)
            .expect("RFC vector verifies");
        assert_eq!(a.to_success_string(), AUTHENTICATOR_RESPONSE);
        assert!(check_authenticator_response(
            &hash,
            &nt,
            &h(PEER_CHALLENGE),
            &h(AUTH_CHALLENGE),
            USER,
            a.as_bytes()
        ));
    }

    #[test]
    fn server_rejects_wrong_password_user_or_bit() {
        let good = NtPasswordHash::from_password(PASSWORD);
        let bad = NtPasswordHash::from_password("clientpass");
        let nt = h::<24>(NT_RESPONSE);
        let (ac, pc) = (h(AUTH_CHALLENGE), h(PEER_CHALLENGE));
        assert!(verify_nt_response(&bad, &ac, &pc, USER, &nt).is_none());
        assert!(verify_nt_response(&good, &ac, &pc, b"user", &nt).is_none());
        assert!(verify_nt_response(&good, &pc, &ac, USER, &nt).is_none());
        for i in 0..24 {
            let mut flipped = nt;
            flipped[i] ^= 0x01;
            assert!(verify_nt_response(&good, &ac, &pc, USER, &flipped).is_none());
        }
    }

    #[test]
    fn client_rejects_wrong_authenticator_response() {
        let hash = NtPasswordHash::from_password(PASSWORD);
        let mut received = h::<20>(&AUTHENTICATOR_RESPONSE[2..]);
        received[19] ^= 0x80;
        assert!(!check_authenticator_response(
            &hash,
            &h(NT_RESPONSE),
            &h(PEER_CHALLENGE),
            &h(AUTH_CHALLENGE),
            USER,
            &received
        ));
    }

    #[test]
    fn domain_is_stripped_at_first_backslash() {
        assert_eq!(user_name_without_domain(b"CORP\\User"), b"User");
        assert_eq!(user_name_without_domain(b"User"), b"User");
        assert_eq!(user_name_without_domain(b"A\\B\\C"), b"B\\C");
        assert_eq!(user_name_without_domain(b"A\\"), b"");
        assert_eq!(user_name_without_domain(b""), b"");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credential::from_password("hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let h = NtPasswordHash::from_password("hunter2");
        assert_eq!(format!("{h:?}"), "NtPasswordHash(..)");
    }
}
