//! The MS-SSTP control state machines: client call establishment (3.2.1.1.1),
//! server call establishment (3.3.1.1.1), and the common abort and disconnect
//! machines (3.1.1.1) with their timers (3.1.2, 3.2.2, 3.3.2).
//!
//! `Control` consumes typed control messages and local events and writes
//! the control messages it sends straight into the session's transmit buffer.
//! What the PPP side must know comes out as `ControlEvent`s:
//! `LowerLayerUp` (start PPP), `Connected` (the call is established: data may
//! flow) and `Closed` (the connection is over; the driver closes TLS).
//!
//! The `_In_Progress_1/2` states of the spec are transient ("send, then change
//! state"), so they exist here only as the moment a transition sends its
//! message.
//!
//! Two deliberate leniencies, both for real peers:
//! - an Echo Request is answered in every established or establishing state,
//!   not only in `*_Call_Connected` (3.2.5.3.7 would abort): SoftEther sends
//!   SSTP echoes every 2.5 to 4.8 seconds from the start;
//!   an unexpected Echo Response is ignored for the same reason;
//! - a Call Connected that arrives before the server's authentication
//!   verdict is held, not rejected (a client may send it while the server
//!   still waits on RADIUS; accel-ppp does the same), and checked once the HLAK is known.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::crypto::binding::{self, AcceptedCertHashes, CertHashes, Hlak};
use crate::error::{CloseReason, Malformed, Missing, Timer, Violation};
use crate::wire::ParseError;
use crate::wire::sstp::{
    AttributeId, CALL_CONNECTED_LEN, CryptoBinding, CryptoBindingRequest, HashBitmask,
    HashProtocol, Message, MessageError, MessageType, ProtocolId, Status, StatusInfo,
};

/// The timer values of MS-SSTP, all configurable.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstpTimers {
    /// Negotiation timer (3.2.2.1, 3.3.2.1): 60 s.
    pub negotiation: Duration,
    /// Hello timer (3.1.2.3): 60 s of receive silence sends an Echo Request;
    /// another interval without any packet aborts without a Call Abort.
    pub hello: Duration,
    /// TIMER_VAL_ABORT_STATE_TIMER_1 (3.1.2.1): 3 s.
    pub abort_1: Duration,
    /// TIMER_VAL_ABORT_STATE_TIMER_2 (3.1.2.1): 1 s.
    pub abort_2: Duration,
    /// TIMER_VAL_DISCONNECT_STATE_TIMER_1 (3.1.2.2): 5 s.
    pub disconnect_1: Duration,
    /// TIMER_VAL_DISCONNECT_STATE_TIMER_2 (3.1.2.2): 1 s.
    pub disconnect_2: Duration,
}

impl Default for SstpTimers {
    fn default() -> Self {
        Self {
            negotiation: Duration::from_secs(60),
            hello: Duration::from_secs(60),
            abort_1: Duration::from_secs(3),
            abort_2: Duration::from_secs(1),
            disconnect_1: Duration::from_secs(5),
            disconnect_2: Duration::from_secs(1),
        }
    }
}

/// How many Call Connect NAKs a client accepts before it aborts (3.2.5.3.3;
/// Windows retries 3 times, Appendix A <10>), and how many a server sends
/// before it aborts with RETRY_COUNT_EXCEEDED (3.3.5.2.2, <16>).
pub(crate) const MAX_CONNECT_RETRIES: u8 = 3;

