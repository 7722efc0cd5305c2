//! A small certificate authority for admins without a PKI, the way Azure
//! VPN Gateway's point-to-site is set up: one root certificate the gateway
//! trusts, a client certificate per laptop issued from it, and revocation
//! by thumbprint. `sstp-server ca init | issue | revoke` drive it.
//!
//! One directory holds it all:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem` | the root certificate: the EAP-TLS CA bundle the server trusts |
//! | `ca.key` | its private key (mode 0600; never leaves this directory) |
//! | `index.txt` | one line per issued certificate: serial, expiry, SHA-1 and SHA-256 thumbprints, name, revocation time |
//! | `revoked.txt` | the revoked thumbprints (SHA-1 and SHA-256), the list the server reads |
//! | `crl.pem` | a CRL of the revoked serials, signed by the CA (RFC 5280 §5), for peers that read CRLs |
//!
//! Keys are ECDSA P-256 (what Windows and Azure accept for EAP-TLS client
//! certificates), certificates X.509 v3 (RFC 5280): the root with
//! basicConstraints CA and keyCertSign/cRLSign, client certificates with
//! the clientAuth extended key usage (RFC 5280 §4.2.1.12, which EAP-TLS
//! servers require, RFC 5216 §5.3).

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RevocationReason, RevokedCertParams, RsaKeySize,
    SanType, SerialNumber,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The longest validity `init` and `issue` take, in days (about 20 years).
pub const MAX_CA_DAYS: u32 = 7300;

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const INDEX: &str = "index.txt";
const REVOKED: &str = "revoked.txt";
const CRL: &str = "crl.pem";

/// Why a CA command failed, in words for the admin.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file could not be read or written.
    // The OS error is part of the message, so it is not also the
    // `source()` (a chain printer would say it twice).
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// "read", "write", "create".
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// `init` would overwrite an existing CA.
    #[error("{} already holds a CA; pass --force to replace it (certificates it issued stop working)", dir.display())]
    Exists {
        /// The CA directory.
        dir: PathBuf,
    },
    /// There is no CA in the directory.
    #[error("{} holds no CA (no {CA_CERT}); run `sstp-server ca init --dir {}` first", dir.display(), dir.display())]
    NoCa {
        /// The CA directory.
        dir: PathBuf,
    },
    /// The CA files do not parse or do not match.
    #[error("the CA in {} cannot be used: {reason}", dir.display())]
    BadCa {
        /// The CA directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A name, e-mail, day count or thumbprint is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Nothing issued matches what `revoke` was given.
    #[error("no certificate issued by this CA matches {0}")]
    NotFound(String),
    /// rcgen or the PKCS#12 writer failed.
    #[error("cannot build the certificate: {0}")]
    Build(String),
}

impl From<rcgen::Error> for CaError {
    fn from(e: rcgen::Error) -> Self {
        Self::Build(e.to_string())
    }
}

/// The two thumbprints Windows and Azure show for a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbprints {
    /// SHA-1 of the DER, lower-case hex (what Windows calls the thumbprint).
    pub sha1: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
}

impl Thumbprints {
    /// The thumbprints of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        Self {
            sha1: hex::encode(Sha1::digest(der)),
            sha256: hex::encode(Sha256::digest(der)),
        }
    }
}

/// What `init` made.
#[derive(Debug)]
pub struct CaCreated {
    /// The root certificate's file.
    pub cert: PathBuf,
    /// Its thumbprints.
    pub thumbprints: Thumbprints,
}

/// What `issue` is asked for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The user: the certificate's common name (the server maps it to the
    /// user name by default).
    pub name: String,
    /// An e-mail address for the subjectAltName (rfc822Name), if any.
    pub email: Option<String>,
    /// Validity in days from now.
    pub days: u32,
    /// Where the files go.
    pub out_dir: PathBuf,
    /// The PKCS#12 password; `None` writes no `.p12`.
    pub pkcs12_password: Option<String>,
}

/// What `issue` made.
#[derive(Debug)]
pub struct Issued {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub key: PathBuf,
    /// The PKCS#12 bundle (key, certificate and the root), if a password
    /// was given.
    pub pkcs12: Option<PathBuf>,
    /// The serial number, hex.
    pub serial: String,
    /// The thumbprints.
    pub thumbprints: Thumbprints,
}

