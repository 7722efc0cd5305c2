//! The test PKI of EAP-TLS, for the unit tests and the fuzz harnesses: a
//! CA, a server certificate (vpn.example) and a client certificate
//! (alice), ECDSA P-256, valid 2020-01-01 to 2030-01-01, made with rcgen.

#![allow(clippy::expect_used)] // fixed inputs: a failure is a test bug
// The fuzz harnesses take only part of it.
#![cfg_attr(not(test), allow(dead_code))]

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// 2026-06-01 00:00:00 UTC: inside every test certificate's validity.
pub(crate) const TODAY: u64 = 1_780_272_000;
/// 2031-01-01: after the test certificates' `not_after` (2030-01-01).
pub(crate) const AFTER_EXPIRY: u64 = 1_924_992_000;
/// 2019-01-01: before their `not_before` (2020-01-01).
pub(crate) const BEFORE_VALIDITY: u64 = 1_546_300_800;

/// A test CA, a server certificate (vpn.example) and a client
/// certificate (alice), ECDSA P-256, valid 2020–2030.
pub(crate) struct Pki {
    pub(crate) ca: CertificateDer<'static>,
    pub(crate) server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    pub(crate) client: (CertificateDer<'static>, PrivateKeyDer<'static>),
}

fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
}

pub(crate) fn pki() -> Pki {
    pki_of("sstp-rs test CA")
}

/// A [`Pki`] whose CA has the given name.
pub(crate) fn pki_of(ca_name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("test PKI");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    validity(&mut ca);
    let ca =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("test PKI")).expect("test PKI");
    let leaf = |names: Vec<String>, cn: &str, eku| {
        let key = KeyPair::generate().expect("test PKI");
        let mut params = CertificateParams::new(names).expect("test PKI");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![eku];
        validity(&mut params);
        let cert = params.signed_by(&key, &ca).expect("test PKI");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    };
    Pki {
        server: leaf(
            vec!["vpn.example".into()],
            "vpn.example",
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(Vec::new(), "alice", ExtendedKeyUsagePurpose::ClientAuth),
        ca: ca.der().clone(),
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

pub(crate) fn roots(ca: &CertificateDer<'static>) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).expect("test PKI");
    Arc::new(roots)
}