/// The state of one SSTP connection (`CurrentState`, 3.1.1, 3.2.1, 3.3.1).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlState {
    /// Client_Call_Disconnected: before the Call Connect Request.
    ClientCallDisconnected,
    /// Client_Connect_Request_Sent.
    ClientConnectRequestSent,
    /// Client_Connect_Ack_Received: PPP runs; waiting for authentication.
    ClientConnectAckReceived,
    /// Client_Call_Connected.
    ClientCallConnected,
    /// Server_Connect_Request_Pending.
    ServerConnectRequestPending,
    /// Server_Call_Connected_Pending: PPP control frames only.
    ServerCallConnectedPending,
    /// Server_Call_Connected: binding verified, data flows.
    ServerCallConnected,
    /// Call_Abort_Pending: our Call Abort is out; waiting for the peer's.
    CallAbortPending,
    /// Call_Abort_Timeout_Pending: both aborts seen; waiting out timer 2.
    CallAbortTimeoutPending,
    /// Call_Disconnect_Ack_Pending: our Call Disconnect is out.
    CallDisconnectAckPending,
    /// Call_Disconnect_Timeout_Pending: we acknowledged the peer's
    /// disconnect; waiting out timer 2.
    CallDisconnectTimeoutPending,
    /// The connection state is cleared; nothing more is sent or accepted.
    Closed,
}

impl ControlState {
    /// A teardown state, in which (nearly) everything received is ignored.
    pub const fn is_teardown(self) -> bool {
        matches!(
            self,
            Self::CallAbortPending
                | Self::CallAbortTimeoutPending
                | Self::CallDisconnectAckPending
                | Self::CallDisconnectTimeoutPending
                | Self::Closed
        )
    }
}

/// What the control machine tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ControlEvent {
    /// Lower Link Up (3.1.7.1): start the PPP state machine.
    LowerLayerUp,
    /// The call is established: client sent Call Connected (3.2.7.1), or the
    /// server verified it (3.3.5.2.3). PPP data frames may flow.
    Connected { hash: HashProtocol },
    /// The connection state is cleared: Lower Link Down to PPP, and close TLS.
    Closed(CloseReason),
}

/// Per-role data for the crypto binding.
#[derive(Debug)]
enum Binding {
    Client {
        /// ClientHashProtocolSupported (3.2.1).
        supported: HashBitmask,
        /// ClientCertificateHash (3.2.1), both forms.
        cert_hashes: CertHashes,
        /// ClientNonce and ClientHashProtocolChosen, from the Call Connect Ack.
        nonce: Option<([u8; 32], HashProtocol)>,
    },
    Server {
        /// ServerHashProtocolSupported (3.3.1), offered in the Ack.
        offered: HashBitmask,
        /// ServerCertificateHash (3.3.1): every hash accepted.
        cert_hashes: AcceptedCertHashes,
        /// The nonce of our Call Connect Ack.
        nonce: [u8; 32],
        /// ServerHLAKKey (3.3.1), once authentication succeeded.
        hlak: Option<Hlak>,
        /// A Call Connected that arrived before the HLAK, as received.
        deferred: Option<Box<[u8; CALL_CONNECTED_LEN]>>,
        /// The hash the client used, once its binding verified.
        verified: Option<HashProtocol>,
    },
}

/// One SSTP connection's control state machine (either role).
#[derive(Debug)]
pub(crate) struct Control {
    state: ControlState,
    timers: SstpTimers,
    binding: Binding,
    /// Negotiation timer deadline.
    negotiation: Option<Instant>,
    /// Hello timer deadline, and whether our Echo Request is unanswered.
    hello: Option<Instant>,
    echo_outstanding: bool,
    /// Abort or disconnect timer deadline (they never run together).
    teardown: Option<Instant>,
    /// NAKs received (client) or sent (server) so far.
    retries: u8,
    /// Why the connection is ending, kept from the first cause.
    close_reason: Option<CloseReason>,
    events: VecDeque<ControlEvent>,
}

impl Control {
    /// A client machine; the session calls [`Control::start_client`] to send
    /// the Call Connect Request.
    pub(crate) fn new_client(
        timers: SstpTimers,
        supported: HashBitmask,
        cert_hashes: CertHashes,
    ) -> Self {
        Self::new(
            ControlState::ClientCallDisconnected,
            timers,
            Binding::Client {
                supported,
                cert_hashes,
                nonce: None,
            },
        )
    }

