//! The server's EAP-TLS policy (`[auth.eap_tls]`): which CAs issue client
//! certificates, which certificates are revoked, and which user a
//! certificate is.
//!
//! TLS (rustls' webpki verifier) checks the chain, the dates, the
//! clientAuth key usage and the CRLs. What TLS does not know is checked
//! here, after it: the revoked-thumbprint list (Azure VPN Gateway's way of
//! revoking one client certificate, by SHA-1 thumbprint; SHA-256 is taken
//! too), and the mapping from the certificate to a user name: the subject
//! common name, a subjectAltName e-mail (rfc822Name), the Microsoft UPN
//! (otherName 1.3.6.1.4.1.311.20.2.3, what Windows puts in user
//! certificates) or a DNS name, tried in the configured order (RFC 5280
//! §4.1.2.6, §4.2.1.6).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::der_parser::asn1_rs::{Any, FromDer, Utf8String};
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::Oid;

/// The Microsoft User Principal Name otherName (szOID_NT_PRINCIPAL_NAME).
const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";

/// `[auth.eap_tls]` as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EapTlsConfig {
    /// CA certificate files (PEM, each may hold several) whose
    /// certificates issue client certificates.
    #[serde(deserialize_with = "one_or_many")]
    pub ca: Vec<PathBuf>,
    /// CRL files (PEM or DER) to check client certificates against.
    #[serde(default, deserialize_with = "one_or_many")]
    pub crl: Vec<PathBuf>,
    /// A file of revoked thumbprints, one SHA-1 or SHA-256 (hex) a line,
    /// `#` comments (what `sstp-server ca revoke` writes).
    #[serde(default)]
    pub revoked: Option<PathBuf>,
    /// Where the user name comes from, tried in order.
    #[serde(default = "default_user_name")]
    pub user_name: Vec<NameSource>,
    /// The certificate the server shows inside EAP-TLS (PEM chain, leaf
    /// first). Without it, the server's TLS certificate (`[tls]`) serves,
    /// as it does for Windows' RRAS.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub private_key: Option<PathBuf>,
}

fn default_user_name() -> Vec<NameSource> {
    vec![NameSource::Cn]
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(path) => vec![path],
        OneOrMany::Many(paths) => paths,
    })
}

/// A place in the certificate a user name can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameSource {
    /// The subject's common name.
    Cn,
    /// A subjectAltName rfc822Name (e-mail address).
    Email,
    /// The Microsoft UPN otherName in the subjectAltName.
    Upn,
    /// A subjectAltName dNSName.
    Dns,
}

impl fmt::Display for NameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cn => "subject common name",
            Self::Email => "e-mail address",
            Self::Upn => "UPN",
            Self::Dns => "DNS name",
        })
    }
}

/// Why the EAP-TLS policy cannot be loaded, in words.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    // The OS error is part of the message, so it is not also the
    // `source()` (a chain printer would say it twice).
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// Which file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// A file holds nothing usable.
    #[error("{}: {reason}", path.display())]
    Content {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The verifier could not be built from the CAs and CRLs.
    #[error("cannot check client certificates with these CAs and CRLs: {0}")]
    Verifier(String),
    /// `user_name` is empty.
    #[error("[auth.eap_tls] user_name lists no source; use for example [\"cn\"]")]
    NoNameSource,
    /// The certificate the server shows inside EAP-TLS is unusable.
    #[error("the EAP-TLS server certificate: {0}")]
    Certificate(String),
}

/// The server's EAP-TLS, loaded: the policy its backend checks after TLS,
/// and the sstp-core configuration its sessions run TLS with (the policy's
/// verifier and the server's certificate). Built together, swapped
/// together on SIGHUP.
#[derive(Debug, Clone)]
pub struct EapTlsLoaded {
    /// The checks after TLS.
    pub policy: Arc<EapTlsPolicy>,
    /// What the sessions run.
    pub session: sstp_core::EapTlsServerConfig,
}

