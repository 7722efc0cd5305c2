//! One attribute: a Type octet and a value (RFC 2865 §5), with the value
//! types RADIUS uses (RFC 8044 names them: integer, text, ipv4addr,
//! ipv6addr, ipv6prefix, vsa). Readers return an error on a value of the
//! wrong shape and never panic; constructors cannot fail (an over-long
//! value is refused when the packet is emitted).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::attr;

/// One attribute, in the order it came: its Type octet and its value (the
/// bytes after the Length octet). Unknown types are kept as they are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The Type octet ([`attr`] names the ones this crate knows).
    pub ty: u8,
    /// The value, at most [`MAX_ATTRIBUTE_VALUE_LEN`](crate::MAX_ATTRIBUTE_VALUE_LEN) bytes on the wire.
    pub value: Vec<u8>,
}

/// A vendor's attribute inside a Vendor-Specific (RFC 2865 §5.26): the
/// Vendor-Id, then a vendor type octet, a vendor length octet (counting
/// itself and the type) and the value. Microsoft's (RFC 2548 §2) are in
/// [`ms`](crate::ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vsa<'a> {
    /// The SMI Network Management Private Enterprise Code (311 is Microsoft).
    pub vendor_id: u32,
    /// The vendor's type octet.
    pub vendor_type: u8,
    /// The vendor's value.
    pub value: &'a [u8],
}

