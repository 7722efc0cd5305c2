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
