//! `sstp-bench load`: many SSTP sessions against an `sstp-server` from one
//! process, with the sstp-core client engine and no TUN device (issue 6,
//! items 3, 4 and 6).
//!
//! Each session is one tokio task holding a TLS stream and a
//! `ClientSession` ([`tunnel`]); the IP packets it carries are ICMP echo
//! requests built in-process ([`icmp`]) to the server's own tunnel address,
//! which the server's kernel answers through its TUN. Three modes:
//!
//! ```text
//! sstp-bench load idle     --server 127.0.0.1:4443 --user U --password P --target 10.64.0.1 \
//!                          --sessions N [--concurrency 256] [--sources 127.0.0.1,127.0.0.2] \
//!                          [--server-pid PID] [--idle-secs 30]
//! sstp-bench load connects --server … --user U --password P [--concurrency 64] [--duration-secs 10]
//!                          [--auth eap-tls --cert alice.pem --key alice.key [--eap-server-name N]]
//! sstp-bench load flood    --server … --user U --password P --target 10.64.0.1 --sessions 64 \
//!                          [--duration-secs 10] [--payload 1372] [--window 32]
//! ```
//!
//! Every run prints progress on stderr and one JSON object as the last line
//! of stdout (the fields are listed on each mode's report type:
//! [`idle::Report`], [`connects::Report`], [`flood::Report`]). A run that
//! cannot start (bad arguments, no fd limit) exits non-zero without JSON;
//! sessions that fail are counted in the JSON with the first error.
//!
//! The client is IPv4-only (no IPv6CP: the data check is ICMPv4), TLS 1.3,
//! MS-CHAPv2 by default, with the crypto binding over the leaf certificate
//! the server presented (see [`dial`] for why the chain is not checked).
//! `--auth eap-tls --cert FILE --key FILE` authenticates with a client
//! certificate instead; the inner server certificate is checked as the
//! outer one is (any, or the `--fingerprint` pin).

mod connects;
mod dial;
#[cfg(test)]
mod fake_server;
mod fleet;
mod flood;
mod icmp;
mod idle;
mod procfs;
mod stats;
mod tunnel;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sstp_client::Fingerprint;
use sstp_core::{AuthMethod, Credential, EapTlsClientConfig};

use crate::verifier::BenchVerifier;
use dial::{Dialer, Kx};

/// Arguments of this subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    // Boxed: `Command` in main.rs holds every subcommand's `Args` by value.
    #[command(subcommand)]
    mode: Box<Mode>,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// N idle sessions: time to establish, server RSS per session, server
    /// CPU while idle with keepalives running, data before and after.
    Idle(idle::Args),
    /// Full SSTP connects per second, and TLS-handshake-only connects per
    /// second against the same port as the baseline.
    Connects(connects::Args),
    /// N sessions each keeping a window of echo requests in flight:
    /// aggregate goodput and fairness.
    Flood(flood::Args),
}

impl Mode {
    fn common(&self) -> &Common {
        match self {
            Self::Idle(a) => &a.common,
            Self::Connects(a) => &a.common,
            Self::Flood(a) => &a.common,
        }
    }
}

/// The authentication method the sessions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Auth {
    /// MS-CHAPv2 (RFC 2759).
    Mschapv2,
    /// EAP-MSCHAPv2, Windows' default.
    EapMschapv2,
    /// EAP-TLS (RFC 5216, TLS 1.3 inside per RFC 9190) with the client
    /// certificate of `--cert` / `--key`.
    EapTls,
}

/// Options every mode takes.
#[derive(Debug, Clone, clap::Args)]
struct Common {
    /// The server's TLS address.
    #[arg(long)]
    server: SocketAddr,
    /// User name to authenticate as.
    #[arg(long)]
    user: String,
    /// Its password.
    #[arg(long)]
    password: String,
    /// Local addresses to connect from, comma-separated, used round robin
    /// (more source addresses, more ports).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<IpAddr>,
    /// Accept only a server certificate with this SHA-256 fingerprint
    /// (otherwise any certificate is accepted: benchmark tool).
    #[arg(long)]
    fingerprint: Option<Fingerprint>,
    /// Key exchange groups offered in TLS 1.3.
    #[arg(long, value_enum, default_value_t = Kx::Default)]
    kx: Kx,
    /// PPP authentication method.
    #[arg(long, value_enum, default_value_t = Auth::Mschapv2)]
    auth: Auth,
    /// The client certificate for `--auth eap-tls` (PEM; the leaf first,
    /// then any intermediates).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The name the inner EAP-TLS server certificate is checked for. As
    /// with the outer TLS, any certificate is accepted unless
    /// `--fingerprint` pins one, so the name only has to be well formed.
    #[arg(long, default_value = "sstp-bench.test")]
    eap_server_name: String,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Bound on one connect, from TCP to the tunnel up, in seconds.
    #[arg(long, default_value_t = 60)]
    connect_timeout_secs: u64,
}

