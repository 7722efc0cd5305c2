//! The data plane's fan-out: one task reads the shared TUN device and hands
//! each packet to the session that owns its destination, through that
//! session's bounded queue.
//!
//! - IPv4 routes are host routes (the client's address) and the networks
//!   behind a client (RADIUS Framed-Route), looked up by longest prefix
//!   only when no host route matches; IPv6 routes are the session's /64
//!   (the prefix announced by `crate::ra`).
//! - A full queue drops the packet and counts it, as a router does: a slow
//!   client never makes the reader wait, so it never slows the others.
//! - Writing to the TUN needs no router: every session writes its own
//!   batches to the shared device (`TunDevice` methods take `&self`).
//!
//! Packets cross tasks as [`Bytes`] carved out of one arena per reader
//! ([`ARENA`] bytes at a time), so the reader allocates once per arena, not
//! once per packet.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};

use bytes::{Bytes, BytesMut};
use ipnet::{Ipv4Net, Ipv6Net};
use sstp_tun::{IDEAL_BATCH_SIZE, RecvBatch, TunDevice};
use tokio::sync::mpsc;

use crate::metrics::{DropReason, Metrics};

/// Bytes the reader reserves at once for the packets it hands out. Each
/// new block is an allocation and a reference-count setup; with 16 KiB
/// blocks (eleven packets) that was over a tenth of the server's CPU in a
/// download (perf, BENCHMARKS.md). A session's queue that never drains pins
/// the blocks its packets sit in, at most `session_queue` of them.
const ARENA: usize = 64 * 1024;

/// The sending end of one session's queue.
pub(crate) type PacketTx = mpsc::Sender<Bytes>;

#[derive(Debug, Clone)]
struct Route {
    session: u64,
    tx: PacketTx,
}

/// Destination address → session queue.
#[derive(Debug, Default)]
pub(crate) struct Router {
    v4: RwLock<HashMap<Ipv4Addr, Route>>,
    /// Keyed by the upper 64 bits of the address.
    v6: RwLock<HashMap<u64, Route>>,
    /// Networks behind clients, most specific first.
    nets: RwLock<Vec<(Ipv4Net, Route)>>,
}

/// What became of a packet handed to [`Router::deliver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// In the session's queue.
    Queued,
    /// The session's queue was full (or it just ended): dropped.
    Full,
    /// No session has that address: dropped.
    NoRoute,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    V4(Ipv4Addr),
    V6(u64),
    Net(Ipv4Net),
}

/// Removes a route when the session that added it ends.
#[derive(Debug)]
pub(crate) struct RouteGuard {
    router: Arc<Router>,
    key: Key,
    session: u64,
}

impl Router {
    /// Routes `addr` to session `session`.
    pub(crate) fn add_v4(
        self: &Arc<Self>,
        addr: Ipv4Addr,
        session: u64,
        tx: PacketTx,
    ) -> RouteGuard {
        write(&self.v4).insert(addr, Route { session, tx });
        RouteGuard {
            router: Arc::clone(self),
            key: Key::V4(addr),
            session,
        }
    }

    /// Routes the /64 `prefix` to session `session`.
    pub(crate) fn add_v6(
        self: &Arc<Self>,
        prefix: Ipv6Net,
        session: u64,
        tx: PacketTx,
    ) -> RouteGuard {
        let key = upper64(prefix.network());
        write(&self.v6).insert(key, Route { session, tx });
        RouteGuard {
            router: Arc::clone(self),
            key: Key::V6(key),
            session,
        }
    }

    /// Routes the network `net` (behind the client) to session `session`.
    pub(crate) fn add_v4_net(
        self: &Arc<Self>,
        net: Ipv4Net,
        session: u64,
        tx: PacketTx,
    ) -> RouteGuard {
        let mut nets = write(&self.nets);
        nets.retain(|(n, _)| *n != net);
        nets.push((net, Route { session, tx }));
        nets.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        RouteGuard {
            router: Arc::clone(self),
            key: Key::Net(net),
            session,
        }
    }

    /// Whether a session has `dst`.
    #[cfg(test)]
    pub(crate) fn has_route(&self, dst: IpAddr) -> bool {
        match dst {
            IpAddr::V4(a) => {
                read(&self.v4).contains_key(&a)
                    || read(&self.nets).iter().any(|(n, _)| n.contains(&a))
            }
            IpAddr::V6(a) => read(&self.v6).contains_key(&upper64(a)),
        }
    }

