//! The TLS inside EAP-TLS: a rustls connection fed and drained in memory.
//!
//! Nothing here touches a socket or a clock. The bytes come from reassembled
//! EAP-TLS fragments and leave as the next flight; the time rustls checks
//! certificates against is [`WallClock`], which the session sets from the
//! time its caller passes; randomness comes from the crypto provider in the
//! rustls configuration the driver built.
//!
//! The end of the handshake differs by version. TLS 1.2 (RFC 5216 §2.1.1):
//! the handshake's last flight is the server's ChangeCipherSpec and
//! Finished. TLS 1.3 (RFC 9190 §2.5): after the client's Finished the server
//! sends a "protected success indication", one byte 0x00 of application
//! data, and the peer may not take EAP-Success before it has that byte
//! (close_notify is accepted in its place, as draft versions of RFC 9190
//! used and some servers still send).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::ServerConnection;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, ClientConnection, Connection, ProtocolVersion, ServerConfig};
use zeroize::Zeroizing;

use crate::crypto::mppe::Msk;

/// RFC 9190 §2.3: the TLS 1.3 exporter label for the EAP-TLS key material.
const TLS13_KEY_LABEL: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
/// RFC 9190 §2.3: the exporter context is the EAP Type-Code of EAP-TLS.
const TLS13_KEY_CONTEXT: &[u8] = &[0x0d];
/// RFC 5216 §2.3: TLS-PRF-128(master secret, "client EAP encryption",
/// client random || server random), i.e. the RFC 5705 exporter without a
/// context.
const TLS12_KEY_LABEL: &[u8] = b"client EAP encryption";
/// RFC 5216 §2.3, RFC 9190 §2.3: 64 bytes of MSK, then 64 of EMSK.
const KEY_MATERIAL_LEN: usize = 128;

/// The protected success indication of RFC 9190 §2.5.
const SUCCESS_INDICATION: u8 = 0x00;

/// The wall-clock time rustls validates certificates at. The session owns
/// one per connection and sets it from its caller's time; until it is set,
/// rustls has no time and refuses to validate (it never falls back to the
/// system clock).
#[derive(Debug, Default)]
pub(crate) struct WallClock {
    /// Seconds since the Unix epoch; 0 while unknown.
    secs: AtomicU64,
}

impl WallClock {
    /// Sets the time.
    pub(crate) fn set(&self, time: UnixTime) {
        self.secs.store(time.as_secs().max(1), Ordering::Relaxed);
    }
}

/// The clock as rustls asks for it.
#[derive(Debug)]
pub(crate) struct SharedClock(pub(crate) Arc<WallClock>);

impl TimeProvider for SharedClock {
    fn current_time(&self) -> Option<UnixTime> {
        match self.0.secs.load(Ordering::Relaxed) {
            0 => None,
            secs => Some(UnixTime::since_unix_epoch(Duration::from_secs(secs))),
        }
    }
}

/// A TLS failure: what rustls said, and the alert to send the peer (empty
/// if rustls had none to send).
#[derive(Debug)]
pub(crate) struct TlsFailure {
    /// The error.
    pub(crate) error: rustls::Error,
    /// TLS records (an alert) for the peer.
    pub(crate) alert: Vec<u8>,
}

/// EAP-TLS key material (RFC 5216 §2.3, RFC 9190 §2.3).
pub(crate) struct EapTlsKeys {
    /// The Master Session Key: the first 64 bytes.
    pub(crate) msk: Msk,
    /// The Extended MSK: the last 64 bytes. Derived and checked against
    /// the vectors, but nothing in SSTP uses it (RFC 5295 keeps it for key
    /// hierarchies the authenticator never sees).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) emsk: Zeroizing<[u8; 64]>,
}

impl core::fmt::Debug for EapTlsKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EapTlsKeys(..)")
    }
}

/// One side of the TLS handshake inside EAP-TLS.
#[derive(Debug)]
pub(crate) struct TlsEngine {
    conn: Connection,
    /// Server: the success indication was queued. Client: it arrived.
    success_indication: bool,
}

