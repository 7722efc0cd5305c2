//! EAP-TLS as one EAP method of one session: the conversation of
//! `exchange.rs` with the session's clock and the link's MRU, and what the
//! EAP layer takes from it at the end (the peer's certificates, the HLAK).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, UnixTime};

use crate::crypto::binding::Hlak;
use crate::wire::auth::EapTls;

use super::config::{EapTlsClientConfig, EapTlsServerConfig};
use super::exchange::{Exchange, Next};
use super::fragments::fragment_size;
use super::tls::{TlsEngine, WallClock};

/// The wall-clock time at one `now` of the session: the driver gives it
/// once, and every later `now` moves it on (the session reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WallAnchor {
    /// The session's `now` when the time was given.
    pub(crate) at: Instant,
    /// The time then, since the Unix epoch.
    pub(crate) since_epoch: Duration,
}

impl WallAnchor {
    fn at(&self, now: Instant) -> UnixTime {
        UnixTime::since_unix_epoch(self.since_epoch + now.saturating_duration_since(self.at))
    }
}

/// One side's EAP-TLS.
#[derive(Debug)]
pub(crate) struct TlsMethod {
    exchange: Exchange,
    clock: Arc<WallClock>,
    anchor: Option<WallAnchor>,
}

impl TlsMethod {
    /// The authenticator's side, cutting fragments for a peer with MRU
    /// `peer_mru`.
    pub(crate) fn server(
        config: &EapTlsServerConfig,
        anchor: Option<WallAnchor>,
        peer_mru: u16,
    ) -> Result<Self, rustls::Error> {
        let clock = Arc::new(WallClock::default());
        let engine = TlsEngine::server(config.rustls(&clock)?)?;
        Ok(Self {
            exchange: Exchange::new(engine, fragment_size(peer_mru), config.max_flight()),
            clock,
            anchor,
        })
    }

    /// The peer's side.
    pub(crate) fn client(
        config: &EapTlsClientConfig,
        anchor: Option<WallAnchor>,
        peer_mru: u16,
    ) -> Result<Self, rustls::Error> {
        let clock = Arc::new(WallClock::default());
        let engine = TlsEngine::client(config.rustls(&clock)?, config.server_name())?;
        Ok(Self {
            exchange: Exchange::new(engine, fragment_size(peer_mru), config.max_flight()),
            clock,
            anchor,
        })
    }

    fn tick(&self, now: Instant) {
        if let Some(anchor) = &self.anchor {
            self.clock.set(anchor.at(now));
        }
    }

    /// The peer's answer to EAP-TLS Start: its ClientHello.
    pub(crate) fn client_hello(&mut self, now: Instant) -> Next {
        self.tick(now);
        self.exchange.client_hello()
    }

    /// The other side's packet.
    pub(crate) fn handle(&mut self, now: Instant, packet: &EapTls) -> Next {
        self.tick(now);
        self.exchange.handle(packet)
    }

    /// Whether EAP-Success may go (server) or be taken (peer).
    pub(crate) fn is_established(&self) -> bool {
        self.exchange.engine().is_established()
    }

    /// The peer's certificate chain, end entity first, as TLS validated it.
    pub(crate) fn peer_certificates(&self) -> Vec<CertificateDer<'static>> {
        self.exchange
            .engine()
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// The HLAK: the first 32 bytes of the EAP-TLS MSK, the generic EAP
    /// rule of MS-SSTP 3.2.5.2.2 (its note says Windows takes it for
    /// EAP-TLS too).
    pub(crate) fn hlak(&self) -> Result<Hlak, rustls::Error> {
        Ok(Hlak::from_eap_msk(&self.exchange.engine().keys()?.msk))
    }
}

/// A rustls error as the words an authentication failure carries.
pub(crate) fn tls_words(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    use rustls::Error as E;
    let certificate = |e: &C| match e {
        C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the certificate is not valid yet".to_owned()
        }
        C::UnknownIssuer => "the certificate is not from a trusted CA".to_owned(),
        C::Revoked => "the certificate is revoked".to_owned(),
        C::BadSignature => "the certificate's signature does not verify".to_owned(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the certificate is not for this server's name".to_owned()
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the certificate is not for this use (extended key usage)".to_owned()
        }
        other => format!("the certificate was refused ({other})"),
    };
    let alert = |a: &rustls::AlertDescription| {
        use rustls::AlertDescription as A;
        match a {
            A::BadCertificate => "it found our certificate bad".to_owned(),
            A::CertificateExpired => "our certificate has expired".to_owned(),
            A::CertificateRevoked => "our certificate is revoked".to_owned(),
            A::UnknownCA => "our certificate is not from a CA it trusts".to_owned(),
            A::CertificateRequired => "it requires a certificate".to_owned(),
            A::HandshakeFailure => "no common TLS parameters".to_owned(),
            A::DecryptError => {
                "a signature did not verify (a certificate signed by another key than its CA's?)"
                    .to_owned()
            }
            A::ProtocolVersion => "no common TLS version".to_owned(),
            A::AccessDenied => "access denied".to_owned(),
            other => format!("TLS alert {}", u8::from(*other)),
        }
    };
    match error {
        E::InvalidCertificate(e) => certificate(e),
        E::AlertReceived(a) => format!("the other side ended the TLS handshake: {}", alert(a)),
        E::NoCertificatesPresented => "no client certificate was presented".to_owned(),
        E::FailedToGetCurrentTime => {
            "no wall-clock time was given to the session to check certificates".to_owned()
        }
        other => other.to_string(),
    }
}
