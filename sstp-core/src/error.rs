//! Why a session ended, typed by who is at fault (the rustls habit:
//! malformed input, a peer that broke the protocol, a peer that lacks
//! something we need, local decisions, timers), and within each by what
//! exactly, so a driver can map a reason to an exit code or a RADIUS
//! Acct-Terminate-Cause (RFC 2866 5.10) without reading text, and a person
//! can read the one line its `Display` gives.

use core::fmt;

use crate::crypto::binding::BindingError;
use crate::deframer::DeframeError;
use crate::ppp::AuthMethod;
use crate::ppp::auth::AuthFailure;
use crate::ppp::negotiator::NegotiationFailure;
use crate::sstp::control::ControlState;
use crate::wire::ppp::Protocol;
use crate::wire::sstp::{HashBitmask, MessageError, MessageType, StatusInfo};

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
    PeerMalformed(Malformed),
    /// The peer sent a valid message at the wrong time.
    PeerMisbehaved(Violation),
    /// The peer lacks something this side requires (a hash protocol, an
    /// authentication method, IPv4).
    Incompatible(Missing),
    /// The crypto binding of the Call Connected message failed (3.3.5.2.3).
    BindingFailed(BindingError),
    /// PPP authentication failed.
    AuthFailed(AuthFailure),
    /// PPP negotiation (LCP, IPCP) failed.
    PppFailed(PppFailure),
    /// The peer ended PPP with an LCP Terminate-Request before the call was
    /// up, and said why in its Data field (RFC 1661 5.5): it refused the
    /// session, e.g. it had no address left. The text is the peer's,
    /// sanitized (printable, at most 256 characters).
    PeerTerminated {
        /// The peer's reason.
        reason: String,
    },
    /// This side ended the session on purpose, for a reason a program
    /// reads (`ServerSession::end`): the session's time was up, it sat
    /// idle, an administrator ended it.
    Ended(Ending),
    /// This side refused the session after authentication
    /// (`ServerSession::refuse`).
    Refused {
        /// Why, for a program.
        cause: Refusal,
        /// Why, in the words that went to the peer in the LCP
        /// Terminate-Request (RFC 1661 5.5).
        reason: String,
    },
    /// A timer ran out: which one.
    Timeout(Timer),
    /// The driver reported the TLS/TCP connection gone (3.1.7.2).
    TransportClosed,
}

/// What did not parse ([`CloseReason::PeerMalformed`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The byte stream does not cut into SSTP packets (MS-SSTP 2.2.1): the
    /// call dies without a word (3.1.5.1).
    Framing(DeframeError),
    /// A control message breaks the rules of MS-SSTP 2.2; the error says
    /// which, and which Status Info our Call Abort carried.
    Message(MessageError),
    /// A control message of a type MS-SSTP 2.2.2 does not define (an
    /// invalid frame, 3.1.5.1).
    UnknownMessage(MessageType),
}

/// Which rule of the control state machines the peer broke
/// ([`CloseReason::PeerMisbehaved`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A control message the state does not accept (MS-SSTP 3.2.5, 3.3.5:
    /// answered with a Call Abort, `UNACCEPTED_FRAME_RECEIVED`).
    Unexpected {
        /// The message received.
        message: MessageType,
        /// Our state when it came.
        state: ControlState,
    },
}

/// What the peer lacks ([`CloseReason::Incompatible`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// Server: the client refused every authentication method we allow
    /// (RFC 1661 6.2).
    AuthMethod {
        /// The methods the server allows.
        server_allows: Vec<AuthMethod>,
    },
    /// Server: LCP opened without an Authentication-Protocol, which SSTP
    /// requires of every call (MS-SSTP 3.3.5.2.3 needs the HLAK).
    NoAuthAgreed,
    /// The peer Protocol-Rejected the authentication protocol it had agreed
    /// to (RFC 1661 5.7).
    AuthProtocolRejected(Protocol),
    /// The peer Protocol-Rejected IPCP (RFC 1661 5.7): no IPv4, no call.
    IpcpRejected,
    /// Client: the server offers no crypto-binding hash we support
    /// (MS-SSTP 3.2.5.3.2).
    BindingHash {
        /// The hashes the server offered (2.2.6).
        offered: HashBitmask,
    },
    /// Server: the client's Call Connect Requests stayed unacceptable past
    /// the retry budget (MS-SSTP 3.3.5.2.2).
    ConnectRequestUnacceptable,
    /// Client: the server kept refusing our Call Connect Request with a
    /// Call Connect NAK (MS-SSTP 3.2.5.3.3).
    ConnectRequestRefused {
        /// The first Status Info of the last NAK.
        status: Option<StatusInfo>,
    },
}

