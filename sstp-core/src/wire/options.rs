//! Typed Configuration Options of LCP, IPCP and IPv6CP.
//!
//! Each protocol has an option enum ([`LcpOption`], [`IpcpOption`],
//! [`Ipv6cpOption`]) built from the raw TLVs of a
//! [`cp::OptionList`](super::cp::OptionList) through the [`ConfigOption`]
//! trait, which also gives list parse and emit.
//!
//! Nothing a peer sends makes typing an option fail once its TLV is
//! well-formed:
//!
//! - a type we do not know becomes `Unknown { kind, raw }`;
//! - a type we know with a Length its RFC does not allow becomes
//!   `Invalid { kind, raw }`;
//!
//! both keeping the exact wire bytes (Type, Length, Data) so the engine can
//! echo them in a Configure-Reject (RFC 1661 5.4: "the Configuration Options
//! ... MUST NOT be reordered or modified in any way"). Typed variants
//! require the exact shape their RFC gives, so emitting any parsed option
//! reproduces its input bytes: a Configure-Ack or Configure-Reject can be
//! built by emitting the parsed options it lists.
//!
//! Value rules that are negotiation policy (a zero Magic-Number must be
//! Nak'd, RFC 1661 6.4; an MRU below some floor) are the engine's; this
//! module only checks shapes.

use std::net::Ipv4Addr;

#[cfg(any(test, feature = "fuzzing"))]
use super::ParseError;
use super::code_space;
#[cfg(any(test, feature = "fuzzing"))]
use super::cp::OptionList;
use super::cp::RawOption;
use super::ppp::Protocol;

/// The largest option the 8-bit Length field can describe.
pub(crate) const MAX_OPTION_LEN: usize = u8::MAX as usize;

/// A protocol's typed Configuration Option (RFC 1661 section 6): the shared
/// surface the option-negotiation engine is generic over.
pub(crate) trait ConfigOption: Sized {
    /// Types one well-formed TLV (infallible: see the module docs).
    fn from_raw(raw: RawOption<'_>) -> Self;

    /// The Type field.
    fn type_code(&self) -> u8;

    /// Appends the TLV. Data that would make it longer than
    /// [`MAX_OPTION_LEN`] is cut (only constructed values can be that long).
    fn emit(&self, out: &mut Vec<u8>);

    /// Bytes [`emit`](Self::emit) appends.
    fn buffer_len(&self) -> usize;

    /// Parses exactly one option TLV.
    #[cfg(test)]
    fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        RawOption::parse(bytes).map(Self::from_raw)
    }

    /// Parses an option list (a Configure-* packet's data). A malformed
    /// TLV fails the whole list (RFC 1661 section 6). The result has at
    /// most one entry per two input bytes.
    #[cfg(any(test, feature = "fuzzing"))]
    fn parse_list(bytes: &[u8]) -> Result<Vec<Self>, ParseError> {
        Ok(OptionList::parse(bytes)?.typed())
    }

    /// Appends every option in order.
    #[cfg(any(test, feature = "fuzzing"))]
    fn emit_list(options: &[Self], out: &mut Vec<u8>) {
        for o in options {
            o.emit(out);
        }
    }

    /// Bytes [`emit_list`](Self::emit_list) appends.
    #[cfg(any(test, feature = "fuzzing"))]
    fn list_len(options: &[Self]) -> usize {
        options.iter().map(Self::buffer_len).sum()
    }
}

