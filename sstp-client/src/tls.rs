//! TLS for the SSTP connection (MS-SSTP 3.2.4.1: the client must verify the
//! server), on rustls with the aws-lc-rs provider.
//!
//! Four ways to trust the server, one verifier type:
//! - the system roots (rustls-native-certs), checking chain and name;
//! - a CA file (`--ca-file`), same checks against those CAs only;
//! - pinned SHA-256 fingerprints of the leaf (`--pin-sha256`), for servers
//!   with self-signed certificates: chain and name are not checked, the
//!   fingerprint is; with a CA file as well, both are checked (a person who
//!   gives both expects both to hold);
//! - `dangerous_skip_verify`: nothing is checked, loudly.
//!
//! Whatever the mode, the handshake signatures are verified (so the peer
//! holds the key of the certificate it showed), and the leaf's fingerprint is
//! recorded, so a refusal can tell the person which certificate they met.
//! The leaf's DER also feeds the crypto binding (MS-SSTP 3.2.5.2.1,
//! `CertHashes::from_der`).

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sstp_core::CertHashes;

use crate::error::{CertificateError, Error};
use crate::options::{TlsOptions, TlsVersion};

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509
/// -fingerprint -sha256` prints it. Parses with or without colons, in any
/// case, with an optional `sha256:` prefix.
///
/// ```
/// use sstp_client::Fingerprint;
/// let f = Fingerprint::of_der(b"not really a certificate");
/// let text = f.to_string();
/// assert_eq!(text.len(), 32 * 3 - 1);
/// assert_eq!(text.parse::<Fingerprint>().unwrap(), f);
/// assert_eq!(text.replace(':', "").to_lowercase().parse::<Fingerprint>().unwrap(), f);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// SHA-256 of `der`.
    pub fn of_der(der: &[u8]) -> Self {
        Self(CertHashes::from_der(der).sha256)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            Error::Config(format!(
                "fingerprint {s:?}: expected 64 hex digits (SHA-256), colons allowed"
            ))
        };
        let t = s.trim();
        let t = t
            .strip_prefix("sha256:")
            .or_else(|| t.strip_prefix("SHA256:"))
            .or_else(|| t.strip_prefix("sha256/"))
            .unwrap_or(t);
        let digits: Vec<u8> = t.bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            *o = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// How the server certificate is trusted (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrustMode {
    SystemRoots,
    CaFile,
    Pinned,
    CaFileAndPinned,
    SkipVerify,
}

/// A ready TLS client configuration plus what the verifier saw.
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) mode: TrustMode,
    pub(crate) pins: Vec<Fingerprint>,
    seen: Arc<Mutex<Option<Fingerprint>>>,
}

impl TlsSetup {
    /// Builds the configuration for connecting to `host` (SNI and the name
    /// checked are `options.sni` when set).
    pub(crate) fn new(options: &TlsOptions, host: &str) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let min = options.min_version.unwrap_or(TlsVersion::Tls12);
        let max = options.max_version.unwrap_or(TlsVersion::Tls13);
        if min > max {
            return Err(Error::Config(format!(
                "the minimum TLS version {min} is above the maximum {max}"
            )));
        }
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
            (TlsVersion::Tls12, &rustls::version::TLS12),
            (TlsVersion::Tls13, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(v, _)| (min..=max).contains(v))
        .map(|(_, p)| p)
        .collect();

        let name = options.sni.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| Error::Config(format!("{name:?} is not a valid TLS server name")))?;

        let seen = Arc::new(Mutex::new(None));
        let (verifier, mode) = Verifier::new(options, &provider, Arc::clone(&seen))?;
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| Error::Config(format!("TLS versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            server_name,
            mode,
            pins: options.pins.clone(),
            seen,
        })
    }

    /// The fingerprint of the last leaf certificate the verifier saw.
    pub(crate) fn seen(&self) -> Option<Fingerprint> {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets what the verifier saw (before a new handshake).
    pub(crate) fn reset_seen(&self) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Turns a failed handshake into the error a person can act on.
    pub(crate) fn handshake_error(&self, error: std::io::Error) -> Error {
        let tls_error = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .cloned();
        let seen = self.seen();
        match tls_error {
            Some(rustls::Error::InvalidCertificate(cert_error)) => {
                // The pin check is the only one that answers "application verification
                // failure"; with a CA file too, anything else is the chain or the name.
                let pin_failed = match self.mode {
                    TrustMode::Pinned => true,
                    TrustMode::CaFileAndPinned => matches!(
                        cert_error,
                        rustls::CertificateError::ApplicationVerificationFailure
                    ),
                    _ => false,
                };
                if pin_failed && let Some(seen) = seen {
                    return CertificateError::PinMismatch {
                        seen,
                        pinned: self.pins.clone(),
                    }
                    .into();
                }
                CertificateError::Untrusted {
                    seen,
                    reason: describe(&cert_error, &self.server_name, self.mode),
                }
                .into()
            }
            // No TLS alert, the TCP connection just ended: tokio-rustls
            // reports "tls handshake eof" (or a reset when our ClientHello
            // met a closed socket).
            None if matches!(
                error.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            ) =>
            {
                Error::HandshakeClosed {
                    server: self.server_name.to_str().into_owned(),
                }
            }
            _ => Error::Tls {
                server: self.server_name.to_str().into_owned(),
                source: error,
            },
        }
    }
}

