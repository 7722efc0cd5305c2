//! A new configuration for a running server: what can change takes effect
//! for new sessions at once (limits, methods, timeouts, DNS, routed
//! networks, the client-to-client policy); what cannot keeps its running
//! value and is named, with the reason, for the admin to restart.
//!
//! Sessions that are up keep what they negotiated: their addresses, DNS
//! and method. The users file, certificates and EAP-TLS policy are the
//! program's to read again (it knows their files); RADIUS servers too,
//! through [`RadiusBackend::reload`](crate::RadiusBackend::reload).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::Shared;
use crate::config::Config;
use crate::control::ReloadReport;

/// Settings a running server cannot change, and why: each keeps its
/// running value when a reload changes it.
fn restart_only(running: &Config, new: &mut Config, report: &mut ReloadReport) {
    macro_rules! keep {
        ($($field:ident).+, $why:literal) => {
            if running.$($field).+ != new.$($field).+ {
                let name = stringify!($($field).+);
                warn!(setting = name, "changed in the configuration, but {}: restart to apply it", $why);
                report
                    .needs_restart
                    .push(format!("{name}: {}", $why));
                new.$($field).+ = running.$($field).+.clone();
            }
        };
    }
    keep!(listen, "the listening sockets are bound at start");
    keep!(tun, "the TUN device is made at start");
    keep!(http.metrics, "the metrics listener is bound at start");
    keep!(
        http.metrics_listen,
        "the metrics listener is bound at start"
    );
    keep!(
        network.ipv4_pool,
        "the pool holds the leases of the sessions up"
    );
    keep!(
        network.ipv6_pool,
        "the pool holds the leases of the sessions up"
    );
    keep!(
        network.pools,
        "the pools hold the leases of the sessions up"
    );
    keep!(
        auth.backends,
        "the authentication backends are made at start"
    );
    keep!(auth.users_file, "the users file is opened at start");
    keep!(control, "the control socket is made at start");
    // The offload listener is bound at start; what it accepts (the
    // certificate hashes, its sources) may change, for a rollover.
    let listen = |c: &Config| c.offload.as_ref().map(|o| o.listen.clone());
    if listen(running) != listen(new) {
        report.needs_restart.push(
            "offload.listen: the offload listener is bound at start (its other settings stay as they run too)"
                .into(),
        );
        new.offload.clone_from(&running.offload);
    }
    // `[auth.eap_tls]` contents reload with the certificates; turning it
    // on or off changes what sessions are built with.
    if running.auth.eap_tls.is_some() != new.auth.eap_tls.is_some() {
        report.needs_restart.push(
            "auth.eap_tls: turning certificate authentication on or off takes a restart".into(),
        );
        new.auth.eap_tls.clone_from(&running.auth.eap_tls);
    }
    match (&running.radius, &mut new.radius) {
        (Some(old), Some(radius)) => {
            macro_rules! keep_radius {
                ($field:ident, $why:literal) => {
                    if old.$field != radius.$field {
                        let name = concat!("radius.", stringify!($field));
                        warn!(
                            setting = name,
                            "changed in the configuration, but {}: restart to apply it", $why
                        );
                        report.needs_restart.push(format!("{name}: {}", $why));
                        radius.$field = old.$field.clone();
                    }
                };
            }
            keep_radius!(eap, "EAP relaying is chosen at start");
            keep_radius!(accounting, "accounting is started at start");
            keep_radius!(accounting_queue, "the accounting queue is made at start");
            keep_radius!(accounting_spool, "the accounting spool is opened at start");
            keep_radius!(dae, "the Disconnect/CoA socket is bound at start");
            keep_radius!(nas_identifier, "the NAS attributes are set at start");
            keep_radius!(nas_ip_address, "the NAS attributes are set at start");
            keep_radius!(nas_ipv6_address, "the NAS attributes are set at start");
            keep_radius!(called_station_id, "the NAS attributes are set at start");
            keep_radius!(tunnel_type, "the NAS attributes are set at start");
            keep_radius!(interim_interval, "accounting is started at start");
        }
        (None, None) => {}
        _ => {
            report
                .needs_restart
                .push("radius: adding or removing [radius] takes a restart".into());
            new.radius.clone_from(&running.radius);
        }
    }
}