/// What `revoke` is given.
#[derive(Debug, Clone)]
pub enum RevokeTarget {
    /// Every certificate issued to this name.
    Name(String),
    /// The certificate with this SHA-1 or SHA-256 thumbprint (hex, colons
    /// and spaces allowed).
    Thumbprint(String),
    /// The certificate in this PEM file.
    CertFile(PathBuf),
}

/// One line of `index.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexEntry {
    serial: String,
    not_after: String,
    thumbprints: Thumbprints,
    name: String,
    revoked_at: Option<String>,
}

impl IndexEntry {
    fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split('\t');
        let serial = fields.next()?.to_owned();
        let not_after = fields.next()?.to_owned();
        let sha1 = fields.next()?.to_owned();
        let sha256 = fields.next()?.to_owned();
        let name = fields.next()?.to_owned();
        let revoked_at = fields.next().filter(|s| !s.is_empty()).map(str::to_owned);
        Some(Self {
            serial,
            not_after,
            thumbprints: Thumbprints { sha1, sha256 },
            name,
            revoked_at,
        })
    }

    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            self.serial,
            self.not_after,
            self.thumbprints.sha1,
            self.thumbprints.sha256,
            self.name,
            self.revoked_at.as_deref().unwrap_or("")
        )
    }
}

/// The key type of a CA and of the certificates it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// ECDSA P-256 with SHA-256: small and fast, what the server's own
    /// certificates use.
    #[default]
    EcdsaP256,
    /// RSA 2048 with SHA-256, for peers that take nothing else (SoftEther
    /// trusts only RSA CAs; some Windows 10 builds had trouble with ECDSA
    /// over TLS 1.2).
    Rsa2048,
}

impl KeyKind {
    fn generate(self) -> Result<KeyPair, rcgen::Error> {
        match self {
            Self::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            Self::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        }
    }

    /// The kind of an existing key (the CA's: its certificates follow it).
    fn of(key: &KeyPair) -> Self {
        if key.algorithm() == &PKCS_RSA_SHA256 {
            Self::Rsa2048
        } else {
            Self::EcdsaP256
        }
    }
}

/// Makes a root CA in `dir` (created if missing): `ca.pem`, `ca.key`, an
/// empty index, revoked list and CRL. ECDSA P-256; see [`init_with`].
pub fn init(dir: &Path, name: &str, days: u32, force: bool) -> Result<CaCreated, CaError> {
    init_with(dir, name, days, force, KeyKind::default())
}

/// [`init`] with a key kind; the certificates the CA issues get the same
/// kind of key.
pub fn init_with(
    dir: &Path,
    name: &str,
    days: u32,
    force: bool,
    kind: KeyKind,
) -> Result<CaCreated, CaError> {
    check_days(days)?;
    check_name(name, "the CA name")?;
    let cert_path = dir.join(CA_CERT);
    if cert_path.exists() && !force {
        return Err(CaError::Exists {
            dir: dir.to_owned(),
        });
    }
    fs::create_dir_all(dir).map_err(io("create", dir))?;
    let key = kind.generate()?;
    let params = ca_params(name, days);
    let cert = params.self_signed(&key)?;
    write_secret(&dir.join(CA_KEY), key.serialize_pem().as_bytes())?;
    write(&cert_path, cert.pem().as_bytes())?;
    write(&dir.join(INDEX), b"")?;
    write(&dir.join(REVOKED), revoked_header().as_bytes())?;
    let issuer = Issuer::new(params, key);
    write(&dir.join(CRL), crl(&issuer, &[])?.as_bytes())?;
    Ok(CaCreated {
        cert: cert_path,
        thumbprints: Thumbprints::of(cert.der()),
    })
}

fn ca_params(name: &str, days: u32) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.key_identifier_method = KeyIdMethod::Sha256;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    params
}

