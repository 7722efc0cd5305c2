//! HTTP CONNECT through a proxy (MS-SSTP 4.5), with hyper's client
//! connection: `http1::handshake` on the proxy's TCP stream, a `CONNECT
//! host:port` request carrying `SSTPVERSION: 1.0` and optional Basic
//! credentials, then `hyper::upgrade::on` hands back the raw tunnel, over
//! which TLS runs as if the server were directly connected.
//!
//! Also here: which proxy the environment asks for (`https_proxy`,
//! `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`) and whether `no_proxy` /
//! `NO_PROXY` exempts the server.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::dial::BoxedIo;
use crate::error::ProxyError;
use crate::options::{Prefix, ServerAddr};

/// An HTTP proxy: `http://[user:password@]host[:port]` (port 8080 when
/// left out). Credentials go out as `Proxy-Authorization: Basic`.
///
/// ```
/// use sstp_client::HttpProxy;
/// let p = HttpProxy::parse("http://bob:s%40cret@proxy.lab:3128").unwrap();
/// assert_eq!(p.to_string(), "proxy.lab:3128 (as bob)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HttpProxy {
    addr: ServerAddr,
    credentials: Option<(String, String)>,
}

/// The port of a proxy URL without one.
const DEFAULT_PROXY_PORT: u16 = 8080;

impl HttpProxy {
    /// A proxy at `addr`, without credentials.
    pub fn new(addr: ServerAddr) -> Self {
        Self {
            addr,
            credentials: None,
        }
    }

    /// Sends Basic credentials.
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Parses a proxy URL. Only `http://` proxies are supported (a bare
    /// `host:port` means `http://`).
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        let redacted = redact(url);
        let bad = |detail: &str| ProxyError::InvalidUrl {
            url: redacted.clone(),
            detail: detail.to_owned(),
        };
        let rest = match url.trim().split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "scheme {scheme:?} is not supported (only http:// proxies)"
                )));
            }
            None => url.trim(),
        };
        let rest = rest.split('/').next().unwrap_or_default();
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let credentials = userinfo
            .map(|u| {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                Ok::<_, ProxyError>((
                    percent_decode(user).ok_or_else(|| bad("bad %-escape in the user"))?,
                    percent_decode(pass).ok_or_else(|| bad("bad %-escape in the password"))?,
                ))
            })
            .transpose()?;
        let has_port = hostport
            .rsplit_once(':')
            .is_some_and(|(h, _)| !h.ends_with(':'))
            && (hostport.starts_with('[') && hostport.contains("]:")
                || !hostport.starts_with('[') && hostport.matches(':').count() == 1);
        let text = if has_port {
            hostport.to_owned()
        } else if hostport.contains(':') && !hostport.starts_with('[') {
            format!("[{hostport}]:{DEFAULT_PROXY_PORT}")
        } else {
            format!("{hostport}:{DEFAULT_PROXY_PORT}")
        };
        let addr: ServerAddr = text
            .parse()
            .map_err(|e: crate::Error| bad(&e.to_string()))?;
        Ok(Self { addr, credentials })
    }

    /// Where the proxy is.
    pub fn addr(&self) -> &ServerAddr {
        &self.addr
    }

    /// The user name sent, if any.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(u, _)| u.as_str())
    }
}

impl fmt::Display for HttpProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(user) = self.user() {
            write!(f, " (as {user})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HttpProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProxy")
            .field("addr", &self.addr)
            .field("user", &self.user())
            .finish_non_exhaustive()
    }
}

/// The proxy the environment asks for to reach `server`, if any: the first
/// set of `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`, unless
/// `no_proxy` / `NO_PROXY` matches the server.
pub(crate) fn from_env(server: &ServerAddr) -> Result<Option<HttpProxy>, ProxyError> {
    from_vars(server, |name| std::env::var(name).ok())
}

/// [`from_env`] over any variable lookup (tests pass a map).
fn from_vars(
    server: &ServerAddr,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<HttpProxy>, ProxyError> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
    };
    let Some(url) = var(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]) else {
        return Ok(None);
    };
    if let Some(list) = var(&["no_proxy", "NO_PROXY"])
        && no_proxy_matches(&list, server)
    {
        return Ok(None);
    }
    HttpProxy::parse(&url).map(Some)
}

/// Whether a `no_proxy` list exempts `server`. Entries: `*` (everything), a
/// host name (matches it and its subdomains; a leading `.` or `*.` is
/// allowed), an IP address, or a CIDR prefix; each may carry `:port`.
pub(crate) fn no_proxy_matches(list: &str, server: &ServerAddr) -> bool {
    let host = server.host().to_ascii_lowercase();
    let ip = server.ip();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            // An optional port: `host:port`, `[v6]:port`.
            let (name, port) = split_port(entry);
            if port.is_some_and(|p| p != server.port()) {
                return false;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            let name = name.trim_start_matches('[').trim_end_matches(']');
            if let (Some(ip), Ok(prefix)) = (ip, name.parse::<Prefix>()) {
                return Prefix::new(ip, prefix.len()) == Some(prefix);
            }
            if name.parse::<IpAddr>().is_ok() {
                return false;
            }
            let name = name.to_ascii_lowercase();
            host == name || host.ends_with(&format!(".{name}"))
        })
}

fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((name, port)) = entry.rsplit_once(':')
        && (entry.starts_with('[') || !name.contains(':'))
        && let Ok(port) = port.parse::<u16>()
    {
        return (name, Some(port));
    }
    (entry, None)
}