impl TlsEngine {
    /// The authenticator's side.
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Self {
            conn: ServerConnection::new(config)?.into(),
            success_indication: false,
        })
    }

    /// The peer's side; its ClientHello waits in [`Self::take_output`].
    pub(crate) fn client(
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
    ) -> Result<Self, rustls::Error> {
        Ok(Self {
            conn: ClientConnection::new(config, server_name)?.into(),
            success_indication: false,
        })
    }

    /// The TLS records waiting to go to the peer.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            // Writing into a Vec cannot fail.
            match self.conn.write_tls(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        out
    }

    /// Takes the peer's whole flight and returns ours (possibly empty).
    pub(crate) fn handle_flight(&mut self, mut flight: &[u8]) -> Result<Vec<u8>, TlsFailure> {
        while !flight.is_empty() {
            let read = self.conn.read_tls(&mut flight);
            let processed = self.conn.process_new_packets();
            if let Err(error) = processed {
                return Err(self.failure(error));
            }
            match read {
                Ok(0) => break,
                Ok(_) => {}
                // rustls' buffer of unprocessed records is full; processing
                // above made room, so read on (the loop ends when it cannot).
                Err(e) if e.kind() == io::ErrorKind::Other => {
                    return Err(self.failure(rustls::Error::General(e.to_string())));
                }
                Err(_) => break,
            }
        }
        if !self.conn.is_handshaking() {
            match self.conn {
                Connection::Server(_) => self.queue_success_indication(),
                Connection::Client(_) => self.read_success_indication()?,
            }
        }
        Ok(self.take_output())
    }

    fn failure(&mut self, error: rustls::Error) -> TlsFailure {
        TlsFailure {
            error,
            alert: self.take_output(),
        }
    }

    /// RFC 9190 §2.5: the server ends a TLS 1.3 handshake with one byte of
    /// application data.
    fn queue_success_indication(&mut self) {
        if self.success_indication || !self.is_tls13() {
            return;
        }
        // The writer buffers in memory; it fails only after close.
        if self.conn.writer().write_all(&[SUCCESS_INDICATION]).is_ok() {
            self.success_indication = true;
        }
    }

    /// The peer's side of RFC 9190 §2.5: the byte 0x00 (or close_notify)
    /// is the indication; any other application data is a protocol error,
    /// since EAP-TLS carries none.
    fn read_success_indication(&mut self) -> Result<(), TlsFailure> {
        let mut buf = [0u8; 16];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => {
                    // close_notify.
                    self.success_indication = true;
                    return Ok(());
                }
                Ok(n) if buf.get(..n).is_some_and(|b| b.iter().all(|&x| x == 0)) => {
                    self.success_indication = true;
                }
                Ok(_) => {
                    return Err(self.failure(rustls::Error::General(
                        "the server sent application data inside EAP-TLS".into(),
                    )));
                }
                Err(_) => return Ok(()),
            }
        }
    }

    /// Whether the handshake is over and, in TLS 1.3, the success
    /// indication was sent (server) or received (peer): EAP-Success may
    /// follow (RFC 9190 §2.5).
    pub(crate) fn is_established(&self) -> bool {
        !self.conn.is_handshaking() && (self.success_indication || !self.is_tls13())
    }

    /// Whether TLS 1.3 was negotiated.
    pub(crate) fn is_tls13(&self) -> bool {
        self.conn.protocol_version() == Some(ProtocolVersion::TLSv1_3)
    }

    /// The peer's certificate chain, end entity first, once validated.
    pub(crate) fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// MSK and EMSK (RFC 5216 §2.3 for TLS 1.2, RFC 9190 §2.3 for TLS 1.3),
    /// the full 128 bytes exported once and sliced.
    pub(crate) fn keys(&self) -> Result<EapTlsKeys, rustls::Error> {
        let (label, context) = if self.is_tls13() {
            (TLS13_KEY_LABEL, Some(TLS13_KEY_CONTEXT))
        } else {
            (TLS12_KEY_LABEL, None)
        };
        let material = self.conn.export_keying_material(
            Zeroizing::new([0u8; KEY_MATERIAL_LEN]),
            label,
            context,
        )?;
        let mut msk = [0u8; 64];
        let mut emsk = Zeroizing::new([0u8; 64]);
        let (first, second) = material.split_at(64);
        msk.copy_from_slice(first);
        emsk.copy_from_slice(second);
        Ok(EapTlsKeys {
            msk: Msk::from_bytes(msk),
            emsk,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
pub(crate) mod tests {
    use super::*;
    use rustls::Side;
    use rustls::server::WebPkiClientVerifier;
    use rustls::version::{TLS12, TLS13};

    pub(crate) use super::super::test_pki::*;

    pub(crate) fn server_config(
        pki: &Pki,
        version: &'static rustls::SupportedProtocolVersion,
        clock: &Arc<WallClock>,
    ) -> Arc<ServerConfig> {
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(&pki.ca), provider())
            .build()
            .unwrap();
        let mut config =
            ServerConfig::builder_with_details(provider(), Arc::new(SharedClock(clock.clone())))
                .with_protocol_versions(&[version])
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
                .unwrap();
        config.send_tls13_tickets = 0;
        Arc::new(config)
    }

    pub(crate) fn client_config(
        pki: &Pki,
        version: &'static rustls::SupportedProtocolVersion,
        clock: &Arc<WallClock>,
    ) -> Arc<ClientConfig> {
        let mut config =
            ClientConfig::builder_with_details(provider(), Arc::new(SharedClock(clock.clone())))
                .with_protocol_versions(&[version])
                .unwrap()
                .with_root_certificates(roots(&pki.ca))
                .with_client_auth_cert(vec![pki.client.0.clone()], pki.client.1.clone_key())
                .unwrap();
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }

    fn clock(secs: u64) -> Arc<WallClock> {
        let clock = Arc::new(WallClock::default());
        clock.set(UnixTime::since_unix_epoch(Duration::from_secs(secs)));
        clock
    }

    /// Runs the handshake the way EAP-TLS carries it: whole flights in
    /// turn, until the server has nothing more to say to a peer that has
    /// nothing more to say. Returns (server, client, flights exchanged) or
    /// the first failure with the side it happened on.
    fn handshake(
        mut server: TlsEngine,
        mut client: TlsEngine,
    ) -> Result<(TlsEngine, TlsEngine, usize), (Side, TlsFailure)> {
        let mut to_server = client.take_output();
        for flights in 1..10 {
            let to_client = server
                .handle_flight(&to_server)
                .map_err(|f| (Side::Server, f))?;
            if to_client.is_empty() && to_server.is_empty() && server.is_established() {
                return Ok((server, client, flights));
            }
            to_server = client
                .handle_flight(&to_client)
                .map_err(|f| (Side::Client, f))?;
        }
        panic!("the handshake did not end within 10 flights");
    }

    fn pair(
        version: &'static rustls::SupportedProtocolVersion,
        now: u64,
    ) -> (TlsEngine, TlsEngine) {
        let pki = pki();
        let clock = clock(now);
        let server = TlsEngine::server(server_config(&pki, version, &clock)).unwrap();
        let client = TlsEngine::client(
            client_config(&pki, version, &clock),
            ServerName::try_from("vpn.example").unwrap(),
        )
        .unwrap();
        (server, client)
    }

    #[test]
    fn tls13_completes_with_the_success_indication_and_both_sides_export_the_same_keys() {
        let (server, client) = pair(&TLS13, TODAY);
        let (server, client, flights) =
            handshake(server, client).map_err(|(_, f)| f.error).unwrap();
        assert!(server.is_tls13() && client.is_tls13());
        assert!(server.is_established() && client.is_established());
        // ClientHello; server flight; client Certificate..Finished; the
        // empty acknowledgement of the success indication.
        assert_eq!(flights, 3);
        let (s, c) = (server.keys().unwrap(), client.keys().unwrap());
        assert_eq!(s.msk.as_bytes(), c.msk.as_bytes());
        assert_eq!(*s.emsk, *c.emsk);
        assert_ne!(s.msk.as_bytes()[..], s.emsk[..]);
        let cn = server.peer_certificates().unwrap();
        assert_eq!(cn.len(), 1, "the client's end-entity certificate");
    }

    #[test]
    fn tls12_completes_without_an_indication_and_both_sides_export_the_same_keys() {
        let (server, client) = pair(&TLS12, TODAY);
        let (server, client, _) = handshake(server, client).map_err(|(_, f)| f.error).unwrap();
        assert!(!server.is_tls13() && !client.is_tls13());
        assert!(server.is_established() && client.is_established());
        let (s, c) = (server.keys().unwrap(), client.keys().unwrap());
        assert_eq!(s.msk.as_bytes(), c.msk.as_bytes());
        assert_eq!(*s.emsk, *c.emsk);
    }

    #[test]
    fn the_tls13_peer_is_not_established_before_the_indication() {
        let (mut server, mut client) = pair(&TLS13, TODAY);
        let hello = client.take_output();
        let flight = server.handle_flight(&hello).unwrap();
        let finished = client.handle_flight(&flight).unwrap();
        // The client's handshake is done, but the indication has not come.
        assert!(!client.is_established());
        let indication = server.handle_flight(&finished).unwrap();
        assert!(server.is_established());
        assert!(!indication.is_empty());
        assert!(client.handle_flight(&indication).unwrap().is_empty());
        assert!(client.is_established());
    }

    fn refused_at(now: u64) -> (Side, TlsFailure) {
        let (server, client) = pair(&TLS13, now);
        match handshake(server, client) {
            Ok(_) => panic!("the handshake succeeded at {now}"),
            Err(failure) => failure,
        }
    }

    #[test]
    fn an_expired_certificate_is_refused_with_an_alert() {
        // The client checks the server's certificate first.
        let (side, failure) = refused_at(AFTER_EXPIRY);
        assert_eq!(side, Side::Client);
        assert!(
            matches!(
                failure.error,
                rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)
                    | rustls::Error::InvalidCertificate(
                        rustls::CertificateError::ExpiredContext { .. }
                    )
            ),
            "{:?}",
            failure.error
        );
        assert!(!failure.alert.is_empty(), "the peer is told why");
    }

    #[test]
    fn a_certificate_not_yet_valid_is_refused() {
        let (_, failure) = refused_at(BEFORE_VALIDITY);
        assert!(
            matches!(
                failure.error,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidYet
                        | rustls::CertificateError::NotValidYetContext { .. }
                )
            ),
            "{:?}",
            failure.error
        );
    }

    #[test]
    fn without_a_time_nothing_is_validated() {
        let pki = pki();
        let clock = Arc::new(WallClock::default());
        let server = TlsEngine::server(server_config(&pki, &TLS13, &clock)).unwrap();
        let client = TlsEngine::client(
            client_config(&pki, &TLS13, &clock),
            ServerName::try_from("vpn.example").unwrap(),
        )
        .unwrap();
        let Err((_, failure)) = handshake(server, client) else {
            panic!("validated without a time");
        };
        assert_eq!(failure.error, rustls::Error::FailedToGetCurrentTime);
    }

    #[test]
    fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
        let pki = pki();
        let other = pki_of("another CA");
        let clock = clock(TODAY);
        let server = TlsEngine::server(server_config(&pki, &TLS13, &clock)).unwrap();
        // The client trusts the right CA but holds a certificate of another.
        let mut config = (*client_config(&pki, &TLS13, &clock)).clone();
        config.client_auth_cert_resolver = client_config(&other, &TLS13, &clock)
            .client_auth_cert_resolver
            .clone();
        let client = TlsEngine::client(
            Arc::new(config),
            ServerName::try_from("vpn.example").unwrap(),
        )
        .unwrap();
        let Err((side, failure)) = handshake(server, client) else {
            panic!("a stranger's certificate was accepted");
        };
        assert_eq!(side, Side::Server);
        assert!(
            matches!(
                failure.error,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            ),
            "{:?}",
            failure.error
        );
        assert!(!failure.alert.is_empty());
    }

    #[test]
    fn garbage_from_the_peer_is_an_error_not_a_panic() {
        // A handshake record whose message claims 0x020304 bytes.
        let (mut server, _) = pair(&TLS13, TODAY);
        let failure = server
            .handle_flight(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
            .unwrap_err();
        assert!(
            matches!(failure.error, rustls::Error::InvalidMessage(_)),
            "{:?}",
            failure.error
        );
        // Not TLS at all.
        let (mut server, _) = pair(&TLS13, TODAY);
        assert!(server.handle_flight(b"GET / HTTP/1.1\r\n\r\n").is_err());
    }
}

