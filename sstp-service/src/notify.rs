//! sd_notify(3) for `Type=notify` (and `Type=notify-reload`) units.
//!
//! Every function is a no-op without `NOTIFY_SOCKET`, so the programs call
//! them unconditionally. A failure to send is logged once, never fatal: a
//! service manager that stopped listening must not stop the VPN.
//!
//! The order systemd expects (systemd.service(5), sd_notify(3)):
//! `READY=1` once the service does its job (listeners bound, tunnel up);
//! `RELOADING=1` with `MONOTONIC_USEC=` when a reload starts (systemd 253+
//! matches the two to tell this reload from an earlier one; older versions
//! ignore the stamp), then `READY=1` when it is done; `STOPPING=1` when
//! shutdown begins; `WATCHDOG=1` at least every `WATCHDOG_USEC`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;

/// Whether a send failure was logged already.
static FAILED: AtomicBool = AtomicBool::new(false);

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states)
        && !FAILED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(error = %e, "cannot notify the service manager (NOTIFY_SOCKET)");
    }
}

/// `READY=1` with `STATUS=status`: started, or a reload finished.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `RELOADING=1` and `MONOTONIC_USEC=now`: a reload begins; call
/// [`ready`] when it is done (whether it applied or kept the old state).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading"),
        ]),
        Err(_) => send(&[NotifyState::Reloading, NotifyState::Status("reloading")]),
    }
}

/// `STOPPING=1` with `STATUS=status`: shutdown begins.
pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// `STATUS=text` alone: what `systemctl status` shows.
pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

/// How often to send `WATCHDOG=1`: half the manager's `WATCHDOG_USEC`
/// (sd_watchdog_enabled(3) advises that margin), or `None` without a
/// watchdog for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

/// Sends `WATCHDOG=1` every [`watchdog_interval`] from a task on the
/// current tokio runtime, so a runtime that stops making progress stops the
/// pings and systemd restarts the service. `None` without a watchdog.
/// Must be called inside a runtime.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let every = watchdog_interval()?;
    tracing::debug!(every = ?every, "systemd watchdog on");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;
    use std::process::Command;

    use super::*;

    /// The sending half, run by [`states_arrive_in_order`] as a child
    /// process with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set (a test may not
    /// change its own environment).
    #[test]
    #[ignore = "run by states_arrive_in_order in a child process"]
    fn notify_child() {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return;
        }
        ready("serving");
        reloading();
        ready("reloaded");
        status("2 sessions");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let watchdog = spawn_watchdog().expect("WATCHDOG_USEC is set");
            tokio::time::sleep(Duration::from_millis(120)).await;
            watchdog.abort();
        });
        stopping("shutting down");
    }

    #[test]
    fn states_arrive_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "notify::tests::notify_child",
                "--ignored",
                "--quiet",
            ])
            .env("NOTIFY_SOCKET", &path)
            // 100 ms: pings every 50 ms, so 2 or more in the child's 120 ms.
            .env("WATCHDOG_USEC", "100000")
            .env_remove("WATCHDOG_PID")
            .output()
            .expect("run the child");
        assert!(out.status.success(), "{out:?}");
        let mut messages = Vec::new();
        socket.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert!(messages.len() >= 7, "{messages:#?}");
        assert_eq!(messages[0], "READY=1\nSTATUS=serving\n");
        let reload: Vec<_> = messages[1].lines().collect();
        assert_eq!(reload[0], "RELOADING=1", "{messages:#?}");
        let usec: u64 = reload[1]
            .strip_prefix("MONOTONIC_USEC=")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{messages:#?}"));
        assert!(usec > 0);
        assert_eq!(messages[2], "READY=1\nSTATUS=reloaded\n");
        assert_eq!(messages[3], "STATUS=2 sessions\n");
        let pings = &messages[4..messages.len() - 1];
        assert!(pings.len() >= 2, "{messages:#?}");
        assert!(pings.iter().all(|m| m == "WATCHDOG=1\n"), "{messages:#?}");
        assert_eq!(
            messages.last().map(String::as_str),
            Some("STOPPING=1\nSTATUS=shutting down\n")
        );
    }

    #[test]
    fn no_watchdog_without_watchdog_usec() {
        // The test harness runs without a service manager.
        if std::env::var_os("WATCHDOG_USEC").is_none() {
            assert_eq!(watchdog_interval(), None);
        }
    }
}
