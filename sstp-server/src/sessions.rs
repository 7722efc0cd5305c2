//! The live sessions, for whoever must find one from outside its task: a
//! RADIUS Disconnect-Request or CoA-Request (RFC 5176) names a session by
//! Acct-Session-Id, User-Name or Framed-IP-Address; the control socket
//! lists them and ends them; the per-user session limit counts them. The
//! session's task gets each order through its control channel.
//!
//! A session registers when it comes up and its guard removes it when the
//! task ends, whatever ends it. What changes while it runs (its traffic)
//! stays in the task and is asked for ([`Control::Report`]), so the data
//! path pays nothing for the listing.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};
use sstp_core::{Ending, user_name_without_domain};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How long a listing waits for a session to report its counters; a
/// session that does not answer in time is listed without them.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a session's task is told from outside.
#[derive(Debug)]
pub(crate) enum Control {
    /// End the session (a Disconnect-Request or the control socket:
    /// Admin-Reset; the per-user limit: Preempted).
    End(Ending),
    /// A new Session-Timeout, counted from now (a CoA-Request).
    SessionTimeout(Duration),
    /// Send back the session's traffic so far.
    Report(oneshot::Sender<Traffic>),
}

/// A session's IP traffic so far, as the server counts it (RFC 2866 §5.3,
/// §5.4: "input" is what the client sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// IP bytes the client sent.
    pub bytes_from_client: u64,
    /// IP bytes sent to the client.
    pub bytes_to_client: u64,
    /// IP packets the client sent.
    pub packets_from_client: u64,
    /// IP packets sent to the client.
    pub packets_to_client: u64,
}

/// A live session as the registry knows it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) acct_session_id: String,
    pub(crate) user: String,
    pub(crate) ipv4: Ipv4Addr,
    pub(crate) control: mpsc::Sender<Control>,
    /// What the listing shows and nothing else uses.
    pub(crate) about: About,
}

#[cfg(test)]
impl Entry {
    /// A registered-looking session for tests elsewhere in the crate.
    pub(crate) fn for_test(
        acct_session_id: &str,
        user: &str,
        ipv4: Ipv4Addr,
        control: mpsc::Sender<Control>,
    ) -> Self {
        Self {
            acct_session_id: acct_session_id.into(),
            user: user.into(),
            ipv4,
            control,
            about: About {
                method: "mschapv2",
                ipv6: Some("fd00:77:0:1::/64".parse().expect("prefix")),
                peer: SocketAddr::from(([192, 0, 2, ipv4.octets()[3]], 40000)),
                tls_version: Some("TLS 1.3"),
                up_at: Instant::now(),
                up_wall: SystemTime::now(),
                remote: false,
            },
        }
    }
}

/// The parts of a session that do not change once it is up.
#[derive(Debug, Clone)]
pub(crate) struct About {
    pub(crate) method: &'static str,
    pub(crate) ipv6: Option<Ipv6Net>,
    pub(crate) peer: SocketAddr,
    pub(crate) tls_version: Option<&'static str>,
    pub(crate) up_at: Instant,
    pub(crate) up_wall: SystemTime,
    /// A remote server (RADIUS) accepted it, not the users file.
    pub(crate) remote: bool,
}

/// One session that is up, as `sstp-server sessions` shows it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The server's number for the session (what `disconnect ID` takes).
    pub id: u64,
    /// Its RADIUS Acct-Session-Id (RFC 2866 §5.5).
    pub acct_session_id: String,
    /// The user as authenticated.
    pub user: String,
    /// The authentication method (`mschapv2`, `eap-tls`, ...).
    pub method: String,
    /// The client's IPv4 address in the tunnel.
    pub ipv4: Ipv4Addr,
    /// The client's IPv6 prefix, if IPv6CP came up.
    pub ipv6: Option<Ipv6Net>,
    /// Where the client connects from (behind a balancer: the address its
    /// PROXY header gave).
    pub peer: SocketAddr,
    /// The TLS version of the connection (`None` behind a TLS offloader).
    pub tls_version: Option<String>,
    /// When the session came up, in seconds since the Unix epoch.
    pub up_since: u64,
    /// Seconds since it came up.
    pub uptime_secs: u64,
    /// Its traffic, if it answered in time.
    pub traffic: Option<Traffic>,
}

/// Which sessions a control request names; every field given must match.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFilter {
    /// The session number.
    pub id: Option<u64>,
    /// The user, matched as logins are (no `DOMAIN\`, any case).
    pub user: Option<String>,
    /// The client's tunnel address (IPv4, or an address in its IPv6
    /// prefix) or the address it connects from.
    pub ip: Option<IpAddr>,
}

