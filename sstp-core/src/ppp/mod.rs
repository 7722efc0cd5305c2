//! Pure-Rust PPP (RFC 1661) as SSTP carries it: the RFC 1661 option-negotiation
//! automaton shared by LCP, IPCP and IPv6CP, the per-protocol option policies,
//! authentication in both roles, and the link phases that tie them together.
//!
//! Components here share a few internal contracts:
//! - what they send goes into an `Outbox` as a `ControlFrame` (protocol +
//!   packet bytes starting at the Code field; the link adds the PPP header);
//! - time is an `Instant` passed in; each component exposes `poll_timeout`
//!   and acts in `handle_timeout` only when its deadline is due;
//! - randomness comes through [`Random`], a dyn-compatible view of an injected
//!   `rand_core::CryptoRng`.

use std::collections::VecDeque;

use crate::wire::ppp::Protocol;

pub(crate) mod auth;
pub(crate) mod fsm;
pub(crate) mod ipcp;
pub(crate) mod ipv6cp;
pub(crate) mod lcp;
pub(crate) mod link;
pub(crate) mod negotiator;

/// A PPP control packet to send: `packet` starts at the Code field of the
/// control or authentication protocol (RFC 1661 section 5); the link puts the
/// Address/Control and Protocol fields in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControlFrame {
    pub(crate) protocol: Protocol,
    pub(crate) packet: Vec<u8>,
}

/// Control packets waiting to be framed and sent, oldest first.
pub(crate) type Outbox = VecDeque<ControlFrame>;

/// A dyn-compatible source of cryptographic randomness. `rand_core` 0.10's
/// traits carry an associated error type, which makes `dyn CryptoRng`
/// awkward; every `CryptoRng` is a `Random` through the blanket impl.
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<R: rand_core::CryptoRng + ?Sized> Random for R {
    fn fill(&mut self, buf: &mut [u8]) {
        self.fill_bytes(buf);
    }
}

/// The PPP authentication methods this crate runs, in either role.
///
/// Each maps to one value of the LCP Authentication-Protocol option
/// (RFC 1661 6.2; RFC 1994 for CHAP algorithms; RFC 3748 for EAP).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// PAP (RFC 1334): `C023`.
    Pap,
    /// CHAP with MD5 (RFC 1994): `C223` algorithm 5.
    ChapMd5,
    /// MS-CHAPv2 (RFC 2759): `C223` algorithm 0x81.
    MsChapV2,
    /// EAP (RFC 3748) running EAP-MSCHAPv2 (type 26), the Windows default: `C227`.
    EapMsChapV2,
    /// EAP (RFC 3748) running EAP-TLS (type 13, RFC 5216; TLS 1.3 per RFC
    /// 9190): certificates instead of passwords. `C227`.
    EapTls,
    /// EAP (RFC 3748) running PEAP (type 25), which this crate does not
    /// run itself: only a server that relays EAP to a RADIUS server (RFC
    /// 3579, [`AuthenticatorConfig::eap_relay`](crate::AuthenticatorConfig::eap_relay))
    /// offers it, and the RADIUS server runs it. `C227`.
    EapPeap,
    /// EAP relayed to a backend (RFC 3579) running a method this crate has
    /// no name for (EAP-TTLS, EAP-GTC, ...), or none yet (the Identity).
    /// Never configured: a server reports it. `C227`.
    EapRelayed,
}

impl AuthMethod {
    /// The methods in the order a server offers them by default: EAP-MSCHAPv2
    /// (Windows' default), then MS-CHAPv2.
    pub const DEFAULT_SERVER_ORDER: [Self; 2] = [Self::EapMsChapV2, Self::MsChapV2];

    /// Whether the method yields MPPE keys (and so a non-zero HLAK, MS-SSTP
    /// 3.2.5.2.2).
    pub const fn derives_keys(self) -> bool {
        matches!(
            self,
            Self::MsChapV2 | Self::EapMsChapV2 | Self::EapTls | Self::EapPeap | Self::EapRelayed
        )
    }

    /// Whether only a relaying server offers it: the RADIUS server runs
    /// the method ([`AuthMethod::EapPeap`]).
    pub const fn needs_relay(self) -> bool {
        matches!(self, Self::EapPeap | Self::EapRelayed)
    }

    /// The PPP protocol that carries this method's packets.
    pub(crate) const fn protocol(self) -> Protocol {
        match self {
            Self::Pap => Protocol::PAP,
            Self::ChapMd5 | Self::MsChapV2 => Protocol::CHAP,
            Self::EapMsChapV2 | Self::EapTls | Self::EapPeap | Self::EapRelayed => Protocol::EAP,
        }
    }

    /// A short name for logs and configuration.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pap => "pap",
            Self::ChapMd5 => "chap-md5",
            Self::MsChapV2 => "mschapv2",
            Self::EapMsChapV2 => "eap-mschapv2",
            Self::EapTls => "eap-tls",
            Self::EapPeap => "eap-peap",
            Self::EapRelayed => "eap-relayed",
        }
    }
}

impl core::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for AuthMethod {
    type Err = UnknownAuthMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pap" => Ok(Self::Pap),
            "chap" | "chap-md5" | "md5" => Ok(Self::ChapMd5),
            "mschapv2" | "ms-chapv2" | "ms-chap-v2" => Ok(Self::MsChapV2),
            "eap" | "eap-mschapv2" | "eap-ms-chapv2" => Ok(Self::EapMsChapV2),
            "eap-tls" | "tls" => Ok(Self::EapTls),
            "eap-peap" | "peap" => Ok(Self::EapPeap),
            _ => Err(UnknownAuthMethod),
        }
    }
}

/// An authentication method name that [`AuthMethod`] does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown authentication method (expected pap, chap-md5, mschapv2, eap-mschapv2, eap-tls or eap-peap)"
)]
pub struct UnknownAuthMethod;
