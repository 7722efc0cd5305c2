//! The client certificate EAP-TLS presents: from PEM files (`--cert`,
//! `--key`) or a PKCS#12 bundle (`--pkcs12`, what Windows and Azure hand
//! out as a `.pfx`).
//!
//! Loading checks what the TLS handshake would only find later: that the
//! key belongs to the certificate, and that the certificate may
//! authenticate a client (RFC 5280 §4.2.1.12 clientAuth, which EAP-TLS
//! servers require, RFC 5216 §5.3).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why the client certificate cannot be used, in words.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file could not be read.
    // Not `#[source]`: the message already says it, and a chain printer
    // would say it twice.
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        /// Which file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A file holds no certificate, no key, or something else.
    #[error("{}: {reason}", path.display())]
    Content {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The PKCS#12 password is wrong (or the file is damaged).
    #[error("{}: wrong password, or the file is damaged", path.display())]
    Pkcs12Password {
        /// Which file.
        path: PathBuf,
    },
    /// The key is not the certificate's.
    #[error("the private key does not belong to the certificate {}", path.display())]
    KeyMismatch {
        /// The certificate's file.
        path: PathBuf,
    },
    /// The certificate is not for client authentication.
    #[error("the certificate {} is not for client authentication (its extended key usage lacks clientAuth)", path.display())]
    NotForClients {
        /// The certificate's file.
        path: PathBuf,
    },
}

/// A client certificate chain and its key, checked.
#[derive(Clone)]
pub struct ClientIdentity {
    /// End entity first, then any intermediates.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: Arc<PrivateKeyDer<'static>>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The certificate (and chain) from `cert`, the key from `key` (PEM:
    /// PKCS#8, SEC1 or PKCS#1).
    pub fn from_pem_files(
        cert: &Path,
        key: &Path,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        let cert_bytes = read(cert)?;
        let chain: Vec<_> = CertificateDer::pem_slice_iter(&cert_bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| content(cert, format!("not PEM certificates ({e})")))?;
        if chain.is_empty() {
            return Err(content(cert, "holds no PEM certificate".into()));
        }
        let key_bytes = read(key)?;
        let key_der = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                content(key, "holds no PEM private key".into())
            }
            e => content(key, format!("not a PEM private key ({e})")),
        })?;
        Self::checked(chain, key_der, cert, provider)
    }

    /// The key and chain of a PKCS#12 bundle.
    pub fn from_pkcs12(
        path: &Path,
        password: &str,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        let bytes = read(path)?;
        let store =
            KeyStore::from_pkcs12(&bytes, password, Pkcs12ImportPolicy::Relaxed).map_err(|e| {
                match e {
                    // A wrong password fails the integrity MAC (RFC 7292 §5), or,
                    // in a bundle without one, the decryption of its bags.
                    p12_keystore::error::Error::MacError(_)
                    | p12_keystore::error::Error::UnpadError
                    | p12_keystore::error::Error::Pkcs5Error(_) => IdentityError::Pkcs12Password {
                        path: path.to_owned(),
                    },
                    other => content(path, format!("not a PKCS#12 file ({other})")),
                }
            })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| content(path, "holds no certificate with its private key".into()))?;
        let certs = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Self::checked(certs, key, path, provider)
    }

    fn checked(
        mut chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        path: &Path,
        provider: &CryptoProvider,
    ) -> Result<Self, IdentityError> {
        if chain.is_empty() {
            return Err(content(path, "holds no certificate".into()));
        }
        let leaf_is_client = leaf_allows_client_auth(&chain[0])
            .map_err(|e| content(path, format!("the certificate cannot be read ({e})")))?;
        // A bundle may list the chain in any order; Windows puts the leaf
        // first, other tools the root. The leaf is the one the key signs
        // for, so keys_match below decides; here keep the leaf first.
        if !leaf_is_client
            && let Some(i) = chain
                .iter()
                .position(|c| leaf_allows_client_auth(c).unwrap_or(false))
        {
            chain.swap(0, i);
        }
        if !leaf_allows_client_auth(&chain[0]).unwrap_or(false) {
            return Err(IdentityError::NotForClients {
                path: path.to_owned(),
            });
        }
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| content(path, format!("the private key cannot be used ({e})")))?;
        CertifiedKey::new(chain.clone(), signing)
            .keys_match()
            .map_err(|_| IdentityError::KeyMismatch {
                path: path.to_owned(),
            })?;
        Ok(Self {
            chain,
            key: Arc::new(key),
        })
    }

    /// The end-entity certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The name the certificate is for, used as the EAP Identity (RFC 5216
    /// §5.2) when no user name is given: the subject's common name, else
    /// its first e-mail address (subjectAltName rfc822Name, RFC 5280
    /// §4.2.1.6, or the legacy emailAddress attribute).
    pub fn name(&self) -> Option<String> {
        let (_, cert) = x509_parser::parse_x509_certificate(self.certificate()).ok()?;
        let subject = cert.subject();
        fn attribute<'a, 'b: 'a>(
            mut it: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'b>>,
        ) -> Option<String> {
            it.find_map(|a| a.as_str().ok().map(str::to_owned))
                .filter(|s| !s.is_empty())
        }
        attribute(subject.iter_common_name())
            .or_else(|| {
                cert.subject_alternative_name()
                    .ok()
                    .flatten()
                    .and_then(|san| {
                        san.value.general_names.iter().find_map(|n| match n {
                            x509_parser::extensions::GeneralName::RFC822Name(m) => {
                                Some((*m).to_owned())
                            }
                            _ => None,
                        })
                    })
            })
            .or_else(|| attribute(subject.iter_email()))
    }

    /// The chain, end entity first.
    pub(crate) fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key.
    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// Whether a certificate may authenticate a TLS client: no extended key