/// What changed among the settings that apply at once, by name.
fn applied(running: &Config, new: &Config, report: &mut ReloadReport) {
    macro_rules! note {
        ($($field:ident).+) => {
            if running.$($field).+ != new.$($field).+ {
                report.applied.push(stringify!($($field).+).to_owned());
            }
        };
    }
    note!(tls.min_version);
    note!(http.server_header);
    note!(network.routed_networks);
    note!(network.dns);
    note!(network.dns6);
    note!(network.client_to_client);
    note!(network.session_queue);
    note!(network.ra_interval);
    note!(network.ra_router_lifetime);
    note!(auth.methods);
    note!(auth.server_name);
    note!(auth.disconnect_removed_users);
    note!(limits.max_sessions);
    note!(limits.max_unauthenticated);
    note!(limits.per_source_rate);
    note!(limits.per_source_burst);
    note!(limits.tls_handshake_timeout);
    note!(limits.http_head_timeout);
    note!(limits.negotiation_timeout);
    note!(limits.auth_timeout);
    note!(limits.hello_interval);
    note!(limits.shutdown_grace);
    note!(limits.max_sessions_per_user);
    note!(limits.user_limit_action);
    note!(proxy_protocol);
    note!(offload);
    if let (Some(old), Some(radius)) = (&running.radius, &new.radius) {
        macro_rules! note_radius {
            ($field:ident) => {
                if old.$field != radius.$field {
                    report
                        .applied
                        .push(concat!("radius.", stringify!($field)).to_owned());
                }
            };
        }
        note_radius!(servers);
        note_radius!(dead_time);
        note_radius!(status_server);
    }
}

/// Puts `new` in place of the running configuration (its restart-only
/// settings keep their running values) and says what happened. A `new`
/// that does not validate changes nothing.
pub(crate) fn apply(shared: &Shared, mut new: Config) -> ReloadReport {
    let mut report = ReloadReport::default();
    if let Err(e) = new.validate() {
        report
            .errors
            .push(format!("{e}; the running configuration stays"));
        return report;
    }
    let running = shared.config.load_full();
    restart_only(&running, &mut new, &mut report);
    applied(&running, &new, &mut report);
    // The new sessions' settings: methods, timers, names; what the
    // running ones add (EAP relaying, the EAP-TLS policy) stays.
    let current = shared.session_config();
    let mut session = new.session_config();
    session.auth.eap_relay = current.auth.eap_relay;
    session.auth.eap_tls.clone_from(&current.auth.eap_tls);
    *shared
        .session_config
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(session);
    shared.session_slots.resize(new.limits.max_sessions);
    shared
        .unauthenticated_slots
        .resize(new.limits.max_unauthenticated);
    let client_nets: Vec<_> = new
        .network
        .pools
        .values()
        .chain(&new.network.routed_networks)
        .copied()
        .collect();
    shared.client_nets.store(Arc::new(client_nets));
    shared.config.store(Arc::new(new));
    info!(
        applied = report.applied.len(),
        needs_restart = report.needs_restart.len(),
        "configuration reloaded"
    );
    report
}

/// A semaphore whose number of permits a reload may change while permits
/// are out: growing adds permits; shrinking takes back the free ones at
/// once and the rest as they come back, before anyone new gets them.
#[derive(Debug)]
pub(crate) struct Slots {
    semaphore: Arc<Semaphore>,
    state: std::sync::Mutex<SlotsState>,
}

#[derive(Debug)]
struct SlotsState {
    /// The configured number.
    target: usize,
    /// Permits still to take back (the collector's work).
    owed: Arc<AtomicUsize>,
    collector: Option<tokio::task::JoinHandle<()>>,
}

