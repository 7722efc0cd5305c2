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

/// What both ends' configurations hold: the provider, this side's
/// certificate and key, the TLS versions, the bound on a peer's flight.
#[derive(Clone)]
struct Common {
    provider: Arc<CryptoProvider>,
    key: Arc<CertifiedKey>,
    versions: Vec<&'static SupportedProtocolVersion>,
    max_flight: usize,
}

impl Common {
    fn new(
        provider: Arc<CryptoProvider>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let key = Arc::new(CertifiedKey::from_der(chain, key, &provider)?);
        Ok(Self {
            provider,
            key,
            versions: vec![&TLS13, &TLS12],
            max_flight: DEFAULT_MAX_FLIGHT,
        })
    }

    /// The provider and this session's clock, for a rustls builder.
    fn parts(&self, clock: &Arc<WallClock>) -> (Arc<CryptoProvider>, Arc<SharedClock>) {
        (
            Arc::clone(&self.provider),
            Arc::new(SharedClock(Arc::clone(clock))),
        )
    }

    fn resolver(&self) -> Arc<SingleCertAndKey> {
        Arc::new(SingleCertAndKey::from(Arc::clone(&self.key)))
    }
}

/// The same when they share their parts.
impl PartialEq for Common {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.provider, &other.provider)
            && Arc::ptr_eq(&self.key, &other.key)
            && self.versions == other.versions
            && self.max_flight == other.max_flight
    }
}

/// The server's EAP-TLS (the authenticator's inner TLS server).
#[derive(Clone)]
pub struct EapTlsServerConfig {
    common: Common,
    verifier: Arc<dyn ClientCertVerifier>,
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
        Ok(Self {
            common: Common::new(provider, chain, key)?,
            verifier,
        })
    }

    /// Only these TLS versions.
    #[must_use]
    pub fn with_versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> Self {
        self.common.versions = versions.to_vec();
        self
    }

    /// A different bound on one reassembled flight from the peer.
    #[must_use]
    pub const fn with_max_flight(mut self, bytes: usize) -> Self {
        self.common.max_flight = bytes;
        self
    }

    pub(crate) const fn max_flight(&self) -> usize {
        self.common.max_flight
    }

    /// One session's rustls configuration: no session tickets (RFC 9190
    /// §2.1.2 resumption is not offered), the session's clock.
    pub(crate) fn rustls(
        &self,
        clock: &Arc<WallClock>,
    ) -> Result<Arc<ServerConfig>, rustls::Error> {
        let (provider, time) = self.common.parts(clock);
        let mut config = ServerConfig::builder_with_details(provider, time)
            .with_protocol_versions(&self.common.versions)?
            .with_client_cert_verifier(Arc::clone(&self.verifier))
            .with_cert_resolver(self.common.resolver());
        config.send_tls13_tickets = 0;
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(Arc::new(config))
    }
}

impl core::fmt::Debug for EapTlsServerConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EapTlsServerConfig")
            .field("versions", &self.common.versions)
            .field("max_flight", &self.common.max_flight)
            .finish_non_exhaustive()
    }
}

/// Two configurations are the same when they share their parts.
impl PartialEq for EapTlsServerConfig {
    fn eq(&self, other: &Self) -> bool {
        self.common == other.common && Arc::ptr_eq(&self.verifier, &other.verifier)
    }
}

impl Eq for EapTlsServerConfig {}

/// The client's EAP-TLS (the peer's inner TLS client).
#[derive(Clone)]
pub struct EapTlsClientConfig {
    common: Common,
    verifier: Arc<dyn ServerCertVerifier>,
    server_name: ServerName<'static>,
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
        Ok(Self {
            common: Common::new(provider, chain, key)?,
            verifier,
            server_name,
        })
    }

    /// Only these TLS versions.
    #[must_use]
    pub fn with_versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> Self {
        self.common.versions = versions.to_vec();
        self
    }

    pub(crate) const fn max_flight(&self) -> usize {
        self.common.max_flight
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
        let (provider, time) = self.common.parts(clock);
        let mut config = ClientConfig::builder_with_details(provider, time)
            .with_protocol_versions(&self.common.versions)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&self.verifier))
            .with_client_cert_resolver(self.common.resolver());
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Arc::new(config))
    }
}

impl core::fmt::Debug for EapTlsClientConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EapTlsClientConfig")
            .field("server_name", &self.server_name)
            .field("versions", &self.common.versions)
            .finish_non_exhaustive()
    }
}

/// Two configurations are the same when they share their parts.
impl PartialEq for EapTlsClientConfig {
    fn eq(&self, other: &Self) -> bool {
        self.common == other.common
            && Arc::ptr_eq(&self.verifier, &other.verifier)
            && self.server_name == other.server_name
    }
}

impl Eq for EapTlsClientConfig {}
