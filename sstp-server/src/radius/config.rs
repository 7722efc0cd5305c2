//! `[radius]`: the RADIUS servers (RFC 2865 authentication, RFC 2866
//! accounting), the NAS identity the server gives them, and the
//! Dynamic Authorization listener (RFC 5176).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::config::{ConfigError, duration, optional_duration};

/// `[radius]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusSettings {
    /// `[[radius.server]]`: the servers, asked in this order; the next
    /// one when a server does not answer (failover).
    #[serde(rename = "server")]
    pub servers: Vec<RadiusServerSettings>,
    /// NAS-Identifier (RFC 2865 §5.32) in every request.
    pub nas_identifier: String,
    /// NAS-IP-Address (RFC 2865 §5.4); unset: the address of the socket
    /// that talks to each server... not known in advance, so only sent
    /// when set.
    pub nas_ip_address: Option<Ipv4Addr>,
    /// NAS-IPv6-Address (RFC 3162 §2.1), only sent when set.
    pub nas_ipv6_address: Option<Ipv6Addr>,
    /// Called-Station-Id (RFC 2865 §5.30); unset: the first `listen`
    /// address.
    pub called_station_id: Option<String>,
    /// Tunnel-Type (RFC 2868 §3.1) in every request. SSTP has no value in
    /// IANA's registry, so the default (25) is only this server's
    /// convention: set the value your RADIUS server's policy matches on.
    pub tunnel_type: u32,
    /// Relay EAP to the RADIUS server (RFC 3579), which then runs the EAP
    /// methods (EAP-TLS, PEAP, EAP-MSCHAPv2); off: the server runs its own
    /// and asks RADIUS only for PAP, CHAP and MS-CHAPv2.
    pub eap: bool,
    /// How long a server that stopped answering is skipped.
    #[serde(deserialize_with = "duration")]
    pub dead_time: Duration,
    /// Probe dead servers with Status-Server (RFC 5997) to bring them back
    /// before `dead_time` is up.
    pub status_server: bool,
    /// Send accounting (RFC 2866): Accounting-On/Off, Start, Interim,
    /// Stop.
    pub accounting: bool,
    /// Interim-Update interval when the server's Acct-Interim-Interval
    /// does not say; unset: none.
    #[serde(deserialize_with = "optional_duration")]
    pub interim_interval: Option<Duration>,
    /// Accounting records kept while no server answers; beyond it the
    /// oldest Interim-Updates go first, and every loss is counted.
    pub accounting_queue: usize,
    /// Where queued accounting records are saved when the server stops,
    /// and read back at start; unset: they are lost at a stop.
    pub accounting_spool: Option<PathBuf>,
    /// `[radius.dae]`: Disconnect and CoA requests (RFC 5176).
    pub dae: Option<DaeSettings>,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            nas_identifier: "sstp-rs".into(),
            nas_ip_address: None,
            nas_ipv6_address: None,
            called_station_id: None,
            tunnel_type: 25,
            eap: true,
            dead_time: Duration::from_secs(30),
            status_server: true,
            accounting: true,
            interim_interval: None,
            accounting_queue: 10_000,
            accounting_spool: None,
            dae: None,
        }
    }
}

/// One `[[radius.server]]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusServerSettings {
    /// A name for logs and metrics; default: the address.
    pub name: Option<String>,
    /// The server's address.
    pub address: IpAddr,
    /// Authentication port (RFC 2865 §3); 0: this server does no
    /// authentication.
    pub auth_port: u16,
    /// Accounting port (RFC 2866 §3); 0: no accounting.
    pub acct_port: u16,
    /// The shared secret, in a file of its own (first line; keep it
    /// 0600).
    pub secret_file: Option<PathBuf>,
    /// The shared secret inline (discouraged: the config file is often
    /// readable by more people than a secret should be).
    pub secret: Option<String>,
    /// Time for an answer before the request is sent again.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// Retransmissions before the server counts as dead.
    pub retries: u32,
}

impl Default for RadiusServerSettings {
    fn default() -> Self {
        Self {
            name: None,
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            auth_port: 1812,
            acct_port: 1813,
            secret_file: None,
            secret: None,
            timeout: Duration::from_secs(3),
            retries: 2,
        }
    }
}

impl RadiusServerSettings {
    /// The name logs and metrics use.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| SocketAddr::new(self.address, self.auth_port).to_string())
    }

    /// The shared secret, from the file or inline.
    pub fn read_secret(&self) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        read_secret(
            &format!("[[radius.server]] {}", self.display_name()),
            self.secret_file.as_deref(),
            self.secret.as_deref(),
        )
    }
}

