//! The server's TLS identity: the certificate chain and key (PEM through
//! rustls-pki-types), the rustls configuration (aws-lc-rs, TLS 1.2 and 1.3),
//! the certificate hashes the SSTP crypto binding checks (MS-SSTP 3.3.5.2.3:
//! the hash of the leaf the client saw), and a self-signed certificate
//! generator for `sstp-server gen-cert` and tests.
//!
//! It also owns the checks that clients will accept the chain
//! ([`TlsIdentity::check`], on x509-parser): dates, the serverAuth EKU
//! (MS-SSTP 3.2.4.1), no CA certificate as the leaf, the chain's order, the
//! key matching the leaf, and a subjectAltName. `--check-config`, the start
//! ([`Server::bind`](crate::Server::bind)) and a reload
//! ([`ServerHandle::reload_tls`](crate::ServerHandle::reload_tls)) run them.
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
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::TlsVersion;

/// Why a certificate or key could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or decoded.
    #[error("{what}: {reason}")]
    Pem {
        /// Which file or input.
        what: String,
        /// The decoder's complaint (kept out of the error chain, as the
        /// message already says it).
        reason: rustls_pki_types::pem::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The OS error (kept out of the error chain, as the message
        /// already says it).
        reason: std::io::Error,
    },
    /// The certificate input held no certificate.
    #[error("{0}: no certificate found (expected a PEM block -----BEGIN CERTIFICATE-----)")]
    NoCertificate(String),
    /// The key input held no private key.
    #[error("{0}: no private key found (expected a PEM block such as -----BEGIN PRIVATE KEY-----)")]
    NoKey(String),
    /// The key is encrypted with a passphrase, which a daemon cannot ask for.
    #[error(
        "{0}: the private key is encrypted with a passphrase, which the server cannot ask for; decrypt it once with `openssl pkey -in {0} -out plain.pem` and point tls.private_key at plain.pem (mode 0600)"
    )]
    EncryptedKey(String),
    /// The chain or key cannot be served as it is.
    #[error("{what}: {problem}")]
    Certificate {
        /// Which file or input.
        what: String,
        /// What is wrong, with a hint.
        problem: CertProblem,
    },
    /// A name for a generated certificate is neither a DNS name nor an IP
    /// address.
    #[error(
        "{0:?} is neither a DNS name nor an IP address; give the name clients connect to, such as vpn.example.com or 192.0.2.1"
    )]
    InvalidName(String),
    /// A validity for a generated certificate outside what is allowed.
    #[error("a certificate must be valid for 1 to {MAX_CERT_DAYS} days, not {0}")]
    InvalidDays(u32),
    /// rustls refused the configuration.
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

