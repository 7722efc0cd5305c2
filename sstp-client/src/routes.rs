//! Addresses and routes of the tunnel interface, behind the [`Routes`]
//! trait: [`LinuxRoutes`] talks rtnetlink through `sstp_tun::netlink` (no
//! `ip` command), [`RecordingRoutes`] keeps a model of the table in memory
//! for tests, and [`NoRoutes`] leaves the system alone (an embedder that
//! manages its own interface).
//!
//! The trait is object safe (boxed futures: this is the control plane, a
//! handful of calls per connection), so the tunnel holds an
//! `Arc<dyn Routes>`.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use sstp_tun::netlink::{Link, Route};

use crate::error::SetupError;

/// A boxed, sendable future (the traits here are object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a packet to the server leaves today: what the host route that keeps
/// the tunnel's own packets off the tunnel must copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathTo {
    /// The next hop, when not on link.
    pub gateway: Option<IpAddr>,
    /// The outgoing interface index.
    pub oif: Option<u32>,
}

/// The address and route operations the tunnel setup needs.
///
/// Errors of kind [`io::ErrorKind::AlreadyExists`] on `add_*` mean the
/// thing was already there; the setup then leaves it alone (it is not ours
/// to remove).
pub trait Routes: Send + Sync + fmt::Debug {
    /// Readies `link` once, before the first connection (the TUN may be up
    /// already, and the first packets from the server follow soon after).
    /// [`LinuxRoutes`] turns off the kernel's own handling of Router
    /// Advertisements on it (see
    /// [`LinuxRoutes::keep_kernel_off_ipv6_autoconf`]); the default does
    /// nothing.
    fn prepare_link(&self, link: &str) -> BoxFuture<'_, Result<(), SetupError>> {
        let _ = link;
        Box::pin(async { Ok(()) })
    }
    /// Sets the MTU of `link` and brings it up.
    fn link_up(&self, link: &str, mtu: u16) -> BoxFuture<'_, Result<(), SetupError>>;
    /// Adds `addr/prefix_len` to `link`.
    fn add_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>>;
    /// Removes `addr/prefix_len` from `link`.
    fn del_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>>;
    /// How a packet to `dst` would leave (`ip route get`).
    fn route_get(&self, dst: IpAddr) -> BoxFuture<'_, Result<PathTo, SetupError>>;
    /// Adds a route.
    fn add_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>>;
    /// Deletes a route.
    fn del_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>>;
}

/// [`Routes`] on rtnetlink, in the network namespace of the thread that
/// made it.
pub struct LinuxRoutes {
    nl: sstp_tun::netlink::Netlink,
}

impl LinuxRoutes {
    /// Opens an rtnetlink socket; call inside a tokio runtime.
    pub fn new() -> Result<Self, SetupError> {
        let nl = sstp_tun::netlink::Netlink::new()
            .map_err(|e| SetupError::new("open rtnetlink", e.into()))?;
        Ok(Self { nl })
    }

