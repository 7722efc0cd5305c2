//! `sstp-server` as a service: log formats for journald and log shippers,
//! completions and man pages, and (root tier) the sd_notify states a
//! `Type=notify` unit waits for, read from a socket standing in for systemd.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sstp_testkit::{Netns, notified, root_skip_reason};

const BIN: &str = env!("CARGO_BIN_EXE_sstp-server");

fn server(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .output()
        .expect("run sstp-server")
}

/// A configuration that passes `--check-config`, in `dir`.
fn write_config(dir: &Path, port: u16) -> String {
    let out = server(&[
        "gen-cert",
        "--name",
        "localhost",
        "--cert",
        &dir.join("cert.pem").display().to_string(),
        "--key",
        &dir.join("key.pem").display().to_string(),
    ]);
    assert!(out.status.success(), "gen-cert: {out:?}");
    std::fs::write(
        dir.join("users.toml"),
        "[users.alice]\npassword = \"correct horse\"\n",
    )
    .expect("users");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = ["127.0.0.1:{port}"]
[tls]
certificate = "cert.pem"
private_key = "key.pem"
[tun]
name = "sstpnotify0"
[network]
ipv4_pool = "10.79.0.0/24"
[auth]
users_file = "users.toml"
[limits]
shutdown_grace = "1s"
[control]
socket = "control.sock"
"#
        ),
    )
    .expect("config");
    config.display().to_string()
}

