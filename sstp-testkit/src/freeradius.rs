//! A real FreeRADIUS 3.2 for the RADIUS tests: `scripts/freeradius` behind
//! a handle that stops it when dropped.
//!
//! The script generates the whole configuration into the folder it is
//! given (its header lists the users, methods and what Debian's 3.2.1 does
//! about Message-Authenticator); this side only runs it and reads back what
//! it wrote: the ports, the secret, the certificates and the accounting
//! records (the `detail` module's file, RFC 2866 attributes as text).

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::script::{on_path, run_script};

/// The commands `scripts/freeradius` needs, which it installs as root.
const COMMANDS: [&str; 5] = [
    "freeradius",
    "radclient",
    "eapol_test",
    "openssl",
    "python3",
];

/// How to start the server; every field has a default.
#[derive(Debug, Clone, Default)]
pub struct FreeRadiusOptions {
    /// The authentication port (RFC 2865), on 127.0.0.1 and ::1; a free
    /// one when `None`.
    pub auth_port: Option<u16>,
    /// The accounting port (RFC 2866); a free one when `None`.
    pub acct_port: Option<u16>,
    /// The shared secret of the 127.0.0.1 and ::1 clients; the script's
    /// default (`testing123-sstp`) when `None`.
    pub secret: Option<String>,
    /// More users, in the `users` file format, appended to the script's
    /// (which come first, so they cannot be redefined here).
    pub extra_users: Option<String>,
    /// Have every Access-Accept, Access-Reject and Status-Server answer
    /// carry a Message-Authenticator (`--sign-replies`). Debian's 3.2.1
    /// signs only answers with an EAP-Message; this is the unlang
    /// workaround, for a client that requires one in every answer.
    pub sign_replies: bool,
}

/// A running FreeRADIUS; dropping it stops the server (its folder stays).
#[derive(Debug)]
pub struct FreeRadius {
    dir: PathBuf,
    auth_port: u16,
    acct_port: u16,
    ipv6: bool,
    secret: String,
    running: bool,
}

impl FreeRadius {
    /// Why this machine cannot run FreeRADIUS, if it cannot: a command is
    /// missing and there is no root or no apt-get to install it. `None`
    /// also when root on Debian will install it at the first start.
    pub fn skip_reason() -> Option<String> {
        let missing: Vec<&str> = COMMANDS.into_iter().filter(|c| !on_path(c)).collect();
        if missing.is_empty() {
            return None;
        }
        let missing = missing.join(", ");
        if !nix::unistd::geteuid().is_root() {
            return Some(format!(
                "skipped: no {missing} (Debian: freeradius, freeradius-utils, eapoltest), \
                 and not root to install them"
            ));
        }
        if !on_path("apt-get") {
            return Some(format!(
                "skipped: no {missing}, and no apt-get to install them"
            ));
        }
        None
    }

    /// Generates a configuration into `dir` (created if need be), starts
    /// the server and returns once it answers on both ports. The error is
    /// the script's output, the last lines of the server's log included.
    pub fn start(dir: &Path, options: FreeRadiusOptions) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut args: Vec<String> = vec!["start".into(), dir.display().to_string()];
        if let Some(port) = options.auth_port {
            args.extend(["--auth-port".into(), port.to_string()]);
        }
        if let Some(port) = options.acct_port {
            args.extend(["--acct-port".into(), port.to_string()]);
        }
        if let Some(secret) = options.secret {
            args.extend(["--secret".into(), secret]);
        }
        if let Some(users) = options.extra_users {
            let path = dir.join("extra-users");
            fs::write(&path, users).map_err(|e| format!("write {}: {e}", path.display()))?;
            args.extend(["--users".into(), path.display().to_string()]);
        }
        if options.sign_replies {
            args.push("--sign-replies".into());
        }
        run_script("freeradius", &args)?;
        let mut server = Self {
            dir,
            auth_port: 0,
            acct_port: 0,
            ipv6: false,
            secret: String::new(),
            running: true,
        };
        server.read_state()?;
        Ok(server)
    }

    /// Where it listens for Access-Requests (and Status-Server).
    pub fn auth_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.auth_port))
    }

    /// Where it listens for Accounting-Requests (and Status-Server).
    pub fn acct_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.acct_port))
    }

    /// The authentication port on ::1, when this machine has IPv6.
    pub fn auth_addr_v6(&self) -> Option<SocketAddr> {
        self.ipv6
            .then(|| SocketAddr::from((Ipv6Addr::LOCALHOST, self.auth_port)))
    }

    /// The accounting port on ::1, when this machine has IPv6.
    pub fn acct_addr_v6(&self) -> Option<SocketAddr> {
        self.ipv6
            .then(|| SocketAddr::from((Ipv6Addr::LOCALHOST, self.acct_port)))
    }

    /// The shared secret of the 127.0.0.1 and ::1 clients.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The folder holding the configuration, certificates, log and records.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA (PEM) that signed the server's and tls-user's certificates:
    /// what an EAP peer trusts.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("certs/ca.pem")
    }

    /// tls-user's certificate (PEM, CN `tls-user`, EKU clientAuth).
    pub fn tls_user_cert(&self) -> PathBuf {
        self.dir.join("certs/tls-user.pem")
    }

    /// tls-user's private key (PKCS#8 PEM, ECDSA P-256).
    pub fn tls_user_key(&self) -> PathBuf {
        self.dir.join("certs/tls-user.key")
    }

    /// The server's log (debug level 2: every request and reply), to
    /// print when a test fails.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("radius.log")
    }

    /// The accounting records received so far, oldest first.
    pub fn detail_records(&self) -> Vec<DetailRecord> {
        fs::read_to_string(self.dir.join("detail"))
            .map(|text| DetailRecord::parse_all(&text))
            .unwrap_or_default()
    }

    /// Runs `scripts/freeradius selftest`: the configuration checked with
    /// radclient and eapol_test alone. `Ok` is its report (one line per
    /// check), `Err` the report with the failures.
    pub fn selftest(&self) -> Result<String, String> {
        run_script(
            "freeradius",
            &["selftest".into(), self.dir.display().to_string()],
        )
    }

    /// Stops the server and waits until it has exited.
    pub fn stop(&mut self) -> Result<(), String> {
        if self.running {
            run_script(
                "freeradius",
                &["stop".into(), self.dir.display().to_string()],
            )?;
            self.running = false;
        }
        Ok(())
    }

    /// Stops the server and starts it again with the same configuration,
    /// ports, secret and certificates; returns once it answers.
    pub fn restart(&mut self) -> Result<(), String> {
        run_script(
            "freeradius",
            &["restart".into(), self.dir.display().to_string()],
        )?;
        self.running = true;
        self.read_state()
    }

    /// Reads the ports and the secret the script wrote.
    fn read_state(&mut self) -> Result<(), String> {
        let read = |name: &str| {
            fs::read_to_string(self.dir.join(name))
                .map_err(|e| format!("read {}/{name}: {e}", self.dir.display()))
        };
        let ports = read("ports")?;
        let value = |key: &str| {
            ports
                .lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .ok_or_else(|| format!("no {key}= in ports: {ports:?}"))
        };
        let port = |key: &str| {
            value(key)?
                .parse::<u16>()
                .map_err(|e| format!("{key} port: {e}"))
        };
        self.auth_port = port("auth")?;
        self.acct_port = port("acct")?;
        self.ipv6 = value("ipv6")? == "yes";
        self.secret = read("secret")?.trim_end_matches('\n').to_owned();
        Ok(())
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// One accounting record of the `detail` module's file: a line with the
/// time it was written, then one `\tName = value` line per attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRecord {
    /// The first line, e.g. `Wed Dec  2 06:47:24 2026` (the header `%t`).
    pub time: String,
    /// The attributes in file order, values unquoted and unescaped.
    pub attributes: Vec<(String, String)>,
}

