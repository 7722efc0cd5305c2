//! RADIUS: the authentication backend (RFC 2865, RFC 2548 MS-CHAP, RFC
//! 3579 EAP), its settings (`[radius]`), and what RADIUS replies decide
//! about a session.

mod accounting;
mod auth;
mod config;
mod dae;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub(crate) use accounting::{Accounting, AcctSession, Authentic, Usage};
pub(crate) use auth::Nas;
pub use auth::RadiusBackend;
pub use config::{DaeClientSettings, DaeSettings, RadiusServerSettings, RadiusSettings};
pub(crate) use dae::Dae;
use sstp_radius::{ClientConfig, RadiusClient, Secret, ServerConfig};

use crate::config::ConfigError;

/// The RADIUS client the backend and accounting share; a reload that
/// changes the servers swaps in a new one.
pub(crate) type SharedClient = Arc<arc_swap::ArcSwap<RadiusClient>>;

/// SHA-256 of each server's secret: enough to tell that one changed
/// without keeping another copy of it.
fn secret_digests(config: &ClientConfig) -> Vec<[u8; 32]> {
    use sha2::Digest;
    config
        .servers
        .iter()
        .map(|s| sha2::Sha256::digest(s.secret.expose()).into())
        .collect()
}

/// The client settings of `settings`, secrets read.
fn client_config(
    settings: &RadiusSettings,
    observer: Arc<LateObserver>,
) -> Result<ClientConfig, RadiusError> {
    let mut servers = Vec::with_capacity(settings.servers.len());
    for s in &settings.servers {
        let mut server =
            ServerConfig::new(s.display_name(), Secret::new(s.read_secret()?.to_vec()));
        if s.auth_port != 0 {
            server = server.auth(SocketAddr::new(s.address, s.auth_port));
        }
        if s.acct_port != 0 {
            server = server.acct(SocketAddr::new(s.address, s.acct_port));
        }
        server.timeout = s.timeout;
        server.retries = s.retries;
        servers.push(server);
    }
    let mut client = ClientConfig::new(servers);
    client.dead_time = settings.dead_time;
    client.status_server = settings.status_server;
    client.observer = observer;
    Ok(client)
}

/// Why the RADIUS backend could not start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RadiusError {
    /// `[radius]` cannot be used (a secret file, say).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The client's sockets could not be opened.
    #[error("cannot start the RADIUS client: {0}")]
    Client(#[from] sstp_radius::ClientError),
}

impl RadiusBackend {
    /// The backend of `settings`: reads the secrets and opens the client's
    /// sockets (needs a tokio runtime). `listen` names the server in
    /// Called-Station-Id when `radius.called_station_id` is unset.
    pub async fn start(
        settings: &RadiusSettings,
        listen: &[SocketAddr],
    ) -> Result<Self, RadiusError> {
        let observer = Arc::new(LateObserver::default());
        let client = client_config(settings, Arc::clone(&observer))?;
        let secrets = secret_digests(&client);
        let client = RadiusClient::new(client).await?;
        let nas = Nas {
            identifier: settings.nas_identifier.clone(),
            ip: settings.nas_ip_address,
            ipv6: settings.nas_ipv6_address,
            called_station_id: settings.called_station_id.clone().unwrap_or_else(|| {
                listen
                    .first()
                    .map_or_else(String::new, |a| a.ip().to_string())
            }),
            tunnel_type: settings.tunnel_type,
        };
        let accounting = settings.accounting.then(|| AccountingSettings {
            limit: settings.accounting_queue,
            spool: settings.accounting_spool.clone(),
            interim: settings.interim_interval,
        });
        let servers = settings.servers.iter().map(|s| s.display_name()).collect();
        Ok(Self::new(
            client,
            Arc::new(nas),
            settings.eap,
            Attachments {
                observer,
                accounting,
                servers,
                settings: std::sync::Mutex::new((settings.clone(), secrets)),
                metrics: OnceLock::new(),
            },
        ))
    }

