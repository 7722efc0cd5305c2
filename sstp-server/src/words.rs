//! TLS errors in words, for log lines and messages people read.
//!
//! rustls's `Display` falls back to `Debug` for many of its errors (`received
//! fatal alert: BadCertificate`, `invalid peer certificate:
//! Other(OtherError(CaUsedAsEndEntity))`, `keys may not be consistent:
//! KeyMismatch`). This module owns turning those into one line of words; the
//! rest of the crate calls [`tls_error`] or [`handshake_error`] instead of
//! printing a rustls error itself.

use std::io;

use rustls::{AlertDescription, CertificateError, InconsistentKeys};

/// A rustls error in words.
pub(crate) fn tls_error(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::AlertReceived(alert) => alert_words(*alert),
        E::InvalidCertificate(cert) => format!("invalid certificate: {}", certificate_error(cert)),
        E::PeerIncompatible(why) => format!("the peer is incompatible: {}", debug_words(why)),
        E::PeerMisbehaved(why) => format!("the peer broke the TLS protocol: {}", debug_words(why)),
        E::InvalidMessage(why) => {
            format!(
                "the peer sent a malformed TLS message: {}",
                debug_words(why)
            )
        }
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the peer sent a TLS message out of order".to_owned()
        }
        E::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
            "the private key does not belong to the certificate".to_owned()
        }
        E::InconsistentKeys(why) => {
            format!("the key and certificate do not fit: {}", debug_words(why))
        }
        other => other.to_string(),
    }
}

/// A failed TLS accept (tokio-rustls wraps rustls errors in `io::Error`).
pub(crate) fn handshake_error(e: &io::Error) -> String {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return tls_error(tls);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "the client closed the connection during the handshake".to_owned()
        }
        _ => e.to_string(),
    }
}

/// What a certificate check refused, in words.
fn certificate_error(e: &CertificateError) -> String {
    if let CertificateError::Other(other) = e {
        return match other.0.downcast_ref::<webpki::Error>() {
            Some(webpki::Error::CaUsedAsEndEntity) => {
                "it is a CA certificate, not one for a server (use a certificate the CA issued for the server's name)".to_owned()
            }
            Some(webpki::Error::UnknownIssuer) => "its issuer is not trusted".to_owned(),
            Some(webpki::Error::RequiredEkuNotFoundContext(_)) => {
                "it lacks the serverAuth extended key usage".to_owned()
            }
            Some(w) => debug_words(w),
            None => other.to_string(),
        };
    }
    // rustls words some variants itself and prints the rest as Debug.
    let display = e.to_string();
    if display == format!("{e:?}") {
        debug_words(e)
    } else {
        display
    }
}

fn alert_words(alert: AlertDescription) -> String {
    let name = debug_words(&alert);
    match alert {
        AlertDescription::BadCertificate
        | AlertDescription::UnknownCA
        | AlertDescription::CertificateUnknown
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateExpired => {
            format!("the client refused the server's certificate (alert: {name})")
        }
        AlertDescription::ProtocolVersion => {
            format!("the client offers no TLS version the server accepts (alert: {name})")
        }
        _ => format!("the peer sent the fatal alert {name}"),
    }
}

/// `NoCipherSuitesInCommon` (the `Debug` of a unit-like variant) as "no
/// cipher suites in common"; payloads in parentheses are left out.
fn debug_words(value: &dyn std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let name = debug.split(['(', ' ', '{']).next().unwrap_or(&debug).trim();
    let mut out = String::with_capacity(name.len() + 8);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = c.is_ascii_uppercase()
            && i > 0
            && (chars[i - 1].is_ascii_lowercase()
                || chars.get(i + 1).is_some_and(char::is_ascii_lowercase));
        if starts_word {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::{OtherError, PeerIncompatible};

    use super::*;

    #[test]
    fn rustls_errors_read_as_words() {
        let ca_as_leaf = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(webpki::Error::CaUsedAsEndEntity),
        )));
        assert_eq!(
            tls_error(&ca_as_leaf),
            "invalid certificate: it is a CA certificate, not one for a server (use a certificate the CA issued for the server's name)"
        );
        assert_eq!(
            tls_error(&rustls::Error::AlertReceived(AlertDescription::UnknownCA)),
            "the client refused the server's certificate (alert: unknown ca)"
        );
        assert_eq!(
            tls_error(&rustls::Error::PeerIncompatible(
                PeerIncompatible::NoCipherSuitesInCommon
            )),
            "the peer is incompatible: no cipher suites in common"
        );
        assert_eq!(
            tls_error(&rustls::Error::InconsistentKeys(
                InconsistentKeys::KeyMismatch
            )),
            "the private key does not belong to the certificate"
        );
        assert_eq!(
            tls_error(&rustls::Error::InvalidCertificate(
                CertificateError::Expired
            )),
            "invalid certificate: expired"
        );
    }

    #[test]
    fn handshake_errors_unwrap_rustls_and_name_an_eof() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::BadCertificate),
        );
        assert_eq!(
            handshake_error(&wrapped),
            "the client refused the server's certificate (alert: bad certificate)"
        );
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert_eq!(
            handshake_error(&eof),
            "the client closed the connection during the handshake"
        );
    }

    #[test]
    fn other_alerts_and_certificate_errors_fall_back_to_their_names_in_words() {
        assert_eq!(
            tls_error(&rustls::Error::AlertReceived(
                AlertDescription::HandshakeFailure
            )),
            "the peer sent the fatal alert handshake failure"
        );
        assert_eq!(
            tls_error(&rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            )),
            "invalid certificate: unknown issuer"
        );
        let webpki_other = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(webpki::Error::UnsupportedCriticalExtension),
        )));
        assert_eq!(
            tls_error(&webpki_other),
            "invalid certificate: unsupported critical extension"
        );
    }
}
