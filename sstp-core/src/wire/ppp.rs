//! PPP frames as SSTP carries them.
//!
//! An SSTP data packet's payload is one PPP frame *without* the HDLC-like
//! framing of RFC 1662: no flag sequences, no octet stuffing and no FCS
//! (MS-SSTP 2.2.3). What remains is RFC 1661 section 2:
//!
//! ```text
//! +----------+----------+----------+-------------+
//! | Address  | Control  | Protocol | Information |
//! |   0xFF   |   0x03   | 1 or 2   |  (payload)  |
//! +----------+----------+----------+-------------+
//!   optional (ACFC, RFC 1661 6.6)
//! ```
//!
//! This module owns that header: the [`Protocol`] code space, [`Frame`] (a
//! zero-copy view whose payload borrows the input) and the header writers
//! used by the data path, which emit into headroom the caller reserved in
//! front of an IP packet ([`write_header`], [`prepend_header`]) so no packet
//! is copied.
//!
//! # Compressed forms
//!
//! The parser accepts every form for every protocol (RFC 1661 6.5 says a
//! receiver that agreed to PFC "MUST NOT distinguish" the forms; the engine
//! decides what to do with, say, an LCP frame without `FF 03`), and records
//! which form it saw in a [`HeaderForm`] so that [`Frame::emit`] reproduces
//! the input byte for byte.
//!
//! When *sending*, the engine builds the form with
//! [`HeaderForm::negotiated`] and [`HeaderForm::for_protocol`], which apply
//! the sender's rules: LCP frames always keep `FF 03` (RFC 1661 6.6: "The
//! Address and Control fields MUST NOT be compressed when sending any LCP
//! packet") and only protocol numbers below 0x100 have a 1-byte form
//! (RFC 1661 6.5).

use super::{ParseError, code_space};

code_space! {
    /// PPP Protocol field (RFC 1661 section 2; numbers from the IANA "PPP
    /// DLL Protocol Numbers" registry).
    ///
    /// Valid values have the least significant bit of the high octet clear
    /// and of the low octet set (`Protocol::is_valid`); the parser rejects
    /// others. Ranges: `0***`-`3***` network layer, `4***`-`7***` low-volume
    /// with no NCP, `8***`-`b***` network control protocols, `c***`-`f***`
    /// link-layer control protocols.
    pub struct Protocol(u16) {
        /// Internet Protocol version 4 (RFC 1332).
        IPV4 = 0x0021 => "IPv4",
        /// Van Jacobson compressed TCP/IP (RFC 1144, RFC 1332).
        VJ_COMPRESSED = 0x002D => "VJ-Compressed-TCP/IP",
        /// Van Jacobson uncompressed TCP/IP (RFC 1144, RFC 1332).
        VJ_UNCOMPRESSED = 0x002F => "VJ-Uncompressed-TCP/IP",
        /// Novell IPX.
        IPX = 0x002B => "IPX",
        /// Multilink PPP fragment (RFC 1990).
        MP = 0x003D => "MP",
        /// Encrypted datagram (ECP, RFC 1968).
        ENCRYPTED = 0x0053 => "Encrypted-Datagram",
        /// Internet Protocol version 6 (RFC 5072).
        IPV6 = 0x0057 => "IPv6",
        /// Individual-link compressed datagram (RFC 1962).
        COMPRESSED_LINK = 0x00FB => "Individual-Link-Compressed-Datagram",
        /// Compressed datagram (CCP, RFC 1962; MPPE/MPPC data).
        COMPRESSED = 0x00FD => "Compressed-Datagram",
        /// MPLS unicast (RFC 3032).
        MPLS = 0x0281 => "MPLS",
        /// IP Control Protocol (RFC 1332).
        IPCP = 0x8021 => "IPCP",
        /// IPX Control Protocol (RFC 1552).
        IPXCP = 0x802B => "IPXCP",
        /// Encryption Control Protocol (RFC 1968).
        ECP = 0x8053 => "ECP",
        /// IPv6 Control Protocol (RFC 5072).
        IPV6CP = 0x8057 => "IPv6CP",
        /// Individual-link Compression Control Protocol (RFC 1962).
        CCP_LINK = 0x80FB => "Individual-Link-CCP",
        /// Compression Control Protocol (RFC 1962; Windows negotiates MPPE in it).
        CCP = 0x80FD => "CCP",
        /// Cisco Discovery Protocol Control Protocol (Cisco peers send it).
        CDPCP = 0x8207 => "CDPCP",
        /// MPLS Control Protocol (RFC 3032).
        MPLSCP = 0x8281 => "MPLSCP",
        /// Link Control Protocol (RFC 1661).
        LCP = 0xC021 => "LCP",
        /// Password Authentication Protocol (RFC 1334).
        PAP = 0xC023 => "PAP",
        /// Link Quality Report (RFC 1989).
        LQR = 0xC025 => "LQR",
        /// Microsoft Callback Control Protocol (MS-CBCP).
        CBCP = 0xC029 => "CBCP",
        /// Bandwidth Allocation Control Protocol (RFC 2125).
        BACP = 0xC02B => "BACP",
        /// Bandwidth Allocation Protocol (RFC 2125).
        BAP = 0xC02D => "BAP",
        /// Challenge Handshake Authentication Protocol (RFC 1994).
        CHAP = 0xC223 => "CHAP",
        /// Extensible Authentication Protocol (RFC 3748).
        EAP = 0xC227 => "EAP",
    }
}

