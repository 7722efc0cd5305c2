//! The client against small RADIUS servers on loopback, built from the
//! codec's own server side (`verify_request`, `Response`), each told what
//! to answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use super::*;
use crate::{Attribute, Response, crypt, verify_request};

const SECRET: &[u8] = b"test-secret";

/// What a test server does with a request it received.
enum Action {
    /// Send these bytes back to the client.
    Reply(Vec<u8>),
    /// Send them back later.
    ReplyAfter(Duration, Vec<u8>),
    /// Send them from another socket (another port).
    ReplyFrom(Arc<UdpSocket>, Vec<u8>),
}

type Behavior = dyn Fn(&Packet, usize) -> Vec<Action> + Send + Sync;

/// A RADIUS server for one test: it verifies each request with the codec
/// (a request that fails is a test failure), records the datagrams, checks
/// that no identifier is reused while a different request under it is
/// unanswered, and answers as `behavior` says (given the request and how
/// many came before it).
struct TestServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    reused: Arc<AtomicUsize>,
    /// The most requests it held unanswered at once.
    most_outstanding: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    async fn start(
        behavior: impl Fn(&Packet, usize) -> Vec<Action> + Send + Sync + 'static,
    ) -> Self {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let reused = Arc::new(AtomicUsize::new(0));
        let most_outstanding = Arc::new(AtomicUsize::new(0));
        let behavior: Arc<Behavior> = Arc::new(behavior);
        let task = tokio::spawn(serve(
            socket,
            behavior,
            Arc::clone(&received),
            Arc::clone(&reused),
            Arc::clone(&most_outstanding),
        ));
        Self {
            addr,
            received,
            reused,
            most_outstanding,
            task,
        }
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve(
    socket: Arc<UdpSocket>,
    behavior: Arc<Behavior>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    reused: Arc<AtomicUsize>,
    most_outstanding: Arc<AtomicUsize>,
) {
    let outstanding: Arc<Mutex<HashMap<u8, Vec<u8>>>> = Arc::default();
    let mut buf = vec![0; 4096];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        let bytes = buf[..n].to_vec();
        let request = verify_request(&bytes, SECRET).expect("the client's request verifies");
        let count = {
            let mut r = received.lock().unwrap();
            r.push(bytes.clone());
            r.len() - 1
        };
        {
            let mut o = outstanding.lock().unwrap();
            if o.insert(request.identifier, bytes.clone())
                .is_some_and(|old| old != bytes)
            {
                reused.fetch_add(1, Ordering::SeqCst);
            }
            most_outstanding.fetch_max(o.len(), Ordering::SeqCst);
        }
        for action in behavior(&request, count) {
            let (delay, from_socket, reply) = match action {
                Action::Reply(b) => (Duration::ZERO, Arc::clone(&socket), b),
                Action::ReplyAfter(d, b) => (d, Arc::clone(&socket), b),
                Action::ReplyFrom(s, b) => (Duration::ZERO, s, b),
            };
            let outstanding = Arc::clone(&outstanding);
            let id = request.identifier;
            let send = async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                outstanding.lock().unwrap().remove(&id);
                let _ = from_socket.send_to(&reply, from).await;
            };
            if delay.is_zero() {
                send.await;
            } else {
                tokio::spawn(send);
            }
        }
    }
}

/// The answer a real server gives: an Access-Accept (or, to an
/// Accounting-Request, an Accounting-Response) signed with the secret.
fn accept(request: &Packet) -> Vec<u8> {
    let code = match request.code {
        Code::AccountingRequest => Code::AccountingResponse,
        _ => Code::AccessAccept,
    };
    Response::new(code)
        .with(Attribute::from_ipv4(
            attr::FRAMED_IP_ADDRESS,
            Ipv4Addr::new(10, 0, 0, 5),
        ))
        .encode(request, SECRET)
        .unwrap()
}

/// Records what the client reports, as short lines.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }

    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

impl Observer for Log {
    fn request_sent(&self, server: &str, code: Code, _: u8) {
        self.push(format!("sent {server} {code}"));
    }
    fn retransmitted(&self, server: &str, _: Code, _: u8, attempt: u32) {
        self.push(format!("retransmit {server} {attempt}"));
    }
    fn timed_out(&self, server: &str, _: Code) {
        self.push(format!("timeout {server}"));
    }
    fn response(&self, server: &str, code: Code, latency: Duration) {
        assert!(latency < Duration::from_secs(10));
        self.push(format!("response {server} {code}"));
    }
    fn dropped(&self, server: Option<&str>, reason: DropReason) {
        self.push(format!("dropped {} {reason:?}", server.unwrap_or("-")));
    }
    fn server_dead(&self, server: &str) {
        self.push(format!("dead {server}"));
    }
    fn server_alive(&self, server: &str) {
        self.push(format!("alive {server}"));
    }
}

