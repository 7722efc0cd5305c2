//! RADIUS: the authentication backend (RFC 2865, RFC 2548 MS-CHAP, RFC
//! 3579 EAP), its settings (`[radius]`), and what RADIUS replies decide
//! about a session.

mod auth;
mod config;

use std::net::SocketAddr;
use std::sync::Arc;

pub(crate) use auth::Nas;
pub use auth::RadiusBackend;
pub use config::{DaeClientSettings, DaeSettings, RadiusServerSettings, RadiusSettings};
use sstp_radius::{ClientConfig, RadiusClient, Secret, ServerConfig};

use crate::config::ConfigError;

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
        Ok(Self::new(client, Arc::new(nas), settings.eap))
    }
}