#[test]
fn json_logs_are_one_object_per_line_even_the_final_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let out = server(&[
        "--log-format",
        "json",
        "--config",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let last = lines.last().expect("an error line");
    assert_eq!(last["level"], "ERROR", "{stderr}");
    let message = last["message"].as_str().expect("message");
    assert!(
        message.starts_with("error: ") && message.contains("nope.toml"),
        "{stderr}"
    );

    // A good configuration: the check's report stays text on stdout.
    let config = write_config(dir.path(), 4499);
    let out = server(&[
        "--log-format",
        "json",
        "--config",
        &config,
        "--check-config",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": OK"), "{stdout}");
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

#[test]
fn the_journal_format_files_the_final_error_as_an_error() {
    let out = server(&[
        "--log-format",
        "journal",
        "--config",
        "/nonexistent/server.toml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("<3>error: cannot read /nonexistent/server.toml"),
        "{stderr}"
    );
    // Text by default (stderr is no journal here): unchanged for people.
    let out = server(&["--config", "/nonexistent/server.toml"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: cannot read"),
        "{out:?}"
    );
    let out = server(&["--log-format", "xml"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("[possible values: auto, text, json, journal]"),
        "{out:?}"
    );
}

#[test]
fn completions_know_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F _sstp__server"),
        ("zsh", "#compdef sstp-server"),
        ("fish", "complete -c sstp-server"),
    ] {
        let out = server(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
        for word in ["gen-cert", "nt-hash", "check-config", "log-format"] {
            assert!(text.contains(word), "{shell} lacks {word}");
        }
    }
    let out = server(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn man_pages_render_name_and_synopsis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = server(&["man", "--dir", dir.path().to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let main = std::fs::read_to_string(dir.path().join("sstp-server.1")).expect("sstp-server.1");
    assert!(main.contains(".TH sstp-server 1"), "{main}");
    assert!(
        main.contains(".SH NAME\nsstp\\-server \\- SSTP VPN server"),
        "{main}"
    );
    assert!(main.contains(".SH SYNOPSIS"), "{main}");
    assert!(main.contains("\\-\\-check\\-config"), "{main}");
    let gen_cert =
        std::fs::read_to_string(dir.path().join("sstp-server-gen-cert.1")).expect("gen-cert page");
    assert!(gen_cert.contains("sstp\\-server gen\\-cert"), "{gen_cert}");
    assert!(dir.path().join("sstp-server-ca-issue.1").exists());
    assert!(!dir.path().join("sstp-server-man.1").exists());
    // The man program itself can format it, where it is installed.
    if let Ok(out) = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("sstp-server.1"))
        .env("MANWIDTH", "100")
        .stderr(Stdio::null())
        .output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("sstp-server - SSTP VPN server"), "{text}");
    }
}

#[test]
fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    if let Some(reason) = root_skip_reason(&[]) {
        println!("{reason}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), 4498);
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let ns = Netns::create("sstpsrv-notify", "notify");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "--config", &config])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the server");
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let mut got = Vec::new();
    let result = (|| -> Result<(), String> {
        if !notified(&socket, &mut got, "READY=1", Duration::from_secs(30)) {
            return Err("no READY=1".into());
        }
        let ready = got.last().cloned().unwrap_or_default();
        if !ready.contains("STATUS=serving on 127.0.0.1:4498") {
            return Err(format!("READY without the status: {ready:?}"));
        }
        if !notified(&socket, &mut got, "WATCHDOG=1", Duration::from_secs(5)) {
            return Err("no WATCHDOG=1 with WATCHDOG_USEC set".into());
        }
        kill(pid, Signal::SIGHUP).map_err(|e| e.to_string())?;
        if !notified(&socket, &mut got, "RELOADING=1", Duration::from_secs(10)) {
            return Err("no RELOADING=1 after SIGHUP".into());
        }
        let reloading = got.last().cloned().unwrap_or_default();
        if !reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")) {
            return Err(format!("RELOADING without MONOTONIC_USEC: {reloading:?}"));
        }
        if !notified(&socket, &mut got, "READY=1", Duration::from_secs(10)) {
            return Err("no READY=1 after the reload".into());
        }
        kill(pid, Signal::SIGTERM).map_err(|e| e.to_string())?;
        if !notified(&socket, &mut got, "STOPPING=1", Duration::from_secs(10)) {
            return Err("no STOPPING=1 after SIGTERM".into());
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    let logs = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    if let Err(e) = result {
        panic!("{e}; messages {got:#?}\nserver log:\n{logs}");
    }
    assert!(status.success(), "exit after SIGTERM: {status}\n{logs}");
    assert!(logs.contains("certificate reloaded"), "{logs}");
    drop(ns);
}

/// What the package installs in /etc/sstp-server passes `--check-config`
/// once the certificate postinst makes is there (here with the directory
/// moved to a temporary one).
#[test]
fn the_packaged_configuration_passes_check_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging");
    let etc = format!("{}/", dir.path().display());
    for file in ["server.toml", "users.toml"] {
        let text = std::fs::read_to_string(packaging.join(file)).expect("packaging file");
        assert!(file != "server.toml" || text.contains("/etc/sstp-server/"));
        std::fs::write(
            dir.path().join(file),
            text.replace("/etc/sstp-server/", &etc),
        )
        .expect("write");
    }
    let out = server(&[
        "gen-cert",
        "--name",
        "vpn.example.com",
        "--cert",
        &format!("{etc}cert.pem"),
        "--key",
        &format!("{etc}key.pem"),
    ]);
    assert!(out.status.success(), "gen-cert: {out:?}");
    let out = server(&["--check-config", "--config", &format!("{etc}server.toml")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("users: 0"), "{stdout}");
    assert!(stdout.contains("listen: 0.0.0.0:443, [::]:443"), "{stdout}");
}

/// `systemd-analyze verify` on the shipped unit, with this build's binary
/// in `ExecStart=`; skips where systemd-analyze is not installed.
#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/sstp-server.service");
    let text = std::fs::read_to_string(&unit).expect("the unit");
    assert!(text.contains("ExecStart=/usr/bin/sstp-server "), "{text}");
    assert!(text.contains("\nType=notify\n") && text.contains("\nUser=sstp-server\n"));
    assert!(text.contains(
        "\nAmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE\n"
    ));
    assert!(
        !text.contains("DynamicUser"),
        "a made-up user cannot read the config"
    );
    let Some((ok, ours)) =
        sstp_testkit::verify_unit(&text, "sstp-server.service", "sstp-server", BIN)
    else {
        println!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(ok && ours.is_empty(), "{ours:?}");
}
