//! Microsoft's vendor attributes (RFC 2548), vendor 311: the constants for
//! [`Packet::vendor_attribute`](crate::Packet::vendor_attribute) and
//! [`Attribute::vendor`](crate::Attribute::vendor), and the MS-CHAP values
//! a NAS builds and reads.

use std::fmt::Write as _;

use crate::attribute::ValueError;

/// Microsoft's SMI Network Management Private Enterprise Code (RFC 2548 §2).
pub const VENDOR_ID: u32 = 311;

/// MS-CHAP-Error (RFC 2548 §2.1.5): an [`MsChapError`].
pub const CHAP_ERROR: u8 = 2;
/// MS-MPPE-Encryption-Policy (RFC 2548 §2.4.4): integer, 1 allowed, 2
/// required.
pub const MPPE_ENCRYPTION_POLICY: u8 = 7;
/// MS-MPPE-Encryption-Types (RFC 2548 §2.4.5): integer bit mask, 2 for
/// 40-bit RC4, 4 for 128-bit.
pub const MPPE_ENCRYPTION_TYPES: u8 = 8;
/// MS-CHAP-Challenge (RFC 2548 §2.3.1 for MS-CHAPv2): the authenticator's
/// 16-byte challenge.
pub const CHAP_CHALLENGE: u8 = 11;
/// MS-MPPE-Send-Key (RFC 2548 §2.4.2): the key for what the NAS sends,
/// encrypted; [`decrypt_mppe_key`](crate::decrypt_mppe_key) opens it.
pub const MPPE_SEND_KEY: u8 = 16;
/// MS-MPPE-Recv-Key (RFC 2548 §2.4.3): the key for what the NAS receives.
pub const MPPE_RECV_KEY: u8 = 17;
/// MS-CHAP2-Response (RFC 2548 §2.3.2): an [`MsChap2Response`].
pub const CHAP2_RESPONSE: u8 = 25;
/// MS-CHAP2-Success (RFC 2548 §2.3.3): an [`MsChap2Success`].
pub const CHAP2_SUCCESS: u8 = 26;
/// MS-Primary-DNS-Server (RFC 2548 §2.2.1): IPv4 address.
pub const PRIMARY_DNS_SERVER: u8 = 28;
/// MS-Secondary-DNS-Server (RFC 2548 §2.2.2): IPv4 address.
pub const SECONDARY_DNS_SERVER: u8 = 29;

/// The MS-CHAP2-Response value (RFC 2548 §2.3.2): the peer's MS-CHAPv2
/// Response packet fields (RFC 2759 §4), which the NAS forwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsChap2Response {
    /// The MS-CHAPv2 Identifier of the peer's Response.
    pub ident: u8,
    /// The Flags octet (zero).
    pub flags: u8,
    /// The peer's 16-byte challenge.
    pub peer_challenge: [u8; 16],
    /// The 24-byte NT-Response (RFC 2759 §8.1).
    pub nt_response: [u8; 24],
}

impl MsChap2Response {
    /// The value's length: Ident, Flags, Peer-Challenge, 8 reserved, Response.
    pub const LEN: usize = 50;

    /// Reads the value; it must be exactly 50 bytes. The 8 reserved octets
    /// are not checked.
    pub fn parse(value: &[u8]) -> Result<Self, ValueError> {
        let bad = |why| ValueError::MsChap {
            attribute: "MS-CHAP2-Response",
            why,
        };
        let v: &[u8; Self::LEN] = value.try_into().map_err(|_| bad("not 50 bytes long"))?;
        let mut peer_challenge = [0; 16];
        peer_challenge.copy_from_slice(&v[2..18]);
        let mut nt_response = [0; 24];
        nt_response.copy_from_slice(&v[26..50]);
        Ok(Self {
            ident: v[0],
            flags: v[1],
            peer_challenge,
            nt_response,
        })
    }

    /// The value's bytes, reserved octets zero.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut v = [0; Self::LEN];
        v[0] = self.ident;
        v[1] = self.flags;
        v[2..18].copy_from_slice(&self.peer_challenge);
        v[26..50].copy_from_slice(&self.nt_response);
        v
    }
}

