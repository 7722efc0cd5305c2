//! The FreeRADIUS the RADIUS tests run against, checked by itself: started
//! by `scripts/freeradius`, its configuration proved with radclient and
//! eapol_test (`selftest`), its accounting records read back through
//! [`FreeRadius::detail_records`], a restart keeping ports and keys, and
//! `sign_replies` adding the Message-Authenticator Debian's 3.2.1 leaves out.
//! Skips with a printed reason on a machine that cannot install it.

use std::process::Command;

use sstp_testkit::{FreeRadius, FreeRadiusOptions};

#[test]
fn freeradius_answers_every_method_and_records_accounting() {
    if let Some(reason) = FreeRadius::skip_reason() {
        eprintln!("SKIP freeradius: {reason}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sstp-testkit-freeradius-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = FreeRadiusOptions {
        extra_users: Some(
            "zed\tCleartext-Password := \"zed-pass\"\n\tReply-Message = \"hi zed\"\n".into(),
        ),
        ..FreeRadiusOptions::default()
    };
    let mut radius = FreeRadius::start(&dir, options).unwrap_or_else(|e| panic!("{e}"));
    let fail = |what: &str, e: &str| -> ! {
        panic!(
            "{what}: {e}\n(server log: {})",
            dir.join("radius.log").display()
        );
    };
    assert_eq!(radius.secret(), "testing123-sstp");
    assert!(radius.auth_addr().ip().is_loopback());
    assert_ne!(radius.auth_addr().port(), radius.acct_addr().port());
    for path in [
        radius.ca_pem(),
        radius.tls_user_cert(),
        radius.tls_user_key(),
    ] {
        assert!(path.is_file(), "{} missing", path.display());
    }

    let report = radius.selftest().unwrap_or_else(|e| fail("selftest", &e));
    eprintln!("{report}");
    assert!(report.contains(" 0 failed"), "{report}");

    // The selftest's accounting Start and Stop, through the parser.
    let records = radius.detail_records();
    let stop = records
        .iter()
        .rev()
        .find(|r| r.get("Acct-Status-Type") == Some("Stop"))
        .unwrap_or_else(|| panic!("no Stop record in {records:?}"));
    let session = stop.get("Acct-Session-Id").expect("Acct-Session-Id");
    assert!(session.starts_with("selftest-"), "{session}");
    assert_eq!(stop.get("User-Name"), Some("alice"));
    assert_eq!(stop.get("Acct-Session-Time"), Some("7"));
    assert_eq!(stop.get("Acct-Terminate-Cause"), Some("User-Request"));
    let start = records
        .iter()
        .find(|r| {
            r.get("Acct-Session-Id") == Some(session) && r.get("Acct-Status-Type") == Some("Start")
        })
        .unwrap_or_else(|| panic!("no Start for {session} in {records:?}"));
    assert_eq!(start.get("Framed-IP-Address"), Some("10.77.0.9"));
    assert!(!start.time.is_empty());

    // A restart keeps the address and the CA a test may have loaded, and
    // the users added at the start.
    let (auth, ca) = (
        radius.auth_addr(),
        std::fs::read(radius.ca_pem()).expect("ca.pem"),
    );
    radius.restart().unwrap_or_else(|e| fail("restart", &e));
    assert_eq!(radius.auth_addr(), auth);
    assert_eq!(std::fs::read(radius.ca_pem()).expect("ca.pem"), ca);
    let reply = radclient(
        &radius,
        "User-Name = \"zed\"\nUser-Password = \"zed-pass\"\n",
    );
    assert!(
        reply.contains("Received Access-Accept") && reply.contains("Reply-Message = \"hi zed\""),
        "{reply}"
    );

    radius.stop().unwrap_or_else(|e| fail("stop", &e));
    assert!(!dir.join("pid").exists());
    drop(radius);

    // Debian's 3.2.1 signs no PAP answer; --sign-replies makes it.
    let plain = "User-Name = \"alice\"\nUser-Password = \"alice-pass\"\n";
    let reply = |r: &FreeRadius| {
        let out = radclient(r, plain);
        let answer = out.split_once("Received").map_or("", |(_, a)| a).to_owned();
        assert!(answer.starts_with(" Access-Accept"), "{out}");
        answer.contains("Message-Authenticator")
    };
    let options = FreeRadiusOptions {
        sign_replies: true,
        ..FreeRadiusOptions::default()
    };
    let mut radius = FreeRadius::start(&dir, options).unwrap_or_else(|e| panic!("{e}"));
    assert!(reply(&radius), "--sign-replies: no Message-Authenticator");
    assert_eq!(std::fs::read(radius.ca_pem()).expect("ca.pem"), ca);
    radius.stop().unwrap_or_else(|e| fail("stop", &e));
    let radius =
        FreeRadius::start(&dir, FreeRadiusOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !reply(&radius),
        "Debian's 3.2.1 now signs PAP answers: update scripts/freeradius"
    );
    drop(radius);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One PAP exchange by radclient (with the Message-Authenticator the
/// server requires); what it printed.
fn radclient(radius: &FreeRadius, attributes: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("radclient")
        .arg("-d")
        .arg(radius.dir().join("raddb"))
        .args(["-x", "-r", "2", "-t", "2"])
        .arg(radius.auth_addr().to_string())
        .args(["auth", radius.secret()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run radclient");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{attributes}Message-Authenticator = 0x00\n").as_bytes())
        .expect("write to radclient");
    let out = child.wait_with_output().expect("radclient");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
