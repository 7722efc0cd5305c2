//! A certificate authority and a server leaf for `localhost`.

use rustls_pki_types::CertificateDer;

/// A CA and a leaf for `localhost` and 127.0.0.1 signed by it (rcgen), the
/// leaf fit for a TLS server (EKU serverAuth). Each call makes new keys.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate, to trust.
    pub ca: CertificateDer<'static>,
    /// The CA certificate as PEM, for a `ca_file`.
    pub ca_pem: String,
    /// The leaf certificate, as a server presents it.
    pub leaf: CertificateDer<'static>,
    /// The leaf certificate as PEM.
    pub cert_pem: String,
    /// The leaf's private key as PKCS#8 PEM.
    pub key_pem: String,
}

impl Pki {
    /// A new CA named `ca_name` and a leaf it signed.
    pub fn new(ca_name: &str) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DistinguishedName, DnType,
            ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, ca_name);
        ca_params.distinguished_name = dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("leaf params");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf cert");
        Self {
            ca: ca_cert.der().clone(),
            ca_pem: ca_cert.pem(),
            leaf: leaf_cert.der().clone(),
            cert_pem: leaf_cert.pem(),
            key_pem: leaf_key.serialize_pem(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_authorities_differ_and_their_pem_holds_the_der() {
        let (a, b) = (Pki::new("one"), Pki::new("two"));
        assert_ne!(a.ca, b.ca);
        assert_ne!(a.leaf, a.ca);
        assert!(a.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(a.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(a.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
