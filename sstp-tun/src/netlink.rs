//! The few rtnetlink calls the drivers need: addresses, link state and MTU, routes, route lookup.
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use sstp_tun::netlink::{Netlink, Route};
//!
//! # async fn example() -> Result<(), sstp_tun::netlink::NetlinkError> {
//! let nl = Netlink::new()?;
//! let server: IpAddr = Ipv4Addr::new(192, 0, 2, 10).into();
//! // Client: keep reaching the server through the old gateway once the tunnel takes the default.
//! let pinned = nl.route_get(server).await?.host_route();
//! nl.replace_route(&pinned).await?;
//! nl.add_address("sstp0", Ipv4Addr::new(10, 0, 0, 2).into(), 32).await?;
//! nl.set_link_up("sstp0").await?;
//! nl.add_route(&Route::new(Ipv4Addr::UNSPECIFIED.into(), 0).dev("sstp0")).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every call talks to the network namespace the [`Netlink`] was created in.

use std::fmt;
use std::io;
use std::net::IpAddr;

use futures_util::TryStreamExt;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope,
};
use rtnetlink::packet_route::{AddressFamily, address::AddressAttribute};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};
use tokio::task::JoinHandle;

/// A network interface, by name or by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// Interface name, e.g. `sstp0`.
    Name(String),
    /// Interface index.
    Index(u32),
}

impl From<&str> for Link {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for Link {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<&String> for Link {
    fn from(name: &String) -> Self {
        Self::Name(name.clone())
    }
}

impl From<u32> for Link {
    fn from(index: u32) -> Self {
        Self::Index(index)
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Index(index) => write!(f, "#{index}"),
        }
    }
}

/// A route in the main table: destination prefix, and a gateway, an interface, or both.
///
/// ```
/// use std::net::Ipv6Addr;
/// use sstp_tun::netlink::Route;
///
/// let r = Route::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0).into(), 32).dev("sstp0").metric(50);
/// assert_eq!(r.to_string(), "2001:db8::/32 dev sstp0 metric 50");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Route {
    /// Destination network address.
    pub dst: IpAddr,
    /// Destination prefix length (0 for a default route).
    pub prefix_len: u8,
    /// Next hop, of the destination's family.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface.
    pub dev: Option<Link>,
    /// Route metric (priority); lower wins.
    pub metric: Option<u32>,
}

impl Route {
    /// A route to `dst/prefix_len` with neither gateway nor interface yet.
    pub fn new(dst: IpAddr, prefix_len: u8) -> Self {
        Self {
            dst,
            prefix_len,
            gateway: None,
            dev: None,
            metric: None,
        }
    }

    /// A host route: `/32` or `/128`.
    pub fn host(dst: IpAddr) -> Self {
        Self::new(dst, max_prefix(dst))
    }

    /// Through gateway `gateway`.
    pub fn via(mut self, gateway: IpAddr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Out of interface `dev`.
    pub fn dev(mut self, dev: impl Into<Link>) -> Self {
        self.dev = Some(dev.into());
        self
    }

    /// With metric `metric`.
    pub fn metric(mut self, metric: u32) -> Self {
        self.metric = Some(metric);
        self
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix_len)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

/// What the kernel answers for "how would a packet to `dst` leave" (`ip route get`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteLookup {
    /// The destination asked about.
    pub dst: IpAddr,
    /// Next hop, if the destination is not on link.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface index.
    pub oif: Option<u32>,
    /// Source address the kernel would pick.
    pub pref_src: Option<IpAddr>,
}

impl RouteLookup {
    /// A host route to the looked-up destination through the same gateway and interface: what a
    /// client installs to keep reaching its server once the tunnel takes over the default route.
    pub fn host_route(&self) -> Route {
        Route {
            gateway: self.gateway,
            dev: self.oif.map(Link::Index),
            ..Route::host(self.dst)
        }
    }
}

/// A failed netlink call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetlinkError {
    /// The rtnetlink socket could not be opened.
    #[error("cannot open an rtnetlink socket")]
    Socket(#[source] io::Error),
    /// No interface has that name or index.
    #[error("no network interface {0}")]
    NoSuchLink(Link),
    /// The request makes no sense (e.g. a prefix longer than the address).
    #[error("invalid netlink request: {0}")]
    Invalid(String),
    /// The kernel refused the request or the exchange failed.
    #[error("{op} failed")]
    Request {
        /// What was asked, e.g. `add route 10.0.0.0/8 dev sstp0`.
        op: String,
        /// The kernel's errno as an `io::Error`, or another failure.
        #[source]
        source: io::Error,
    },
}

impl NetlinkError {
    /// The kind of the underlying error: for example `AlreadyExists` for an address or route that
    /// is already there (`EEXIST`), `NotFound` for a missing link.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Self::Socket(e) | Self::Request { source: e, .. } => e.kind(),
            Self::NoSuchLink(_) => io::ErrorKind::NotFound,
            Self::Invalid(_) => io::ErrorKind::InvalidInput,
        }
    }

    /// The kernel's errno, if the kernel refused the request.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Socket(e) | Self::Request { source: e, .. } => e.raw_os_error(),
            Self::NoSuchLink(_) | Self::Invalid(_) => None,
        }
    }
}

