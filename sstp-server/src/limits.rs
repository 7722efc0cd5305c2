//! The per-source-address rate limit on new connections: a token bucket per
//! source, pure (time comes in as `now`), bounded in memory.
//!
//! IPv4 sources are limited per address; IPv6 sources per /64, since one
//! host can use any address of its /64 (RFC 4941).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sources tracked at most; past that, buckets that have refilled are
/// pruned, and if none has, new sources are refused until some do.
const MAX_SOURCES: usize = 65_536;

/// Token buckets keyed by source.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<u128, Bucket>,
    max_sources: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `rate` new connections per second on average, `burst` at once.
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
            max_sources: MAX_SOURCES,
        }
    }

    /// Takes new limits (a reload); the buckets keep their tokens, capped
    /// at the new burst on their next use.
    pub(crate) fn retune(&mut self, rate: f64, burst: u32) {
        self.rate = rate;
        self.burst = f64::from(burst.max(1));
    }

    fn key(ip: IpAddr) -> u128 {
        match ip.to_canonical() {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            // The /64, tagged so it cannot collide with an IPv4 key.
            IpAddr::V6(v6) => (u128::from(v6) & !u128::from(u64::MAX)) | 1,
        }
    }

    /// Whether `ip` may open a connection now (and takes a token if so).
    pub(crate) fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let key = Self::key(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max_sources {
            self.prune(now);
            if self.buckets.len() >= self.max_sources {
                return false;
            }
        }
        let (rate, burst) = (self.rate, self.burst);
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets sources whose bucket is full again (they are as if new).
    pub(crate) fn prune(&mut self, now: Instant) {
        let refill = Duration::from_secs_f64(self.burst / self.rate);
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.last) < refill);
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(2.0, 3);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert!((0..3).all(|_| limiter.allow(ip, t0)));
        assert!(!limiter.allow(ip, t0), "burst spent");
        // Another source is not affected.
        assert!(limiter.allow(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), t0));
        // Half a second at 2/s gives one token back.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.allow(ip, t1));
        assert!(!limiter.allow(ip, t1));
        // Long idle refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| limiter.allow(ip, t2)).count(), 3);
    }

    #[test]
    fn new_limits_apply_to_the_next_connection() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1.0, 1);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert!(limiter.allow(ip, t0));
        assert!(!limiter.allow(ip, t0));
        // A reload: a larger burst, and a faster rate refilling it.
        limiter.retune(100.0, 5);
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!((0..10).filter(|_| limiter.allow(ip, t1)).count(), 5);
        // And back down: the bucket is capped at the smaller burst.
        limiter.retune(1.0, 2);
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| limiter.allow(ip, t2)).count(), 2);
    }

    #[test]
    fn ipv6_is_limited_per_64_and_mapped_v4_as_v4() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1.0, 1);
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().expect("addr");
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().expect("addr");
        assert!(limiter.allow(IpAddr::V6(a), t0));
        assert!(!limiter.allow(IpAddr::V6(b), t0), "same /64");
        assert!(limiter.allow(IpAddr::V6("2001:db8:1:3::1".parse().expect("addr")), t0));
        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        assert!(limiter.allow(IpAddr::V4(v4), t0));
        assert!(!limiter.allow(IpAddr::V6(v4.to_ipv6_mapped()), t0));
    }

    #[test]
    fn memory_is_bounded_and_pruned() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1.0, 1);
        limiter.max_sources = 4;
        for i in 0..4 {
            assert!(limiter.allow(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), t0));
        }
        assert!(
            !limiter.allow(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), t0),
            "table full of fresh sources"
        );
        let later = t0 + Duration::from_secs(2);
        assert!(limiter.allow(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), later));
        assert_eq!(limiter.sources(), 1, "refilled sources were pruned");
    }
}
