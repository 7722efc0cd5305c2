//! TLS for the relay: TLS 1.3 only, on aws-lc-rs (the provider sstp-rs uses), a self-signed
//! ECDSA P-256 certificate made in memory for the server, and a client that accepts any
//! certificate.
//!
//! The relay is a benchmark baseline between two namespaces on one machine, never a tunnel for
//! real traffic: skipping the certificate check costs nothing there and saves distributing the
//! certificate. The handshake signature is still checked, so the TLS work matches a real
//! connection.

use std::sync::Arc;

use anyhow::Context;
use rustls::crypto::CryptoProvider;
use rustls::version::TLS13;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::verifier::BenchVerifier;

/// The name in the certificate and the SNI the client sends (nobody checks it).
pub(crate) const SERVER_NAME: &str = "relay.sstp-bench.invalid";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS 1.3 server config with a fresh self-signed ECDSA P-256 certificate.
pub(crate) fn server_config() -> anyhow::Result<ServerConfig> {
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating a P-256 key")?;
    let cert = CertificateParams::new(vec![SERVER_NAME.to_owned()])
        .and_then(|params| params.self_signed(&key))
        .context("making the self-signed certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13])
        .context("TLS 1.3 on aws-lc-rs")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .context("loading the certificate into rustls")?;
    // One long connection: resumption buys nothing (the SSTP server does the same).
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// A TLS 1.3 client config that accepts any server certificate (see the module docs).
pub(crate) fn client_config() -> anyhow::Result<ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(BenchVerifier {
        pin: None,
        provider: Arc::clone(&provider),
    });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])
        .context("TLS 1.3 on aws-lc-rs")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The SNI the client sends.
pub(crate) fn server_name() -> anyhow::Result<ServerName<'static>> {
    ServerName::try_from(SERVER_NAME).context("server name")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn configs_build() {
        let server = server_config().unwrap();
        assert_eq!(server.send_tls13_tickets, 0);
        client_config().unwrap();
        assert_eq!(server_name().unwrap().to_str(), SERVER_NAME);
    }

    /// Runs a handshake in memory; the first error of either side.
    fn handshake(
        client: &mut rustls::ClientConnection,
        server: &mut rustls::ServerConnection,
    ) -> Result<(), rustls::Error> {
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut &buf[..]).unwrap();
            server.process_new_packets()?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut &buf[..]).unwrap();
            client.process_new_packets()?;
        }
        Err(rustls::Error::General("handshake did not finish".into()))
    }

    #[test]
    fn client_accepts_the_self_signed_server_over_tls13() {
        let mut server = rustls::ServerConnection::new(Arc::new(server_config().unwrap())).unwrap();
        let mut client = rustls::ClientConnection::new(
            Arc::new(client_config().unwrap()),
            server_name().unwrap(),
        )
        .unwrap();
        handshake(&mut client, &mut server).unwrap();
        assert_eq!(
            client.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
    }

    #[test]
    fn the_server_refuses_tls12() {
        let provider = provider();
        let tls12_only = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(BenchVerifier {
                pin: None,
                provider,
            }))
            .with_no_client_auth();
        let mut server = rustls::ServerConnection::new(Arc::new(server_config().unwrap())).unwrap();
        let mut client =
            rustls::ClientConnection::new(Arc::new(tls12_only), server_name().unwrap()).unwrap();
        assert!(handshake(&mut client, &mut server).is_err());
    }
}