code_space! {
    /// LCP Configuration Option types (RFC 1661 section 6, IANA "PPP LCP
    /// Configuration Option Types").
    pub(crate) struct LcpOptionType(u8) {
        /// RFC 1661 6.1
        MRU = 1 => "Maximum-Receive-Unit",
        /// RFC 1662 7.1
        ACCM = 2 => "Async-Control-Character-Map",
        /// RFC 1661 6.2
        AUTH_PROTOCOL = 3 => "Authentication-Protocol",
        /// RFC 1661 6.3
        QUALITY_PROTOCOL = 4 => "Quality-Protocol",
        /// RFC 1661 6.4
        MAGIC_NUMBER = 5 => "Magic-Number",
        /// RFC 1661 6.5
        PFC = 7 => "Protocol-Field-Compression",
        /// RFC 1661 6.6
        ACFC = 8 => "Address-and-Control-Field-Compression",
        /// RFC 1570 2.1 (kept raw)
        FCS_ALTERNATIVES = 9 => "FCS-Alternatives",
        /// RFC 1570 2.2 (kept raw)
        SELF_DESCRIBING_PADDING = 10 => "Self-Describing-Padding",
        /// RFC 1663 (kept raw)
        NUMBERED_MODE = 11 => "Numbered-Mode",
        /// RFC 1570 2.3
        CALLBACK = 13 => "Callback",
        /// RFC 1990 5.1.1
        MRRU = 17 => "Multilink-MRRU",
        /// RFC 1990 5.1.2 (kept raw)
        SHORT_SEQUENCE = 18 => "Multilink-Short-Sequence-Number-Header-Format",
        /// RFC 1990 5.1.3
        ENDPOINT_DISCRIMINATOR = 19 => "Endpoint-Discriminator",
        /// RFC 2125 (kept raw)
        LINK_DISCRIMINATOR = 23 => "Link-Discriminator",
    }
}

code_space! {
    /// CHAP Algorithm in the Authentication-Protocol option (RFC 1994 3;
    /// RFC 2433, RFC 2759 for the Microsoft values).
    pub(crate) struct ChapAlgorithm(u8) {
        /// CHAP with MD5 (RFC 1994)
        MD5 = 5 => "MD5",
        /// MS-CHAP (RFC 2433)
        MS_CHAP = 0x80 => "MS-CHAP",
        /// MS-CHAPv2 (RFC 2759)
        MS_CHAP_V2 = 0x81 => "MS-CHAPv2",
    }
}

code_space! {
    /// Callback option Operation (RFC 1570 2.3; 6 from MS-CBCP 2.2.1).
    pub(crate) struct CallbackOperation(u8) {
        /// Location is determined by user authentication.
        USER_AUTHENTICATION = 0 => "User-Authentication",
        /// Dialing string.
        DIALING_STRING = 1 => "Dialing-String",
        /// Location identifier.
        LOCATION_IDENTIFIER = 2 => "Location-Identifier",
        /// E.164 number.
        E164_NUMBER = 3 => "E.164-Number",
        /// Distinguished name.
        DISTINGUISHED_NAME = 4 => "Distinguished-Name",
        /// Negotiate the Microsoft Callback Control Protocol (MS-CBCP 2.2.1);
        /// what Windows and RRAS propose.
        CBCP = 6 => "CBCP",
    }
}

code_space! {
    /// Endpoint Discriminator Class (RFC 1990 5.1.3).
    pub(crate) struct EndpointClass(u8) {
        /// Null class: no address.
        NULL = 0 => "Null",
        /// Locally assigned address (up to 20 bytes).
        LOCAL = 1 => "Locally-Assigned",
        /// Internet Protocol (IPv4) address.
        IPV4 = 2 => "IPv4",
        /// IEEE 802.1 globally assigned MAC address.
        IEEE_802_1 = 3 => "IEEE-802.1",
        /// PPP Magic-Number block (up to 20 bytes).
        MAGIC_NUMBER_BLOCK = 4 => "Magic-Number-Block",
        /// Public switched network directory number.
        DIRECTORY_NUMBER = 5 => "Directory-Number",
    }
}

/// The Authentication-Protocol option's value (RFC 1661 6.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AuthProtocol {
    /// `C023`, no data (RFC 1334 3.1).
    Pap,
    /// `C223` and one Algorithm byte (RFC 1994 3).
    Chap(ChapAlgorithm),
    /// `C227`, no data (RFC 3748 4 / RFC 2284).
    Eap,
    /// Any other protocol, or PAP/CHAP/EAP with data of another length.
    Other {
        /// The Authentication-Protocol field.
        protocol: Protocol,
        /// Data after the protocol field.
        data: Vec<u8>,
    },
}