    /// A server machine for a new HTTPS connection: it enters
    /// Server_Connect_Request_Pending and starts the negotiation timer
    /// (3.3.2.1).
    pub(crate) fn new_server(
        now: Instant,
        timers: SstpTimers,
        offered: HashBitmask,
        cert_hashes: AcceptedCertHashes,
        nonce: [u8; 32],
    ) -> Self {
        let mut control = Self::new(
            ControlState::ServerConnectRequestPending,
            timers,
            Binding::Server {
                offered,
                cert_hashes,
                nonce,
                hlak: None,
                deferred: None,
                verified: None,
            },
        );
        control.negotiation = Some(now + timers.negotiation);
        control
    }

    fn new(state: ControlState, timers: SstpTimers, binding: Binding) -> Self {
        Self {
            state,
            timers,
            binding,
            negotiation: None,
            hello: None,
            echo_outstanding: false,
            teardown: None,
            retries: 0,
            close_reason: None,
            events: VecDeque::new(),
        }
    }

    pub(crate) fn state(&self) -> ControlState {
        self.state
    }

    pub(crate) fn poll_event(&mut self) -> Option<ControlEvent> {
        self.events.pop_front()
    }

    /// Whether PPP control frames may pass (3.2.7.2, 3.3.1.1.1).
    pub(crate) fn passes_ppp_control(&self) -> bool {
        matches!(
            self.state,
            ControlState::ClientConnectAckReceived
                | ControlState::ClientCallConnected
                | ControlState::ServerCallConnectedPending
                | ControlState::ServerCallConnected
        )
    }

    /// Whether PPP data frames may pass: only once the call is connected
    /// (3.2.7.2; server 3.3.5.2.3 "MUST allow only PPP control frames" before).
    pub(crate) fn passes_ppp_data(&self) -> bool {
        matches!(
            self.state,
            ControlState::ClientCallConnected | ControlState::ServerCallConnected
        )
    }

    /// The hash protocol of the established call's binding.
    pub(crate) fn chosen_hash(&self) -> Option<HashProtocol> {
        match &self.binding {
            Binding::Client { nonce, .. } => nonce.map(|(_, h)| h),
            Binding::Server { verified, .. } => *verified,
        }
    }

    /// Client, 3.2.4.1: the HTTPS session is up; send the Call Connect
    /// Request and start the negotiation timer.
    pub(crate) fn start_client(&mut self, now: Instant, tx: &mut Vec<u8>) {
        if self.state != ControlState::ClientCallDisconnected {
            return;
        }
        send(
            tx,
            &Message::CallConnectRequest {
                protocol_id: ProtocolId::PPP,
            },
        );
        self.state = ControlState::ClientConnectRequestSent;
        self.negotiation = Some(now + self.timers.negotiation);
    }

    /// Any SSTP packet arrived: restarts the Hello timer (3.1.2.3).
    pub(crate) fn on_packet_received(&mut self, now: Instant) {
        if self.hello.is_some() {
            self.hello = Some(now + self.timers.hello);
            self.echo_outstanding = false;
        }
    }

    /// A control packet that did not pass the message rules (3.1.5.1; a
    /// server NAKs a bad Call Connect Request, 3.3.5.2.2).
    pub(crate) fn on_invalid_message(
        &mut self,
        now: Instant,
        error: &MessageError,
        tx: &mut Vec<u8>,
    ) {
        if self.state.is_teardown() {
            return;
        }
        if error.calls_for_nak() && self.state == ControlState::ServerConnectRequestPending {
            self.server_nak(now, error.status_infos().to_vec(), tx);
            return;
        }
        self.abort(
            now,
            error.status_info(),
            CloseReason::PeerMalformed(Malformed::Message(error.clone())),
            tx,
        );
    }

