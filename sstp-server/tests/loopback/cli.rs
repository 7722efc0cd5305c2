//! The `sstp-server` binary's own commands (no root needed).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sstp-server");

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sstp-server-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn gen_cert_then_check_config() {
    let dir = temp_dir("check");
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "gen-cert",
            "--name",
            "vpn.example.com",
            "--name",
            "192.0.2.1",
        ])
        .output()
        .expect("gen-cert");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    let fingerprint = printed
        .lines()
        .find_map(|l| l.strip_prefix("SHA-256 fingerprint: "))
        .expect("fingerprint printed")
        .to_owned();
    assert_eq!(fingerprint.len(), 95, "32 bytes as AA:BB:..");
    // The key is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("key.pem"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "key.pem is not readable by others");
    // gen-cert does not overwrite without --force.
    let again = Command::new(BIN)
        .current_dir(&dir)
        .args(["gen-cert", "--name", "x"])
        .output()
        .expect("gen-cert");
    assert!(!again.status.success());

    std::fs::write(
        dir.join("users.toml"),
        "[users.a]\nnt_hash = \"8846F7EAEE8FB117AD06BDD830B7586C\"\n",
    )
    .expect("users");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        "[auth]\nmethods = [\"mschapv2\", \"chap-md5\"]\n[control]\nsocket = \"ctl.sock\"\ngroup = \"adm\"\n[proxy_protocol]\ntrusted = [\"10.0.0.0/8\"]\n",
    )
    .expect("config");
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&config)
        .output()
        .expect("check");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(printed.contains(&fingerprint), "{printed}");
    assert!(
        printed.contains("  PROXY protocol from: 10.0.0.0/8\n"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "  control socket: {} (group adm)\n",
            dir.join("ctl.sock").display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("CHAP-MD5 needs the plaintext password"),
        "{printed}"
    );
    // The same check as an option of `run`, and with -v/-vv.
    for args in [
        &["run", "--check-config", "--config"][..],
        &["-v", "--check-config", "--config"],
        &["run", "-vv", "--check-config", "--config"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .arg(&config)
            .output()
            .expect("check");
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), printed, "{args:?}");
    }

    // A fixed address outside the pool is an error, with the reason.
    std::fs::write(
        dir.join("users.toml"),
        "[users.a]\npassword = \"x\"\nipv4 = \"192.0.2.9\"\n",
    )
    .expect("users");
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&config)
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("192.0.2.9") && err.contains("ipv4_pool"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// A leaf for `vpn.example.com` made by rcgen, after `tweak`: (cert, key) PEM.
fn certificate(tweak: impl FnOnce(&mut rcgen::CertificateParams)) -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["vpn.example.com".to_owned()]).expect("params");
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "vpn.example.com");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    tweak(&mut params);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

/// Runs `--check-config` on a server with this certificate and key:
/// (exit code, stdout, stderr).
fn check_with(tag: &str, cert: &str, key: &str) -> (Option<i32>, String, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir(tag);
    std::fs::write(dir.join("cert.pem"), cert).expect("cert");
    std::fs::write(dir.join("key.pem"), key).expect("key");
    std::fs::write(dir.join("users.toml"), "[users.a]\npassword = \"x\"\n").expect("users");
    for file in ["key.pem", "users.toml"] {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
    }
    let config = dir.join("server.toml");
    std::fs::write(&config, "").expect("config");
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&config)
        .output()
        .expect("check");
    std::fs::remove_dir_all(&dir).expect("cleanup");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_refuses_an_expired_certificate() {
    let (cert, key) = certificate(|p| {
        p.not_before = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        p.not_after = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    });
    let (code, stdout, stderr) = check_with("expired", &cert, &key);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("OK"), "{stdout}");
    assert!(
        stderr.contains(
            "cert.pem: the certificate for vpn.example.com expired on 2025-06-15 15:06 UTC; renew it (sstp-server gen-cert makes a self-signed one), then send SIGHUP"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn check_config_refuses_a_ca_certificate_as_leaf() {
    let (cert, key) = certificate(|p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    });
    let (code, stdout, stderr) = check_with("ca-leaf", &cert, &key);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "cert.pem: the first certificate (vpn.example.com) is a CA certificate (basicConstraints CA:TRUE), which clients refuse as a server's; put the server's own certificate first, then the certificates that issued it"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn check_config_warns_of_a_certificate_without_subject_alt_name() {
    let (cert, key) = certificate(|p| p.subject_alt_names.clear());
    let (code, stdout, stderr) = check_with("no-san", &cert, &key);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": OK"), "{stdout}");
    assert!(
        stdout.contains("the certificate for vpn.example.com has no subjectAltName"),
        "{stdout}"
    );
}

