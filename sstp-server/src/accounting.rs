//! What RADIUS accounting (RFC 2866) will say of a session's end: its
//! Acct-Terminate-Cause, read from the typed [`CloseReason`] the session
//! reported, never from its text. The session-end log line carries it
//! today; the accounting backend will send it.

use sstp_core::{CloseReason, Ending, Missing, Refusal, Timer};

/// The Acct-Session-Id (RFC 2866 §5.5) of session `id` of the server run
/// `instance`: the run's random 32 bits, then the session's number, in
/// hex. Distinct runs (restarts, other nodes) differ in the first part,
/// sessions of one run in the second.
pub(crate) fn session_id(instance: u32, id: u64) -> String {
    format!("{instance:08X}-{id:08X}")
}

/// The NAS-Port (RFC 2865 §5.5) of session `id`: its number, which no
/// other live session has (numbers wrap only after 2^32 sessions).
pub(crate) fn nas_port(id: u64) -> u32 {
    (id & u64::from(u32::MAX)) as u32
}

/// Acct-Terminate-Cause values (RFC 2866 5.10) a session's end maps to.
pub(crate) mod cause {
    /// The user ended the session.
    pub(crate) const USER_REQUEST: u32 = 1;
    /// The line went away (the transport, or a peer that stopped answering).
    pub(crate) const LOST_CARRIER: u32 = 2;
    /// Service can no longer be provided (the peer aborted the call).
    pub(crate) const LOST_SERVICE: u32 = 3;
    /// The Idle-Timeout was reached.
    pub(crate) const IDLE_TIMEOUT: u32 = 4;
    /// The Session-Timeout was reached.
    pub(crate) const SESSION_TIMEOUT: u32 = 5;
    /// An administrator reset the session (a Disconnect-Request, RFC 5176).
    pub(crate) const ADMIN_RESET: u32 = 6;
    /// The administrator is ending service on the NAS (server shutdown).
    pub(crate) const ADMIN_REBOOT: u32 = 7;
    /// The NAS cannot serve the session (its configuration).
    pub(crate) const NAS_ERROR: u32 = 9;
    /// The NAS ended the session (an address held by another session).
    pub(crate) const NAS_REQUEST: u32 = 10;
    /// Another session of the same user took the place (RFC 2866 §5.10
    /// Port Preempted).
    pub(crate) const PORT_PREEMPTED: u32 = 13;
    /// What the user needs is not available (no address, no common method).
    pub(crate) const SERVICE_UNAVAILABLE: u32 = 15;
    /// An error of the user's end (bad data, broken protocol, failed
    /// authentication or binding).
    pub(crate) const USER_ERROR: u32 = 17;
}