impl AuthProtocol {
    /// The Authentication-Protocol field.
    pub(crate) const fn protocol(&self) -> Protocol {
        match self {
            Self::Pap => Protocol::PAP,
            Self::Chap(_) => Protocol::CHAP,
            Self::Eap => Protocol::EAP,
            Self::Other { protocol, .. } => *protocol,
        }
    }

    /// From the option's data; `None` if it is shorter than the 2-byte
    /// protocol field.
    fn from_data(data: &[u8]) -> Option<Self> {
        let (&protocol, rest) = data.split_first_chunk::<2>()?;
        let protocol = Protocol(u16::from_be_bytes(protocol));
        Some(match (protocol, rest) {
            (Protocol::PAP, []) => Self::Pap,
            (Protocol::CHAP, &[algorithm]) => Self::Chap(ChapAlgorithm(algorithm)),
            (Protocol::EAP, []) => Self::Eap,
            _ => Self::Other {
                protocol,
                data: rest.to_vec(),
            },
        })
    }

    fn trailing_data(&self) -> &[u8] {
        match self {
            Self::Chap(a) => core::slice::from_ref(&a.0),
            Self::Other { data, .. } => data,
            Self::Pap | Self::Eap => &[],
        }
    }
}

/// An LCP Configuration Option (RFC 1661 section 6, RFC 1570, RFC 1990).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LcpOption {
    /// Type 1, Length 4 (RFC 1661 6.1).
    Mru(u16),
    /// Type 2, Length 6 (RFC 1662 7.1). Meaningless on SSTP's octet-stream
    /// link; clients Configure-Reject it (SSTP has no HDLC
    /// framing to escape, MS-SSTP 2.2.3).
    Accm(u32),
    /// Type 3, Length >= 4 (RFC 1661 6.2).
    AuthProtocol(AuthProtocol),
    /// Type 4, Length >= 4 (RFC 1661 6.3), e.g. LQR `C025` (RFC 1989).
    QualityProtocol {
        /// The Quality-Protocol field.
        protocol: Protocol,
        /// Data after it.
        data: Vec<u8>,
    },
    /// Type 5, Length 6 (RFC 1661 6.4).
    MagicNumber(u32),
    /// Type 7, Length 2 (RFC 1661 6.5).
    Pfc,
    /// Type 8, Length 2 (RFC 1661 6.6).
    Acfc,
    /// Type 13, Length >= 3 (RFC 1570 2.3; MS-CBCP 2.2.1).
    Callback {
        /// The Operation field.
        operation: CallbackOperation,
        /// The Message field.
        message: Vec<u8>,
    },
    /// Type 17, Length 4 (RFC 1990 5.1.1).
    Mrru(u16),
    /// Type 19, Length >= 3 (RFC 1990 5.1.3). The address length a class
    /// implies is not checked.
    EndpointDiscriminator {
        /// The Class field.
        class: EndpointClass,
        /// The Address field.
        address: Vec<u8>,
    },
    /// A type without a typed form here: the whole TLV as received.
    Unknown {
        /// The Type field.
        kind: LcpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
    /// A known type whose Length its RFC does not allow: the whole TLV as
    /// received, for a Configure-Reject.
    Invalid {
        /// The Type field.
        kind: LcpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
}

impl LcpOption {
    /// The Type field.
    pub(crate) fn kind(&self) -> LcpOptionType {
        match self {
            Self::Mru(_) => LcpOptionType::MRU,
            Self::Accm(_) => LcpOptionType::ACCM,
            Self::AuthProtocol(_) => LcpOptionType::AUTH_PROTOCOL,
            Self::QualityProtocol { .. } => LcpOptionType::QUALITY_PROTOCOL,
            Self::MagicNumber(_) => LcpOptionType::MAGIC_NUMBER,
            Self::Pfc => LcpOptionType::PFC,
            Self::Acfc => LcpOptionType::ACFC,
            Self::Callback { .. } => LcpOptionType::CALLBACK,
            Self::Mrru(_) => LcpOptionType::MRRU,
            Self::EndpointDiscriminator { .. } => LcpOptionType::ENDPOINT_DISCRIMINATOR,
            Self::Unknown { kind, .. } | Self::Invalid { kind, .. } => *kind,
        }
    }

    /// The typed form's fields (everything after Type and Length), or the
    /// raw TLV for `Unknown`/`Invalid`.
    fn fields(&self) -> Fields<'_> {
        match self {
            Self::Mru(v) | Self::Mrru(v) => Fields::inline(&v.to_be_bytes()),
            Self::Accm(v) | Self::MagicNumber(v) => Fields::inline(&v.to_be_bytes()),
            Self::AuthProtocol(a) => {
                Fields::split(&a.protocol().0.to_be_bytes(), a.trailing_data())
            }
            Self::QualityProtocol { protocol, data } => {
                Fields::split(&protocol.0.to_be_bytes(), data)
            }
            Self::Pfc | Self::Acfc => Fields::inline(&[]),
            Self::Callback { operation, message } => Fields::split(&[operation.0], message),
            Self::EndpointDiscriminator { class, address } => Fields::split(&[class.0], address),
            Self::Unknown { raw, .. } | Self::Invalid { raw, .. } => Fields::Raw(raw),
        }
    }
}