    /// A valid control message (3.2.5.3, 3.3.5.2); `raw` is the whole packet
    /// as received (the Compound MAC is checked over those exact bytes).
    pub(crate) fn on_message(
        &mut self,
        now: Instant,
        message: Message,
        raw: &[u8],
        tx: &mut Vec<u8>,
    ) {
        use ControlState as S;
        match message {
            // 3.2.5.3.4 / 3.3.5.2.4.
            Message::CallAbort { status } => match self.state {
                S::CallAbortPending => {
                    self.teardown = Some(now + self.timers.abort_2);
                    self.state = S::CallAbortTimeoutPending;
                }
                S::CallAbortTimeoutPending | S::CallDisconnectTimeoutPending | S::Closed => {}
                _ => {
                    self.set_reason(CloseReason::PeerAborted { status });
                    send(tx, &Message::CallAbort { status: None });
                    self.enter_teardown(S::CallAbortTimeoutPending, now + self.timers.abort_2);
                }
            },
            // 3.2.5.3.5 / 3.3.5.2.5.
            Message::CallDisconnect { .. } => match self.state {
                S::CallAbortPending
                | S::CallAbortTimeoutPending
                | S::CallDisconnectTimeoutPending
                | S::Closed => {}
                S::CallDisconnectAckPending => {
                    send(tx, &Message::CallDisconnectAck);
                    self.enter_teardown(
                        S::CallDisconnectTimeoutPending,
                        now + self.timers.disconnect_2,
                    );
                }
                _ => {
                    self.set_reason(CloseReason::PeerDisconnected);
                    send(tx, &Message::CallDisconnectAck);
                    self.enter_teardown(
                        S::CallDisconnectTimeoutPending,
                        now + self.timers.disconnect_2,
                    );
                }
            },
            // 3.2.5.3.6 / 3.3.5.2.6.
            Message::CallDisconnectAck => match self.state {
                S::CallDisconnectAckPending => self.close(),
                S::CallAbortPending
                | S::CallAbortTimeoutPending
                | S::CallDisconnectTimeoutPending
                | S::Closed => {}
                _ => self.abort_unexpected(now, MessageType::CALL_DISCONNECT_ACK, tx),
            },
            // 3.2.5.3.7 / 3.3.5.2.7, answered in every live state (module docs).
            Message::EchoRequest => {
                if !self.state.is_teardown() {
                    send(tx, &Message::EchoResponse);
                }
            }
            // 3.2.5.3.8 / 3.3.5.2.8: the Hello timer was restarted already.
            Message::EchoResponse => {}
            Message::CallConnectRequest { protocol_id } => {
                self.on_connect_request(now, protocol_id, tx);
            }
            Message::CallConnectAck { request } => self.on_connect_ack(now, request, tx),
            Message::CallConnectNak { status_infos } => {
                self.on_connect_nak(now, &status_infos, tx);
            }
            Message::CallConnected { .. } => self.on_call_connected(now, raw, tx),
            // An undefined message type is an invalid frame (2.2.8, 3.1.5.1).
            other => {
                if !self.state.is_teardown() {
                    let message_type = match other {
                        Message::Unknown(control) => control.message_type,
                        _ => MessageType(0),
                    };
                    self.abort(
                        now,
                        StatusInfo::new(AttributeId::NO_ERROR, Status::INVALID_FRAME_RECEIVED),
                        CloseReason::PeerMalformed(Malformed::UnknownMessage(message_type)),
                        tx,
                    );
                }
            }
        }
    }

    /// Server, 3.3.5.2.2.
    fn on_connect_request(&mut self, now: Instant, protocol_id: ProtocolId, tx: &mut Vec<u8>) {
        match self.state {
            ControlState::ServerConnectRequestPending => {}
            s if s.is_teardown() => return,
            _ => return self.abort_unexpected(now, MessageType::CALL_CONNECT_REQUEST, tx),
        }
        if protocol_id != ProtocolId::PPP {
            // Item 5: the encapsulated protocol is not supported.
            let info = StatusInfo::with_value(
                AttributeId::ENCAPSULATED_PROTOCOL_ID,
                Status::VALUE_NOT_SUPPORTED,
                &protocol_id.0.to_be_bytes(),
            );
            return self.server_nak(now, vec![info], tx);
        }
        let Binding::Server { offered, nonce, .. } = &self.binding else {
            return;
        };
        send(
            tx,
            &Message::CallConnectAck {
                request: CryptoBindingRequest {
                    hash_bitmask: *offered,
                    nonce: *nonce,
                },
            },
        );
        self.negotiation = Some(now + self.timers.negotiation);
        self.state = ControlState::ServerCallConnectedPending;
        self.events.push_back(ControlEvent::LowerLayerUp);
    }

