//! What a driver hands the sessions for EAP-TLS: the crypto provider, the
//! certificate verifier and this side's certificate, built once and shared
//! by every session. Each session makes its own rustls configuration from
//! them with its own clock ([`WallClock`]): rustls reads the time from its
//! configuration, and a session's time is the one its caller passes.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, ServerConfig, SupportedProtocolVersion};

use super::tls::{SharedClock, WallClock};

/// The default bound on one reassembled TLS flight from the peer: a chain
/// of a few certificates fits many times over (RFC 5216 §2.1.5 leaves the
/// bound to the implementation).
pub const DEFAULT_MAX_FLIGHT: usize = 64 * 1024;

/// The server's EAP-TLS (the authenticator's inner TLS server).
#[derive(Clone)]
pub struct EapTlsServerConfig {
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ClientCertVerifier>,
    key: Arc<CertifiedKey>,
    versions: Vec<&'static SupportedProtocolVersion>,
    max_flight: usize,
}

impl EapTlsServerConfig {
    /// The server presents `chain` (end entity first) with `key`; client
    /// certificates pass `verifier` (e.g. rustls' `WebPkiClientVerifier`
    /// with the trusted CAs and CRLs). TLS 1.2 and 1.3, flights up to
    /// [`DEFAULT_MAX_FLIGHT`].
    pub fn new(
        provider: Arc<CryptoProvider>,
        verifier: Arc<dyn ClientCertVerifier>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let key = Arc::new(CertifiedKey::from_der(chain, key, &provider)?);
        Ok(Self {
            provider,
            verifier,
            key,
            versions: vec![&TLS13, &TLS12],
            max_flight: DEFAULT_MAX_FLIGHT,
        })
    }

    /// Only these TLS versions.
    pub fn with_versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// A different bound on one reassembled flight from the peer.
    pub fn with_max_flight(mut self, bytes: usize) -> Self {
        self.max_flight = bytes;
        self
    }

    pub(crate) fn max_flight(&self) -> usize {
        self.max_flight
    }

    /// One session's rustls configuration: no session tickets (RFC 9190
    /// §2.1.2 resumption is not offered), the session's clock.
    pub(crate) fn rustls(
        &self,
        clock: &Arc<WallClock>,
    ) -> Result<Arc<ServerConfig>, rustls::Error> {
        let mut config = ServerConfig::builder_with_details(
            Arc::clone(&self.provider),
            Arc::new(SharedClock(Arc::clone(clock))),
        )
        .with_protocol_versions(&self.versions)?
        .with_client_cert_verifier(Arc::clone(&self.verifier))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(Arc::clone(&self.key))));
        config.send_tls13_tickets = 0;
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(Arc::new(config))
    }
}

impl core::fmt::Debug for EapTlsServerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EapTlsServerConfig")
            .field("versions", &self.versions)
            .field("max_flight", &self.max_flight)
            .finish_non_exhaustive()
    }
}

/// Two configurations are the same when they share their parts.
impl PartialEq for EapTlsServerConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.provider, &other.provider)
            && Arc::ptr_eq(&self.verifier, &other.verifier)
            && Arc::ptr_eq(&self.key, &other.key)
            && self.versions == other.versions
            && self.max_flight == other.max_flight
    }
}

impl Eq for EapTlsServerConfig {}

/// The client's EAP-TLS (the peer's inner TLS client).
#[derive(Clone)]
pub struct EapTlsClientConfig {
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    server_name: ServerName<'static>,
    key: Arc<CertifiedKey>,
    versions: Vec<&'static SupportedProtocolVersion>,
    max_flight: usize,
}

impl EapTlsClientConfig {
    /// The client presents `chain` (end entity first) with `key`; the
    /// server's inner certificate must pass `verifier` for `server_name`
    /// (e.g. rustls' `WebPkiServerVerifier` with the CAs trusted for it).
    pub fn new(
        provider: Arc<CryptoProvider>,
        verifier: Arc<dyn ServerCertVerifier>,
        server_name: ServerName<'static>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let key = Arc::new(CertifiedKey::from_der(chain, key, &provider)?);
        Ok(Self {
            provider,
            verifier,
            server_name,
            key,
            versions: vec![&TLS13, &TLS12],
            max_flight: DEFAULT_MAX_FLIGHT,
        })
    }

    /// Only these TLS versions.
    pub fn with_versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    pub(crate) fn max_flight(&self) -> usize {
        self.max_flight
    }

    pub(crate) fn server_name(&self) -> ServerName<'static> {
        self.server_name.clone()
    }

    /// One session's rustls configuration: no resumption, the session's
    /// clock.
    pub(crate) fn rustls(
        &self,
        clock: &Arc<WallClock>,
    ) -> Result<Arc<ClientConfig>, rustls::Error> {
        let mut config = ClientConfig::builder_with_details(
            Arc::clone(&self.provider),
            Arc::new(SharedClock(Arc::clone(clock))),
        )
        .with_protocol_versions(&self.versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&self.verifier))
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(Arc::clone(&self.key))));
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Arc::new(config))
    }
}

impl core::fmt::Debug for EapTlsClientConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EapTlsClientConfig")
            .field("server_name", &self.server_name)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// Two configurations are the same when they share their parts.
impl PartialEq for EapTlsClientConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.provider, &other.provider)
            && Arc::ptr_eq(&self.verifier, &other.verifier)
            && Arc::ptr_eq(&self.key, &other.key)
            && self.server_name == other.server_name
            && self.versions == other.versions
            && self.max_flight == other.max_flight
    }
}

impl Eq for EapTlsClientConfig {}
