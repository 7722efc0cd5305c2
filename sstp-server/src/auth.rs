//! Who may connect: the [`AuthBackend`] trait the session driver asks, its
//! per-session [`AuthConversation`], the [`AuthDecision`] it ends on, and
//! [`Chain`], which asks several backends in a configured order.
//!
//! The session engine never looks a password up. It hands the driver an
//! [`AuthRequest`] (method, user name, challenge and response, or a relayed
//! EAP message) and waits for an [`AuthVerdict`]. Most methods take one
//! round; relayed EAP (RFC 3579, a RADIUS server running EAP-TLS, PEAP or
//! EAP-MSCHAPv2) takes as many as the EAP method needs, so a backend
//! answers in a conversation that lives as long as the session's
//! authentication. Each round's answer comes back with the conversation, so
//! the conversation's state (a RADIUS State attribute, which backend of a
//! chain is talking) needs no lock.

use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use sstp_core::{AuthData, AuthRequest, AuthVerdict};

/// What the server tells a backend about the session it authenticates:
/// what a RADIUS Access-Request says of it (RFC 2865 §5.5 NAS-Port, §5.31
/// Calling-Station-Id; RFC 2866 §5.5 Acct-Session-Id).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// The session's accounting id: unique across restarts and nodes.
    pub session_id: String,
    /// The session's port number, unique among the live sessions.
    pub nas_port: u32,
    /// The client's address (behind a trusted proxy, the real one).
    pub peer: SocketAddr,
}

impl AuthContext {
    /// A context; the server makes one per session.
    pub fn new(session_id: impl Into<String>, nas_port: u32, peer: SocketAddr) -> Self {
        Self {
            session_id: session_id.into(),
            nas_port,
            peer,
        }
    }
}

/// What a backend decides about an accepted session besides yes or no: a
/// RADIUS server's reply attributes (RFC 2865 §5, RFC 2869 §5.16, RFC 2548
/// §2.7). Whatever is unset takes the server's configuration.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSettings {
    /// Framed-Pool (RFC 2869 §5.18): the name of the IPv4 pool to lease
    /// from.
    pub pool: Option<String>,
    /// Framed-Route (RFC 2865 §5.22): networks behind the client, routed
    /// to its session.
    pub routes: Vec<Ipv4Net>,
    /// MS-Primary-DNS-Server, MS-Secondary-DNS-Server (RFC 2548 §2.7.5,
    /// §2.7.6), for IPCP (RFC 1877).
    pub dns: Vec<Ipv4Addr>,
    /// Session-Timeout (RFC 2865 §5.27): the session ends after this long.
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout (RFC 2865 §5.28): the session ends after this long
    /// without a packet from the client.
    pub idle_timeout: Option<Duration>,
    /// Acct-Interim-Interval (RFC 2869 §5.16): how often accounting sends
    /// an Interim-Update.
    pub interim_interval: Option<Duration>,
    /// Class (RFC 2865 §5.25): opaque values echoed in every accounting
    /// record.
    pub class: Vec<Vec<u8>>,
}

/// A backend's answer to one round: the verdict, and what the session
/// gets if it is an accept.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AuthDecision {
    /// Accept (with the MS-CHAPv2 authenticator response and keys), reject,
    /// or, for relayed EAP, the next EAP Request.
    pub verdict: AuthVerdict,
    /// A fixed IPv4 address for this user (inside a pool), or `None` for
    /// one from the pool (RADIUS Framed-IP-Address, RFC 2865 §5.8).
    pub ipv4: Option<Ipv4Addr>,
    /// A fixed IPv6 /64 for this user (RADIUS Framed-IPv6-Prefix, RFC 3162
    /// §2.3).
    pub ipv6_prefix: Option<Ipv6Net>,
    /// Pool, routes, DNS, timeouts, accounting interval and Class.
    pub settings: SessionSettings,
    /// The backend has no say on this user: it does not know the name, or
    /// it could not be reached. A [`Chain`] asks its next backend; at the
    /// end of the chain it is the reject it carries.
    pub pass: bool,
    /// A remote server (RADIUS) decided: accounting's Acct-Authentic says
    /// RADIUS, else Local (RFC 2866 §5.6).
    pub remote: bool,
}

impl AuthDecision {
    /// A decision with no fixed addresses and no settings.
    pub fn new(verdict: AuthVerdict) -> Self {
        Self {
            verdict,
            ipv4: None,
            ipv6_prefix: None,
            settings: SessionSettings::default(),
            pass: false,
            remote: false,
        }
    }

    /// This backend has no say on the user (see [`pass`](Self::pass)):
    /// `reason` is the reject if no other backend has one either.
    pub fn pass(reason: impl Into<String>) -> Self {
        Self {
            pass: true,
            ..Self::new(AuthVerdict::reject(reason))
        }
    }
}