/// Issues a client certificate for EAP-TLS, signed by the CA in `dir`.
pub fn issue(dir: &Path, request: &IssueRequest) -> Result<Issued, CaError> {
    check_days(request.days)?;
    check_name(&request.name, "the user name")?;
    if let Some(email) = &request.email
        && (!email.contains('@') || email.chars().any(char::is_whitespace))
    {
        return Err(CaError::Invalid(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    let (ca_pem, issuer) = load(dir)?;
    let key = KeyKind::of(issuer.key()).generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, request.name.as_str());
    params.distinguished_name = dn;
    if let Some(email) = &request.email {
        params.subject_alt_names =
            vec![SanType::Rfc822Name(email.as_str().try_into().map_err(
                |_| CaError::Invalid(format!("{email:?} is not an e-mail address")),
            )?)];
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let serial: [u8; 16] = rand::random();
    // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets.
    let mut serial = serial.to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(request.days));
    let cert = params.signed_by(&key, &issuer)?;
    let thumbprints = Thumbprints::of(cert.der());
    let serial_hex = hex::encode(&serial);

    fs::create_dir_all(&request.out_dir).map_err(io("create", &request.out_dir))?;
    let stem = file_stem(&request.name);
    let cert_path = request.out_dir.join(format!("{stem}.pem"));
    let key_path = request.out_dir.join(format!("{stem}.key"));
    write(&cert_path, cert.pem().as_bytes())?;
    write_secret(&key_path, key.serialize_pem().as_bytes())?;
    let pkcs12 = match &request.pkcs12_password {
        Some(password) => {
            let path = request.out_dir.join(format!("{stem}.p12"));
            let ca_der = pem_der(&ca_pem).ok_or_else(|| CaError::BadCa {
                dir: dir.to_owned(),
                reason: format!("{CA_CERT} is not a PEM certificate"),
            })?;
            let bundle = pkcs12_bundle(
                &request.name,
                &key.serialize_der(),
                cert.der(),
                &ca_der,
                password,
            )?;
            write_secret(&path, &bundle)?;
            Some(path)
        }
        None => None,
    };
    let entry = IndexEntry {
        serial: serial_hex.clone(),
        not_after: params
            .not_after
            .format(&Rfc3339)
            .map_err(|e| CaError::Build(e.to_string()))?,
        thumbprints: thumbprints.clone(),
        name: request.name.clone(),
        revoked_at: None,
    };
    append(&dir.join(INDEX), entry.line().as_bytes())?;
    Ok(Issued {
        cert: cert_path,
        key: key_path,
        pkcs12,
        serial: serial_hex,
        thumbprints,
    })
}

/// A PKCS#12 file Windows imports (certmgr, `Import-PfxCertificate`): the
/// key and certificate, and the root so the chain is complete. Triple-DES
/// and SHA-1 MAC, the scheme every Windows version reads (Windows before
/// 10 1709 cannot read AES-256 PKCS#12).
fn pkcs12_bundle(
    name: &str,
    key_der: &[u8],
    cert_der: &[u8],
    ca_der: &[u8],
    password: &str,
) -> Result<Vec<u8>, CaError> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
        PrivateKeyChain,
    };
    let build = |e: p12_keystore::error::Error| CaError::Build(e.to_string());
    let key = PrivateKey::from_der(key_der).map_err(build)?;
    let chain = [
        Certificate::from_der(cert_der).map_err(build)?,
        Certificate::from_der(ca_der).map_err(build)?,
    ];
    let local_key_id = Sha1::digest(cert_der).to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, chain)),
    );
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .write()
        .map_err(build)
}