impl From<NetlinkError> for io::Error {
    fn from(e: NetlinkError) -> Self {
        Self::new(e.kind(), e)
    }
}

/// An rtnetlink connection in the network namespace of the thread that made it.
///
/// Its connection task runs on the tokio runtime of [`Netlink::new`] and stops when the
/// `Netlink` is dropped.
pub struct Netlink {
    handle: Handle,
    task: JoinHandle<()>,
}

impl Netlink {
    /// Opens an rtnetlink socket; must be called inside a tokio runtime.
    pub fn new() -> Result<Self, NetlinkError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NetlinkError::Socket(io::Error::other(
                "Netlink must be made inside a tokio runtime",
            )));
        }
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Socket)?;
        let task = tokio::spawn(conn);
        Ok(Self { handle, task })
    }

    /// Index of the interface named `name`.
    pub async fn link_index(&self, name: &str) -> Result<u32, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(NetlinkError::NoSuchLink(name.into())),
            Err(e) => Err(request_error(
                format!("get link {name}"),
                e,
                Some(Link::from(name)),
            )),
        }
    }

    /// Sets the interface up.
    pub async fn set_link_up(&self, link: impl Into<Link>) -> Result<(), NetlinkError> {
        let link = link.into();
        let index = self.resolve(&link).await?;
        let msg = LinkUnspec::new_with_index(index).up().build();
        let op = || format!("set link {link} up");
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| request_error(op(), e, Some(link.clone())))
    }

    /// Sets the interface down.
    pub async fn set_link_down(&self, link: impl Into<Link>) -> Result<(), NetlinkError> {
        let link = link.into();
        let index = self.resolve(&link).await?;
        let msg = LinkUnspec::new_with_index(index).down().build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| request_error(format!("set link {link} down"), e, Some(link.clone())))
    }

    /// Sets the interface MTU. For a [`LinuxTun`](crate::LinuxTun), prefer its `set_mtu`, which
    /// also updates the MTU the device reports.
    pub async fn set_mtu(&self, link: impl Into<Link>, mtu: u32) -> Result<(), NetlinkError> {
        let link = link.into();
        let index = self.resolve(&link).await?;
        let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| request_error(format!("set link {link} mtu {mtu}"), e, Some(link.clone())))
    }

    /// Adds `addr/prefix_len` to the interface (IPv4 or IPv6). An address that is already there
    /// fails with kind [`AlreadyExists`](io::ErrorKind::AlreadyExists).
    pub async fn add_address(
        &self,
        link: impl Into<Link>,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        check_prefix(addr, prefix_len)?;
        let link = link.into();
        let index = self.resolve(&link).await?;
        self.handle
            .address()
            .add(index, addr, prefix_len)
            .execute()
            .await
            .map_err(|e| {
                request_error(
                    format!("add address {addr}/{prefix_len} dev {link}"),
                    e,
                    None,
                )
            })
    }

    /// Removes `addr/prefix_len` from the interface. A missing address fails with
    /// [`NetlinkError::Request`] (`EADDRNOTAVAIL`).
    pub async fn del_address(
        &self,
        link: impl Into<Link>,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        check_prefix(addr, prefix_len)?;
        let link = link.into();
        let index = self.resolve(&link).await?;
        let op = || format!("delete address {addr}/{prefix_len} dev {link}");
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(addr)
            .set_prefix_length_filter(prefix_len)
            .execute();
        let mut found = None;
        while let Some(msg) = addrs
            .try_next()
            .await
            .map_err(|e| request_error(op(), e, None))?
        {
            let matches = msg.attributes.iter().any(|a| match a {
                AddressAttribute::Address(a) | AddressAttribute::Local(a) => *a == addr,
                _ => false,
            });
            if matches {
                found = Some(msg);
                break;
            }
        }
        let Some(msg) = found else {
            return Err(NetlinkError::Request {
                op: op(),
                source: io::Error::from_raw_os_error(EADDRNOTAVAIL),
            });
        };
        self.handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(|e| request_error(op(), e, None))
    }

    /// Adds a route to the main table. A route that is already there fails with kind
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists); see [`replace_route`](Self::replace_route).
    pub async fn add_route(&self, route: &Route) -> Result<(), NetlinkError> {
        let msg = self.route_message(route, RouteOp::Add).await?;
        self.handle
            .route()
            .add(msg)
            .execute()
            .await
            .map_err(|e| request_error(format!("add route {route}"), e, None))
    }

    /// Adds a route, or replaces the one with the same destination and metric.
    pub async fn replace_route(&self, route: &Route) -> Result<(), NetlinkError> {
        let msg = self.route_message(route, RouteOp::Add).await?;
        self.handle
            .route()
            .add(msg)
            .replace()
            .execute()
            .await
            .map_err(|e| request_error(format!("replace route {route}"), e, None))
    }

    /// Deletes a route from the main table. Gateway, interface and metric, when given, must match.
    /// A missing route fails with [`NetlinkError::Request`] (`ESRCH`).
    pub async fn del_route(&self, route: &Route) -> Result<(), NetlinkError> {
        let msg = self.route_message(route, RouteOp::Del).await?;
        self.handle
            .route()
            .del(msg)
            .execute()
            .await
            .map_err(|e| request_error(format!("delete route {route}"), e, None))
    }

    /// Asks the kernel how a packet to `dst` would leave (`ip route get`). No route fails with
    /// [`NetlinkError::Request`] (`ENETUNREACH`).
    pub async fn route_get(&self, dst: IpAddr) -> Result<RouteLookup, NetlinkError> {
        let op = || format!("get route to {dst}");
        let msg = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(dst, max_prefix(dst))
            .map_err(|e| NetlinkError::Invalid(e.to_string()))?
            .build();
        let mut replies = self.handle.route().get(msg).execute();
        let reply = replies
            .try_next()
            .await
            .map_err(|e| request_error(op(), e, None))?
            .ok_or_else(|| NetlinkError::Request {
                op: op(),
                source: io::Error::new(io::ErrorKind::NotFound, "no answer from the kernel"),
            })?;
        let mut lookup = RouteLookup {
            dst,
            gateway: None,
            oif: None,
            pref_src: None,
        };
        for attr in &reply.attributes {
            match attr {
                RouteAttribute::Gateway(a) => lookup.gateway = route_ip(a),
                RouteAttribute::Oif(index) => lookup.oif = Some(*index),
                RouteAttribute::PrefSource(a) => lookup.pref_src = route_ip(a),
                _ => {}
            }
        }
        Ok(lookup)
    }

    async fn resolve(&self, link: &Link) -> Result<u32, NetlinkError> {
        match link {
            Link::Index(index) => Ok(*index),
            Link::Name(name) => self.link_index(name).await,
        }
    }

    async fn route_message(
        &self,
        route: &Route,
        op: RouteOp,
    ) -> Result<RouteMessage, NetlinkError> {
        check_prefix(route.dst, route.prefix_len)?;
        if route.gateway.is_none() && route.dev.is_none() && op == RouteOp::Add {
            return Err(NetlinkError::Invalid(format!(
                "{route}: needs a gateway or a device"
            )));
        }
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(route.dst, route.prefix_len)
            .map_err(|e| invalid(route, e))?;
        if let Some(gw) = route.gateway {
            if gw.is_ipv4() != route.dst.is_ipv4() {
                return Err(NetlinkError::Invalid(format!(
                    "{route}: gateway and destination are of different families"
                )));
            }
            builder = builder.gateway(gw).map_err(|e| invalid(route, e))?;
        }
        if let Some(dev) = &route.dev {
            builder = builder.output_interface(self.resolve(dev).await?);
        }
        if let Some(metric) = route.metric {
            builder = builder.priority(metric);
        }
        let mut msg = builder.build();
        match op {
            // As `ip route add`: a route without a gateway is on link.
            RouteOp::Add if route.gateway.is_none() && route.dst.is_ipv4() => {
                msg.header.scope = RouteScope::Link;
            }
            RouteOp::Add => {}
            // As `ip route del`: match any scope and any protocol.
            RouteOp::Del => {
                msg.header.scope = RouteScope::NoWhere;
                msg.header.protocol = RouteProtocol::Unspec;
            }
        }
        debug_assert!(matches!(
            msg.header.address_family,
            AddressFamily::Inet | AddressFamily::Inet6
        ));
        Ok(msg)
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for Netlink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netlink").finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RouteOp {
    Add,
    Del,
}