impl EapTlsLoaded {
    /// Reads `config`'s files; the inner certificate is `config`'s own or,
    /// without one, `outer` (the server's TLS certificate).
    pub fn load(config: &EapTlsConfig, outer: &crate::TlsIdentity) -> Result<Self, PolicyError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let policy = Arc::new(EapTlsPolicy::load(config, Arc::clone(&provider))?);
        let inner = match (&config.certificate, &config.private_key) {
            (Some(cert), Some(key)) => Some(
                crate::TlsIdentity::from_pem_files(cert, key)
                    .map_err(|e| PolicyError::Certificate(e.to_string()))?,
            ),
            _ => None,
        };
        let (chain, key) = inner.as_ref().unwrap_or(outer).parts();
        let session = sstp_core::EapTlsServerConfig::new(provider, policy.verifier(), chain, key)
            .map_err(|e| PolicyError::Certificate(e.to_string()))?;
        Ok(Self { policy, session })
    }
}

/// Why a client certificate that passed TLS is still refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertRefusal {
    /// Its thumbprint is on the revoked list.
    #[error("the certificate is revoked (thumbprint {thumbprint} is in the revoked list)")]
    Revoked {
        /// The SHA-1 thumbprint (hex), as Windows shows it.
        thumbprint: String,
    },
    /// None of the configured sources yields a user name.
    #[error("the certificate names no user: it has no {}", sources(.tried))]
    NoUserName {
        /// The sources tried.
        tried: Vec<NameSource>,
    },
    /// The certificate does not parse (TLS took it; this should not happen).
    #[error("the certificate cannot be read: {0}")]
    Unreadable(String),
}

fn sources(tried: &[NameSource]) -> String {
    let words: Vec<String> = tried.iter().map(ToString::to_string).collect();
    words.join(", no ")
}

/// A loaded policy: the verifier TLS runs and the checks after it.
#[derive(Debug, Clone)]
pub struct EapTlsPolicy {
    verifier: Arc<dyn ClientCertVerifier>,
    revoked: HashSet<String>,
    user_name: Vec<NameSource>,
}

impl EapTlsPolicy {
    /// Reads the CA bundles, CRLs and revoked list of `config`.
    pub fn load(
        config: &EapTlsConfig,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, PolicyError> {
        if config.user_name.is_empty() {
            return Err(PolicyError::NoNameSource);
        }
        let mut roots = RootCertStore::empty();
        for path in &config.ca {
            let certs = read_certs(path)?;
            let (_, ignored) = roots.add_parsable_certificates(certs);
            if ignored > 0 {
                return Err(PolicyError::Content {
                    path: path.clone(),
                    reason: format!("{ignored} certificate(s) are not usable as a CA"),
                });
            }
        }
        let mut crls = Vec::new();
        for path in &config.crl {
            crls.extend(read_crls(path)?);
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            // A client whose certificate's issuer has a CRL we lack is
            // still checked against the CRLs we have (RFC 5280 §6.3).
            .allow_unknown_revocation_status()
            .build()
            .map_err(|e| PolicyError::Verifier(e.to_string()))?;
        let revoked = match &config.revoked {
            Some(path) => read_revoked(path)?,
            None => HashSet::new(),
        };
        Ok(Self {
            verifier,
            revoked,
            user_name: config.user_name.clone(),
        })
    }

    /// The verifier the EAP-TLS TLS server runs: chain to a configured CA,
    /// dates, clientAuth, CRLs.
    pub fn verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::clone(&self.verifier)
    }

    /// After TLS accepted `leaf`: the revoked list, then the user name.
    pub fn check(&self, leaf: &CertificateDer<'_>) -> Result<String, CertRefusal> {
        let sha1 = hex::encode(Sha1::digest(leaf));
        let sha256 = hex::encode(Sha256::digest(leaf));
        if self.revoked.contains(&sha1) || self.revoked.contains(&sha256) {
            return Err(CertRefusal::Revoked { thumbprint: sha1 });
        }
        let (_, cert) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| CertRefusal::Unreadable(e.to_string()))?;
        let alt_names: Vec<GeneralName<'_>> = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| ext.value.general_names.clone())
            .unwrap_or_default();
        for source in &self.user_name {
            let name = match source {
                NameSource::Cn => cert
                    .subject()
                    .iter_common_name()
                    .find_map(|cn| cn.as_str().ok())
                    .map(str::to_owned),
                NameSource::Email => alt_names.iter().find_map(|n| match n {
                    GeneralName::RFC822Name(email) => Some((*email).to_owned()),
                    _ => None,
                }),
                NameSource::Dns => alt_names.iter().find_map(|n| match n {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                }),
                NameSource::Upn => alt_names.iter().find_map(|n| match n {
                    GeneralName::OtherName(oid, value) if is_upn(oid) => upn(value),
                    _ => None,
                }),
            };
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                return Ok(name);
            }
        }
        Err(CertRefusal::NoUserName {
            tried: self.user_name.clone(),
        })
    }
}