/// The MS-CHAP2-Success value (RFC 2548 §2.3.3): the Ident, then
/// `S=<authenticator response, 40 hex digits>` (RFC 2759 §5), and
/// optionally ` M=<message>`, which the NAS passes on to the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsChap2Success {
    /// The MS-CHAPv2 Identifier.
    pub ident: u8,
    /// The 20-byte Authenticator Response (RFC 2759 §8.7).
    pub authenticator_response: [u8; 20],
    /// The optional message.
    pub message: Option<String>,
}

impl MsChap2Success {
    /// Reads the value: the Ident, `S=` and 40 hex digits (either case),
    /// then nothing or ` M=` and a message.
    pub fn parse(value: &[u8]) -> Result<Self, ValueError> {
        let bad = |why| ValueError::MsChap {
            attribute: "MS-CHAP2-Success",
            why,
        };
        let [ident, text @ ..] = value else {
            return Err(bad("empty"));
        };
        let text = text
            .strip_prefix(b"S=")
            .ok_or(bad("no S= after the ident"))?;
        let (digits, rest) = text
            .split_at_checked(40)
            .ok_or(bad("fewer than 40 hex digits after S="))?;
        let authenticator_response = unhex::<20>(digits).ok_or(bad("S= is not 40 hex digits"))?;
        let message = match rest {
            [] => None,
            _ => {
                let m = rest
                    .trim_ascii_start()
                    .strip_prefix(b"M=")
                    .ok_or(bad("something other than M= after S="))?;
                Some(String::from_utf8_lossy(m).into_owned())
            }
        };
        Ok(Self {
            ident: *ident,
            authenticator_response,
            message,
        })
    }

    /// The value's bytes, with upper-case hex as RFC 2759 §5 writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(42);
        s.push_str("S=");
        push_hex(&mut s, &self.authenticator_response);
        if let Some(m) = &self.message {
            s.push_str(" M=");
            s.push_str(m);
        }
        let mut v = Vec::with_capacity(1 + s.len());
        v.push(self.ident);
        v.extend_from_slice(s.as_bytes());
        v
    }
}

/// The MS-CHAP-Error value (RFC 2548 §2.1.5) for MS-CHAPv2: the Ident, then
/// the Failure text of RFC 2759 §6, `E=eeeeeeeeee R=r C=<32 hex> V=vvvvvvvvvv
/// M=<message>`, which the NAS passes on to the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsChapError {
    /// The MS-CHAP Identifier.
    pub ident: u8,
    /// `E=`: 646 restricted logon hours, 647 account disabled, 648 password
    /// expired, 649 no dial-in permission, 691 authentication failure, 709
    /// error changing password (RFC 2759 §6).
    pub error: u32,
    /// `R=`: whether the peer may retry.
    pub retry: bool,
    /// `C=`: a new 16-byte challenge for the retry.
    pub challenge: Option<[u8; 16]>,
    /// `V=`: the password-change protocol version.
    pub version: Option<u32>,
    /// `M=`: the message, to the end of the value.
    pub message: Option<String>,
}

impl MsChapError {
    /// Reads the value. `E=` must be there and numeric; `R=`, `C=`, `V=`
    /// and `M=` may be missing, other fields are skipped, and `M=` takes
    /// the rest of the text. A message that is not UTF-8 is read lossily.
    pub fn parse(value: &[u8]) -> Result<Self, ValueError> {
        let bad = |why| ValueError::MsChap {
            attribute: "MS-CHAP-Error",
            why,
        };
        let [ident, text @ ..] = value else {
            return Err(bad("empty"));
        };
        let text = String::from_utf8_lossy(text);
        let mut out = Self {
            ident: *ident,
            error: 0,
            retry: false,
            challenge: None,
            version: None,
            message: None,
        };
        let mut seen_error = false;
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            if let Some(m) = rest.strip_prefix("M=") {
                out.message = Some(m.to_owned());
                break;
            }
            let (field, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            rest = tail.trim_start();
            if let Some(e) = field.strip_prefix("E=") {
                out.error = e.parse().map_err(|_| bad("E= is not a number"))?;
                seen_error = true;
            } else if let Some(r) = field.strip_prefix("R=") {
                out.retry = r == "1";
            } else if let Some(c) = field.strip_prefix("C=") {
                out.challenge =
                    Some(unhex::<16>(c.as_bytes()).ok_or(bad("C= is not 32 hex digits"))?);
            } else if let Some(v) = field.strip_prefix("V=") {
                out.version = Some(v.parse().map_err(|_| bad("V= is not a number"))?);
            }
        }
        if !seen_error {
            return Err(bad("no E= field"));
        }
        Ok(out)
    }

