//! The control-protocol packet shared by LCP (RFC 1661 section 5), IPCP
//! (RFC 1332) and IPv6CP (RFC 5072), and the Configuration Option TLVs their
//! Configure-* packets carry (RFC 1661 section 6).
//!
//! ```text
//! +--------+------------+-------------+----------------+
//! |  Code  | Identifier |   Length    |  Data ...      |
//! |  u8    |    u8      | u16 (incl.) |                |
//! +--------+------------+-------------+----------------+
//! ```
//!
//! [`CpPacket`] is a zero-copy view of one packet; its [`Body`] borrows the
//! input. Which codes exist depends on the protocol ([`ControlProtocol`]):
//! IPCP and IPv6CP only have codes 1 to 7, so an Echo-Request code on IPCP
//! parses as [`Body::Unknown`], which the engine answers with Code-Reject
//! (RFC 1661 5.6).
//!
//! # Padding
//!
//! RFC 1661 section 5: "Octets outside the range of the Length field are
//! treated as padding and are ignored on reception." [`CpPacket::parse`]
//! therefore accepts bytes after Length and drops them; they are not an
//! error. [`CpPacket::emit`] writes exactly Length bytes, so a round trip
//! compares the parsed value, not the input bytes.
//!
//! # Option lists
//!
//! [`OptionList`] is a byte string checked to be a sequence of well-formed
//! TLVs (type u8, length u8 including both, length >= 2, RFC 1661 section
//! 6). A list with a bad TLV makes the whole packet fail to parse: RFC 1661
//! says such a packet is silently discarded. The typed views of the options
//! live in [`super::options`].

use nom::Parser;
use nom::number::complete::{be_u8, be_u16, be_u32};

#[cfg(any(test, feature = "fuzzing"))]
use super::options::ConfigOption;
use super::ppp::Protocol;
use super::{ParseError, code_space, nom_truncated};

code_space! {
    /// Control-protocol packet Code (RFC 1661 section 5; 12 and 13 from
    /// RFC 1570 section 1, LCP only).
    pub struct Code(u8) {
        /// RFC 1661 5.1
        CONFIGURE_REQUEST = 1 => "Configure-Request",
        /// RFC 1661 5.2
        CONFIGURE_ACK = 2 => "Configure-Ack",
        /// RFC 1661 5.3
        CONFIGURE_NAK = 3 => "Configure-Nak",
        /// RFC 1661 5.4
        CONFIGURE_REJECT = 4 => "Configure-Reject",
        /// RFC 1661 5.5
        TERMINATE_REQUEST = 5 => "Terminate-Request",
        /// RFC 1661 5.5
        TERMINATE_ACK = 6 => "Terminate-Ack",
        /// RFC 1661 5.6
        CODE_REJECT = 7 => "Code-Reject",
        /// RFC 1661 5.7 (LCP only)
        PROTOCOL_REJECT = 8 => "Protocol-Reject",
        /// RFC 1661 5.8 (LCP only)
        ECHO_REQUEST = 9 => "Echo-Request",
        /// RFC 1661 5.8 (LCP only)
        ECHO_REPLY = 10 => "Echo-Reply",
        /// RFC 1661 5.9 (LCP only)
        DISCARD_REQUEST = 11 => "Discard-Request",
        /// RFC 1570 1.1 (LCP only; Windows sends it after LCP opens)
        IDENTIFICATION = 12 => "Identification",
        /// RFC 1570 1.2 (LCP only)
        TIME_REMAINING = 13 => "Time-Remaining",
    }
}

/// Which control protocol a packet belongs to; decides which codes exist.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ControlProtocol {
    /// Link Control Protocol (RFC 1661, RFC 1570): codes 1 to 13.
    Lcp,
    /// IP Control Protocol (RFC 1332 section 2): codes 1 to 7.
    Ipcp,
    /// IPv6 Control Protocol (RFC 5072 section 3): codes 1 to 7.
    Ipv6cp,
}

impl ControlProtocol {
    /// The PPP protocol number that carries this control protocol.
    pub(crate) const fn protocol(self) -> Protocol {
        match self {
            Self::Lcp => Protocol::LCP,
            Self::Ipcp => Protocol::IPCP,
            Self::Ipv6cp => Protocol::IPV6CP,
        }
    }

