//! Address pools: which tunnel addresses are free, pure allocate/release
//! logic with no IO and no async (unit-tested without tokio), and the
//! [`Lease`] guard that gives a session's addresses back however the session
//! ends.
//!
//! - IPv4: a CIDR. The server keeps the first host address (its end of every
//!   point-to-point link, the IPCP IP-Address it sends, RFC 1332 3.3);
//!   clients get the others. The network and broadcast addresses are never
//!   handed out, so `10.77.0.0/24` gives the server `10.77.0.1` and clients
//!   `10.77.0.2` to `10.77.0.254`.
//! - IPv6: a CIDR of at most /63, carved into /64s, one per session (the
//!   prefix a client forms its SLAAC address in, RFC 4862, announced in our
//!   Router Advertisements, `crate::ra`). The server keeps the first /64 and
//!   its address `::1` in it.
//! - Fixed addresses (per user, from the users file or an auth backend) must
//!   lie inside the pool; they are reserved up front so the dynamic
//!   allocator never hands them to someone else.
//!
//! Allocation is next-fit from a moving cursor, so a released address is
//! not reused at once (a stale flow of the previous holder is less likely to
//! reach the next one). The cost of one allocation is bounded by the number
//! of addresses in use, and memory is proportional to it, not to the pool.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why a pool could not be built or an address not taken.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The IPv4 pool is too small: /30 is the smallest (server + one client).
    #[error("IPv4 pool {0} is too small: use a /30 or larger")]
    Ipv4TooSmall(Ipv4Net),
    /// The IPv6 pool must hold at least two /64s.
    #[error(
        "IPv6 pool {0} must be a /63 or larger (one /64 per session, the first for the server)"
    )]
    Ipv6TooSmall(Ipv6Net),
    /// A fixed address outside the pool, or one the server keeps.
    #[error("fixed address {0} is not a client address of the pool")]
    NotInPool(String),
    /// Every address is taken.
    #[error("address pool exhausted")]
    Exhausted,
    /// The fixed address is held by another session (the same user twice?).
    #[error("address {0} is already in use")]
    InUse(String),
    /// The authentication backend named a pool (RADIUS Framed-Pool) that
    /// `network.pools` does not have.
    #[error("there is no address pool {0:?} in network.pools")]
    UnknownPool(String),
}

/// The IPv4 pool.
#[derive(Debug, Clone)]
pub struct Ipv4Pool {
    net: Ipv4Net,
    server: Ipv4Addr,
    /// First and last client address, as integers.
    first: u32,
    last: u32,
    used: HashSet<u32>,
    reserved: HashSet<u32>,
    cursor: u32,
}

impl Ipv4Pool {
    /// A pool over `net` (host bits are ignored: `10.77.0.9/24` is
    /// `10.77.0.0/24`).
    pub fn new(net: Ipv4Net) -> Result<Self, PoolError> {
        let net = net.trunc();
        if net.prefix_len() > 30 {
            return Err(PoolError::Ipv4TooSmall(net));
        }
        let network = u32::from(net.network());
        let broadcast = u32::from(net.broadcast());
        let server = network + 1;
        Ok(Self {
            net,
            server: Ipv4Addr::from(server),
            first: server + 1,
            last: broadcast - 1,
            used: HashSet::new(),
            reserved: HashSet::new(),
            cursor: server + 1,
        })
    }

    /// The pool's network.
    pub fn net(&self) -> Ipv4Net {
        self.net
    }

    /// The server's own address: the first host address.
    pub fn server(&self) -> Ipv4Addr {
        self.server
    }

    /// Whether `addr` is a client address of this pool.
    pub fn is_client_address(&self, addr: Ipv4Addr) -> bool {
        (self.first..=self.last).contains(&u32::from(addr))
    }

    /// Keeps `addr` out of dynamic allocation (a user's fixed address).
    pub fn reserve(&mut self, addr: Ipv4Addr) -> Result<(), PoolError> {
        if !self.is_client_address(addr) {
            return Err(PoolError::NotInPool(addr.to_string()));
        }
        self.reserved.insert(u32::from(addr));
        Ok(())
    }