    /// Puts `packet` in the queue of the session that has `dst`, without
    /// waiting.
    pub(crate) fn deliver(&self, dst: IpAddr, packet: Bytes) -> Delivery {
        let sent = match dst {
            IpAddr::V4(a) => match read(&self.v4).get(&a) {
                Some(r) => Some(r.tx.try_send(packet)),
                // A miss is rare (no session has it); only then the
                // networks behind clients, most specific first.
                None => read(&self.nets)
                    .iter()
                    .find(|(n, _)| n.contains(&a))
                    .map(|(_, r)| r.tx.try_send(packet)),
            },
            IpAddr::V6(a) => read(&self.v6)
                .get(&upper64(a))
                .map(|r| r.tx.try_send(packet)),
        };
        match sent {
            None => Delivery::NoRoute,
            Some(Ok(())) => Delivery::Queued,
            Some(Err(_)) => Delivery::Full,
        }
    }

    /// Number of routes (IPv4, IPv6).
    pub(crate) fn len(&self) -> (usize, usize) {
        (read(&self.v4).len(), read(&self.v6).len())
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        // Only our own route: never one a later session installed.
        match self.key {
            Key::V4(a) => {
                let mut map = write(&self.router.v4);
                if map.get(&a).is_some_and(|r| r.session == self.session) {
                    map.remove(&a);
                }
            }
            Key::V6(k) => {
                let mut map = write(&self.router.v6);
                if map.get(&k).is_some_and(|r| r.session == self.session) {
                    map.remove(&k);
                }
            }
            Key::Net(net) => {
                write(&self.router.nets).retain(|(n, r)| !(*n == net && r.session == self.session));
            }
        }
    }
}

// The maps hold no invariant a panic could break half-way, so a poisoned
// lock is used as is.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn upper64(addr: Ipv6Addr) -> u64 {
    (u128::from(addr) >> 64) as u64
}

/// The source and destination of an IP packet; `None` if it is neither a
/// whole IPv4 header nor a whole IPv6 header.
pub(crate) fn addresses(packet: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match packet.first()? >> 4 {
        4 => {
            let h = packet.get(..20)?;
            let src: [u8; 4] = h[12..16].try_into().ok()?;
            let dst: [u8; 4] = h[16..20].try_into().ok()?;
            Some((IpAddr::from(src), IpAddr::from(dst)))
        }
        6 => {
            let h = packet.get(..40)?;
            let src: [u8; 16] = h[8..24].try_into().ok()?;
            let dst: [u8; 16] = h[24..40].try_into().ok()?;
            Some((IpAddr::from(src), IpAddr::from(dst)))
        }
        _ => None,
    }
}