    /// The control protocol a PPP protocol number carries, if it is one of
    /// ours.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn from_protocol(protocol: Protocol) -> Option<Self> {
        match protocol {
            Protocol::LCP => Some(Self::Lcp),
            Protocol::IPCP => Some(Self::Ipcp),
            Protocol::IPV6CP => Some(Self::Ipv6cp),
            _ => None,
        }
    }

    /// Whether `code` is defined for this protocol; other codes parse as
    /// [`Body::Unknown`] and call for a Code-Reject (RFC 1661 5.6).
    pub(crate) const fn has_code(self, code: Code) -> bool {
        match self {
            Self::Lcp => code.0 >= 1 && code.0 <= 13,
            Self::Ipcp | Self::Ipv6cp => code.0 >= 1 && code.0 <= 7,
        }
    }
}

/// Length of the Code, Identifier and Length fields (RFC 1661 section 5).
pub(crate) const HEADER_LEN: usize = 4;

/// The largest packet the 16-bit Length field can describe.
pub(crate) const MAX_PACKET_LEN: usize = u16::MAX as usize;

/// One control-protocol packet (RFC 1661 section 5), borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpPacket<'a> {
    /// Identifier (RFC 1661 section 5): matches replies to requests.
    pub identifier: u8,
    /// Code and data.
    pub body: Body<'a>,
}