impl From<AuthVerdict> for AuthDecision {
    fn from(verdict: AuthVerdict) -> Self {
        Self::new(verdict)
    }
}

/// One round of a conversation: the decision, and the conversation for
/// the next round. `'static` so the session driver can keep it across
/// `select!` rounds while it goes on serving the connection (echoes,
/// retransmissions) during a slow backend.
pub type Round =
    Pin<Box<dyn Future<Output = (AuthDecision, Box<dyn AuthConversation>)> + Send + 'static>>;

/// Checks credentials: one conversation per session. Implementations must
/// be cheap to call concurrently; the server bounds the whole
/// authentication phase (`limits.auth_timeout`), so a backend that never
/// answers costs one session, not the server.
pub trait AuthBackend: Send + Sync + fmt::Debug + 'static {
    /// Begins a session's authentication.
    fn begin(&self, context: &AuthContext) -> Box<dyn AuthConversation>;

    /// Whether this backend runs EAP methods itself, so the server relays
    /// EAP to it (RFC 3579) instead of running them: a RADIUS server with
    /// EAP. Its conversations then get [`AuthData::Eap`] requests.
    fn relays_eap(&self) -> bool {
        false
    }
}

/// A session's authentication with one backend, round by round.
pub trait AuthConversation: Send + fmt::Debug + 'static {
    /// Decides on one request. For MS-CHAPv2 and EAP-MSCHAPv2 an accept
    /// must carry the authenticator response and the MPPE keys (see
    /// [`AuthRequest::verify_with`], which does both for a local secret).
    /// EAP-TLS requests come after the server's certificate policy passed
    /// (`[auth.eap_tls]`: CAs, CRLs, revoked thumbprints), with the user
    /// name the certificate maps to; the backend says whether that user
    /// may connect, and with which addresses. Relayed EAP
    /// ([`AuthData::Eap`]) goes on with [`AuthVerdict::Continue`] until an
    /// accept (with the MSK) or a reject.
    fn answer(self: Box<Self>, request: AuthRequest) -> Round;
}

/// Several backends asked in order: the first that has a say on the user
/// decides ([`AuthDecision::pass`] moves on). A relayed EAP conversation
/// stays with the backend that answered its Identity.
#[derive(Debug)]
pub struct Chain {
    backends: Vec<Arc<dyn AuthBackend>>,
}

impl Chain {
    /// The backends in the order they are asked.
    pub fn new(backends: Vec<Arc<dyn AuthBackend>>) -> Self {
        Self { backends }
    }
}

impl AuthBackend for Chain {
    fn begin(&self, context: &AuthContext) -> Box<dyn AuthConversation> {
        Box::new(ChainConversation {
            members: self
                .backends
                .iter()
                .map(|b| Some(b.begin(context)))
                .collect(),
            at: 0,
        })
    }

    fn relays_eap(&self) -> bool {
        self.backends.iter().any(|b| b.relays_eap())
    }
}

#[derive(Debug)]
struct ChainConversation {
    /// One conversation per backend; `None` only while its round runs.
    members: Vec<Option<Box<dyn AuthConversation>>>,
    /// The backend being asked.
    at: usize,
}

impl AuthConversation for ChainConversation {
    fn answer(mut self: Box<Self>, request: AuthRequest) -> Round {
        Box::pin(async move {
            loop {
                let Some(member) = self.members.get_mut(self.at).and_then(Option::take) else {
                    let decision = AuthDecision::new(AuthVerdict::reject(
                        "no authentication backend is configured",
                    ));
                    return (decision, self as Box<dyn AuthConversation>);
                };
                let (decision, member) = member.answer(request.clone()).await;
                if let Some(slot) = self.members.get_mut(self.at) {
                    *slot = Some(member);
                }
                // Only a whole question moves on: a relayed EAP
                // conversation past its Identity belongs to one backend.
                let whole = !matches!(
                    request.data(),
                    AuthData::Eap {
                        identity: false,
                        ..
                    }
                );
                if decision.pass && whole && self.at + 1 < self.members.len() {
                    self.at += 1;
                    continue;
                }
                return (decision, self as Box<dyn AuthConversation>);
            }
        })
    }
}

/// Runs one round of a backend whose answers are ready at once (tests).
#[cfg(test)]
pub(crate) fn answer_now(backend: &dyn AuthBackend, request: AuthRequest) -> AuthDecision {
    let context = AuthContext::new("test", 1, SocketAddr::from(([127, 0, 0, 1], 1)));
    let mut round = backend.begin(&context).answer(request);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match round.as_mut().poll(&mut cx) {
        std::task::Poll::Ready((decision, _)) => decision,
        std::task::Poll::Pending => panic!("the backend is not ready at once"),
    }
}

#[cfg(test)]
mod tests {
    use sstp_core::{AuthMethod, PapPassword};

    use super::*;
    use crate::users::StaticUsers;