impl Protocol {
    /// Whether the value has the shape RFC 1661 section 2 requires: the low
    /// bit of the most significant octet is 0 and of the least significant
    /// octet is 1.
    pub(crate) const fn is_valid(self) -> bool {
        self.0 & 0x0100 == 0 && self.0 & 0x0001 == 1
    }

    /// Whether the value has a 1-byte form under PFC (RFC 1661 6.5): only
    /// valid values below 0x100.
    #[cfg(test)]
    pub(crate) const fn is_compressible(self) -> bool {
        self.is_valid() && self.0 < 0x100
    }

    /// `0***`-`3***`: a network-layer datagram (RFC 1661 section 2).
    #[cfg(test)]
    pub(crate) const fn is_network_layer(self) -> bool {
        self.0 < 0x4000
    }

    /// `8***`-`b***`: a network control protocol such as IPCP (RFC 1661
    /// section 2).
    #[cfg(test)]
    pub(crate) const fn is_network_control(self) -> bool {
        self.0 >= 0x8000 && self.0 < 0xC000
    }

    /// `c***`-`f***`: a link-layer control protocol such as LCP or an
    /// authentication protocol (RFC 1661 section 2).
    #[cfg(test)]
    pub(crate) const fn is_link_control(self) -> bool {
        self.0 >= 0xC000
    }

    /// Whether a frame of this protocol is a "PPP control frame" in the
    /// sense of MS-SSTP 3.1.7.1 (passed to PPP before Call Connected) rather
    /// than a data frame: network or link control protocols, `8***`-`f***`.
    pub(crate) const fn is_control(self) -> bool {
        self.0 >= 0x8000
    }
}

/// The Address and Control octets, `FF 03` (RFC 1662 3.1; RFC 1661 6.6).
pub(crate) const ADDRESS_CONTROL: [u8; 2] = [0xFF, 0x03];

/// The longest PPP header: `FF 03` and a 2-byte protocol. The data path
/// reserves this much headroom in front of each packet.
pub(crate) const MAX_HEADER_LEN: usize = 4;

/// Which optional header forms a frame uses (or should use).
///
/// Parsing records what was on the wire, so [`Frame::emit`] reproduces it.
/// For sending, build one with [`HeaderForm::negotiated`] and
/// [`HeaderForm::for_protocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct HeaderForm {
    /// The frame starts with `FF 03` (false: compressed away under ACFC,
    /// RFC 1661 6.6).
    pub address_control: bool,
    /// The protocol field is the 1-byte form (PFC, RFC 1661 6.5). Only
    /// honoured for protocols below 0x100; others always take two bytes.
    pub compressed_protocol: bool,
}