impl DetailRecord {
    /// The first value of attribute `name` (`Acct-Status-Type`, ...).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of attribute `name`, in file order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The records of a whole file: separated by blank lines, each a time
    /// line and attribute lines (others are skipped).
    pub fn parse_all(text: &str) -> Vec<Self> {
        let mut records = Vec::new();
        let mut current: Option<Self> = None;
        for line in text.lines() {
            if line.trim().is_empty() {
                records.extend(current.take());
            } else if let Some(attr) = line.strip_prefix('\t') {
                if let (Some(record), Some((name, value))) =
                    (current.as_mut(), attr.split_once(" = "))
                {
                    record
                        .attributes
                        .push((name.trim().to_owned(), unquote(value.trim())));
                }
            } else {
                records.extend(current.replace(Self {
                    time: line.to_owned(),
                    attributes: Vec::new(),
                }));
            }
        }
        records.extend(current);
        records
    }
}

/// A value as FreeRADIUS prints it: a quoted string loses its quotes and
/// its escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\ooo` octal); anything else
/// (numbers, names, addresses, `0x` octets) is as written.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let rest: Vec<u8> = bytes.clone().take(2).collect();
                if rest.len() == 2 && rest.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    let n = [d, rest[0], rest[1]]
                        .iter()
                        .fold(0u32, |n, c| n * 8 + u32::from(c - b'0'));
                    out.push(u8::try_from(n).unwrap_or(b'?'));
                    bytes.nth(1);
                } else {
                    out.push(d);
                }
            }
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two records as rlm_detail writes them (3.2.1, header `%t`).
    const DETAIL: &str = "Wed Dec  2 06:47:24 2026\n\
        \tAcct-Status-Type = Start\n\
        \tAcct-Session-Id = \"s-1\"\n\
        \tUser-Name = \"a \\\"quoted\\\" \\\\ name\\101\"\n\
        \tFramed-IP-Address = 10.77.0.9\n\
        \tClass = 0x6572696e\n\
        \tTimestamp = 1796194044\n\
        \n\
        Wed Dec  2 06:47:25 2026\n\
        \tAcct-Status-Type = Stop\n\
        \tAcct-Session-Id = \"s-1\"\n\
        \tClass = 0x01\n\
        \tClass = 0x02\n\
        \n";

    #[test]
    fn detail_records_are_split_and_unquoted() {
        let records = DetailRecord::parse_all(DETAIL);
        assert_eq!(records.len(), 2);
        let start = &records[0];
        assert_eq!(start.time, "Wed Dec  2 06:47:24 2026");
        assert_eq!(start.get("Acct-Status-Type"), Some("Start"));
        assert_eq!(start.get("Acct-Session-Id"), Some("s-1"));
        assert_eq!(start.get("User-Name"), Some("a \"quoted\" \\ nameA"));
        assert_eq!(start.get("Framed-IP-Address"), Some("10.77.0.9"));
        assert_eq!(start.get("Class"), Some("0x6572696e"));
        assert_eq!(start.get("Acct-Session-Time"), None);
        let stop = &records[1];
        assert_eq!(stop.get("Acct-Status-Type"), Some("Stop"));
        assert_eq!(stop.get_all("Class").collect::<Vec<_>>(), ["0x01", "0x02"]);
    }

    #[test]
    fn a_file_cut_mid_record_keeps_what_is_whole() {
        let records =
            DetailRecord::parse_all("Thu Jan  1 00:00:00 2026\n\tUser-Name = \"x\"\n\tBroken");
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].attributes,
            [("User-Name".to_owned(), "x".to_owned())]
        );
        assert!(DetailRecord::parse_all("").is_empty());
    }
}