impl SessionFilter {
    /// Names the sessions that match every one given.
    pub fn new(id: Option<u64>, user: Option<String>, ip: Option<IpAddr>) -> Self {
        Self { id, user, ip }
    }

    /// Names the session numbered `id`.
    pub fn id(id: u64) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Names every session of `user`.
    pub fn user(user: impl Into<String>) -> Self {
        Self {
            user: Some(user.into()),
            ..Self::default()
        }
    }

    /// Names the session with tunnel or peer address `ip`.
    pub fn ip(ip: IpAddr) -> Self {
        Self {
            ip: Some(ip),
            ..Self::default()
        }
    }

    /// Whether it names anything at all.
    pub const fn is_empty(&self) -> bool {
        self.id.is_none() && self.user.is_none() && self.ip.is_none()
    }

    fn matches(&self, id: u64, entry: &Entry) -> bool {
        self.id.is_none_or(|i| i == id)
            && self.user.as_ref().is_none_or(|u| same_user(u, &entry.user))
            && self.ip.is_none_or(|ip| match ip {
                IpAddr::V4(v4) => v4 == entry.ipv4 || ip == entry.about.peer.ip(),
                IpAddr::V6(v6) => {
                    entry.about.ipv6.is_some_and(|p| p.contains(&v6)) || ip == entry.about.peer.ip()
                }
            })
    }
}

/// How a request names sessions (RFC 5176 §3: every attribute given must
/// match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selector {
    pub(crate) acct_session_id: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) ipv4: Option<Ipv4Addr>,
}

impl Selector {
    /// Whether it names anything at all.
    pub(crate) const fn is_empty(&self) -> bool {
        self.acct_session_id.is_none() && self.user.is_none() && self.ipv4.is_none()
    }

    fn matches(&self, entry: &Entry) -> bool {
        self.acct_session_id
            .as_ref()
            .is_none_or(|id| *id == entry.acct_session_id)
            && self.user.as_ref().is_none_or(|u| same_user(u, &entry.user))
            && self.ipv4.is_none_or(|ip| ip == entry.ipv4)
    }
}

/// User names match as logins do: without `DOMAIN\`, ignoring ASCII case.
pub(crate) fn same_user(a: &str, b: &str) -> bool {
    user_name_without_domain(a.as_bytes())
        .eq_ignore_ascii_case(user_name_without_domain(b.as_bytes()))
}

/// The live sessions, by session number.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<u64, Entry>>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers session `id`; the guard unregisters it.
    pub(crate) fn register(self: &Arc<Self>, id: u64, entry: Entry) -> Registered {
        self.map().insert(id, entry);
        Registered {
            sessions: Arc::clone(self),
            id,
        }
    }

    /// The sessions `selector` names.
    pub(crate) fn select(&self, selector: &Selector) -> Vec<Entry> {
        self.map()
            .values()
            .filter(|e| selector.matches(e))
            .cloned()
            .collect()
    }

    /// The sessions `filter` names, by session number.
    pub(crate) fn filter(&self, filter: &SessionFilter) -> Vec<(u64, Entry)> {
        let mut found: Vec<_> = self
            .map()
            .iter()
            .filter(|(id, e)| filter.matches(**id, e))
            .map(|(id, e)| (*id, e.clone()))
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found
    }

    /// The sessions of `user`, oldest first.
    pub(crate) fn of_user(&self, user: &str) -> Vec<(u64, Entry)> {
        self.filter(&SessionFilter::user(user))
    }

    /// Live sessions.
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

/// What the listing shows of `entry`, its traffic asked for (and waited
/// for at most [`REPORT_TIMEOUT`]).
pub(crate) async fn describe(id: u64, entry: Entry) -> SessionInfo {
    let (tx, rx) = oneshot::channel();
    let traffic = match entry.control.try_send(Control::Report(tx)) {
        Ok(()) => tokio::time::timeout(REPORT_TIMEOUT, rx)
            .await
            .ok()
            .and_then(Result::ok),
        Err(_) => None,
    };
    let about = entry.about;
    SessionInfo {
        id,
        acct_session_id: entry.acct_session_id,
        user: entry.user,
        method: about.method.to_owned(),
        ipv4: entry.ipv4,
        ipv6: about.ipv6,
        peer: about.peer,
        tls_version: about.tls_version.map(str::to_owned),
        up_since: about
            .up_wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        uptime_secs: about.up_at.elapsed().as_secs(),
        traffic,
    }
}