    /// The client reads the server's Router Advertisements itself (the
    /// [`slaac`](crate::slaac) module) and adds only the routes the route
    /// mode asks for. Left on, the kernel would act on the same RAs: a
    /// default route via the server (RFC 4861 6.3.4) and an address of its
    /// own (RFC 4862 5.5.3), so `--route` and `--no-routes` would not hold
    /// for IPv6. The per-interface `net.ipv6.conf.<link>` switches must be
    /// off before the first RA reaches the link. A kernel without IPv6 has
    /// no such directory: nothing to turn off.
    ///
    /// Written with `std::fs` on purpose: `/proc/sys/net` is the network
    /// namespace of the calling thread, and a blocking-pool thread may be in
    /// another one.
    pub fn keep_kernel_off_ipv6_autoconf(link: &str) -> Result<(), SetupError> {
        // In /proc/sys, a '.' in an interface name is written '/'.
        let dir = std::path::PathBuf::from("/proc/sys/net/ipv6/conf").join(link.replace('.', "/"));
        if !dir.is_dir() {
            return Ok(());
        }
        for key in [
            "accept_ra",
            "autoconf",
            "accept_ra_defrtr",
            "accept_ra_pinfo",
        ] {
            let path = dir.join(key);
            match std::fs::write(&path, "0") {
                Ok(()) => {}
                // Older kernels lack some of the finer switches; accept_ra=0 covers them.
                Err(e) if e.kind() == io::ErrorKind::NotFound && key != "accept_ra" => {}
                Err(e) => {
                    return Err(SetupError::new(
                        format!("turn off IPv6 autoconfiguration ({})", path.display()),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for LinuxRoutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinuxRoutes")
    }
}

fn nl_err(op: String) -> impl FnOnce(sstp_tun::netlink::NetlinkError) -> SetupError {
    move |e| {
        let kind = e.kind();
        let detail = match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code).to_string(),
            None => e.to_string(),
        };
        SetupError::new(op, io::Error::new(kind, detail))
    }
}

impl Routes for LinuxRoutes {
    fn prepare_link(&self, link: &str) -> BoxFuture<'_, Result<(), SetupError>> {
        let r = Self::keep_kernel_off_ipv6_autoconf(link);
        Box::pin(async move { r })
    }

    fn link_up(&self, link: &str, mtu: u16) -> BoxFuture<'_, Result<(), SetupError>> {
        let link = link.to_owned();
        Box::pin(async move {
            self.nl
                .set_mtu(link.as_str(), u32::from(mtu))
                .await
                .map_err(nl_err(format!("set mtu {mtu} on {link}")))?;
            self.nl
                .set_link_up(link.as_str())
                .await
                .map_err(nl_err(format!("set {link} up")))
        })
    }

    fn add_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>> {
        let link = link.to_owned();
        Box::pin(async move {
            self.nl
                .add_address(link.as_str(), addr, prefix_len)
                .await
                .map_err(nl_err(format!(
                    "add address {addr}/{prefix_len} dev {link}"
                )))
        })
    }

    fn del_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>> {
        let link = link.to_owned();
        Box::pin(async move {
            self.nl
                .del_address(link.as_str(), addr, prefix_len)
                .await
                .map_err(nl_err(format!(
                    "delete address {addr}/{prefix_len} dev {link}"
                )))
        })
    }

    fn route_get(&self, dst: IpAddr) -> BoxFuture<'_, Result<PathTo, SetupError>> {
        Box::pin(async move {
            let lookup = self
                .nl
                .route_get(dst)
                .await
                .map_err(nl_err(format!("get route to {dst}")))?;
            Ok(PathTo {
                gateway: lookup.gateway,
                oif: lookup.oif,
            })
        })
    }

    fn add_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        let route = route.clone();
        Box::pin(async move {
            self.nl
                .add_route(&route)
                .await
                .map_err(nl_err(format!("add route {route}")))
        })
    }

    fn del_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        let route = route.clone();
        Box::pin(async move {
            self.nl
                .del_route(&route)
                .await
                .map_err(nl_err(format!("delete route {route}")))
        })
    }
}

/// [`Routes`] that does nothing and succeeds (the embedder configures its
/// own device). `route_get` answers "on link".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoutes;

impl Routes for NoRoutes {
    fn link_up(&self, _: &str, _: u16) -> BoxFuture<'_, Result<(), SetupError>> {
        Box::pin(async { Ok(()) })
    }
    fn add_address(&self, _: &str, _: IpAddr, _: u8) -> BoxFuture<'_, Result<(), SetupError>> {
        Box::pin(async { Ok(()) })
    }
    fn del_address(&self, _: &str, _: IpAddr, _: u8) -> BoxFuture<'_, Result<(), SetupError>> {
        Box::pin(async { Ok(()) })
    }
    fn route_get(&self, _: IpAddr) -> BoxFuture<'_, Result<PathTo, SetupError>> {
        Box::pin(async {
            Ok(PathTo {
                gateway: None,
                oif: None,
            })
        })
    }
    fn add_route(&self, _: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        Box::pin(async { Ok(()) })
    }
    fn del_route(&self, _: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        Box::pin(async { Ok(()) })
    }
}

/// One call a [`RecordingRoutes`] saw.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOp {
    /// `link_up(link, mtu)`.
    LinkUp(String, u16),
    /// `add_address(link, addr, len)`.
    AddAddress(String, IpAddr, u8),
    /// `del_address(link, addr, len)`.
    DelAddress(String, IpAddr, u8),
    /// `route_get(dst)`.
    RouteGet(IpAddr),
    /// `add_route` (as `Route`'s display).
    AddRoute(String),
    /// `del_route`.
    DelRoute(String),
}

#[derive(Debug, Default)]
struct Model {
    ops: Vec<RouteOp>,
    addresses: BTreeSet<(String, IpAddr, u8)>,
    routes: BTreeSet<String>,
    fail_adds: bool,
}

