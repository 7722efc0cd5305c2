//! What can go wrong, typed by what a person has to do about it.
//!
//! [`Error`] is the one error of the library. [`Error::kind`] sorts it into an
//! [`ErrorKind`] (the CLI maps those to exit codes), and
//! [`Error::is_retryable`] tells the reconnect loop whether trying again can
//! help: an unreachable server can come back, a wrong password cannot.

use std::io;

use sstp_core::wire::http::HttpError;
use sstp_core::{AuthFailure, CloseKind, CloseReason, Missing};

use crate::tls::Fingerprint;

/// Why connecting or staying connected failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings do not make sense (found before any network traffic).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server (or proxy) name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },
    /// No TCP connection could be made to the server.
    #[error("server {server} is unreachable: {source}")]
    Unreachable {
        /// `host:port` as configured.
        server: String,
        /// The last connect error.
        #[source]
        source: io::Error,
    },
    /// A step took longer than its limit.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The HTTP proxy failed or refused the tunnel.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The server's certificate was not accepted.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The server closed the TCP connection during the TLS handshake,
    /// without a TLS alert: what a server's per-source connection limit
    /// looks like (it drops new connections unread), or an endpoint that
    /// is not a TLS server.
    #[error(
        "the server {server} closed the connection during the TLS handshake: it may be limiting new connections (try again shortly), or it is not an SSTP server"
    )]
    HandshakeClosed {
        /// The server name used for TLS.
        server: String,
    },
    /// The TLS handshake failed for another reason (versions, ciphers, ...).
    #[error("TLS handshake with {server} failed: {source}")]
    Tls {
        /// The server name used for TLS.
        server: String,
        /// The TLS error.
        #[source]
        source: io::Error,
    },
    /// The server answered the SSTP HTTP request with something else than
    /// `200 OK` (MS-SSTP 3.2.4.1, 4.1).
    #[error("SSTP HTTP handshake: {0}")]
    Http(#[source] HttpError),
    /// PPP authentication failed: wrong user name or password, an account
    /// the server refuses, or no common method.
    #[error("{}", auth_sentence(.0))]
    Auth(AuthFailure),
    /// The SSTP/PPP session ended for another reason, e.g. the server
    /// refused it after authentication ([`CloseReason::PeerTerminated`]).
    #[error("{}", session_sentence(.0))]
    Session(CloseReason),
    /// The TLS connection broke.
    #[error("connection lost: {0}")]
    Io(#[source] io::Error),
    /// The TUN device failed or could not be created.
    #[error("TUN device: {0}")]
    Tun(#[source] io::Error),
    /// Addresses, routes or DNS could not be applied.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Every attempt the [`ReconnectPolicy`](crate::ReconnectPolicy)
    /// allowed failed: after a lost connection (`established`), or on the
    /// first connect.
    #[error(
        "{} after {attempts} attempt{}; the last one: {last}",
        if *.established { "connection lost and not re-established" } else { "could not connect" },
        if *.attempts == 1 { "" } else { "s" }
    )]
    GaveUp {
        /// Whether a tunnel had been up (then the attempts are reconnects).
        established: bool,
        /// Attempts made after the first failure (established), or in all.
        attempts: u32,
        /// Why the last attempt failed.
        last: Box<Self>,
    },
}

/// The class of an [`Error`], for exit codes and for people.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad settings.
    Config,
    /// Name resolution, TCP connect or a timeout while connecting.
    Unreachable,
    /// The server certificate was not trusted or did not match a pin.
    Certificate,
    /// Wrong credentials or no common authentication method.
    Auth,
    /// The HTTP proxy failed or refused.
    Proxy,
    /// The server broke or refused the protocol (HTTP refusal, SSTP abort,
    /// PPP negotiation failure, crypto binding).
    Protocol,
    /// An established connection was lost.
    ConnectionLost,
    /// A local problem: TUN, routes, DNS, permissions.
    Local,
}