/// `[radius.dae]`: the Dynamic Authorization Extensions listener (RFC
/// 5176).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaeSettings {
    /// Where Disconnect-Request and CoA-Request come in (RFC 5176 §3:
    /// UDP port 3799).
    pub listen: SocketAddr,
    /// `[[radius.dae.client]]`: who may send them; anyone else is ignored.
    #[serde(rename = "client")]
    pub clients: Vec<DaeClientSettings>,
    /// Requests whose Event-Timestamp is further than this from our clock
    /// are replays and ignored (RFC 5176 §5.3).
    #[serde(deserialize_with = "duration")]
    pub replay_window: Duration,
}

impl Default for DaeSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 3799)),
            clients: Vec::new(),
            replay_window: Duration::from_secs(300),
        }
    }
}

/// One `[[radius.dae.client]]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaeClientSettings {
    /// The client's address.
    pub address: IpAddr,
    /// Its shared secret, in a file of its own.
    pub secret_file: Option<PathBuf>,
    /// Its shared secret inline (discouraged).
    pub secret: Option<String>,
}

impl DaeClientSettings {
    /// The shared secret, from the file or inline.
    pub fn read_secret(&self) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        read_secret(
            &format!("[[radius.dae.client]] {}", self.address),
            self.secret_file.as_deref(),
            self.secret.as_deref(),
        )
    }
}

/// A secret from its file (the first line, without its end) or inline.
fn read_secret(
    what: &str,
    file: Option<&Path>,
    inline: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let secret = match (file, inline) {
        (Some(path), None) => {
            let text = Zeroizing::new(std::fs::read(path).map_err(|error| ConfigError::Io {
                path: path.to_owned(),
                error,
            })?);
            let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
            Zeroizing::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        }
        (None, Some(secret)) => Zeroizing::new(secret.as_bytes().to_vec()),
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid(format!(
                "{what}: give secret_file or secret, not both"
            )));
        }
        (None, None) => {
            return Err(ConfigError::Invalid(format!(
                "{what}: no shared secret; set secret_file (a file holding it)"
            )));
        }
    };
    if secret.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{what}: the shared secret is empty"
        )));
    }
    Ok(secret)
}