/// How PPP failed ([`CloseReason::PppFailed`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PppFailure {
    /// A control protocol gave up (RFC 1661 4.6, 6.4; RFC 1332): which one,
    /// and why.
    Negotiation {
        /// LCP or IPCP.
        protocol: Protocol,
        /// Why it gave up.
        failure: NegotiationFailure,
    },
    /// The peer renegotiated LCP after authentication (RFC 1661 3.7); an
    /// SSTP call has no use for it after the crypto binding.
    LcpRenegotiated,
}

/// Which timer ran out ([`CloseReason::Timeout`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The Call Connect exchange and the crypto binding took too long
    /// (MS-SSTP 3.2.2, 3.3.2).
    SstpNegotiation,
    /// No packet within two Hello intervals (MS-SSTP 3.1.2.3).
    Hello,
    /// Our Call Disconnect went unacknowledged (MS-SSTP 3.1.2.2).
    CallDisconnectAck,
    /// The peer stopped answering LCP Echo-Requests (RFC 1661 5.8).
    LcpKeepalive,
}

/// Why this side refused a session after authentication
/// ([`CloseReason::Refused`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// No address left to give.
    NoAddress,
    /// The user's own address is held by another session (the same user
    /// connected twice).
    AddressInUse,
    /// This side's configuration cannot serve the user (a fixed address
    /// outside the pool, ...).
    Misconfigured,
}

/// Why this side ended an established session on purpose
/// ([`CloseReason::Ended`]); each maps to an Acct-Terminate-Cause (RFC
/// 2866 §5.10).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ending {
    /// The session's time limit (RADIUS Session-Timeout, RFC 2865 §5.27).
    SessionTimeout,
    /// No traffic for the idle limit (RADIUS Idle-Timeout, RFC 2865
    /// §5.28).
    IdleTimeout,
    /// An administrator ended it (a RADIUS Disconnect-Request, RFC 5176;
    /// the server's control socket).
    AdminReset,
    /// A newer session of the same user took its place (the server's
    /// per-user session limit, set to replace the oldest).
    Preempted,
}

impl Ending {
    /// The words the peer reads in the LCP Terminate-Request (RFC 1661
    /// §5.5) and the logs show.
    pub const fn words(self) -> &'static str {
        match self {
            Self::SessionTimeout => "the session's time limit is up",
            Self::IdleTimeout => "the session was idle too long",
            Self::AdminReset => "an administrator ended the session",
            Self::Preempted => "a newer session of the same user replaced it",
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
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
            Self::LocalClose | Self::PeerDisconnected | Self::Ended(_) => CloseKind::Normal,
            Self::PeerMalformed(_) => CloseKind::PeerMalformed,
            Self::PeerMisbehaved(_) | Self::BindingFailed(_) => CloseKind::PeerMisbehaved,
            Self::Incompatible(_) | Self::PppFailed(_) => CloseKind::Incompatible,
            Self::AuthFailed(_) => CloseKind::AuthFailed,
            Self::Timeout(_) => CloseKind::Timeout,
            Self::PeerTerminated { .. } | Self::Refused { .. } => CloseKind::Refused,
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
            Self::Refused { reason, .. } => write!(f, "refused the session: {reason}"),
            Self::Ended(ending) => write!(f, "ended: {ending}"),
            Self::Timeout(which) => write!(f, "timed out: {which}"),
            Self::TransportClosed => f.write_str("connection lost"),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Framing(e) => write!(f, "{e}"),
            Self::Message(e) => write!(f, "{e}"),
            Self::UnknownMessage(_) => f.write_str("unknown SSTP control message type"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unexpected { message, state } => write!(
                f,
                "unexpected {} in state {}",
                message_words(*message),
                state_name(*state)
            ),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthMethod { server_allows } => write!(
                f,
                "no common authentication method (the server allows {})",
                crate::ppp::lcp::method_list(server_allows)
            ),
            Self::NoAuthAgreed => f.write_str("no authentication agreed"),
            Self::AuthProtocolRejected(protocol) => {
                write!(f, "peer rejected {protocol} authentication")
            }
            Self::IpcpRejected => f.write_str("peer rejected IPCP"),
            Self::BindingHash { offered } => write!(
                f,
                "server offers no supported crypto-binding hash (its bitmask is {:#04x})",
                offered.0
            ),
            Self::ConnectRequestUnacceptable => {
                f.write_str("client kept sending unacceptable Call Connect Requests")
            }
            Self::ConnectRequestRefused { status: Some(s) } => write!(
                f,
                "server refused the Call Connect Request: {}",
                s.status.description()
            ),
            Self::ConnectRequestRefused { status: None } => {
                f.write_str("server refused the Call Connect Request")
            }
        }
    }
}