impl ConfigOption for LcpOption {
    fn from_raw(raw: RawOption<'_>) -> Self {
        let kind = LcpOptionType(raw.kind());
        let data = raw.data();
        let typed = match kind {
            LcpOptionType::MRU => exact(data).map(|b| Self::Mru(u16::from_be_bytes(b))),
            LcpOptionType::ACCM => exact(data).map(|b| Self::Accm(u32::from_be_bytes(b))),
            LcpOptionType::AUTH_PROTOCOL => AuthProtocol::from_data(data).map(Self::AuthProtocol),
            LcpOptionType::QUALITY_PROTOCOL => {
                data.split_first_chunk::<2>()
                    .map(|(p, rest)| Self::QualityProtocol {
                        protocol: Protocol(u16::from_be_bytes(*p)),
                        data: rest.to_vec(),
                    })
            }
            LcpOptionType::MAGIC_NUMBER => {
                exact(data).map(|b| Self::MagicNumber(u32::from_be_bytes(b)))
            }
            LcpOptionType::PFC => data.is_empty().then_some(Self::Pfc),
            LcpOptionType::ACFC => data.is_empty().then_some(Self::Acfc),
            LcpOptionType::CALLBACK => data.split_first().map(|(&op, message)| Self::Callback {
                operation: CallbackOperation(op),
                message: message.to_vec(),
            }),
            LcpOptionType::MRRU => exact(data).map(|b| Self::Mrru(u16::from_be_bytes(b))),
            LcpOptionType::ENDPOINT_DISCRIMINATOR => {
                data.split_first()
                    .map(|(&class, address)| Self::EndpointDiscriminator {
                        class: EndpointClass(class),
                        address: address.to_vec(),
                    })
            }
            _ => {
                return Self::Unknown {
                    kind,
                    raw: raw.as_bytes().to_vec(),
                };
            }
        };
        typed.unwrap_or_else(|| Self::Invalid {
            kind,
            raw: raw.as_bytes().to_vec(),
        })
    }

    fn type_code(&self) -> u8 {
        self.kind().0
    }

    fn emit(&self, out: &mut Vec<u8>) {
        self.fields().emit(self.type_code(), out);
    }

    fn buffer_len(&self) -> usize {
        self.fields().tlv_len()
    }
}

code_space! {
    /// IPCP Configuration Option types (RFC 1332 section 3, RFC 1877).
    pub(crate) struct IpcpOptionType(u8) {
        /// RFC 1332 3.1 (deprecated; kept raw)
        IP_ADDRESSES = 1 => "IP-Addresses",
        /// RFC 1332 3.2
        IP_COMPRESSION_PROTOCOL = 2 => "IP-Compression-Protocol",
        /// RFC 1332 3.3
        IP_ADDRESS = 3 => "IP-Address",
        /// RFC 2290 (kept raw)
        MOBILE_IPV4 = 4 => "Mobile-IPv4",
        /// RFC 1877 1.1
        PRIMARY_DNS = 129 => "Primary-DNS-Server-Address",
        /// RFC 1877 1.2
        PRIMARY_NBNS = 130 => "Primary-NBNS-Server-Address",
        /// RFC 1877 1.3
        SECONDARY_DNS = 131 => "Secondary-DNS-Server-Address",
        /// RFC 1877 1.4
        SECONDARY_NBNS = 132 => "Secondary-NBNS-Server-Address",
    }
}

