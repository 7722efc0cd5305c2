//! Applies the negotiated network configuration to the system and undoes it.
//!
//! Every change that succeeds pushes its undo onto a stack; [`NetSetup::restore`]
//! pops and runs them in reverse order. Restoring twice is harmless: the
//! stack is empty the second time. Changes that were already in place
//! (`EEXIST`) are not ours and are not undone.
//!
//! Order matters for a full tunnel: the host route to the server (or proxy)
//! is copied from the current path *before* the `/1` routes take over, so
//! the tunnel's own TLS packets keep leaving the old way.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use sstp_tun::netlink::Route;

use crate::dns::Dns;
use crate::error::SetupError;
use crate::options::{Prefix, RouteMode, TunnelOptions};
use crate::routes::{Routes, link_of};
use crate::slaac::RouterAdvert;

/// The IPv4 side of a call that is up (from sstp-core's `NetConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ipv4Link {
    pub(crate) local: Ipv4Addr,
    pub(crate) peer: Option<Ipv4Addr>,
    pub(crate) dns: Vec<Ipv4Addr>,
    pub(crate) mtu: u16,
    /// The IPv6CP link-local address, if IPv6CP opened first.
    pub(crate) ipv6_local: Option<Ipv6Addr>,
}

/// One thing to undo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    Address(String, IpAddr, u8),
    Route(Route),
    Dns(String),
}

/// What [`NetSetup::apply_ipv4`] did, for the `Up` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Routes added, as `Route` displays.
    pub(crate) routes: Vec<String>,
    /// Where DNS went, if it was applied.
    pub(crate) dns: Option<String>,
    /// What a person should know about it (a DNS server the routes miss).
    pub(crate) warnings: Vec<String>,
}

/// The system side of one tunnel: routes + DNS, with the undo stack.
#[derive(Debug)]
pub(crate) struct NetSetup {
    routes: Arc<dyn Routes>,
    dns: Arc<dyn Dns>,
    undo: Vec<Undo>,
    dns_v4: Vec<IpAddr>,
    dns_v6: Vec<IpAddr>,
    ipv6_default: bool,
}

impl NetSetup {
    pub(crate) fn new(routes: Arc<dyn Routes>, dns: Arc<dyn Dns>) -> Self {
        Self {
            routes,
            dns,
            undo: Vec::new(),
            dns_v4: Vec::new(),
            dns_v6: Vec::new(),
            ipv6_default: false,
        }
    }

    /// Readies the link once, before the first connection.
    pub(crate) async fn prepare(&self, link: &str) -> Result<(), SetupError> {
        self.routes.prepare_link(link).await
    }