fn describe(error: &rustls::CertificateError, name: &ServerName<'_>, mode: TrustMode) -> String {
    use rustls::CertificateError as E;
    let anchors = match mode {
        TrustMode::CaFile | TrustMode::CaFileAndPinned => "the CA file",
        _ => "the system's trusted roots",
    };
    match error {
        E::UnknownIssuer => format!(
            "it is not signed by {anchors} (self-signed or private CA: use --ca-file, or --pin-sha256 with the fingerprint above)"
        ),
        E::NotValidForName | E::NotValidForNameContext { .. } => format!(
            "it is not valid for the name {:?} (connect by the name in the certificate, or set --sni)",
            name.to_str()
        ),
        E::Expired | E::ExpiredContext { .. } => "it has expired".to_owned(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".to_owned(),
        E::Revoked => "it was revoked".to_owned(),
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "it is not meant for TLS servers (extended key usage)".to_owned()
        }
        E::BadSignature => "its signature does not verify".to_owned(),
        other => format!("{other:?}"),
    }
}

fn system_roots() -> Result<RootCertStore, Error> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let detail = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(CertificateError::NoRoots(format!(
            "no system root certificates found{detail}; use --ca-file or --pin-sha256"
        ))
        .into());
    }
    Ok(roots)
}

fn ca_file_roots(path: &std::path::Path) -> Result<RootCertStore, Error> {
    let fail = |detail: String| CertificateError::CaFile {
        path: path.display().to_string(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".to_owned()).into());
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| fail(format!("unusable certificate: {e}")))?;
    }
    Ok(roots)
}

fn check_pin(
    pins: &[Fingerprint],
    seen: &Fingerprint,
) -> Result<ServerCertVerified, rustls::Error> {
    if pins.contains(seen) {
        Ok(ServerCertVerified::assertion())
    } else {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::ApplicationVerificationFailure,
        ))
    }
}

#[derive(Debug)]
enum Inner {
    WebPki(Arc<WebPkiServerVerifier>),
    Pinned(Vec<Fingerprint>),
    /// The chain and name against the CA file, then the pin.
    WebPkiAndPinned(Arc<WebPkiServerVerifier>, Vec<Fingerprint>),
    SkipVerify,
}

/// Records the leaf's fingerprint, then decides by mode. Handshake
/// signatures are always checked with the provider's algorithms.
#[derive(Debug)]
struct Verifier {
    inner: Inner,
    seen: Arc<Mutex<Option<Fingerprint>>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    /// The verifier `options` ask for, recording what it sees in `seen`.
    fn new(
        options: &TlsOptions,
        provider: &Arc<CryptoProvider>,
        seen: Arc<Mutex<Option<Fingerprint>>>,
    ) -> Result<(Self, TrustMode), Error> {
        let (inner, mode) = if options.dangerous_skip_verify {
            (Inner::SkipVerify, TrustMode::SkipVerify)
        } else if !options.pins.is_empty() && options.ca_file.is_none() {
            (Inner::Pinned(options.pins.clone()), TrustMode::Pinned)
        } else {
            let (roots, mode) = match &options.ca_file {
                Some(path) => (ca_file_roots(path)?, TrustMode::CaFile),
                None => (system_roots()?, TrustMode::SystemRoots),
            };
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
                    .build()
                    .map_err(|e| CertificateError::NoRoots(e.to_string()))?;
            if options.pins.is_empty() {
                (Inner::WebPki(verifier), mode)
            } else {
                (
                    Inner::WebPkiAndPinned(verifier, options.pins.clone()),
                    TrustMode::CaFileAndPinned,
                )
            }
        };
        let verifier = Self {
            inner,
            seen,
            provider: Arc::clone(provider),
        };
        Ok((verifier, mode))
    }
}

/// The verifier for the server's inner EAP-TLS certificate (RFC 5216
/// §5.3: the peer checks the server's certificate as in any TLS), built
/// by the same rules as the outer one from `options`.
pub(crate) fn eap_tls_verifier(
    options: &TlsOptions,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    if options.dangerous_skip_verify {
        tracing::warn!(
            "the server's EAP-TLS certificate is not checked either (--dangerous-skip-verify without --eap-ca)"
        );
    }
    let (verifier, _) = Verifier::new(options, provider, Arc::new(Mutex::new(None)))?;
    Ok(Arc::new(verifier))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = Fingerprint::of_der(end_entity);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(fingerprint);
        match &self.inner {
            Inner::WebPki(verifier) => verifier.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            Inner::Pinned(pins) => check_pin(pins, &fingerprint),
            Inner::WebPkiAndPinned(verifier, pins) => {
                verifier.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                )?;
                check_pin(pins, &fingerprint)
            }
            Inner::SkipVerify => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_usual_spellings() {
        let f = Fingerprint([0xAB; 32]);
        let colon = f.to_string();
        assert!(colon.starts_with("AB:AB:"));
        for text in [
            colon.clone(),
            colon.to_lowercase(),
            colon.replace(':', ""),
            format!("sha256:{}", colon.replace(':', "")),
            format!("  {colon}  "),
        ] {
            assert_eq!(text.parse::<Fingerprint>().unwrap(), f, "{text}");
        }
        assert!("AB:CD".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn version_bounds_are_checked() {
        let options = TlsOptions {
            min_version: Some(TlsVersion::Tls13),
            max_version: Some(TlsVersion::Tls12),
            dangerous_skip_verify: true,
            ..TlsOptions::default()
        };
        let err = TlsSetup::new(&options, "vpn.example.net").unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        let options = TlsOptions {
            max_version: Some(TlsVersion::Tls12),
            pins: vec![Fingerprint([1; 32])],
            ..TlsOptions::default()
        };
        let setup = TlsSetup::new(&options, "vpn.example.net").unwrap();
        assert_eq!(setup.mode, TrustMode::Pinned);
    }

    #[test]
    fn missing_ca_file_is_a_clear_error() {
        let options = TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = TlsSetup::new(&options, "vpn.example.net").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