impl ErrorKind {
    /// A stable lower-case name, for JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Unreachable => "unreachable",
            Self::Certificate => "certificate",
            Self::Auth => "auth",
            Self::Proxy => "proxy",
            Self::Protocol => "protocol",
            Self::ConnectionLost => "connection-lost",
            Self::Local => "local",
        }
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Resolve { .. }
            | Self::Unreachable { .. }
            | Self::Timeout(_)
            | Self::HandshakeClosed { .. } => ErrorKind::Unreachable,
            Self::Proxy(_) => ErrorKind::Proxy,
            Self::Certificate(_) => ErrorKind::Certificate,
            Self::Auth(_) => ErrorKind::Auth,
            Self::Tls { .. } | Self::Http(_) => ErrorKind::Protocol,
            // A Call Abort is the server refusing the protocol (MS-SSTP
            // 3.1.1.1.2), not a line that broke.
            Self::Session(CloseReason::PeerAborted { .. }) => ErrorKind::Protocol,
            // No authentication both ends do: a setting of this client (--auth), like a
            // method the server does not support in the authentication itself.
            Self::Session(CloseReason::Incompatible(
                Missing::AuthMethod { .. }
                | Missing::NoAuthAgreed
                | Missing::AuthProtocolRejected(_),
            )) => ErrorKind::Auth,
            Self::Session(reason) => match reason.kind() {
                CloseKind::AuthFailed => ErrorKind::Auth,
                CloseKind::Lost | CloseKind::Timeout | CloseKind::Normal => {
                    ErrorKind::ConnectionLost
                }
                _ => ErrorKind::Protocol,
            },
            Self::Io(_) => ErrorKind::ConnectionLost,
            Self::Tun(_) | Self::Setup(_) => ErrorKind::Local,
            Self::GaveUp {
                established: true, ..
            } => ErrorKind::ConnectionLost,
            Self::GaveUp { last, .. } => last.kind(),
        }
    }

    /// Whether trying again later can help. Authentication, certificate and
    /// configuration errors cannot; a lost connection, an unreachable server
    /// or a busy one (HTTP 5xx) can.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Resolve { .. }
            | Self::Unreachable { .. }
            | Self::Timeout(_)
            | Self::Io(_)
            | Self::HandshakeClosed { .. }
            | Self::Tls { .. } => true,
            Self::Proxy(e) => e.is_retryable(),
            Self::Http(HttpError::Refused { code, .. }) => *code >= 500,
            // A refusal (no address left) may not last.
            Self::Session(reason) => matches!(
                reason.kind(),
                CloseKind::Lost
                    | CloseKind::Timeout
                    | CloseKind::Normal
                    | CloseKind::PeerMalformed
                    | CloseKind::Refused
            ),
            Self::Config(_)
            | Self::Certificate(_)
            | Self::Auth(_)
            | Self::Http(_)
            | Self::Tun(_)
            | Self::Setup(_)
            | Self::GaveUp { .. } => false,
        }
    }

    /// Whether a first connect that failed this way is worth retrying: the
    /// server refused or dropped the connection, did not answer in time, or
    /// said it is busy (HTTP 5xx, e.g. 503 when full). A name that does not
    /// resolve, a certificate, the credentials or the settings are not: they
    /// fail at once, so a typo shows up immediately.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            // A handshake the server closed is what its connection rate
            // limit looks like: worth another try after the backoff.
            Self::Unreachable { .. }
            | Self::Timeout(_)
            | Self::Io(_)
            | Self::HandshakeClosed { .. } => true,
            Self::Proxy(e) => e.is_retryable(),
            Self::Http(HttpError::Refused { code, .. }) => *code >= 500,
            Self::Session(reason) => matches!(reason.kind(), CloseKind::Lost | CloseKind::Timeout),
            _ => false,
        }
    }

    /// Maps the reason a session ended to the error a person reads.
    pub(crate) fn from_close(reason: CloseReason) -> Self {
        match reason {
            CloseReason::AuthFailed(failure) => Self::Auth(failure),
            other => Self::Session(other),
        }
    }
}

