//! The server's TLS identity: the certificate chain and key (PEM through
//! rustls-pki-types), the rustls configuration (aws-lc-rs, TLS 1.2 and 1.3),
//! the certificate hashes the SSTP crypto binding checks (MS-SSTP 3.3.5.2.3:
//! the hash of the leaf the client saw), and a self-signed certificate
//! generator for `sstp-server gen-cert` and tests.
//!
//! A reload builds a new [`TlsState`] and swaps it in: connections that
//! already finished their handshake keep the state (and hashes) they
//! started with, so no session drops.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use sstp_core::CertHashes;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsVersion;

/// Why a certificate or key could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or decoded.
    // Causes are part of these messages, so they are not also the `source()`
    // (a chain printer would say them twice).
    #[error("{what}: {error}")]
    Pem {
        /// Which file or input.
        what: String,
        /// The decoder's complaint.
        error: rustls_pki_types::pem::Error,
    },
    /// The certificate input held no certificate.
    #[error("{0}: no certificate found")]
    NoCertificate(String),
    /// rustls refused the chain or key (e.g. they do not match).
    #[error("TLS configuration: {}", crate::words::tls_error(.0))]
    Rustls(rustls::Error),
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(rcgen::Error),
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        Self::Rustls(e)
    }
}

impl From<rcgen::Error> for TlsError {
    fn from(e: rcgen::Error) -> Self {
        Self::Generate(e)
    }
}

/// A certificate chain (leaf first) and its private key.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("chain", &self.chain.len())
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// From DER: the chain (leaf first, not empty) and the key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::NoCertificate("certificate chain".into()));
        }
        Ok(Self { chain, key })
    }

    /// From PEM text: every `CERTIFICATE` block of `chain_pem` (leaf first)
    /// and the first private key of `key_pem` (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError::Pem {
                what: "certificate".into(),
                error,
            })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| TlsError::Pem {
            what: "private key".into(),
            error,
        })?;
        Self::new(chain, key)
    }

    /// From PEM files.
    pub fn from_pem_files(chain: &Path, key: &Path) -> Result<Self, TlsError> {
        let pem_err = |path: &Path| {
            let what = path.display().to_string();
            move |error| TlsError::Pem { what, error }
        };
        let certs = CertificateDer::pem_file_iter(chain)
            .map_err(pem_err(chain))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_err(chain))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(chain.display().to_string()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(pem_err(key))?;
        Self::new(certs, key)
    }

    /// The leaf certificate (DER).
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // `new` refuses an empty chain.
        &self.chain[0]
    }

    /// Checks that rustls accepts this chain and key (the key matches the
    /// leaf, the key type is supported) without serving it.
    pub fn check(&self, min_version: TlsVersion) -> Result<(), TlsError> {
        let copy = Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        };
        TlsState::new(copy, min_version).map(drop)
    }

    /// SHA-1 thumbprint of the leaf, `AA:BB:...` (what the Windows
    /// certificate dialog shows as "Thumbprint").
    pub fn sha1_thumbprint(&self) -> String {
        use sha1::Digest as _;
        colon_hex(&sha1::Sha1::digest(self.leaf()))
    }

    /// SHA-256 fingerprint of the leaf, `AA:BB:...` (what Windows shows as
    /// the certificate's thumbprint when SHA-256 is chosen).
    pub fn fingerprint(&self) -> String {
        fingerprint(self.leaf())
    }
}

/// `AA:BB:...` SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

fn colon_hex(digest: &[u8]) -> String {
    let hex = hex::encode_upper(digest);
    let mut out = String::with_capacity(hex.len() * 3 / 2);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(pair[0]));
        out.push(char::from(pair[1]));
    }
    out
}

/// What one handshake uses: the acceptor and the hashes of its leaf.
pub(crate) struct TlsState {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) hashes: CertHashes,
    pub(crate) fingerprint: String,
}

impl fmt::Debug for TlsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsState")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl TlsState {
    /// A rustls server on aws-lc-rs with `identity`, TLS 1.3 and (unless
    /// `min_version` says 1.3) TLS 1.2, which Windows 10 needs
    /// (PROTOCOL.md 3.7 item 10). No client certificates, no ALPN.
    pub(crate) fn new(identity: TlsIdentity, min_version: TlsVersion) -> Result<Self, TlsError> {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        // AES-128-GCM first, and our order rather than the client's: many clients (rustls, for
        // one) list AES-256-GCM-SHA384 first, whose SHA-384 key schedule costs the server about
        // 5 % of a full connect (sstp-bench `load connects`) for no gain a VPN needs.
        provider
            .cipher_suites
            .sort_by_key(|suite| suite_preference(suite.suite()));
        let provider = Arc::new(provider);
        let versions: &[&rustls::SupportedProtocolVersion] = match min_version {
            TlsVersion::Tls13 => &[&TLS13],
            _ => &[&TLS13, &TLS12],
        };
        let hashes = CertHashes::from_der(identity.leaf());
        let fingerprint = identity.fingerprint();
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_no_client_auth()
            .with_single_cert(identity.chain, identity.key)?;
        // No TLS 1.3 session tickets: a VPN session is one long connection,
        // so resumption buys nothing; this saves two records and the ticket
        // encryption per handshake, and keeps sstpc's first read after the
        // handshake the HTTP response it waits for.
        config.send_tls13_tickets = 0;
        config.ignore_client_order = true;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            hashes,
            fingerprint,
        })
    }
}

/// Rank of a cipher suite in the server's order (lower first): AES-128-GCM, then AES-256-GCM,
/// then the rest in the provider's order.
fn suite_preference(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256
        | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
        S::TLS13_AES_256_GCM_SHA384
        | S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        | S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 1,
        _ => 2,
    }
}