/// A packet's Code with its code-specific data.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// Code 1 (RFC 1661 5.1): the options the sender wants.
    ConfigureRequest(OptionList<'a>),
    /// Code 2 (RFC 1661 5.2): the whole request, acknowledged.
    ConfigureAck(OptionList<'a>),
    /// Code 3 (RFC 1661 5.3): acceptable values for unacceptable options.
    ConfigureNak(OptionList<'a>),
    /// Code 4 (RFC 1661 5.4): the options refused, byte for byte.
    ConfigureReject(OptionList<'a>),
    /// Code 5 (RFC 1661 5.5): Data is uninterpreted (often a reason text).
    TerminateRequest {
        /// Data, uninterpreted.
        data: &'a [u8],
    },
    /// Code 6 (RFC 1661 5.5).
    TerminateAck {
        /// Data, uninterpreted.
        data: &'a [u8],
    },
    /// Code 7 (RFC 1661 5.6).
    CodeReject {
        /// The rejected packet from its Code field on, truncated by the
        /// sender to fit its MRU.
        rejected: &'a [u8],
    },
    /// Code 8 (RFC 1661 5.7, LCP only); Length >= 6.
    ProtocolReject {
        /// Rejected-Protocol: the PPP protocol field of the rejected frame,
        /// as received (it need not be a valid protocol number).
        protocol: Protocol,
        /// Rejected-Information: the rejected frame's payload, truncated.
        information: &'a [u8],
    },
    /// Code 9 (RFC 1661 5.8, LCP only); Length >= 8.
    EchoRequest {
        /// Magic-Number of the sender, or 0 if none was negotiated.
        magic: u32,
        /// Data, uninterpreted; a reply echoes it.
        data: &'a [u8],
    },
    /// Code 10 (RFC 1661 5.8, LCP only); Length >= 8.
    EchoReply {
        /// Magic-Number of the sender, or 0 if none was negotiated.
        magic: u32,
        /// Data: a copy of the request's.
        data: &'a [u8],
    },
    /// Code 11 (RFC 1661 5.9, LCP only); Length >= 8.
    DiscardRequest {
        /// Magic-Number of the sender, or 0 if none was negotiated.
        magic: u32,
        /// Data, uninterpreted.
        data: &'a [u8],
    },
    /// Code 12 (RFC 1570 1.1, LCP only); Length >= 8.
    Identification {
        /// Magic-Number of the sender, or 0 if none was negotiated.
        magic: u32,
        /// Message: free text such as `MSRASV5.20`.
        message: &'a [u8],
    },
    /// Code 13 (RFC 1570 1.2, LCP only); Length >= 12.
    TimeRemaining {
        /// Magic-Number of the sender, or 0 if none was negotiated.
        magic: u32,
        /// Seconds-Remaining; 0xFFFFFFFF means no limit.
        seconds: u32,
        /// Message: free text.
        message: &'a [u8],
    },
    /// A code this protocol does not define (RFC 1661 5.6: answer with
    /// Code-Reject), with its data kept raw.
    Unknown {
        /// The Code field.
        code: Code,
        /// Everything after the header, up to Length.
        data: &'a [u8],
    },
}

impl<'a> CpPacket<'a> {
    /// Parses one packet of protocol `cp` from the start of `bytes` (a PPP
    /// frame's payload).
    ///
    /// Length must be at least [`HEADER_LEN`] and at most `bytes.len()`;
    /// octets after Length are padding and are ignored (RFC 1661 section 5).
    /// Codes with fixed fields check their minimum Length (Protocol-Reject
    /// 6, Echo/Discard 8, Identification 8, Time-Remaining 12), and
    /// Configure-* option lists must be well-formed TLVs.
    pub(crate) fn parse(bytes: &'a [u8], cp: ControlProtocol) -> Result<Self, ParseError> {
        const WHAT: &str = "control protocol packet";
        let (rest, (code, identifier, length)) = (be_u8, be_u8, be_u16)
            .parse(bytes)
            .map_err(nom_truncated(WHAT, HEADER_LEN, bytes.len()))?;
        let length = usize::from(length);
        if length < HEADER_LEN || length > bytes.len() {
            return Err(ParseError::BadLength { what: WHAT, length });
        }
        let data = rest
            .get(..length - HEADER_LEN)
            .ok_or(ParseError::BadLength { what: WHAT, length })?;
        let body = Body::parse(Code(code), data, cp)?;
        Ok(Self { identifier, body })
    }

    /// The Code field.
    #[cfg(test)]
    pub(crate) const fn code(&self) -> Code {
        self.body.code()
    }

    /// The option list of a Configure-Request/Ack/Nak/Reject.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn options(&self) -> Option<OptionList<'a>> {
        match self.body {
            Body::ConfigureRequest(l)
            | Body::ConfigureAck(l)
            | Body::ConfigureNak(l)
            | Body::ConfigureReject(l) => Some(l),
            _ => None,
        }
    }

    /// Appends the packet: header with Length, then data.
    ///
    /// A packet longer than [`MAX_PACKET_LEN`] cannot be described by the
    /// Length field; its data is cut to fit (only a constructed value can be
    /// that long: parsed ones never are).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.body.code().0);
        out.push(self.identifier);
        out.extend_from_slice(&[0, 0]);
        self.body.emit_data(out);
        out.truncate(start.saturating_add(MAX_PACKET_LEN));
        let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
        if let Some(field) = out.get_mut(start + 2..start + 4) {
            field.copy_from_slice(&len.to_be_bytes());
        }
    }

    /// Bytes [`emit`](Self::emit) appends (the Length field's value).
    pub(crate) fn buffer_len(&self) -> usize {
        HEADER_LEN
            .saturating_add(self.body.data_len())
            .min(MAX_PACKET_LEN)
    }
}

impl<'a> Body<'a> {
    fn parse(code: Code, data: &'a [u8], cp: ControlProtocol) -> Result<Self, ParseError> {
        if !cp.has_code(code) {
            return Ok(Self::Unknown { code, data });
        }
        let packet_len = data.len() + HEADER_LEN;
        Ok(match code {
            Code::CONFIGURE_REQUEST => Self::ConfigureRequest(OptionList::parse(data)?),
            Code::CONFIGURE_ACK => Self::ConfigureAck(OptionList::parse(data)?),
            Code::CONFIGURE_NAK => Self::ConfigureNak(OptionList::parse(data)?),
            Code::CONFIGURE_REJECT => Self::ConfigureReject(OptionList::parse(data)?),
            Code::TERMINATE_REQUEST => Self::TerminateRequest { data },
            Code::TERMINATE_ACK => Self::TerminateAck { data },
            Code::CODE_REJECT => Self::CodeReject { rejected: data },
            Code::PROTOCOL_REJECT => {
                let (information, protocol) = be_u16
                    .parse(data)
                    .map_err(bad_length("Protocol-Reject", packet_len))?;
                Self::ProtocolReject {
                    protocol: Protocol(protocol),
                    information,
                }
            }
            Code::ECHO_REQUEST | Code::ECHO_REPLY | Code::DISCARD_REQUEST => {
                let (data, magic) = be_u32
                    .parse(data)
                    .map_err(bad_length(code_name(code), packet_len))?;
                match code {
                    Code::ECHO_REQUEST => Self::EchoRequest { magic, data },
                    Code::ECHO_REPLY => Self::EchoReply { magic, data },
                    _ => Self::DiscardRequest { magic, data },
                }
            }
            Code::IDENTIFICATION => {
                let (message, magic) = be_u32
                    .parse(data)
                    .map_err(bad_length("Identification", packet_len))?;
                Self::Identification { magic, message }
            }
            Code::TIME_REMAINING => {
                let (message, (magic, seconds)) = (be_u32, be_u32)
                    .parse(data)
                    .map_err(bad_length("Time-Remaining", packet_len))?;
                Self::TimeRemaining {
                    magic,
                    seconds,
                    message,
                }
            }
            _ => Self::Unknown { code, data },
        })
    }

    /// The Code field for this body.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn code(&self) -> Code {
        match self {
            Self::ConfigureRequest(_) => Code::CONFIGURE_REQUEST,
            Self::ConfigureAck(_) => Code::CONFIGURE_ACK,
            Self::ConfigureNak(_) => Code::CONFIGURE_NAK,
            Self::ConfigureReject(_) => Code::CONFIGURE_REJECT,
            Self::TerminateRequest { .. } => Code::TERMINATE_REQUEST,
            Self::TerminateAck { .. } => Code::TERMINATE_ACK,
            Self::CodeReject { .. } => Code::CODE_REJECT,
            Self::ProtocolReject { .. } => Code::PROTOCOL_REJECT,
            Self::EchoRequest { .. } => Code::ECHO_REQUEST,
            Self::EchoReply { .. } => Code::ECHO_REPLY,
            Self::DiscardRequest { .. } => Code::DISCARD_REQUEST,
            Self::Identification { .. } => Code::IDENTIFICATION,
            Self::TimeRemaining { .. } => Code::TIME_REMAINING,
            Self::Unknown { code, .. } => *code,
        }
    }

    #[cfg(any(test, feature = "fuzzing"))]
    fn emit_data(&self, out: &mut Vec<u8>) {
        match *self {
            Self::ConfigureRequest(l)
            | Self::ConfigureAck(l)
            | Self::ConfigureNak(l)
            | Self::ConfigureReject(l) => out.extend_from_slice(l.as_bytes()),
            Self::TerminateRequest { data }
            | Self::TerminateAck { data }
            | Self::CodeReject { rejected: data }
            | Self::Unknown { data, .. } => out.extend_from_slice(data),
            Self::ProtocolReject {
                protocol,
                information,
            } => {
                out.extend_from_slice(&protocol.0.to_be_bytes());
                out.extend_from_slice(information);
            }
            Self::EchoRequest { magic, data }
            | Self::EchoReply { magic, data }
            | Self::DiscardRequest { magic, data }
            | Self::Identification {
                magic,
                message: data,
            } => {
                out.extend_from_slice(&magic.to_be_bytes());
                out.extend_from_slice(data);
            }
            Self::TimeRemaining {
                magic,
                seconds,
                message,
            } => {
                out.extend_from_slice(&magic.to_be_bytes());
                out.extend_from_slice(&seconds.to_be_bytes());
                out.extend_from_slice(message);
            }
        }
    }

    fn data_len(&self) -> usize {
        match *self {
            Self::ConfigureRequest(l)
            | Self::ConfigureAck(l)
            | Self::ConfigureNak(l)
            | Self::ConfigureReject(l) => l.as_bytes().len(),
            Self::TerminateRequest { data }
            | Self::TerminateAck { data }
            | Self::CodeReject { rejected: data }
            | Self::Unknown { data, .. } => data.len(),
            Self::ProtocolReject { information, .. } => information.len().saturating_add(2),
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DiscardRequest { data, .. }
            | Self::Identification { message: data, .. } => data.len().saturating_add(4),
            Self::TimeRemaining { message, .. } => message.len().saturating_add(8),
        }
    }
}