/// Revokes what `target` names: marks it in the index, adds both
/// thumbprints to `revoked.txt` and signs a new `crl.pem`. Returns the
/// entries revoked now (already revoked ones are not counted again).
pub fn revoke(dir: &Path, target: &RevokeTarget) -> Result<Vec<(String, Thumbprints)>, CaError> {
    let (_, issuer) = load(dir)?;
    let index_path = dir.join(INDEX);
    let text = fs::read_to_string(&index_path).map_err(io("read", &index_path))?;
    let mut entries: Vec<IndexEntry> = text.lines().filter_map(IndexEntry::parse).collect();
    let matches: Box<dyn Fn(&IndexEntry) -> bool> = match target {
        RevokeTarget::Name(name) => {
            let name = name.clone();
            Box::new(move |e: &IndexEntry| e.name == name)
        }
        RevokeTarget::Thumbprint(hex) => {
            let wanted = normalize_thumbprint(hex)?;
            Box::new(move |e: &IndexEntry| {
                e.thumbprints.sha1 == wanted || e.thumbprints.sha256 == wanted
            })
        }
        RevokeTarget::CertFile(path) => {
            let pem = fs::read_to_string(path).map_err(io("read", path))?;
            let der = pem_der(&pem).ok_or_else(|| {
                CaError::Invalid(format!("{} holds no PEM certificate", path.display()))
            })?;
            let wanted = Thumbprints::of(&der).sha256;
            Box::new(move |e: &IndexEntry| e.thumbprints.sha256 == wanted)
        }
    };
    let now = OffsetDateTime::now_utc();
    let stamp = now
        .format(&Rfc3339)
        .map_err(|e| CaError::Build(e.to_string()))?;
    let mut revoked_now = Vec::new();
    for entry in entries.iter_mut().filter(|e| matches(e)) {
        if entry.revoked_at.is_none() {
            entry.revoked_at = Some(stamp.clone());
            revoked_now.push((entry.name.clone(), entry.thumbprints.clone()));
        }
    }
    if revoked_now.is_empty() && !entries.iter().any(&matches) {
        return Err(CaError::NotFound(match target {
            RevokeTarget::Name(name) => format!("the name {name:?}"),
            RevokeTarget::Thumbprint(hex) => format!("the thumbprint {hex}"),
            RevokeTarget::CertFile(path) => format!("the certificate in {}", path.display()),
        }));
    }
    let index: String = entries.iter().map(IndexEntry::line).collect();
    write(&index_path, index.as_bytes())?;
    let mut list = revoked_header();
    for entry in entries.iter().filter(|e| e.revoked_at.is_some()) {
        let _ = writeln!(list, "# {} (serial {})", entry.name, entry.serial);
        let _ = writeln!(list, "{}", entry.thumbprints.sha1);
        let _ = writeln!(list, "{}", entry.thumbprints.sha256);
    }
    write(&dir.join(REVOKED), list.as_bytes())?;
    write(&dir.join(CRL), crl(&issuer, &entries)?.as_bytes())?;
    Ok(revoked_now)
}

fn revoked_header() -> String {
    "# Revoked client certificates: one SHA-1 or SHA-256 thumbprint (hex) a line.\n\
     # Written by `sstp-server ca revoke`; the server reads it ([auth.eap_tls] revoked).\n"
        .to_owned()
}

/// A CRL of every revoked entry, valid a year (RFC 5280 §5.1.2.5: the
/// server does not need it refreshed before then; `revoke` signs a new one).
fn crl(issuer: &Issuer<'_, KeyPair>, entries: &[IndexEntry]) -> Result<String, CaError> {
    let now = OffsetDateTime::now_utc();
    let revoked_certs = entries
        .iter()
        .filter_map(|e| {
            let at = OffsetDateTime::parse(e.revoked_at.as_deref()?, &Rfc3339).ok()?;
            Some(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&hex::decode(&e.serial).ok()?),
                revocation_time: at,
                reason_code: Some(RevocationReason::Unspecified),
                invalidity_date: None,
            })
        })
        .collect::<Vec<_>>();
    let number = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(365),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(issuer)?.pem()?)
}

/// The CA's certificate (PEM) and an issuer built from it and its key.
fn load(dir: &Path) -> Result<(String, Issuer<'static, KeyPair>), CaError> {
    let cert_path = dir.join(CA_CERT);
    if !cert_path.exists() {
        return Err(CaError::NoCa {
            dir: dir.to_owned(),
        });
    }
    let bad = |reason: String| CaError::BadCa {
        dir: dir.to_owned(),
        reason,
    };
    let cert = fs::read_to_string(&cert_path).map_err(io("read", &cert_path))?;
    let key_path = dir.join(CA_KEY);
    let key = fs::read_to_string(&key_path).map_err(io("read", &key_path))?;
    let key = KeyPair::from_pem(&key).map_err(|e| bad(format!("{CA_KEY}: {e}")))?;
    let der = pem_der(&cert).ok_or_else(|| bad(format!("{CA_CERT} is not a PEM certificate")))?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| bad(format!("{CA_CERT}: {e}")))?;
    if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(bad(format!("{CA_KEY} is not the key of {CA_CERT}")));
    }
    let issuer =
        Issuer::from_ca_cert_der(&der.into(), key).map_err(|e| bad(format!("{CA_CERT}: {e}")))?;
    Ok((cert, issuer))
}

/// The DER of the first certificate in a PEM text.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let mut reader = pem.as_bytes();
    rustls_pki_types::pem::PemObject::pem_reader_iter(&mut reader)
        .filter_map(Result::ok)
        .next()
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
}