    /// Server: NAK an unacceptable Call Connect Request, or abort once the
    /// retry budget is spent (3.3.5.2.2).
    fn server_nak(&mut self, now: Instant, status_infos: Vec<StatusInfo>, tx: &mut Vec<u8>) {
        self.retries = self.retries.saturating_add(1);
        if self.retries > MAX_CONNECT_RETRIES {
            return self.abort(
                now,
                StatusInfo::new(AttributeId::STATUS_INFO, Status::RETRY_COUNT_EXCEEDED),
                CloseReason::Incompatible(Missing::ConnectRequestUnacceptable),
                tx,
            );
        }
        send(tx, &Message::CallConnectNak { status_infos });
    }

    /// Client, 3.2.5.3.2.
    fn on_connect_ack(&mut self, now: Instant, request: CryptoBindingRequest, tx: &mut Vec<u8>) {
        match self.state {
            ControlState::ClientConnectRequestSent => {}
            s if s.is_teardown() => return,
            _ => return self.abort_unexpected(now, MessageType::CALL_CONNECT_ACK, tx),
        }
        let Binding::Client {
            supported, nonce, ..
        } = &mut self.binding
        else {
            return;
        };
        // The server must offer at least one hash we support; prefer SHA256.
        let Some(chosen) = request.hash_bitmask.choose(*supported) else {
            return self.abort(
                now,
                StatusInfo::new(AttributeId::CRYPTO_BINDING_REQ, Status::VALUE_NOT_SUPPORTED),
                CloseReason::Incompatible(Missing::BindingHash {
                    offered: request.hash_bitmask,
                }),
                tx,
            );
        };
        *nonce = Some((request.nonce, chosen));
        self.negotiation = Some(now + self.timers.negotiation);
        self.state = ControlState::ClientConnectAckReceived;
        self.events.push_back(ControlEvent::LowerLayerUp);
    }

    /// Client, 3.2.5.3.3.
    fn on_connect_nak(&mut self, now: Instant, status_infos: &[StatusInfo], tx: &mut Vec<u8>) {
        match self.state {
            ControlState::ClientConnectRequestSent => {}
            s if s.is_teardown() => return,
            _ => return self.abort_unexpected(now, MessageType::CALL_CONNECT_NAK, tx),
        }
        self.retries = self.retries.saturating_add(1);
        if self.retries > MAX_CONNECT_RETRIES {
            return self.abort(
                now,
                StatusInfo::new(AttributeId::STATUS_INFO, Status::RETRY_COUNT_EXCEEDED),
                CloseReason::Incompatible(Missing::ConnectRequestRefused {
                    status: status_infos.first().copied(),
                }),
                tx,
            );
        }
        send(
            tx,
            &Message::CallConnectRequest {
                protocol_id: ProtocolId::PPP,
            },
        );
        self.negotiation = Some(now + self.timers.negotiation);
    }

    /// Server, 3.3.5.2.3. The MAC is checked over the 112 bytes exactly as
    /// received (reserved fields included), not over a re-encoding.
    fn on_call_connected(&mut self, now: Instant, raw: &[u8], tx: &mut Vec<u8>) {
        match self.state {
            ControlState::ServerCallConnectedPending => {}
            s if s.is_teardown() => return,
            _ => return self.abort_unexpected(now, MessageType::CALL_CONNECTED, tx),
        }
        // Message::parse accepted it as a Call Connected, so it is 112 bytes.
        let Some(bytes) = raw.first_chunk::<CALL_CONNECTED_LEN>().copied() else {
            let short = ParseError::BadLength {
                what: "Call Connected",
                length: raw.len(),
            };
            return self.abort(
                now,
                StatusInfo::new(AttributeId::STATUS_INFO, Status::INVALID_FRAME_RECEIVED),
                CloseReason::PeerMalformed(Malformed::Message(short.into())),
                tx,
            );
        };
        let Binding::Server { hlak, deferred, .. } = &mut self.binding else {
            return;
        };
        if hlak.is_none() {
            // Early (the verdict may wait on RADIUS): hold it; only one.
            if deferred.is_none() {
                *deferred = Some(Box::new(bytes));
            }
            return;
        }
        self.verify_binding(now, &bytes, tx);
    }