    /// Forgets every reservation (before the users file is reloaded).
    pub fn clear_reservations(&mut self) {
        self.reserved.clear();
    }

    /// Takes the next free dynamic address.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, PoolError> {
        let size = u64::from(self.last - self.first + 1);
        if taken(&self.used, &self.reserved) >= size {
            return Err(PoolError::Exhausted);
        }
        // A free address exists, so this ends within |used| + |reserved| + 1
        // steps.
        let mut candidate = self.cursor;
        loop {
            if candidate > self.last || candidate < self.first {
                candidate = self.first;
            }
            if !self.used.contains(&candidate) && !self.reserved.contains(&candidate) {
                self.used.insert(candidate);
                self.cursor = candidate.wrapping_add(1);
                return Ok(Ipv4Addr::from(candidate));
            }
            candidate = candidate.wrapping_add(1);
        }
    }

    /// Takes a fixed address (which need not be reserved, but must be a
    /// client address of the pool).
    pub fn allocate_fixed(&mut self, addr: Ipv4Addr) -> Result<(), PoolError> {
        if !self.is_client_address(addr) {
            return Err(PoolError::NotInPool(addr.to_string()));
        }
        if !self.used.insert(u32::from(addr)) {
            return Err(PoolError::InUse(addr.to_string()));
        }
        Ok(())
    }

    /// Gives an address back; unknown addresses are ignored.
    pub fn release(&mut self, addr: Ipv4Addr) {
        self.used.remove(&u32::from(addr));
    }

    /// Addresses in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }

    /// Client addresses the pool has (dynamic and reserved).
    pub fn capacity(&self) -> u64 {
        u64::from(self.last - self.first + 1)
    }
}

/// The IPv6 pool: /64 prefixes.
#[derive(Debug, Clone)]
pub struct Ipv6Pool {
    net: Ipv6Net,
    /// Number of /64s in the pool, the first being the server's.
    count: u128,
    used: HashSet<u128>,
    reserved: HashSet<u128>,
    cursor: u128,
}

impl Ipv6Pool {
    /// A pool over `net`, which must be a /63 or larger (host bits ignored).
    pub fn new(net: Ipv6Net) -> Result<Self, PoolError> {
        let net = net.trunc();
        if net.prefix_len() > 63 {
            return Err(PoolError::Ipv6TooSmall(net));
        }
        Ok(Self {
            net,
            count: 1u128 << (64 - net.prefix_len()),
            used: HashSet::new(),
            reserved: HashSet::new(),
            cursor: 1,
        })
    }

    /// The pool's network.
    pub fn net(&self) -> Ipv6Net {
        self.net
    }

    /// The server's address: `::1` in the first /64.
    pub fn server(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.net.network()) | 1)
    }

    fn prefix(&self, index: u128) -> Ipv6Net {
        let addr = u128::from(self.net.network()) | (index << 64);
        // A /64 of a valid address never fails.
        Ipv6Net::new(Ipv6Addr::from(addr), 64).unwrap_or_default()
    }

    /// The index of `prefix` in the pool if it is a client /64 of it.
    fn index_of(&self, prefix: Ipv6Net) -> Option<u128> {
        if prefix.prefix_len() != 64 || !self.net.contains(&prefix) {
            return None;
        }
        let index = (u128::from(prefix.network()) - u128::from(self.net.network())) >> 64;
        (index != 0).then_some(index)
    }

    /// Keeps `prefix` out of dynamic allocation.
    pub fn reserve(&mut self, prefix: Ipv6Net) -> Result<(), PoolError> {
        let index = self
            .index_of(prefix)
            .ok_or_else(|| PoolError::NotInPool(prefix.to_string()))?;
        self.reserved.insert(index);
        Ok(())
    }

    /// Forgets every reservation.
    pub fn clear_reservations(&mut self) {
        self.reserved.clear();
    }

    /// Takes the next free /64.
    pub fn allocate(&mut self) -> Result<Ipv6Net, PoolError> {
        let clients = self.count - 1;
        if u128::from(taken(&self.used, &self.reserved)) >= clients {
            return Err(PoolError::Exhausted);
        }
        let mut candidate = self.cursor;
        loop {
            if candidate == 0 || candidate >= self.count {
                candidate = 1;
            }
            if !self.used.contains(&candidate) && !self.reserved.contains(&candidate) {
                self.used.insert(candidate);
                self.cursor = candidate + 1;
                return Ok(self.prefix(candidate));
            }
            candidate += 1;
        }
    }

    /// Takes a fixed /64 of the pool.
    pub fn allocate_fixed(&mut self, prefix: Ipv6Net) -> Result<(), PoolError> {
        let index = self
            .index_of(prefix)
            .ok_or_else(|| PoolError::NotInPool(prefix.to_string()))?;
        if !self.used.insert(index) {
            return Err(PoolError::InUse(prefix.to_string()));
        }
        Ok(())
    }

    /// Gives a /64 back; unknown prefixes are ignored.
    pub fn release(&mut self, prefix: Ipv6Net) {
        if let Some(index) = self.index_of(prefix) {
            self.used.remove(&index);
        }
    }

    /// Prefixes in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}

