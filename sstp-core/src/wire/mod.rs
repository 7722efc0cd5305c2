//! Byte-level codecs for everything SSTP carries: the SSTP packet and its
//! control messages and attributes (MS-SSTP 2.2), the HTTPS handshake
//! (MS-SSTP 3.2.4.1 / 4.1), PPP frames (RFC 1661 section 2), the LCP/IPCP/IPv6CP
//! control-protocol packets and options, and the PAP/CHAP/EAP authentication
//! packets.
//!
//! # Conventions (the panic-freedom contract)
//!
//! Every message type `T` has a pair:
//!
//! - `T::parse(bytes) -> Result<T, ParseError>`: parses *exactly* `bytes`. Lengths
//!   are checked before any field is read; a length field that disagrees with
//!   the slice is an error; bytes left over where the spec says a length is
//!   exact are [`ParseError::TrailingBytes`]. No input can make a parser panic,
//!   loop forever or allocate more than a small multiple of its input.
//! - `T::emit(&self, out: &mut Vec<u8>)`: appends the wire form, and
//!   `T::buffer_len(&self)` says how many bytes that is.
//!
//! Every code space (message types, attribute IDs, status values, PPP codes,
//! option types, protocol numbers) is a newtype over its integer with named
//! constants (the `rustls` / `smoltcp` shape), so unknown values survive a
//! parse/emit round trip; option lists keep unknown options' raw bytes so a
//! Configure-Reject can echo them exactly.
//!
//! nom is used inside the parsers and never appears in this API.

pub(crate) mod auth;
pub(crate) mod cp;
pub mod http;
pub mod icmpv6;
pub(crate) mod options;
pub(crate) mod ppp;
pub mod sstp;

/// Why a byte string is not a valid message.
///
/// Parsers return this for every malformed input; the variant says what was
/// wrong and `what` names the structure being parsed, so a log line can say
/// `"Status Info attribute: truncated"` rather than a bare offset.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    #[error("{what}: truncated (need {needed} bytes, have {available})")]
    Truncated {
        /// The structure being parsed, e.g. `"Status Info attribute"`.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// A length field that is impossible (too small for its header, larger
    /// than the enclosing data, or not the fixed length the spec requires).
    #[error("{what}: invalid length {length}")]
    BadLength {
        /// The structure being parsed.
        what: &'static str,
        /// The length it claimed or had.
        length: usize,
    },
    /// Bytes left over where the spec says the length is exact.
    #[error("{what}: {extra} trailing bytes")]
    TrailingBytes {
        /// The structure being parsed.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A field holds a value the spec does not allow here.
    #[error("{what}: invalid value {value:#x}")]
    InvalidValue {
        /// The field or structure being parsed.
        what: &'static str,
        /// The value found.
        value: u32,
    },
    /// A structural rule of the spec is broken (missing/duplicate attribute,
    /// wrong attribute for the message, bad text encoding, ...).
    #[error("{what}: {reason}")]
    Malformed {
        /// The structure being parsed.
        what: &'static str,
        /// The rule it breaks, in words.
        reason: &'static str,
    },
    /// A bounded buffer or text would exceed its limit.
    #[error("{what}: exceeds limit of {limit} bytes")]
    TooLong {
        /// The buffer or text.
        what: &'static str,
        /// Its limit in bytes.
        limit: usize,
    },
}

impl ParseError {
    pub(crate) const fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        Self::Truncated {
            what,
            needed,
            available,
        }
    }

    pub(crate) const fn malformed(what: &'static str, reason: &'static str) -> Self {
        Self::Malformed { what, reason }
    }
}

/// Declares a newtype over an integer code space with named constants, a
/// `name()` for logs, and `From` conversions both ways. Unknown values are
/// representable by construction (`Kind(0x1234)`), so they survive round trips.
///
/// ```ignore
/// code_space! {
///     /// SSTP control message type (MS-SSTP 2.2.2).
///     pub struct MessageType(u16) {
///         /// 2.2.9
///         CALL_CONNECT_REQUEST = 0x0001 => "CALL_CONNECT_REQUEST",
///     }
/// }
/// ```
macro_rules! code_space {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:expr => $text:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name($vis $repr);

        impl $name {
            $(
                $(#[$vmeta])*
                $vis const $variant: Self = Self($value);
            )*

            /// The spec's name for this value, or `None` if it is not one we
            /// know. Every named value is named here, so a code space may
            /// list its whole registry, used or not, and a log can say what
            /// came.
            $vis const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($text), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(self, f)
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}
pub(crate) use code_space;

/// Maps a nom error on a *complete* input to a [`ParseError::Truncated`].
/// Our nom parsers only run on exact slices, so the only way they fail is by
/// running out of bytes.
pub(crate) fn nom_truncated(
    what: &'static str,
    needed: usize,
    available: usize,
) -> impl FnOnce(nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    move |_| ParseError::truncated(what, needed, available)
}
