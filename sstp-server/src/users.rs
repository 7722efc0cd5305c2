//! [`StaticUsers`], the authentication backend over a TOML users file.
//!
//! # The users file
//!
//! ```toml
//! [users.alice]
//! password = "correct horse battery staple"   # plaintext: every method
//!
//! [users.bob]
//! nt_hash = "8846F7EAEE8FB117AD06BDD830B7586C" # MD4(UTF-16LE password):
//!                                              # MS-CHAPv2, EAP-MSCHAPv2, PAP
//! ipv4 = "10.77.0.50"                          # optional fixed address
//! ipv6_prefix = "fd00:77:0:50::/64"            # optional fixed /64
//! ```
//!
//! User names match without a `DOMAIN\` prefix and ignoring ASCII case, as
//! Windows sends `DOMAIN\user` in whatever case the user typed (MS-CHAPv2
//! hashes the name without the domain too, RFC 2759 8.2).

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use ipnet::Ipv6Net;
use serde::Deserialize;
use sstp_core::{
    Accept, AuthData, AuthMethod, AuthRequest, AuthVerdict, Credential, user_name_without_domain,
};

use crate::auth::{AuthBackend, AuthContext, AuthConversation, AuthDecision, Round};
use crate::config::ConfigError;

/// One user of the users file.
#[derive(Clone)]
struct User {
    /// `None`: a certificate (EAP-TLS) user, with no password to check.
    credential: Option<Credential>,
    ipv4: Option<Ipv4Addr>,
    ipv6_prefix: Option<Ipv6Net>,
    /// Only the NT hash is stored (CHAP-MD5 cannot work).
    hash_only: bool,
    /// Listed but may not log in (`disabled = true`).
    disabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: HashMap<String, UserEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    password: Option<String>,
    nt_hash: Option<String>,
    ipv4: Option<Ipv4Addr>,
    ipv6_prefix: Option<Ipv6Net>,
    #[serde(default)]
    disabled: bool,
}

/// Users from a TOML file; reloadable.
///
/// ```toml
/// [users.alice]
/// password = "correct horse battery staple"   # plaintext: every method
///
/// [users.bob]
/// nt_hash = "8846F7EAEE8FB117AD06BDD830B7586C" # MS-CHAPv2, EAP-MSCHAPv2, PAP
/// ipv4 = "10.77.0.50"                          # optional fixed address
/// ipv6_prefix = "fd00:77:0:50::/64"            # optional fixed /64
/// ```
///
/// Names match without a `DOMAIN\` prefix and ignoring ASCII case.
pub struct StaticUsers {
    path: Option<PathBuf>,
    users: RwLock<Arc<HashMap<String, User>>>,
}

impl fmt::Debug for StaticUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticUsers")
            .field("path", &self.path)
            .field("users", &self.len())
            .finish()
    }
}

