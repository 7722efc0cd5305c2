//! Pinning (the library side of `--pin-sha256`): the right fingerprint
//! connects without the CA; a wrong one is refused before any SSTP byte,
//! and the error shows the fingerprint the server presented.

use sstp_client::{CertificateError, Error, ErrorKind, Fingerprint, System, TlsOptions};

use crate::auth::{exchange_v4, up_info};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_pin_connects() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let pin = server.pki.fingerprint();
    // The server reports the same fingerprint (as the admin would read it).
    let printed: Fingerprint = server.handle.tls_fingerprint().parse().expect("parses");
    assert_eq!(printed, pin);
    let (tun, mut handle) = client_tun("cli0");
    let mut tunnel = within(
        "the connect",
        server
            .client()
            .tls(TlsOptions {
                pins: vec![pin],
                ..TlsOptions::default()
            })
            .connect_with(tun, System::none()),
    )
    .await
    .expect("a pinned connect");
    let (up, _) = up_info(&mut tunnel).await;
    exchange_v4(&mut server, &mut handle, &up, b"pinned").await;
    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_is_refused_and_names_the_fingerprint_seen() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let real = server.pki.fingerprint();
    let mut wrong = real;
    wrong.0[0] ^= 0xff;
    let (tun, _handle) = client_tun("cli0");
    let err = within(
        "the refusal",
        server
            .client()
            .tls(TlsOptions {
                pins: vec![wrong],
                // The CA would accept the certificate: the pin still rules.
                ca_file: Some(server.pki.ca_file.clone()),
                ..TlsOptions::default()
            })
            .connect_with(tun, System::none()),
    )
    .await
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Certificate, "{err}");
    match &err {
        Error::Certificate(CertificateError::PinMismatch { seen, pinned }) => {
            assert_eq!(*seen, real);
            assert_eq!(pinned, &vec![wrong]);
        }
        other => panic!("not a pin mismatch: {other:?}"),
    }
    assert!(err.to_string().contains(&real.to_string()), "{err}");
    // Nothing got as far as a session on the server.
    assert_eq!(server.metric("sstp_auth_failures_total"), 0.0);
    server.wait_idle().await;
    server.shutdown().await;
}
