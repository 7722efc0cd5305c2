//! Dynamic Authorization (RFC 5176): the server is the "NAS" a RADIUS
//! server (or `radclient`) sends Disconnect-Request and CoA-Request to.
//!
//! Only the configured clients are heard, each with its own secret; a
//! request from anyone else, one that does not verify (RFC 5176 §2.3 Request
//! Authenticator, §3.5 Message-Authenticator), or one whose Event-Timestamp
//! is outside the replay window (§3.5) is dropped without an answer and
//! counted, so a flood costs one MD5 per datagram and harms no session. A
//! retransmission (same client, identifier and authenticator) gets the
//! first answer again (§2.3: requests are idempotent to the sender).
//!
//! The session is named by Acct-Session-Id, User-Name and
//! Framed-IP-Address; every one given must match (§3). A Disconnect-Request
//! ends the matching sessions with Admin-Reset (ACK); a CoA-Request sets
//! their Session-Timeout, counted from now. No match: NAK with Error-Cause
//! 503 Session Context Not Found (§3.5).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sstp_core::Ending;
use sstp_radius::{Code, ErrorCause, Packet, Response, attr, verify_request};
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use crate::metrics::RadiusMetrics;
use crate::sessions::{Control, Selector, Sessions};

/// How long an answer is kept for a retransmitted request.
const ANSWER_CACHE: Duration = Duration::from_secs(30);
/// Answers kept at most (one per client and identifier at a time).
const MAX_CACHED: usize = 4096;

/// The attributes a request may carry besides the session identification:
/// the NAS's identity, the replay guard, the signature and, in a
/// CoA-Request, the one change this server makes.
const ALLOWED: [u8; 7] = [
    attr::NAS_IDENTIFIER,
    attr::NAS_IP_ADDRESS,
    attr::NAS_IPV6_ADDRESS,
    attr::EVENT_TIMESTAMP,
    attr::MESSAGE_AUTHENTICATOR,
    attr::PROXY_STATE,
    attr::SESSION_TIMEOUT,
];

/// The listener and what it needs.
#[derive(Debug)]
pub(crate) struct Dae {
    pub(crate) socket: UdpSocket,
    pub(crate) clients: Vec<(IpAddr, Zeroizing<Vec<u8>>)>,
    pub(crate) replay_window: Duration,
    pub(crate) nas_identifier: String,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) metrics: Arc<RadiusMetrics>,
}

/// An answer kept for retransmissions: the request's authenticator, the
/// answer's bytes, when it was sent.
type Cached = ([u8; 16], Vec<u8>, Instant);

/// The answer to one verified request.
struct Answer {
    code: Code,
    cause: Option<ErrorCause>,
}