/// Opens `CONNECT target` through `proxy` and returns the raw tunnel.
pub(crate) async fn connect(
    proxy: &HttpProxy,
    target: &ServerAddr,
    timeout: Duration,
) -> Result<(BoxedIo, Option<std::net::SocketAddr>), ProxyError> {
    let name = proxy.addr.to_string();
    let unreachable = |source| ProxyError::Unreachable {
        proxy: name.clone(),
        source,
    };
    let tcp = tokio::time::timeout(
        timeout,
        TcpStream::connect((proxy.addr.host(), proxy.addr.port())),
    )
    .await
    .map_err(|_| {
        unreachable(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "timed out",
        ))
    })?
    .map_err(unreachable)?;
    let _ = tcp.set_nodelay(true);
    let remote = tcp.peer_addr().ok();
    let protocol = |detail: String| ProxyError::Protocol {
        proxy: name.clone(),
        detail,
    };
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
            .await
            .map_err(|e| protocol(e.to_string()))?;
    // The connection task must run until the upgrade hands the stream over.
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "proxy connection ended");
        }
    });
    let authority = target.authority(true);
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(authority.as_str())
        .header(hyper::header::HOST, authority.as_str())
        // MS-SSTP 4.5: the client identifies SSTP to the proxy.
        .header("SSTPVERSION", "1.0");
    if let Some((user, password)) = &proxy.credentials {
        request = request.header(
            hyper::header::PROXY_AUTHORIZATION,
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
        );
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| protocol(format!("cannot build the CONNECT request: {e}")))?;
    let response = tokio::time::timeout(timeout, sender.send_request(request))
        .await
        .map_err(|_| protocol("no answer to CONNECT in time".to_owned()))?
        .map_err(|e| protocol(e.to_string()))?;
    let status = response.status();
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        return Err(ProxyError::AuthRequired {
            proxy: name,
            sent_credentials: proxy.credentials.is_some(),
        });
    }
    if !status.is_success() {
        return Err(ProxyError::Refused {
            proxy: name,
            target: authority,
            status: format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_owned(),
            code: status.as_u16(),
        });
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| protocol(format!("CONNECT accepted but no tunnel: {e}")))?;
    Ok((Box::new(TokioIo::new(upgraded)), remote))
}

/// Standard base64 with padding (RFC 4648 4), for Basic credentials.
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, after)) => {
            let scheme_end = before.find("://").map_or(0, |i| i + 3);
            let user = before[scheme_end..].split(':').next().unwrap_or_default();
            format!("{}{user}:***@{after}", &before[..scheme_end])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(s: &str) -> ServerAddr {
        s.parse().unwrap()
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn proxy_urls_parse() {
        let p = HttpProxy::parse("http://proxy.lab:3128").unwrap();
        assert_eq!(
            (p.addr().host(), p.addr().port(), p.user()),
            ("proxy.lab", 3128, None)
        );
        let p = HttpProxy::parse("proxy.lab").unwrap();
        assert_eq!(p.addr().port(), 8080);
        let p = HttpProxy::parse("http://u%3Ax:p%40ss@[::1]:3128/").unwrap();
        assert_eq!(p.addr().host(), "::1");
        assert_eq!(p.credentials, Some(("u:x".into(), "p@ss".into())));
        let p = HttpProxy::parse("http://[::1]").unwrap();
        assert_eq!((p.addr().host(), p.addr().port()), ("::1", 8080));
        let e = HttpProxy::parse("https://user:secret@proxy:443").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("only http://"), "{text}");
        assert!(!text.contains("secret"), "password leaked: {text}");
    }

    #[test]
    fn environment_variables_pick_the_proxy() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let s = server("vpn.corp.example");
        assert_eq!(from_vars(&s, env(&[])).unwrap(), None);
        let p = from_vars(&s, env(&[("HTTPS_PROXY", "http://proxy:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!(p.addr().to_string(), "proxy:3128");
        // The lower-case variable wins, as curl does; all_proxy is a fallback.
        let p = from_vars(
            &s,
            env(&[("https_proxy", "http://a:1"), ("HTTPS_PROXY", "http://b:2")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.addr().host(), "a");
        let p = from_vars(&s, env(&[("all_proxy", "c:3")]))
            .unwrap()
            .unwrap();
        assert_eq!(p.addr().host(), "c");
        // no_proxy exempts the server.
        let exempt = env(&[
            ("https_proxy", "http://a:1"),
            ("no_proxy", "localhost,.corp.example"),
        ]);
        assert_eq!(from_vars(&s, exempt).unwrap(), None);
        assert!(from_vars(&s, env(&[("https_proxy", "socks5://x:1")])).is_err());
    }

    #[test]
    fn no_proxy_lists_match() {
        let s = server("vpn.corp.example:443");
        assert!(no_proxy_matches("*", &s));
        assert!(no_proxy_matches("localhost, corp.example", &s));
        assert!(no_proxy_matches(".corp.example", &s));
        assert!(no_proxy_matches("*.example", &s));
        assert!(no_proxy_matches("vpn.corp.example:443", &s));
        assert!(!no_proxy_matches("vpn.corp.example:8443", &s));
        assert!(!no_proxy_matches("orp.example", &s));
        assert!(!no_proxy_matches("", &s));
        let ip = server("10.1.2.3");
        assert!(no_proxy_matches("10.0.0.0/8", &ip));
        assert!(no_proxy_matches("10.1.2.3", &ip));
        assert!(!no_proxy_matches("192.168.0.0/16,10.1.2.4", &ip));
        let v6 = server("[2001:db8::1]:443");
        assert!(no_proxy_matches("2001:db8::/32", &v6));
        assert!(no_proxy_matches("[2001:db8::1]:443", &v6));
    }
}