impl Common {
    fn dialer(&self) -> anyhow::Result<Dialer> {
        Dialer::new(
            self.server,
            self.sources.clone(),
            self.fingerprint,
            self.kx,
            Duration::from_secs(self.connect_timeout_secs.max(1)),
        )
    }

    /// The client engine's settings: IPv4 only, the chosen method, the
    /// engine's defaults otherwise (keepalives included). For EAP-TLS, the
    /// client certificate is read here, once for every session.
    fn session_config(&self) -> anyhow::Result<sstp_core::ClientConfig> {
        let mut config = sstp_core::ClientConfig::new(
            self.user.clone(),
            Credential::from_password(self.password.clone()),
        );
        config.auth_methods = vec![match self.auth {
            Auth::Mschapv2 => AuthMethod::MsChapV2,
            Auth::EapMschapv2 => AuthMethod::EapMsChapV2,
            Auth::EapTls => AuthMethod::EapTls,
        }];
        if self.auth == Auth::EapTls {
            config.auth.eap_tls = Some(self.eap_tls()?);
        } else if self.cert.is_some() || self.key.is_some() {
            bail!("--cert and --key are for --auth eap-tls");
        }
        config.common.ipv6 = false;
        Ok(config)
    }

    /// The EAP-TLS settings: the client certificate and key from their
    /// files; the inner server certificate checked as the outer one is
    /// (any, or the `--fingerprint` pin: [`BenchVerifier`]); TLS 1.3 only,
    /// with the same key exchange groups as the outer TLS.
    fn eap_tls(&self) -> anyhow::Result<EapTlsClientConfig> {
        let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
            bail!("--auth eap-tls needs the client certificate: --cert FILE and --key FILE (PEM)");
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| {
                anyhow!(
                    "reading the client certificate {}: {}",
                    cert.display(),
                    pem_error(&e)
                )
            })?;
        if chain.is_empty() {
            bail!(
                "the client certificate file {} holds no certificate",
                cert.display()
            );
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            anyhow!(
                "reading the client key {}: {}",
                key.display(),
                pem_error(&e)
            )
        })?;
        let server_name =
            ServerName::try_from(self.eap_server_name.clone()).with_context(|| {
                format!(
                    "--eap-server-name {:?} is not a DNS name or an IP address",
                    self.eap_server_name
                )
            })?;
        let provider = dial::provider(self.kx)?;
        let verifier = Arc::new(BenchVerifier {
            pin: self.fingerprint,
            provider: Arc::clone(&provider),
        });
        Ok(
            EapTlsClientConfig::new(provider, verifier, server_name, chain, key_der)
                .with_context(|| {
                    format!(
                        "the client certificate {} and key {} (do they match?)",
                        cert.display(),
                        key.display()
                    )
                })?
                .with_versions(&[&rustls::version::TLS13]),
        )
    }
}

/// A PEM reading error in words.
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM item of that kind in the file".to_owned(),
        other => format!("not valid PEM ({other:?})"),
    }
}

pub(crate) fn main(args: Args) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = args.mode.common().threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime.build().context("starting the tokio runtime")?;
    let json = runtime.block_on(async move {
        match *args.mode {
            Mode::Idle(a) => serde_json::to_string(&idle::run(a).await?),
            Mode::Connects(a) => serde_json::to_string(&connects::run(a).await?),
            Mode::Flood(a) => serde_json::to_string(&flood::run(a).await?),
        }
        .context("encoding the JSON report")
    })?;
    // Tasks still closing (bounded by their own timeouts) do not hold the
    // report back.
    runtime.shutdown_timeout(Duration::from_secs(1));
    println!("{json}");
    Ok(())
}

