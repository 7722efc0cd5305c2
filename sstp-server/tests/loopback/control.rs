//! The session-control socket: listing, disconnecting and draining against
//! a running server, through the library's client and through the
//! `sstp-server` verbs, and who may use it.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sstp_server::control::{self, ControlSocket, Request, Response};
use sstp_server::{Config, SessionFilter};
use tokio::task::JoinHandle;

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_sstp-server");

/// A control socket for `server` in a fresh directory others may enter
/// (the access test runs the CLI as another user).
fn control_socket(
    server: &TestServer,
    group: Option<&str>,
) -> (tempfile::TempDir, PathBuf, JoinHandle<()>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("control.sock");
    let mut config = Config::default();
    config.control.socket.clone_from(&path);
    config.control.group = group.map(str::to_owned);
    let socket = ControlSocket::bind(&config.control)
        .expect("bind the control socket")
        .expect("configured");
    let task = tokio::spawn(socket.serve(server.handle.clone(), None));
    (dir, path, task)
}

async fn ask(path: &Path, request: Request) -> Response {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || control::call(&path, &request, STEP))
        .await
        .expect("task")
        .expect("an answer")
}

/// The CLI on the control socket at `socket`, as root or as `uid`/`gid`.
async fn cli(socket: &Path, args: &[&str], ids: Option<(u32, u32)>) -> Output {
    let socket = socket.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.args(&args).arg("--socket").arg(&socket);
        if let Some((uid, gid)) = ids {
            cmd.uid(uid).gid(gid);
        }
        cmd.output().expect("run sstp-server")
    })
    .await
    .expect("task")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test]