impl fmt::Display for PppFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Negotiation { protocol, failure } => write!(f, "{protocol}: {failure}"),
            Self::LcpRenegotiated => f.write_str("the peer renegotiated LCP"),
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SstpNegotiation => "SSTP negotiation",
            Self::Hello => "Hello (no Echo Response)",
            Self::CallDisconnectAck => "Call Disconnect Ack",
            Self::LcpKeepalive => "LCP Echo keepalive",
        })
    }
}

/// A control message type as MS-SSTP 2.2 titles it.
fn message_words(message: MessageType) -> &'static str {
    match message {
        MessageType::CALL_CONNECT_REQUEST => "Call Connect Request",
        MessageType::CALL_CONNECT_ACK => "Call Connect Ack",
        MessageType::CALL_CONNECT_NAK => "Call Connect Nak",
        MessageType::CALL_CONNECTED => "Call Connected",
        MessageType::CALL_ABORT => "Call Abort",
        MessageType::CALL_DISCONNECT => "Call Disconnect",
        MessageType::CALL_DISCONNECT_ACK => "Call Disconnect Ack",
        MessageType::ECHO_REQUEST => "Echo Request",
        MessageType::ECHO_RESPONSE => "Echo Response",
        _ => "control message",
    }
}

/// A state by its MS-SSTP name (`CurrentState`, 3.1.1, 3.2.1, 3.3.1).
fn state_name(state: ControlState) -> &'static str {
    match state {
        ControlState::ClientCallDisconnected => "Client_Call_Disconnected",
        ControlState::ClientConnectRequestSent => "Client_Connect_Request_Sent",
        ControlState::ClientConnectAckReceived => "Client_Connect_Ack_Received",
        ControlState::ClientCallConnected => "Client_Call_Connected",
        ControlState::ServerConnectRequestPending => "Server_Connect_Request_Pending",
        ControlState::ServerCallConnectedPending => "Server_Call_Connected_Pending",
        ControlState::ServerCallConnected => "Server_Call_Connected",
        ControlState::CallAbortPending => "Call_Abort_Pending",
        ControlState::CallAbortTimeoutPending => "Call_Abort_Timeout_Pending",
        ControlState::CallDisconnectAckPending => "Call_Disconnect_Ack_Pending",
        ControlState::CallDisconnectTimeoutPending => "Call_Disconnect_Timeout_Pending",
        ControlState::Closed => "Closed",
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

    #[test]
    fn typed_details_read_as_one_line_of_words() {
        let cases = [
            (
                CloseReason::Timeout(Timer::Hello),
                "timed out: Hello (no Echo Response)",
            ),
            (
                CloseReason::Timeout(Timer::LcpKeepalive),
                "timed out: LCP Echo keepalive",
            ),
            (
                CloseReason::PeerMisbehaved(Violation::Unexpected {
                    message: MessageType::CALL_CONNECT_ACK,
                    state: ControlState::ClientCallConnected,
                }),
                "peer broke the protocol: unexpected Call Connect Ack in state Client_Call_Connected",
            ),
            (
                CloseReason::PeerMalformed(Malformed::Framing(DeframeError::UnsupportedVersion {
                    version: 0x20,
                })),
                "peer sent malformed data: SSTP framing failed: version byte 0x20, expected 0x10",
            ),
            (
                CloseReason::Incompatible(Missing::AuthMethod {
                    server_allows: vec![AuthMethod::MsChapV2, AuthMethod::Pap],
                }),
                "incompatible peer: no common authentication method (the server allows mschapv2, pap)",
            ),
            (
                CloseReason::Incompatible(Missing::BindingHash {
                    offered: HashBitmask(0x04),
                }),
                "incompatible peer: server offers no supported crypto-binding hash (its bitmask is 0x04)",
            ),
            (
                CloseReason::Incompatible(Missing::ConnectRequestRefused {
                    status: Some(StatusInfo::new(
                        AttributeId::ENCAPSULATED_PROTOCOL_ID,
                        Status::VALUE_NOT_SUPPORTED,
                    )),
                }),
                "incompatible peer: server refused the Call Connect Request: a value was not accepted",
            ),
            (
                CloseReason::PppFailed(PppFailure::Negotiation {
                    protocol: Protocol::IPCP,
                    failure: NegotiationFailure::NoAddressAssigned,
                }),
                "PPP negotiation failed: IPCP: server did not assign an address",
            ),
            (
                CloseReason::Refused {
                    cause: Refusal::NoAddress,
                    reason: "no address available".into(),
                },
                "refused the session: no address available",
            ),
        ];
        for (reason, words) in cases {
            assert_eq!(reason.to_string(), words, "{reason:?}");
            assert!(!words.contains('{') && !words.contains('\n'));
        }
    }
}