/// usage at all (any use, RFC 5280 §4.2.1.12), or one listing clientAuth.
fn leaf_allows_client_auth(der: &CertificateDer<'_>) -> Result<bool, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    if cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca)
    {
        return Ok(false);
    }
    Ok(match cert.extended_key_usage() {
        Ok(Some(eku)) => eku.value.client_auth || eku.value.any,
        Ok(None) => true,
        Err(e) => return Err(e.to_string()),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|cause| IdentityError::Read {
        path: path.to_owned(),
        cause,
    })
}

fn content(path: &Path, reason: String) -> IdentityError {
    IdentityError::Content {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, SanType,
    };

    fn provider() -> CryptoProvider {
        rustls::crypto::aws_lc_rs::default_provider()
    }

    /// A CA and a client certificate it signed: (ca DER, leaf DER, leaf key
    /// PKCS#8 DER, leaf PEM, leaf key PEM).
    pub(crate) struct Fixture {
        pub(crate) ca_der: Vec<u8>,
        pub(crate) ca_pem: String,
        pub(crate) leaf_der: Vec<u8>,
        pub(crate) key_der: Vec<u8>,
        pub(crate) leaf_pem: String,
        pub(crate) key_pem: String,
    }

    pub(crate) fn fixture(cn: Option<&str>, eku: &[ExtendedKeyUsagePurpose]) -> Fixture {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.subject_alt_names =
            vec![SanType::Rfc822Name("alice@example.net".try_into().unwrap())];
        params.extended_key_usages = eku.to_vec();
        let leaf = params.signed_by(&key, &issuer).unwrap();
        Fixture {
            ca_der: ca_cert.der().to_vec(),
            ca_pem: ca_cert.pem(),
            leaf_der: leaf.der().to_vec(),
            key_der: key.serialize_der(),
            leaf_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A PKCS#12 bundle as Windows exports it: the key, the leaf marked as
    /// its certificate (localKeyId, RFC 7292 §4.2), and the CA.
    pub(crate) fn pkcs12(f: &Fixture, password: &str) -> Vec<u8> {
        use p12_keystore::{Certificate, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let chain = [
            Certificate::from_der(&f.leaf_der).unwrap(),
            Certificate::from_der(&f.ca_der).unwrap(),
        ];
        let key = PrivateKey::from_der(&f.key_der).unwrap();
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "client",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(vec![1, 2, 3], key, chain)),
        );
        store.writer(password).write().unwrap()
    }

    pub(crate) fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_pem_pair_loads_and_names_its_subject() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(Some("alice"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let cert = write(dir.path(), "c.pem", &f.leaf_pem);
        let key = write(dir.path(), "k.pem", &f.key_pem);
        let id = ClientIdentity::from_pem_files(&cert, &key, &provider()).unwrap();
        assert_eq!(id.certificate().as_ref(), f.leaf_der.as_slice());
        assert_eq!(id.name().as_deref(), Some("alice"));
        // No common name: the e-mail address.
        let f = fixture(None, &[]);
        let cert = write(dir.path(), "c2.pem", &f.leaf_pem);
        let key = write(dir.path(), "k2.pem", &f.key_pem);
        let id = ClientIdentity::from_pem_files(&cert, &key, &provider()).unwrap();
        assert_eq!(id.name().as_deref(), Some("alice@example.net"));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(Some("alice"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let other = fixture(Some("bob"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let cert = write(dir.path(), "c.pem", &f.leaf_pem);
        let key = write(dir.path(), "k.pem", &other.key_pem);
        let err = ClientIdentity::from_pem_files(&cert, &key, &provider()).unwrap_err();
        assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "the private key does not belong to the certificate {}",
                cert.display()
            )
        );
    }

    #[test]
    fn pkcs12_with_the_right_and_the_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(Some("alice"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let path = write(dir.path(), "alice.pfx", pkcs12(&f, "s3cret"));
        let id = ClientIdentity::from_pkcs12(&path, "s3cret", &provider()).unwrap();
        assert_eq!(id.certificate().as_ref(), f.leaf_der.as_slice());
        assert_eq!(id.chain().len(), 2);
        assert_eq!(id.name().as_deref(), Some("alice"));
        let err = ClientIdentity::from_pkcs12(&path, "guess", &provider()).unwrap_err();
        assert!(matches!(err, IdentityError::Pkcs12Password { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{}: wrong password, or the file is damaged", path.display())
        );
    }

    #[test]
    fn a_certificate_without_client_auth_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(Some("vpn"), &[ExtendedKeyUsagePurpose::ServerAuth]);
        let cert = write(dir.path(), "c.pem", &f.leaf_pem);
        let key = write(dir.path(), "k.pem", &f.key_pem);
        let err = ClientIdentity::from_pem_files(&cert, &key, &provider()).unwrap_err();
        assert!(matches!(err, IdentityError::NotForClients { .. }), "{err}");
        assert!(err.to_string().contains("lacks clientAuth"), "{err}");
    }

    #[test]
    fn unreadable_and_empty_files_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(Some("alice"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let key = write(dir.path(), "k.pem", &f.key_pem);
        let missing = dir.path().join("missing.pem");
        let err = ClientIdentity::from_pem_files(&missing, &key, &provider()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{err}"
        );
        // A key where the certificate should be: no certificate in it.
        let err = ClientIdentity::from_pem_files(&key, &key, &provider()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: holds no PEM certificate", key.display())
        );
        // Said once, also when printed with its sources.
        let err = ClientIdentity::from_pem_files(&missing, &key, &provider()).unwrap_err();
        assert!(std::error::Error::source(&err).is_none());
        let cert = write(dir.path(), "c.pem", &f.leaf_pem);
        let err = ClientIdentity::from_pem_files(&cert, &cert, &provider()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: holds no PEM private key", cert.display())
        );
        let junk = write(dir.path(), "junk.pfx", b"not a bundle");
        let err = ClientIdentity::from_pkcs12(&junk, "", &provider()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: not a PKCS#12 file", junk.display())),
            "{err}"
        );
        assert!(!err.to_string().contains("Error {"), "Debug text: {err}");
    }
}