/// Addresses that are used or reserved (a fixed address in use is both).
fn taken<T: std::hash::Hash + Eq>(used: &HashSet<T>, reserved: &HashSet<T>) -> u64 {
    let reserved_free = reserved.iter().filter(|r| !used.contains(r)).count();
    (used.len() + reserved_free) as u64
}

/// Both pools behind one lock each, shared by every session.
#[derive(Debug)]
pub(crate) struct AddressPools {
    v4: Mutex<Ipv4Pool>,
    v6: Option<Mutex<Ipv6Pool>>,
    /// `network.pools`: IPv4 pools a backend names (RADIUS Framed-Pool,
    /// RFC 2869 §5.18).
    named: HashMap<String, Mutex<Ipv4Pool>>,
}

/// What a session asks for: fixed addresses if the user has them, or a
/// named pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LeaseRequest {
    pub(crate) ipv4: Option<Ipv4Addr>,
    pub(crate) ipv6: Option<Ipv6Net>,
    pub(crate) pool: Option<String>,
}

impl AddressPools {
    pub(crate) fn new(v4: Ipv4Pool, v6: Option<Ipv6Pool>) -> Self {
        Self {
            v4: Mutex::new(v4),
            v6: v6.map(Mutex::new),
            named: HashMap::new(),
        }
    }

    /// With the named pools of `network.pools`.
    pub(crate) fn with_named(
        mut self,
        named: impl IntoIterator<Item = (String, Ipv4Pool)>,
    ) -> Self {
        self.named = named
            .into_iter()
            .map(|(name, pool)| (name, Mutex::new(pool)))
            .collect();
        self
    }

