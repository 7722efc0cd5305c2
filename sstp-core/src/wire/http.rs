//! The HTTP handshake that opens an SSTP connection (MS-SSTP 3.2.4.1, 4.1),
//! both directions: the client's `SSTP_DUPLEX_POST` request and the server's
//! `200 OK`, after which the stream carries SSTP packets.
//!
//! ```text
//! SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1
//! Host: vpn.example.com
//! Content-Length: 18446744073709551615
//! SSTPCORRELATIONID: {6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93}
//!
//! HTTP/1.1 200 OK
//! Content-Length: 18446744073709551615
//! Server: Microsoft-HTTPAPI/2.0
//! Date: Thu, 09 Nov 2006 00:51:09 GMT
//! ```
//!
//! Both parsers are incremental (call again with the whole buffer when they
//! say more is needed), bounded ([`MAX_HEAD_LEN`] bytes of head,
//! [`MAX_HEADERS`] header fields), and report how many bytes the head took,
//! so the caller keeps the SSTP bytes that may follow in the same read.
//!
//! The server-side parser reads untrusted text. It is strict where MS-SSTP
//! is (method `SSTP_DUPLEX_POST`, the SSTP path, HTTP/1.1; 4.1), tolerant
//! where real clients are sloppy (header-name case, correlation IDs that are
//! not GUIDs, a `?tenantid=` query, path case), and it tells "not an SSTP
//! request" (hand the connection to an ordinary HTTP service, replaying the
//! bytes) from "not HTTP at all" (close it).

use core::fmt;

/// The method of the SSTP request (MS-SSTP 3.2.4.1).
pub const SSTP_METHOD: &str = "SSTP_DUPLEX_POST";
/// The path of the SSTP request (MS-SSTP 3.2.4.1); matched ASCII
/// case-insensitively.
pub const SSTP_PATH: &str = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";
/// ULONGLONG_MAX, the Content-Length of both request and response
/// (MS-SSTP 3.2.4.1, 4.1).
pub const SSTP_CONTENT_LENGTH: &str = "18446744073709551615";
/// Most bytes a request or response head may take, terminator included.
pub const MAX_HEAD_LEN: usize = 8 * 1024;
/// Most header fields a head may have.
pub const MAX_HEADERS: usize = 64;

const CORRELATION_ID: &str = "SSTPCORRELATIONID";
const CRLF: &[u8] = b"\r\n";
const HEAD_END: &[u8] = b"\r\n\r\n";
/// How much of a refusal's reason phrase is kept for the user.
const MAX_REASON_LEN: usize = 128;

/// Why an HTTP head was rejected, or a header value cannot be sent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No end of head within [`MAX_HEAD_LEN`] bytes.
    #[error("HTTP head longer than {limit} bytes")]
    HeadTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// More than [`MAX_HEADERS`] header fields.
    #[error("HTTP head with more than {limit} header fields")]
    TooManyHeaders {
        /// The limit in header fields.
        limit: usize,
    },
    /// Not valid HTTP/1.x syntax.
    #[error("malformed HTTP {what}")]
    Malformed {
        /// The part that does not parse: request line, status line, header.
        what: &'static str,
    },
    /// An SSTP request or response that is not HTTP/1.1 (MS-SSTP 4.1).
    #[error("HTTP/{major}.{minor}, but SSTP requires HTTP/1.1")]
    UnsupportedVersion {
        /// The major version the peer sent.
        major: u8,
        /// The minor version the peer sent.
        minor: u8,
    },
    /// The server answered with a status other than 200: what to tell the
    /// user. The reason is cut to 128 characters and cleaned of control
    /// characters.
    #[error("SSTP server refused the connection: {code} {reason}")]
    Refused {
        /// The HTTP status code.
        code: u16,
        /// The server's reason phrase, cleaned.
        reason: String,
    },
    /// A 200 response with a Content-Length other than 18446744073709551615.
    #[error("SSTP server answered with a Content-Length other than 18446744073709551615")]
    BadContentLength,
    /// A locally supplied value that cannot go into a header (emitters).
    #[error("invalid {what} for an HTTP header")]
    InvalidHeaderValue {
        /// Which value: a host name, a GUID, ...
        what: &'static str,
    },
}

impl HttpError {
    /// The response a server should send before closing, for errors found in
    /// a request head; `None` for the client-side and emitter errors.
    pub fn error_status(&self) -> Option<ErrorStatus> {
        match self {
            Self::HeadTooLong { .. } | Self::TooManyHeaders { .. } => {
                Some(ErrorStatus::RequestHeaderFieldsTooLarge)
            }
            Self::Malformed { .. } => Some(ErrorStatus::BadRequest),
            Self::UnsupportedVersion { .. } => Some(ErrorStatus::HttpVersionNotSupported),
            Self::Refused { .. } | Self::BadContentLength | Self::InvalidHeaderValue { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Correlation ID
// ---------------------------------------------------------------------------

/// A GUID for the `SSTPCORRELATIONID` header, in the string form of
/// [MS-DTYP] 2.3.4.3: `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper-case.
/// The 16 bytes print in order (the first byte is the most significant of
/// the first group).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// A random (version 4) GUID from 16 random bytes the caller drew (this
    /// crate draws no randomness itself): sets the RFC 4122 version and
    /// variant bits.
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        Self(bytes)
    }

    /// Parses the canonical braced form, hex digits in either case. Peers do
    /// not always send this form (sstpc sends `{67F76755-125B-6B98-1DC86E7C}`),
    /// so servers keep the raw text and use this only where a real GUID helps.
    pub fn parse(text: &str) -> Option<Self> {
        let inner = text.strip_prefix('{')?.strip_suffix('}')?.as_bytes();
        let mut groups = inner.split(|&b| b == b'-');
        let mut bytes = [0u8; 16];
        let mut at = 0;
        for width in [8, 4, 4, 4, 12] {
            let group = groups.next()?;
            if group.len() != width {
                return None;
            }
            for pair in group.chunks_exact(2) {
                let [hi, lo] = pair else { return None };
                *bytes.get_mut(at)? = (hex_value(*hi)? << 4) | hex_value(*lo)?;
                at += 1;
            }
        }
        groups.next().is_none().then_some(Self(bytes))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02X}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Client request: emit
// ---------------------------------------------------------------------------

/// The client's request (MS-SSTP 3.2.4.1): `SSTP_DUPLEX_POST` on the SSTP
/// path, `Host`, `Content-Length: 18446744073709551615` and
/// `SSTPCORRELATIONID`, with no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    host: &'a str,
    correlation_id: Guid,
}

impl<'a> ClientRequest<'a> {
    /// `host` is the `Host` header value: a name or address with an optional
    /// port (`vpn.example.com`, `192.0.2.1:8443`, `[2001:db8::1]`), visible
    /// ASCII only (an IDN goes in its `xn--` form).
    pub fn new(host: &'a str, correlation_id: Guid) -> Result<Self, HttpError> {
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpError::InvalidHeaderValue { what: "Host" });
        }
        Ok(Self {
            host,
            correlation_id,
        })
    }