/// Reads the TUN device until it fails, routing every packet. Returns the
/// device's error (the device is gone: the server cannot carry traffic).
pub(crate) async fn run_tun_reader<D: TunDevice>(
    tun: Arc<D>,
    router: Arc<Router>,
    metrics: Arc<Metrics>,
) -> io::Error {
    let mtu = usize::from(tun.mtu());
    let mut batch = RecvBatch::new(IDEAL_BATCH_SIZE, mtu, 0);
    let mut arena = BytesMut::with_capacity(ARENA);
    loop {
        if let Err(e) = tun.recv_batch(&mut batch).await {
            return e;
        }
        for packet in batch.iter() {
            let Some((_, dst)) = addresses(packet) else {
                metrics.count_drop(DropReason::Invalid, 1);
                continue;
            };
            if arena.capacity() < packet.len() {
                // The old block stays alive only as long as packets in it
                // wait in some queue.
                arena.reserve(ARENA.max(packet.len()));
            }
            arena.extend_from_slice(packet);
            let bytes = arena.split().freeze();
            match router.deliver(dst, bytes) {
                Delivery::Queued => {}
                Delivery::Full => metrics.count_drop(DropReason::QueueFull, 1),
                Delivery::NoRoute => metrics.count_drop(DropReason::NoRoute, 1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_packet(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p
    }

    #[test]
    fn networks_behind_clients_go_by_longest_prefix_after_host_routes() {
        let router = Arc::new(Router::default());
        let (wide_tx, mut wide) = mpsc::channel(8);
        let (narrow_tx, mut narrow) = mpsc::channel(8);
        let (host_tx, mut host) = mpsc::channel(8);
        let net = |s: &str| s.parse::<Ipv4Net>().expect("net");
        let g_wide = router.add_v4_net(net("192.168.0.0/16"), 1, wide_tx);
        let g_narrow = router.add_v4_net(net("192.168.77.0/24"), 2, narrow_tx);
        let _g_host = router.add_v4(Ipv4Addr::new(192, 168, 77, 9), 3, host_tx);
        let to = |a: [u8; 4]| router.deliver(IpAddr::from(a), Bytes::from_static(b"p"));
        assert_eq!(to([192, 168, 77, 9]), Delivery::Queued);
        assert!(host.try_recv().is_ok(), "the host route wins");
        assert_eq!(to([192, 168, 77, 5]), Delivery::Queued);
        assert!(narrow.try_recv().is_ok(), "the /24 before the /16");
        assert_eq!(to([192, 168, 5, 5]), Delivery::Queued);
        assert!(wide.try_recv().is_ok());
        assert_eq!(to([10, 0, 0, 1]), Delivery::NoRoute);
        drop(g_narrow);
        assert_eq!(to([192, 168, 77, 5]), Delivery::Queued);
        assert!(wide.try_recv().is_ok(), "back to the /16");
        // A later session's route to the same network is not removed by
        // an earlier session's guard.
        let (later_tx, mut later) = mpsc::channel(8);
        let _g_later = router.add_v4_net(net("192.168.0.0/16"), 4, later_tx);
        drop(g_wide);
        assert_eq!(to([192, 168, 5, 5]), Delivery::Queued);
        assert!(later.try_recv().is_ok());
        assert!(router.has_route(IpAddr::from([192, 168, 1, 1])));
    }

    #[test]
    fn parses_addresses_of_both_families_and_refuses_junk() {
        assert_eq!(
            addresses(&v4_packet([10, 0, 0, 2], [192, 0, 2, 1])),
            Some((IpAddr::from([10, 0, 0, 2]), IpAddr::from([192, 0, 2, 1])))
        );
        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
        assert_eq!(
            addresses(&v6),
            Some((
                IpAddr::from(Ipv6Addr::LOCALHOST),
                IpAddr::from(Ipv6Addr::UNSPECIFIED)
            ))
        );
        assert_eq!(addresses(&v6[..39]), None);
        assert_eq!(addresses(&[0x45; 19]), None);
        assert_eq!(addresses(&[]), None);
        assert_eq!(addresses(&[0x10; 40]), None);
    }

    #[test]
    fn routes_deliver_drop_when_full_and_go_away_with_their_guard() {
        let router = Arc::new(Router::default());
        let (tx, mut rx) = mpsc::channel(1);
        let a = Ipv4Addr::new(10, 0, 0, 2);
        let guard = router.add_v4(a, 1, tx);
        assert!(router.has_route(a.into()));
        assert_eq!(
            router.deliver(a.into(), Bytes::from_static(b"1")),
            Delivery::Queued
        );
        assert_eq!(
            router.deliver(a.into(), Bytes::from_static(b"2")),
            Delivery::Full
        );
        assert_eq!(rx.try_recv().ok(), Some(Bytes::from_static(b"1")));
        assert_eq!(
            router.deliver(Ipv4Addr::new(10, 0, 0, 3).into(), Bytes::new()),
            Delivery::NoRoute
        );
        drop(guard);
        assert_eq!(router.deliver(a.into(), Bytes::new()), Delivery::NoRoute);
        assert_eq!(router.len(), (0, 0));
    }

    #[test]
    fn ipv6_routes_cover_the_whole_64() {
        let router = Arc::new(Router::default());
        let (tx, mut rx) = mpsc::channel(4);
        let _guard = router.add_v6("2001:db8:0:7::/64".parse().expect("net"), 1, tx);
        for dst in ["2001:db8:0:7::1", "2001:db8:0:7:aaaa:bbbb:cccc:dddd"] {
            let dst: Ipv6Addr = dst.parse().expect("addr");
            assert_eq!(router.deliver(dst.into(), Bytes::new()), Delivery::Queued);
        }
        let other: Ipv6Addr = "2001:db8:0:8::1".parse().expect("addr");
        assert_eq!(
            router.deliver(other.into(), Bytes::new()),
            Delivery::NoRoute
        );
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn a_stale_guard_does_not_remove_a_newer_route() {
        let router = Arc::new(Router::default());
        let a = Ipv4Addr::new(10, 0, 0, 2);
        let (tx1, _rx1) = mpsc::channel(1);
        let (tx2, _rx2) = mpsc::channel(1);
        let old = router.add_v4(a, 1, tx1);
        let _new = router.add_v4(a, 2, tx2);
        drop(old);
        assert!(router.has_route(a.into()));
    }

    #[tokio::test]
    async fn the_reader_routes_packets_from_the_tun() {
        let (tun, handle) = sstp_tun::MemTun::pair(1400);
        let router = Arc::new(Router::default());
        let metrics = Arc::new(Metrics::new());
        let (tx, mut rx) = mpsc::channel(8);
        let _g = router.add_v4(Ipv4Addr::new(10, 0, 0, 2), 1, tx);
        let task = tokio::spawn(run_tun_reader(
            Arc::new(tun),
            Arc::clone(&router),
            Arc::clone(&metrics),
        ));
        let to_client = v4_packet([192, 0, 2, 1], [10, 0, 0, 2]);
        handle.inject(&to_client).await.expect("inject");
        handle
            .inject(&v4_packet([192, 0, 2, 1], [10, 0, 0, 9]))
            .await
            .expect("inject");
        handle.inject(&[0xff; 30]).await.expect("inject");
        assert_eq!(rx.recv().await.as_deref(), Some(&to_client[..]));
        drop(handle);
        let err = task.await.expect("reader task");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(metrics.dropped(DropReason::NoRoute), 1);
        assert_eq!(metrics.dropped(DropReason::Invalid), 1);
    }
}