    /// The IPv4 pool an address or a name leases from: `None` is the main
    /// one.
    fn v4_of(&self, pool: Option<&str>) -> Result<MutexGuard<'_, Ipv4Pool>, PoolError> {
        match pool {
            None => Ok(self.v4()),
            Some(name) => self
                .named
                .get(name)
                .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
                .ok_or_else(|| PoolError::UnknownPool(name.to_owned())),
        }
    }

    /// The named pool holding `addr`, if any.
    fn pool_holding(&self, addr: Ipv4Addr) -> Option<String> {
        self.named
            .iter()
            .find(|(_, pool)| {
                pool.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .net()
                    .contains(&addr)
            })
            .map(|(name, _)| name.clone())
    }

    fn v4(&self) -> MutexGuard<'_, Ipv4Pool> {
        // A panic while holding the lock cannot leave the pool half-updated
        // (every method changes one set), so a poisoned lock is still usable.
        self.v4
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn v6(&self) -> Option<MutexGuard<'_, Ipv6Pool>> {
        self.v6
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The server's IPv4 address.
    pub(crate) fn server_v4(&self) -> Ipv4Addr {
        self.v4().server()
    }

    /// The IPv4 pool network.
    pub(crate) fn net_v4(&self) -> Ipv4Net {
        self.v4().net()
    }

    /// The IPv6 pool network, if IPv6 is on.
    pub(crate) fn net_v6(&self) -> Option<Ipv6Net> {
        self.v6().map(|p| p.net())
    }

    /// Replaces the reservations (fixed addresses of the users file).
    /// Errors name the addresses that do not fit; the others are kept.
    pub(crate) fn set_reservations(
        &self,
        v4: impl IntoIterator<Item = Ipv4Addr>,
        v6: impl IntoIterator<Item = Ipv6Net>,
    ) -> Vec<PoolError> {
        let mut errors = Vec::new();
        {
            let mut pool = self.v4();
            pool.clear_reservations();
            for addr in v4 {
                if let Err(e) = pool.reserve(addr) {
                    errors.push(e);
                }
            }
        }
        let v6: Vec<_> = v6.into_iter().collect();
        match self.v6() {
            Some(mut pool) => {
                pool.clear_reservations();
                for prefix in v6 {
                    if let Err(e) = pool.reserve(prefix) {
                        errors.push(e);
                    }
                }
            }
            None => errors.extend(
                v6.into_iter()
                    .map(|p| PoolError::NotInPool(format!("{p} (no IPv6 pool configured)"))),
            ),
        }
        errors
    }

    /// Takes addresses for one session: a guard that gives them back on drop.
    pub(crate) fn lease(self: &Arc<Self>, request: &LeaseRequest) -> Result<Lease, PoolError> {
        // A fixed address comes from the pool that holds it; otherwise the
        // named pool, or the main one.
        let pool_name = match request.ipv4 {
            Some(addr) if !self.v4().net().contains(&addr) => self.pool_holding(addr),
            Some(_) => None,
            None => request.pool.clone(),
        };
        let ipv4 = {
            let mut pool = self.v4_of(pool_name.as_deref())?;
            match request.ipv4 {
                Some(addr) => pool.allocate_fixed(addr).map(|()| addr)?,
                None => pool.allocate()?,
            }
        };
        let release_v4 = |pools: &Self| {
            if let Ok(mut pool) = pools.v4_of(pool_name.as_deref()) {
                pool.release(ipv4);
            }
        };
        let ipv6 = match self.v6() {
            None => None,
            Some(mut pool) => {
                let taken = match request.ipv6 {
                    Some(prefix) => pool.allocate_fixed(prefix).map(|()| prefix),
                    None => pool.allocate(),
                };
                match taken {
                    Ok(prefix) => Some(prefix),
                    Err(e) => {
                        drop(pool);
                        release_v4(self);
                        return Err(e);
                    }
                }
            }
        };
        Ok(Lease {
            pools: Arc::clone(self),
            ipv4,
            ipv6,
            pool: pool_name,
        })
    }

    /// (IPv4 addresses, IPv6 prefixes) in use, named pools included.
    pub(crate) fn in_use(&self) -> (usize, usize) {
        let named: usize = self
            .named
            .values()
            .map(|p| {
                p.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .in_use()
            })
            .sum();
        (
            self.v4().in_use() + named,
            self.v6().map_or(0, |p| p.in_use()),
        )
    }
}