    /// The `Host` header value.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The correlation ID.
    pub fn correlation_id(&self) -> Guid {
        self.correlation_id
    }

    /// Appends the request head, blank line included.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        push_line(out, &[SSTP_METHOD, " ", SSTP_PATH, " HTTP/1.1"]);
        push_line(out, &["Host: ", self.host]);
        push_line(out, &["Content-Length: ", SSTP_CONTENT_LENGTH]);
        push_line(
            out,
            &[CORRELATION_ID, ": ", &self.correlation_id.to_string()],
        );
        out.extend_from_slice(CRLF);
    }

    /// Length of the head.
    pub fn buffer_len(&self) -> usize {
        const FIXED: usize = SSTP_METHOD.len()
            + 1
            + SSTP_PATH.len()
            + " HTTP/1.1\r\n".len()
            + "Host: \r\n".len()
            + "Content-Length: \r\n".len()
            + SSTP_CONTENT_LENGTH.len()
            + CORRELATION_ID.len()
            + ": \r\n".len()
            + GUID_TEXT_LEN
            + 2;
        FIXED + self.host.len()
    }
}

/// `{` + 32 hex digits + 4 dashes + `}`.
const GUID_TEXT_LEN: usize = 38;

fn push_line(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(CRLF);
}

// ---------------------------------------------------------------------------
// Server side: request parser
// ---------------------------------------------------------------------------

/// What the server has read so far ([`parse_request_head`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestHead<'a> {
    /// A well-formed SSTP request head: answer with [`ServerResponse`].
    Sstp(SstpRequest<'a>),
    /// A valid HTTP request line that is not SSTP: hand the connection, and
    /// every byte read so far, to an ordinary HTTP service (or answer with
    /// [`OtherRequest::error_status`]). Decided as soon as the request line
    /// is complete; the rest of the head is not examined.
    NotSstp(OtherRequest<'a>),
}

/// An SSTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstpRequest<'a> {
    /// The path as sent (it matches [`SSTP_PATH`] ignoring ASCII case).
    pub path: &'a str,
    /// The `tenantid` query value, raw, for an HTTPS-termination proxy
    /// (3.2.4.1); servers that do not use it ignore it.
    pub tenant_id: Option<&'a str>,
    /// The `Host` header value.
    pub host: Option<&'a str>,
    /// The `SSTPCORRELATIONID` value as sent, for logs. Often not a valid
    /// GUID; see [`Guid::parse`].
    pub correlation_id: Option<&'a str>,
    /// Bytes of the head, blank line included; SSTP packets start here.
    pub consumed: usize,
    headers: &'a str,
}

impl<'a> SstpRequest<'a> {
    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in order, values without surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        header_fields(self.headers)
    }
}

/// An HTTP request that is not SSTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherRequest<'a> {
    /// The method.
    pub method: &'a str,
    /// The request target as sent.
    pub target: &'a str,
}

impl OtherRequest<'_> {
    /// What an SSTP-only server answers: 405 for another method on the SSTP
    /// path, 404 otherwise.
    pub fn error_status(&self) -> ErrorStatus {
        if self.method != SSTP_METHOD && is_sstp_path(split_target(self.target).0) {
            ErrorStatus::MethodNotAllowed
        } else {
            ErrorStatus::NotFound
        }
    }
}

/// Parses the start of what a client sent on a new connection.
///
/// `buf` is everything read so far. `Ok(None)`: read more and call again,
/// until the head is complete (or the request line shows it is not SSTP).
/// An error once it is not HTTP, or has no end within [`MAX_HEAD_LEN`]
/// bytes. The same shape as [`parse_response_head`].
pub fn parse_request_head(buf: &[u8]) -> Result<Option<RequestHead<'_>>, HttpError> {
    let window = head_window(buf);
    let Some(line_end) = find(window, CRLF) else {
        if !request_line_prefix(window) {
            return Err(HttpError::Malformed {
                what: "request line",
            });
        }
        return incomplete(buf).map(|()| None);
    };
    let (line, _) = window.split_at(line_end);
    let RequestLine {
        method,
        target,
        version,
    } = request_line(line)?;
    let (path, query) = split_target(target);
    if method != SSTP_METHOD || !is_sstp_path(path) {
        return Ok(Some(RequestHead::NotSstp(OtherRequest { method, target })));
    }
    if version != (1, 1) {
        return Err(HttpError::UnsupportedVersion {
            major: version.0,
            minor: version.1,
        });
    }
    let Some(consumed) = find(window, HEAD_END).map(|i| i + HEAD_END.len()) else {
        return incomplete(buf).map(|()| None);
    };
    let headers = header_block(window, line_end, consumed)?;
    let mut host = None;
    let mut correlation_id = None;
    for (name, value) in header_fields(headers) {
        if name.eq_ignore_ascii_case("Host") {
            if host.is_some() {
                // RFC 9112 3.2: more than one Host is a bad request.
                return Err(HttpError::Malformed {
                    what: "request: more than one Host header",
                });
            }
            host = Some(value);
        } else if name.eq_ignore_ascii_case(CORRELATION_ID) && correlation_id.is_none() {
            correlation_id = Some(value);
        }
    }
    Ok(Some(RequestHead::Sstp(SstpRequest {
        path,
        tenant_id: query.and_then(tenant_id),
        host,
        correlation_id,
        consumed,
        headers,
    })))
}

struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
    version: (u8, u8),
}

/// `method SP request-target SP HTTP-version` (RFC 9112 3).
fn request_line(line: &[u8]) -> Result<RequestLine<'_>, HttpError> {
    const WHAT: HttpError = HttpError::Malformed {
        what: "request line",
    };
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WHAT);
    };
    if !is_token(method) || target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
        return Err(WHAT);
    }
    let version = http_version(version).ok_or(WHAT)?;
    // Token and graphic ASCII are valid UTF-8.
    match (core::str::from_utf8(method), core::str::from_utf8(target)) {
        (Ok(method), Ok(target)) => Ok(RequestLine {
            method,
            target,
            version,
        }),
        _ => Err(WHAT),
    }
}

/// Whether an unfinished request line could still become a valid one: a
/// token method, then printable ASCII (a final `\r` may be half a CRLF).
/// Rejects binary input (a TLS record on a plain-HTTP port, say) on its
/// first bytes instead of after [`MAX_HEAD_LEN`].
fn request_line_prefix(partial: &[u8]) -> bool {
    let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
    let method_len = partial
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(partial.len());
    let (method, rest) = partial.split_at(method_len);
    (method.is_empty() || is_token(method))
        && rest.iter().all(|&b| b == b' ' || b.is_ascii_graphic())
}

/// Whether an unfinished status line could still become a valid one.
fn status_line_prefix(partial: &[u8]) -> bool {
    let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
    let (start, rest) = partial.split_at(partial.len().min(5));
    b"HTTP/".starts_with(start) && rest.iter().all(|&b| is_field_byte(b))
}

/// Path and query of a request target, origin-form or absolute-form (RFC
/// 9112 3.2; an HTTPS-termination proxy may send the latter).
fn split_target(target: &str) -> (&str, Option<&str>) {
    let mut rest = target;
    for scheme in ["https://", "http://"] {
        if let Some(prefix) = rest.get(..scheme.len())
            && prefix.eq_ignore_ascii_case(scheme)
        {
            let after = rest.get(scheme.len()..).unwrap_or_default();
            rest = after.find('/').and_then(|i| after.get(i..)).unwrap_or("/");
            break;
        }
    }
    match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    }
}

fn is_sstp_path(path: &str) -> bool {
    path.eq_ignore_ascii_case(SSTP_PATH)
}

/// The `tenantid` query variable (MS-SSTP 3.2.4.1), raw.
fn tenant_id(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        name.eq_ignore_ascii_case("tenantid").then_some(value)
    })
}

// ---------------------------------------------------------------------------
// Server side: response emit
// ---------------------------------------------------------------------------

/// The server's answer to an SSTP request (MS-SSTP 4.1): `HTTP/1.1 200 OK`,
/// `Content-Length: 18446744073709551615`, optional `Server` and `Date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerResponse<'a> {
    server: Option<&'a str>,
    date: Option<&'a str>,
}

impl<'a> ServerResponse<'a> {
    /// A response with neither `Server` nor `Date`.
    pub const fn new() -> Self {
        Self {
            server: None,
            date: None,
        }
    }

    /// Adds `Server: value` (Windows sends `Microsoft-HTTPAPI/2.0`).
    pub fn with_server(self, value: &'a str) -> Result<Self, HttpError> {
        check_value(value, "Server")?;
        Ok(Self {
            server: Some(value),
            ..self
        })
    }

    /// Adds `Date: value`, an IMF-fixdate the caller formats from its clock
    /// (`Thu, 09 Nov 2006 00:51:09 GMT`); this crate reads no clock.
    pub fn with_date(self, value: &'a str) -> Result<Self, HttpError> {
        check_value(value, "Date")?;
        Ok(Self {
            date: Some(value),
            ..self
        })
    }

    /// Appends the response head, blank line included.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        push_line(out, &["HTTP/1.1 200 OK"]);
        push_line(out, &["Content-Length: ", SSTP_CONTENT_LENGTH]);
        if let Some(server) = self.server {
            push_line(out, &["Server: ", server]);
        }
        if let Some(date) = self.date {
            push_line(out, &["Date: ", date]);
        }
        out.extend_from_slice(CRLF);
    }

    /// Length of the head.
    pub fn buffer_len(&self) -> usize {
        let fixed = "HTTP/1.1 200 OK\r\n".len()
            + "Content-Length: \r\n".len()
            + SSTP_CONTENT_LENGTH.len()
            + 2;
        fixed
            + self.server.map_or(0, |s| "Server: \r\n".len() + s.len())
            + self.date.map_or(0, |d| "Date: \r\n".len() + d.len())
    }
}

/// Values we send must survive the parser unchanged: printable ASCII, no
/// leading or trailing space (RFC 9110 5.5 strips it).
fn check_value(value: &str, what: &'static str) -> Result<(), HttpError> {
    let printable = value.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    if !printable || value.starts_with(' ') || value.ends_with(' ') {
        return Err(HttpError::InvalidHeaderValue { what });
    }
    Ok(())
}