/// What is wrong with a certificate chain or its key for a TLS server that
/// SSTP clients accept (MS-SSTP 3.2.4.1: the client validates the name and
/// the EKU; RFC 5280 4.1.2.5 dates, 4.2.1.9 basic constraints, 4.2.1.12 EKU).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertProblem {
    /// A certificate does not parse as X.509.
    #[error("certificate {index} of the chain is not a valid X.509 certificate ({reason})")]
    Malformed {
        /// Its place in the chain, from 1 (the leaf).
        index: usize,
        /// The parser's complaint.
        reason: String,
    },
    /// The private key cannot be loaded.
    #[error(
        "the private key is not one the server can use ({reason}); use an ECDSA P-256 or P-384, Ed25519 or RSA key"
    )]
    UnsupportedKey {
        /// What rustls said.
        reason: String,
    },
    /// The private key is not the leaf's.
    #[error(
        "the private key{key} does not belong to the certificate for {subject}; use the key the certificate was issued for"
    )]
    KeyMismatch {
        /// ` in FILE` for a key from a file, else empty.
        key: String,
        /// The leaf's name.
        subject: String,
    },
    /// The key belongs to a later certificate of the chain: the server's
    /// own certificate is not first.
    #[error(
        "the private key belongs to certificate {index} of the chain ({subject}), not to the first; put the server's own certificate first, then the certificates that issued it"
    )]
    LeafNotFirst {
        /// Where the key's certificate sits, from 1.
        index: usize,
        /// Its name.
        subject: String,
    },
    /// The leaf is a CA certificate (basicConstraints CA:TRUE), which
    /// clients refuse as a server certificate.
    #[error(
        "the first certificate ({subject}) is a CA certificate (basicConstraints CA:TRUE), which clients refuse as a server's; put the server's own certificate first, then the certificates that issued it"
    )]
    CaAsLeaf {
        /// The leaf's name.
        subject: String,
    },
    /// The leaf has an extended key usage without serverAuth or
    /// anyExtendedKeyUsage.
    #[error(
        "the certificate for {subject} may be used for {usages} but not for TLS servers (no serverAuth extended key usage), so clients refuse it; issue one with serverAuth"
    )]
    NoServerAuth {
        /// The leaf's name.
        subject: String,
        /// The usages it has.
        usages: String,
    },
    /// A certificate's notAfter is past.
    #[error("{which} expired on {date}; {hint}")]
    Expired {
        /// "the certificate for X" or "certificate 2 of the chain (X)".
        which: String,
        /// notAfter.
        date: String,
        /// What to do.
        hint: &'static str,
    },
    /// A certificate's notBefore is in the future.
    #[error("{which} is not valid before {date}; check this host's clock, or wait until then")]
    NotYetValid {
        /// "the certificate for X" or "certificate 2 of the chain (X)".
        which: String,
        /// notBefore.
        date: String,
    },
    /// A certificate is not issued by the one after it.
    #[error(
        "the chain is out of order: certificate {next} ({next_subject}) did not issue certificate {index} ({subject}){found}; list the server's certificate first, then each issuer in turn"
    )]
    ChainOrder {
        /// Place of the issued certificate, from 1.
        index: usize,
        /// Its name.
        subject: String,
        /// Place of the certificate after it.
        next: usize,
        /// Its name.
        next_subject: String,
        /// Where the real issuer sits, if it is in the chain.
        found: String,
    },
}

/// Longest validity `gen-cert` gives (about ten years).
pub const MAX_CERT_DAYS: u32 = 3650;

/// A certificate expiring sooner than this gets a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