/// A [`Routes`] fake: records every call and keeps the resulting set of
/// addresses and routes, refusing duplicates (`EEXIST`) and missing
/// deletions (`ESRCH`) as the kernel does. `route_get` answers with the
/// gateway given to [`new`](Self::new).
#[derive(Debug, Clone, Default)]
pub struct RecordingRoutes {
    model: Arc<Mutex<Model>>,
    gateway: Option<IpAddr>,
}

impl RecordingRoutes {
    /// A fake whose `route_get` answers "via `gateway`, interface 2".
    pub fn new(gateway: Option<IpAddr>) -> Self {
        Self {
            model: Arc::default(),
            gateway,
        }
    }

    /// Every call so far, in order.
    pub fn ops(&self) -> Vec<RouteOp> {
        self.lock().ops.clone()
    }

    /// The addresses now present, as `link addr/len`.
    pub fn addresses(&self) -> Vec<String> {
        self.lock()
            .addresses
            .iter()
            .map(|(l, a, n)| format!("{l} {a}/{n}"))
            .collect()
    }

    /// The routes now present (`Route`'s display).
    pub fn routes(&self) -> Vec<String> {
        self.lock().routes.iter().cloned().collect()
    }

    /// Makes every later `add_*` fail (to test a failed setup).
    pub fn fail_adds(&self, fail: bool) {
        self.lock().fail_adds = fail;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn done(r: Result<(), SetupError>) -> BoxFuture<'static, Result<(), SetupError>> {
        Box::pin(async move { r })
    }
}

fn os_error(op: String, code: i32) -> SetupError {
    SetupError::new(op, io::Error::from_raw_os_error(code))
}

const EEXIST: i32 = 17;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;
const EPERM: i32 = 1;

impl Routes for RecordingRoutes {
    fn link_up(&self, link: &str, mtu: u16) -> BoxFuture<'_, Result<(), SetupError>> {
        self.lock().ops.push(RouteOp::LinkUp(link.to_owned(), mtu));
        Self::done(Ok(()))
    }

    fn add_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>> {
        let mut m = self.lock();
        m.ops
            .push(RouteOp::AddAddress(link.to_owned(), addr, prefix_len));
        let op = format!("add address {addr}/{prefix_len} dev {link}");
        let r = if m.fail_adds {
            Err(os_error(op, EPERM))
        } else if m.addresses.insert((link.to_owned(), addr, prefix_len)) {
            Ok(())
        } else {
            Err(os_error(op, EEXIST))
        };
        Self::done(r)
    }

    fn del_address(
        &self,
        link: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) -> BoxFuture<'_, Result<(), SetupError>> {
        let mut m = self.lock();
        m.ops
            .push(RouteOp::DelAddress(link.to_owned(), addr, prefix_len));
        let r = if m.addresses.remove(&(link.to_owned(), addr, prefix_len)) {
            Ok(())
        } else {
            Err(os_error(
                format!("delete address {addr}/{prefix_len} dev {link}"),
                EADDRNOTAVAIL,
            ))
        };
        Self::done(r)
    }

    fn route_get(&self, dst: IpAddr) -> BoxFuture<'_, Result<PathTo, SetupError>> {
        self.lock().ops.push(RouteOp::RouteGet(dst));
        let gateway = self.gateway.filter(|g| g.is_ipv4() == dst.is_ipv4());
        Box::pin(async move {
            Ok(PathTo {
                gateway,
                oif: Some(2),
            })
        })
    }

    fn add_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        let text = route.to_string();
        let mut m = self.lock();
        m.ops.push(RouteOp::AddRoute(text.clone()));
        let r = if m.fail_adds {
            Err(os_error(format!("add route {text}"), EPERM))
        } else if m.routes.insert(text.clone()) {
            Ok(())
        } else {
            Err(os_error(format!("add route {text}"), EEXIST))
        };
        Self::done(r)
    }

    fn del_route(&self, route: &Route) -> BoxFuture<'_, Result<(), SetupError>> {
        let text = route.to_string();
        let mut m = self.lock();
        m.ops.push(RouteOp::DelRoute(text.clone()));
        let r = if m.routes.remove(&text) {
            Ok(())
        } else {
            Err(os_error(format!("delete route {text}"), ESRCH))
        };
        Self::done(r)
    }
}

/// `Link` of an interface index, for host routes copied from a lookup.
pub(crate) fn link_of(index: u32) -> Link {
    Link::Index(index)
}