impl StaticUsers {
    /// Users from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            path: None,
            users: RwLock::new(Arc::new(parse_users(text, Path::new("<string>"))?)),
        })
    }

    /// Users from a file; [`reload`](Self::reload) reads it again.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Ok(Self {
            path: Some(path.to_owned()),
            users: RwLock::new(Arc::new(read_users(path)?)),
        })
    }

    /// Reads the file again and swaps the users in at once; sessions that
    /// are up stay up. On error the old users stay.
    pub fn reload(&self) -> Result<usize, ConfigError> {
        let Some(path) = &self.path else {
            return Ok(self.len());
        };
        let users = read_users(path)?;
        let n = users.len();
        *self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(users);
        Ok(n)
    }

    /// Like [`reload`](Self::reload), and also names the users who could
    /// log in before and cannot now (removed from the file or disabled),
    /// for their sessions to be ended.
    pub fn reload_and_compare(&self) -> Result<(usize, Vec<String>), ConfigError> {
        let before = self.snapshot();
        let n = self.reload()?;
        let after = self.snapshot();
        let mut gone: Vec<String> = before
            .iter()
            .filter(|(name, user)| !user.disabled && after.get(*name).is_none_or(|u| u.disabled))
            .map(|(name, _)| name.clone())
            .collect();
        gone.sort();
        Ok((n, gone))
    }

    fn snapshot(&self) -> Arc<HashMap<String, User>> {
        Arc::clone(
            &self
                .users
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every fixed IPv4 address and IPv6 prefix, for the pools to reserve.
    pub fn fixed_addresses(&self) -> (Vec<Ipv4Addr>, Vec<Ipv6Net>) {
        let users = self.snapshot();
        (
            users.values().filter_map(|u| u.ipv4).collect(),
            users.values().filter_map(|u| u.ipv6_prefix).collect(),
        )
    }

    /// Problems worth telling the admin at config check: users who cannot
    /// log in with any of `methods`, fixed addresses given twice.
    pub fn check(&self, methods: &[AuthMethod]) -> Vec<String> {
        let users = self.snapshot();
        let mut warnings = Vec::new();
        let mut hash_only: Vec<&str> = users
            .iter()
            .filter(|(_, u)| u.hash_only)
            .map(|(n, _)| n.as_str())
            .collect();
        hash_only.sort_unstable();
        if methods.contains(&AuthMethod::ChapMd5) && !hash_only.is_empty() {
            let only_chap = methods == [AuthMethod::ChapMd5];
            warnings.push(format!(
                "CHAP-MD5 needs the plaintext password, but only an NT hash is stored for {}{}",
                hash_only.join(", "),
                if only_chap {
                    ": they cannot log in at all"
                } else {
                    ": they can use the other methods only"
                }
            ));
        }
        let mut certificate_only: Vec<&str> = users
            .iter()
            .filter(|(_, u)| u.credential.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        certificate_only.sort_unstable();
        if !methods.contains(&AuthMethod::EapTls) && !certificate_only.is_empty() {
            warnings.push(format!(
                "auth.methods does not offer eap-tls, so users without a password cannot log in: {}",
                certificate_only.join(", ")
            ));
        }
        let mut v4: HashMap<Ipv4Addr, Vec<&str>> = HashMap::new();
        for (name, user) in users.iter() {
            if let Some(a) = user.ipv4 {
                v4.entry(a).or_default().push(name);
            }
        }
        for (addr, mut names) in v4 {
            if names.len() > 1 {
                names.sort_unstable();
                warnings.push(format!(
                    "{addr} is the fixed address of {}: only one of them can be connected at a time",
                    names.join(", ")
                ));
            }
        }
        if users.is_empty() {
            warnings.push("the users file has no users: nobody can log in".into());
        }
        warnings
    }
}

/// One session's conversation with the users file, over the users as they
/// were when it began.
struct UsersConversation {
    users: Arc<HashMap<String, User>>,
}

impl fmt::Debug for UsersConversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsersConversation")
            .field("users", &self.users.len())
            .finish()
    }
}

impl AuthConversation for UsersConversation {
    fn answer(self: Box<Self>, request: AuthRequest) -> Round {
        // The check is a few hashes: no need to leave this task for it.
        let decision = decide(&self.users, &request);
        Box::pin(std::future::ready((
            decision,
            self as Box<dyn AuthConversation>,
        )))
    }
}

impl AuthBackend for StaticUsers {
    fn begin(&self, _context: &AuthContext) -> Box<dyn AuthConversation> {
        Box::new(UsersConversation {
            users: self.snapshot(),
        })
    }
}

