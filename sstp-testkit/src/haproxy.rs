//! A real HAProxy 2.6 in front of our server for the load-balancer tests:
//! `scripts/haproxy` (which writes the configuration the admin guide shows)
//! behind a handle that stops it when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::script::{on_path, run_script};

/// What HAProxy does with the connections it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaProxyMode {
    /// TCP mode, TLS passing through, a PROXY v2 header on each connection.
    Proxy,
    /// HAProxy terminates TLS with a certificate of its own and relays the
    /// plain SSTP, with a PROXY v2 header, to the server's offload listener.
    Offload,
}

/// How to start HAProxy.
#[derive(Debug, Clone)]
pub struct HaProxyOptions {
    /// Proxy or offload.
    pub mode: HaProxyMode,
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Our server (its TLS or its offload listener).
    pub server: SocketAddr,
    /// The address HAProxy connects to the server from.
    pub source: Option<std::net::IpAddr>,
    /// Offload: the certificate and then its key, in one PEM file.
    pub cert: Option<PathBuf>,
}

/// A running HAProxy; dropping it stops it.
#[derive(Debug)]
pub struct HaProxy {
    dir: PathBuf,
    running: bool,
}

impl HaProxy {
    /// Why this machine cannot run HAProxy, if it cannot: not installed, and
    /// no root or no apt-get to install it.
    pub fn skip_reason() -> Option<String> {
        if on_path("haproxy") && on_path("python3") {
            return None;
        }
        if !nix::unistd::geteuid().is_root() || !on_path("apt-get") {
            return Some(
                "skipped: no haproxy (Debian: haproxy), and not root with apt-get to install it"
                    .to_owned(),
            );
        }
        None
    }

    /// Writes the configuration into `dir`, starts HAProxy and returns once
    /// its stats socket answers. The error is the script's output.
    pub fn start(dir: &Path, options: &HaProxyOptions) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let mut args: Vec<String> = vec![
            "start".into(),
            dir.display().to_string(),
            "--mode".into(),
            match options.mode {
                HaProxyMode::Proxy => "proxy".into(),
                HaProxyMode::Offload => "offload".into(),
            },
            "--listen".into(),
            options.listen.to_string(),
            "--server".into(),
            options.server.to_string(),
        ];
        if let Some(source) = options.source {
            args.extend(["--source".into(), source.to_string()]);
        }
        if let Some(cert) = &options.cert {
            args.extend(["--cert".into(), cert.display().to_string()]);
        }
        run_script("haproxy", &args)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            running: true,
        })
    }

    /// The generated configuration.
    pub fn config(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.cfg")).unwrap_or_default()
    }

    /// The status HAProxy's health checks give our server (`UP`, `DOWN`,
    /// ...), from `show stat` on its stats socket.
    pub fn server_status(&self) -> Result<String, String> {
        let stat = run_script("haproxy", &["stat".into(), self.dir.display().to_string()])?;
        stat.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields.get(1) == Some(&"sstp1"))
            .and_then(|fields| fields.get(17).map(|s| (*s).to_owned()))
            .ok_or_else(|| format!("no sstp1 line in show stat:\n{stat}"))
    }

    /// Stops HAProxy and waits until it has exited.
    pub fn stop(&mut self) -> Result<(), String> {
        if self.running {
            run_script("haproxy", &["stop".into(), self.dir.display().to_string()])?;
            self.running = false;
        }
        Ok(())
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