    /// The value's bytes, fields in RFC 2759 §6's order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("E={} R={}", self.error, u8::from(self.retry));
        if let Some(c) = &self.challenge {
            s.push_str(" C=");
            push_hex(&mut s, c);
        }
        if let Some(v) = self.version {
            let _ = write!(s, " V={v}");
        }
        if let Some(m) = &self.message {
            s.push_str(" M=");
            s.push_str(m);
        }
        let mut v = Vec::with_capacity(1 + s.len());
        v.push(self.ident);
        v.extend_from_slice(s.as_bytes());
        v
    }
}

fn push_hex(s: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
}

fn unhex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16);
    let mut out = [0; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *o = u8::try_from((nibble(pair[0])? << 4) | nibble(pair[1])?).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chap2_response_round_trip() {
        // RFC 2759 §9.2's Peer-Challenge and NT-Response.
        let r = MsChap2Response {
            ident: 1,
            flags: 0,
            peer_challenge: hex::decode("21402324255E262A28295F2B3A337C7E")
                .unwrap()
                .try_into()
                .unwrap(),
            nt_response: hex::decode("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
                .unwrap()
                .try_into()
                .unwrap(),
        };
        let b = r.to_bytes();
        assert_eq!(
            hex::encode(b),
            "010021402324255e262a28295f2b3a337c7e000000000000000082309ecd8d708b5ea08faa3981cd83544233114a3d85d6df"
        );
        assert_eq!(MsChap2Response::parse(&b), Ok(r));
        assert!(MsChap2Response::parse(&b[..49]).is_err());
    }

    #[test]
    fn chap2_success() {
        // What FreeRADIUS 3.2.1 sent for RFC 2759 §9.2 (testdata/vectors.txt,
        // mschapv2_accept); the Authenticator Response is §9.2's.
        let v = b"\x01S=407A5589115FD0D6209F510FE9C04566932CDA56";
        let s = MsChap2Success::parse(v).unwrap();
        assert_eq!(s.ident, 1);
        assert_eq!(
            hex::encode_upper(s.authenticator_response),
            "407A5589115FD0D6209F510FE9C04566932CDA56"
        );
        assert_eq!(s.message, None);
        assert_eq!(s.to_bytes(), v);
        let with_m = MsChap2Success {
            message: Some("Welcome".into()),
            ..s.clone()
        };
        assert_eq!(MsChap2Success::parse(&with_m.to_bytes()), Ok(with_m));
        let lower = b"\x01S=407a5589115fd0d6209f510fe9c04566932cda56";
        assert_eq!(MsChap2Success::parse(lower), Ok(s));
        for bad in [
            &b""[..],
            b"\x01",
            b"\x01S=407A",
            b"\x01X=407A5589115FD0D6209F510FE9C04566932CDA56",
            b"\x01S=407A5589115FD0D6209F510FE9C04566932CDAZZ",
            b"\x01S=407A5589115FD0D6209F510FE9C04566932CDA56 X=1",
        ] {
            assert!(MsChap2Success::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chap_error() {
        let v = b"\x02E=691 R=1 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failed";
        let e = MsChapError::parse(v).unwrap();
        assert_eq!(e.ident, 2);
        assert_eq!(e.error, 691);
        assert!(e.retry);
        assert_eq!(
            e.challenge.map(hex::encode_upper).as_deref(),
            Some("5B5D7C7D7B3F2F3E3C2C602132262628")
        );
        assert_eq!(e.version, Some(3));
        assert_eq!(e.message.as_deref(), Some("Authentication failed"));
        assert_eq!(e.to_bytes(), v);
        assert_eq!(MsChapError::parse(&e.to_bytes()), Ok(e));
        let short = MsChapError::parse(b"\x05E=648 R=0").unwrap();
        assert_eq!(
            (short.error, short.retry, short.challenge),
            (648, false, None)
        );
        for bad in [
            &b""[..],
            b"\x01",
            b"\x01R=1",
            b"\x01E=abc",
            b"\x01E=1 C=12",
            b"\x01E=1 V=x",
        ] {
            assert!(MsChapError::parse(bad).is_err(), "{bad:?}");
        }
    }
}