#[test]
fn gen_cert_writes_the_key_0600_even_over_an_old_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("mode");
    let key = dir.join("key.pem");
    std::fs::write(&key, "old").expect("old key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args(["gen-cert", "--name", "vpn.example.com", "--force"])
        .output()
        .expect("gen-cert");
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&key).expect("key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key.pem mode {mode:o}");
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .contains("PRIVATE KEY")
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn gen_cert_refuses_a_bad_name_or_validity() {
    let dir = temp_dir("args");
    for (args, message) in [
        (
            &["--name", "not a name!!"][..],
            "\"not a name!!\" is neither a DNS name nor an IP address; give the name clients connect to, such as vpn.example.com or 192.0.2.1",
        ),
        (
            &["--name", "vpn.example.com", "--days", "0"][..],
            "a certificate must be valid for 1 to 3650 days, not 0",
        ),
        (
            &["--name", "vpn.example.com", "--days", "100000"][..],
            "a certificate must be valid for 1 to 3650 days, not 100000",
        ),
    ] {
        let out = Command::new(BIN)
            .current_dir(&dir)
            .arg("gen-cert")
            .args(args)
            .output()
            .expect("gen-cert");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {out:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!dir.join("cert.pem").exists() && !dir.join("key.pem").exists());
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn nt_hash_of_a_password() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("nt-hash")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("nt-hash");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"password\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "8846F7EAEE8FB117AD06BDD830B7586C"
    );
}

/// The one `error:` line of a failed run, and that there is only one.
fn error_line(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Caused by"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0].to_owned()
}

/// The cause once, in one line: checking and running alike.
#[test]
fn a_missing_config_fails_with_the_path() {
    for args in [
        &["--check-config", "--config", "/nonexistent/server.toml"][..],
        &["run", "--config", "/nonexistent/server.toml"],
        &["--config", "/nonexistent/server.toml"],
    ] {
        let out = Command::new(BIN).args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            error_line(&out),
            "error: cannot read /nonexistent/server.toml: No such file or directory (os error 2)",
            "{args:?}"
        );
    }
}

/// A valid configuration in `dir` that listens on `listen`; its pool and
/// TUN name are the test's own, so nothing clashes with a real server.
fn write_config(dir: &std::path::Path, listen: std::net::SocketAddr) -> std::path::PathBuf {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(["gen-cert", "--name", "localhost", "--force"])
        .output()
        .expect("gen-cert");
    assert!(out.status.success(), "{out:?}");
    std::fs::write(dir.join("users.toml"), "[users.a]\npassword = \"x\"\n").expect("users");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"{listen}\"]\n[http]\nmetrics_listen = \"127.0.0.1:0\"\n\
             [tun]\nname = \"sstpcli{}\"\n[network]\nipv4_pool = \"10.213.0.0/24\"\n",
            std::process::id() % 10_000
        ),
    )
    .expect("config");
    config
}