fn code_name(code: Code) -> &'static str {
    code.name().unwrap_or("control protocol packet")
}

/// A too-short body for a code with fixed fields is a Length that is too
/// small for the code.
fn bad_length(
    what: &'static str,
    length: usize,
) -> impl FnOnce(nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    move |_| ParseError::BadLength { what, length }
}

/// A Configure-* packet's option list: bytes known to be a sequence of
/// well-formed Configuration Option TLVs (RFC 1661 section 6).
///
/// The only way to get one is [`OptionList::parse`], so iterating never
/// fails. Emitting a typed list ([`ConfigOption::emit_list`]) and parsing
/// the result is how the engine builds one.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OptionList<'a>(&'a [u8]);

impl<'a> OptionList<'a> {
    /// The empty list (a Configure-Request with no options is legal).
    #[cfg(test)]
    pub(crate) const EMPTY: Self = Self(&[]);

    /// Checks that `bytes` is exactly a sequence of option TLVs: each has a
    /// Length of at least 2 that stays within `bytes` (RFC 1661 section 6).
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_, tail) = split_option(rest)?;
            rest = tail;
        }
        Ok(Self(bytes))
    }

    /// The list's wire bytes.
    pub(crate) const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the list holds no options.
    pub(crate) const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The options in order, as raw TLVs.
    pub(crate) fn iter(&self) -> RawOptions<'a> {
        RawOptions(self.0)
    }

    /// The options in order, typed for one protocol ([`super::options`]).
    /// At most one entry per two input bytes.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn typed<T: ConfigOption>(&self) -> Vec<T> {
        self.iter().map(T::from_raw).collect()
    }
}