fn server(name: &str, addr: SocketAddr) -> ServerConfig {
    let mut s = ServerConfig::new(name, Secret::new(SECRET)).auth(addr);
    s.timeout = Duration::from_millis(100);
    s.retries = 1;
    s
}

async fn client_with(
    config: impl FnOnce(&mut ClientConfig),
    servers: Vec<ServerConfig>,
) -> (RadiusClient, Arc<Log>) {
    let log = Arc::new(Log::default());
    let mut c = ClientConfig::new(servers);
    c.bind_v4 = "127.0.0.1:0".parse().unwrap();
    c.observer = log.clone();
    config(&mut c);
    (RadiusClient::new(c).await.unwrap(), log)
}

async fn client(servers: Vec<ServerConfig>) -> (RadiusClient, Arc<Log>) {
    client_with(|_| {}, servers).await
}

fn pap() -> Request {
    Request::access_request()
        .attribute(attr::USER_NAME, "alice")
        .user_password(b"hello")
}

/// Waits (at most 3 s) for `cond`.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn answers() {
    let s = TestServer::start(|req, _| {
        assert_eq!(&*req.user_password(SECRET).unwrap().unwrap(), b"hello");
        // The Message-Authenticator comes first (RFC 3579 §3.2, BlastRADIUS).
        assert_eq!(req.attributes[0].ty, attr::MESSAGE_AUTHENTICATOR);
        vec![Action::Reply(accept(req))]
    })
    .await;
    let (client, log) = client(vec![server("a", s.addr)]).await;
    let reply = client.send(Service::Auth, pap()).await.unwrap();
    assert_eq!(
        (reply.server.as_str(), reply.code()),
        ("a", Code::AccessAccept)
    );
    assert_eq!(
        reply.packet.get(attr::FRAMED_IP_ADDRESS).unwrap().as_ipv4(),
        Ok(Ipv4Addr::new(10, 0, 0, 5))
    );
    assert_eq!(reply.request_authenticator, s.received()[0][4..20]);
    assert_eq!(reply.mppe_send_key(), Ok(None));
    assert_eq!(
        log.lines(),
        ["sent a Access-Request", "response a Access-Accept"]
    );
    assert_eq!(client.in_flight(s.addr), 0);
    let states = client.server_states();
    assert_eq!(states.len(), 1);
    assert!(states[0].alive && states[0].last_response.is_some());
    assert_eq!(client.dropped(), DropCounts::default());
    // The secret never shows.
    assert!(!format!("{reply:?}{:?}", server("a", s.addr)).contains("test-secret"));
}

#[tokio::test]
async fn retransmits_the_same_bytes_then_takes_the_answer() {
    let s = TestServer::start(|req, n| {
        if n == 0 {
            vec![]
        } else {
            vec![Action::Reply(accept(req))]
        }
    })
    .await;
    let (client, log) = client(vec![server("a", s.addr)]).await;
    let reply = client.send(Service::Auth, pap()).await.unwrap();
    assert_eq!(reply.code(), Code::AccessAccept);
    let got = s.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], got[1], "a retransmission is the same bytes");
    assert_eq!(log.count("retransmit a 1"), 1);
    assert_eq!(log.count("dead"), 0);
}

#[test]
fn backoff_doubles_and_is_capped() {
    let t = Duration::from_secs(3);
    let waits: Vec<u64> = (0..5).map(|n| backoff(t, n).as_secs()).collect();
    assert_eq!(waits, [3, 6, 12, 16, 16]);
    assert_eq!(backoff(Duration::from_secs(20), 3), Duration::from_secs(20));
    assert_eq!(backoff(Duration::from_millis(100), 40), MAX_RETRANSMIT_WAIT);
}

