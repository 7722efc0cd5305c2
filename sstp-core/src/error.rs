//! Why a session ended, typed by who is at fault (the rustls habit:
//! malformed input, a peer that broke the protocol, a peer that lacks
//! something we need, local decisions, timers), so a driver can log one line
//! and a person can read it.

use core::fmt;

use crate::crypto::binding::BindingError;
use crate::ppp::auth::AuthFailure;
use crate::wire::sstp::StatusInfo;

/// Why a session ended. Reported once, in `Event::Down`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// This side called `close` and the teardown completed or timed out.
    LocalClose,
    /// The peer sent Call Disconnect (MS-SSTP 3.1.1.1.1).
    PeerDisconnected,
    /// The peer sent Call Abort, with its Status Info if any (3.1.1.1.2).
    PeerAborted {
        /// The peer's Status Info attribute (MS-SSTP 2.2.8), if it sent one.
        status: Option<StatusInfo>,
    },
    /// The peer sent bytes that do not parse: SSTP framing (3.1.5.1) or a
    /// control message that breaks the rules of 2.2.
    PeerMalformed(String),
    /// The peer sent a valid message at the wrong time.
    PeerMisbehaved(String),
    /// The peer lacks something this side requires (a hash protocol, an
    /// authentication method, an address).
    Incompatible(String),
    /// The crypto binding of the Call Connected message failed (3.3.5.2.3).
    BindingFailed(BindingError),
    /// PPP authentication failed.
    AuthFailed(AuthFailure),
    /// PPP negotiation (LCP, IPCP, IPv6CP) failed or the peer terminated it.
    PppFailed(String),
    /// The peer ended PPP with an LCP Terminate-Request before the call was
    /// up, and said why in its Data field (RFC 1661 5.5): it refused the
    /// session, e.g. it had no address left. The text is the peer's,
    /// sanitized (printable, at most 256 characters).
    PeerTerminated {
        /// The peer's reason.
        reason: String,
    },
    /// This side refused the session after authentication
    /// (`ServerSession::refuse`); the reason went to the peer in the LCP
    /// Terminate-Request.
    Refused(String),
    /// A timer ran out: which one.
    Timeout(&'static str),
    /// The driver reported the TLS/TCP connection gone (3.1.7.2).
    TransportClosed,
}

/// Who is at fault, for metrics and exit codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseKind {
    /// A normal end (either side disconnected).
    Normal,
    /// The peer sent junk.
    PeerMalformed,
    /// The peer broke the protocol, or failed the crypto binding.
    PeerMisbehaved,
    /// The two sides could not agree.
    Incompatible,
    /// Authentication failed.
    AuthFailed,
    /// A timer ran out.
    Timeout,
    /// The transport went away or the peer aborted.
    Lost,
    /// One side refused the session before it came up, and said why (no
    /// address left, ...), after the credentials were accepted.
    Refused,
}

impl CloseReason {
    /// Who is at fault.
    pub fn kind(&self) -> CloseKind {
        match self {
            Self::LocalClose | Self::PeerDisconnected => CloseKind::Normal,
            Self::PeerMalformed(_) => CloseKind::PeerMalformed,
            Self::PeerMisbehaved(_) | Self::BindingFailed(_) => CloseKind::PeerMisbehaved,
            Self::Incompatible(_) | Self::PppFailed(_) => CloseKind::Incompatible,
            Self::AuthFailed(_) => CloseKind::AuthFailed,
            Self::Timeout(_) => CloseKind::Timeout,
            Self::PeerTerminated { .. } | Self::Refused(_) => CloseKind::Refused,
            Self::PeerAborted { .. } | Self::TransportClosed => CloseKind::Lost,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LocalClose => f.write_str("closed locally"),
            Self::PeerDisconnected => f.write_str("peer disconnected"),
            Self::PeerAborted { status: Some(s) } => {
                write!(f, "peer aborted the call: {}", s.status.description())?;
                match s.attrib_id.description() {
                    Some(what) => write!(f, " (about {what})"),
                    None => Ok(()),
                }
            }
            Self::PeerAborted { status: None } => f.write_str("peer aborted the call"),
            Self::PeerMalformed(what) => write!(f, "peer sent malformed data: {what}"),
            Self::PeerMisbehaved(what) => write!(f, "peer broke the protocol: {what}"),
            Self::Incompatible(what) => write!(f, "incompatible peer: {what}"),
            Self::BindingFailed(e) => write!(f, "{e}"),
            Self::AuthFailed(e) => write!(f, "authentication failed: {e}"),
            Self::PppFailed(what) => write!(f, "PPP negotiation failed: {what}"),
            Self::PeerTerminated { reason } => write!(f, "peer refused the session: {reason}"),
            Self::Refused(reason) => write!(f, "refused the session: {reason}"),
            Self::Timeout(which) => write!(f, "timed out: {which}"),
            Self::TransportClosed => f.write_str("connection lost"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sstp::{AttributeId, Status};

    #[test]
    fn reasons_read_as_words() {
        let abort = CloseReason::PeerAborted {
            status: Some(StatusInfo::new(
                AttributeId::CRYPTO_BINDING,
                Status::VALUE_NOT_SUPPORTED,
            )),
        };
        assert_eq!(
            abort.to_string(),
            "peer aborted the call: a value was not accepted (about the crypto binding)"
        );
        let timeout = CloseReason::PeerAborted {
            status: Some(StatusInfo::new(
                AttributeId::NO_ERROR,
                Status::NEGOTIATION_TIMEOUT,
            )),
        };
        assert_eq!(
            timeout.to_string(),
            "peer aborted the call: the other end did not answer in time"
        );
        let refused = CloseReason::PeerTerminated {
            reason: "no address available".into(),
        };
        assert_eq!(
            refused.to_string(),
            "peer refused the session: no address available"
        );
        assert_eq!(refused.kind(), CloseKind::Refused);
    }
}