impl core::fmt::Debug for OptionList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for OptionList<'a> {
    type Item = RawOption<'a>;
    type IntoIter = RawOptions<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Splits the first option TLV off `bytes`.
fn split_option(bytes: &[u8]) -> Result<(RawOption<'_>, &[u8]), ParseError> {
    const WHAT: &str = "configuration option";
    let (_, (_, length)) =
        (be_u8, be_u8)
            .parse(bytes)
            .map_err(nom_truncated(WHAT, 2, bytes.len()))?;
    let length = usize::from(length);
    if length < 2 {
        return Err(ParseError::BadLength { what: WHAT, length });
    }
    let (raw, rest) =
        bytes
            .split_at_checked(length)
            .ok_or(ParseError::truncated(WHAT, length, bytes.len()))?;
    Ok((RawOption(raw), rest))
}

/// One Configuration Option TLV (RFC 1661 section 6): Type, Length (>= 2,
/// counting Type and Length), Data. Borrows its exact wire bytes, so a
/// Configure-Reject can echo them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawOption<'a>(&'a [u8]);

impl<'a> RawOption<'a> {
    /// Parses exactly one option; bytes after its Length are
    /// [`ParseError::TrailingBytes`].
    #[cfg(test)]
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let (opt, rest) = split_option(bytes)?;
        if !rest.is_empty() {
            return Err(ParseError::TrailingBytes {
                what: "configuration option",
                extra: rest.len(),
            });
        }
        Ok(opt)
    }

    /// The Type field.
    pub(crate) fn kind(&self) -> u8 {
        self.0.first().copied().unwrap_or_default()
    }

    /// The Data field (after Type and Length).
    pub(crate) fn data(&self) -> &'a [u8] {
        self.0.get(2..).unwrap_or_default()
    }

    /// The whole TLV as received: Type, Length, Data.
    pub(crate) const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl core::fmt::Debug for RawOption<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawOption")
            .field("kind", &self.kind())
            .field("data", &self.data())
            .finish()
    }
}

/// Iterator over an [`OptionList`]'s TLVs.
#[derive(Debug, Clone)]
pub(crate) struct RawOptions<'a>(&'a [u8]);