#[tokio::test]
async fn a_silent_server_is_marked_dead_and_the_next_one_answers() {
    let silent = TestServer::start(|_, _| vec![]).await;
    let good = TestServer::start(|req, _| vec![Action::Reply(accept(req))]).await;
    let (client, log) = client(vec![server("a", silent.addr), server("b", good.addr)]).await;
    let reply = client.send(Service::Auth, pap()).await.unwrap();
    assert_eq!(reply.server, "b");
    assert_eq!(silent.received().len(), 2, "first try and one retry");
    // Re-encoded for b: its own identifier and authenticator.
    assert_ne!(silent.received()[0][4..20], good.received()[0][4..20]);
    assert_eq!(log.count("dead a"), 1);
    assert_eq!(log.count("timeout a"), 1);
    let states = client.server_states();
    assert!(!states[0].alive && states[1].alive);
    // While a is dead, b is asked first.
    client.send(Service::Auth, pap()).await.unwrap();
    assert_eq!(silent.received().len(), 2);
    assert_eq!(good.received().len(), 2);
}

#[tokio::test]
async fn forged_and_broken_answers_are_dropped_and_counted() {
    let other = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let s = TestServer::start(move |req, _| {
        let wrong_secret = Response::new(Code::AccessAccept)
            .encode(req, b"wrong")
            .unwrap();
        let no_ma = Response::new(Code::AccessAccept)
            .without_message_authenticator()
            .encode(req, SECRET)
            .unwrap();
        let mut other_id = req.clone();
        other_id.identifier = other_id.identifier.wrapping_add(1);
        let wrong_id = accept(&other_id);
        // An Accounting-Response, correctly signed, to an Access-Request.
        let mut wrong_code = accept(req);
        wrong_code[0] = Code::AccountingResponse.to_u8();
        let a = crypt::packet_authenticator(&wrong_code, &req.authenticator, SECRET);
        wrong_code[4..20].copy_from_slice(&a);
        let good = accept(req);
        vec![
            Action::ReplyFrom(Arc::clone(&other), good.clone()),
            Action::Reply(wrong_secret),
            Action::Reply(no_ma),
            Action::Reply(wrong_id),
            Action::Reply(wrong_code),
            Action::Reply(good[..good.len() - 3].to_vec()),
            Action::Reply(vec![0; 5000]),
            Action::Reply(vec![2, 1, 0]),
            Action::Reply(good.clone()),
            Action::Reply(good),
        ]
    })
    .await;
    let (client, log) = client(vec![server("a", s.addr)]).await;
    let reply = client.send(Service::Auth, pap()).await.unwrap();
    assert_eq!(reply.code(), Code::AccessAccept);
    let expected = DropCounts {
        bad_authenticator: 1,
        no_message_authenticator: 1,
        // The wrong identifier, and the duplicate of the real answer.
        unknown_identifier: 2,
        unknown_source: 1,
        unexpected_code: 1,
        // Truncated, oversized, too short.
        malformed: 3,
    };
    eventually("every drop counted", || client.dropped() == expected).await;
    assert_eq!(log.count("dropped - UnknownSource"), 1);
    assert_eq!(log.count("dropped a BadAuthenticator"), 1);
    assert_eq!(log.count("response a"), 1);
    assert_eq!(s.received().len(), 1, "no retransmission was needed");
}

#[tokio::test]
async fn more_requests_than_identifiers_all_complete() {
    let s = TestServer::start(|req, _| {
        vec![Action::ReplyAfter(Duration::from_millis(30), accept(req))]
    })
    .await;
    let mut cfg = server("a", s.addr);
    cfg.timeout = Duration::from_secs(5);
    let (client, _) = client(vec![cfg]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let client = client.clone();
        tasks.spawn(async move {
            let r = Request::access_request().attribute(attr::USER_NAME, format!("user{i}"));
            client.send(Service::Auth, r).await.map(|r| r.code())
        });
    }
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap(), Code::AccessAccept);
        done += 1;
    }
    assert_eq!(done, 300);
    assert_eq!(s.received().len(), 300, "no retransmissions");
    assert_eq!(
        s.reused.load(Ordering::SeqCst),
        0,
        "no live identifier reused"
    );
    // All 256 were in flight at once, so some requests waited for one.
    assert_eq!(s.most_outstanding.load(Ordering::SeqCst), 256);
    assert_eq!(client.in_flight(s.addr), 0);
}

