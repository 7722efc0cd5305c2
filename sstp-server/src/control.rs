//! The session-control socket: what `sstp-server sessions`, `disconnect`,
//! `drain`, `reload` and `status` talk to, and what the CLI shows of it.
//!
//! A Unix stream socket (`control.socket`). Each connection carries one
//! request and one answer, each a line of JSON ([`Request`],
//! [`Response`]). Who may ask is checked twice: the socket file is mode
//! 0660 with `control.group` (0600 without), and the peer's credentials
//! (`SO_PEERCRED`) must be root, the server's own user, or a member of that
//! group. Everything an answer needs is read from the running server
//! ([`ServerHandle`]); a reload is the caller's ([`Reload`]), since only
//! the program knows where its files are.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::config::ControlSettings;
use crate::sessions::{SessionFilter, SessionInfo};
use crate::{ServerHandle, Status};

/// Longest request line taken.
const MAX_REQUEST: usize = 4096;
/// Most bytes read and dropped after an answer (an over-long request's
/// rest).
const MAX_DRAIN: u64 = 1 << 20;
/// Control connections served at once; more wait for a turn.
const MAX_CONCURRENT: usize = 8;
/// How long one request may take to arrive and be answered.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// One request on the control socket.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The sessions that are up (those `filter` names).
    Sessions {
        /// Which sessions; empty: all.
        #[serde(default)]
        filter: SessionFilter,
    },
    /// End the sessions `filter` names (Admin-Reset).
    Disconnect {
        /// Which sessions; must name something.
        filter: SessionFilter,
    },
    /// Start (`on`) or end draining.
    Drain {
        /// Drain, or take new sessions again.
        on: bool,
    },
    /// Read the configuration, users and certificates again (as SIGHUP).
    Reload,
    /// The server's state.
    Status,
}

/// The answer to one [`Request`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Response {
    /// The sessions asked for.
    Sessions {
        /// By session number.
        sessions: Vec<SessionInfo>,
    },
    /// The sessions told to end.
    Disconnected {
        /// What they were.
        sessions: Vec<SessionInfo>,
    },
    /// Draining changed (or not).
    Drain {
        /// Whether it drains now.
        draining: bool,
        /// Whether it drained before.
        was: bool,
        /// Sessions still up.
        sessions: usize,
    },
    /// What a reload did.
    Reloaded {
        /// Its report.
        report: ReloadReport,
    },
    /// The server's state.
    Status {
        /// It.
        status: Status,
    },
    /// The request could not be served: why, in words.
    Error {
        /// One line.
        message: String,
    },
}

/// What a reload did, each line in words.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// What changed and is in effect now.
    pub applied: Vec<String>,
    /// Settings that changed but take a restart (named, with the reason).
    pub needs_restart: Vec<String>,
    /// What failed (the old value stays).
    pub errors: Vec<String>,
}

impl ReloadReport {
    /// Whether nothing failed.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Reloads the running server's files: the program's part, since only it
/// knows where they are (the `sstp-server` binary does what SIGHUP does).
pub trait Reload: Send + Sync + 'static {
    /// Reads everything again and applies what can change; may block.
    fn reload(&self) -> ReloadReport;
}

/// Why a control request got no answer.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No server listens on the socket.
    #[error("cannot reach the server's control socket {path}: {reason}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why, with a hint.
        reason: String,
    },
    /// The exchange broke off or made no sense.
    #[error("control socket {path}: {reason}")]
    Exchange {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Sends `request` to the server at `path` and waits up to `timeout` for
/// its answer (blocking).
pub fn call(path: &Path, request: &Request, timeout: Duration) -> Result<Response, ControlError> {
    let connect = |reason: String| ControlError::Connect {
        path: path.to_owned(),
        reason,
    };
    let exchange = |reason: String| ControlError::Exchange {
        path: path.to_owned(),
        reason,
    };
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        connect(match e.kind() {
            std::io::ErrorKind::NotFound => {
                "it does not exist; is sstp-server running, and is this its control.socket?".into()
            }
            std::io::ErrorKind::ConnectionRefused => {
                "nothing listens on it; is sstp-server running?".into()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; run it as root or as a member of the group in control.group"
                    .into()
            }
            _ => e.to_string(),
        })
    })?;
    let io = |e: std::io::Error| {
        exchange(if e.kind() == std::io::ErrorKind::WouldBlock {
            format!("no answer within {} s", timeout.as_secs())
        } else {
            e.to_string()
        })
    };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let mut line = serde_json::to_string(request).map_err(|e| exchange(e.to_string()))?;
    line.push('\n');
    // A server that refuses us may answer and close before reading all of
    // it: its answer says more than the broken pipe would.
    let written = stream.write_all(line.as_bytes());
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    if answer.is_empty() {
        written.map_err(io)?;
    }
    read.map_err(io)?;
    if answer.is_empty() {
        return Err(exchange(
            "the server closed the connection without an answer".into(),
        ));
    }
    serde_json::from_str(&answer)
        .map_err(|e| exchange(format!("the answer is not one this version reads ({e})")))
}