impl Dae {
    /// Serves until the task is dropped.
    pub(crate) async fn run(self) {
        let mut buf = vec![0u8; 4096];
        let mut cache: HashMap<(SocketAddr, u8), Cached> = HashMap::new();
        loop {
            let (n, from) = match self.socket.recv_from(&mut buf).await {
                Ok(got) => got,
                Err(e) => {
                    debug!(error = %e, "DAE socket receive failed");
                    continue;
                }
            };
            let bytes = &buf[..n];
            let Some((_, secret)) = self.clients.iter().find(|(ip, _)| *ip == from.ip()) else {
                self.metrics.dae("unknown_client");
                debug!(%from, "DAE request from an address that is no [[radius.dae.client]]; dropped");
                continue;
            };
            let packet = match verify_request(bytes, secret) {
                Ok(p) => p,
                Err(e) => {
                    self.metrics.dae("forged");
                    warn!(%from, error = %e, "DAE request does not verify (wrong secret or forged); dropped");
                    continue;
                }
            };
            if !matches!(packet.code, Code::DisconnectRequest | Code::CoaRequest) {
                self.metrics.dae("malformed");
                debug!(%from, code = %packet.code, "not a Disconnect-Request or CoA-Request; dropped");
                continue;
            }
            let key = (from, packet.identifier);
            if let Some((auth, answer, at)) = cache.get(&key)
                && *auth == packet.authenticator
                && at.elapsed() < ANSWER_CACHE
            {
                self.metrics.dae("retransmitted");
                let _ = self.socket.send_to(answer, from).await;
                continue;
            }
            if !self.fresh(&packet) {
                self.metrics.dae("replayed");
                warn!(%from, "DAE request outside the replay window (Event-Timestamp); dropped");
                continue;
            }
            let answer = self.decide(&packet, from);
            let mut response = Response::new(answer.code);
            if let Some(cause) = answer.cause {
                response = response.error_cause(cause);
            }
            let Ok(bytes) = response.encode(&packet, secret) else {
                continue;
            };
            self.metrics
                .dae(if answer.cause.is_some() { "nak" } else { "ack" });
            if let Err(e) = self.socket.send_to(&bytes, from).await {
                debug!(error = %e, "DAE answer not sent");
            }
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (_, _, at)| at.elapsed() < ANSWER_CACHE);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(key, (packet.authenticator, bytes, Instant::now()));
        }
    }

    /// RFC 5176 §3.5: an Event-Timestamp further than the window from our
    /// clock is a replay. A request without one passes (the identifier
    /// cache still catches exact repeats).
    fn fresh(&self, packet: &Packet) -> bool {
        let Ok(Some(stamp)) = packet.event_timestamp() else {
            return true;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now.abs_diff(u64::from(stamp)) <= self.replay_window.as_secs()
    }

    fn decide(&self, packet: &Packet, from: SocketAddr) -> Answer {
        let nak = |cause| Answer {
            code: match packet.code {
                Code::CoaRequest => Code::CoaNak,
                _ => Code::DisconnectNak,
            },
            cause: Some(cause),
        };
        let ack = Answer {
            code: match packet.code {
                Code::CoaRequest => Code::CoaAck,
                _ => Code::DisconnectAck,
            },
            cause: None,
        };
        if let Some(id) = packet.get(attr::NAS_IDENTIFIER)
            && id.value != self.nas_identifier.as_bytes()
        {
            return nak(ErrorCause::NAS_IDENTIFICATION_MISMATCH);
        }
        let mut selector = Selector::default();
        let mut timeout = None;
        for a in &packet.attributes {
            match a.ty {
                attr::ACCT_SESSION_ID => {
                    selector.acct_session_id = Some(String::from_utf8_lossy(&a.value).into_owned());
                }
                attr::USER_NAME => {
                    selector.user = Some(String::from_utf8_lossy(&a.value).into_owned());
                }
                attr::FRAMED_IP_ADDRESS => match a.as_ipv4() {
                    Ok(ip) => selector.ipv4 = Some(ip),
                    Err(_) => return nak(ErrorCause::INVALID_REQUEST),
                },
                attr::SESSION_TIMEOUT if packet.code == Code::CoaRequest => match a.as_u32() {
                    Ok(s) if s > 0 => timeout = Some(Duration::from_secs(u64::from(s))),
                    _ => return nak(ErrorCause::INVALID_REQUEST),
                },
                ty if ALLOWED.contains(&ty) && ty != attr::SESSION_TIMEOUT => {}
                ty => {
                    debug!(%from, attribute = ty, "DAE request with an attribute this server does not act on");
                    return nak(ErrorCause::UNSUPPORTED_ATTRIBUTE);
                }
            }
        }
        if selector.is_empty() {
            return nak(ErrorCause::MISSING_ATTRIBUTE);
        }
        let found = self.sessions.select(&selector);
        if found.is_empty() {
            info!(
                %from,
                acct_session_id = selector.acct_session_id.as_deref().unwrap_or("-"),
                user = selector.user.as_deref().unwrap_or("-"),
                ipv4 = %selector.ipv4.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                "DAE request names no live session"
            );
            return nak(ErrorCause::SESSION_CONTEXT_NOT_FOUND);
        }
        // Control is not Copy (a report carries its answer channel).
        let timeout = match (packet.code, timeout) {
            (Code::CoaRequest, Some(t)) => Some(t),
            (Code::CoaRequest, None) => return ack,
            _ => None,
        };
        let order = || match timeout {
            Some(t) => Control::SessionTimeout(t),
            None => Control::End(Ending::AdminReset),
        };
        for entry in &found {
            info!(
                %from,
                user = %entry.user,
                acct_session_id = %entry.acct_session_id,
                request = %packet.code,
                "dynamic authorization request applied"
            );
            if entry.control.try_send(order()).is_err() {
                // The session is ending already, or its task is flooded
                // with orders; either way it goes.
                debug!(acct_session_id = %entry.acct_session_id, "session did not take the order");
            }
        }
        ack
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sstp_radius::Attribute;
    use tokio::sync::mpsc;

    use super::*;
    use crate::sessions::Entry;

    async fn dae(sessions: Arc<Sessions>) -> Dae {
        Dae {
            socket: UdpSocket::bind("127.0.0.1:0").await.expect("udp"),
            clients: Vec::new(),
            replay_window: Duration::from_secs(300),
            nas_identifier: "gw-1".into(),
            sessions,
            metrics: Arc::new(crate::metrics::Metrics::new()).radius.clone(),
        }
    }

    fn request(code: Code, attributes: Vec<Attribute>) -> Packet {
        Packet {
            code,
            identifier: 1,
            authenticator: [0; 16],
            attributes,
        }
    }

    fn cause(answer: &Answer) -> Option<u32> {
        answer.cause.map(|c| c.0)
    }

    #[tokio::test]
    async fn requests_are_judged_by_their_attributes() {
        let sessions = Arc::new(Sessions::default());
        let (control, mut orders) = mpsc::channel(4);
        let _live = sessions.register(
            7,
            Entry::for_test("S-7", "alice", Ipv4Addr::new(10, 77, 0, 2), control),
        );
        let d = dae(sessions).await;
        let from = SocketAddr::from(([127, 0, 0, 1], 1));
        let user = |u: &str| Attribute::new(attr::USER_NAME, u.as_bytes().to_vec());
        let disconnect = |a| d.decide(&request(Code::DisconnectRequest, a), from);

        let a = disconnect(vec![
            Attribute::new(attr::NAS_IDENTIFIER, b"gw-2".to_vec()),
            user("alice"),
        ]);
        assert_eq!((a.code, cause(&a)), (Code::DisconnectNak, Some(403)));
        // Filter-Id (RFC 2865 5.11).
        let a = disconnect(vec![Attribute::new(11, b"x".to_vec()), user("alice")]);
        assert_eq!(cause(&a), Some(401), "an attribute we do not act on");
        let a = disconnect(vec![Attribute::new(attr::NAS_IDENTIFIER, b"gw-1".to_vec())]);
        assert_eq!(cause(&a), Some(402), "no session named");
        let a = disconnect(vec![user("bob")]);
        assert_eq!(cause(&a), Some(503));
        assert!(orders.try_recv().is_err());
        let a = disconnect(vec![
            user("ALICE"),
            Attribute::from_ipv4(attr::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 77, 0, 2)),
        ]);
        assert_eq!((a.code, cause(&a)), (Code::DisconnectAck, None));
        assert!(matches!(
            orders.try_recv(),
            Ok(Control::End(Ending::AdminReset))
        ));

        let coa = |a| d.decide(&request(Code::CoaRequest, a), from);
        let a = coa(vec![
            user("alice"),
            Attribute::from_u32(attr::SESSION_TIMEOUT, 60),
        ]);
        assert_eq!((a.code, cause(&a)), (Code::CoaAck, None));
        assert!(matches!(
            orders.try_recv(),
            Ok(Control::SessionTimeout(d)) if d == Duration::from_secs(60)
        ));
        let a = coa(vec![
            user("alice"),
            Attribute::from_u32(attr::SESSION_TIMEOUT, 0),
        ]);
        assert_eq!((a.code, cause(&a)), (Code::CoaNak, Some(404)));
    }

    #[tokio::test]
    async fn the_replay_window_is_both_ways_and_a_missing_stamp_passes() {
        let d = dae(Arc::new(Sessions::default())).await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as u32;
        let stamped = |t: u32| {
            request(
                Code::DisconnectRequest,
                vec![Attribute::from_u32(attr::EVENT_TIMESTAMP, t)],
            )
        };
        assert!(d.fresh(&stamped(now)));
        assert!(d.fresh(&stamped(now - 299)));
        assert!(!d.fresh(&stamped(now - 301)));
        assert!(!d.fresh(&stamped(now + 301)));
        assert!(d.fresh(&request(Code::DisconnectRequest, Vec::new())));
    }
}