impl RadiusSettings {
    /// Makes the secret files and the spool relative to `base`.
    pub(crate) fn resolve(&mut self, base: &Path) {
        let files = self
            .servers
            .iter_mut()
            .filter_map(|s| s.secret_file.as_mut())
            .chain(self.accounting_spool.as_mut())
            .chain(
                self.dae
                    .iter_mut()
                    .flat_map(|d| d.clients.iter_mut().filter_map(|c| c.secret_file.as_mut())),
            );
        for file in files {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }

    /// Values that parse but cannot work (errors), or deserve a look
    /// (warnings).
    pub(crate) fn validate(&self) -> Result<Vec<String>, ConfigError> {
        let invalid = |s: String| Err(ConfigError::Invalid(s));
        let mut warnings = Vec::new();
        if self.servers.is_empty() {
            return invalid("[radius] lists no [[radius.server]]".into());
        }
        if !self.servers.iter().any(|s| s.auth_port != 0) {
            return invalid(
                "no [[radius.server]] does authentication: every auth_port is 0".into(),
            );
        }
        for server in &self.servers {
            let name = server.display_name();
            if server.timeout.is_zero() {
                return invalid(format!(
                    "[[radius.server]] {name}: timeout must not be zero"
                ));
            }
            if server.secret.is_some() {
                warnings.push(format!(
                    "[[radius.server]] {name}: the secret is written in the configuration; move it to a secret_file readable by the server alone"
                ));
            }
            if server.secret_file.is_none() && server.secret.is_none() {
                return invalid(format!(
                    "[[radius.server]] {name}: no shared secret; set secret_file (a file holding it)"
                ));
            }
        }
        if self.accounting && !self.servers.iter().any(|s| s.acct_port != 0) {
            return invalid(
                "radius.accounting is on, but no [[radius.server]] has an acct_port".into(),
            );
        }
        if self.nas_identifier.is_empty() && self.nas_ip_address.is_none() {
            return invalid(
                "radius.nas_identifier is empty and radius.nas_ip_address unset: RFC 2865 4.1 wants one of them".into(),
            );
        }
        if let Some(dae) = &self.dae {
            if dae.clients.is_empty() {
                warnings.push(
                    "[radius.dae] lists no [[radius.dae.client]]: every Disconnect and CoA request will be ignored".into(),
                );
            }
            if !dae.listen.ip().is_loopback() && dae.clients.iter().all(|c| c.address.is_loopback())
            {
                warnings.push(format!(
                    "[radius.dae] listens on {} but every client is on loopback",
                    dae.listen
                ));
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Backend, Config};

    fn config(text: &str) -> Result<Config, String> {
        let config = Config::from_toml(text).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    const SERVER: &str = r#"
        [[radius.server]]
        address = "127.0.0.1"
        secret_file = "radius.secret"
    "#;

    #[test]
    fn a_radius_section_makes_radius_the_backend_with_its_defaults() {
        let c = config(&format!("[radius]\n{SERVER}")).expect("valid");
        assert_eq!(c.backends(), vec![Backend::Radius]);
        let r = c.radius.as_ref().expect("radius");
        assert!(r.eap && r.accounting && r.status_server);
        assert_eq!(r.servers[0].auth_port, 1812);
        assert_eq!(r.servers[0].acct_port, 1813);
        assert_eq!(r.servers[0].display_name(), "127.0.0.1:1812");
        let chained = config(&format!(
            "[auth]\nbackends = [\"users\", \"radius\"]\n[radius]\n{SERVER}"
        ))
        .expect("valid");
        assert_eq!(chained.backends(), vec![Backend::Users, Backend::Radius]);
        assert_eq!(config("").expect("valid").backends(), vec![Backend::Users]);
    }

    #[test]
    fn unusable_radius_settings_are_refused_in_words() {
        for (text, words) in [
            ("[radius]\n".to_owned(), "lists no [[radius.server]]"),
            (
                "[radius]\n[[radius.server]]\naddress = \"127.0.0.1\"\n".to_owned(),
                "no shared secret",
            ),
            (
                "[auth]\nbackends = [\"radius\"]\n".to_owned(),
                "there is no [radius]",
            ),
            (
                format!(
                    "[auth]\nmethods = [\"eap-peap\"]\nbackends = [\"users\"]\n[radius]\n{SERVER}"
                ),
                "only a RADIUS server runs",
            ),
            (
                format!("[radius]\neap = false\n{SERVER}\n[auth]\nmethods = [\"eap-peap\"]\n"),
                "only a RADIUS server runs",
            ),
            (
                format!("[radius]\n{SERVER}acct_port = 0\n"),
                "no [[radius.server]] has an acct_port",
            ),
            (
                "[auth]\nbackends = []\n".to_owned(),
                "auth.backends is empty",
            ),
        ] {
            let err = config(&text).expect_err(words);
            assert!(err.contains(words), "{text}: {err}");
        }
        // Relayed, EAP-TLS needs no local CA and PEAP is fine.
        config(&format!(
            "[auth]\nmethods = [\"eap-tls\", \"eap-peap\"]\n[radius]\n{SERVER}"
        ))
        .expect("relayed EAP methods");
    }

    #[test]
    fn secrets_come_from_their_file_or_inline_never_both_never_empty() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\r\nsecond line\n").expect("write");
        let mut server = super::RadiusServerSettings {
            secret_file: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(&server.read_secret().expect("secret")[..], b"s3cret");
        server.secret = Some("inline".into());
        assert!(
            server
                .read_secret()
                .expect_err("both")
                .to_string()
                .contains("not both")
        );
        server.secret_file = None;
        assert_eq!(&server.read_secret().expect("inline")[..], b"inline");
        std::fs::write(&file, "\n").expect("write");
        server.secret = None;
        server.secret_file = Some(file);
        assert!(
            server
                .read_secret()
                .expect_err("empty")
                .to_string()
                .contains("empty")
        );
        let inline = config("[radius]\n[[radius.server]]\nsecret = \"x\"\n").expect("valid");
        assert!(
            inline
                .validate()
                .expect("valid")
                .iter()
                .any(|w| w.contains("move it to a secret_file"))
        );
    }
}

#[cfg(test)]
mod example {
    use super::*;

    /// The commented `[radius]` block of server.example.toml, uncommented,
    /// parses and shows every key with its default.
    #[test]
    fn the_example_documents_every_radius_key_with_its_default() {
        let text = include_str!("../../server.example.toml");
        let block = text
            .split_once("# [radius]\n")
            .expect("the example has a [radius] block")
            .1;
        let mut toml = String::from("[radius]\n");
        for line in block.lines() {
            if let Some(rest) = line.strip_prefix("# ")
                && (rest.starts_with('[')
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }))
            {
                toml.push_str(rest);
                toml.push('\n');
            }
        }
        let config = crate::Config::from_toml(&toml).expect("the uncommented block parses");
        let radius = config.radius.expect("radius");
        let optional = |s: &RadiusSettings| {
            let mut s = s.clone();
            s.servers.clear();
            s.dae = None;
            s.nas_ip_address = None;
            s.nas_ipv6_address = None;
            s.called_station_id = None;
            s.interim_interval = None;
            s.accounting_spool = None;
            s
        };
        assert_eq!(optional(&radius), RadiusSettings::default());
        let server = &radius.servers[0];
        let default = RadiusServerSettings::default();
        assert_eq!(
            (
                server.address,
                server.auth_port,
                server.acct_port,
                server.timeout,
                server.retries
            ),
            (
                default.address,
                default.auth_port,
                default.acct_port,
                default.timeout,
                default.retries
            )
        );
        let dae = radius.dae.expect("dae");
        assert_eq!(dae.listen, DaeSettings::default().listen);
        assert_eq!(dae.replay_window, DaeSettings::default().replay_window);
        assert_eq!(dae.clients.len(), 1);
    }
}