impl Slots {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(n)),
            state: std::sync::Mutex::new(SlotsState {
                target: n,
                owed: Arc::default(),
                collector: None,
            }),
        }
    }

    /// The semaphore to take permits from.
    pub(crate) fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Makes the number of permits `n`.
    pub(crate) fn resize(&self, n: usize) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(collector) = state.collector.take() {
            // Aborted at its await: each permit it took is forgotten and
            // counted off `owed` together.
            collector.abort();
        }
        let owed = state.owed.swap(0, Ordering::SeqCst);
        // Permits that exist now, out or free.
        let existing = state.target + owed;
        state.target = n;
        if n >= existing {
            self.semaphore.add_permits(n - existing);
            return;
        }
        let rest = (existing - n) - self.semaphore.forget_permits(existing - n);
        if rest == 0 {
            return;
        }
        state.owed.store(rest, Ordering::SeqCst);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            debug!("no runtime to take permits back on; the old limit stays for those");
            return;
        };
        let semaphore = Arc::clone(&self.semaphore);
        let owed = Arc::clone(&state.owed);
        state.collector = Some(runtime.spawn(async move {
            while owed.load(Ordering::SeqCst) > 0 {
                // Waiters go first when a permit comes back (tokio's
                // semaphore is fair), so nobody new gets it meanwhile.
                let Ok(permit) = semaphore.acquire().await else {
                    return;
                };
                permit.forget();
                owed.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_grow_and_shrink_while_permits_are_out() {
        let slots = Slots::new(3);
        let sem = Arc::clone(slots.semaphore());
        let a = Arc::clone(&sem).try_acquire_owned().expect("a");
        let b = Arc::clone(&sem).try_acquire_owned().expect("b");
        // Two out, one free: down to one takes the free one now and one of
        // those out when it comes back.
        slots.resize(1);
        assert_eq!(sem.available_permits(), 0);
        drop(a);
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        assert_eq!(sem.available_permits(), 0, "taken back, not handed out");
        drop(b);
        tokio::task::yield_now().await;
        assert_eq!(sem.available_permits(), 1, "the new limit");
        // Up again while nothing is owed.
        slots.resize(4);
        assert_eq!(sem.available_permits(), 4);
        // Down while permits are out, then up before they come back: what
        // was owed is not taken twice.
        let held: Vec<_> = (0..4)
            .map(|_| Arc::clone(&sem).try_acquire_owned().expect("permit"))
            .collect();
        slots.resize(2);
        slots.resize(5);
        drop(held);
        tokio::task::yield_now().await;
        assert_eq!(sem.available_permits(), 5);
    }

    #[test]
    fn a_reload_keeps_what_needs_a_restart_and_names_the_rest() {
        let running = Config::from_toml(
            r#"
            listen = ["127.0.0.1:443"]
            [network]
            ipv4_pool = "10.77.0.0/24"
            dns = ["10.77.0.1"]
            [limits]
            max_sessions = 100
            "#,
        )
        .expect("running");
        let mut new = Config::from_toml(
            r#"
            listen = ["127.0.0.1:8443"]
            [network]
            ipv4_pool = "10.99.0.0/24"
            dns = ["10.77.0.53"]
            [limits]
            max_sessions = 10
            max_sessions_per_user = 1
            "#,
        )
        .expect("new");
        let mut report = ReloadReport::default();
        restart_only(&running, &mut new, &mut report);
        applied(&running, &new, &mut report);
        assert_eq!(
            report.needs_restart,
            [
                "listen: the listening sockets are bound at start",
                "network.ipv4_pool: the pool holds the leases of the sessions up",
            ]
        );
        assert_eq!(new.listen, running.listen, "kept");
        assert_eq!(new.network.ipv4_pool, running.network.ipv4_pool, "kept");
        assert_eq!(
            report.applied,
            [
                "network.dns",
                "limits.max_sessions",
                "limits.max_sessions_per_user"
            ]
        );
        assert_eq!(
            new.network.dns,
            ["10.77.0.53".parse::<std::net::Ipv4Addr>().expect("ip")]
        );
    }
}