/// A certificate chain (leaf first) and its private key.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Where the chain came from, for messages: its file, or "certificate".
    what: String,
    /// Where the key came from, as ` in FILE`, or empty for PEM text.
    key_what: String,
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
    /// Copies of the chain and the key (EAP-TLS shows the same certificate
    /// inside the tunnel unless told otherwise).
    pub(crate) fn parts(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (self.chain.clone(), self.key.clone_key())
    }

    /// From DER: the chain (leaf first, not empty) and the key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::NoCertificate("certificate chain".into()));
        }
        Ok(Self {
            chain,
            key,
            what: "certificate".into(),
            key_what: String::new(),
        })
    }

    /// From PEM text: every `CERTIFICATE` block of `chain_pem` (leaf first)
    /// and the first private key of `key_pem` (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| TlsError::Pem {
                what: "certificate".into(),
                reason,
            })?;
        let key = parse_key("private key", key_pem)?;
        Self::new(chain, key)
    }

    /// From PEM files.
    pub fn from_pem_files(chain: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|reason| TlsError::Read {
                path: path.display().to_string(),
                reason,
            })
        };
        let chain_pem = read(chain)?;
        let certs = CertificateDer::pem_slice_iter(&chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| TlsError::Pem {
                what: chain.display().to_string(),
                reason,
            })?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(chain.display().to_string()));
        }
        let key_pem = read(key)?;
        let key_what = key.display().to_string();
        let key = parse_key(&key_what, &key_pem)?;
        let mut identity = Self::new(certs, key)?;
        identity.what = chain.display().to_string();
        identity.key_what = format!(" in {key_what}");
        Ok(identity)
    }

    /// The leaf certificate (DER).
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // `new` refuses an empty chain.
        &self.chain[0]
    }

    /// Checks that clients can accept this chain and that the key is the
    /// leaf's, as `--check-config`, the start and a reload do: the key
    /// matches, the leaf is not a CA and allows serverAuth (MS-SSTP 3.2.4.1),
    /// every certificate is within its dates, each is issued by the next,
    /// and rustls takes the lot. Returns warnings: a leaf without
    /// subjectAltName, or one that expires within 14 days.
    pub fn check(&self, min_version: TlsVersion) -> Result<Vec<String>, TlsError> {
        self.check_at(min_version, time::OffsetDateTime::now_utc())
    }

    /// [`check`](Self::check) at the time `now`.
    pub(crate) fn check_at(
        &self,
        min_version: TlsVersion,
        now: time::OffsetDateTime,
    ) -> Result<Vec<String>, TlsError> {
        let fail = |problem| TlsError::Certificate {
            what: self.what.clone(),
            problem,
        };
        let mut parsed = Vec::with_capacity(self.chain.len());
        for (i, der) in self.chain.iter().enumerate() {
            let reason = match X509Certificate::from_der(der) {
                Ok(([], cert)) => {
                    parsed.push(cert);
                    continue;
                }
                Ok(_) => "bytes follow the certificate".to_owned(),
                Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
                    e.to_string()
                }
                Err(x509_parser::nom::Err::Incomplete(_)) => "it is cut short".to_owned(),
            };
            return Err(fail(CertProblem::Malformed {
                index: i + 1,
                reason,
            }));
        }
        let leaf = &parsed[0];
        let subject = name_of(leaf);

        // The key first: with another certificate's key nothing else matters.
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let signer = provider
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| {
                fail(CertProblem::UnsupportedKey {
                    reason: e.to_string(),
                })
            })?;
        if let Some(spki) = signer.public_key()
            && spki.as_ref() != leaf.public_key().raw
        {
            let owner = parsed
                .iter()
                .position(|c| c.public_key().raw == spki.as_ref());
            return Err(fail(match owner {
                Some(i) => CertProblem::LeafNotFirst {
                    index: i + 1,
                    subject: name_of(&parsed[i]),
                },
                None => CertProblem::KeyMismatch {
                    key: self.key_what.clone(),
                    subject,
                },
            }));
        }
        // RFC 5280 4.2.1.9: CA:TRUE marks an issuer; webpki and Windows
        // refuse it as an end-entity certificate.
        if leaf.is_ca() {
            return Err(fail(CertProblem::CaAsLeaf { subject }));
        }
        // MS-SSTP 3.2.4.1: the client checks for id-kp-serverAuth or
        // anyExtendedKeyUsage; with no EKU extension at all any use is allowed
        // (RFC 5280 4.2.1.12).
        match leaf.extended_key_usage() {
            Ok(Some(eku)) if !(eku.value.server_auth || eku.value.any) => {
                return Err(fail(CertProblem::NoServerAuth {
                    subject,
                    usages: usages(eku.value),
                }));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(fail(CertProblem::Malformed {
                    index: 1,
                    reason: e.to_string(),
                }));
            }
        }
        // RFC 5280 4.1.2.5: every certificate of the path must be valid now.
        for (i, cert) in parsed.iter().enumerate() {
            let which = if i == 0 {
                format!("the certificate for {subject}")
            } else {
                format!("certificate {} of the chain ({})", i + 1, name_of(cert))
            };
            let validity = cert.validity();
            if now < validity.not_before.to_datetime() {
                return Err(fail(CertProblem::NotYetValid {
                    which,
                    date: date(validity.not_before.to_datetime()),
                }));
            }
            if now > validity.not_after.to_datetime() {
                return Err(fail(CertProblem::Expired {
                    which,
                    date: date(validity.not_after.to_datetime()),
                    hint: if i == 0 {
                        "renew it (sstp-server gen-cert makes a self-signed one), then send SIGHUP"
                    } else {
                        "get the current intermediate certificates from the issuer"
                    },
                }));
            }
        }
        // RFC 5246 7.4.2 / RFC 8446 4.4.2: each certificate certifies the one
        // before it, so clients can build the path from the leaf.
        for (i, pair) in parsed.windows(2).enumerate() {
            let (child, parent) = (&pair[0], &pair[1]);
            let named = child.issuer().as_raw() == parent.subject().as_raw();
            // An algorithm the verifier lacks is no proof of a wrong order.
            let signed = !matches!(
                child.verify_signature(Some(parent.public_key())),
                Err(x509_parser::error::X509Error::SignatureVerificationError)
            );
            if !(named && signed) {
                let found = parsed
                    .iter()
                    .position(|c| c.subject().as_raw() == child.issuer().as_raw())
                    .filter(|&j| j != i + 1)
                    .map(|j| format!(", certificate {} did", j + 1))
                    .unwrap_or_default();
                return Err(fail(CertProblem::ChainOrder {
                    index: i + 1,
                    subject: name_of(child),
                    next: i + 2,
                    next_subject: name_of(parent),
                    found,
                }));
            }
        }
        TlsState::new(
            Self {
                chain: self.chain.clone(),
                key: self.key.clone_key(),
                what: self.what.clone(),
                key_what: self.key_what.clone(),
            },
            min_version,
        )?;

        let mut warnings = Vec::new();
        if matches!(leaf.subject_alternative_name(), Ok(None)) {
            warnings.push(format!(
                "{}: the certificate for {subject} has no subjectAltName, which rustls-based clients such as sstpc need for the name check (they ignore the common name, RFC 6125 6.4.4), so they can connect only by pinning its fingerprint; issue one with the server's name as a subjectAltName",
                self.what
            ));
        }
        let not_after = leaf.validity().not_after.to_datetime();
        let left = (not_after - now).whole_days();
        if left < EXPIRY_WARNING_DAYS {
            let when = match left {
                0 => "in less than a day".to_owned(),
                1 => "in 1 day".to_owned(),
                n => format!("in {n} days"),
            };
            warnings.push(format!(
                "{}: the certificate for {subject} expires {when} (on {}); renew it and send SIGHUP before then",
                self.what,
                date(not_after)
            ));
        }
        Ok(warnings)
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