/// The bound control socket; its file is removed when this is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    access: Access,
}

/// Who may use the socket besides root.
#[derive(Debug, Clone)]
struct Access {
    own_uid: u32,
    group: Option<(String, u32)>,
}

impl ControlSocket {
    /// Makes the socket of `settings` (needs a tokio runtime). A stale
    /// socket file from an earlier run is replaced; one a running server
    /// answers on is an error. The directory is made if missing.
    pub fn bind(settings: &ControlSettings) -> Result<Option<Self>, std::io::Error> {
        let Some(path) = settings.path() else {
            return Ok(None);
        };
        let group = match &settings.group {
            Some(name) => Some((name.clone(), group_id(name)?)),
            None => None,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::symlink_metadata(path).is_ok() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!(
                        "control socket {} is in use by another running server; give this one its own control.socket",
                        path.display()
                    ),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        let mode = if group.is_some() { 0o660 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        if let Some((_, gid)) = &group {
            std::os::unix::fs::chown(path, None, Some(*gid))?;
        }
        Ok(Some(Self {
            listener,
            path: path.to_owned(),
            access: Access {
                own_uid: nix::unistd::geteuid().as_raw(),
                group,
            },
        }))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests until the task is dropped.
    pub async fn serve(self, handle: ServerHandle, reload: Option<Arc<dyn Reload>>) {
        let turns = Arc::new(Semaphore::new(MAX_CONCURRENT));
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(turn) = Arc::clone(&turns).acquire_owned().await else {
                return;
            };
            let handle = handle.clone();
            let reload = reload.clone();
            let access = self.access.clone();
            tokio::spawn(async move {
                let served = tokio::time::timeout(
                    EXCHANGE_TIMEOUT,
                    exchange(stream, &access, &handle, reload),
                )
                .await;
                if served.is_err() {
                    debug!("control socket: a request took too long; closed");
                }
                drop(turn);
            });
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The group named `name` (a name or a number).
fn group_id(name: &str) -> Result<u32, std::io::Error> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        Ok(None) => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("control.group: there is no group named {name}"),
        )),
        Err(e) => Err(std::io::Error::other(format!(
            "control.group: cannot look up group {name}: {e}"
        ))),
    }
}

impl Access {
    /// Whether the peer with `uid`/`gid` (and process `pid`) may use the
    /// socket: root, the server's own user, or a member of the group: its
    /// primary group, a supplementary group of the process, or one the
    /// group database gives the user.
    fn allows(&self, uid: u32, gid: u32, pid: Option<i32>) -> bool {
        if uid == 0 || uid == self.own_uid {
            return true;
        }
        let Some((_, group)) = &self.group else {
            return false;
        };
        if gid == *group || pid.is_some_and(|pid| process_groups(pid).contains(group)) {
            return true;
        }
        let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) else {
            return false;
        };
        let Ok(name) = std::ffi::CString::new(user.name) else {
            return false;
        };
        nix::unistd::getgrouplist(&name, user.gid)
            .is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == *group))
    }

    fn refusal(&self) -> String {
        match &self.group {
            Some((name, _)) => format!(
                "permission denied: the control socket is for root, the server's user and members of group {name}"
            ),
            None => "permission denied: the control socket is for root and the server's user (set control.group to let a group in)".into(),
        }
    }
}