/// A port in use: one line, the address, the setting, the OS error once,
/// and a hint that fits; found before the TUN device is made.
#[test]
fn an_address_in_use_is_one_line_with_a_hint() {
    let dir = temp_dir("inuse");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let config = write_config(&dir, addr);
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        error_line(&out),
        format!(
            "error: cannot listen on {addr} (listen): Address already in use (os error 98); \
             another program listens there (another sstp-server?): stop it or change the address"
        )
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("TUN"),
        "the TUN comes after the ports: {stderr}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// `--help` says what the signals do, how to get more logs, and only the
/// options each command takes.
#[test]
fn help_names_signals_and_logging_and_only_relevant_options() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().expect("help");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [&["--help"][..], &["run", "--help"]] {
        let text = help(args);
        for needle in [
            "SIGHUP   reload the configuration file, the users file, the certificate and",
            "RUST_LOG",
            "-v, --verbose",
            "-c, --config <FILE>",
            "--check-config",
        ] {
            assert!(text.contains(needle), "{args:?} lacks {needle:?}:\n{text}");
        }
    }
    for args in [&["gen-cert", "--help"][..], &["nt-hash", "--help"]] {
        let text = help(args);
        assert!(!text.contains("--config"), "{args:?}:\n{text}");
        assert!(!text.contains("--check-config"), "{args:?}:\n{text}");
    }
}