/// The IP-Compression-Protocol option's value (RFC 1332 3.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IpCompression {
    /// Van Jacobson TCP/IP header compression, `002D` with Max-Slot-Id and
    /// Comp-Slot-Id (RFC 1332 3.2; pppd logs it as `compress VJ 0f 01`).
    VanJacobson {
        /// Highest slot identifier (slots - 1).
        max_slot_id: u8,
        /// Whether the slot identifier may be compressed (0 or 1).
        comp_slot_id: u8,
    },
    /// Any other protocol (e.g. IPHC `0061`, RFC 3544), or VJ with data of
    /// another length.
    Other {
        /// The IP-Compression-Protocol field.
        protocol: Protocol,
        /// Data after it.
        data: Vec<u8>,
    },
}

impl IpCompression {
    fn from_data(data: &[u8]) -> Option<Self> {
        let (&protocol, rest) = data.split_first_chunk::<2>()?;
        let protocol = Protocol(u16::from_be_bytes(protocol));
        Some(match (protocol, rest) {
            (Protocol::VJ_COMPRESSED, &[max_slot_id, comp_slot_id]) => Self::VanJacobson {
                max_slot_id,
                comp_slot_id,
            },
            _ => Self::Other {
                protocol,
                data: rest.to_vec(),
            },
        })
    }

    fn fields(&self) -> Fields<'_> {
        match self {
            Self::VanJacobson {
                max_slot_id,
                comp_slot_id,
            } => {
                let [hi, lo] = Protocol::VJ_COMPRESSED.0.to_be_bytes();
                Fields::inline(&[hi, lo, *max_slot_id, *comp_slot_id])
            }
            Self::Other { protocol, data } => Fields::split(&protocol.0.to_be_bytes(), data),
        }
    }
}

/// An IPCP Configuration Option (RFC 1332 section 3, RFC 1877).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IpcpOption {
    /// Type 2, Length >= 4 (RFC 1332 3.2).
    IpCompressionProtocol(IpCompression),
    /// Type 3, Length 6 (RFC 1332 3.3); 0.0.0.0 asks the peer to assign one.
    IpAddress(Ipv4Addr),
    /// Type 129, Length 6 (RFC 1877 1.1).
    PrimaryDns(Ipv4Addr),
    /// Type 130, Length 6 (RFC 1877 1.2).
    PrimaryNbns(Ipv4Addr),
    /// Type 131, Length 6 (RFC 1877 1.3).
    SecondaryDns(Ipv4Addr),
    /// Type 132, Length 6 (RFC 1877 1.4).
    SecondaryNbns(Ipv4Addr),
    /// A type without a typed form here (including the deprecated
    /// IP-Addresses, type 1): the whole TLV as received.
    Unknown {
        /// The Type field.
        kind: IpcpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
    /// A known type whose Length its RFC does not allow: the whole TLV as
    /// received, for a Configure-Reject.
    Invalid {
        /// The Type field.
        kind: IpcpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
}

impl IpcpOption {
    /// The Type field.
    pub(crate) fn kind(&self) -> IpcpOptionType {
        match self {
            Self::IpCompressionProtocol(_) => IpcpOptionType::IP_COMPRESSION_PROTOCOL,
            Self::IpAddress(_) => IpcpOptionType::IP_ADDRESS,
            Self::PrimaryDns(_) => IpcpOptionType::PRIMARY_DNS,
            Self::PrimaryNbns(_) => IpcpOptionType::PRIMARY_NBNS,
            Self::SecondaryDns(_) => IpcpOptionType::SECONDARY_DNS,
            Self::SecondaryNbns(_) => IpcpOptionType::SECONDARY_NBNS,
            Self::Unknown { kind, .. } | Self::Invalid { kind, .. } => *kind,
        }
    }

    /// The address of an address-valued option (IP-Address, DNS, NBNS).
    #[cfg(test)]
    pub(crate) const fn address(&self) -> Option<Ipv4Addr> {
        match self {
            Self::IpAddress(a)
            | Self::PrimaryDns(a)
            | Self::PrimaryNbns(a)
            | Self::SecondaryDns(a)
            | Self::SecondaryNbns(a) => Some(*a),
            _ => None,
        }
    }

    fn fields(&self) -> Fields<'_> {
        match self {
            Self::IpCompressionProtocol(c) => c.fields(),
            Self::IpAddress(a)
            | Self::PrimaryDns(a)
            | Self::PrimaryNbns(a)
            | Self::SecondaryDns(a)
            | Self::SecondaryNbns(a) => Fields::inline(&a.octets()),
            Self::Unknown { raw, .. } | Self::Invalid { raw, .. } => Fields::Raw(raw),
        }
    }
}

