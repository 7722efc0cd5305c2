//! The shared-secret cryptography of RADIUS: the authenticators (RFC 2865
//! §3, RFC 2866 §3, RFC 5176 §2.3), the Message-Authenticator (RFC 3579
//! §3.2), User-Password hiding (RFC 2865 §5.2) and the MS-MPPE key
//! encryption (RFC 2548 §2.4.2). All MD5, as the RFCs are.

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::attribute::ValueError;
use crate::packet::{EmitError, HEADER_LEN};

type HmacMd5 = Hmac<Md5>;

/// The longest MS-MPPE key [`encrypt_mppe_key`] takes: the Key-Length
/// octet and the key, padded, fill at most 15 blocks so that the salt and
/// the Vendor-Specific header still fit in one attribute (RFC 2548 §2.4.2).
pub const MAX_MPPE_KEY_LEN: usize = 15 * 16 - 1;

/// An MS-MPPE-Send-Key or MS-MPPE-Recv-Key value (RFC 2548 §2.4.2) that
/// cannot be what it says. When decrypting, the server that sent it is at
/// fault (or the secret is wrong: the key length is then random); when
/// encrypting, the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MppeError {
    /// Not a 2-byte salt and one or more 16-byte blocks.
    #[error("an MS-MPPE key attribute of {0} bytes is not a 2-byte salt and whole 16-byte blocks")]
    Length(usize),
    /// The salt's most significant bit is clear; RFC 2548 §2.4.2 says it
    /// must be set.
    #[error("the MS-MPPE key's salt does not have its high bit set, as RFC 2548 requires")]
    Salt,
    /// The decrypted Key-Length says more than the blocks hold: a wrong
    /// shared secret, the wrong Request Authenticator, or a corrupt value.
    #[error(
        "the decrypted MS-MPPE key says it is {key_len} bytes but only {available} follow: a wrong shared secret or Request Authenticator, or a corrupt attribute"
    )]
    KeyLength {
        /// The decrypted Key-Length octet.
        key_len: usize,
        /// The bytes after it.
        available: usize,
    },
    /// A key longer than [`MAX_MPPE_KEY_LEN`].
    #[error("an MS-MPPE key of {0} bytes does not fit in one attribute (at most 239)")]
    KeyTooLong(usize),
}

/// MD5 over `parts`, in order.
pub(crate) fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 (RFC 2104) with `key` over `parts`. A key longer than MD5's
/// 64-byte block is hashed first (RFC 2104 §2); a shorter one is padded with
/// zeros, which is what the block-sized key below is.
pub(crate) fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut block = Key::<HmacMd5>::default();
    let mut hashed = [0u8; 16];
    let key = if key.len() > block.len() {
        hashed = md5(&[key]);
        &hashed[..]
    } else {
        key
    };
    for (d, s) in block.iter_mut().zip(key) {
        *d = *s;
    }
    let mut mac = <HmacMd5 as KeyInit>::new(&block);
    block.as_mut_slice().zeroize();
    hashed.zeroize();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two MACs or authenticators.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// MD5(Code+Identifier+Length+`authenticator`+Attributes+Secret) over a
/// whole packet whose own authenticator field is ignored: the Response
/// Authenticator (RFC 2865 §3) when `authenticator` is the request's, the
/// Accounting-Request and DAE Request Authenticator (RFC 2866 §3, RFC 5176
/// §2.3) when it is 16 zeros.
pub(crate) fn packet_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    secret: &[u8],
) -> [u8; 16] {
    let head = packet.get(..4).unwrap_or_default();
    let attrs = packet.get(HEADER_LEN..).unwrap_or_default();
    md5(&[head, authenticator, attrs, secret])
}