    fn pap(user: &str, password: &str) -> AuthRequest {
        AuthRequest::new(
            AuthMethod::Pap,
            user,
            AuthData::Pap {
                password: PapPassword::new(password),
            },
        )
        .expect("PAP data fits PAP")
    }

    fn eap(identity: bool) -> AuthRequest {
        AuthRequest::new(
            AuthMethod::EapRelayed,
            "bob",
            AuthData::Eap {
                message: vec![2, 1, 0, 8, 1, b'b', b'o', b'b'],
                identity,
            },
        )
        .expect("relayed EAP fits")
    }

    /// A backend that answers every round with the same decision and
    /// counts the rounds it was asked.
    #[derive(Debug)]
    struct Fixed {
        decision: AuthDecision,
        asked: Arc<std::sync::atomic::AtomicUsize>,
        relays: bool,
    }

    impl AuthBackend for Fixed {
        fn begin(&self, _: &AuthContext) -> Box<dyn AuthConversation> {
            Box::new(FixedConversation(
                self.decision.clone(),
                Arc::clone(&self.asked),
            ))
        }
        fn relays_eap(&self) -> bool {
            self.relays
        }
    }

    #[derive(Debug)]
    struct FixedConversation(AuthDecision, Arc<std::sync::atomic::AtomicUsize>);

    impl AuthConversation for FixedConversation {
        fn answer(self: Box<Self>, _: AuthRequest) -> Round {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::pin(std::future::ready((
                self.0.clone(),
                self as Box<dyn AuthConversation>,
            )))
        }
    }

    fn fixed(
        decision: AuthDecision,
    ) -> (Arc<dyn AuthBackend>, Arc<std::sync::atomic::AtomicUsize>) {
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let backend = Fixed {
            decision,
            asked: Arc::clone(&asked),
            relays: true,
        };
        (Arc::new(backend), asked)
    }

    fn users() -> Arc<dyn AuthBackend> {
        Arc::new(StaticUsers::from_toml("[users.alice]\npassword = \"pw\"\n").expect("users"))
    }

    #[test]
    fn a_chain_asks_the_next_backend_only_for_users_the_first_does_not_know() {
        let (radius, asked) = fixed(AuthDecision::new(AuthVerdict::reject("Access-Reject")));
        let chain = Chain::new(vec![users(), radius]);
        assert!(chain.relays_eap());
        // alice is local: right or wrong, the users file decides.
        assert!(answer_now(&chain, pap("alice", "pw")).verdict.is_accept());
        let wrong = answer_now(&chain, pap("alice", "nope"));
        assert!(!wrong.verdict.is_accept() && !wrong.pass);
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 0);
        // Anyone else is the RADIUS server's.
        let other = answer_now(&chain, pap("carol", "x"));
        assert!(
            matches!(&other.verdict, AuthVerdict::Reject { reason, .. } if reason == "Access-Reject")
        );
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_pass_at_the_end_of_the_chain_is_its_reject() {
        let (down, _) = fixed(AuthDecision::pass("no RADIUS server answered"));
        let chain = Chain::new(vec![down, users()]);
        // RADIUS first and unreachable: the local users still get in.
        assert!(answer_now(&chain, pap("alice", "pw")).verdict.is_accept());
        let nobody = answer_now(&chain, pap("mallory", "x"));
        assert!(nobody.pass);
        assert!(
            matches!(&nobody.verdict, AuthVerdict::Reject { reason, .. } if reason.contains("unknown user"))
        );
        assert!(
            !answer_now(&Chain::new(Vec::new()), pap("a", "b"))
                .verdict
                .is_accept()
        );
    }

    #[test]
    fn relayed_eap_runs_locally_for_local_users_and_stays_with_its_backend() {
        let (radius, asked) = fixed(AuthDecision::new(AuthVerdict::Continue(vec![
            1, 2, 0, 5, 25,
        ])));
        let chain = Chain::new(vec![users(), radius]);
        let local = AuthRequest::new(
            AuthMethod::EapRelayed,
            "ALICE",
            AuthData::Eap {
                message: Vec::new(),
                identity: true,
            },
        )
        .expect("fits");
        assert!(matches!(
            answer_now(&chain, local).verdict,
            AuthVerdict::Local
        ));
        assert!(matches!(
            answer_now(&chain, eap(true)).verdict,
            AuthVerdict::Continue(_)
        ));
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 1);
        // Past the Identity a pass does not move on: the conversation is
        // one backend's.
        let (first, _) = fixed(AuthDecision::pass("lost"));
        let (second, second_asked) = fixed(AuthDecision::new(AuthVerdict::Local));
        let chain = Chain::new(vec![first, second]);
        assert!(answer_now(&chain, eap(false)).pass);
        assert_eq!(second_asked.load(std::sync::atomic::Ordering::Relaxed), 0);
    }
}