impl ConfigOption for IpcpOption {
    fn from_raw(raw: RawOption<'_>) -> Self {
        let kind = IpcpOptionType(raw.kind());
        let data = raw.data();
        let addr = || exact::<4>(data).map(Ipv4Addr::from);
        let typed = match kind {
            IpcpOptionType::IP_COMPRESSION_PROTOCOL => {
                IpCompression::from_data(data).map(Self::IpCompressionProtocol)
            }
            IpcpOptionType::IP_ADDRESS => addr().map(Self::IpAddress),
            IpcpOptionType::PRIMARY_DNS => addr().map(Self::PrimaryDns),
            IpcpOptionType::PRIMARY_NBNS => addr().map(Self::PrimaryNbns),
            IpcpOptionType::SECONDARY_DNS => addr().map(Self::SecondaryDns),
            IpcpOptionType::SECONDARY_NBNS => addr().map(Self::SecondaryNbns),
            _ => {
                return Self::Unknown {
                    kind,
                    raw: raw.as_bytes().to_vec(),
                };
            }
        };
        typed.unwrap_or_else(|| Self::Invalid {
            kind,
            raw: raw.as_bytes().to_vec(),
        })
    }

    fn type_code(&self) -> u8 {
        self.kind().0
    }

    fn emit(&self, out: &mut Vec<u8>) {
        self.fields().emit(self.type_code(), out);
    }

    fn buffer_len(&self) -> usize {
        self.fields().tlv_len()
    }
}

code_space! {
    /// IPv6CP Configuration Option types (RFC 5072 section 4).
    pub(crate) struct Ipv6cpOptionType(u8) {
        /// RFC 5072 4.1
        INTERFACE_IDENTIFIER = 1 => "Interface-Identifier",
        /// RFC 5072 4.2
        IPV6_COMPRESSION_PROTOCOL = 2 => "IPv6-Compression-Protocol",
    }
}

/// An IPv6CP Configuration Option (RFC 5072 section 4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Ipv6cpOption {
    /// Type 1, Length 10 (RFC 5072 4.1): the 64-bit interface identifier
    /// of the sender's link-local address; all zero asks the peer for one.
    InterfaceIdentifier([u8; 8]),
    /// Type 2, Length >= 4 (RFC 5072 4.2), e.g. IPHC `0061` (RFC 5172).
    CompressionProtocol {
        /// The IPv6-Compression-Protocol field.
        protocol: Protocol,
        /// Data after it.
        data: Vec<u8>,
    },
    /// A type without a typed form here: the whole TLV as received.
    Unknown {
        /// The Type field.
        kind: Ipv6cpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
    /// A known type whose Length its RFC does not allow: the whole TLV as
    /// received, for a Configure-Reject.
    Invalid {
        /// The Type field.
        kind: Ipv6cpOptionType,
        /// Type, Length and Data, exactly as received.
        raw: Vec<u8>,
    },
}