/// The Acct-Terminate-Cause (RFC 2866 5.10) of a session that ended with
/// `reason`; `None` is a session dropped at server shutdown.
pub(crate) fn terminate_cause(reason: Option<&CloseReason>) -> u32 {
    let Some(reason) = reason else {
        return cause::ADMIN_REBOOT;
    };
    match reason {
        // The server closes a session itself only when it stops.
        CloseReason::LocalClose => cause::ADMIN_REBOOT,
        CloseReason::PeerDisconnected | CloseReason::PeerTerminated { .. } => cause::USER_REQUEST,
        CloseReason::PeerAborted { .. } => cause::LOST_SERVICE,
        CloseReason::TransportClosed => cause::LOST_CARRIER,
        CloseReason::Ended(Ending::SessionTimeout) => cause::SESSION_TIMEOUT,
        CloseReason::Ended(Ending::IdleTimeout) => cause::IDLE_TIMEOUT,
        CloseReason::Ended(Ending::AdminReset) => cause::ADMIN_RESET,
        CloseReason::Ended(Ending::Preempted) => cause::PORT_PREEMPTED,
        // Every timer that ends a call is the peer gone quiet (MS-SSTP
        // 3.1.2.3 Hello, RFC 1661 5.8 keepalive, the negotiation and
        // teardown bounds of 3.1.2.2).
        CloseReason::Timeout(
            Timer::Hello | Timer::LcpKeepalive | Timer::SstpNegotiation | Timer::CallDisconnectAck,
        ) => cause::LOST_CARRIER,
        CloseReason::Refused { cause, .. } => match cause {
            Refusal::NoAddress => cause::SERVICE_UNAVAILABLE,
            Refusal::AddressInUse => cause::NAS_REQUEST,
            Refusal::Misconfigured => cause::NAS_ERROR,
            _ => cause::SERVICE_UNAVAILABLE,
        },
        CloseReason::Incompatible(
            Missing::AuthMethod { .. } | Missing::NoAuthAgreed | Missing::AuthProtocolRejected(_),
        ) => cause::SERVICE_UNAVAILABLE,
        // The rest is the user's end at fault: malformed data, a broken
        // rule, a failed binding or authentication, a PPP failure, a
        // Call Connect Request we could never accept.
        _ => cause::USER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sstp_core::PppProtocol as Protocol;
    use sstp_core::wire::sstp::MessageType;
    use sstp_core::{
        AuthFailure, ControlState, DeframeError, Malformed, NegotiationFailure, PppFailure,
        Violation,
    };

    #[test]
    fn each_reason_maps_to_its_rfc_2866_cause() {
        let refused = |cause| CloseReason::Refused {
            cause,
            reason: "words the mapping never reads".into(),
        };
        let cases = [
            (None, 7),
            (Some(CloseReason::LocalClose), 7),
            (Some(CloseReason::PeerDisconnected), 1),
            (
                Some(CloseReason::PeerTerminated {
                    reason: "bye".into(),
                }),
                1,
            ),
            (Some(CloseReason::PeerAborted { status: None }), 3),
            (Some(CloseReason::TransportClosed), 2),
            (Some(CloseReason::Ended(Ending::IdleTimeout)), 4),
            (Some(CloseReason::Ended(Ending::SessionTimeout)), 5),
            (Some(CloseReason::Ended(Ending::AdminReset)), 6),
            (Some(CloseReason::Ended(Ending::Preempted)), 13),
            (Some(CloseReason::Timeout(Timer::Hello)), 2),
            (Some(CloseReason::Timeout(Timer::LcpKeepalive)), 2),
            (Some(CloseReason::Timeout(Timer::SstpNegotiation)), 2),
            (Some(refused(Refusal::NoAddress)), 15),
            (Some(refused(Refusal::AddressInUse)), 10),
            (Some(refused(Refusal::Misconfigured)), 9),
            (
                Some(CloseReason::Incompatible(Missing::AuthProtocolRejected(
                    Protocol::PAP,
                ))),
                15,
            ),
            (
                Some(CloseReason::Incompatible(
                    Missing::ConnectRequestUnacceptable,
                )),
                17,
            ),
            (
                Some(CloseReason::PeerMalformed(Malformed::Framing(
                    DeframeError::LengthTooShort { length: 2 },
                ))),
                17,
            ),
            (
                Some(CloseReason::PeerMisbehaved(Violation::Unexpected {
                    message: MessageType::CALL_CONNECT_REQUEST,
                    state: ControlState::ServerCallConnected,
                })),
                17,
            ),
            (
                Some(CloseReason::PppFailed(PppFailure::Negotiation {
                    protocol: Protocol::LCP,
                    failure: NegotiationFailure::NoResponse,
                })),
                17,
            ),
            (
                Some(CloseReason::AuthFailed(AuthFailure::Rejected {
                    mschapv2_error: Some(691),
                    message: "E=691".into(),
                })),
                17,
            ),
        ];
        for (reason, expected) in cases {
            assert_eq!(terminate_cause(reason.as_ref()), expected, "{reason:?}");
        }
    }
}