/// A plain error response that ends the connection (MS-SSTP 4.1: "an HTTP
/// error code containing indication this is to be the last data being sent
/// over the connection"): no body, `Connection: close`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// 400: the head is not valid HTTP.
    BadRequest,
    /// 404: not the SSTP path.
    NotFound,
    /// 405: another method on the SSTP path (sends `Allow: SSTP_DUPLEX_POST`,
    /// which RFC 9110 15.5.6 requires).
    MethodNotAllowed,
    /// 431: head or header count over the limits.
    RequestHeaderFieldsTooLarge,
    /// 503: no capacity for another connection (MS-SSTP 4.1).
    ServiceUnavailable,
    /// 505: an SSTP request that is not HTTP/1.1.
    HttpVersionNotSupported,
}

impl ErrorStatus {
    /// The status code.
    pub const fn code(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestHeaderFieldsTooLarge => 431,
            Self::ServiceUnavailable => 503,
            Self::HttpVersionNotSupported => 505,
        }
    }

    /// The reason phrase.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad Request",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            Self::ServiceUnavailable => "Service Unavailable",
            Self::HttpVersionNotSupported => "HTTP Version Not Supported",
        }
    }

    /// Appends the response head (there is no body).
    pub fn emit(self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        let code = self.code().to_string();
        push_line(out, &["HTTP/1.1 ", &code, " ", self.reason()]);
        if self == Self::MethodNotAllowed {
            push_line(out, &["Allow: ", SSTP_METHOD]);
        }
        push_line(out, &["Content-Length: 0"]);
        push_line(out, &["Connection: close"]);
        out.extend_from_slice(CRLF);
    }

    /// Length of the head.
    pub fn buffer_len(self) -> usize {
        let allow = if self == Self::MethodNotAllowed {
            "Allow: \r\n".len() + SSTP_METHOD.len()
        } else {
            0
        };
        "HTTP/1.1 000 \r\n".len()
            + self.reason().len()
            + allow
            + "Content-Length: 0\r\n".len()
            + "Connection: close\r\n".len()
            + 2
    }
}

// ---------------------------------------------------------------------------
// Client side: response parser
// ---------------------------------------------------------------------------

/// A server's `200 OK` to the SSTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstpResponse<'a> {
    /// The reason phrase (usually `OK`).
    pub reason: &'a str,
    /// The `Server` header value.
    pub server: Option<&'a str>,
    /// The `Date` header value.
    pub date: Option<&'a str>,
    /// Bytes of the head, blank line included; SSTP packets start here.
    pub consumed: usize,
    headers: &'a str,
}

impl<'a> SstpResponse<'a> {
    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        header_fields(self.headers)
    }
}

/// Parses the server's answer to the SSTP request.
///
/// `buf` is everything read so far. `Ok(None)`: read more and call again; an
/// error once there is no end of head within [`MAX_HEAD_LEN`] bytes (the
/// same shape as [`parse_request_head`]). A status other than 200 is [`HttpError::Refused`] as soon as the status line
/// is complete, so the user learns why. The response must be HTTP/1.1.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<SstpResponse<'_>>, HttpError> {
    let window = head_window(buf);
    let Some(line_end) = find(window, CRLF) else {
        if !status_line_prefix(window) {
            return Err(HttpError::Malformed {
                what: "status line",
            });
        }
        return incomplete(buf).map(|()| None);
    };
    let (line, _) = window.split_at(line_end);
    let StatusLine {
        version,
        code,
        reason,
    } = status_line(line)?;
    if code != 200 {
        return Err(HttpError::Refused {
            code,
            reason: String::from_utf8_lossy(reason)
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_REASON_LEN)
                .collect(),
        });
    }
    if version != (1, 1) {
        return Err(HttpError::UnsupportedVersion {
            major: version.0,
            minor: version.1,
        });
    }
    let Some(consumed) = find(window, HEAD_END).map(|i| i + HEAD_END.len()) else {
        return incomplete(buf).map(|()| None);
    };
    let headers = header_block(window, line_end, consumed)?;
    let mut server = None;
    let mut date = None;
    for (name, value) in header_fields(headers) {
        if name.eq_ignore_ascii_case("Content-Length") && value != SSTP_CONTENT_LENGTH {
            // Like sstpc (src/sstp-http.c): a 200 with a real length is an
            // ordinary HTTP answer whose body ends (a captive portal, a
            // reverse proxy that rewrote the length), not a tunnel; reading
            // SSTP packets out of it would misframe the stream.
            return Err(HttpError::BadContentLength);
        }
        if name.eq_ignore_ascii_case("Server") {
            server.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("Date") {
            date.get_or_insert(value);
        }
    }
    let reason = core::str::from_utf8(reason).map_err(|_| HttpError::Malformed {
        what: "reason phrase",
    })?;
    Ok(Some(SstpResponse {
        reason,
        server,
        date,
        consumed,
        headers,
    }))
}

/// `HTTP-version SP 3DIGIT SP reason-phrase` (RFC 9112 4). The SP and
/// reason are optional here: some servers omit them.
fn status_line(line: &[u8]) -> Result<StatusLine<'_>, HttpError> {
    const WHAT: HttpError = HttpError::Malformed {
        what: "status line",
    };
    let (version, rest) = line.split_at_checked(8).ok_or(WHAT)?;
    let version = http_version(version).ok_or(WHAT)?;
    let rest = rest.strip_prefix(b" ").ok_or(WHAT)?;
    let (code, reason) = rest.split_at_checked(3).ok_or(WHAT)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return Err(WHAT);
    }
    let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let reason = match reason.strip_prefix(b" ") {
        Some(reason) => reason,
        None if reason.is_empty() => reason,
        None => return Err(WHAT),
    };
    if !reason.iter().all(|&b| is_field_byte(b)) {
        return Err(WHAT);
    }
    Ok(StatusLine {
        version,
        code,
        reason,
    })
}