impl Ipv6cpOption {
    /// The Type field.
    pub(crate) fn kind(&self) -> Ipv6cpOptionType {
        match self {
            Self::InterfaceIdentifier(_) => Ipv6cpOptionType::INTERFACE_IDENTIFIER,
            Self::CompressionProtocol { .. } => Ipv6cpOptionType::IPV6_COMPRESSION_PROTOCOL,
            Self::Unknown { kind, .. } | Self::Invalid { kind, .. } => *kind,
        }
    }

    fn fields(&self) -> Fields<'_> {
        match self {
            Self::InterfaceIdentifier(id) => Fields::inline(id),
            Self::CompressionProtocol { protocol, data } => {
                Fields::split(&protocol.0.to_be_bytes(), data)
            }
            Self::Unknown { raw, .. } | Self::Invalid { raw, .. } => Fields::Raw(raw),
        }
    }
}

impl ConfigOption for Ipv6cpOption {
    fn from_raw(raw: RawOption<'_>) -> Self {
        let kind = Ipv6cpOptionType(raw.kind());
        let data = raw.data();
        let typed = match kind {
            Ipv6cpOptionType::INTERFACE_IDENTIFIER => exact(data).map(Self::InterfaceIdentifier),
            Ipv6cpOptionType::IPV6_COMPRESSION_PROTOCOL => {
                data.split_first_chunk::<2>()
                    .map(|(p, rest)| Self::CompressionProtocol {
                        protocol: Protocol(u16::from_be_bytes(*p)),
                        data: rest.to_vec(),
                    })
            }
            _ => {
                return Self::Unknown {
                    kind,
                    raw: raw.as_bytes().to_vec(),
                };
            }
        };
        typed.unwrap_or_else(|| Self::Invalid {
            kind,
            raw: raw.as_bytes().to_vec(),
        })
    }

    fn type_code(&self) -> u8 {
        self.kind().0
    }

    fn emit(&self, out: &mut Vec<u8>) {
        self.fields().emit(self.type_code(), out);
    }

    fn buffer_len(&self) -> usize {
        self.fields().tlv_len()
    }
}

/// `data` as a fixed-size array if it has exactly that length.
fn exact<const N: usize>(data: &[u8]) -> Option<[u8; N]> {
    data.try_into().ok()
}

/// What goes after an option's Type and Length: a short fixed head (at most
/// 8 bytes, held inline) plus a borrowed tail, or a whole raw TLV.
enum Fields<'a> {
    Typed {
        head: [u8; 8],
        head_len: usize,
        tail: &'a [u8],
    },
    Raw(&'a [u8]),
}

impl<'a> Fields<'a> {
    fn inline(bytes: &[u8]) -> Self {
        Self::split(bytes, &[])
    }

    /// `head` must be at most 8 bytes (all callers pass fixed fields of at
    /// most 8); longer heads are cut rather than panicking.
    fn split(head: &[u8], tail: &'a [u8]) -> Self {
        let mut buf = [0u8; 8];
        let head_len = head.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..head_len), head.get(..head_len)) {
            dst.copy_from_slice(src);
        }
        Self::Typed {
            head: buf,
            head_len,
            tail,
        }
    }

    fn tlv_len(&self) -> usize {
        match self {
            Self::Typed { head_len, tail, .. } => (2 + head_len)
                .saturating_add(tail.len())
                .min(MAX_OPTION_LEN),
            Self::Raw(raw) => raw.len(),
        }
    }

    fn emit(&self, kind: u8, out: &mut Vec<u8>) {
        match self {
            Self::Typed {
                head,
                head_len,
                tail,
            } => {
                let len = self.tlv_len();
                out.push(kind);
                out.push(u8::try_from(len).unwrap_or(u8::MAX));
                let head = head.get(..*head_len).unwrap_or_default();
                out.extend_from_slice(head);
                let room = len.saturating_sub(2 + head.len());
                out.extend_from_slice(tail.get(..room).unwrap_or(tail));
            }
            Self::Raw(raw) => out.extend_from_slice(raw),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
