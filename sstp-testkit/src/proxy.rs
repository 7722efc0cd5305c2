//! An HTTP CONNECT proxy on 127.0.0.1 (MS-SSTP 4.5).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy saw of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySeen {
    /// The request target (`host:port` for a CONNECT).
    pub target: String,
    /// The `SSTPVERSION` header, which MS-SSTP 4.5 has a client send.
    pub sstp_version: Option<String>,
    /// The `Proxy-Authorization` header.
    pub authorization: Option<String>,
}

/// A CONNECT proxy: a hyper server with upgrades, relaying with
/// `copy_bidirectional`. It records every request; refuses anything but
/// CONNECT (405), a missing or wrong `Proxy-Authorization: Basic` when it
/// requires one (407), a CONNECT without `SSTPVERSION: 1.0` (400), and any
/// target off the loopback (403), so the tests never leave 127.0.0.1
/// (`localhost` is read as 127.0.0.1). Stops when dropped.
#[derive(Debug)]
pub struct ConnectProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<ProxySeen>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// A proxy on a port the OS picks; with `expected_basic`, it requires
    /// `Proxy-Authorization: Basic <expected_basic>`.
    pub async fn start(expected_basic: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let expected = expected_basic.map(|e| format!("Basic {e}"));
        let task = {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let seen = Arc::clone(&seen);
                    let expected = expected.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            connect(req, Arc::clone(&seen), expected.clone())
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tcp), service)
                            .with_upgrades()
                            .await;
                    });
                }
            })
        };
        Self { addr, seen, task }
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<ProxySeen> {
        self.seen.lock().expect("proxy log").clone()
    }

    /// The target of every request so far, in order.
    pub fn targets(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.target).collect()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<ProxySeen>>>,
    expected: Option<String>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let record = ProxySeen {
        target: req.uri().to_string(),
        sstp_version: header("sstpversion"),
        authorization: header("proxy-authorization"),
    };
    seen.lock().expect("proxy log").push(record.clone());
    let status = |code: StatusCode| {
        let mut r = Response::new(Empty::new());
        *r.status_mut() = code;
        Ok(r)
    };
    if req.method() != Method::CONNECT {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if expected.is_some() && record.authorization != expected {
        return status(StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    }
    if record.sstp_version.as_deref() != Some("1.0") {
        return status(StatusCode::BAD_REQUEST);
    }
    let Some(authority) = req.uri().authority().map(ToString::to_string) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let loopback = authority
        .replace("localhost", "127.0.0.1")
        .parse::<SocketAddr>()
        .ok()
        .filter(|a| a.ip().is_loopback());
    let Some(target) = loopback else {
        return status(StatusCode::FORBIDDEN);
    };
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let Ok(mut server) = TcpStream::connect(target).await else {
            return;
        };
        let mut client = TokioIo::new(upgraded);
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    status(StatusCode::OK)
}