/// Raises the soft (and if needed the hard) limit of open files to at
/// least `needed`; returns the soft limit in force.
fn raise_nofile(needed: u64) -> anyhow::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit(RLIMIT_NOFILE)")?;
    if soft >= needed {
        return Ok(soft);
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard.max(needed)).with_context(|| {
        format!(
            "raising RLIMIT_NOFILE from {soft} (hard {hard}) to {needed}: run as root or raise \
             the hard limit (ulimit -Hn)"
        )
    })?;
    Ok(needed)
}

/// Rejects a zero where at least one is needed.
fn at_least_one(value: usize, what: &str) -> anyhow::Result<usize> {
    anyhow::ensure!(value >= 1, "{what} must be at least 1");
    Ok(value)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &str) -> Result<Mode, clap::Error> {
        Cli::try_parse_from(std::iter::once("load").chain(line.split_whitespace()))
            .map(|c| *c.args.mode)
    }

    const BASE: &str = "--server 127.0.0.1:4443 --user u --password p";

    #[test]
    fn idle_defaults_and_sources() {
        let mode = parse(&format!(
            "idle {BASE} --target 10.64.0.1 --sessions 100 --sources 127.0.0.1,127.0.0.2"
        ))
        .expect("parses");
        let Mode::Idle(idle) = mode else {
            panic!("idle expected");
        };
        assert_eq!(idle.sessions, 100);
        assert_eq!(idle.concurrency, 256);
        assert_eq!(idle.idle_secs, 30);
        assert_eq!(idle.server_pid, None);
        assert_eq!(idle.common.sources.len(), 2);
        assert_eq!(idle.common.kx, Kx::Default);
        assert_eq!(idle.common.auth, Auth::Mschapv2);
    }

    #[test]
    fn connects_and_flood_defaults() {
        let Mode::Connects(c) = parse(&format!("connects {BASE}")).expect("parses") else {
            panic!("connects expected");
        };
        assert_eq!((c.concurrency, c.duration_secs), (64, 10));
        let Mode::Flood(f) =
            parse(&format!("flood {BASE} --target 10.64.0.1 --sessions 64")).expect("parses")
        else {
            panic!("flood expected");
        };
        assert_eq!(
            (f.sessions, f.duration_secs, f.payload, f.window),
            (64, 10, 1372, 32)
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(
            parse("idle --server nowhere --user u --password p --target 10.64.0.1 --sessions 1")
                .is_err()
        );
        assert!(
            parse(&format!("idle {BASE} --sessions 1")).is_err(),
            "--target is required"
        );
        assert!(
            parse(&format!("flood {BASE} --target ::1 --sessions 1")).is_err(),
            "IPv4 target"
        );
        assert!(parse(&format!("connects {BASE} --fingerprint xyz")).is_err());
        assert!(parse(&format!("connects {BASE} --sources 127.0.0.1,bogus")).is_err());
        assert!(parse(&format!("connects {BASE} --kx rsa")).is_err());
    }

    #[test]
    fn fingerprint_and_kx_parse() {
        let pin = "AB:".repeat(31) + "AB";
        let Mode::Connects(c) =
            parse(&format!("connects {BASE} --fingerprint {pin} --kx p256")).expect("parses")
        else {
            panic!("connects expected");
        };
        assert_eq!(c.common.fingerprint, Some(Fingerprint([0xAB; 32])));
        assert_eq!(c.common.kx, Kx::P256);
    }

    #[test]
    fn session_config_is_ipv4_mschapv2() {
        let Mode::Connects(c) = parse(&format!("connects {BASE}")).expect("parses") else {
            panic!("connects expected");
        };
        let config = c.common.session_config().expect("config");
        assert!(!config.common.ipv6);
        assert_eq!(config.auth_methods, vec![AuthMethod::MsChapV2]);
        assert_eq!(config.username, "u");
        assert!(config.auth.eap_tls.is_none());
    }

    fn connects_common(line: &str) -> Common {
        let Mode::Connects(c) = parse(&format!("connects {BASE} {line}")).expect("parses") else {
            panic!("connects expected");
        };
        c.common
    }

    /// A fresh folder for one test's files.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sstp-bench-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    #[test]
    fn session_config_eap_tls_reads_the_certificate() {
        let dir = scratch("eap-tls-ok");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["u".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        std::fs::write(dir.join("c.pem"), cert.pem()).expect("write");
        std::fs::write(dir.join("c.key"), key.serialize_pem()).expect("write");
        let common = connects_common(&format!(
            "--auth eap-tls --cert {} --key {}",
            dir.join("c.pem").display(),
            dir.join("c.key").display()
        ));
        let config = common.session_config().expect("config");
        assert_eq!(config.auth_methods, vec![AuthMethod::EapTls]);
        assert!(config.auth.eap_tls.is_some());
        assert!(!config.common.ipv6);

        // A key that is not the certificate's is refused in words.
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        std::fs::write(dir.join("other.key"), other.serialize_pem()).expect("write");
        let common = connects_common(&format!(
            "--auth eap-tls --cert {} --key {}",
            dir.join("c.pem").display(),
            dir.join("other.key").display()
        ));
        let err = common.session_config().expect_err("mismatched key");
        assert!(format!("{err:#}").contains("do they match"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The whole EAP-TLS path against the fake server: the certificate read
    /// from its files, the inner TLS 1.3, the tunnel up and a clean close.
    #[tokio::test]
    async fn eap_tls_tunnel_against_the_fake_server() {
        let (server, client) = fake_server::start_with_client_cert().await;
        let dir = scratch("eap-tls-fake");
        std::fs::write(dir.join("c.pem"), &client.cert_pem).expect("write");
        std::fs::write(dir.join("c.key"), &client.key_pem).expect("write");
        let common = connects_common(&format!(
            "--auth eap-tls --cert {} --key {}",
            dir.join("c.pem").display(),
            dir.join("c.key").display()
        ));
        let common = Common { server, ..common };
        let dialer = common.dialer().expect("dialer");
        let config = common.session_config().expect("config");
        let tunnel = tunnel::Tunnel::establish(&dialer, &config, 0, 2048, true)
            .await
            .expect("tunnel up with EAP-TLS");
        assert_eq!(tunnel.mtu, 1400);
        tunnel.close().await.expect("clean close");

        // A certificate the server's CA did not issue is refused.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let stranger = rcgen::CertificateParams::new(vec!["bench".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        std::fs::write(dir.join("s.pem"), stranger.pem()).expect("write");
        std::fs::write(dir.join("s.key"), key.serialize_pem()).expect("write");
        let common = Common {
            cert: Some(dir.join("s.pem")),
            key: Some(dir.join("s.key")),
            ..common
        };
        let config = common.session_config().expect("config");
        assert!(
            tunnel::Tunnel::establish(&dialer, &config, 1, 2048, true)
                .await
                .is_err(),
            "a stranger's certificate must not bring the tunnel up"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn session_config_eap_tls_errors_in_words() {
        let err = connects_common("--auth eap-tls")
            .session_config()
            .expect_err("no certificate");
        assert!(
            err.to_string().contains("--cert FILE and --key FILE"),
            "{err}"
        );

        let err =
            connects_common("--auth eap-tls --cert /nonexistent/c.pem --key /nonexistent/c.key")
                .session_config()
                .expect_err("unreadable");
        let text = err.to_string();
        assert!(
            text.contains("reading the client certificate /nonexistent/c.pem"),
            "{text}"
        );

        let dir = scratch("eap-tls-empty");
        std::fs::write(dir.join("empty.pem"), "not PEM\n").expect("write");
        let err = connects_common(&format!(
            "--auth eap-tls --cert {0} --key {0}",
            dir.join("empty.pem").display()
        ))
        .session_config()
        .expect_err("no certificate in the file");
        assert!(err.to_string().contains("holds no certificate"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);

        let err = connects_common("--cert /x.pem --key /x.key")
            .session_config()
            .expect_err("certificate without eap-tls");
        assert!(err.to_string().contains("--auth eap-tls"), "{err}");
    }

    #[test]
    fn zero_is_refused() {
        assert!(at_least_one(0, "--sessions").is_err());
        assert_eq!(at_least_one(3, "--sessions").expect("ok"), 3);
    }

    #[test]
    fn nofile_already_enough() {
        // Asking for what we have changes nothing and cannot fail.
        assert!(raise_nofile(1).expect("getrlimit") >= 1);
    }
}