#[tokio::test]
async fn status_server_revives_a_dead_server() {
    let up = Arc::new(AtomicBool::new(false));
    let a_up = Arc::clone(&up);
    let a = TestServer::start(move |req, _| {
        if !a_up.load(Ordering::SeqCst) {
            return vec![];
        }
        // RFC 5997 §3: a Status-Server to the authentication port is
        // answered with an Access-Accept.
        vec![Action::Reply(accept(req))]
    })
    .await;
    let b = TestServer::start(|req, _| vec![Action::Reply(accept(req))]).await;
    let (client, log) = client_with(
        |c| {
            c.status_server = true;
            c.probe_interval = Duration::from_millis(100);
            c.dead_time = Duration::from_secs(600);
        },
        vec![server("a", a.addr), server("b", b.addr)],
    )
    .await;
    assert_eq!(client.send(Service::Auth, pap()).await.unwrap().server, "b");
    assert!(!client.server_states()[0].alive);
    up.store(true, Ordering::SeqCst);
    eventually("a revived", || client.server_states()[0].alive).await;
    assert_eq!(log.count("alive a"), 1);
    let probes = a
        .received()
        .iter()
        .filter(|d| d[0] == Code::StatusServer.to_u8())
        .count();
    assert!(probes >= 1);
    assert_eq!(client.send(Service::Auth, pap()).await.unwrap().server, "a");
}

#[tokio::test]
async fn dead_time_passes_without_probing() {
    let a = TestServer::start(|_, _| vec![]).await;
    let b = TestServer::start(|req, _| vec![Action::Reply(accept(req))]).await;
    let (client, log) = client_with(
        |c| c.dead_time = Duration::from_millis(200),
        vec![server("a", a.addr), server("b", b.addr)],
    )
    .await;
    client.send(Service::Auth, pap()).await.unwrap();
    assert!(!client.server_states()[0].alive);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(client.server_states()[0].alive);
    assert_eq!(log.count("alive a"), 1);
    assert!(
        a.received()
            .iter()
            .all(|d| d[0] == Code::AccessRequest.to_u8())
    );
}

#[tokio::test]
async fn when_all_are_dead_they_are_tried_anyway() {
    let up = Arc::new(AtomicBool::new(false));
    let b_up = Arc::clone(&up);
    let a = TestServer::start(|_, _| vec![]).await;
    let b = TestServer::start(move |req, _| {
        if b_up.load(Ordering::SeqCst) {
            vec![Action::Reply(accept(req))]
        } else {
            vec![]
        }
    })
    .await;
    let (client, _) = client(vec![server("a", a.addr), server("b", b.addr)]).await;
    match client.send(Service::Auth, pap()).await {
        Err(ClientError::NoAnswer { servers }) => assert_eq!(servers, ["a", "b"]),
        other => panic!("{other:?}"),
    }
    let e = client.send(Service::Auth, pap()).await.unwrap_err();
    assert_eq!(e.to_string(), "no RADIUS server answered: a, b timed out");
    assert!(client.server_states().iter().all(|s| !s.alive));
    up.store(true, Ordering::SeqCst);
    assert_eq!(client.send(Service::Auth, pap()).await.unwrap().server, "b");
    assert!(client.server_states()[1].alive);
}

/// RFC 2866 §5.2: a retransmission carries the seconds the client has been
/// trying; a changed value is a new packet, under a new identifier.
#[tokio::test]
async fn accounting_retransmissions_update_acct_delay_time() {
    let s = TestServer::start(|req, n| {
        if n < 2 {
            vec![]
        } else {
            vec![Action::Reply(accept(req))]
        }
    })
    .await;
    let mut cfg = ServerConfig::new("a", Secret::new(SECRET)).acct(s.addr);
    cfg.timeout = Duration::from_millis(600);
    cfg.retries = 2;
    let (client, _) = client(vec![cfg]).await;
    let request = Request::accounting_request()
        .with(Attribute::from_u32(attr::ACCT_STATUS_TYPE, 1))
        .attribute(attr::ACCT_SESSION_ID, "s-1")
        .with(Attribute::from_u32(attr::ACCT_DELAY_TIME, 0));
    let reply = client.send(Service::Acct, request).await.unwrap();
    assert_eq!(reply.code(), Code::AccountingResponse);
    let got = s.received();
    assert_eq!(got.len(), 3);
    let delay = |d: &[u8]| {
        Packet::parse(d)
            .unwrap()
            .get(attr::ACCT_DELAY_TIME)
            .unwrap()
            .as_u32()
            .unwrap()
    };
    // 0.6 s in: still 0 seconds, the same bytes.
    assert_eq!(got[0], got[1]);
    assert_eq!(delay(&got[0]), 0);
    // 1.8 s in: 1 second, a new identifier and authenticator.
    assert_eq!(delay(&got[2]), 1);
    assert_ne!(got[2][1], got[0][1]);
    assert_ne!(got[2][4..20], got[0][4..20]);
    assert_eq!(reply.request_authenticator, got[2][4..20]);
    assert_eq!(client.in_flight(s.addr), 0);
}