fn decide(users: &HashMap<String, User>, request: &AuthRequest) -> AuthDecision {
    let name = normalize(request.user_name());
    if users.get(&name).is_some_and(|u| u.disabled) {
        // Decided here, not passed on: a disabled account must not log in
        // through the next backend either.
        return AuthDecision::new(AuthVerdict::reject(format!(
            "the account {name:?} is disabled in the users file"
        )));
    }
    if let AuthData::Eap { identity, .. } = request.data() {
        // Relayed EAP (a chain with a RADIUS server that runs EAP): a
        // user listed here runs this server's own EAP methods, anyone
        // else is the next backend's.
        return match (identity, users.contains_key(&name)) {
            (true, true) => AuthDecision::new(AuthVerdict::Local),
            (true, false) => AuthDecision::pass(format!("unknown user {name:?}")),
            (false, _) => AuthDecision::new(AuthVerdict::reject(
                "the users file cannot run a relayed EAP method",
            )),
        };
    }
    if let AuthData::EapTls { .. } = request.data() {
        // The server checked the certificate (CA, dates, CRLs, revoked
        // thumbprints) and named the user from it: any such user may
        // connect, as with a VPN gateway's root certificate; one listed
        // here gets its fixed addresses.
        let user = users.get(&name);
        let accept = Accept::new().with_user_name(request.user_name_lossy());
        let mut decision = AuthDecision::new(AuthVerdict::Accept(accept));
        decision.ipv4 = user.and_then(|u| u.ipv4);
        decision.ipv6_prefix = user.and_then(|u| u.ipv6_prefix);
        return decision;
    }
    match users.get(&name) {
        Some(User {
            credential: Some(credential),
            ipv4,
            ipv6_prefix,
            ..
        }) => {
            let mut decision = AuthDecision::new(request.verify_with(credential));
            decision.ipv4 = *ipv4;
            decision.ipv6_prefix = *ipv6_prefix;
            decision
        }
        Some(User {
            credential: None, ..
        }) => {
            let _ = request.verify_with(&Credential::from_nt_hash([0; 16]));
            AuthDecision::new(AuthVerdict::reject(format!(
                "{name:?} has no password: it logs in with a certificate (EAP-TLS) only"
            )))
        }
        None => {
            // Do the same work as for a known user, so the time taken
            // does not tell which names exist.
            let _ = request.verify_with(&Credential::from_nt_hash([0; 16]));
            AuthDecision::pass(format!("unknown user {name:?}"))
        }
    }
}

/// The lookup key of a user name: without `DOMAIN\`, ASCII lower case.
fn normalize(name: &[u8]) -> String {
    String::from_utf8_lossy(user_name_without_domain(name)).to_ascii_lowercase()
}

fn read_users(path: &Path) -> Result<HashMap<String, User>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
        path: path.to_owned(),
        error,
    })?;
    parse_users(&text, path)
}

/// MD4 of the UTF-16LE empty string (RFC 2759 8.3 NtPasswordHash of "").
const EMPTY_PASSWORD_NT_HASH: [u8; 16] = [
    0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31, 0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0,
];

