//! The `sstp-client` binary as a service: completions, man pages, log
//! formats for journald and log shippers, and (root tier) the sd_notify
//! states a `Type=notify` template unit waits for, read from a socket
//! standing in for systemd.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::*;
use sstp_testkit::notified;

const BIN: &str = env!("CARGO_BIN_EXE_sstp-client");

fn client(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .output()
        .expect("run sstp-client")
}

#[test]
fn completions_and_man_pages_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = client(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for word in [
            "sstp-client",
            "connect",
            "fingerprint",
            "profile",
            "log-format",
        ] {
            assert!(text.contains(word), "{shell} lacks {word}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = client(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let main = std::fs::read_to_string(dir.path().join("sstp-client.1")).unwrap();
    assert!(main.contains(".TH sstp-client 1"), "{main}");
    assert!(
        main.contains(".SH NAME\nsstp\\-client \\- SSTP VPN client"),
        "{main}"
    );
    let connect = std::fs::read_to_string(dir.path().join("sstp-client-connect.1")).unwrap();
    assert!(connect.contains(".SH SYNOPSIS"), "{connect}");
    assert!(connect.contains("sstp\\-client connect"), "{connect}");
    assert!(connect.contains("\\-\\-profile"), "{connect}");
}

#[test]
fn log_formats_reach_the_final_error() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("work.toml");
    std::fs::write(&profile, "server = 443\n").unwrap();
    let profile = profile.to_str().unwrap();
    let out = client(&["--log-format", "json", "connect", "--profile", profile]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let last = lines.last().expect("an error line");
    assert_eq!(last["level"], "ERROR", "{stderr}");
    assert!(
        last["message"].as_str().unwrap().contains("work.toml"),
        "{stderr}"
    );
    let out = client(&["--log-format", "journal", "connect", "--profile", profile]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("<3>sstp-client: "), "{stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("<3>")), "{stderr}");
}

#[test]
fn systemd_hears_ready_when_the_tunnel_is_up_and_stopping_at_the_end() {
    if let Some(reason) = sstp_testkit::root_skip_reason(&[]) {
        println!("{reason}");
        return;
    }
    sstp_testkit::in_netns("sstpc-test", "notify", |_| async {
        let server = TestServer::start(ServerOptions::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let server_arg = format!("localhost:{}", server.addr.port());
        let pin = server.fingerprint.to_string();
        let mut child = tokio::process::Command::new(BIN)
            .args(["connect", "--server", &server_arg, "--user", USER])
            .args(["--password-env", "SSTP_TEST_PASSWORD", "--pin-sha256", &pin])
            .args(["--no-dns", "--no-proxy", "--interface", "sstpc7"])
            .env("SSTP_TEST_PASSWORD", PASSWORD)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "300000")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The socket is blocking: read it off the runtime, which serves the
        // test server.
        let (socket, got) = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            assert!(notified(&socket, &mut got, "READY=1", STEP), "{got:#?}");
            assert!(notified(&socket, &mut got, "WATCHDOG=1", STEP), "{got:#?}");
            (socket, got)
        })
        .await
        .unwrap();
        let ready = got.iter().find(|m| m.contains("READY=1")).unwrap();
        assert!(
            ready.contains("STATUS=tunnel up on sstpc7, address 10.0.0.2"),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .any(|m| m.starts_with("STATUS=connecting to localhost")),
            "{got:#?}"
        );
        let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let got = tokio::task::spawn_blocking(move || {
            let mut got = got;
            assert!(notified(&socket, &mut got, "STOPPING=1", STEP), "{got:#?}");
            got
        })
        .await
        .unwrap();
        assert!(got.last().unwrap().contains("STATUS=disconnected"));
        let status = tokio::time::timeout(STEP, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(0));
    });
}

/// `systemd-analyze verify` on the shipped template unit (instance
/// `work`), with this build's binary; skips without systemd-analyze.
#[test]
fn the_template_unit_passes_systemd_analyze_verify() {
    let unit =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/sstp-client@.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains(
            "ExecStart=/usr/bin/sstp-client connect --profile /etc/sstp-client/%i.toml\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nType=notify\n") && text.contains("\nRestart=on-failure\n"));
    assert!(text.contains("\nCapabilityBoundingSet=CAP_NET_ADMIN\n"));
    let Some((ok, ours)) =
        sstp_testkit::verify_unit(&text, "sstp-client@.service", "sstp-client", BIN)
    else {
        println!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(ok && ours.is_empty(), "{ours:?}");
}