/// An authentication failure as one sentence for a person: what the server
/// decided, in its own words when it gave some.
fn auth_sentence(failure: &AuthFailure) -> String {
    match failure {
        AuthFailure::Rejected {
            message,
            mschapv2_error: Some(691),
        } => {
            // 691 is ERROR_AUTHENTICATION_FAILURE (RFC 2759 6).
            let said = if is_generic_rejection(message) {
                String::new()
            } else {
                format!(" (the server said: {message})")
            };
            format!("authentication failed: the server rejected the user name or password{said}")
        }
        AuthFailure::Rejected {
            message,
            mschapv2_error: None,
        } => {
            // PAP and CHAP carry only text (RFC 1334 2.2.3, RFC 1994 4.2):
            // say the password only when the server did not say more.
            if is_generic_rejection(message) {
                "authentication failed: the server rejected the user name or password".to_owned()
            } else {
                format!("authentication failed: the server refused the login: {message}")
            }
        }
        AuthFailure::Rejected {
            message,
            mschapv2_error: Some(code),
        } => {
            // Another RFC 2759 6 code: the account, not the password.
            let why = if message.is_empty() {
                "no reason given"
            } else {
                message.as_str()
            };
            format!(
                "authentication failed: the server refused this account: {why} (MS-CHAPv2 error {code})"
            )
        }
        AuthFailure::MethodNotSupported { detail } => {
            format!("authentication failed: no authentication method in common with the server: {detail}")
        }
        // The inner TLS of EAP-TLS (RFC 5216 §2.1.1): its own words already
        // say "certificate authentication failed".
        AuthFailure::Tls { .. } => failure.to_string(),
        AuthFailure::MutualAuthFailed => "authentication failed: the server could not prove that it knows the password (its MS-CHAPv2 authenticator response did not verify), so it may not be the server you expect".to_owned(),
        other => format!("authentication failed: {other}"),
    }
}

/// Texts that only repeat that authentication failed.
fn is_generic_rejection(message: &str) -> bool {
    let m = message.trim().trim_end_matches('.').to_ascii_lowercase();
    m.is_empty()
        || [
            "authentication failed",
            "wrong user name or password",
            "access denied",
            "no reason given",
        ]
        .contains(&m.as_str())
}

/// Why a session ended, as the client's person reads it (the peer is the
/// server).
fn session_sentence(reason: &CloseReason) -> String {
    use sstp_core::wire::sstp::{AttributeId, Status};
    match reason {
        CloseReason::PeerTerminated { reason } => {
            format!("the server refused the session: {reason}")
        }
        CloseReason::PeerDisconnected => "the server ended the session".to_owned(),
        CloseReason::PeerAborted { status: None } => {
            "the server aborted the call without saying why".to_owned()
        }
        // One sentence per Status Info value the server can send (MS-SSTP
        // 2.2.8, 3.3.5.2).
        CloseReason::PeerAborted { status: Some(s) } => match (s.status, s.attrib_id) {
            (Status::NEGOTIATION_TIMEOUT, _) => {
                "the server aborted the call: this client did not complete the SSTP negotiation in time".to_owned()
            }
            (Status::VALUE_NOT_SUPPORTED, AttributeId::CRYPTO_BINDING) => {
                "the server aborted the call: the crypto binding did not verify (a TLS-inspecting proxy between here and the server can cause this)".to_owned()
            }
            (Status::VALUE_NOT_SUPPORTED, AttributeId::ENCAPSULATED_PROTOCOL_ID) => {
                "the server aborted the call: it does not accept PPP as the encapsulated protocol".to_owned()
            }
            (Status::RETRY_COUNT_EXCEEDED, _) => {
                "the server aborted the call: it refused this client's connect requests too many times".to_owned()
            }
            (Status::UNACCEPTED_FRAME_RECEIVED, _) => {
                "the server aborted the call: a message from this client came at a time it did not expect".to_owned()
            }
            (Status::INVALID_FRAME_RECEIVED, _) => {
                "the server aborted the call: it did not understand a message from this client".to_owned()
            }
            (status, attribute) => {
                let about = attribute
                    .description()
                    .map(|what| format!(" (about {what})"))
                    .unwrap_or_default();
                format!(
                    "the server aborted the call: {}{about}",
                    status.description()
                )
            }
        },
        other => other.to_string(),
    }
}