struct StatusLine<'a> {
    version: (u8, u8),
    code: u16,
    reason: &'a [u8],
}

// ---------------------------------------------------------------------------
// Shared head scanning
// ---------------------------------------------------------------------------

/// The part of `buf` a head may occupy.
fn head_window(buf: &[u8]) -> &[u8] {
    buf.get(..MAX_HEAD_LEN).unwrap_or(buf)
}

/// No terminator yet: fine below the limit, an error at it.
fn incomplete(buf: &[u8]) -> Result<(), HttpError> {
    if buf.len() >= MAX_HEAD_LEN {
        Err(HttpError::HeadTooLong {
            limit: MAX_HEAD_LEN,
        })
    } else {
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/` DIGIT `.` DIGIT, case-sensitive (RFC 9112 2.3).
fn http_version(text: &[u8]) -> Option<(u8, u8)> {
    match text {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// The header fields between the start line and the blank line, checked:
/// each line `name: value` with a token name (so no obs-fold and no space
/// before the colon, RFC 9112 5.1-5.2), field-value bytes, at most
/// [`MAX_HEADERS`], valid UTF-8.
fn header_block(head: &[u8], line_end: usize, consumed: usize) -> Result<&str, HttpError> {
    // From after the start line's CRLF to before the blank line's CRLF; every
    // line in it ends with CRLF.
    let block = head
        .get(line_end + CRLF.len()..consumed - CRLF.len())
        .unwrap_or_default();
    let mut count = 0;
    let mut rest = block;
    while let Some(end) = find(rest, CRLF) {
        let (line, tail) = rest.split_at(end);
        rest = tail.get(CRLF.len()..).unwrap_or_default();
        count += 1;
        if count > MAX_HEADERS {
            return Err(HttpError::TooManyHeaders { limit: MAX_HEADERS });
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(HttpError::Malformed {
                what: "header line",
            });
        };
        let (name, value) = line.split_at(colon);
        if !is_token(name) || !value.iter().skip(1).all(|&b| is_field_byte(b)) {
            return Err(HttpError::Malformed {
                what: "header line",
            });
        }
    }
    core::str::from_utf8(block).map_err(|_| HttpError::Malformed {
        what: "header value (not UTF-8)",
    })
}

/// Iterates a checked header block.
fn header_fields(block: &str) -> impl Iterator<Item = (&str, &str)> {
    block.split_terminator("\r\n").filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        Some((name, value.trim_matches([' ', '\t'])))
    })
}

/// A token (RFC 9110 5.6.2): one or more tchar.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A byte allowed in a field value or reason phrase: HTAB, SP, VCHAR,
/// obs-text (RFC 9110 5.5).
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The request sstpc 1.0.18 sends, byte for byte (interop README, "sstpc
    /// 1.0.18 / pppd 2.4.9"), with its non-canonical correlation ID.
    const SSTPC_REQUEST: &str = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\
        Host: 10.213.0.1\r\n\
        Content-Length: 18446744073709551615\r\n\
        SSTPCORRELATIONID: {67F76755-125B-6B98-1DC86E7C}\r\n\
        \r\n";

    /// The Windows-style response of MS-SSTP 4.1.
    const WINDOWS_RESPONSE: &str = "HTTP/1.1 200 OK\r\n\
        Content-Length: 18446744073709551615\r\n\
        Server: Microsoft-HTTPAPI/2.0\r\n\
        Date: Thu, 09 Nov 2006 00:51:09 GMT\r\n\
        \r\n";

    /// MS-SSTP 4.7 Call Connect Request, as it follows the head in the same
    /// flight.
    const CONNECT_REQUEST: [u8; 14] = [
        0x10, 0x01, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01,
    ];

    const GUID_BYTES: [u8; 16] = [
        0x6D, 0x5C, 0x1B, 0x10, 0x2F, 0x34, 0x4A, 0x8E, 0x9C, 0x71, 0x0B, 0x2E, 0x4D, 0x6F, 0x8A,
        0x93,
    ];

    fn sstp(buf: &[u8]) -> SstpRequest<'_> {
        match parse_request_head(buf) {
            Ok(Some(RequestHead::Sstp(head))) => head,
            other => panic!("expected an SSTP request, got {other:?}"),
        }
    }

    fn sstp_request_with(headers: &str) -> String {
        format!("SSTP_DUPLEX_POST {SSTP_PATH} HTTP/1.1\r\n{headers}\r\n")
    }

    // --- Request: emit ------------------------------------------------------

    #[test]
    fn client_request_matches_sstpc_layout() {
        let request = ClientRequest::new("10.213.0.1", Guid(GUID_BYTES)).expect("valid host");
        let mut out = Vec::new();
        request.emit(&mut out);
        let expected = SSTPC_REQUEST.replace(
            "{67F76755-125B-6B98-1DC86E7C}",
            "{6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93}",
        );
        assert_eq!(String::from_utf8(out.clone()).expect("ASCII"), expected);
        assert_eq!(out.len(), request.buffer_len());
    }

    #[test]
    fn client_request_round_trips_through_the_server_parser() {
        let request = ClientRequest::new("[2001:db8::1]:8443", Guid(GUID_BYTES)).expect("valid");
        let mut out = Vec::new();
        request.emit(&mut out);
        let head = sstp(&out);
        assert_eq!(head.host, Some("[2001:db8::1]:8443"));
        assert_eq!(
            head.correlation_id.and_then(Guid::parse),
            Some(Guid(GUID_BYTES))
        );
        assert_eq!(head.header("content-length"), Some(SSTP_CONTENT_LENGTH));
        assert_eq!(head.consumed, out.len());
    }

    #[test]
    fn client_request_rejects_header_injection() {
        for host in ["", "a b", "evil\r\nX-Injected: 1", "tab\there", "caf\u{e9}"] {
            assert_eq!(
                ClientRequest::new(host, Guid(GUID_BYTES)),
                Err(HttpError::InvalidHeaderValue { what: "Host" }),
                "{host:?}"
            );
        }
    }

    #[test]
    fn guid_format_and_parse() {
        let guid = Guid(GUID_BYTES);
        assert_eq!(guid.to_string(), "{6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93}");
        assert_eq!(guid.to_string().len(), GUID_TEXT_LEN);
        assert_eq!(
            Guid::parse("{6d5c1b10-2f34-4a8e-9c71-0b2e4d6f8a93}"),
            Some(guid)
        );
        // What sstpc sends is not a GUID.
        assert_eq!(Guid::parse("{67F76755-125B-6B98-1DC86E7C}"), None);
        assert_eq!(Guid::parse("{87CEF3C-16A4-D624-848FC48}"), None);
        assert_eq!(Guid::parse("6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93"), None);
        assert_eq!(
            Guid::parse("{6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93-00}"),
            None
        );
        assert_eq!(Guid::parse("{6D5C1B1G-2F34-4A8E-9C71-0B2E4D6F8A93}"), None);
        let v4 = Guid::from_random([0xFF; 16]);
        assert_eq!(v4.to_string(), "{FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF}");
    }

    // --- Request: parse -----------------------------------------------------

    #[test]
    fn sstpc_request_parses_and_keeps_what_follows() {
        let mut flight = SSTPC_REQUEST.as_bytes().to_vec();
        flight.extend_from_slice(&CONNECT_REQUEST);
        let head = sstp(&flight);
        assert_eq!(head.path, SSTP_PATH);
        assert_eq!(head.host, Some("10.213.0.1"));
        assert_eq!(head.correlation_id, Some("{67F76755-125B-6B98-1DC86E7C}"));
        assert_eq!(head.tenant_id, None);
        assert_eq!(head.consumed, SSTPC_REQUEST.len());
        assert_eq!(&flight[head.consumed..], &CONNECT_REQUEST);
        assert_eq!(
            head.headers().map(|(n, _)| n).collect::<Vec<_>>(),
            ["Host", "Content-Length", "SSTPCORRELATIONID"]
        );
    }

    #[test]
    fn unpadded_correlation_id_is_kept_raw() {
        let text = SSTPC_REQUEST.replace(
            "{67F76755-125B-6B98-1DC86E7C}",
            "{87CEF3C-16A4-D624-848FC48}",
        );
        assert_eq!(
            sstp(text.as_bytes()).correlation_id,
            Some("{87CEF3C-16A4-D624-848FC48}")
        );
    }

    #[test]
    fn request_is_incomplete_at_every_shorter_length() {
        let bytes = SSTPC_REQUEST.as_bytes();
        for len in 0..bytes.len() {
            assert_eq!(
                parse_request_head(&bytes[..len]),
                Ok(None),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn sloppy_but_valid_requests_are_accepted() {
        // Lower-case path, tenantid query, header names in other cases, no
        // space after the colon, trailing whitespace.
        let text = "SSTP_DUPLEX_POST /SRA_{ba195980-cd49-458b-9e23-c84ee0adcd75}/?x=1&TenantId=contoso HTTP/1.1\r\n\
            hOsT:vpn.example.com \t\r\n\
            sstpcorrelationid:   {whatever}\r\n\
            \r\n";
        let head = sstp(text.as_bytes());
        assert_eq!(head.tenant_id, Some("contoso"));
        assert_eq!(head.host, Some("vpn.example.com"));
        assert_eq!(head.correlation_id, Some("{whatever}"));
        assert_eq!(head.header("SSTPCorrelationId"), Some("{whatever}"));
    }

    #[test]
    fn absolute_form_target_and_no_headers() {
        let text = format!("SSTP_DUPLEX_POST https://vpn.example.com{SSTP_PATH} HTTP/1.1\r\n\r\n");
        let head = sstp(text.as_bytes());
        assert_eq!(head.host, None);
        assert_eq!(head.correlation_id, None);
        assert_eq!(head.consumed, text.len());
        assert_eq!(head.headers().count(), 0);
    }

    #[test]
    fn other_requests_are_not_sstp() {
        let cases = [
            ("GET /healthz HTTP/1.1\r\n", "GET", ErrorStatus::NotFound),
            (
                "GET /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n",
                "GET",
                ErrorStatus::MethodNotAllowed,
            ),
            (
                "SSTP_DUPLEX_POST /sra_other/ HTTP/1.1\r\n",
                "SSTP_DUPLEX_POST",
                ErrorStatus::NotFound,
            ),
            (
                "sstp_duplex_post /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n",
                "sstp_duplex_post",
                ErrorStatus::MethodNotAllowed,
            ),
            // Decided on the request line alone, even for HTTP/2.0.
            (
                "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                "PRI",
                ErrorStatus::NotFound,
            ),
        ];
        for (text, method, status) in cases {
            match parse_request_head(text.as_bytes()) {
                Ok(Some(RequestHead::NotSstp(other))) => {
                    assert_eq!(other.method, method);
                    assert_eq!(other.error_status(), status, "{text:?}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn sstp_request_must_be_http_1_1() {
        let text = format!("SSTP_DUPLEX_POST {SSTP_PATH} HTTP/1.0\r\n");
        let err = parse_request_head(text.as_bytes()).expect_err("HTTP/1.0");
        assert_eq!(err, HttpError::UnsupportedVersion { major: 1, minor: 0 });
        assert_eq!(
            err.error_status(),
            Some(ErrorStatus::HttpVersionNotSupported)
        );
    }

    #[test]
    fn malformed_requests_are_bad_requests() {
        let bad_lines = [
            "SSTP_DUPLEX_POST  /sra/ HTTP/1.1\r\n",
            "SSTP_DUPLEX_POST /sra/ HTTP/1.1 extra\r\n",
            "SSTP_DUPLEX_POST /sra/\r\n",
            "SSTP_DUPLEX_POST /sra/ http/1.1\r\n",
            "SSTP_DUPLEX_POST /sra/ HTTP/11\r\n",
            "GET /\x01 HTTP/1.1\r\n",
            "(GET) / HTTP/1.1\r\n",
            "\r\n",
        ];
        for text in bad_lines {
            let err = parse_request_head(text.as_bytes()).expect_err(text);
            assert_eq!(
                err.error_status(),
                Some(ErrorStatus::BadRequest),
                "{text:?}"
            );
        }
        let bad_headers = [
            "Host 10.0.0.1\r\n",
            "Host : 10.0.0.1\r\n",
            "Host: a\r\n folded\r\n",
            ": empty-name\r\n",
            "Host: a\rb\r\n",
            "X: a\nb\r\n",
            "Host: a\r\nHost: b\r\n",
        ];
        for headers in bad_headers {
            let text = sstp_request_with(headers);
            let err = parse_request_head(text.as_bytes()).expect_err(headers);
            assert!(
                matches!(err, HttpError::Malformed { .. }),
                "{headers:?}: {err:?}"
            );
        }
        let mut non_utf8 = sstp_request_with("X-Name: caf\u{0}\r\n").into_bytes();
        let at = non_utf8.iter().position(|&b| b == 0).expect("marker");
        non_utf8[at] = 0xE9;
        assert!(matches!(
            parse_request_head(&non_utf8),
            Err(HttpError::Malformed { .. })
        ));
    }

    #[test]
    fn binary_input_fails_early() {
        // The start of a TLS ClientHello.
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03,
        ];
        assert!(matches!(
            parse_request_head(&hello),
            Err(HttpError::Malformed { .. })
        ));
        assert!(matches!(
            parse_response_head(&hello),
            Err(HttpError::Malformed { .. })
        ));
        assert_eq!(parse_request_head(b"SSTP_DUP"), Ok(None));
        assert_eq!(parse_request_head(b"GET / HTTP/1.1\r"), Ok(None));
    }

    #[test]
    fn head_size_and_header_count_are_bounded() {
        // Exactly MAX_HEAD_LEN bytes, terminator included: accepted.
        let base = sstp_request_with("X-Pad: \r\n").len();
        let pad = "a".repeat(MAX_HEAD_LEN - base);
        let text = sstp_request_with(&format!("X-Pad: {pad}\r\n"));
        assert_eq!(text.len(), MAX_HEAD_LEN);
        assert_eq!(sstp(text.as_bytes()).consumed, MAX_HEAD_LEN);
        // One byte more: too long, even though the terminator is there.
        let text = sstp_request_with(&format!("X-Pad: {pad}a\r\n"));
        let err = parse_request_head(text.as_bytes()).expect_err("too long");
        assert_eq!(
            err,
            HttpError::HeadTooLong {
                limit: MAX_HEAD_LEN
            }
        );
        assert_eq!(
            err.error_status(),
            Some(ErrorStatus::RequestHeaderFieldsTooLarge)
        );
        // No terminator and still below the limit: incomplete.
        let open = &text.as_bytes()[..MAX_HEAD_LEN - 1];
        assert_eq!(parse_request_head(open), Ok(None));

        let many = "X: y\r\n".repeat(MAX_HEADERS);
        assert!(matches!(
            parse_request_head(sstp_request_with(&many).as_bytes()),
            Ok(Some(RequestHead::Sstp(_)))
        ));
        let too_many = "X: y\r\n".repeat(MAX_HEADERS + 1);
        assert_eq!(
            parse_request_head(sstp_request_with(&too_many).as_bytes()),
            Err(HttpError::TooManyHeaders { limit: MAX_HEADERS })
        );
    }

    // --- Response: emit and parse -------------------------------------------

    #[test]
    fn windows_response_emit_and_parse() {
        let response = ServerResponse::new()
            .with_server("Microsoft-HTTPAPI/2.0")
            .and_then(|r| r.with_date("Thu, 09 Nov 2006 00:51:09 GMT"))
            .expect("valid values");
        let mut out = Vec::new();
        response.emit(&mut out);
        assert_eq!(out, WINDOWS_RESPONSE.as_bytes());
        assert_eq!(out.len(), response.buffer_len());

        let mut flight = out.clone();
        flight.extend_from_slice(&CONNECT_REQUEST);
        let head = parse_response_head(&flight)
            .expect("valid")
            .expect("complete");
        assert_eq!(head.reason, "OK");
        assert_eq!(head.server, Some("Microsoft-HTTPAPI/2.0"));
        assert_eq!(head.date, Some("Thu, 09 Nov 2006 00:51:09 GMT"));
        assert_eq!(head.consumed, WINDOWS_RESPONSE.len());
        assert_eq!(head.header("content-length"), Some(SSTP_CONTENT_LENGTH));
    }

    #[test]
    fn minimal_response() {
        let mut out = Vec::new();
        ServerResponse::new().emit(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n"
        );
        let head = parse_response_head(&out).expect("valid").expect("complete");
        assert_eq!((head.server, head.date), (None, None));
    }

    #[test]
    fn response_is_incomplete_at_every_shorter_length() {
        let bytes = WINDOWS_RESPONSE.as_bytes();
        for len in 0..bytes.len() {
            assert_eq!(parse_response_head(&bytes[..len]), Ok(None), "prefix {len}");
        }
    }

    #[test]
    fn response_tolerates_missing_reason_and_content_length() {
        let head = parse_response_head(b"HTTP/1.1 200\r\nserver: x\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(head.reason, "");
        assert_eq!(head.server, Some("x"));
    }

    #[test]
    fn refusals_report_code_and_reason_from_the_status_line() {
        assert_eq!(
            parse_response_head(b"HTTP/1.1 403 Forbidden\r\n"),
            Err(HttpError::Refused {
                code: 403,
                reason: "Forbidden".into()
            })
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.0 503 Busy\tnow \xff\r\n"),
            Err(HttpError::Refused {
                code: 503,
                reason: "Busynow \u{fffd}".into()
            })
        );
        let long = format!("HTTP/1.1 500 {}\r\n", "x".repeat(1000));
        let Err(HttpError::Refused { reason, .. }) = parse_response_head(long.as_bytes()) else {
            panic!("refused");
        };
        assert_eq!(reason.len(), MAX_REASON_LEN);
        for status in [
            ErrorStatus::BadRequest,
            ErrorStatus::NotFound,
            ErrorStatus::MethodNotAllowed,
            ErrorStatus::RequestHeaderFieldsTooLarge,
            ErrorStatus::ServiceUnavailable,
            ErrorStatus::HttpVersionNotSupported,
        ] {
            let mut out = Vec::new();
            status.emit(&mut out);
            assert_eq!(out.len(), status.buffer_len());
            assert_eq!(
                parse_response_head(&out),
                Err(HttpError::Refused {
                    code: status.code(),
                    reason: status.reason().into()
                })
            );
        }
    }

    #[test]
    fn error_response_fixture() {
        let mut out = Vec::new();
        ErrorStatus::MethodNotAllowed.emit(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 405 Method Not Allowed\r\nAllow: SSTP_DUPLEX_POST\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn response_negatives() {
        assert_eq!(
            parse_response_head(b"HTTP/1.0 200 OK\r\n"),
            Err(HttpError::UnsupportedVersion { major: 1, minor: 0 })
        );
        for content_length in ["0", "1234", "18446744073709551614", ""] {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {content_length}\r\n\r\n");
            assert_eq!(
                parse_response_head(text.as_bytes()),
                Err(HttpError::BadContentLength),
                "{content_length:?}"
            );
        }
        // A second, wrong Content-Length is caught too.
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(
            parse_response_head(text.as_bytes()),
            Err(HttpError::BadContentLength)
        );
        for line in [
            "HTTP/1.1 20 OK\r\n",
            "HTTP/1.1 2000 OK\r\n",
            "HTTP/1.1  200 OK\r\n",
            "HTTP/1.1 2x0 OK\r\n",
            "HTTP/1.1\r\n",
            "ICY 200 OK\r\n",
        ] {
            assert!(
                matches!(
                    parse_response_head(line.as_bytes()),
                    Err(HttpError::Malformed { .. })
                ),
                "{line:?}"
            );
        }
        assert!(matches!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n"),
            Err(HttpError::Malformed { .. })
        ));
        assert_eq!(parse_response_head(b"HTT"), Ok(None), "a prefix of HTTP/");
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "y".repeat(MAX_HEAD_LEN));
        assert_eq!(
            parse_response_head(long.as_bytes()),
            Err(HttpError::HeadTooLong {
                limit: MAX_HEAD_LEN
            })
        );
    }

    #[test]
    fn server_response_rejects_bad_values() {
        for value in ["a\r\nX: y", " lead", "trail ", "tab\t", "caf\u{e9}"] {
            assert!(
                ServerResponse::new().with_server(value).is_err(),
                "{value:?}"
            );
            assert!(ServerResponse::new().with_date(value).is_err(), "{value:?}");
        }
    }

    proptest! {
        #[test]
        fn request_round_trips(host in "[!-~]{1,64}", guid in any::<[u8; 16]>(), tail in prop::collection::vec(any::<u8>(), 0..32)) {
            let request = ClientRequest::new(&host, Guid(guid)).expect("graphic ASCII host");
            let mut out = Vec::new();
            request.emit(&mut out);
            prop_assert_eq!(out.len(), request.buffer_len());
            let head_len = out.len();
            out.extend_from_slice(&tail);
            let head = sstp(&out);
            prop_assert_eq!(head.host, Some(host.as_str()));
            prop_assert_eq!(head.correlation_id.and_then(Guid::parse), Some(Guid(guid)));
            prop_assert_eq!(head.consumed, head_len);
        }

        #[test]
        fn response_round_trips(server in "[!-~]([ -~]{0,30}[!-~])?", date in "[!-~]{1,40}") {
            let response = ServerResponse::new()
                .with_server(&server).and_then(|r| r.with_date(&date)).expect("valid");
            let mut out = Vec::new();
            response.emit(&mut out);
            prop_assert_eq!(out.len(), response.buffer_len());
            let head = parse_response_head(&out).expect("valid").expect("complete");
            prop_assert_eq!(head.server, Some(server.as_str()));
            prop_assert_eq!(head.date, Some(date.as_str()));
            prop_assert_eq!(head.consumed, out.len());
        }

        #[test]
        fn parsers_never_panic_and_stay_in_bounds(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(Some(RequestHead::Sstp(head))) = parse_request_head(&bytes) {
                prop_assert!(head.consumed <= bytes.len().min(MAX_HEAD_LEN));
            }
            if let Ok(Some(head)) = parse_response_head(&bytes) {
                prop_assert!(head.consumed <= bytes.len().min(MAX_HEAD_LEN));
            }
        }

        #[test]
        fn http_like_garbage_never_panics(
            lines in prop::collection::vec("[ -~\t\r\n:]{0,40}", 0..8),
            sstp_start in any::<bool>(),
        ) {
            let start = if sstp_start { format!("SSTP_DUPLEX_POST {SSTP_PATH} HTTP/1.1\r\n") } else { "HTTP/1.1 200 OK\r\n".into() };
            let text = format!("{start}{}\r\n\r\n", lines.join("\r\n"));
            let _ = parse_request_head(text.as_bytes());
            let _ = parse_response_head(text.as_bytes());
        }
    }
}