fn is_upn(oid: &Oid<'_>) -> bool {
    oid.to_id_string() == UPN_OID
}

/// The UTF8String inside an otherName's `[0] EXPLICIT` value (RFC 5280
/// §4.2.1.6: `value [0] EXPLICIT ANY DEFINED BY type-id`).
fn upn(value: &[u8]) -> Option<String> {
    let (_, explicit) = Any::from_der(value).ok()?;
    let inner = if explicit.header.is_contextspecific() {
        explicit.data
    } else {
        value
    };
    let (_, text) = Utf8String::from_der(inner).ok()?;
    Some(text.string())
}

fn read(path: &Path) -> Result<Vec<u8>, PolicyError> {
    std::fs::read(path).map_err(|error| PolicyError::Read {
        path: path.to_owned(),
        error,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PolicyError> {
    let bytes = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| PolicyError::Content {
            path: path.to_owned(),
            reason: format!("not PEM certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(PolicyError::Content {
            path: path.to_owned(),
            reason: "holds no certificate".into(),
        });
    }
    Ok(certs)
}

fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PolicyError> {
    let bytes = read(path)?;
    let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let crls = if pem.is_empty() {
        // DER, as CAs often publish them.
        vec![CertificateRevocationListDer::from(bytes)]
    } else {
        pem
    };
    for crl in &crls {
        if x509_parser::revocation_list::CertificateRevocationList::from_der(crl).is_err() {
            return Err(PolicyError::Content {
                path: path.to_owned(),
                reason: "not a CRL (PEM or DER)".into(),
            });
        }
    }
    Ok(crls)
}

/// One thumbprint a line (colons and spaces allowed, any case), `#`
/// comments and blank lines skipped; anything else is an error with its
/// line number.
fn read_revoked(path: &Path) -> Result<HashSet<String>, PolicyError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut set = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let thumbprint =
            crate::ca::normalize_thumbprint(line).map_err(|_| PolicyError::Content {
                path: path.to_owned(),
                reason: format!(
                    "line {}: {line:?} is not a SHA-1 (40 hex digits) or SHA-256 (64) thumbprint",
                    number + 1
                ),
            })?;
        set.insert(thumbprint);
    }
    Ok(set)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use rcgen::{CertificateParams, DnType, Issuer, KeyPair, OtherNameValue, SanType};
    use rustls_pki_types::UnixTime;

    use super::*;
    use crate::ca;

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    fn config(dir: &Path) -> EapTlsConfig {
        toml::from_str(&format!(
            "ca = {:?}\ncrl = [{:?}]\nrevoked = {:?}\nuser_name = [\"upn\", \"email\", \"cn\"]\n",
            dir.join("ca.pem"),
            dir.join("crl.pem"),
            dir.join("revoked.txt"),
        ))
        .unwrap()
    }

    fn issue(dir: &Path, name: &str, email: Option<&str>) -> CertificateDer<'static> {
        let issued = ca::issue(
            dir,
            &ca::IssueRequest {
                name: name.into(),
                email: email.map(str::to_owned),
                days: 30,
                out_dir: dir.join(name),
                pkcs12_password: None,
            },
        )
        .unwrap();
        CertificateDer::from_pem_file(issued.cert).unwrap()
    }

    fn tls_accepts(policy: &EapTlsPolicy, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        policy
            .verifier()
            .verify_client_cert(cert, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn names_come_from_the_sources_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        ca::init(tmp.path(), "Example VPN root", 365, false).unwrap();
        let with_email = issue(tmp.path(), "alice", Some("alice@example.com"));
        let plain = issue(tmp.path(), "bob", None);
        let policy = EapTlsPolicy::load(&config(tmp.path()), provider()).unwrap();
        tls_accepts(&policy, &with_email).unwrap();
        // No UPN: the e-mail wins over the CN; without either, the CN.
        assert_eq!(policy.check(&with_email).unwrap(), "alice@example.com");
        assert_eq!(policy.check(&plain).unwrap(), "bob");
        let mut only_email = config(tmp.path());
        only_email.user_name = vec![NameSource::Email];
        let policy = EapTlsPolicy::load(&only_email, provider()).unwrap();
        assert_eq!(
            policy.check(&plain).unwrap_err().to_string(),
            "the certificate names no user: it has no e-mail address"
        );
    }

    #[test]
    fn a_windows_style_upn_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        ca::init(tmp.path(), "Example VPN root", 365, false).unwrap();
        let ca_pem = std::fs::read_to_string(tmp.path().join("ca.pem")).unwrap();
        let ca_key =
            KeyPair::from_pem(&std::fs::read_to_string(tmp.path().join("ca.key")).unwrap())
                .unwrap();
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "Carol Smith");
        params.subject_alt_names = vec![SanType::OtherName((
            vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
            OtherNameValue::Utf8String("carol@corp.example".into()),
        ))];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let policy = EapTlsPolicy::load(&config(tmp.path()), provider()).unwrap();
        assert_eq!(policy.check(cert.der()).unwrap(), "carol@corp.example");
    }

    #[test]
    fn revocation_by_thumbprint_and_by_crl() {
        let tmp = tempfile::tempdir().unwrap();
        ca::init(tmp.path(), "Example VPN root", 365, false).unwrap();
        let alice = issue(tmp.path(), "alice", None);
        let bob = issue(tmp.path(), "bob", None);
        ca::revoke(tmp.path(), &ca::RevokeTarget::Name("alice".into())).unwrap();
        let policy = EapTlsPolicy::load(&config(tmp.path()), provider()).unwrap();
        // The CRL stops alice in TLS already ...
        assert_eq!(
            tls_accepts(&policy, &alice),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        );
        // ... and the thumbprint list after it, without any CRL.
        let mut no_crl = config(tmp.path());
        no_crl.crl.clear();
        let policy = EapTlsPolicy::load(&no_crl, provider()).unwrap();
        tls_accepts(&policy, &alice).unwrap();
        let refusal = policy.check(&alice).unwrap_err();
        assert!(matches!(refusal, CertRefusal::Revoked { .. }));
        assert!(
            refusal
                .to_string()
                .starts_with("the certificate is revoked")
        );
        assert_eq!(policy.check(&bob).unwrap(), "bob");
    }

    #[test]
    fn a_certificate_of_another_ca_fails_in_tls() {
        let tmp = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        ca::init(tmp.path(), "Example VPN root", 365, false).unwrap();
        ca::init(other.path(), "Someone else", 365, false).unwrap();
        let stranger = issue(other.path(), "mallory", None);
        let policy = EapTlsPolicy::load(&config(tmp.path()), provider()).unwrap();
        assert_eq!(
            tls_accepts(&policy, &stranger),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        );
    }

    #[test]
    fn bad_files_say_which_and_why() {
        let tmp = tempfile::tempdir().unwrap();
        ca::init(tmp.path(), "Example VPN root", 365, false).unwrap();
        std::fs::write(tmp.path().join("revoked.txt"), "# ok\nnot-a-thumbprint\n").unwrap();
        let err = EapTlsPolicy::load(&config(tmp.path()), provider()).unwrap_err();
        assert!(err.to_string().contains("revoked.txt: line 2:"), "{err}");
        let mut missing = config(tmp.path());
        missing.ca = vec![tmp.path().join("nope.pem")];
        let err = EapTlsPolicy::load(&missing, provider()).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
        std::fs::write(tmp.path().join("empty.pem"), "").unwrap();
        let mut empty = config(tmp.path());
        empty.ca = vec![tmp.path().join("empty.pem")];
        let err = EapTlsPolicy::load(&empty, provider()).unwrap_err();
        assert!(err.to_string().ends_with("holds no certificate"), "{err}");
        let mut none = config(tmp.path());
        none.user_name.clear();
        assert!(matches!(
            EapTlsPolicy::load(&none, provider()),
            Err(PolicyError::NoNameSource)
        ));
    }

    #[test]
    fn one_ca_file_or_a_list() {
        let one: EapTlsConfig = toml::from_str("ca = \"a.pem\"\n").unwrap();
        assert_eq!(one.ca, [PathBuf::from("a.pem")]);
        assert_eq!(one.user_name, [NameSource::Cn]);
        let many: EapTlsConfig = toml::from_str("ca = [\"a.pem\", \"b.pem\"]\n").unwrap();
        assert_eq!(many.ca.len(), 2);
        assert!(toml::from_str::<EapTlsConfig>("ca = \"a.pem\"\nuser_name = [\"sid\"]\n").is_err());
    }
}