fn parse_users(text: &str, path: &Path) -> Result<HashMap<String, User>, ConfigError> {
    let file: UsersFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let invalid = |name: &str, what: &str| {
        ConfigError::Invalid(format!("{}: user {name:?}: {what}", path.display()))
    };
    let mut users = HashMap::with_capacity(file.users.len());
    for (name, entry) in file.users {
        let (credential, hash_only) = match (entry.password, entry.nt_hash) {
            (Some(password), None) if password.is_empty() => {
                return Err(invalid(
                    &name,
                    "the password is empty, which anyone could guess; set one (or an nt_hash from `sstp-server nt-hash`)",
                ));
            }
            (Some(password), None) => (Some(Credential::from_password(password)), false),
            (None, Some(hash)) => {
                let bytes: [u8; 16] = hex::decode(hash.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| invalid(&name, "nt_hash must be 32 hex digits"))?;
                if bytes == EMPTY_PASSWORD_NT_HASH {
                    return Err(invalid(
                        &name,
                        "nt_hash is the hash of the empty password, which anyone could guess; set a password",
                    ));
                }
                (Some(Credential::from_nt_hash(bytes)), true)
            }
            (Some(_), Some(_)) => {
                return Err(invalid(&name, "give either password or nt_hash, not both"));
            }
            // An EAP-TLS user listed for its fixed addresses: the
            // certificate proves who it is, no password method lets it in.
            (None, None) => (None, false),
        };
        if let Some(prefix) = entry.ipv6_prefix
            && (prefix.prefix_len() != 64 || prefix.trunc() != prefix)
        {
            return Err(invalid(&name, "ipv6_prefix must be a /64 network"));
        }
        let key = normalize(name.as_bytes());
        if key.is_empty() {
            return Err(invalid(&name, "empty user name"));
        }
        let user = User {
            credential,
            ipv4: entry.ipv4,
            ipv6_prefix: entry.ipv6_prefix,
            hash_only,
            disabled: entry.disabled,
        };
        if users.insert(key, user).is_some() {
            return Err(invalid(
                &name,
                "listed twice (names match without DOMAIN\\ and ignoring case)",
            ));
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use sstp_core::{AuthData, PapPassword};

    use super::*;

    fn pap(user: &str, password: &str) -> AuthRequest {
        AuthRequest::new(
            AuthMethod::Pap,
            user.as_bytes().to_vec(),
            AuthData::Pap {
                password: PapPassword::new(password),
            },
        )
        .expect("PAP data fits PAP")
    }

    const USERS: &str = r#"
        [users.alice]
        password = "correct horse"
        [users.Bob]
        nt_hash = "8846F7EAEE8FB117AD06BDD830B7586C" # "password"
        ipv4 = "10.77.0.50"
        ipv6_prefix = "fd00:77:0:50::/64"
    "#;

    fn decide(users: &StaticUsers, request: AuthRequest) -> AuthDecision {
        crate::auth::answer_now(users, request)
    }

    #[test]
    fn plaintext_and_hash_users() {
        let users = StaticUsers::from_toml(USERS).expect("users");
        assert_eq!(users.len(), 2);
        assert!(
            decide(&users, pap("alice", "correct horse"))
                .verdict
                .is_accept()
        );
        assert!(!decide(&users, pap("alice", "wrong")).verdict.is_accept());
        let bob = decide(&users, pap("CORP\\BOB", "password"));
        assert!(bob.verdict.is_accept(), "domain and case do not matter");
        assert_eq!(bob.ipv4, Some(Ipv4Addr::new(10, 77, 0, 50)));
        assert_eq!(
            bob.ipv6_prefix.map(|p| p.to_string()).as_deref(),
            Some("fd00:77:0:50::/64")
        );
        let nobody = decide(&users, pap("mallory", "x"));
        assert!(matches!(
            nobody.verdict,
            AuthVerdict::Reject { ref reason, .. } if reason.contains("unknown user")
        ));
        let (v4, v6) = users.fixed_addresses();
        assert_eq!(v4, [Ipv4Addr::new(10, 77, 0, 50)]);
        assert_eq!(v6.len(), 1);
    }

    #[test]
    fn the_example_users_file_loads() {
        let users = StaticUsers::from_toml(include_str!("../users.example.toml")).expect("parses");
        assert_eq!(users.len(), 2);
        // bob's hash is the NT hash of "password".
        assert!(decide(&users, pap("bob", "password")).verdict.is_accept());
        assert!(
            decide(&users, pap("alice", "correct horse battery staple"))
                .verdict
                .is_accept()
        );
    }

    #[test]
    fn config_check_says_chap_md5_needs_plaintext() {
        let users = StaticUsers::from_toml(USERS).expect("users");
        assert!(users.check(&AuthMethod::DEFAULT_SERVER_ORDER).is_empty());
        let warnings = users.check(&[AuthMethod::MsChapV2, AuthMethod::ChapMd5]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("CHAP-MD5 needs the plaintext password"));
        assert!(warnings[0].contains("bob"));
        assert!(users.check(&[AuthMethod::ChapMd5])[0].contains("cannot log in at all"));
    }

    #[test]
    fn the_empty_password_hash_is_md4_of_nothing() {
        let hash = sstp_core::NtPasswordHash::from_password("");
        assert_eq!(hash.as_bytes(), &EMPTY_PASSWORD_NT_HASH);
    }

    #[test]
    fn bad_files_are_refused() {
        for (text, what) in [
            ("[users.a]\npassword = \"x\"\nnt_hash = \"00\"", "not both"),
            ("[users.a]\nnt_hash = \"abc\"", "32 hex digits"),
            (
                "[users.a]\npassword = \"x\"\nipv6_prefix = \"fd00::/56\"",
                "/64",
            ),
            (
                "[users.a]\npassword = \"x\"\n[users.A]\npassword = \"y\"",
                "listed twice",
            ),
            ("[users.a]\npasswd = \"x\"", "unknown field"),
            (
                "[users.a]\npassword = \"\"",
                "user \"a\": the password is empty",
            ),
            (
                "[users.a]\nnt_hash = \"31D6CFE0D16AE931B73C59D7E0C089C0\"",
                "hash of the empty password",
            ),
        ] {
            let err = StaticUsers::from_toml(text).expect_err(what).to_string();
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn certificate_users_have_no_password_and_get_their_addresses_by_certificate() {
        let users = StaticUsers::from_toml(
            "[users.alice]\nipv4 = \"10.77.0.9\"\n[users.bob]\npassword = \"pw\"\n",
        )
        .expect("users");
        let refused = decide(&users, pap("alice", ""));
        let AuthVerdict::Reject { reason, .. } = &refused.verdict else {
            panic!("{refused:?}");
        };
        assert_eq!(
            reason,
            "\"alice\" has no password: it logs in with a certificate (EAP-TLS) only"
        );
        let tls = |name: &str| {
            AuthRequest::new(
                AuthMethod::EapTls,
                name,
                AuthData::EapTls {
                    certificates: Vec::new(),
                },
            )
            .expect("request")
        };
        // Listed: its fixed address; not listed: any certificate user.
        let alice = decide(&users, tls("Alice"));
        assert!(alice.verdict.is_accept());
        assert_eq!(alice.ipv4, Some(Ipv4Addr::new(10, 77, 0, 9)));
        let carol = decide(&users, tls("carol"));
        assert!(carol.verdict.is_accept());
        assert_eq!(carol.ipv4, None);
        assert!(
            users.check(&[AuthMethod::MsChapV2])[0]
                .ends_with("users without a password cannot log in: alice")
        );
        assert!(users.check(&[AuthMethod::EapTls]).is_empty());
    }

    #[test]
    fn reload_swaps_users_and_keeps_the_old_ones_on_error() {
        let dir = std::env::temp_dir().join(format!("sstp-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("users.toml");
        std::fs::write(&path, "[users.a]\npassword = \"one\"\n").expect("write");
        let users = StaticUsers::load(&path).expect("load");
        assert!(decide(&users, pap("a", "one")).verdict.is_accept());
        std::fs::write(&path, "[users.a]\npassword = \"two\"\n").expect("write");
        assert_eq!(users.reload().expect("reload"), 1);
        assert!(!decide(&users, pap("a", "one")).verdict.is_accept());
        assert!(decide(&users, pap("a", "two")).verdict.is_accept());
        std::fs::write(&path, "[users.a]\npasswd = \"x\"\n").expect("write");
        assert!(users.reload().is_err());
        assert!(decide(&users, pap("a", "two")).verdict.is_accept());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn disabled_users_are_refused_and_a_reload_names_who_lost_access() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("users.toml");
        std::fs::write(
            &path,
            "[users.a]\npassword = \"one\"\n[users.b]\npassword = \"two\"\n[users.c]\npassword = \"three\"\ndisabled = true\n",
        )
        .expect("write");
        let users = StaticUsers::load(&path).expect("load");
        let refused = decide(&users, pap("C", "three"));
        let AuthVerdict::Reject { reason, .. } = &refused.verdict else {
            panic!("a disabled user logged in");
        };
        assert!(reason.contains("\"c\" is disabled"), "{reason}");
        assert!(!refused.pass, "not passed to the next backend");
        // b disabled, a removed, c enabled again, d new.
        std::fs::write(
            &path,
            "[users.b]\npassword = \"two\"\ndisabled = true\n[users.c]\npassword = \"three\"\n[users.d]\npassword = \"four\"\n",
        )
        .expect("write");
        let (n, gone) = users.reload_and_compare().expect("reload");
        assert_eq!((n, gone), (3, vec!["a".to_owned(), "b".to_owned()]));
        assert!(decide(&users, pap("c", "three")).verdict.is_accept());
    }
}