/// The first private key of `pem`, or an error that says why there is none
/// (an encrypted key in particular, which the PEM decoder skips silently).
fn parse_key(what: &str, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    let has = |marker: &[u8]| pem.windows(marker.len()).any(|w| w == marker);
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        // PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 3) and OpenSSL's legacy
        // encrypted PEM (RFC 1421 4.6.1.1 Proc-Type header).
        Err(_)
            if has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED") =>
        {
            Err(TlsError::EncryptedKey(what.to_owned()))
        }
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(TlsError::NoKey(what.to_owned())),
        Err(reason) => Err(TlsError::Pem {
            what: what.to_owned(),
            reason,
        }),
    }
}

/// A certificate's name for messages: its common name, or its whole subject.
fn name_of(cert: &X509Certificate<'_>) -> String {
    if let Some(cn) = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
    {
        return cn.to_owned();
    }
    match cert.subject().to_string() {
        s if s.is_empty() => "an empty subject".to_owned(),
        s => s,
    }
}

/// The usages of an EKU extension, in words.
fn usages(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> String {
    let mut names: Vec<String> = [
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| (*name).to_owned())
    .collect();
    names.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    match names.len() {
        0 => "nothing".to_owned(),
        _ => names.join(", "),
    }
}

/// `2026-12-01 22:30 UTC`.
fn date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
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
    /// (it has no TLS 1.3). No client certificates, no ALPN.
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
/// serverAuth extended key usage Windows requires (MS-SSTP
/// 3.2.4.1), valid from a day ago for `days` days.
/// `names` must be DNS names (a leading `*.` wildcard allowed) or IP
/// addresses, and `days` 1 to [`MAX_CERT_DAYS`].
pub fn generate_self_signed(names: &[String], days: u32) -> Result<SelfSigned, TlsError> {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    for name in names {
        use rustls_pki_types::ServerName;
        let valid = match name.strip_prefix("*.") {
            Some(base) => matches!(ServerName::try_from(base), Ok(ServerName::DnsName(_))),
            None => ServerName::try_from(name.as_str()).is_ok(),
        };
        if !valid {
            return Err(TlsError::InvalidName(name.clone()));
        }
    }
    if !(1..=MAX_CERT_DAYS).contains(&days) {
        return Err(TlsError::InvalidDays(days));
    }
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
        assert_eq!(
            TlsIdentity::from_pem(a.cert_pem.as_bytes(), b"nothing")
                .expect_err("no key")
                .to_string(),
            "private key: no private key found (expected a PEM block such as -----BEGIN PRIVATE KEY-----)"
        );
        let missing = TlsIdentity::from_pem_files(Path::new("/nonexistent/c"), Path::new("/k"))
            .expect_err("no file")
            .to_string();
        assert!(
            missing.starts_with("cannot read /nonexistent/c: "),
            "{missing}"
        );
    }

    // -- The certificate checks, on rcgen certificates made at a fixed time.

    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    /// The time the checks run at: 2027-01-15 08:00 UTC.
    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
    }

    /// A serverAuth leaf for `vpn.example.com`, valid from 30 days before
    /// [`now`] to a year after.
    fn leaf_params() -> CertificateParams {
        let mut p = CertificateParams::new(vec!["vpn.example.com".to_owned()]).expect("params");
        p.distinguished_name = cn("vpn.example.com");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = now() - time::Duration::days(30);
        p.not_after = now() + time::Duration::days(365);
        p
    }

    fn ca_params(name: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = cn(name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        p.not_before = now() - time::Duration::days(30);
        p.not_after = now() + time::Duration::days(3650);
        p
    }

    fn cn(name: &str) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn
    }

    /// A self-signed certificate from `params`: (certificate PEM, key PEM).
    fn self_signed(params: CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        (cert.pem(), key.serialize_pem())
    }

    fn identity(chain: &[&str], key: &str) -> TlsIdentity {
        TlsIdentity::from_pem(chain.concat().as_bytes(), key.as_bytes()).expect("parses")
    }

    fn refusal(identity: &TlsIdentity) -> String {
        identity
            .check_at(TlsVersion::Tls12, now())
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_good_certificate_passes_without_warnings() {
        let (cert, key) = self_signed(leaf_params());
        let warnings = identity(&[&cert], &key)
            .check_at(TlsVersion::Tls12, now())
            .expect("accepted");
        assert!(warnings.is_empty(), "{warnings:?}");
        // No EKU at all allows every use (RFC 5280 4.2.1.12).
        let mut any = leaf_params();
        any.extended_key_usages.clear();
        let (cert, key) = self_signed(any);
        assert!(
            identity(&[&cert], &key)
                .check_at(TlsVersion::Tls12, now())
                .is_ok()
        );
    }

    #[test]
    fn an_expired_certificate_is_refused() {
        let mut p = leaf_params();
        p.not_before = now() - time::Duration::days(400);
        p.not_after = now() - time::Duration::days(1);
        let (cert, key) = self_signed(p);
        assert_eq!(
            refusal(&identity(&[&cert], &key)),
            "certificate: the certificate for vpn.example.com expired on 2027-01-14 08:00 UTC; renew it (sstp-server gen-cert makes a self-signed one), then send SIGHUP"
        );
    }

    #[test]
    fn a_certificate_not_yet_valid_is_refused() {
        let mut p = leaf_params();
        p.not_before = now() + time::Duration::days(2);
        let (cert, key) = self_signed(p);
        assert_eq!(
            refusal(&identity(&[&cert], &key)),
            "certificate: the certificate for vpn.example.com is not valid before 2027-01-17 08:00 UTC; check this host's clock, or wait until then"
        );
    }

    #[test]
    fn a_certificate_expiring_soon_gets_a_warning() {
        let mut p = leaf_params();
        p.not_after = now() + time::Duration::days(5) + time::Duration::hours(1);
        let (cert, key) = self_signed(p);
        assert_eq!(
            identity(&[&cert], &key)
                .check_at(TlsVersion::Tls12, now())
                .expect("still valid"),
            [
                "certificate: the certificate for vpn.example.com expires in 5 days (on 2027-01-20 09:00 UTC); renew it and send SIGHUP before then"
            ]
        );
    }

    #[test]
    fn a_client_auth_only_certificate_is_refused() {
        let mut p = leaf_params();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let (cert, key) = self_signed(p);
        assert_eq!(
            refusal(&identity(&[&cert], &key)),
            "certificate: the certificate for vpn.example.com may be used for clientAuth but not for TLS servers (no serverAuth extended key usage), so clients refuse it; issue one with serverAuth"
        );
    }

    #[test]
    fn a_ca_certificate_as_leaf_is_refused() {
        let (cert, key) = self_signed(ca_params("Example Root CA"));
        assert_eq!(
            refusal(&identity(&[&cert], &key)),
            "certificate: the first certificate (Example Root CA) is a CA certificate (basicConstraints CA:TRUE), which clients refuse as a server's; put the server's own certificate first, then the certificates that issued it"
        );
    }

    #[test]
    fn a_chain_out_of_order_is_refused() {
        let root_key = KeyPair::generate().expect("key");
        let root = ca_params("Example Root CA")
            .self_signed(&root_key)
            .expect("root");
        let root_issuer = Issuer::new(ca_params("Example Root CA"), root_key);
        let inter_key = KeyPair::generate().expect("key");
        let inter = ca_params("Example Intermediate CA")
            .signed_by(&inter_key, &root_issuer)
            .expect("intermediate");
        let inter_issuer = Issuer::new(ca_params("Example Intermediate CA"), inter_key);
        let leaf_key = KeyPair::generate().expect("key");
        let leaf = leaf_params()
            .signed_by(&leaf_key, &inter_issuer)
            .expect("leaf");
        let key = leaf_key.serialize_pem();
        let (leaf, inter, root) = (leaf.pem(), inter.pem(), root.pem());

        let good = identity(&[&leaf, &inter, &root], &key);
        assert!(
            good.check_at(TlsVersion::Tls12, now())
                .expect("in order")
                .is_empty()
        );
        assert_eq!(
            refusal(&identity(&[&leaf, &root, &inter], &key)),
            "certificate: the chain is out of order: certificate 2 (Example Root CA) did not issue certificate 1 (vpn.example.com), certificate 3 did; list the server's certificate first, then each issuer in turn"
        );
        assert_eq!(
            refusal(&identity(&[&inter, &leaf], &key)),
            "certificate: the private key belongs to certificate 2 of the chain (vpn.example.com), not to the first; put the server's own certificate first, then the certificates that issued it"
        );
        // Same names, other keys: the signature gives it away.
        let (stranger, _) = self_signed(ca_params("Example Intermediate CA"));
        assert_eq!(
            refusal(&identity(&[&leaf, &stranger], &key)),
            "certificate: the chain is out of order: certificate 2 (Example Intermediate CA) did not issue certificate 1 (vpn.example.com); list the server's certificate first, then each issuer in turn"
        );
    }

    #[test]
    fn an_expired_intermediate_is_refused() {
        let root_key = KeyPair::generate().expect("key");
        let mut old = ca_params("Example Old CA");
        old.not_after = now() - time::Duration::days(3);
        let ca = old.clone().self_signed(&root_key).expect("ca");
        let issuer = Issuer::new(old, root_key);
        let leaf_key = KeyPair::generate().expect("key");
        let leaf = leaf_params().signed_by(&leaf_key, &issuer).expect("leaf");
        assert_eq!(
            refusal(&identity(
                &[&leaf.pem(), &ca.pem()],
                &leaf_key.serialize_pem()
            )),
            "certificate: certificate 2 of the chain (Example Old CA) expired on 2027-01-12 08:00 UTC; get the current intermediate certificates from the issuer"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = self_signed(leaf_params());
        let (_, other_key) = self_signed(leaf_params());
        assert_eq!(
            refusal(&identity(&[&cert], &other_key)),
            "certificate: the private key does not belong to the certificate for vpn.example.com; use the key the certificate was issued for"
        );
    }

    #[test]
    fn an_encrypted_key_says_how_to_decrypt_it() {
        // testdata/README.md says how this fixture was made.
        let encrypted = include_bytes!("../testdata/encrypted-key.pem");
        let (cert, _) = self_signed(leaf_params());
        assert_eq!(
            TlsIdentity::from_pem(cert.as_bytes(), encrypted)
                .expect_err("encrypted")
                .to_string(),
            "private key: the private key is encrypted with a passphrase, which the server cannot ask for; decrypt it once with `openssl pkey -in private key -out plain.pem` and point tls.private_key at plain.pem (mode 0600)"
        );
        let dir = std::env::temp_dir().join(format!("sstp-tls-encrypted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &cert).expect("cert");
        std::fs::write(&key_path, encrypted).expect("key");
        let err = TlsIdentity::from_pem_files(&cert_path, &key_path)
            .expect_err("encrypted")
            .to_string();
        let key_path = key_path.display();
        assert_eq!(
            err,
            format!(
                "{key_path}: the private key is encrypted with a passphrase, which the server cannot ask for; decrypt it once with `openssl pkey -in {key_path} -out plain.pem` and point tls.private_key at plain.pem (mode 0600)"
            )
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_certificate_without_subject_alt_name_gets_a_warning() {
        let mut p = leaf_params();
        p.subject_alt_names.clear();
        let (cert, key) = self_signed(p);
        assert_eq!(
            identity(&[&cert], &key)
                .check_at(TlsVersion::Tls12, now())
                .expect("served"),
            [
                "certificate: the certificate for vpn.example.com has no subjectAltName, which rustls-based clients such as sstpc need for the name check (they ignore the common name, RFC 6125 6.4.4), so they can connect only by pinning its fingerprint; issue one with the server's name as a subjectAltName"
            ]
        );
    }

    #[test]
    fn generated_certificates_need_real_names_and_days() {
        assert_eq!(
            generate_self_signed(&["not a name!!".into()], 30)
                .expect_err("bad name")
                .to_string(),
            "\"not a name!!\" is neither a DNS name nor an IP address; give the name clients connect to, such as vpn.example.com or 192.0.2.1"
        );
        assert!(generate_self_signed(&["*.192.0.2.1".into()], 30).is_err());
        for days in [0, MAX_CERT_DAYS + 1] {
            assert_eq!(
                generate_self_signed(&["vpn.example.com".into()], days)
                    .expect_err("bad days")
                    .to_string(),
                format!("a certificate must be valid for 1 to 3650 days, not {days}")
            );
        }
        let made = generate_self_signed(&["*.example.com".into(), "2001:db8::1".into()], 1)
            .expect("wildcard and IPv6");
        let warnings = made
            .identity()
            .expect("loads")
            .check(TlsVersion::Tls12)
            .expect("passes its own check");
        assert_eq!(warnings.len(), 1, "one day left: {warnings:?}");
        assert!(
            warnings[0].contains("expires in less than a day (on "),
            "{warnings:?}"
        );
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
