//! EAP-TLS end to end over loopback: client certificates from `sstp-server
//! ca`, the server's `[auth.eap_tls]` policy, a certificate-only user with
//! a fixed address in the users file, revocation by thumbprint and by CRL
//! picked up on reload, and a certificate from a CA the server does not
//! trust.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sstp_core::{AuthMethod, EapTlsClientConfig};
use sstp_server::ca::{self, IssueRequest, Issued, RevokeTarget};
use sstp_server::eap_tls::EapTlsConfig;

use crate::support::*;

/// A certificate-only user: no password, a fixed address.
const CERT_USERS: &str = r#"
[users.alice]
ipv4 = "10.77.3.201"
"#;

fn new_ca(dir: &Path) {
    new_ca_named(dir, "sstp-rs loopback client CA");
}

fn new_ca_named(dir: &Path, name: &str) {
    ca::init(dir, name, 365, false).expect("ca init");
}

fn issue(dir: &Path, name: &str) -> Issued {
    ca::issue(
        dir,
        &IssueRequest {
            name: name.to_owned(),
            email: None,
            days: 30,
            out_dir: dir.join("issued"),
            pkcs12_password: None,
        },
    )
    .expect("ca issue")
}

/// The server offers EAP-TLS, then EAP-MSCHAPv2; `policy` is the body of
/// `[auth.eap_tls]` for the CA in `dir`.
fn config(dir: &Path, policy: &str) -> sstp_server::Config {
    let mut config = test_config();
    config.auth.methods = vec![AuthMethod::EapTls, AuthMethod::EapMsChapV2];
    let text = format!("ca = {:?}\n{policy}", dir.join("ca.pem"));
    config.auth.eap_tls = Some(toml::from_str::<EapTlsConfig>(&text).expect("[auth.eap_tls]"));
    config.validate().expect("valid");
    config
}

/// A client presenting `issued`, trusting the server's CA for the inner
/// certificate too (the server shows its TLS certificate inside EAP-TLS).
fn client(server: &TestServer, issued: &Issued) -> ClientOptions {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.pki.ca.clone()).expect("root");
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("verifier");
    let chain = vec![CertificateDer::from_pem_file(&issued.cert).expect("cert")];
    let key = PrivateKeyDer::from_pem_file(&issued.key).expect("key");
    let eap = EapTlsClientConfig::new(
        provider,
        verifier,
        ServerName::try_from("localhost").expect("name"),
        chain,
        key,
    )
    .expect("client EAP-TLS");
    let mut opts = server.client().methods(&[AuthMethod::EapTls]);
    opts.eap_tls = Some(eap);
    // No password: a certificate-only client.
    opts.password = String::new();
    opts
}

#[tokio::test]
async fn a_certificate_user_comes_up_with_its_fixed_address_and_others_from_the_pool() {
    let dir = tempfile::tempdir().expect("tmp");
    new_ca(dir.path());
    let (alice, bob) = (issue(dir.path(), "alice"), issue(dir.path(), "bob"));
    let server = TestServer::start_with_users(config(dir.path(), ""), CERT_USERS).await;
    // alice: named from the certificate's CN, which the users file lists
    // with a fixed address.
    let a = client(&server, &alice)
        .connect()
        .await
        .expect("alice comes up");
    assert_eq!(a.ipv4, Ipv4Addr::new(10, 77, 3, 201));
    // bob is not listed: any certificate of the CA may connect.
    let b = client(&server, &bob).connect().await.expect("bob comes up");
    assert_ne!(b.ipv4, Ipv4Addr::new(10, 77, 3, 201));
    server
        .wait_for("two sessions", |s| s.handle.active_sessions() == 2)
        .await;
    // alice has no password: MS-CHAPv2 cannot log her in.
    let refused = server
        .client()
        .user("alice", "")
        .methods(&[AuthMethod::EapMsChapV2])
        .connect()
        .await
        .err()
        .expect("no password login for a certificate user");
    assert!(refused.contains("AuthFailed"), "{refused}");
}

#[tokio::test]
async fn a_certificate_revoked_by_thumbprint_is_refused_after_a_reload() {
    let dir = tempfile::tempdir().expect("tmp");
    new_ca(dir.path());
    let alice = issue(dir.path(), "alice");
    let revoked = format!("revoked = {:?}\n", dir.path().join("revoked.txt"));
    let server = TestServer::start_with_users(config(dir.path(), &revoked), CERT_USERS).await;
    client(&server, &alice)
        .connect()
        .await
        .expect("comes up before revocation");
    ca::revoke(dir.path(), &RevokeTarget::Name("alice".into())).expect("revoke");
    // Not yet read: still accepted.
    client(&server, &alice)
        .connect()
        .await
        .expect("the old policy holds until the reload");
    server
        .handle
        .reload_eap_tls(&server.pki.identity())
        .expect("configured")
        .expect("reload");
    let refused = client(&server, &alice)
        .connect()
        .await
        .err()
        .expect("refused after the reload");
    assert!(refused.contains("refused our certificate"), "{refused}");
}

#[tokio::test]
async fn a_certificate_revoked_by_crl_is_refused_inside_tls() {
    let dir = tempfile::tempdir().expect("tmp");
    new_ca(dir.path());
    let (alice, bob) = (issue(dir.path(), "alice"), issue(dir.path(), "bob"));
    ca::revoke(dir.path(), &RevokeTarget::Name("alice".into())).expect("revoke");
    let crl = format!("crl = {:?}\n", dir.path().join("crl.pem"));
    let server = TestServer::start_with_users(config(dir.path(), &crl), CERT_USERS).await;
    let refused = client(&server, &alice)
        .connect()
        .await
        .err()
        .expect("a revoked certificate is refused");
    assert!(refused.contains("revoked"), "{refused}");
    client(&server, &bob)
        .connect()
        .await
        .expect("bob is not revoked");
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let (ours, theirs) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    new_ca(ours.path());
    new_ca_named(theirs.path(), "someone else's CA");
    let stranger = issue(theirs.path(), "alice");
    let server = TestServer::start_with_users(config(ours.path(), ""), CERT_USERS).await;
    let refused = client(&server, &stranger)
        .connect()
        .await
        .err()
        .expect("refused");
    assert!(refused.contains("not from a CA it trusts"), "{refused}");
    // A CA of the same name but another key: the signature fails.
    let impostor = tempfile::tempdir().expect("tmp");
    new_ca(impostor.path());
    let forged = issue(impostor.path(), "alice");
    let refused = client(&server, &forged)
        .connect()
        .await
        .err()
        .expect("refused");
    assert!(refused.contains("signature did not verify"), "{refused}");
    server
        .wait_for("the refused session to end", |s| {
            s.handle.active_sessions() == 0
        })
        .await;
}