const EADDRNOTAVAIL: i32 = 99;
const ENODEV: i32 = 19;

fn invalid(route: &Route, e: impl fmt::Display) -> NetlinkError {
    NetlinkError::Invalid(format!("{route}: {e}"))
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<(), NetlinkError> {
    if prefix_len > max_prefix(addr) {
        return Err(NetlinkError::Invalid(format!(
            "prefix length {prefix_len} too long for {addr}"
        )));
    }
    Ok(())
}

fn route_ip(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(a) => Some((*a).into()),
        RouteAddress::Inet6(a) => Some((*a).into()),
        _ => None,
    }
}

/// Turns an rtnetlink error into a `NetlinkError`: the kernel's errno becomes an `io::Error` with
/// that code; `ENODEV` about `link` becomes `NoSuchLink`.
fn request_error(op: String, e: rtnetlink::Error, link: Option<Link>) -> NetlinkError {
    let source = match e {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io(),
        other => io::Error::other(other.to_string()),
    };
    match link {
        Some(link) if source.raw_os_error() == Some(ENODEV) => NetlinkError::NoSuchLink(link),
        _ => NetlinkError::Request { op, source },
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn route_display_and_host_route() {
        let gw = IpAddr::from(Ipv4Addr::new(192, 0, 2, 1));
        let r = Route::new(Ipv4Addr::new(198, 51, 100, 0).into(), 24)
            .via(gw)
            .dev(7)
            .metric(5);
        assert_eq!(
            r.to_string(),
            "198.51.100.0/24 via 192.0.2.1 dev #7 metric 5"
        );
        let lookup = RouteLookup {
            dst: Ipv6Addr::LOCALHOST.into(),
            gateway: None,
            oif: Some(3),
            pref_src: None,
        };
        let host = lookup.host_route();
        assert_eq!(host.prefix_len, 128);
        assert_eq!(host.dev, Some(Link::Index(3)));
        assert_eq!(host.to_string(), "::1/128 dev #3");
    }

    #[test]
    fn errors_keep_the_kind() {
        let e = NetlinkError::Request {
            op: "add route".into(),
            source: io::Error::from_raw_os_error(17),
        };
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(e.raw_os_error(), Some(17));
        assert_eq!(e.to_string(), "add route failed");
        let io: io::Error = NetlinkError::NoSuchLink("sstp9".into()).into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert_eq!(io.to_string(), "no network interface sstp9");
        assert!(check_prefix(Ipv4Addr::LOCALHOST.into(), 33).is_err());
        assert!(check_prefix(Ipv6Addr::LOCALHOST.into(), 128).is_ok());
    }
}
