//! Small helpers of the networked tests: logs, metrics, bounded waits.

use std::time::Duration;

use sstp_tun::MemTunHandle;

/// Logs to the test output when `RUST_LOG` is set (`RUST_LOG=debug cargo
/// test` shows both ends); silent otherwise. Safe to call from every test.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// The value of one series (`name{labels}` exactly as printed) in a
/// Prometheus text page; `None` when the page has no such series (a
/// labelled series appears on first use).
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

/// Reads from `handle` until a packet satisfies `want` (the peer's own
/// traffic, e.g. a Router Solicitation, may come first) and returns it.
/// Panics when none has come within `limit`, so a hang fails the test.
pub async fn observe_until(
    handle: &mut MemTunHandle,
    limit: Duration,
    want: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let found = tokio::time::timeout(limit, async {
        loop {
            let p = handle.observe().await.expect("the TUN is open");
            if want(&p) {
                return p;
            }
        }
    });
    found
        .await
        .unwrap_or_else(|_| panic!("no expected packet on the TUN within {limit:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_finds_the_exact_series() {
        let page = "# HELP x\nsstp_up 1\nsstp_up_total 7\nsstp_kind{a=\"b\"} 2.5\n";
        assert_eq!(metric(page, "sstp_up"), Some(1.0));
        assert_eq!(metric(page, "sstp_up_total"), Some(7.0));
        assert_eq!(metric(page, "sstp_kind{a=\"b\"}"), Some(2.5));
        assert_eq!(metric(page, "sstp_kind"), None);
    }
}