impl<'a> Iterator for RawOptions<'a> {
    type Item = RawOption<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // The list was validated; an error here would mean a broken
        // invariant, and ending the iteration is the safe answer.
        let (opt, rest) = split_option(self.0).ok()?;
        self.0 = rest;
        Some(opt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// pppd's LCP Configure-Request `<asyncmap 0x0> <magic 0x930f0222>
    /// <pcomp> <accomp>`: the LCP packet from the trace in ppp-project/ppp#78.
    const PPPD_CONFREQ: [u8; 20] = [
        0x01, 0x01, 0x00, 0x14, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x05, 0x06, 0x93, 0x0F, 0x02,
        0x22, 0x07, 0x02, 0x08, 0x02,
    ];

    /// SoftEther's LCP Echo-Request (interop README: magic 0, payload
    /// "Aho Baka Manuke\0"); identifier chosen here.
    const SOFTETHER_ECHO: [u8; 24] = *b"\x09\x05\x00\x18\x00\x00\x00\x00Aho Baka Manuke\0";

    fn reemit(p: &CpPacket<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        p.emit(&mut out);
        assert_eq!(out.len(), p.buffer_len());
        out
    }

    #[test]
    fn parse_pppd_configure_request() {
        let p = CpPacket::parse(&PPPD_CONFREQ, ControlProtocol::Lcp).unwrap();
        assert_eq!(p.identifier, 1);
        assert_eq!(p.code(), Code::CONFIGURE_REQUEST);
        let opts: Vec<_> = p.options().unwrap().iter().collect();
        assert_eq!(opts.len(), 4);
        assert_eq!(opts[0].kind(), 2);
        assert_eq!(opts[0].data(), &[0, 0, 0, 0]);
        assert_eq!(opts[1].as_bytes(), &[0x05, 0x06, 0x93, 0x0F, 0x02, 0x22]);
        assert_eq!(opts[2].as_bytes(), &[0x07, 0x02]);
        assert_eq!(opts[3].kind(), 8);
        assert!(opts[3].data().is_empty());
        assert_eq!(reemit(&p), PPPD_CONFREQ);
    }

    #[test]
    fn parse_softether_echo_request() {
        let p = CpPacket::parse(&SOFTETHER_ECHO, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p,
            CpPacket {
                identifier: 5,
                body: Body::EchoRequest {
                    magic: 0,
                    data: b"Aho Baka Manuke\0"
                }
            }
        );
        assert_eq!(reemit(&p), SOFTETHER_ECHO);
    }

    #[test]
    fn echo_code_on_ipcp_is_unknown() {
        let p = CpPacket::parse(&SOFTETHER_ECHO, ControlProtocol::Ipcp).unwrap();
        assert_eq!(
            p.body,
            Body::Unknown {
                code: Code::ECHO_REQUEST,
                data: &SOFTETHER_ECHO[4..]
            }
        );
        assert_eq!(reemit(&p), SOFTETHER_ECHO);
        let p = CpPacket::parse(&SOFTETHER_ECHO, ControlProtocol::Ipv6cp).unwrap();
        assert!(matches!(p.body, Body::Unknown { .. }));
    }

    #[test]
    fn code_sets_per_protocol() {
        for c in 0..=255u8 {
            let code = Code(c);
            assert_eq!(ControlProtocol::Lcp.has_code(code), (1..=13).contains(&c));
            assert_eq!(ControlProtocol::Ipcp.has_code(code), (1..=7).contains(&c));
            assert_eq!(ControlProtocol::Ipv6cp.has_code(code), (1..=7).contains(&c));
        }
        for cp in [
            ControlProtocol::Lcp,
            ControlProtocol::Ipcp,
            ControlProtocol::Ipv6cp,
        ] {
            assert_eq!(ControlProtocol::from_protocol(cp.protocol()), Some(cp));
        }
        assert_eq!(ControlProtocol::from_protocol(Protocol::CCP), None);
    }

    #[test]
    fn unknown_code_keeps_data() {
        // Code 14 (CCP Reset-Request) is not an LCP code.
        let bytes = [0x0E, 0x07, 0x00, 0x06, 0xAB, 0xCD];
        let p = CpPacket::parse(&bytes, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::Unknown {
                code: Code(14),
                data: &[0xAB, 0xCD]
            }
        );
        assert_eq!(format!("{:?}", p.code()), "Code(0xe)");
        assert_eq!(reemit(&p), bytes);
    }

    #[test]
    fn padding_after_length_is_ignored() {
        // RFC 1661 section 5: octets beyond Length are padding.
        let mut bytes = PPPD_CONFREQ.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 0x55]);
        let p = CpPacket::parse(&bytes, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p,
            CpPacket::parse(&PPPD_CONFREQ, ControlProtocol::Lcp).unwrap()
        );
        assert_eq!(reemit(&p), PPPD_CONFREQ);
    }

    #[test]
    fn bad_length_fields() {
        let mut bytes = PPPD_CONFREQ;
        for len in [0u16, 1, 2, 3] {
            bytes[2..4].copy_from_slice(&len.to_be_bytes());
            assert_eq!(
                CpPacket::parse(&bytes, ControlProtocol::Lcp),
                Err(ParseError::BadLength {
                    what: "control protocol packet",
                    length: len.into()
                })
            );
        }
        bytes[2..4].copy_from_slice(&21u16.to_be_bytes());
        assert_eq!(
            CpPacket::parse(&bytes, ControlProtocol::Lcp),
            Err(ParseError::BadLength {
                what: "control protocol packet",
                length: 21
            })
        );
        // Length 19 cuts the last option (08 02) in half.
        bytes[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            CpPacket::parse(&bytes, ControlProtocol::Lcp),
            Err(ParseError::truncated("configuration option", 2, 1))
        );
    }

    #[test]
    fn truncated_at_every_length() {
        for n in 0..PPPD_CONFREQ.len() {
            let r = CpPacket::parse(&PPPD_CONFREQ[..n], ControlProtocol::Lcp);
            if n < HEADER_LEN {
                assert_eq!(
                    r,
                    Err(ParseError::truncated("control protocol packet", 4, n))
                );
            } else {
                assert!(
                    matches!(r, Err(ParseError::BadLength { length: 20, .. })),
                    "{n}"
                );
            }
        }
        for n in 0..SOFTETHER_ECHO.len() {
            assert!(CpPacket::parse(&SOFTETHER_ECHO[..n], ControlProtocol::Lcp).is_err());
        }
    }

    #[test]
    fn short_fixed_fields_are_bad_lengths() {
        // Echo-Request with Length 7 (needs 8, RFC 1661 5.8).
        let p = [0x09, 0x01, 0x00, 0x07, 0, 0, 0];
        assert_eq!(
            CpPacket::parse(&p, ControlProtocol::Lcp),
            Err(ParseError::BadLength {
                what: "Echo-Request",
                length: 7
            })
        );
        // Protocol-Reject with Length 5 (needs 6, RFC 1661 5.7).
        let p = [0x08, 0x01, 0x00, 0x05, 0x80];
        assert_eq!(
            CpPacket::parse(&p, ControlProtocol::Lcp),
            Err(ParseError::BadLength {
                what: "Protocol-Reject",
                length: 5
            })
        );
        // Time-Remaining with Length 11 (needs 12, RFC 1570 1.2).
        let p = [0x0D, 0x01, 0x00, 0x0B, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            CpPacket::parse(&p, ControlProtocol::Lcp),
            Err(ParseError::BadLength {
                what: "Time-Remaining",
                length: 11
            })
        ));
        // The same Length-7 Echo on IPCP is an unknown code, not an error.
        let p = [0x09, 0x01, 0x00, 0x07, 0, 0, 0];
        assert!(matches!(
            CpPacket::parse(&p, ControlProtocol::Ipcp).unwrap().body,
            Body::Unknown { .. }
        ));
    }

    #[test]
    fn malformed_option_lists() {
        // Option length 1 (< 2, RFC 1661 section 6).
        assert_eq!(
            OptionList::parse(&[0x07, 0x01]),
            Err(ParseError::BadLength {
                what: "configuration option",
                length: 1
            })
        );
        // Option length 0.
        assert!(OptionList::parse(&[0x07, 0x00, 0x08, 0x02]).is_err());
        // Runs past the end.
        assert_eq!(
            OptionList::parse(&[0x01, 0x04, 0x05]),
            Err(ParseError::truncated("configuration option", 4, 3))
        );
        // A lone type byte.
        assert_eq!(
            OptionList::parse(&[0x07, 0x02, 0x08]),
            Err(ParseError::truncated("configuration option", 2, 1))
        );
        // The whole packet fails.
        let p = [0x01, 0x01, 0x00, 0x06, 0x07, 0x01];
        assert!(CpPacket::parse(&p, ControlProtocol::Lcp).is_err());
        assert_eq!(OptionList::parse(&[]), Ok(OptionList::EMPTY));
    }

    #[test]
    fn raw_option_parse_is_exact() {
        assert_eq!(RawOption::parse(&[0x07, 0x02]).unwrap().kind(), 7);
        assert_eq!(
            RawOption::parse(&[0x07, 0x02, 0x08]),
            Err(ParseError::TrailingBytes {
                what: "configuration option",
                extra: 1
            })
        );
    }

    #[test]
    fn terminate_request_and_ack() {
        // pppd's `TermReq id=0x2 "User request"`.
        let req = b"\x05\x02\x00\x10User request";
        let p = CpPacket::parse(req, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::TerminateRequest {
                data: b"User request"
            }
        );
        assert_eq!(reemit(&p), req);
        let ack = [0x06, 0x02, 0x00, 0x04];
        let p = CpPacket::parse(&ack, ControlProtocol::Ipcp).unwrap();
        assert_eq!(p.body, Body::TerminateAck { data: &[] });
        assert_eq!(reemit(&p), ack);
    }

    #[test]
    fn protocol_reject_of_ccp() {
        // Protocol-Reject (RFC 1661 5.7) of a CCP Configure-Request offering
        // MPPE (RFC 2118/3078 option 18): Rejected-Protocol 80FD, then the
        // rejected CCP packet.
        let bytes = [
            0x08, 0x03, 0x00, 0x10, 0x80, 0xFD, 0x01, 0x01, 0x00, 0x0A, 0x12, 0x06, 0x01, 0x00,
            0x00, 0x60,
        ];
        let p = CpPacket::parse(&bytes, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::ProtocolReject {
                protocol: Protocol::CCP,
                information: &bytes[6..]
            }
        );
        assert_eq!(reemit(&p), bytes);
    }

    #[test]
    fn code_reject_of_identification() {
        // Windows' LCP Identification "MSRASV5.20" (RFC 1570 1.1), then a
        // Code-Reject (RFC 1661 5.6) of it from a peer without RFC 1570.
        let ident = b"\x0C\x02\x00\x12\x51\xA2\x41\x1CMSRASV5.20";
        let p = CpPacket::parse(ident, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::Identification {
                magic: 0x51A2_411C,
                message: b"MSRASV5.20"
            }
        );
        let mut rej = vec![0x07, 0x01, 0x00, 0x16];
        rej.extend_from_slice(ident);
        let p = CpPacket::parse(&rej, ControlProtocol::Lcp).unwrap();
        assert_eq!(p.body, Body::CodeReject { rejected: ident });
        assert_eq!(reemit(&p), rej);
    }

    #[test]
    fn time_remaining_and_discard() {
        let tr = b"\x0D\x04\x00\x11\x00\x00\x00\x01\x00\x00\x0E\x10bye!\x00";
        let p = CpPacket::parse(tr, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::TimeRemaining {
                magic: 1,
                seconds: 3600,
                message: b"bye!\0"
            }
        );
        assert_eq!(reemit(&p), tr);
        let d = [0x0B, 0x09, 0x00, 0x08, 1, 2, 3, 4];
        let p = CpPacket::parse(&d, ControlProtocol::Lcp).unwrap();
        assert_eq!(
            p.body,
            Body::DiscardRequest {
                magic: 0x0102_0304,
                data: &[]
            }
        );
        assert_eq!(reemit(&p), d);
    }

    #[test]
    fn emit_caps_length_at_u16_max() {
        let big = vec![0u8; 70_000];
        let p = CpPacket {
            identifier: 1,
            body: Body::TerminateRequest { data: &big },
        };
        let out = reemit(&p);
        assert_eq!(out.len(), MAX_PACKET_LEN);
        assert_eq!(&out[2..4], &[0xFF, 0xFF]);
        assert!(CpPacket::parse(&out, ControlProtocol::Lcp).is_ok());
    }

    fn option_list_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..12)),
            0..6,
        )
        .prop_map(|opts| {
            let mut out = Vec::new();
            for (kind, data) in opts {
                out.push(kind);
                out.push(u8::try_from(data.len() + 2).unwrap());
                out.extend_from_slice(&data);
            }
            out
        })
    }

    proptest! {
        #[test]
        fn roundtrip_packets(
            identifier: u8,
            code in 0u8..=16,
            magic: u32,
            seconds: u32,
            data in proptest::collection::vec(any::<u8>(), 0..40),
            opts in option_list_bytes(),
            protocol: u16,
        ) {
            let list = OptionList::parse(&opts).unwrap();
            let body = match code {
                1 => Body::ConfigureRequest(list),
                2 => Body::ConfigureAck(list),
                3 => Body::ConfigureNak(list),
                4 => Body::ConfigureReject(list),
                5 => Body::TerminateRequest { data: &data },
                6 => Body::TerminateAck { data: &data },
                7 => Body::CodeReject { rejected: &data },
                8 => Body::ProtocolReject { protocol: Protocol(protocol), information: &data },
                9 => Body::EchoRequest { magic, data: &data },
                10 => Body::EchoReply { magic, data: &data },
                11 => Body::DiscardRequest { magic, data: &data },
                12 => Body::Identification { magic, message: &data },
                13 => Body::TimeRemaining { magic, seconds, message: &data },
                c => Body::Unknown { code: Code(c), data: &data },
            };
            let p = CpPacket { identifier, body };
            let out = reemit(&p);
            prop_assert_eq!(CpPacket::parse(&out, ControlProtocol::Lcp), Ok(p));
            if (1..=7).contains(&code) {
                prop_assert_eq!(CpPacket::parse(&out, ControlProtocol::Ipcp), Ok(p));
            }
        }

        #[test]
        fn parse_arbitrary(bytes in proptest::collection::vec(any::<u8>(), 0..48), pad in 0usize..4) {
            for cp in [ControlProtocol::Lcp, ControlProtocol::Ipcp, ControlProtocol::Ipv6cp] {
                if let Ok(p) = CpPacket::parse(&bytes, cp) {
                    let out = reemit(&p);
                    let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                    prop_assert_eq!(&out[..], &bytes[..len]);
                    let mut padded = out.clone();
                    padded.resize(out.len() + pad, 0);
                    prop_assert_eq!(CpPacket::parse(&padded, cp), Ok(p));
                }
            }
        }
    }
}