/// Options of running the server are refused before other commands, with
/// nothing done.
#[test]
fn run_options_are_refused_before_other_commands() {
    let dir = temp_dir("refuse");
    for (args, flag, command) in [
        (
            &["--check-config", "gen-cert", "--name", "x"][..],
            "--check-config",
            "gen-cert",
        ),
        (
            &["--config", "s.toml", "gen-cert", "--name", "x"],
            "--config",
            "gen-cert",
        ),
        (&["--check-config", "nt-hash"], "--check-config", "nt-hash"),
    ] {
        let out = Command::new(BIN)
            .current_dir(&dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.lines().next().unwrap_or_default(),
            format!("error: {flag} is an option of running the server; {command} does not take it"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(!dir.join("cert.pem").exists(), "no certificate was made");
    assert!(!dir.join("key.pem").exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn nt_hash_of(input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("nt-hash")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nt-hash");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("wait")
}

/// An empty password has a hash, but a users file must not get it.
#[test]
fn nt_hash_refuses_an_empty_password() {
    for input in [&b"\n"[..], b"", b"\r\n"] {
        let out = nt_hash_of(input);
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert!(out.stdout.is_empty(), "{input:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            "error: the password is empty; give it on standard input, for example: printf '%s\\n' 'the password' | sstp-server nt-hash"
        );
    }
}

/// The NT hashes the documentation shows are those of the passwords it
/// says they are made from.
#[test]
fn documented_nt_hashes_match_their_passwords() {
    for (file, text) in [
        ("README.md", include_str!("../../README.md")),
        (
            "users.example.toml",
            include_str!("../../users.example.toml"),
        ),
    ] {
        let password = text
            .lines()
            .find_map(|l| {
                let rest = l.split("printf '%s\\n' '").nth(1)?;
                rest.split('\'').next()
            })
            .unwrap_or_else(|| panic!("{file}: no nt-hash example"));
        let hash = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("nt_hash = \""))
            .and_then(|l| l.split('"').next())
            .unwrap_or_else(|| panic!("{file}: no nt_hash"));
        let out = nt_hash_of(format!("{password}\n").as_bytes());
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            hash,
            "{file}: the example hash is not that of {password:?}"
        );
    }
}

/// Root tier: why the binary cannot run, under the real conditions, in a
/// network and mount namespace of its own (nothing outside changes).
/// `None` (and a printed reason) when the machine cannot set that up.
fn run_isolated(dir: &std::path::Path, setup: &str, prefix: &str) -> Option<std::process::Output> {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: needs root (namespaces, capabilities)");
        return None;
    }
    for tool in ["unshare", "setpriv", "ip", "timeout"] {
        if Command::new(tool).arg("--version").output().is_err() {
            println!("skipped: needs {tool}");
            return None;
        }
    }
    // `timeout`: should the server start after all, the test still ends.
    let script = format!(
        "ip link set lo up && {setup} exec timeout -s INT 20 {prefix} \"$0\" --config \"$1\""
    );
    let out = Command::new("unshare")
        .args(["--net", "--mount", "sh", "-c", &script, BIN])
        .arg(dir.join("server.toml"))
        .output()
        .expect("unshare");
    Some(out)
}

/// Port 443 without CAP_NET_BIND_SERVICE: the hint names the capability.
#[test]
fn a_low_port_without_cap_net_bind_service_says_so() {
    let dir = temp_dir("lowport");
    write_config(&dir, "127.0.0.1:443".parse().expect("addr"));
    let Some(out) = run_isolated(
        &dir,
        "",
        "setpriv --bounding-set -net_bind_service --inh-caps -net_bind_service --",
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        error_line(&out),
        "error: cannot listen on 127.0.0.1:443 (listen): Permission denied (os error 13); \
         ports below 1024 need root or CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE)"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// A missing /dev/net/tun is not a missing capability: say which it is.
#[test]
fn a_missing_dev_net_tun_says_so() {
    let dir = temp_dir("notun");
    let config = write_config(&dir, "127.0.0.1:0".parse().expect("addr"));
    let name = std::fs::read_to_string(&config)
        .expect("config")
        .lines()
        .find_map(|l| {
            l.strip_prefix("name = \"")?
                .strip_suffix('"')
                .map(str::to_owned)
        })
        .expect("tun name");
    // A private tmpfs over /dev/net hides the device from this process only,
    // and without CAP_MKNOD tun-rs cannot make it again (as in a container).
    let Some(out) = run_isolated(
        &dir,
        "mount -t tmpfs none /dev/net &&",
        "setpriv --bounding-set -mknod --",
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        error_line(&out),
        format!(
            "error: cannot create the TUN device {name}: No such file or directory (os error 2); \
             /dev/net/tun does not exist and could not be made: create it (mknod /dev/net/tun c 10 200, \
             with modprobe tun), or give the container the device"
        )
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn ca_command(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["ca"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("sstp-server ca");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ca_init_issue_revoke_through_the_binary() {
    let dir = temp_dir("ca").join("ca");
    let dir_s = dir.to_str().expect("utf-8 temp dir");
    let (ok, printed, _) = ca_command(&["init", "--dir", dir_s, "--name", "Example VPN root"], &[]);
    assert!(ok);
    assert!(printed.contains("[auth.eap_tls] ca = "), "{printed}");
    let (ok, printed, _) = ca_command(
        &["issue", "--dir", dir_s, "--name", "alice"],
        &[("SSTP_P12_PASSWORD", "pfx secret")],
    );
    assert!(ok, "{printed}");
    assert!(dir.join("issued/alice.p12").exists());
    let sha1 = printed
        .lines()
        .find_map(|l| l.strip_prefix("SHA-1 thumbprint:"))
        .expect("thumbprint printed")
        .trim()
        .to_owned();
    // Without a password: no .p12, and the output says how to get one.
    let (ok, printed, _) = ca_command(&["issue", "--dir", dir_s, "--name", "bob"], &[]);
    assert!(ok);
    assert!(!dir.join("issued/bob.p12").exists());
    assert!(printed.contains("SSTP_P12_PASSWORD"), "{printed}");
    let (ok, printed, _) = ca_command(&["revoke", "--dir", dir_s, "--thumbprint", &sha1], &[]);
    assert!(ok);
    assert!(printed.contains("revoked: alice"), "{printed}");
    let listed = std::fs::read_to_string(dir.join("revoked.txt")).expect("revoked.txt");
    assert!(listed.lines().any(|l| l == sha1));
    // Mistakes: one line each.
    let (ok, _, err) = ca_command(&["init", "--dir", dir_s], &[]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--force"), "{err}");
    let (ok, _, err) = ca_command(&["revoke", "--dir", dir_s, "--name", "nobody"], &[]);
    assert!(!ok);
    assert_eq!(
        err.trim_end(),
        "error: no certificate issued by this CA matches the name \"nobody\""
    );
}
