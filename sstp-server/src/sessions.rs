//! The live sessions, for whoever must find one from outside its task: a
//! RADIUS Disconnect-Request or CoA-Request (RFC 5176) names a session by
//! Acct-Session-Id, User-Name or Framed-IP-Address, and the session's task
//! gets the order through its control channel.
//!
//! A session registers when it comes up and its guard removes it when the
//! task ends, whatever ends it.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sstp_core::{Ending, user_name_without_domain};
use tokio::sync::mpsc;

/// What a session's task is told from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// End the session (a Disconnect-Request: Admin-Reset).
    End(Ending),
    /// A new Session-Timeout, counted from now (a CoA-Request).
    SessionTimeout(Duration),
}

/// A live session as the registry knows it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) acct_session_id: String,
    pub(crate) user: String,
    pub(crate) ipv4: Ipv4Addr,
    pub(crate) control: mpsc::Sender<Control>,
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
fn same_user(a: &str, b: &str) -> bool {
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

    /// Live sessions.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
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
}