/// A session's addresses; given back to the pools when dropped, so a
/// session that ends in any way (disconnect, abort, panic, task abort)
/// returns them.
#[derive(Debug)]
pub(crate) struct Lease {
    pools: Arc<AddressPools>,
    pub(crate) ipv4: Ipv4Addr,
    pub(crate) ipv6: Option<Ipv6Net>,
    /// The named pool `ipv4` came from; `None`: the main one.
    pool: Option<String>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.pools.v4_of(self.pool.as_deref()) {
            pool.release(self.ipv4);
        }
        if let (Some(prefix), Some(mut pool)) = (self.ipv6, self.pools.v6()) {
            pool.release(prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Pool {
        Ipv4Pool::new(s.parse().expect("net")).expect("pool")
    }

    fn v6(s: &str) -> Ipv6Pool {
        Ipv6Pool::new(s.parse().expect("net")).expect("pool")
    }

    #[test]
    fn ipv4_server_keeps_the_first_address_and_clients_get_the_rest() {
        let mut pool = v4("10.77.0.3/29");
        assert_eq!(pool.server(), Ipv4Addr::new(10, 77, 0, 1));
        let got: Vec<_> = std::iter::from_fn(|| pool.allocate().ok()).collect();
        // .0 network, .1 server, .7 broadcast.
        assert_eq!(
            got,
            (2..=6)
                .map(|i| Ipv4Addr::new(10, 77, 0, i))
                .collect::<Vec<_>>()
        );
        assert_eq!(pool.allocate(), Err(PoolError::Exhausted));
        assert_eq!(pool.in_use(), 5);
        assert_eq!(pool.capacity(), 5);
    }

    #[test]
    fn ipv4_release_and_next_fit_reuse() {
        let mut pool = v4("10.0.0.0/29");
        let a = pool.allocate().expect("a");
        let b = pool.allocate().expect("b");
        pool.release(a);
        // Next-fit: the cursor moves on before coming back to `a`.
        let c = pool.allocate().expect("c");
        assert_ne!(c, a);
        assert_ne!(c, b);
        for _ in 0..2 {
            pool.allocate().expect("more");
        }
        assert_eq!(pool.allocate().expect("wraps to a"), a);
        assert_eq!(pool.allocate(), Err(PoolError::Exhausted));
        pool.release(b);
        assert_eq!(pool.allocate(), Ok(b));
    }

    #[test]
    fn ipv4_reserved_addresses_are_only_fixed() {
        let mut pool = v4("10.0.0.0/29");
        let fixed = Ipv4Addr::new(10, 0, 0, 3);
        pool.reserve(fixed).expect("reserve");
        let got: Vec<_> = std::iter::from_fn(|| pool.allocate().ok()).collect();
        assert!(!got.contains(&fixed));
        assert_eq!(got.len(), 4);
        pool.allocate_fixed(fixed).expect("the user gets it");
        assert_eq!(
            pool.allocate_fixed(fixed),
            Err(PoolError::InUse("10.0.0.3".into()))
        );
        pool.release(fixed);
        pool.allocate_fixed(fixed).expect("again after release");
    }

    #[test]
    fn ipv4_rejects_small_pools_and_foreign_fixed_addresses() {
        assert!(matches!(
            Ipv4Pool::new("10.0.0.0/31".parse().expect("net")),
            Err(PoolError::Ipv4TooSmall(_))
        ));
        let mut pool = v4("10.0.0.0/30");
        assert_eq!(pool.allocate(), Ok(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(pool.allocate(), Err(PoolError::Exhausted));
        for bad in ["10.0.0.1", "10.0.0.0", "10.0.0.3", "10.0.1.2"] {
            let addr: Ipv4Addr = bad.parse().expect("addr");
            assert!(matches!(pool.reserve(addr), Err(PoolError::NotInPool(_))));
            assert!(matches!(
                pool.allocate_fixed(addr),
                Err(PoolError::NotInPool(_))
            ));
        }
    }

    #[test]
    fn ipv6_carves_64s_and_keeps_the_first_for_the_server() {
        let mut pool = v6("fd00:77::/62");
        assert_eq!(
            pool.server(),
            "fd00:77::1".parse::<Ipv6Addr>().expect("addr")
        );
        let got: Vec<String> = std::iter::from_fn(|| pool.allocate().ok())
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            got,
            ["fd00:77:0:1::/64", "fd00:77:0:2::/64", "fd00:77:0:3::/64"]
        );
        assert_eq!(pool.allocate(), Err(PoolError::Exhausted));
        pool.release("fd00:77:0:2::/64".parse().expect("net"));
        assert_eq!(
            pool.allocate().expect("reuse").to_string(),
            "fd00:77:0:2::/64"
        );
        assert_eq!(pool.in_use(), 3);
    }

    #[test]
    fn ipv6_fixed_prefixes() {
        let mut pool = v6("fd00:77::/48");
        let fixed: Ipv6Net = "fd00:77:0:1::/64".parse().expect("net");
        pool.reserve(fixed).expect("reserve");
        assert_ne!(pool.allocate().expect("dynamic"), fixed);
        pool.allocate_fixed(fixed).expect("fixed");
        assert!(matches!(
            pool.allocate_fixed(fixed),
            Err(PoolError::InUse(_))
        ));
        for bad in ["fd00:77::/64", "fd00:78::/64", "fd00:77:0:1::/80"] {
            assert!(matches!(
                pool.reserve(bad.parse().expect("net")),
                Err(PoolError::NotInPool(_))
            ));
        }
        assert!(matches!(
            Ipv6Pool::new("fd00::/64".parse().expect("net")),
            Err(PoolError::Ipv6TooSmall(_))
        ));
    }

    #[test]
    fn a_huge_ipv6_pool_costs_nothing_up_front() {
        let mut pool = v6("2001:db8::/32");
        for _ in 0..1000 {
            pool.allocate().expect("plenty");
        }
        assert_eq!(pool.in_use(), 1000);
    }

    #[test]
    fn leases_return_both_families_on_drop() {
        let pools = Arc::new(AddressPools::new(v4("10.0.0.0/29"), Some(v6("fd00::/63"))));
        let lease = pools.lease(&LeaseRequest::default()).expect("lease");
        assert_eq!(lease.ipv4, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(lease.ipv6.expect("v6").to_string(), "fd00:0:0:1::/64");
        assert_eq!(pools.in_use(), (1, 1));
        // The IPv6 pool has one client /64: a second lease fails and gives
        // its IPv4 address back.
        assert_eq!(
            pools.lease(&LeaseRequest::default()).err(),
            Some(PoolError::Exhausted)
        );
        assert_eq!(pools.in_use(), (1, 1));
        drop(lease);
        assert_eq!(pools.in_use(), (0, 0));
    }

    #[test]
    fn fixed_lease_and_reservations() {
        let pools = Arc::new(AddressPools::new(v4("10.0.0.0/29"), None));
        let errors = pools.set_reservations(
            [Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(192, 0, 2, 1)],
            ["fd00::/64".parse().expect("net")],
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        let fixed = pools
            .lease(&LeaseRequest {
                ipv4: Some(Ipv4Addr::new(10, 0, 0, 5)),
                ..LeaseRequest::default()
            })
            .expect("fixed");
        assert_eq!(fixed.ipv4, Ipv4Addr::new(10, 0, 0, 5));
        assert!(fixed.ipv6.is_none());
        assert!(matches!(
            pools.lease(&LeaseRequest {
                ipv4: Some(Ipv4Addr::new(10, 0, 0, 5)),
                ..LeaseRequest::default()
            }),
            Err(PoolError::InUse(_))
        ));
        drop(fixed);
        assert_eq!(pools.in_use(), (0, 0));
    }

    #[test]
    fn named_pools_lease_by_name_and_by_fixed_address() {
        let pools = Arc::new(
            AddressPools::new(v4("10.0.0.0/29"), None)
                .with_named([("staff".to_owned(), v4("10.9.0.0/30"))]),
        );
        let staff = LeaseRequest {
            pool: Some("staff".into()),
            ..LeaseRequest::default()
        };
        let a = pools.lease(&staff).expect("staff lease");
        assert_eq!(a.ipv4, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(pools.lease(&staff).err(), Some(PoolError::Exhausted));
        assert_eq!(pools.in_use(), (1, 0));
        drop(a);
        assert_eq!(pools.in_use(), (0, 0));
        // A fixed address picks the pool that holds it, whatever the name.
        let fixed = pools
            .lease(&LeaseRequest {
                ipv4: Some(Ipv4Addr::new(10, 9, 0, 2)),
                ..LeaseRequest::default()
            })
            .expect("fixed in a named pool");
        assert_eq!(pools.lease(&staff).err(), Some(PoolError::Exhausted));
        drop(fixed);
        let unknown = LeaseRequest {
            pool: Some("guests".into()),
            ..LeaseRequest::default()
        };
        assert_eq!(
            pools.lease(&unknown).err(),
            Some(PoolError::UnknownPool("guests".into()))
        );
        assert_eq!(pools.in_use(), (0, 0));
    }
}