async fn sessions_are_listed_kicked_and_a_drained_server_takes_no_new_ones() {
    let mut server = TestServer::start().await;
    let (_dir, path, _task) = control_socket(&server, None);
    let alice = server.client().connect().await.expect("alice");
    let carol = server.carol().connect().await.expect("carol");
    alice.send(ipv4(alice.ipv4, LAB_HOST, &[7u8; 1000]));
    assert_eq!(server.observe().await.len(), 1020);

    // The listing: both sessions, with what each is and its traffic.
    let Response::Sessions { sessions } = ask(
        &path,
        Request::Sessions {
            filter: SessionFilter::default(),
        },
    )
    .await
    else {
        panic!("not a listing");
    };
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let a = sessions
        .iter()
        .find(|s| s.user == USER)
        .expect("alice listed");
    assert_eq!(a.ipv4, alice.ipv4);
    assert_eq!(a.method, "eap-mschapv2");
    assert_eq!(a.tls_version.as_deref(), Some("TLS 1.3"));
    assert!(a.peer.ip().is_loopback(), "{a:?}");
    assert!(a.ipv6.is_some(), "{a:?}");
    let traffic = a.traffic.expect("alice reported her traffic");
    assert_eq!(
        (traffic.bytes_from_client, traffic.packets_from_client),
        (1020, 1)
    );
    let c = sessions
        .iter()
        .find(|s| s.user == FIXED_USER)
        .expect("carol");
    assert_eq!(c.ipv4, FIXED_V4);

    // The CLI shows the same as a table, and as JSON.
    let out = cli(&path, &["sessions"], None).await;
    assert!(out.status.success(), "{out:?}");
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("RECEIVED"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        table.contains(&alice.ipv4.to_string()) && table.contains("1020 B (1 pkts)"),
        "{table}"
    );
    let out = cli(&path, &["sessions", "--json", "--user", "CAROL"], None).await;
    let json = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        json.contains("\"user\": \"carol\"") && !json.contains("alice"),
        "{json}"
    );

    // Disconnect by user: alice gets a clean Call Disconnect; carol stays.
    let out = cli(&path, &["disconnect", "--user", USER], None).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).starts_with(&format!("disconnected session {} (alice", a.id)),
        "{out:?}"
    );
    let end = alice.ended().await;
    assert!(end.saw_call_disconnect(), "{end:?}");
    server
        .wait_for("alice's session gone", |s| s.handle.active_sessions() == 1)
        .await;
    // Nobody to disconnect: said, and status 1.
    let out = cli(&path, &["disconnect", "999"], None).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("no session matches"), "{out:?}");

    // Drain: /healthz says 503, a new client is refused, carol carries on.
    let out = cli(&path, &["drain"], None).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "draining: no new sessions; 1 session stays up\n"
    );
    assert!(server.handle.is_draining());
    let health = http_request(&server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    let refused = server
        .client()
        .connect()
        .await
        .err()
        .expect("refused while draining");
    assert!(refused.contains("503"), "{refused}");
    assert_eq!(
        server.metric("sstp_rejected_connections_total{reason=\"draining\"}"),
        1.0
    );
    carol.send(ipv4(carol.ipv4, LAB_HOST, b"still up"));
    assert_eq!(&server.observe().await[20..], b"still up");
    let Response::Status { status } = ask(&path, Request::Status).await else {
        panic!("not a status");
    };
    assert!(status.draining);
    assert_eq!(status.sessions, 1);
    let out = cli(&path, &["status"], None).await;
    assert!(
        text(&out.stdout).contains("state:           draining"),
        "{out:?}"
    );

    // And back.
    let out = cli(&path, &["drain", "--resume"], None).await;
    assert!(out.status.success(), "{out:?}");
    let health = http_request(&server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let again = server.client().connect().await.expect("taken again");
    drop(again);
    drop(carol);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_control_socket_is_for_root_its_user_and_its_group_only() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: needs root (runs the CLI as other users)");
        return;
    }
    let server = TestServer::start().await;
    // A group by number: no group database entry needed.
    let (_dir, path, _task) = control_socket(&server, Some("4242"));
    let meta = std::fs::metadata(&path).expect("socket file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), 4242);

    // In the group: answered.
    let out = cli(&path, &["status"], Some((65534, 4242))).await;
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).starts_with("sstp-server "), "{out:?}");

    // Outside it: the socket file keeps it out.
    let out = cli(&path, &["status"], Some((65534, 4343))).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("permission denied"), "{out:?}");

    // And if the file let it in, the server's own check still refuses.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = cli(&path, &["disconnect", "--user", USER], Some((65534, 4343))).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("the server refused: permission denied") && err.contains("group 4242"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_requests_get_an_answer_in_words_and_the_socket_goes_with_the_server() {
    let server = TestServer::start().await;
    let (_dir, path, task) = control_socket(&server, None);
    let raw = |line: &'static [u8]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut s = std::os::unix::net::UnixStream::connect(&path).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            s.write_all(line).expect("write");
            let mut answer = String::new();
            s.read_to_string(&mut answer).expect("read");
            answer
        })
    };
    let answer = raw(b"{\"verb\":\"format-disk\"}\n").await.expect("task");
    assert!(
        answer.starts_with(r#"{"answer":"error","message":"not a request this server knows"#),
        "{answer}"
    );
    let answer = raw(b"{\"verb\":\"disconnect\",\"filter\":{}}\n")
        .await
        .expect("task");
    assert!(answer.contains("disconnect needs a session"), "{answer}");
    let long = Box::leak(vec![b'x'; 10_000].into_boxed_slice());
    let answer = raw(long).await.expect("task");
    assert!(answer.contains("longer than 4096 bytes"), "{answer}");
    // This socket was given no reloader.
    let Response::Error { message } = ask(&path, Request::Reload).await else {
        panic!("reload answered oddly");
    };
    assert!(message.contains("cannot reload"), "{message}");
    // A second server may not take the socket of a running one.
    let mut config = Config::default();
    config.control.socket.clone_from(&path);
    let err = ControlSocket::bind(&config.control).expect_err("in use");
    assert!(
        err.to_string().contains("in use by another running server"),
        "{err}"
    );
    task.abort();
    let _ = task.await;
    assert!(!path.exists(), "the socket file is removed with the socket");
    // A stale file from a crashed run is replaced.
    let stale = std::os::unix::net::UnixListener::bind(&path).expect("stale socket");
    drop(stale);
    assert!(
        ControlSocket::bind(&config.control)
            .expect("rebind")
            .is_some()
    );
}