/// The HTTP proxy could not give us a tunnel.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The proxy itself could not be reached.
    #[error("HTTP proxy {proxy} is unreachable: {source}")]
    Unreachable {
        /// `host:port` of the proxy.
        proxy: String,
        /// The connect error.
        #[source]
        source: io::Error,
    },
    /// The proxy wants credentials (407) and had none or refused ours.
    #[error("HTTP proxy {proxy} requires authentication (407{})", if *.sent_credentials { ", the credentials were refused" } else { ", none were given" })]
    AuthRequired {
        /// `host:port` of the proxy.
        proxy: String,
        /// Whether we sent `Proxy-Authorization`.
        sent_credentials: bool,
    },
    /// The proxy answered CONNECT with another status.
    #[error("HTTP proxy {proxy} refused to connect to {target}: {status}")]
    Refused {
        /// `host:port` of the proxy.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
        /// Status code and reason phrase.
        status: String,
        /// The numeric status.
        code: u16,
    },
    /// The proxy spoke broken HTTP or hung up.
    #[error("HTTP proxy {proxy}: {detail}")]
    Protocol {
        /// `host:port` of the proxy.
        proxy: String,
        /// What went wrong.
        detail: String,
    },
    /// The proxy URL (flag or `https_proxy`) is not usable.
    #[error("invalid proxy URL {url:?}: {detail}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl ProxyError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Protocol { .. } => true,
            Self::Refused { code, .. } => *code >= 500,
            Self::AuthRequired { .. } | Self::InvalidUrl { .. } => false,
        }
    }
}

/// The server certificate was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// `--pin-sha256` was given and the certificate has another fingerprint.
    #[error(
        "certificate mismatch: the server presented a certificate with SHA-256 fingerprint {seen}, \
         which matches none of the pinned fingerprints ({})",
        join(pinned)
    )]
    PinMismatch {
        /// The fingerprint the server presented.
        seen: Fingerprint,
        /// The fingerprints we accept.
        pinned: Vec<Fingerprint>,
    },
    /// Chain or name validation failed.
    #[error("the server certificate{} is not trusted: {reason}", seen.map(|f| format!(" (SHA-256 fingerprint {f})")).unwrap_or_default())]
    Untrusted {
        /// The fingerprint of the leaf certificate, if one was seen.
        seen: Option<Fingerprint>,
        /// Why, in plain words.
        reason: String,
    },
    /// The CA file could not be read.
    #[error("cannot use CA file {path}: {detail}")]
    CaFile {
        /// The path given.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// No trust anchors: no system roots and no CA file.
    #[error("no trusted root certificates: {0}")]
    NoRoots(String),
}

fn join(pins: &[Fingerprint]) -> String {
    pins.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A change to addresses, routes or DNS that failed.
#[derive(Debug, thiserror::Error)]
#[error("{op}: {source}")]
pub struct SetupError {
    /// What was being done, e.g. `add route 0.0.0.0/1 dev sstp0`.
    pub op: String,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

impl SetupError {
    /// A failed operation `op`.
    pub fn new(op: impl Into<String>, source: io::Error) -> Self {
        Self {
            op: op.into(),
            source,
        }
    }

    /// The kind of the underlying error (`AlreadyExists` for `EEXIST`).
    pub fn io_kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}