#[tokio::test]
async fn caller_errors() {
    let s = TestServer::start(|req, _| vec![Action::Reply(accept(req))]).await;
    let (client, _) = client(vec![server("a", s.addr)]).await;
    let acct = Request::accounting_request().attribute(attr::ACCT_SESSION_ID, "x");
    match client.send(Service::Acct, acct.clone()).await {
        Err(e @ ClientError::NoServer(Service::Acct)) => {
            assert_eq!(
                e.to_string(),
                "no RADIUS server is configured for accounting"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.send(Service::Auth, acct).await,
        Err(ClientError::WrongService {
            code: Code::AccountingRequest,
            service: Service::Auth
        })
    ));
    assert!(matches!(
        client.send(Service::Auth, Request::coa_request()).await,
        Err(ClientError::WrongService { .. })
    ));
    let big = Request::access_request().eap_message(&[0; 5000]);
    assert!(matches!(
        client.send(Service::Auth, big).await,
        Err(ClientError::Request(EmitError::TooLarge(_)))
    ));
    assert!(s.received().is_empty());
    assert_eq!(client.in_flight(s.addr), 0);
    // Status-Server goes to either port.
    let reply = client
        .send(Service::Auth, Request::status_server())
        .await
        .unwrap();
    assert_eq!(reply.code(), Code::AccessAccept);
}

#[tokio::test]
async fn dropping_a_send_releases_its_identifier() {
    let s = TestServer::start(|_, _| vec![]).await;
    let (client, _) = client(vec![server("a", s.addr)]).await;
    let send = client.send(Service::Auth, pap());
    assert!(
        tokio::time::timeout(Duration::from_millis(30), send)
            .await
            .is_err()
    );
    assert_eq!(s.received().len(), 1);
    assert_eq!(client.in_flight(s.addr), 0);
}

#[tokio::test]
async fn mppe_keys_and_eap_from_a_reply() {
    let s = TestServer::start(|req, _| {
        let key = |k: &[u8], salt| {
            Attribute::vendor(
                ms::VENDOR_ID,
                if salt == 0x81 {
                    ms::MPPE_SEND_KEY
                } else {
                    ms::MPPE_RECV_KEY
                },
                &crate::encrypt_mppe_key(k, [salt, 1], &req.authenticator, SECRET).unwrap(),
            )
        };
        let mut r = Response::new(Code::AccessAccept)
            .with(key(&[1; 32], 0x81))
            .with(key(&[2; 32], 0x82));
        for chunk in [3u8; 300].chunks(253) {
            r.push(Attribute::new(attr::EAP_MESSAGE, chunk));
        }
        vec![Action::Reply(r.encode(req, SECRET).unwrap())]
    })
    .await;
    let (client, _) = client(vec![server("a", s.addr)]).await;
    let reply = client
        .send(
            Service::Auth,
            Request::access_request().eap_message(&[2, 1, 0, 4]),
        )
        .await
        .unwrap();
    assert_eq!(&*reply.mppe_send_key().unwrap().unwrap(), &[1; 32]);
    assert_eq!(&*reply.mppe_recv_key().unwrap().unwrap(), &[2; 32]);
    assert_eq!(reply.eap_message(), Some(vec![3; 300]));
}

#[tokio::test]
async fn ipv6_loopback_when_available() {
    let Ok(socket) = UdpSocket::bind("[::1]:0").await else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        let req = verify_request(&buf[..n], SECRET).unwrap();
        socket.send_to(&accept(&req), from).await.unwrap();
    });
    let (client, _) = client_with(
        |c| c.bind_v6 = "[::1]:0".parse().unwrap(),
        vec![server("v6", addr)],
    )
    .await;
    assert!(client.local_addr(addr).is_ipv6());
    assert_eq!(
        client.send(Service::Auth, pap()).await.unwrap().server,
        "v6"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn tasks_stop_with_the_last_clone() {
    let s = TestServer::start(|req, _| vec![Action::Reply(accept(req))]).await;
    let (client, _) = client(vec![server("a", s.addr)]).await;
    let local = client.local_addr(s.addr);
    let shared = Arc::downgrade(&client.inner.shared);
    let clone = client.clone();
    drop(client);
    clone.send(Service::Auth, pap()).await.unwrap();
    drop(clone);
    eventually("the tasks and sockets gone", || shared.upgrade().is_none()).await;
    // The port is free again.
    UdpSocket::bind(local).await.unwrap();
}