    /// Server: authentication succeeded (3.3.7.1 ServerHLAKKey); checks a
    /// Call Connected that was waiting for it.
    pub(crate) fn set_hlak(&mut self, now: Instant, new_hlak: Hlak, tx: &mut Vec<u8>) {
        let Binding::Server { hlak, deferred, .. } = &mut self.binding else {
            return;
        };
        *hlak = Some(new_hlak);
        if let Some(bytes) = deferred.take()
            && self.state == ControlState::ServerCallConnectedPending
        {
            self.verify_binding(now, &bytes, tx);
        }
    }

    fn verify_binding(&mut self, now: Instant, bytes: &[u8; CALL_CONNECTED_LEN], tx: &mut Vec<u8>) {
        let Binding::Server {
            offered,
            cert_hashes,
            nonce,
            hlak: Some(hlak),
            ..
        } = &self.binding
        else {
            return;
        };
        match binding::verify_call_connected(bytes, *offered, nonce, cert_hashes, hlak) {
            Ok(hash) => {
                if let Binding::Server { verified, .. } = &mut self.binding {
                    *verified = Some(hash);
                }
                self.negotiation = None;
                self.state = ControlState::ServerCallConnected;
                self.start_hello(now);
                self.events.push_back(ControlEvent::Connected { hash });
            }
            Err(error) => {
                // 3.3.5.2.3: binding mismatches abort with
                // (CRYPTO_BINDING, VALUE_NOT_SUPPORTED).
                self.abort(
                    now,
                    StatusInfo::new(AttributeId::CRYPTO_BINDING, Status::VALUE_NOT_SUPPORTED),
                    CloseReason::BindingFailed(error),
                    tx,
                );
            }
        }
    }

    /// Client, 3.2.7.1 Inner Authentication Completed: send Call Connected
    /// with the crypto binding and enter Client_Call_Connected.
    pub(crate) fn client_authenticated(&mut self, now: Instant, hlak: &Hlak, tx: &mut Vec<u8>) {
        if self.state != ControlState::ClientConnectAckReceived {
            return;
        }
        let Binding::Client {
            cert_hashes,
            nonce: Some((nonce, hash)),
            ..
        } = &self.binding
        else {
            return;
        };
        let hash = *hash;
        let attribute = CryptoBinding {
            hash_protocol: HashBitmask::only(hash),
            nonce: *nonce,
            cert_hash: cert_hashes.padded(hash),
            compound_mac: [0; 32],
        };
        let mut bytes = attribute.call_connected_bytes();
        binding::seal_call_connected(&mut bytes, hash, hlak);
        tx.extend_from_slice(&bytes);
        self.negotiation = None;
        self.state = ControlState::ClientCallConnected;
        self.start_hello(now);
        self.events.push_back(ControlEvent::Connected { hash });
    }

    fn start_hello(&mut self, now: Instant) {
        self.hello = Some(now + self.timers.hello);
        self.echo_outstanding = false;
    }