/// Lower-case hex without separators; 40 (SHA-1) or 64 (SHA-256) digits.
pub fn normalize_thumbprint(text: &str) -> Result<String, CaError> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    let ok = matches!(hex.len(), 40 | 64) && hex.chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(hex)
    } else {
        Err(CaError::Invalid(format!(
            "{text:?} is not a thumbprint: 40 (SHA-1) or 64 (SHA-256) hex digits"
        )))
    }
}

fn check_days(days: u32) -> Result<(), CaError> {
    if (1..=MAX_CA_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(CaError::Invalid(format!(
            "{days} days is out of range: 1 to {MAX_CA_DAYS}"
        )))
    }
}

fn check_name(name: &str, what: &str) -> Result<(), CaError> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(CaError::Invalid(format!(
            "{what} must be 1 to 64 printable characters"
        )));
    }
    Ok(())
}

/// A file name from a user name: letters, digits, `.`, `-`, `_`, `@`
/// kept, anything else `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CaError + 'a {
    move |error| CaError::Io {
        action,
        path: path.to_owned(),
        error,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    fs::write(path, bytes).map_err(io("write", path))
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(io("write", path))
}

/// Writes a secret: created with mode 0600 before any byte goes in.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(io("write", path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::sync::Arc;

    use rustls::RootCertStore;
    use rustls::server::WebPkiClientVerifier;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};

    use super::*;

    fn request(dir: &Path, name: &str, password: Option<&str>) -> IssueRequest {
        IssueRequest {
            name: name.into(),
            email: Some(format!("{name}@example.com")),
            days: 365,
            out_dir: dir.join("out"),
            pkcs12_password: password.map(str::to_owned),
        }
    }

    fn cert_der(path: &Path) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(path).unwrap()
    }

    /// What an EAP-TLS server with this CA (and, if given, its CRL) says of
    /// a client certificate.
    fn verify(dir: &Path, cert: &Path, with_crl: bool) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(cert_der(&dir.join(CA_CERT))).unwrap();
        let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if with_crl {
            let crl = CertificateRevocationListDer::from_pem_file(dir.join(CRL)).unwrap();
            builder = builder.with_crls([crl]);
        }
        let verifier = builder.build().unwrap();
        verifier
            .verify_client_cert(&cert_der(cert), &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn a_client_certificate_from_init_and_issue_verifies_as_an_eap_tls_client() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = init(tmp.path(), "Example VPN root", 3650, false).unwrap();
        assert_eq!(ca.thumbprints.sha1.len(), 40);
        let issued = issue(tmp.path(), &request(tmp.path(), "alice", None)).unwrap();
        verify(tmp.path(), &issued.cert, true).unwrap();
        // The certificate names the user and is for client authentication.
        let der = cert_der(&issued.cert);
        let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
        let cn = x509.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "alice");
        let eku = x509.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert_eq!(Thumbprints::of(&der), issued.thumbprints);
        // The key is a secret.
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&issued.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(issued.pkcs12.is_none());
    }

    #[test]
    fn an_rsa_ca_issues_rsa_certificates_that_verify_and_revoke() {
        let tmp = tempfile::tempdir().unwrap();
        init_with(tmp.path(), "RSA root", 3650, false, KeyKind::Rsa2048).unwrap();
        let issued = issue(tmp.path(), &request(tmp.path(), "carol", Some("pw"))).unwrap();
        verify(tmp.path(), &issued.cert, true).unwrap();
        let rsa = x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        for path in [tmp.path().join(CA_CERT), issued.cert.clone()] {
            let der = cert_der(&path);
            let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
            assert_eq!(
                x509.public_key().algorithm.algorithm,
                rsa,
                "{}",
                path.display()
            );
        }
        revoke(tmp.path(), &RevokeTarget::Name("carol".into())).unwrap();
        assert!(verify(tmp.path(), &issued.cert, true).is_err());
    }

    #[test]
    fn the_pkcs12_bundle_holds_the_key_the_certificate_and_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        init(tmp.path(), "Example VPN root", 3650, false).unwrap();
        let issued = issue(tmp.path(), &request(tmp.path(), "bob", Some("pfx secret"))).unwrap();
        let bytes = fs::read(issued.pkcs12.as_ref().unwrap()).unwrap();
        let store = p12_keystore::KeyStore::from_pkcs12(
            &bytes,
            "pfx secret",
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        assert_eq!(chain.certs()[0].as_der(), cert_der(&issued.cert).as_ref());
        assert_eq!(
            chain.certs()[1].as_der(),
            cert_der(&tmp.path().join(CA_CERT)).as_ref()
        );
        let key_pem = fs::read_to_string(&issued.key).unwrap();
        let key = KeyPair::from_pem(&key_pem).unwrap();
        assert_eq!(chain.key().as_der(), key.serialize_der());
        assert!(
            p12_keystore::KeyStore::from_pkcs12(
                &bytes,
                "wrong",
                p12_keystore::Pkcs12ImportPolicy::Relaxed
            )
            .is_err()
        );
    }

    #[test]
    fn revoke_by_name_lists_both_thumbprints_and_the_crl_refuses_the_certificate() {
        let tmp = tempfile::tempdir().unwrap();
        init(tmp.path(), "Example VPN root", 3650, false).unwrap();
        let alice = issue(tmp.path(), &request(tmp.path(), "alice", None)).unwrap();
        let mut carol_request = request(tmp.path(), "carol", None);
        carol_request.out_dir = tmp.path().join("carol");
        let carol = issue(tmp.path(), &carol_request).unwrap();
        let revoked = revoke(tmp.path(), &RevokeTarget::Name("alice".into())).unwrap();
        assert_eq!(revoked, [("alice".to_owned(), alice.thumbprints.clone())]);
        let list = fs::read_to_string(tmp.path().join(REVOKED)).unwrap();
        let listed: Vec<&str> = list.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            listed,
            [
                alice.thumbprints.sha1.as_str(),
                alice.thumbprints.sha256.as_str()
            ]
        );
        assert_eq!(
            verify(tmp.path(), &alice.cert, true),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        );
        verify(tmp.path(), &carol.cert, true).unwrap();
        // Again: nothing new, not an error.
        assert!(
            revoke(tmp.path(), &RevokeTarget::Name("alice".into()))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn revoke_by_thumbprint_or_file() {
        let tmp = tempfile::tempdir().unwrap();
        init(tmp.path(), "Example VPN root", 3650, false).unwrap();
        let alice = issue(tmp.path(), &request(tmp.path(), "alice", None)).unwrap();
        // Windows shows the SHA-1 thumbprint in upper case with spaces.
        let shown: String = alice
            .thumbprints
            .sha1
            .to_ascii_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            revoke(tmp.path(), &RevokeTarget::Thumbprint(shown))
                .unwrap()
                .len(),
            1
        );
        let mut bob_request = request(tmp.path(), "bob", None);
        bob_request.out_dir = tmp.path().join("bob");
        let bob = issue(tmp.path(), &bob_request).unwrap();
        assert_eq!(
            revoke(tmp.path(), &RevokeTarget::CertFile(bob.cert.clone()))
                .unwrap()
                .len(),
            1
        );
        assert!(verify(tmp.path(), &bob.cert, true).is_err());
    }

    #[test]
    fn mistakes_get_sentences() {
        let tmp = tempfile::tempdir().unwrap();
        let err = issue(tmp.path(), &request(tmp.path(), "alice", None)).unwrap_err();
        assert!(err.to_string().contains("ca init"), "{err}");
        init(tmp.path(), "Example VPN root", 3650, false).unwrap();
        let err = init(tmp.path(), "Again", 3650, false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        let err = revoke(tmp.path(), &RevokeTarget::Name("nobody".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no certificate issued by this CA matches the name \"nobody\""
        );
        let err = revoke(tmp.path(), &RevokeTarget::Thumbprint("abc".into())).unwrap_err();
        assert!(
            err.to_string().contains("40 (SHA-1) or 64 (SHA-256)"),
            "{err}"
        );
        let err = issue(
            tmp.path(),
            &IssueRequest {
                days: 0,
                ..request(tmp.path(), "alice", None)
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "0 days is out of range: 1 to 7300");
        // A key that is not the CA's.
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        fs::write(tmp.path().join(CA_KEY), other.serialize_pem()).unwrap();
        let err = issue(tmp.path(), &request(tmp.path(), "alice", None)).unwrap_err();
        assert!(
            err.to_string().contains("is not the key of ca.pem"),
            "{err}"
        );
    }
}