impl HeaderForm {
    /// The form every implementation must send until LCP negotiates
    /// otherwise: `FF 03` and a 2-byte protocol (RFC 1661 6.5, 6.6).
    pub(crate) const UNCOMPRESSED: Self = Self {
        address_control: true,
        compressed_protocol: false,
    };

    /// The form allowed once the *peer* has asked for (and we have Acked)
    /// Address-and-Control-Field-Compression (`acfc`, LCP option 8) and
    /// Protocol-Field-Compression (`pfc`, LCP option 7): those options
    /// announce what their sender can *receive* (RFC 1661 6.5, 6.6).
    ///
    /// Apply [`for_protocol`](Self::for_protocol) before use.
    #[cfg(test)]
    pub(crate) const fn negotiated(acfc: bool, pfc: bool) -> Self {
        Self {
            address_control: !acfc,
            compressed_protocol: pfc,
        }
    }

    /// Narrows this form to what may be sent for `protocol`:
    ///
    /// - LCP keeps `FF 03` (RFC 1661 6.6), so a peer that lost the ACFC
    ///   agreement still recognises LCP.
    /// - Only values below 0x100 are compressed (RFC 1661 6.5).
    /// - 0x00FF is never compressed without `FF 03`: its 1-byte form `FF`
    ///   followed by a payload starting `03` would read back as the
    ///   Address/Control field (RFC 1661 section 2 lists 0x00FF as
    ///   "reserved (compression inefficient)").
    ///
    /// The result is exactly the form [`Frame::parse`] reports for the
    /// emitted frame.
    #[cfg(test)]
    pub(crate) const fn for_protocol(self, protocol: Protocol) -> Self {
        let address_control = self.address_control || protocol.0 == Protocol::LCP.0;
        let compressed_protocol = self.compressed_protocol
            && protocol.0 < 0x100
            && (address_control || protocol.0 != 0x00FF);
        Self {
            address_control,
            compressed_protocol,
        }
    }

    /// The header length this form gives `protocol`: 1 to 4 bytes.
    pub(crate) const fn header_len(self, protocol: Protocol) -> usize {
        let address_control = if self.address_control { 2 } else { 0 };
        let protocol_field = if self.uses_short_protocol(protocol) {
            1
        } else {
            2
        };
        address_control + protocol_field
    }

    const fn uses_short_protocol(self, protocol: Protocol) -> bool {
        self.compressed_protocol && protocol.0 < 0x100
    }
}

impl Default for HeaderForm {
    fn default() -> Self {
        Self::UNCOMPRESSED
    }
}

/// A caller-supplied buffer is too small for the header (an API misuse,
/// never caused by peer data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PPP header: buffer too short (need {needed} bytes, have {available})")]
pub(crate) struct BufferTooShort {
    /// Bytes the header needs.
    pub needed: usize,
    /// Bytes the buffer offered.
    pub available: usize,
}

/// The header length of `protocol` in `form`; same as
/// [`HeaderForm::header_len`].
pub(crate) const fn header_len(protocol: Protocol, form: HeaderForm) -> usize {
    form.header_len(protocol)
}

/// Writes the PPP header for `protocol` in `form` at the start of `dst` and
/// returns its length ([`header_len`]). `dst` may be longer; the rest is
/// untouched.
pub(crate) fn write_header(
    dst: &mut [u8],
    protocol: Protocol,
    form: HeaderForm,
) -> Result<usize, BufferTooShort> {
    let mut header = [0u8; MAX_HEADER_LEN];
    let len = fill_header(&mut header, protocol, form);
    let too_short = BufferTooShort {
        needed: len,
        available: dst.len(),
    };
    let (src, out) = header.get(..len).zip(dst.get_mut(..len)).ok_or(too_short)?;
    out.copy_from_slice(src);
    Ok(len)
}

