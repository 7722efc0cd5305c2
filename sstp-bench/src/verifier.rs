//! The certificate verifier of the benchmark's TLS clients (the load generator and the relay).
//!
//! **Only for a benchmark.** `sstp-bench` only ever talks to a server it started itself on
//! loopback or in its own namespaces, with a self-signed certificate. This verifier therefore
//! does not check the certificate chain or name; it still verifies the handshake signature (so a
//! handshake costs what a real client's does, less the chain walk) and, given a pin, refuses any
//! leaf whose SHA-256 differs. Do not copy it into anything that talks to a network.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sstp_client::Fingerprint;

/// Trusts any leaf (or the pinned one), checks handshake signatures.
#[derive(Debug)]
pub(crate) struct BenchVerifier {
    pub(crate) pin: Option<Fingerprint>,
    pub(crate) provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for BenchVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            Some(pin) if Fingerprint::of_der(end_entity) != pin => {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
            _ => Ok(ServerCertVerified::assertion()),
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
    fn pinned_verifier_refuses_another_leaf() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let leaf = CertificateDer::from(b"leaf".to_vec());
        let name = ServerName::try_from("localhost").expect("name");
        let check = |pin: Option<Fingerprint>| {
            BenchVerifier {
                pin,
                provider: Arc::clone(&provider),
            }
            .verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
            .is_ok()
        };
        assert!(check(None));
        assert!(check(Some(Fingerprint::of_der(b"leaf"))));
        assert!(!check(Some(Fingerprint::of_der(b"other"))));
    }
}