/// The supplementary groups of process `pid` (its `Groups:` line in
/// `/proc`; SO_PEERGROUPS has no safe binding). Empty if it cannot be read.
fn process_groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("Groups:").map(|groups| {
                    groups
                        .split_whitespace()
                        .filter_map(|g| g.parse().ok())
                        .collect()
                })
            })
        })
        .unwrap_or_default()
}

/// Serves one connection: reads its request, checks who it is, answers.
/// The request is read even from a peer that is refused, so that it
/// reads the refusal instead of a broken pipe.
async fn exchange(
    stream: UnixStream,
    access: &Access,
    handle: &ServerHandle,
    reload: Option<Arc<dyn Reload>>,
) {
    let (rd, mut wr) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(rd);
    let request = read_request(&mut reader).await;
    let allowed = match wr.as_ref().peer_cred() {
        Ok(cred) if access.allows(cred.uid(), cred.gid(), cred.pid()) => Ok(cred.uid()),
        Ok(cred) => Err(format!("uid {} gid {}", cred.uid(), cred.gid())),
        Err(e) => Err(format!("no peer credentials ({e})")),
    };
    let response = match (allowed, request) {
        (Err(who), _) => {
            warn!(peer = %who, "control socket: request refused: not root, the server's user or in control.group");
            Response::Error {
                message: access.refusal(),
            }
        }
        (Ok(uid), Ok(request)) => answer(request, uid, handle, reload).await,
        (Ok(_), Err(message)) => Response::Error { message },
    };
    let mut line = serde_json::to_string(&response).unwrap_or_else(|e| {
        format!(r#"{{"answer":"error","message":"cannot encode the answer: {e}"}}"#)
    });
    line.push('\n');
    if let Err(e) = wr.write_all(line.as_bytes()).await {
        debug!(error = %e, "control socket: the asker left before the answer");
    }
    let _ = wr.shutdown().await;
    // Whatever more it sent (an over-long request) is read and dropped, a
    // bounded amount, so that closing does not reset the connection before
    // the answer is read.
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::copy(
            &mut tokio::io::AsyncReadExt::take(reader, MAX_DRAIN),
            &mut tokio::io::sink(),
        ),
    )
    .await;
}