    /// Takes the servers of `settings` (their addresses, secrets, timeouts,
    /// retries, `dead_time`, `status_server`) for requests from now on:
    /// a new client, so the secret files are read again. Requests under way
    /// finish with the old one. Returns whether anything changed; on an
    /// error the old servers stay. Blocks (call it off the runtime's
    /// workers, in a tokio runtime).
    pub fn reload(&self, settings: &RadiusSettings) -> Result<bool, RadiusError> {
        let attachments = self.attachments();
        let mut running = attachments
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let config = client_config(settings, Arc::clone(&attachments.observer))?;
        // A secret file may change under the same path: compare what was
        // read with what the running client has.
        let secrets = secret_digests(&config);
        if running.0 == *settings && running.1 == secrets {
            return Ok(false);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            RadiusError::Config(ConfigError::Invalid(
                "RADIUS servers can be reloaded only inside the server's runtime".into(),
            ))
        })?;
        let client = runtime.block_on(RadiusClient::new(config))?;
        self.client().store(Arc::new(client));
        if let Some(metrics) = attachments.metrics.get() {
            for s in &settings.servers {
                metrics.server_configured(&s.display_name());
            }
        }
        tracing::info!(
            servers = %settings
                .servers
                .iter()
                .map(RadiusServerSettings::display_name)
                .collect::<Vec<_>>()
                .join(", "),
            "RADIUS servers reloaded"
        );
        *running = (settings.clone(), secrets);
        Ok(true)
    }
}

/// What the server attaches to a started backend: its metrics as the
/// client's observer, and the accounting queue over the same client.
#[derive(Debug)]
pub(crate) struct Attachments {
    observer: Arc<LateObserver>,
    accounting: Option<AccountingSettings>,
    servers: Vec<String>,
    /// What the running client was made from, and digests of the secrets
    /// it read (for a reload to compare).
    settings: std::sync::Mutex<(RadiusSettings, Vec<[u8; 32]>)>,
    /// The server's RADIUS metrics, once attached.
    metrics: OnceLock<Arc<crate::metrics::RadiusMetrics>>,
}

#[derive(Debug, Clone)]
struct AccountingSettings {
    limit: usize,
    spool: Option<std::path::PathBuf>,
    interim: Option<Duration>,
}

impl RadiusBackend {
    /// Reports the client to `metrics` and, with `radius.accounting`, makes
    /// the accounting queue (not started yet).
    pub(crate) fn attach(
        &self,
        metrics: &Arc<crate::metrics::RadiusMetrics>,
    ) -> Option<Accounting> {
        let a = self.attachments();
        let _ = a.metrics.set(Arc::clone(metrics));
        let observer: Arc<dyn sstp_radius::Observer> = metrics.clone();
        let _ = a.observer.target.set(observer);
        for name in &a.servers {
            metrics.server_configured(name);
        }
        a.accounting.as_ref().map(|s| {
            Accounting::new(
                Arc::clone(self.client()),
                Arc::clone(self.nas()),
                s.limit,
                s.spool.clone(),
                s.interim,
                Arc::clone(metrics),
            )
        })
    }
}

/// An observer whose target arrives after the client was made (the
/// server's metrics exist only once the server does).
#[derive(Default)]
struct LateObserver {
    target: OnceLock<Arc<dyn sstp_radius::Observer>>,
}

impl std::fmt::Debug for LateObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LateObserver")
    }
}

impl sstp_radius::Observer for LateObserver {
    fn request_sent(&self, server: &str, code: sstp_radius::Code, identifier: u8) {
        if let Some(t) = self.target.get() {
            t.request_sent(server, code, identifier);
        }
    }
    fn retransmitted(&self, server: &str, code: sstp_radius::Code, identifier: u8, attempt: u32) {
        if let Some(t) = self.target.get() {
            t.retransmitted(server, code, identifier, attempt);
        }
    }
    fn timed_out(&self, server: &str, code: sstp_radius::Code) {
        if let Some(t) = self.target.get() {
            t.timed_out(server, code);
        }
    }
    fn response(&self, server: &str, code: sstp_radius::Code, latency: Duration) {
        if let Some(t) = self.target.get() {
            t.response(server, code, latency);
        }
    }
    fn dropped(&self, server: Option<&str>, reason: sstp_radius::DropReason) {
        if let Some(t) = self.target.get() {
            t.dropped(server, reason);
        }
    }
    fn server_dead(&self, server: &str) {
        if let Some(t) = self.target.get() {
            t.server_dead(server);
        }
    }
    fn server_alive(&self, server: &str) {
        if let Some(t) = self.target.get() {
            t.server_alive(server);
        }
    }
}