    /// Adds an address; `EEXIST` is fine (and not ours to remove).
    async fn address(&mut self, link: &str, addr: IpAddr, len: u8) -> Result<(), SetupError> {
        match self.routes.add_address(link, addr, len).await {
            Ok(()) => {
                self.undo.push(Undo::Address(link.to_owned(), addr, len));
                Ok(())
            }
            Err(e) if e.io_kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds a route; returns whether it is ours.
    async fn route(&mut self, route: Route, added: &mut Vec<String>) -> Result<(), SetupError> {
        match self.routes.add_route(&route).await {
            Ok(()) => {
                added.push(route.to_string());
                self.undo.push(Undo::Route(route));
                Ok(())
            }
            Err(e) if e.io_kind() == io::ErrorKind::AlreadyExists => {
                tracing::debug!(%route, "route already present; leaving it alone");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The call is up: MTU, link up, our address, the peer's host route,
    /// the routes of `options`, DNS. `pin` is the TCP peer (server or
    /// proxy) that must stay reachable outside the tunnel.
    pub(crate) async fn apply_ipv4(
        &mut self,
        link: &str,
        config: &Ipv4Link,
        options: &TunnelOptions,
        pin: Option<IpAddr>,
    ) -> Result<Applied, SetupError> {
        let mut applied = Applied::default();
        self.routes.link_up(link, config.mtu).await?;
        self.address(link, config.local.into(), 32).await?;
        if let Some(peer) = config.peer {
            self.route(Route::host(peer.into()).dev(link), &mut applied.routes)
                .await?;
        }
        match &options.routes {
            RouteMode::Default => {
                if let Some(ip) = pin.filter(|ip| !ip.is_loopback()) {
                    // Copy today's path into a host route. `add`, not
                    // `replace`: a host route already there is what the
                    // lookup returned anyway, and it is not ours to delete
                    // on restore (a replace would make it look ours).
                    let path = self.routes.route_get(ip).await?;
                    let mut host = Route::host(ip);
                    if let Some(gw) = path.gateway {
                        host = host.via(gw);
                    }
                    if let Some(oif) = path.oif {
                        host = host.dev(link_of(oif));
                    }
                    self.route(host, &mut applied.routes).await?;
                }
                for half in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(128, 0, 0, 0)] {
                    self.route(Route::new(half.into(), 1).dev(link), &mut applied.routes)
                        .await?;
                }
            }
            RouteMode::Split(prefixes) => {
                for p in prefixes.iter().filter(|p| p.addr().is_ipv4()) {
                    self.route(Route::new(p.addr(), p.len()).dev(link), &mut applied.routes)
                        .await?;
                }
            }
            RouteMode::None => {}
        }
        if let Some(v6) = config.ipv6_local {
            applied
                .routes
                .extend(self.apply_ipv6_link(link, v6, options).await?);
        }
        if options.dns && !config.dns.is_empty() {
            for &server in &config.dns {
                let peer = config.peer.and_then(|p| Prefix::new(p.into(), 32));
                let reached = peer.as_slice();
                if let Some(warning) = unrouted_dns(server.into(), reached, &options.routes) {
                    // A person reads it in the `Up` event.
                    tracing::info!("{warning}");
                    applied.warnings.push(warning);
                }
            }
            self.dns_v4 = config.dns.iter().map(|a| IpAddr::V4(*a)).collect();
            applied.dns = Some(self.apply_dns(link, options).await?);
        }
        Ok(applied)
    }

    async fn apply_dns(
        &mut self,
        link: &str,
        options: &TunnelOptions,
    ) -> Result<String, SetupError> {
        let servers: Vec<IpAddr> = self.dns_v4.iter().chain(&self.dns_v6).copied().collect();
        let default_route = options.routes == RouteMode::Default;
        let where_ = self.dns.apply(link, &servers, default_route).await?;
        if !self.undo.contains(&Undo::Dns(link.to_owned())) {
            self.undo.push(Undo::Dns(link.to_owned()));
        }
        Ok(where_)
    }

    /// IPv6CP is open: the link-local address, and split IPv6 routes.
    /// `IPV6_MIN_MTU` is the caller's to check: the kernel refuses IPv6
    /// addresses on a smaller link.
    pub(crate) async fn apply_ipv6_link(
        &mut self,
        link: &str,
        local: Ipv6Addr,
        options: &TunnelOptions,
    ) -> Result<Vec<String>, SetupError> {
        let mut added = Vec::new();
        self.address(link, local.into(), 64).await?;
        if let RouteMode::Split(prefixes) = &options.routes {
            for p in prefixes.iter().filter(|p| p.addr().is_ipv6()) {
                self.route(Route::new(p.addr(), p.len()).dev(link), &mut added)
                    .await?;
            }
        }
        Ok(added)
    }

    /// A Router Advertisement gave us `address`: add it (a /64, which also
    /// gives the on-link prefix route), take the IPv6 default routes for a
    /// full tunnel when the server is a default router, and add its RDNSS
    /// servers to DNS.
    pub(crate) async fn apply_ipv6_global(
        &mut self,
        link: &str,
        address: Ipv6Addr,
        ra: &RouterAdvert,
        options: &TunnelOptions,
    ) -> Result<Vec<String>, SetupError> {
        let mut added = Vec::new();
        self.address(link, address.into(), 64).await?;
        if options.routes == RouteMode::Default && ra.router_lifetime > 0 && !self.ipv6_default {
            self.ipv6_default = true;
            for half in [
                Ipv6Addr::UNSPECIFIED,
                Ipv6Addr::new(0x8000, 0, 0, 0, 0, 0, 0, 0),
            ] {
                self.route(Route::new(half.into(), 1).dev(link), &mut added)
                    .await?;
            }
        }
        let v6: Vec<IpAddr> = ra.dns.iter().map(|a| IpAddr::V6(*a)).collect();
        if options.dns && !v6.is_empty() && v6 != self.dns_v6 {
            // The /64 just added is on link, through the tunnel.
            let on_link = Prefix::new(address.into(), 64);
            for &server in &v6 {
                if let Some(warning) = unrouted_dns(server, on_link.as_slice(), &options.routes) {
                    tracing::warn!("{warning}");
                }
            }
            self.dns_v6 = v6;
            self.apply_dns(link, options).await?;
        }
        Ok(added)
    }

    /// Undoes everything, newest first. Failures are logged and skipped (the
    /// rest must still be undone); calling again does nothing.
    pub(crate) async fn restore(&mut self) {
        while let Some(undo) = self.undo.pop() {
            let result = match &undo {
                Undo::Address(link, addr, len) => self.routes.del_address(link, *addr, *len).await,
                Undo::Route(route) => self.routes.del_route(route).await,
                Undo::Dns(link) => self.dns.revert(link).await,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not undo a network change");
            }
        }
        self.dns_v4.clear();
        self.dns_v6.clear();
        self.ipv6_default = false;
    }

    /// Whether anything is applied.
    #[cfg(test)]
    pub(crate) fn is_clean(&self) -> bool {
        self.undo.is_empty()
    }
}

/// With split routes (or none), a pushed DNS server (IPCP, RFC 1877; or
/// RDNSS in a Router Advertisement, RFC 8106) that no tunnel route covers is
/// reached outside the tunnel, so the names looked up leak to the local
/// network, or fail if it is a private address: say so, with the route that
/// fixes it. `reached` is what the tunnel reaches besides the route mode's
/// prefixes (the peer's host route, an on-link /64). `None` when it goes
/// through the tunnel.
fn unrouted_dns(server: IpAddr, reached: &[Prefix], routes: &RouteMode) -> Option<String> {
    if reached.iter().any(|p| p.contains(server)) {
        return None;
    }
    let why = match routes {
        RouteMode::Default => return None,
        RouteMode::Split(prefixes) => {
            if prefixes.iter().any(|p| p.contains(server)) {
                return None;
            }
            "is outside the split routes"
        }
        RouteMode::None => "has no route through the tunnel (no routes are added)",
    };
    let host = if server.is_ipv4() { 32 } else { 128 };
    Some(format!(
        "the DNS server {server} the server pushed {why}, so lookups to it do not go through the tunnel: add --route {server}/{host}, or --no-dns to keep the local resolvers"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordingDns;
    use crate::routes::{RecordingRoutes, RouteOp};

    fn net_config() -> Ipv4Link {
        Ipv4Link {
            local: Ipv4Addr::new(10, 0, 0, 2),
            peer: Some(Ipv4Addr::new(10, 0, 0, 1)),
            dns: vec![Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 0, 54)],
            mtu: 1400,
            ipv6_local: None,
        }
    }

    #[tokio::test]
    async fn full_tunnel_is_applied_and_restored_idempotently() {
        let routes = RecordingRoutes::new(Some(Ipv4Addr::new(192, 168, 1, 1).into()));
        let dns = RecordingDns::new();
        let mut setup = NetSetup::new(Arc::new(routes.clone()), Arc::new(dns.clone()));
        let server: IpAddr = Ipv4Addr::new(203, 0, 113, 7).into();
        let applied = setup
            .apply_ipv4(
                "sstp0",
                &net_config(),
                &TunnelOptions::default(),
                Some(server),
            )
            .await
            .unwrap();
        assert_eq!(
            applied.routes,
            [
                "10.0.0.1/32 dev sstp0",
                "203.0.113.7/32 via 192.168.1.1 dev #2",
                "0.0.0.0/1 dev sstp0",
                "128.0.0.0/1 dev sstp0",
            ]
        );
        assert_eq!(applied.dns.as_deref(), Some("recording"));
        assert_eq!(routes.addresses(), ["sstp0 10.0.0.2/32"]);
        // The host route was looked up before the /1 routes went in.
        let ops = routes.ops();
        let get = ops
            .iter()
            .position(|o| *o == RouteOp::RouteGet(server))
            .unwrap();
        let half = ops
            .iter()
            .position(|o| *o == RouteOp::AddRoute("0.0.0.0/1 dev sstp0".into()))
            .unwrap();
        assert!(get < half, "{ops:?}");
        let state = dns.current().unwrap();
        assert!(state.default_route);
        assert_eq!(state.servers.len(), 2);

        setup.restore().await;
        assert!(routes.addresses().is_empty());
        assert!(routes.routes().is_empty());
        assert_eq!(dns.current(), None);
        let calls = routes.ops().len();
        setup.restore().await;
        assert_eq!(
            routes.ops().len(),
            calls,
            "a second restore touched the system"
        );
        assert_eq!(dns.calls(), (1, 1));
        assert!(setup.is_clean());
    }

    #[tokio::test]
    async fn split_routes_and_no_dns() {
        let routes = RecordingRoutes::new(None);
        let dns = RecordingDns::new();
        let mut setup = NetSetup::new(Arc::new(routes.clone()), Arc::new(dns.clone()));
        let options = TunnelOptions {
            routes: RouteMode::Split(vec![
                "172.16.0.0/12".parse::<Prefix>().unwrap(),
                "2001:db8:9::/48".parse().unwrap(),
            ]),
            dns: false,
            ..TunnelOptions::default()
        };
        let applied = setup
            .apply_ipv4(
                "sstp0",
                &net_config(),
                &options,
                Some(Ipv4Addr::new(198, 51, 100, 1).into()),
            )
            .await
            .unwrap();
        assert_eq!(
            applied.routes,
            ["10.0.0.1/32 dev sstp0", "172.16.0.0/12 dev sstp0"]
        );
        assert!(
            !routes
                .ops()
                .iter()
                .any(|o| matches!(o, RouteOp::RouteGet(_)))
        );
        assert_eq!(dns.calls(), (0, 0));
        assert!(applied.warnings.is_empty(), "{:?}", applied.warnings);
        setup.restore().await;
        assert!(routes.routes().is_empty());
    }

    #[tokio::test]
    async fn a_dns_server_outside_the_split_routes_is_pointed_out() {
        let split = |p: &[&str]| TunnelOptions {
            routes: RouteMode::Split(p.iter().map(|p| p.parse::<Prefix>().unwrap()).collect()),
            ..TunnelOptions::default()
        };
        let warnings = |options: TunnelOptions| async move {
            let mut setup = NetSetup::new(
                Arc::new(RecordingRoutes::new(None)),
                Arc::new(RecordingDns::new()),
            );
            let applied = setup
                .apply_ipv4("sstp0", &net_config(), &options, None)
                .await
                .unwrap();
            assert_eq!(applied.dns.as_deref(), Some("recording"));
            applied.warnings
        };
        // 10.0.0.53 and 10.0.0.54 are pushed; only 172.16.0.0/12 is routed.
        let found = warnings(split(&["172.16.0.0/12"])).await;
        assert_eq!(
            found,
            [
                "the DNS server 10.0.0.53 the server pushed is outside the split routes, so lookups to it do not go through the tunnel: add --route 10.0.0.53/32, or --no-dns to keep the local resolvers",
                "the DNS server 10.0.0.54 the server pushed is outside the split routes, so lookups to it do not go through the tunnel: add --route 10.0.0.54/32, or --no-dns to keep the local resolvers",
            ]
        );
        let found = warnings(TunnelOptions {
            routes: RouteMode::None,
            ..TunnelOptions::default()
        })
        .await;
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("has no route through the tunnel"),
            "{found:?}"
        );
        // Covered by a split route, or a full tunnel: nothing to say.
        assert!(warnings(split(&["10.0.0.0/24"])).await.is_empty());
        assert!(warnings(TunnelOptions::default()).await.is_empty());
        // An RDNSS server (RFC 8106) in the advertised /64 is on link; one
        // elsewhere is not.
        let on_link = Prefix::new("2001:db8:7::abcd".parse().unwrap(), 64);
        let routes = RouteMode::Split(vec!["172.16.0.0/12".parse().unwrap()]);
        let inside = "2001:db8:7::53".parse().unwrap();
        assert_eq!(unrouted_dns(inside, on_link.as_slice(), &routes), None);
        let outside = "2001:db8:99::53".parse().unwrap();
        let warning = unrouted_dns(outside, on_link.as_slice(), &routes).unwrap();
        assert!(
            warning.contains("add --route 2001:db8:99::53/128"),
            "{warning}"
        );
    }

    #[tokio::test]
    async fn routes_already_present_are_left_alone() {
        let routes = RecordingRoutes::new(None);
        routes
            .add_route(&Route::new(Ipv4Addr::new(0, 0, 0, 0).into(), 1).dev("sstp0"))
            .await
            .unwrap();
        let mut setup = NetSetup::new(Arc::new(routes.clone()), Arc::new(RecordingDns::new()));
        setup
            .apply_ipv4("sstp0", &net_config(), &TunnelOptions::default(), None)
            .await
            .unwrap();
        setup.restore().await;
        assert_eq!(routes.routes(), ["0.0.0.0/1 dev sstp0"]);
    }

    #[tokio::test]
    async fn a_failed_setup_still_restores_what_went_in() {
        let routes = RecordingRoutes::new(None);
        let mut setup = NetSetup::new(Arc::new(routes.clone()), Arc::new(RecordingDns::new()));
        setup
            .address("sstp0", Ipv4Addr::new(10, 9, 9, 9).into(), 32)
            .await
            .unwrap();
        routes.fail_adds(true);
        let err = setup
            .apply_ipv4("sstp0", &net_config(), &TunnelOptions::default(), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("add address"), "{err}");
        setup.restore().await;
        assert!(routes.addresses().is_empty());
    }
}