/// One bounded line of JSON.
async fn read_request(
    reader: &mut tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Result<Request, String> {
    let mut line = Vec::new();
    let mut bounded = tokio::io::AsyncReadExt::take(reader, MAX_REQUEST as u64 + 1);
    bounded
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if line.len() > MAX_REQUEST {
        return Err(format!("the request is longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(&line).map_err(|e| format!("not a request this server knows: {e}"))
}

async fn answer(
    request: Request,
    uid: u32,
    handle: &ServerHandle,
    reload: Option<Arc<dyn Reload>>,
) -> Response {
    match request {
        Request::Sessions { filter } => Response::Sessions {
            sessions: handle.sessions(&filter).await,
        },
        Request::Disconnect { filter } => {
            if filter.is_empty() {
                return Response::Error {
                    message: "disconnect needs a session: a number, a user or an address".into(),
                };
            }
            info!(uid, "control socket: disconnect requested");
            Response::Disconnected {
                sessions: handle.disconnect(&filter).await,
            }
        }
        Request::Drain { on } => {
            info!(uid, on, "control socket: drain requested");
            let was = handle.set_draining(on);
            Response::Drain {
                draining: on,
                was,
                sessions: handle.status().sessions,
            }
        }
        Request::Reload => {
            let Some(reload) = reload else {
                return Response::Error {
                    message: "this server cannot reload from its control socket".into(),
                };
            };
            info!(uid, "control socket: reload requested");
            match tokio::task::spawn_blocking(move || reload.reload()).await {
                Ok(report) => Response::Reloaded { report },
                Err(e) => Response::Error {
                    message: format!("the reload failed: {e}"),
                },
            }
        }
        Request::Status => Response::Status {
            status: handle.status(),
        },
    }
}

/// Bytes as people read them: `512 B`, `1.5 KiB`, `12.3 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A count as people read it: `834`, `12.3k`, `4.1M`.
pub fn human_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// A duration as people read it: `42s`, `5m 03s`, `2h 05m`, `3d 04h`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The sessions as an aligned table for a terminal, one line a session
/// and a header; `No sessions.` for none.
pub fn sessions_table(sessions: &[SessionInfo]) -> String {
    if sessions.is_empty() {
        return "No sessions.\n".into();
    }
    let header = [
        "ID", "USER", "METHOD", "IPV4", "IPV6", "PEER", "TLS", "UPTIME", "RECEIVED", "SENT",
    ];
    let traffic = |bytes: u64, packets: u64| {
        format!("{} ({} pkts)", human_bytes(bytes), human_count(packets))
    };
    let rows: Vec<[String; 10]> = sessions
        .iter()
        .map(|s| {
            let (received, sent) = s.traffic.map_or_else(
                || ("?".to_owned(), "?".to_owned()),
                |t| {
                    (
                        traffic(t.bytes_from_client, t.packets_from_client),
                        traffic(t.bytes_to_client, t.packets_to_client),
                    )
                },
            );
            [
                s.id.to_string(),
                s.user.clone(),
                s.method.clone(),
                s.ipv4.to_string(),
                s.ipv6.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                s.peer.to_string(),
                s.tls_version.clone().unwrap_or_else(|| "offloaded".into()),
                human_duration(s.uptime_secs),
                received,
                sent,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

/// The status as lines for a terminal.
pub fn status_text(status: &Status) -> String {
    let mut out = String::new();
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(status.up_since);
    let _ = writeln!(
        out,
        "sstp-server {}, up {} (since {})",
        status.version,
        human_duration(status.uptime_secs),
        httpdate::fmt_http_date(since)
    );
    let _ = writeln!(
        out,
        "state:           {}",
        if status.draining {
            "draining (no new sessions; /healthz answers 503)"
        } else {
            "taking sessions"
        }
    );
    let _ = writeln!(
        out,
        "sessions:        {} up of {} at most, {} not authenticated yet",
        status.sessions, status.max_sessions, status.unauthenticated
    );
    let _ = writeln!(
        out,
        "leases:          {} IPv4 addresses, {} IPv6 prefixes",
        status.ipv4_leases, status.ipv6_leases
    );
    let _ = writeln!(
        out,
        "certificate:     SHA-256 {}",
        status.certificate_sha256
    );
    for server in &status.radius {
        let _ = writeln!(
            out,
            "RADIUS {}: {}{}",
            server.name,
            if server.alive { "up" } else { "dead (skipped)" },
            server
                .last_answer_secs
                .map_or_else(String::new, |s| format!(
                    ", last answer {} ago",
                    human_duration(s)
                ))
        );
    }
    out
}

/// A reload's report as lines for a terminal.
pub fn reload_text(report: &ReloadReport) -> String {
    let mut out = String::new();
    for line in &report.applied {
        let _ = writeln!(out, "applied: {line}");
    }
    for line in &report.needs_restart {
        let _ = writeln!(out, "needs a restart: {line}");
    }
    for line in &report.errors {
        let _ = writeln!(out, "error: {line}");
    }
    if out.is_empty() {
        out.push_str("reloaded: nothing changed\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::Traffic;

    #[test]
    fn units_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12 * 1024 * 1024 + 300_000), "12 MiB");
        assert_eq!(human_bytes(u64::MAX), "16384 PiB");
        assert_eq!(human_count(834), "834");
        assert_eq!(human_count(12_345), "12.3k");
        assert_eq!(human_count(4_100_000), "4.1M");
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(303), "5m 03s");
        assert_eq!(human_duration(7500), "2h 05m");
        assert_eq!(human_duration(3 * 86400 + 4 * 3600 + 59), "3d 04h");
    }

    fn info(id: u64, user: &str, traffic: Option<Traffic>) -> SessionInfo {
        SessionInfo {
            id,
            acct_session_id: format!("0000-{id}"),
            user: user.into(),
            method: "mschapv2".into(),
            ipv4: [10, 77, 0, id as u8].into(),
            ipv6: None,
            peer: ([192, 0, 2, 1], 40000).into(),
            tls_version: Some("TLS 1.3".into()),
            up_since: 1_700_000_000,
            uptime_secs: 125,
            traffic,
        }
    }

    #[test]
    fn the_table_aligns_its_columns_and_says_what_it_does_not_know() {
        let t = Traffic {
            bytes_from_client: 2048,
            bytes_to_client: 5 * 1024 * 1024,
            packets_from_client: 10,
            packets_to_client: 4000,
        };
        let text = sessions_table(&[info(3, "alice", Some(t)), info(12, "bartholomew", None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID  USER "), "{text}");
        // Every column starts where its header does.
        let col = |line: &str, n: usize| {
            let header_at = lines[0]
                .find(["USER", "METHOD", "PEER", "RECEIVED"][n])
                .expect("header");
            line[header_at..].split("  ").next().map(str::to_owned)
        };
        assert_eq!(col(lines[1], 0).as_deref(), Some("alice"));
        assert_eq!(col(lines[2], 0).as_deref(), Some("bartholomew"));
        assert_eq!(col(lines[1], 1).as_deref(), Some("mschapv2"));
        assert_eq!(col(lines[2], 2).as_deref(), Some("192.0.2.1:40000"));
        assert_eq!(col(lines[1], 3).as_deref(), Some("2.0 KiB (10 pkts)"));
        assert!(lines[1].ends_with("5.0 MiB (4.0k pkts)"), "{text}");
        assert!(
            lines[2].ends_with("?  ?") || lines[2].ends_with('?'),
            "{text}"
        );
        assert!(lines[1].contains("2m 05s"), "{text}");
        assert_eq!(sessions_table(&[]), "No sessions.\n");
    }

    #[test]
    fn requests_and_answers_are_one_json_line_each_way() {
        let request = Request::Disconnect {
            filter: SessionFilter::user("alice"),
        };
        let text = serde_json::to_string(&request).expect("json");
        assert_eq!(
            text,
            r#"{"verb":"disconnect","filter":{"id":null,"user":"alice","ip":null}}"#
        );
        assert_eq!(
            serde_json::from_str::<Request>(&text).expect("back"),
            request
        );
        // A bare verb and a filter without every field both read.
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"verb":"sessions"}"#).expect("sessions"),
            Request::Sessions {
                filter: SessionFilter::default()
            }
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"verb":"disconnect","filter":{"id":4}}"#)
                .expect("by id"),
            Request::Disconnect {
                filter: SessionFilter::id(4)
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"verb":"shutdown"}"#).is_err());
        let answer = Response::Error {
            message: "no".into(),
        };
        let text = serde_json::to_string(&answer).expect("json");
        assert_eq!(text, r#"{"answer":"error","message":"no"}"#);
    }

    #[test]
    fn access_is_root_the_own_user_and_the_group() {
        let open = Access {
            own_uid: 990,
            group: None,
        };
        assert!(open.allows(0, 0, None));
        assert!(open.allows(990, 990, None));
        assert!(!open.allows(1000, 1000, None));
        let grouped = Access {
            own_uid: 990,
            group: Some(("sstp-admin".into(), 4242)),
        };
        assert!(grouped.allows(1000, 4242, None), "primary group");
        assert!(!grouped.allows(1000, 1000, None));
        // This test process's own supplementary groups are read from /proc.
        let me = std::process::id() as i32;
        let mine = process_groups(me);
        if let Some(g) = mine.first() {
            let theirs = Access {
                own_uid: 990,
                group: Some(("g".into(), *g)),
            };
            assert!(
                theirs.allows(1000, 1000, Some(me)),
                "supplementary {mine:?}"
            );
        }
        assert!(grouped.refusal().contains("group sstp-admin"));
        assert!(open.refusal().contains("control.group"));
    }

    #[test]
    fn reload_reports_read_in_words() {
        let report = ReloadReport {
            applied: vec!["users: 3 (was 2)".into()],
            needs_restart: vec!["listen: the listening sockets are bound at start".into()],
            errors: vec![],
        };
        let text = reload_text(&report);
        assert!(text.contains("applied: users: 3 (was 2)\n"), "{text}");
        assert!(text.contains("needs a restart: listen"), "{text}");
        assert!(report.ok());
        assert_eq!(
            reload_text(&ReloadReport::default()),
            "reloaded: nothing changed\n"
        );
    }
}
