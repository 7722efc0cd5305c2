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
    std::fs::write(&config, "[auth]\nmethods = [\"mschapv2\", \"chap-md5\"]\n").expect("config");
    let out = Command::new(BIN)
        .args(["--check-config", "--config"])
        .arg(&config)
        .output()
        .expect("check");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(printed.contains(&fingerprint), "{printed}");
    assert!(
        printed.contains("CHAP-MD5 needs the plaintext password"),
        "{printed}"
    );

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

#[test]
fn a_missing_config_fails_with_the_path() {
    let out = Command::new(BIN)
        .args(["--check-config", "--config", "/nonexistent/server.toml"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/server.toml"));
}