/// The Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 keyed with the
/// secret over the packet with `authenticator` in the authenticator field
/// and the 16 value bytes at `ma_offset` taken as zeros. `authenticator` is
/// the packet's own in an Access-Request or Status-Server, the request's in
/// a response (RFC 3579 §3.2, RFC 5176 §3.5), and 16 zeros in an
/// Accounting-Request or DAE request, whose authenticator is computed after
/// it (RFC 5176 §3.5).
pub(crate) fn message_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    ma_offset: usize,
    secret: &[u8],
) -> [u8; 16] {
    let head = packet.get(..4).unwrap_or_default();
    let before = packet.get(HEADER_LEN..ma_offset).unwrap_or_default();
    let after = packet.get(ma_offset + 16..).unwrap_or_default();
    hmac_md5(secret, &[head, authenticator, before, &[0; 16], after])
}

/// Hides a User-Password (RFC 2865 §5.2): padded with NULs to a multiple of
/// 16 (an empty one to 16), c(1) = p(1) xor MD5(S + RA), c(i) = p(i) xor
/// MD5(S + c(i-1)).
pub(crate) fn hide_password(
    password: &[u8],
    authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Vec<u8>, EmitError> {
    if password.len() > crate::request::MAX_PASSWORD_LEN {
        return Err(EmitError::PasswordTooLong(password.len()));
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut out = Vec::with_capacity(padded_len);
    let mut prev: [u8; 16] = *authenticator;
    for i in 0..padded_len / 16 {
        let mut b = md5(&[secret, &prev]);
        for (j, byte) in b.iter_mut().enumerate() {
            *byte ^= password.get(i * 16 + j).copied().unwrap_or(0);
        }
        out.extend_from_slice(&b);
        prev = b;
    }
    Ok(out)
}

/// The inverse of [`hide_password`], trailing NULs removed.
pub(crate) fn unhide_password(
    hidden: &[u8],
    authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ValueError> {
    if hidden.is_empty()
        || !hidden.len().is_multiple_of(16)
        || hidden.len() > crate::request::MAX_PASSWORD_LEN
    {
        return Err(ValueError::PasswordLength(hidden.len()));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(hidden.len()));
    let mut prev: &[u8] = authenticator;
    for block in hidden.chunks_exact(16) {
        let mut b = Zeroizing::new(md5(&[secret, prev]));
        for (x, c) in b.iter_mut().zip(block) {
            *x ^= c;
        }
        out.extend_from_slice(&b[..]);
        prev = block;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// Decrypts an MS-MPPE-Send-Key or MS-MPPE-Recv-Key value (RFC 2548
/// §2.4.2) of any number of 16-byte blocks: the 2-byte Salt A (high bit
/// set), then c(1..n) where b(1) = MD5(S + R + A), p(i) = c(i) xor b(i),
/// b(i) = MD5(S + c(i-1)). The plaintext is the Key-Length octet, the key,
/// then padding. `request_authenticator` (R) is the Request Authenticator
/// of the Access-Request this value answers; `secret` (S) is the shared
/// secret. MS-CHAPv2 keys are 16 bytes (two blocks), EAP keys 32 (three).
pub fn decrypt_mppe_key(
    value: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Zeroizing<Vec<u8>>, MppeError> {
    let [salt_hi, salt_lo, blocks @ ..] = value else {
        return Err(MppeError::Length(value.len()));
    };
    if blocks.is_empty() || !blocks.len().is_multiple_of(16) {
        return Err(MppeError::Length(value.len()));
    }
    if salt_hi & 0x80 == 0 {
        return Err(MppeError::Salt);
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(blocks.len()));
    let mut b = Zeroizing::new(md5(&[secret, request_authenticator, &[*salt_hi, *salt_lo]]));
    for c in blocks.chunks_exact(16) {
        for (x, y) in b.iter().zip(c) {
            plain.push(x ^ y);
        }
        *b = md5(&[secret, c]);
    }
    let key_len = usize::from(plain[0]);
    let available = plain.len() - 1;
    if key_len > available {
        return Err(MppeError::KeyLength { key_len, available });
    }
    Ok(Zeroizing::new(plain[1..=key_len].to_vec()))
}

/// Encrypts an MS-MPPE key (RFC 2548 §2.4.2), the inverse of
/// [`decrypt_mppe_key`]: the Key-Length octet and the key, zero-padded to
/// whole blocks, behind `salt`. RFC 2548 asks that each key attribute of a
/// packet have its own salt, with the high bit set (a salt without it is
/// refused).
pub fn encrypt_mppe_key(
    key: &[u8],
    salt: [u8; 2],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Vec<u8>, MppeError> {
    if salt[0] & 0x80 == 0 {
        return Err(MppeError::Salt);
    }
    let Ok(key_len) = u8::try_from(key.len()) else {
        return Err(MppeError::KeyTooLong(key.len()));
    };
    if key.len() > MAX_MPPE_KEY_LEN {
        return Err(MppeError::KeyTooLong(key.len()));
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(key.len() + 16));
    plain.push(key_len);
    plain.extend_from_slice(key);
    let padded = plain.len().div_ceil(16) * 16;
    plain.resize(padded, 0);
    let mut out = Vec::with_capacity(2 + plain.len());
    out.extend_from_slice(&salt);
    let mut b = Zeroizing::new(md5(&[secret, request_authenticator, &salt]));
    for p in plain.chunks_exact(16) {
        let start = out.len();
        for (x, y) in b.iter().zip(p) {
            out.push(x ^ y);
        }
        *b = md5(&[secret, &out[start..]]);
    }
    Ok(out)
}

/// The CHAP response (RFC 1994 §4.1): MD5(Identifier + secret + Challenge).
/// A NAS gets it from the peer; tests compute it.
#[cfg(test)]
pub(crate) fn chap_response(ident: u8, password: &[u8], challenge: &[u8]) -> [u8; 16] {
    md5(&[&[ident], password, challenge])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).expect("test hex")
    }

    #[test]
    fn hmac_md5_matches_rfc_2104_test_vectors() {
        // RFC 2104 Appendix (its test vectors): key 0x0b * 16, "Hi There".
        assert_eq!(
            hmac_md5(&[0x0b; 16], &[b"Hi There"]).to_vec(),
            h("9294727a3638bb1c13f48ef8158bfc9d")
        );
        assert_eq!(
            hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            h("750c783e6ab0b503eaa86e310a5db738")
        );
        // RFC 2202 §2 test case 6: an 80-byte key, hashed first.
        assert_eq!(
            hmac_md5(
                &[0xaa; 80],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )
            .to_vec(),
            h("6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
        );
    }

    #[test]
    fn rfc_2865_7_1_password_hiding() {
        // RFC 2865 §7.1: "arctangent" hidden with secret "xyzzy5461" and the
        // Request Authenticator of the example Access-Request.
        let ra: [u8; 16] = h("0f403f9473978057bd83d5cb98f4227a").try_into().unwrap();
        let hidden = hide_password(b"arctangent", &ra, b"xyzzy5461").unwrap();
        assert_eq!(hidden, h("0dbe708d93d413ce3196e43f782a0aee"));
        assert_eq!(
            &unhide_password(&hidden, &ra, b"xyzzy5461").unwrap()[..],
            b"arctangent"
        );
    }

    #[test]
    fn password_hiding_lengths() {
        let ra = [9u8; 16];
        assert_eq!(hide_password(b"", &ra, b"s").unwrap().len(), 16);
        assert_eq!(hide_password(&[b'a'; 16], &ra, b"s").unwrap().len(), 16);
        assert_eq!(hide_password(&[b'a'; 17], &ra, b"s").unwrap().len(), 32);
        assert_eq!(hide_password(&[b'a'; 128], &ra, b"s").unwrap().len(), 128);
        assert_eq!(
            hide_password(&[b'a'; 129], &ra, b"s"),
            Err(EmitError::PasswordTooLong(129))
        );
        for n in 0..=128 {
            let pw: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let hidden = hide_password(&pw, &ra, b"secret").unwrap();
            assert_eq!(
                &unhide_password(&hidden, &ra, b"secret").unwrap()[..],
                &pw[..]
            );
        }
        for bad in [0, 15, 17, 144] {
            assert_eq!(
                unhide_password(&vec![0; bad], &ra, b"s"),
                Err(ValueError::PasswordLength(bad))
            );
        }
    }

    #[test]
    fn mppe_errors() {
        let ra = [1u8; 16];
        for len in [0, 1, 2, 3, 17, 19, 33] {
            assert_eq!(
                decrypt_mppe_key(&vec![0x80; len], &ra, b"s"),
                Err(MppeError::Length(len))
            );
        }
        assert_eq!(
            decrypt_mppe_key(&[0x7f; 18], &ra, b"s"),
            Err(MppeError::Salt)
        );
        assert_eq!(
            encrypt_mppe_key(b"k", [0x7f, 0], &ra, b"s"),
            Err(MppeError::Salt)
        );
        assert_eq!(
            encrypt_mppe_key(&[0; 240], [0x80, 0], &ra, b"s"),
            Err(MppeError::KeyTooLong(240))
        );
        assert_eq!(
            encrypt_mppe_key(&[0; 300], [0x80, 0], &ra, b"s"),
            Err(MppeError::KeyTooLong(300))
        );
        // Decrypted with the wrong secret, the length octet is noise; when
        // it says more than the blocks hold, that is said.
        let value = encrypt_mppe_key(&[7; 16], [0x80, 1], &ra, b"right").unwrap();
        let mut found = false;
        for i in 0..64u8 {
            if let Err(e) = decrypt_mppe_key(&value, &ra, &[i]) {
                assert!(matches!(e, MppeError::KeyLength { available: 31, .. }));
                found = true;
            }
        }
        assert!(found);
    }

    #[test]
    fn mppe_sizes() {
        let ra = [3u8; 16];
        for (key_len, value_len) in [(0, 18), (15, 18), (16, 34), (31, 34), (32, 50), (239, 242)] {
            let key = vec![0x5a; key_len];
            let v = encrypt_mppe_key(&key, [0x81, 0x02], &ra, b"secret").unwrap();
            assert_eq!(v.len(), value_len, "key of {key_len}");
            assert_eq!(&decrypt_mppe_key(&v, &ra, b"secret").unwrap()[..], &key[..]);
        }
    }

    /// A second, independent computation of RFC 2548 §2.4.2 (python3
    /// hashlib, run once by hand) for a 32-byte EAP key, so the round trip
    /// above is not our encrypt checking our decrypt only:
    ///
    /// ```text
    /// python3 -c 'import hashlib
    /// S=b"secret"; R=bytes(range(16)); A=bytes([0x85,0x2a])
    /// p=bytes([32])+bytes(range(0x40,0x60)); p+=bytes(-len(p)%16)
    /// out=A; b=hashlib.md5(S+R+A).digest()
    /// for i in range(0,len(p),16):
    ///     c=bytes(x^y for x,y in zip(p[i:i+16],b)); out+=c; b=hashlib.md5(S+c).digest()
    /// print(out.hex())'
    /// ```
    #[test]
    fn mppe_32_byte_key_python_vector() {
        let ra: [u8; 16] = core::array::from_fn(|i| i as u8);
        let key: Vec<u8> = (0x40..0x60).collect();
        let expected = h(PYTHON_MPPE_32);
        assert_eq!(
            encrypt_mppe_key(&key, [0x85, 0x2a], &ra, b"secret").unwrap(),
            expected
        );
        assert_eq!(
            &decrypt_mppe_key(&expected, &ra, b"secret").unwrap()[..],
            &key[..]
        );
    }

    const PYTHON_MPPE_32: &str = "852a1b3da4cbcb89799332ebba5a84f79a1db45c5707edb9124b7a997a0d63eb075e3d1adb9437c1f3516a8252f7db32e7c3";
}