/// Writes the header for `protocol` in `form` into the headroom that ends at
/// `payload_start` in `buf` (the payload already sits at
/// `buf[payload_start..]`) and returns where the frame now starts.
///
/// This is the data path's zero-copy encapsulation: reserve
/// [`MAX_HEADER_LEN`] bytes (plus the SSTP header) in front of the packet,
/// then send `buf[returned..]`.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn prepend_header(
    buf: &mut [u8],
    payload_start: usize,
    protocol: Protocol,
    form: HeaderForm,
) -> Result<usize, BufferTooShort> {
    let len = header_len(protocol, form);
    let too_short = BufferTooShort {
        needed: len,
        available: payload_start.min(buf.len()),
    };
    let start = payload_start.checked_sub(len).ok_or(too_short)?;
    let dst = buf.get_mut(start..payload_start).ok_or(too_short)?;
    write_header(dst, protocol, form)?;
    Ok(start)
}

/// Fills `header` and returns the length used.
fn fill_header(header: &mut [u8; MAX_HEADER_LEN], protocol: Protocol, form: HeaderForm) -> usize {
    let [hi, lo] = protocol.0.to_be_bytes();
    let short = form.uses_short_protocol(protocol);
    let (bytes, len): ([u8; MAX_HEADER_LEN], usize) = match (form.address_control, short) {
        (true, false) => ([0xFF, 0x03, hi, lo], 4),
        (true, true) => ([0xFF, 0x03, lo, 0], 3),
        (false, false) => ([hi, lo, 0, 0], 2),
        (false, true) => ([lo, 0, 0, 0], 1),
    };
    *header = bytes;
    len
}