/// A session's place in [`Sessions`], given back on drop.
#[derive(Debug)]
pub(crate) struct Registered {
    sessions: Arc<Sessions>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.sessions.map().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, user: &str, ip: [u8; 4]) -> (Entry, mpsc::Receiver<Control>) {
        let (control, rx) = mpsc::channel(1);
        let entry = Entry {
            acct_session_id: id.into(),
            user: user.into(),
            ipv4: Ipv4Addr::from(ip),
            control,
            about: About {
                method: "mschapv2",
                ipv6: Some("fd00:77:0:1::/64".parse().expect("prefix")),
                peer: SocketAddr::from(([192, 0, 2, ip[3]], 40000)),
                tls_version: Some("TLSv1.3"),
                up_at: Instant::now(),
                up_wall: SystemTime::now(),
                remote: false,
            },
        };
        (entry, rx)
    }

    #[test]
    fn every_given_attribute_must_match_and_guards_unregister() {
        let sessions = Arc::new(Sessions::default());
        let (a, _ra) = entry("A-1", "CORP\\Alice", [10, 77, 0, 2]);
        let (b, _rb) = entry("A-2", "bob", [10, 77, 0, 3]);
        let ga = sessions.register(1, a);
        let _gb = sessions.register(2, b);
        let by = |id: Option<&str>, user: Option<&str>, ip: Option<[u8; 4]>| {
            let selector = Selector {
                acct_session_id: id.map(Into::into),
                user: user.map(Into::into),
                ipv4: ip.map(Ipv4Addr::from),
            };
            let mut ids: Vec<String> = sessions
                .select(&selector)
                .into_iter()
                .map(|e| e.acct_session_id)
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(by(Some("A-1"), None, None), ["A-1"]);
        assert_eq!(
            by(None, Some("alice"), None),
            ["A-1"],
            "domain and case ignored"
        );
        assert_eq!(by(None, None, Some([10, 77, 0, 3])), ["A-2"]);
        assert!(
            by(Some("A-1"), Some("bob"), None).is_empty(),
            "all must match"
        );
        assert_eq!(by(None, None, None), ["A-1", "A-2"]);
        assert!(Selector::default().is_empty());
        drop(ga);
        assert_eq!(sessions.len(), 1);
        assert!(by(Some("A-1"), None, None).is_empty());
    }

    #[test]
    fn filters_name_sessions_by_number_user_and_any_of_their_addresses() {
        let sessions = Arc::new(Sessions::default());
        let (a, _ra) = entry("A-1", "CORP\\Alice", [10, 77, 0, 2]);
        let (b, _rb) = entry("A-2", "bob", [10, 77, 0, 3]);
        let (c, _rc) = entry("A-3", "alice", [10, 77, 0, 4]);
        let _g = [
            sessions.register(7, a),
            sessions.register(3, b),
            sessions.register(9, c),
        ];
        let ids = |f: SessionFilter| -> Vec<u64> {
            sessions.filter(&f).into_iter().map(|(id, _)| id).collect()
        };
        assert_eq!(ids(SessionFilter::id(3)), [3]);
        assert_eq!(ids(SessionFilter::user("ALICE")), [7, 9], "oldest first");
        assert_eq!(ids(SessionFilter::ip([10, 77, 0, 3].into())), [3]);
        assert_eq!(
            ids(SessionFilter::ip([192, 0, 2, 4].into())),
            [9],
            "the peer address names it too"
        );
        assert_eq!(
            ids(SessionFilter::ip("fd00:77:0:1::5".parse().expect("v6"))),
            [3, 7, 9],
            "an address inside the IPv6 prefix"
        );
        assert!(ids(SessionFilter::id(4)).is_empty());
        let both = SessionFilter {
            id: Some(7),
            user: Some("bob".into()),
            ip: None,
        };
        assert!(ids(both).is_empty(), "every field given must match");
        assert_eq!(sessions.of_user("alice").len(), 2);
    }

    #[tokio::test]
    async fn a_listing_asks_the_session_for_its_traffic_and_does_not_wait_forever() {
        let (a, mut rx) = entry("A-1", "alice", [10, 77, 0, 2]);
        let answering = tokio::spawn(async move {
            if let Some(Control::Report(tx)) = rx.recv().await {
                let _ = tx.send(Traffic {
                    bytes_from_client: 10,
                    bytes_to_client: 20,
                    packets_from_client: 1,
                    packets_to_client: 2,
                });
            }
        });
        let info = describe(7, a).await;
        answering.await.expect("task");
        assert_eq!(
            (info.id, info.user.as_str(), info.method.as_str()),
            (7, "alice", "mschapv2")
        );
        assert_eq!(info.traffic.map(|t| t.bytes_to_client), Some(20));
        // A session whose task is gone is listed without counters.
        let (b, rx) = entry("A-2", "bob", [10, 77, 0, 3]);
        drop(rx);
        assert_eq!(describe(8, b).await.traffic, None);
    }
}