/// A freshly generated certificate and key.
#[non_exhaustive]
#[derive(Clone)]
pub struct SelfSigned {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// [`fingerprint`] of the certificate.
    pub fingerprint: String,
}

impl fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSigned")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl SelfSigned {
    /// The identity to serve with.
    pub fn identity(&self) -> Result<TlsIdentity, TlsError> {
        TlsIdentity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }
}

/// Makes a self-signed ECDSA P-256 certificate for `names` (DNS names or IP
/// addresses, all in the subjectAltName; the first is also the CN) with the
/// serverAuth extended key usage Windows requires (MS-SSTP 3.2.4.1,
/// PROTOCOL.md 3.7 item 6), valid from a day ago for `days` days.
pub fn generate_self_signed(names: &[String], days: u32) -> Result<SelfSigned, TlsError> {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().map_or("sstp-rs", String::as_str),
    );
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok(SelfSigned {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
        fingerprint: fingerprint(cert.der()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_load_and_fingerprint() {
        let cert = generate_self_signed(&["vpn.example.com".into(), "192.0.2.1".into()], 30)
            .expect("generate");
        assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let identity = cert.identity().expect("loads");
        assert_eq!(identity.fingerprint(), cert.fingerprint);
        assert_eq!(cert.fingerprint.len(), 32 * 3 - 1);
        assert_eq!(identity.leaf().as_ref(), &cert.cert_der[..]);
        let state = TlsState::new(identity, TlsVersion::Tls12).expect("rustls accepts it");
        assert_eq!(state.hashes, CertHashes::from_der(&cert.cert_der));
    }

    #[test]
    fn fingerprint_format() {
        // SHA-256("") = e3b0c442...
        assert!(fingerprint(b"").starts_with("E3:B0:C4:42:"));
    }

    #[test]
    fn mismatched_or_missing_pem_is_an_error() {
        let a = generate_self_signed(&["a.example".into()], 1).expect("a");
        let b = generate_self_signed(&["b.example".into()], 1).expect("b");
        let mixed =
            TlsIdentity::from_pem(a.cert_pem.as_bytes(), b.key_pem.as_bytes()).expect("parses");
        assert!(TlsState::new(mixed, TlsVersion::Tls12).is_err());
        assert!(matches!(
            TlsIdentity::from_pem(b"", a.key_pem.as_bytes()),
            Err(TlsError::NoCertificate(_))
        ));
        assert!(matches!(
            TlsIdentity::from_pem(a.cert_pem.as_bytes(), b"nothing"),
            Err(TlsError::Pem { .. })
        ));
        assert!(TlsIdentity::from_pem_files(Path::new("/nonexistent/c"), Path::new("/k")).is_err());
    }

    /// Resumption buys a VPN nothing: the server sends no TLS 1.3 session
    /// tickets (and so nothing between the handshake and the HTTP answer).
    #[test]
    fn no_tls13_session_tickets_are_sent() {
        use std::sync::Mutex;

        #[derive(Debug, Default)]
        struct Recording(Mutex<usize>);
        impl rustls::client::ClientSessionStore for Recording {
            fn set_kx_hint(
                &self,
                _: rustls::pki_types::ServerName<'static>,
                _: rustls::NamedGroup,
            ) {
            }
            fn kx_hint(&self, _: &rustls::pki_types::ServerName<'_>) -> Option<rustls::NamedGroup> {
                None
            }
            fn set_tls12_session(
                &self,
                _: rustls::pki_types::ServerName<'static>,
                _: rustls::client::Tls12ClientSessionValue,
            ) {
            }
            fn tls12_session(
                &self,
                _: &rustls::pki_types::ServerName<'_>,
            ) -> Option<rustls::client::Tls12ClientSessionValue> {
                None
            }
            fn remove_tls12_session(&self, _: &rustls::pki_types::ServerName<'static>) {}
            fn insert_tls13_ticket(
                &self,
                _: rustls::pki_types::ServerName<'static>,
                _: rustls::client::Tls13ClientSessionValue,
            ) {
                *self.0.lock().expect("lock") += 1;
            }
            fn take_tls13_ticket(
                &self,
                _: &rustls::pki_types::ServerName<'static>,
            ) -> Option<rustls::client::Tls13ClientSessionValue> {
                None
            }
        }

        let cert = generate_self_signed(&["vpn.example.com".into()], 1).expect("cert");
        let state = TlsState::new(cert.identity().expect("id"), TlsVersion::Tls12).expect("tls");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(cert.cert_der.clone()))
            .expect("root");
        let store = Arc::new(Recording::default());
        let mut client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&[&TLS13])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        client_config.resumption = rustls::client::Resumption::store(store.clone());
        let mut client = rustls::ClientConnection::new(
            Arc::new(client_config),
            "vpn.example.com".try_into().expect("name"),
        )
        .expect("client");
        let mut server =
            rustls::ServerConnection::new(Arc::clone(state.acceptor.config())).expect("server");
        // Pump records both ways until neither side has anything to say.
        for _ in 0..10 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).expect("client write");
            }
            let mut slice = &buf[..];
            while !slice.is_empty() {
                server.read_tls(&mut slice).expect("server read");
                server.process_new_packets().expect("server process");
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).expect("server write");
            }
            let mut slice = &buf[..];
            while !slice.is_empty() {
                client.read_tls(&mut slice).expect("client read");
                client.process_new_packets().expect("client process");
            }
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(
            *store.0.lock().expect("lock"),
            0,
            "the server sent session tickets"
        );
        // The client (rustls' default order) asks for AES-256-GCM first; the server's order wins.
        assert_eq!(
            rustls::crypto::aws_lc_rs::default_provider().cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
        );
        assert_eq!(
            server.negotiated_cipher_suite().map(|s| s.suite()),
            Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
    }
}