/// An attribute value that is not what its type says. The peer that sent
/// the packet is at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A fixed-size value of another size.
    #[error("attribute {ty} is {actual} bytes long, where its type needs {expected}")]
    Length {
        /// The attribute's type.
        ty: u8,
        /// The length its type needs.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// An IPv6 prefix (RFC 3162 §2.3) of a bad shape.
    #[error("attribute {ty} is not an IPv6 prefix: {why}")]
    Prefix {
        /// The attribute's type.
        ty: u8,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Text (RFC 8044 §3.4) that is not UTF-8.
    #[error("attribute {ty} should be UTF-8 text and is not")]
    NotUtf8 {
        /// The attribute's type.
        ty: u8,
    },
    /// Not a Vendor-Specific, or one whose sub-attributes do not add up
    /// (RFC 2865 §5.26).
    #[error("attribute {ty} is not a well-formed Vendor-Specific: {why}")]
    VendorSpecific {
        /// The attribute's type.
        ty: u8,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A hidden User-Password whose length is not 16 to 128 in steps of
    /// 16 (RFC 2865 §5.2).
    #[error("a hidden User-Password is {0} bytes long, not a multiple of 16 from 16 to 128")]
    PasswordLength(usize),
    /// An MS-CHAP attribute (RFC 2548 §2.1.5, §2.3.2, §2.3.3) that does not
    /// have its format.
    #[error("malformed {attribute}: {why}")]
    MsChap {
        /// The attribute's name.
        attribute: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl Attribute {
    /// An attribute with these raw value bytes.
    pub fn new(ty: u8, value: impl Into<Vec<u8>>) -> Self {
        Self {
            ty,
            value: value.into(),
        }
    }

    /// An integer attribute (4 octets, network order; RFC 8044 §3.1).
    pub fn from_u32(ty: u8, value: u32) -> Self {
        Self::new(ty, value.to_be_bytes())
    }

    /// An IPv4 address attribute (4 octets; RFC 8044 §3.8).
    pub fn from_ipv4(ty: u8, addr: Ipv4Addr) -> Self {
        Self::new(ty, addr.octets())
    }

    /// An IPv6 address attribute (16 octets; RFC 8044 §3.9).
    pub fn from_ipv6(ty: u8, addr: Ipv6Addr) -> Self {
        Self::new(ty, addr.octets())
    }

    /// An IPv6 prefix attribute (RFC 3162 §2.3, RFC 8044 §3.10): a reserved
    /// zero octet, the prefix length, then as many prefix octets as the
    /// length needs. Bits past the length are cleared; a length over 128 is
    /// taken as 128.
    pub fn from_ipv6_prefix(ty: u8, addr: Ipv6Addr, prefix_len: u8) -> Self {
        let prefix_len = prefix_len.min(128);
        let masked = mask_v6(addr, prefix_len);
        let bytes = usize::from(prefix_len).div_ceil(8);
        let mut value = Vec::with_capacity(2 + bytes);
        value.push(0);
        value.push(prefix_len);
        value.extend_from_slice(&masked.octets()[..bytes]);
        Self::new(ty, value)
    }

    /// A Vendor-Specific attribute holding one vendor attribute (RFC 2865
    /// §5.26).
    pub fn vendor(vendor_id: u32, vendor_type: u8, value: &[u8]) -> Self {
        let mut v = Vec::with_capacity(6 + value.len());
        v.extend_from_slice(&vendor_id.to_be_bytes());
        v.push(vendor_type);
        // An over-long value makes an over-long attribute, which emit
        // refuses; the length octet saturates rather than wraps.
        v.push(u8::try_from(value.len() + 2).unwrap_or(u8::MAX));
        v.extend_from_slice(value);
        Self::new(attr::VENDOR_SPECIFIC, v)
    }

    /// The value as an integer (RFC 8044 §3.1).
    pub fn as_u32(&self) -> Result<u32, ValueError> {
        Ok(u32::from_be_bytes(self.fixed::<4>()?))
    }

    /// The value as an IPv4 address (RFC 8044 §3.8).
    pub fn as_ipv4(&self) -> Result<Ipv4Addr, ValueError> {
        Ok(Ipv4Addr::from(self.fixed::<4>()?))
    }

    /// The value as an IPv6 address (RFC 8044 §3.9).
    pub fn as_ipv6(&self) -> Result<Ipv6Addr, ValueError> {
        Ok(Ipv6Addr::from(self.fixed::<16>()?))
    }

    /// The value as an IPv6 prefix and its length (RFC 3162 §2.3): a
    /// reserved octet, the length (0 to 128), then up to 16 prefix octets,
    /// at least as many as the length covers. Bits past the length are
    /// cleared (RFC 8044 §3.10 says a sender must zero them).
    pub fn as_ipv6_prefix(&self) -> Result<(Ipv6Addr, u8), ValueError> {
        let prefix = |why| ValueError::Prefix { ty: self.ty, why };
        let [_reserved, prefix_len, bytes @ ..] = self.value.as_slice() else {
            return Err(prefix("shorter than its two header octets"));
        };
        if *prefix_len > 128 {
            return Err(prefix("the prefix length is over 128"));
        }
        if bytes.len() > 16 {
            return Err(prefix("more than 16 prefix octets"));
        }
        if bytes.len() < usize::from(*prefix_len).div_ceil(8) {
            return Err(prefix("fewer prefix octets than the length needs"));
        }
        let mut octets = [0u8; 16];
        octets[..bytes.len()].copy_from_slice(bytes);
        Ok((mask_v6(Ipv6Addr::from(octets), *prefix_len), *prefix_len))
    }

    /// The value as UTF-8 text (RFC 8044 §3.4).
    pub fn as_text(&self) -> Result<&str, ValueError> {
        std::str::from_utf8(&self.value).map_err(|_| ValueError::NotUtf8 { ty: self.ty })
    }

    /// The vendor attributes inside a Vendor-Specific (RFC 2865 §5.26), in
    /// order. Most vendors, Microsoft among them (RFC 2548 §2), put one
    /// sub-attribute of the form (type, length, value) in each; a value
    /// whose sub-attributes do not add up is an error.
    pub fn vsas(&self) -> Result<Vec<Vsa<'_>>, ValueError> {
        let bad = |why| ValueError::VendorSpecific { ty: self.ty, why };
        if self.ty != attr::VENDOR_SPECIFIC {
            return Err(bad("not type 26"));
        }
        let [a, b, c, d, rest @ ..] = self.value.as_slice() else {
            return Err(bad("shorter than its Vendor-Id"));
        };
        let mut rest: &[u8] = rest;
        let vendor_id = u32::from_be_bytes([*a, *b, *c, *d]);
        if rest.is_empty() {
            return Err(bad("no vendor attribute after the Vendor-Id"));
        }
        let mut out = Vec::new();
        while !rest.is_empty() {
            let &[vendor_type, len, ref tail @ ..] = rest else {
                return Err(bad("a vendor attribute without its length octet"));
            };
            let value_len = usize::from(len)
                .checked_sub(2)
                .ok_or(bad("a vendor attribute length under 2"))?;
            if value_len > tail.len() {
                return Err(bad("a vendor attribute runs past the attribute"));
            }
            let (value, next) = tail.split_at(value_len);
            out.push(Vsa {
                vendor_id,
                vendor_type,
                value,
            });
            rest = next;
        }
        Ok(out)
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], ValueError> {
        self.value
            .as_slice()
            .try_into()
            .map_err(|_| ValueError::Length {
                ty: self.ty,
                expected: N,
                actual: self.value.len(),
            })
    }
}

/// `addr` with the bits past `prefix_len` cleared.
fn mask_v6(addr: Ipv6Addr, prefix_len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let mask = match prefix_len {
        0 => 0,
        n if n >= 128 => u128::MAX,
        n => u128::MAX << (128 - u32::from(n)),
    };
    Ipv6Addr::from(bits & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_addresses_check_their_length() {
        let a = Attribute::from_u32(attr::SESSION_TIMEOUT, 3600);
        assert_eq!(a.value, [0, 0, 0x0e, 0x10]);
        assert_eq!(a.as_u32(), Ok(3600));
        assert_eq!(
            Attribute::new(attr::SESSION_TIMEOUT, [1, 2, 3]).as_u32(),
            Err(ValueError::Length {
                ty: attr::SESSION_TIMEOUT,
                expected: 4,
                actual: 3
            })
        );
        let ip = Ipv4Addr::new(10, 0, 0, 5);
        assert_eq!(
            Attribute::from_ipv4(attr::FRAMED_IP_ADDRESS, ip).as_ipv4(),
            Ok(ip)
        );
        assert!(Attribute::new(8, vec![0; 5]).as_ipv4().is_err());
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(Attribute::from_ipv6(95, v6).as_ipv6(), Ok(v6));
        assert!(Attribute::new(95, vec![0; 15]).as_ipv6().is_err());
        assert!(Attribute::new(1, vec![0xff]).as_text().is_err());
        assert_eq!(Attribute::new(1, "alice").as_text(), Ok("alice"));
    }

    #[test]
    fn ipv6_prefixes() {
        let p: Ipv6Addr = "2001:db8:1:2::".parse().unwrap();
        let a = Attribute::from_ipv6_prefix(attr::FRAMED_IPV6_PREFIX, p, 64);
        // RFC 3162 §2.3: reserved, length, then 8 octets for a /64.
        assert_eq!(hex::encode(&a.value), "004020010db800010002");
        assert_eq!(a.as_ipv6_prefix(), Ok((p, 64)));
        // A sender may send all 16 octets; stray bits past the length go.
        let mut full = vec![0, 48];
        full.extend_from_slice(&"2001:db8:1:ffff::1".parse::<Ipv6Addr>().unwrap().octets());
        let a = Attribute::new(attr::FRAMED_IPV6_PREFIX, full);
        assert_eq!(
            a.as_ipv6_prefix(),
            Ok(("2001:db8:1::".parse().unwrap(), 48))
        );
        for bad in [&[0u8][..], &[0, 129], &[0, 64, 1, 2, 3], &[0u8; 19][..]] {
            assert!(Attribute::new(97, bad).as_ipv6_prefix().is_err(), "{bad:?}");
        }
        assert_eq!(
            Attribute::new(97, [0, 0]).as_ipv6_prefix(),
            Ok((Ipv6Addr::UNSPECIFIED, 0))
        );
        let a = Attribute::from_ipv6_prefix(97, Ipv6Addr::LOCALHOST, 200);
        assert_eq!(a.as_ipv6_prefix(), Ok((Ipv6Addr::LOCALHOST, 128)));
    }

    #[test]
    fn vendor_specific() {
        let a = Attribute::vendor(311, 26, b"x");
        assert_eq!(a.value, [0, 0, 1, 0x37, 26, 3, b'x']);
        assert_eq!(
            a.vsas(),
            Ok(vec![Vsa {
                vendor_id: 311,
                vendor_type: 26,
                value: b"x"
            }])
        );
        // Two sub-attributes in one Vendor-Specific.
        let two = Attribute::new(26, [0, 0, 0, 9, 1, 3, b'a', 2, 2]);
        assert_eq!(two.vsas().map(|v| v.len()), Ok(2));
        for bad in [
            &[0u8, 0, 1][..],
            &[0, 0, 1, 0x37],
            &[0, 0, 1, 0x37, 1],
            &[0, 0, 1, 0x37, 1, 1],
            &[0, 0, 1, 0x37, 1, 4, 0],
        ] {
            assert!(Attribute::new(26, bad).vsas().is_err(), "{bad:?}");
        }
        assert!(Attribute::new(1, [0, 0, 1, 0x37, 1, 2]).vsas().is_err());
    }
}