/// The key derivation checked against a second implementation: the golden
/// vectors below come from `vectors/eap_tls_keys.py` (Python's hmac and
/// hashlib), which checks this file's own HKDF and PRF; those then check
/// what rustls exports from a real handshake, given the secrets rustls
/// logs through its `KeyLog`.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod key_vectors {
    use std::sync::Mutex;

    use hmac::{Hmac, KeyInit, Mac};
    use rustls::KeyLog;
    use rustls::crypto::CryptoProvider;
    use rustls::crypto::aws_lc_rs::cipher_suite::{
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS13_AES_128_GCM_SHA256,
    };
    use rustls::version::{TLS12, TLS13};
    use sha2::{Digest, Sha256};

    use super::tests::{TODAY, pki};
    use super::*;

    /// `vectors/eap_tls_keys.py`, TLS 1.3 line: secret 00..1f.
    const TLS13_VECTOR: &str = "59d2d0b3d955aa780569424b38d1db357da6f822c0239c14bc0b81ca9c67f715a4b98ba605a3e957b94282d7d45cd75e182e729098e303fd04f379479bb6d181382c53be203ce7f84c5b2b347a20bc0f2c24633f032f8048db730171f807c79a04bbd6cfcb44dc268fb805147eff05d32d3968e71c4914b09bde3cc2b850ad84";
    /// `vectors/eap_tls_keys.py`, TLS 1.2 line: master secret 00..2f,
    /// client random c0..cf twice, server random 50..5f twice.
    const TLS12_VECTOR: &str = "70ddeab9612f962201eff107ed80e69b8e9e413974d21da3f3082f48a3db3b3b7978906eb01c80304174bd3bfab0af28d4916e95ebc109b077ca5220040c957346aa3353a5479826d53a6acf264bc317a5a4316a286c490637f173d77eea594a3e9d10b41eb01394b76c3e99af6286c6cdd3982ec212e6704235430941bbb7e1";

    fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// RFC 5869 §2.3.
    fn hkdf_expand(secret: &[u8], info: &[u8], length: usize) -> Vec<u8> {
        let (mut out, mut block) = (Vec::new(), Vec::new());
        for i in 1u8.. {
            if out.len() >= length {
                break;
            }
            block = hmac(secret, &[&block, info, &[i]]);
            out.extend_from_slice(&block);
        }
        out.truncate(length);
        out
    }

    /// RFC 8446 §7.1.
    fn hkdf_expand_label(secret: &[u8], label: &[u8], context: &[u8], length: usize) -> Vec<u8> {
        let full = [b"tls13 ".as_slice(), label].concat();
        let mut info = (length as u16).to_be_bytes().to_vec();
        info.push(full.len() as u8);
        info.extend_from_slice(&full);
        info.push(context.len() as u8);
        info.extend_from_slice(context);
        hkdf_expand(secret, &info, length)
    }

    /// RFC 8446 §7.5, SHA-256.
    fn tls13_exporter(secret: &[u8], label: &[u8], context: &[u8], length: usize) -> Vec<u8> {
        let derived = hkdf_expand_label(secret, label, &Sha256::digest(b""), 32);
        hkdf_expand_label(&derived, b"exporter", &Sha256::digest(context), length)
    }

    /// RFC 5246 §5, P_SHA256.
    fn tls12_prf(secret: &[u8], seed: &[u8], length: usize) -> Vec<u8> {
        let (mut out, mut a) = (Vec::new(), seed.to_vec());
        while out.len() < length {
            a = hmac(secret, &[&a]);
            out.extend_from_slice(&hmac(secret, &[&a, seed]));
        }
        out.truncate(length);
        out
    }

    #[test]
    fn the_test_derivations_match_the_python_vectors() {
        let secret: Vec<u8> = (0..32).collect();
        assert_eq!(
            hex::encode(tls13_exporter(
                &secret,
                TLS13_KEY_LABEL,
                TLS13_KEY_CONTEXT,
                128
            )),
            TLS13_VECTOR
        );
        let master: Vec<u8> = (0..48).collect();
        let client_random: Vec<u8> = (0..32).map(|i| 0xc0 + (i % 16)).collect();
        let server_random: Vec<u8> = (0..32).map(|i| 0x50 + (i % 16)).collect();
        let seed = [TLS12_KEY_LABEL, &client_random, &server_random].concat();
        assert_eq!(hex::encode(tls12_prf(&master, &seed, 128)), TLS12_VECTOR);
    }

    /// Secrets as rustls logs them: (label, secret).
    #[derive(Debug, Default)]
    struct Secrets(Mutex<Vec<(String, Vec<u8>)>>);

    impl KeyLog for Secrets {
        fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
            self.0
                .lock()
                .unwrap()
                .push((label.to_owned(), secret.to_vec()));
        }
    }

    impl Secrets {
        fn get(&self, label: &str) -> Vec<u8> {
            let logged = self.0.lock().unwrap();
            let found = logged.iter().find(|(l, _)| l == label);
            found.map(|(_, s)| s.clone()).expect("secret logged")
        }
    }

    /// A handshake with SHA-256 suites only, the secrets logged, and the
    /// first server flight kept (its ServerHello holds the server random).
    fn handshake(
        version: &'static rustls::SupportedProtocolVersion,
    ) -> (TlsEngine, TlsEngine, Arc<Secrets>, Vec<u8>, Vec<u8>) {
        let pki = pki();
        let clock = Arc::new(WallClock::default());
        clock.set(UnixTime::since_unix_epoch(Duration::from_secs(TODAY)));
        let provider = Arc::new(CryptoProvider {
            cipher_suites: vec![
                TLS13_AES_128_GCM_SHA256,
                TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ],
            ..rustls::crypto::aws_lc_rs::default_provider()
        });
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots.clone()),
            provider.clone(),
        )
        .build()
        .unwrap();
        let mut server_config = ServerConfig::builder_with_details(
            provider.clone(),
            Arc::new(SharedClock(clock.clone())),
        )
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
        server_config.send_tls13_tickets = 0;
        let secrets = Arc::new(Secrets::default());
        let mut client_config =
            ClientConfig::builder_with_details(provider, Arc::new(SharedClock(clock)))
                .with_protocol_versions(&[version])
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(vec![pki.client.0.clone()], pki.client.1.clone_key())
                .unwrap();
        client_config.key_log = secrets.clone();
        let mut server = TlsEngine::server(Arc::new(server_config)).unwrap();
        let mut client = TlsEngine::client(
            Arc::new(client_config),
            ServerName::try_from("vpn.example").unwrap(),
        )
        .unwrap();
        let hello = client.take_output();
        let first = server.handle_flight(&hello).unwrap();
        let mut to_server = client.handle_flight(&first).unwrap();
        for _ in 0..4 {
            let to_client = server.handle_flight(&to_server).unwrap();
            to_server = client.handle_flight(&to_client).unwrap();
        }
        assert!(server.is_established() && client.is_established());
        (server, client, secrets, hello, first)
    }

    /// The 32-byte random of a Hello at the start of `flight`: after the
    /// record header (5), the handshake header (4) and the version (2).
    fn hello_random(flight: &[u8]) -> &[u8] {
        assert_eq!(flight[0], 0x16, "a handshake record");
        &flight[11..43]
    }

    #[test]
    fn tls13_keys_are_the_rfc_9190_exporter() {
        let (server, client, secrets, _, _) = handshake(&TLS13);
        let expected = tls13_exporter(
            &secrets.get("EXPORTER_SECRET"),
            b"EXPORTER_EAP_TLS_Key_Material",
            &[0x0d],
            128,
        );
        for keys in [server.keys().unwrap(), client.keys().unwrap()] {
            assert_eq!(keys.msk.as_bytes()[..], expected[..64]);
            assert_eq!(keys.emsk[..], expected[64..]);
        }
    }

    #[test]
    fn tls12_keys_are_the_rfc_5216_prf() {
        let (server, client, secrets, hello, first) = handshake(&TLS12);
        let seed = [
            b"client EAP encryption".as_slice(),
            hello_random(&hello),
            hello_random(&first),
        ]
        .concat();
        let expected = tls12_prf(&secrets.get("CLIENT_RANDOM"), &seed, 128);
        for keys in [server.keys().unwrap(), client.keys().unwrap()] {
            assert_eq!(keys.msk.as_bytes()[..], expected[..64]);
            assert_eq!(keys.emsk[..], expected[64..]);
        }
    }
}