/// One PPP frame (RFC 1661 section 2) as carried in an SSTP data packet
/// (MS-SSTP 2.2.3), borrowing its payload from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    /// Protocol field (RFC 1661 section 2): what the payload is.
    pub protocol: Protocol,
    /// Which optional forms the header uses.
    pub form: HeaderForm,
    /// Information field (RFC 1661 section 2). Any padding the sender added
    /// stays here; the protocol's own length field says where data ends.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parses one whole frame; everything after the header is the payload.
    ///
    /// `FF 03` at the start is always the Address/Control field (RFC 1661
    /// 6.6: "If they contain the values 0xff and 0x03, they are assumed to
    /// be the Address and Control fields"). Next, an odd first octet is a
    /// 1-byte protocol field and an even one starts a 2-byte field (RFC 1661
    /// 6.5, the ISO 3309 extension bit). A protocol value that is not
    /// `Protocol::is_valid` is [`ParseError::InvalidValue`].
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        const WHAT: &str = "PPP frame";
        let (address_control, rest) = match bytes.split_first_chunk::<2>() {
            Some((&ADDRESS_CONTROL, rest)) => (true, rest),
            _ => (false, bytes),
        };
        let consumed = bytes.len() - rest.len();
        let (&first, after_first) =
            rest.split_first()
                .ok_or(ParseError::truncated(WHAT, consumed + 1, bytes.len()))?;
        let (protocol, compressed_protocol, payload) = if first & 1 == 1 {
            (Protocol(u16::from(first)), true, after_first)
        } else {
            let (&second, payload) = after_first.split_first().ok_or(ParseError::truncated(
                WHAT,
                consumed + 2,
                bytes.len(),
            ))?;
            (
                Protocol(u16::from_be_bytes([first, second])),
                false,
                payload,
            )
        };
        if !protocol.is_valid() {
            return Err(ParseError::InvalidValue {
                what: "PPP protocol field",
                value: u32::from(protocol.0),
            });
        }
        Ok(Self {
            protocol,
            form: HeaderForm {
                address_control,
                compressed_protocol,
            },
            payload,
        })
    }

    /// Length of this frame's header (1 to [`MAX_HEADER_LEN`] bytes).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn header_len(&self) -> usize {
        self.form.header_len(self.protocol)
    }

    /// Appends the frame: header, then payload.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        let mut header = [0u8; MAX_HEADER_LEN];
        let len = fill_header(&mut header, self.protocol, self.form);
        out.extend_from_slice(header.get(..len).unwrap_or_default());
        out.extend_from_slice(self.payload);
    }

    /// Bytes [`emit`](Self::emit) appends.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// LCP Configure-Request as pppd sends it, bytes from the trace in
    /// ppp-project/ppp#78 with the HDLC framing removed (MS-SSTP 2.2.3 has
    /// none): `FF 03 C0 21`, then the LCP packet.
    const LCP_FULL: [u8; 24] = [
        0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x14, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x05,
        0x06, 0x93, 0x0F, 0x02, 0x22, 0x07, 0x02, 0x08, 0x02,
    ];

    /// An IPv4 packet start under ACFC + PFC (RFC 1661 6.5, 6.6): 1-byte
    /// protocol `21`, no `FF 03`.
    const IPV4_COMPRESSED: [u8; 5] = [0x21, 0x45, 0x00, 0x00, 0x54];

    #[test]
    fn parse_uncompressed_lcp() {
        let f = Frame::parse(&LCP_FULL).unwrap();
        assert_eq!(f.protocol, Protocol::LCP);
        assert_eq!(f.form, HeaderForm::UNCOMPRESSED);
        assert_eq!(f.payload, &LCP_FULL[4..]);
        assert_eq!(f.header_len(), 4);
    }

    #[test]
    fn parse_fully_compressed_ipv4() {
        let f = Frame::parse(&IPV4_COMPRESSED).unwrap();
        assert_eq!(f.protocol, Protocol::IPV4);
        assert_eq!(
            f.form,
            HeaderForm {
                address_control: false,
                compressed_protocol: true
            }
        );
        assert_eq!(f.payload, &[0x45, 0x00, 0x00, 0x54]);
    }

    #[test]
    fn parse_all_four_forms_of_ipv4() {
        let cases: [(&[u8], bool, bool); 4] = [
            (&[0xFF, 0x03, 0x00, 0x21, 0x45], true, false),
            (&[0xFF, 0x03, 0x21, 0x45], true, true),
            (&[0x00, 0x21, 0x45], false, false),
            (&[0x21, 0x45], false, true),
        ];
        for (bytes, ac, pc) in cases {
            let f = Frame::parse(bytes).unwrap();
            assert_eq!(f.protocol, Protocol::IPV4, "{bytes:02x?}");
            assert_eq!(f.form.address_control, ac);
            assert_eq!(f.form.compressed_protocol, pc);
            assert_eq!(f.payload, &[0x45]);
            let mut out = Vec::new();
            f.emit(&mut out);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn lcp_without_address_control_is_accepted() {
        // RFC 1661 6.6 forbids *sending* it; the engine decides what to do.
        let f = Frame::parse(&LCP_FULL[2..]).unwrap();
        assert_eq!(f.protocol, Protocol::LCP);
        assert!(!f.form.address_control);
        assert!(!f.form.compressed_protocol);
    }

    #[test]
    fn header_only_frame_has_empty_payload() {
        let f = Frame::parse(&[0xFF, 0x03, 0x80, 0x21]).unwrap();
        assert_eq!(f.protocol, Protocol::IPCP);
        assert!(f.payload.is_empty());
    }

    #[test]
    fn ff_without_03_is_compressed_protocol_00ff() {
        // RFC 1661 6.6: only `FF 03` is Address/Control; a lone odd `FF` is
        // a 1-byte protocol field.
        let f = Frame::parse(&[0xFF, 0x21]).unwrap();
        assert_eq!(f.protocol, Protocol(0x00FF));
        assert!(!f.form.address_control);
        assert!(f.form.compressed_protocol);
        assert_eq!(f.payload, &[0x21]);
    }

    #[test]
    fn reject_invalid_protocol_values() {
        // Even low octet (RFC 1661 section 2).
        assert_eq!(
            Frame::parse(&[0xFF, 0x03, 0xC0, 0x20]),
            Err(ParseError::InvalidValue {
                what: "PPP protocol field",
                value: 0xC020
            })
        );
        // An odd high octet never reaches the check (an odd first octet is
        // read as a 1-byte field); `00 00` fails on its even low octet.
        assert!(matches!(
            Frame::parse(&[0x00, 0x00]),
            Err(ParseError::InvalidValue { value: 0, .. })
        ));
        assert!(!Protocol(0x0121).is_valid());
        assert!(!Protocol(0x0020).is_valid());
        assert!(Protocol(0x0021).is_valid());
    }

    #[test]
    fn truncated_at_every_length() {
        assert_eq!(
            Frame::parse(&[]),
            Err(ParseError::truncated("PPP frame", 1, 0))
        );
        assert_eq!(
            Frame::parse(&[0xFF, 0x03]),
            Err(ParseError::truncated("PPP frame", 3, 2))
        );
        assert_eq!(
            Frame::parse(&[0xFF, 0x03, 0xC0]),
            Err(ParseError::truncated("PPP frame", 4, 3))
        );
        assert_eq!(
            Frame::parse(&[0xC0]),
            Err(ParseError::truncated("PPP frame", 2, 1))
        );
        // Every prefix of a valid frame either parses or is truncated; none
        // panics.
        for n in 0..LCP_FULL.len() {
            let r = Frame::parse(&LCP_FULL[..n]);
            match n {
                // A lone `FF` is the 1-byte protocol 0x00FF (RFC 1661 6.6).
                1 => assert_eq!(r.unwrap().protocol, Protocol(0x00FF)),
                0 | 2 | 3 => assert!(matches!(r, Err(ParseError::Truncated { .. })), "{n}"),
                _ => assert_eq!(r.unwrap().protocol, Protocol::LCP),
            }
        }
    }

    #[test]
    fn emit_reproduces_input() {
        for bytes in [&LCP_FULL[..], &IPV4_COMPRESSED[..], &LCP_FULL[2..]] {
            let f = Frame::parse(bytes).unwrap();
            let mut out = Vec::new();
            f.emit(&mut out);
            assert_eq!(out, bytes);
            assert_eq!(f.buffer_len(), bytes.len());
        }
    }

    #[test]
    fn for_protocol_keeps_address_control_on_lcp() {
        let all = HeaderForm::negotiated(true, true);
        assert_eq!(
            all,
            HeaderForm {
                address_control: false,
                compressed_protocol: true
            }
        );
        assert_eq!(all.for_protocol(Protocol::LCP), HeaderForm::UNCOMPRESSED);
        assert_eq!(
            all.for_protocol(Protocol::IPV4).header_len(Protocol::IPV4),
            1
        );
        assert_eq!(
            all.for_protocol(Protocol::IPCP).header_len(Protocol::IPCP),
            2
        );
        assert!(!all.for_protocol(Protocol::IPCP).compressed_protocol);
        // 0x00FF would collide with `FF 03`.
        assert!(!all.for_protocol(Protocol(0x00FF)).compressed_protocol);
        assert!(
            HeaderForm::negotiated(false, true)
                .for_protocol(Protocol(0x00FF))
                .compressed_protocol
        );
        assert_eq!(
            HeaderForm::negotiated(false, false),
            HeaderForm::UNCOMPRESSED
        );
    }

    #[test]
    fn compressed_flag_ignored_for_two_byte_protocols() {
        let form = HeaderForm {
            address_control: true,
            compressed_protocol: true,
        };
        let mut out = Vec::new();
        Frame {
            protocol: Protocol::IPCP,
            form,
            payload: &[1],
        }
        .emit(&mut out);
        assert_eq!(out, [0xFF, 0x03, 0x80, 0x21, 0x01]);
    }

    #[test]
    fn write_header_all_forms() {
        let mut buf = [0xAAu8; 6];
        let n = write_header(&mut buf, Protocol::IPV6, HeaderForm::UNCOMPRESSED).unwrap();
        assert_eq!(n, 4);
        assert_eq!(buf, [0xFF, 0x03, 0x00, 0x57, 0xAA, 0xAA]);
        let n = write_header(&mut buf, Protocol::IPV6, HeaderForm::negotiated(true, true)).unwrap();
        assert_eq!(n, 1);
        assert_eq!(buf[0], 0x57);
        let n = write_header(
            &mut buf,
            Protocol::IPV6,
            HeaderForm::negotiated(false, true),
        )
        .unwrap();
        assert_eq!(&buf[..n], &[0xFF, 0x03, 0x57]);
        let n = write_header(
            &mut buf,
            Protocol::IPV6,
            HeaderForm::negotiated(true, false),
        )
        .unwrap();
        assert_eq!(&buf[..n], &[0x00, 0x57]);
    }

    #[test]
    fn write_header_short_buffer_is_an_error() {
        let mut buf = [0u8; 3];
        assert_eq!(
            write_header(&mut buf, Protocol::LCP, HeaderForm::UNCOMPRESSED),
            Err(BufferTooShort {
                needed: 4,
                available: 3
            })
        );
        assert_eq!(buf, [0, 0, 0]);
    }

    #[test]
    fn prepend_header_into_headroom() {
        // 4 bytes of headroom, then an IPv6 payload.
        let mut buf = [0u8, 0, 0, 0, 0x60, 0x00];
        let start = prepend_header(&mut buf, 4, Protocol::IPV6, HeaderForm::UNCOMPRESSED).unwrap();
        assert_eq!(start, 0);
        let f = Frame::parse(&buf[start..]).unwrap();
        assert_eq!(f.protocol, Protocol::IPV6);
        assert_eq!(f.payload, &[0x60, 0x00]);

        let start = prepend_header(
            &mut buf,
            4,
            Protocol::IPV6,
            HeaderForm::negotiated(true, true),
        )
        .unwrap();
        assert_eq!(start, 3);
        assert_eq!(&buf[3..], &[0x57, 0x60, 0x00]);

        assert_eq!(
            prepend_header(&mut buf, 2, Protocol::IPV6, HeaderForm::UNCOMPRESSED),
            Err(BufferTooShort {
                needed: 4,
                available: 2
            })
        );
        assert!(prepend_header(&mut buf, 9, Protocol::IPV6, HeaderForm::UNCOMPRESSED).is_err());
    }

    #[test]
    fn protocol_names_and_classes() {
        assert_eq!(Protocol::CCP.name(), Some("CCP"));
        assert_eq!(format!("{:?}", Protocol(0x4021)), "Protocol(0x4021)");
        assert!(Protocol::IPV4.is_network_layer());
        assert!(Protocol::IPCP.is_network_control());
        assert!(Protocol::CHAP.is_link_control());
        assert!(Protocol::IPCP.is_control() && Protocol::EAP.is_control());
        assert!(!Protocol::IPV6.is_control() && !Protocol::COMPRESSED.is_control());
        assert!(Protocol::IPV4.is_compressible());
        assert!(!Protocol::LCP.is_compressible());
        for p in [
            Protocol::IPV4,
            Protocol::IPV6,
            Protocol::LCP,
            Protocol::PAP,
            Protocol::CHAP,
            Protocol::EAP,
            Protocol::IPCP,
            Protocol::IPV6CP,
            Protocol::CCP,
            Protocol::ECP,
            Protocol::MP,
            Protocol::VJ_COMPRESSED,
            Protocol::VJ_UNCOMPRESSED,
            Protocol::LQR,
            Protocol::BACP,
            Protocol::BAP,
            Protocol::CBCP,
            Protocol::CDPCP,
        ] {
            assert!(p.is_valid(), "{p:?}");
        }
    }

    fn valid_protocol() -> impl Strategy<Value = Protocol> {
        any::<u16>().prop_map(|v| Protocol((v & !0x0100) | 1))
    }

    proptest! {
        #[test]
        fn roundtrip_sending_forms(
            protocol in valid_protocol(),
            acfc: bool,
            pfc: bool,
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let form = HeaderForm::negotiated(acfc, pfc).for_protocol(protocol);
            let frame = Frame { protocol, form, payload: &payload };
            let mut out = Vec::new();
            frame.emit(&mut out);
            prop_assert_eq!(out.len(), frame.buffer_len());
            prop_assert_eq!(Frame::parse(&out), Ok(frame));

            // The headroom writer gives the same bytes.
            let mut buf = vec![0u8; MAX_HEADER_LEN];
            buf.extend_from_slice(&payload);
            let start = prepend_header(&mut buf, MAX_HEADER_LEN, protocol, form).unwrap();
            prop_assert_eq!(&buf[start..], &out[..]);
        }

        #[test]
        fn parse_never_panics_and_emit_is_exact(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(f) = Frame::parse(&bytes) {
                let mut out = Vec::new();
                f.emit(&mut out);
                prop_assert_eq!(out, bytes);
            }
        }
    }
}