    /// Local disconnect (3.2.4.2, 3.3.4): Call Disconnect, then wait for the
    /// Ack under TIMER_VAL_DISCONNECT_STATE_TIMER_1.
    pub(crate) fn disconnect(&mut self, now: Instant, reason: CloseReason, tx: &mut Vec<u8>) {
        if self.state.is_teardown() {
            return;
        }
        self.set_reason(reason);
        if self.state == ControlState::ClientCallDisconnected {
            // Nothing was sent yet: nothing to tear down on the wire.
            return self.close();
        }
        send(
            tx,
            &Message::CallDisconnect {
                status: Some(StatusInfo::new(AttributeId::NO_ERROR, Status::NO_ERROR)),
            },
        );
        self.enter_teardown(
            ControlState::CallDisconnectAckPending,
            now + self.timers.disconnect_1,
        );
    }

    /// Abort (3.1.5.1): Call Abort with a Status Info, then wait for the
    /// peer's under TIMER_VAL_ABORT_STATE_TIMER_1.
    pub(crate) fn abort(
        &mut self,
        now: Instant,
        status: StatusInfo,
        reason: CloseReason,
        tx: &mut Vec<u8>,
    ) {
        if self.state.is_teardown() {
            return;
        }
        self.set_reason(reason);
        send(
            tx,
            &Message::CallAbort {
                status: Some(status),
            },
        );
        self.enter_teardown(ControlState::CallAbortPending, now + self.timers.abort_1);
    }

    fn abort_unexpected(&mut self, now: Instant, message: MessageType, tx: &mut Vec<u8>) {
        let violation = Violation::Unexpected {
            message,
            state: self.state,
        };
        self.abort(
            now,
            StatusInfo::new(AttributeId::NO_ERROR, Status::UNACCEPTED_FRAME_RECEIVED),
            CloseReason::PeerMisbehaved(violation),
            tx,
        );
    }

    /// Clears the state without a word on the wire: framing failure
    /// (3.1.5.1), Hello timeout (3.1.2.3), or HTTPS gone (3.1.7.2).
    pub(crate) fn kill(&mut self, reason: CloseReason) {
        if self.state == ControlState::Closed {
            return;
        }
        self.set_reason(reason);
        self.close();
    }

    fn enter_teardown(&mut self, state: ControlState, deadline: Instant) {
        self.state = state;
        self.teardown = Some(deadline);
        self.negotiation = None;
        self.hello = None;
    }

    fn set_reason(&mut self, reason: CloseReason) {
        if self.close_reason.is_none() {
            self.close_reason = Some(reason);
        }
    }

    fn close(&mut self) {
        self.state = ControlState::Closed;
        self.negotiation = None;
        self.hello = None;
        self.teardown = None;
        let reason = self.close_reason.take().unwrap_or(CloseReason::LocalClose);
        self.events.push_back(ControlEvent::Closed(reason));
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [self.negotiation, self.hello, self.teardown]
            .into_iter()
            .flatten()
            .min()
    }

    /// Timer processing (3.1.6, 3.2.6.1, 3.3.2.1).
    pub(crate) fn handle_timeout(&mut self, now: Instant, tx: &mut Vec<u8>) {
        if self.teardown.is_some_and(|t| t <= now) {
            // Abort timers 1/2 and disconnect timers 1/2 all end in cleanup.
            self.teardown = None;
            if self.state == ControlState::CallDisconnectAckPending {
                self.set_reason(CloseReason::Timeout(Timer::CallDisconnectAck));
            }
            self.close();
            return;
        }
        if self.negotiation.is_some_and(|t| t <= now) {
            self.negotiation = None;
            self.abort(
                now,
                StatusInfo::new(AttributeId::NO_ERROR, Status::NEGOTIATION_TIMEOUT),
                CloseReason::Timeout(Timer::SstpNegotiation),
                tx,
            );
            return;
        }
        if self.hello.is_some_and(|t| t <= now) {
            if self.echo_outstanding {
                // 3.1.2.3: no packet within the next interval either.
                self.kill(CloseReason::Timeout(Timer::Hello));
            } else {
                send(tx, &Message::EchoRequest);
                self.echo_outstanding = true;
                self.hello = Some(now + self.timers.hello);
            }
        }
    }
}

fn send(tx: &mut Vec<u8>, message: &Message) {
    message.emit(tx);
}

#[cfg(test)]
mod tests;
