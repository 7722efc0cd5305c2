//! `sstp-server`: the daemon. Thin on purpose: command line, logging, the
//! Linux TUN device and its addresses, signals; everything else is the
//! library.
//!
//! ```text
//! sstp-server --config /etc/sstp-server/server.toml           # run (or: run --config ...)
//! sstp-server --config /etc/sstp-server/server.toml --check-config
//! sstp-server -v --config /etc/sstp-server/server.toml        # debug logs (-vv trace)
//! sstp-server gen-cert --name vpn.example.com --cert cert.pem --key key.pem
//! echo 'password' | sstp-server nt-hash
//! sstp-server ca init && sstp-server ca issue --name alice     # EAP-TLS certificates
//! sstp-server sessions | disconnect ID | drain | reload | status  # the running server
//! sstp-server --log-format json --config ...                   # JSON lines for log shippers
//! sstp-server completions bash > /etc/bash_completion.d/sstp-server
//! ```
//!
//! Under systemd (packaging/sstp-server.service, `Type=notify`) it says
//! READY=1 once the listeners are bound and the TUN is up, RELOADING=1 and
//! READY=1 around each reload, STOPPING=1 at shutdown, and pings the
//! watchdog (`WatchdogSec=`); its log lines carry journald priorities
//! (`journalctl -u sstp-server -p warning`).
//!
//! Signals: SIGHUP reloads the configuration file, the certificate, the
//! key, the EAP-TLS policy (CAs, CRLs, revoked certificates), the users
//! file and the RADIUS servers (sessions stay up; `sstp-server reload` does
//! the same through the control socket); SIGTERM and SIGINT shut down gracefully (every client
//! gets a Call Disconnect). Errors are one line on stderr, `error: ...`,
//! each cause once, with a hint where one fits (a port in use, a missing
//! capability, a missing /dev/net/tun).

use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand};
use sstp_server::control::{self, ControlSocket, ReloadReport};
use sstp_server::{
    AuthBackend, Backend, Chain, Config, Ipv4Pool, Ipv6Pool, Listeners, RadiusBackend, Server,
    ServerError, ServerHandle, SessionFilter, StaticUsers, TlsIdentity, generate_self_signed,
    host_routes,
};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

/// Where `--config` points unless told otherwise.
const DEFAULT_CONFIG: &str = "/etc/sstp-server/server.toml";

const AFTER_HELP: &str = "\
SIGNALS:
    SIGHUP   reload the configuration file, the users file, the certificate and
             key, the EAP-TLS CAs/CRLs/revoked list and the RADIUS secrets (as
             `sstp-server reload`; sessions stay up, settings that need a
             restart are named in the log)
    SIGTERM, SIGINT
             shut down: every client gets a Call Disconnect, then the server exits

LOGGING:
    Logs go to stderr: info by default, -v debug, -vv trace. RUST_LOG (for example
    RUST_LOG=sstp_server=debug) overrides -v. --log-format json writes one JSON object
    per line (the final error too); under systemd (JOURNAL_STREAM is stderr) lines get
    journald priorities, so `journalctl -u sstp-server -p warning` filters.

SYSTEMD:
    With NOTIFY_SOCKET set (Type=notify) it reports READY=1 when serving,
    RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at shutdown, and pings
    the watchdog every WatchdogSec/2.

EXIT STATUS:
    0 stopped on request or the check passed, 1 the server could not start or
    the check failed, 2 usage error (bad flag, empty password)";

#[derive(Debug, Parser)]
#[command(
    name = "sstp-server",
    version,
    about = "SSTP VPN server",
    after_help = AFTER_HELP,
    args_override_self = true
)]
struct Cli {
    /// Running the server (when no command is given).
    #[command(flatten)]
    run: RunArgs,
    /// More log output on stderr (-v debug, -vv trace; info without); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines as text, JSON (one object per line), or with journald
    /// priorities; auto: journal when stderr is the journal, else text.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        global = true
    )]
    log_format: sstp_service::log::LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The options of running (or checking) the server.
#[derive(Debug, Clone, Default, Args)]
struct RunArgs {
    /// The configuration file (see server.example.toml)
    /// [default: /etc/sstp-server/server.toml].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration, the users file and the certificate, print
    /// what needs attention, and exit (status 1 on errors).
    #[arg(long)]
    check_config: bool,
}

impl RunArgs {
    fn given(&self) -> bool {
        self.config.is_some() || self.check_config
    }

    /// These options with `later` (given after `run`) taking precedence.
    fn merged(self, later: Self) -> Self {
        Self {
            config: later.config.or(self.config),
            check_config: self.check_config || later.check_config,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// Make a self-signed ECDSA P-256 certificate with the serverAuth EKU
    /// and print its fingerprints (for tests and labs; Windows clients must
    /// trust it explicitly).
    GenCert {
        /// A DNS name or IP address clients use to reach the server
        /// (repeatable; the first is also the common name).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Where to write the certificate (PEM).
        #[arg(long, default_value = "cert.pem")]
        cert: PathBuf,
        /// Where to write the private key (PEM, mode 0600).
        #[arg(long, default_value = "key.pem")]
        key: PathBuf,
        /// Validity in days, 1 to 3650.
        #[arg(long, default_value_t = 825)]
        days: u32,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Read a password from standard input and print its NT hash, for the
    /// `nt_hash` field of the users file.
    NtHash,
    /// A small certificate authority for EAP-TLS client certificates: a
    /// root the server trusts, a certificate per user, revocation.
    #[command(subcommand, after_help = CA_AFTER_HELP)]
    Ca(CaCommand),
    /// List the sessions that are up: user, method, addresses, peer, TLS,
    /// uptime and traffic each way.
    Sessions {
        #[command(flatten)]
        which: WhichSessions,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// End sessions: LCP Terminate and Call Disconnect for the client, a
    /// RADIUS Stop with Acct-Terminate-Cause Admin-Reset.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "user", "ip"]).multiple(true)))]
    Disconnect {
        /// The session number (the ID column of `sessions`).
        id: Option<u64>,
        #[command(flatten)]
        which: WhichSessions,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Take no new sessions (/healthz answers 503, so load balancers send
    /// new clients elsewhere); the sessions that are up stay.
    Drain {
        /// End draining: take new sessions again.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Read the configuration, users and certificates again, as SIGHUP
    /// does, and say what changed.
    Reload {
        #[command(flatten)]
        control: ControlArgs,
    },
    /// The running server at a glance: sessions, leases, draining,
    /// certificate, RADIUS servers.
    Status {
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Print a shell completion script (bash, zsh, fish; elvish and
    /// powershell too), e.g. `sstp-server completions bash > /etc/bash_completion.d/sstp-server`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: sstp_service::docs::Shell,
    },
    /// Write the man pages (sstp-server.1 and one per command) into DIR; the
    /// packages ship them.
    #[command(hide = true)]
    Man {
        /// Where to write them (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Which sessions a control verb means, besides a session number.
#[derive(Debug, Clone, Args)]
struct WhichSessions {
    /// The sessions of this user.
    #[arg(long)]
    user: Option<String>,
    /// The session with this tunnel or peer address.
    #[arg(long)]
    ip: Option<IpAddr>,
}

/// How the control verbs reach the running server.
#[derive(Debug, Clone, Args)]
struct ControlArgs {
    /// The server's control socket (its control.socket).
    #[arg(long, value_name = "PATH", default_value = sstp_server::DEFAULT_CONTROL_SOCKET)]
    socket: PathBuf,
    /// Print JSON (one object) instead of text, for scripts.
    #[arg(long)]
    json: bool,
}

/// Where `ca` keeps its files unless told otherwise.
const DEFAULT_CA_DIR: &str = "/etc/sstp-server/ca";

const CA_AFTER_HELP: &str = "\
FILES (in --dir):
    ca.pem       the root certificate: the CA bundle of [auth.eap_tls]
    ca.key       its private key (0600)
    index.txt    every certificate issued: serial, expiry, thumbprints, name, revocation
    revoked.txt  revoked SHA-1 and SHA-256 thumbprints: [auth.eap_tls] revoked
    crl.pem      the same as a signed CRL

EXAMPLE:
    sstp-server ca init --name 'Example VPN root'
    SSTP_P12_PASSWORD='pfx secret' sstp-server ca issue --name alice --email alice@example.com
    sstp-server ca revoke --name alice";

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Make the root CA (an ECDSA P-256 key, or RSA 2048 with --rsa, and a
    /// self-signed certificate).
    Init {
        /// The CA directory (created if missing).
        #[arg(long, default_value = DEFAULT_CA_DIR)]
        dir: PathBuf,
        /// The root's common name (what Windows shows as "Issued by").
        #[arg(long, default_value = "sstp-rs VPN root")]
        name: String,
        /// Validity in days, 1 to 7300.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// Replace an existing CA (every certificate it issued stops working).
        #[arg(long)]
        force: bool,
        /// An RSA 2048 key instead of ECDSA P-256, for the CA and every
        /// certificate it issues (SoftEther trusts only RSA CAs).
        #[arg(long)]
        rsa: bool,
    },
    /// Issue a client certificate (PEM, and PKCS#12 when a password is given).
    Issue {
        /// The CA directory.
        #[arg(long, default_value = DEFAULT_CA_DIR)]
        dir: PathBuf,
        /// The user: the certificate's common name.
        #[arg(long)]
        name: String,
        /// An e-mail address for the subjectAltName.
        #[arg(long)]
        email: Option<String>,
        /// Validity in days, 1 to 7300.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Where NAME.pem, NAME.key and NAME.p12 go (default: DIR/issued).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// A file whose first line is the PKCS#12 password (the environment
        /// variable SSTP_P12_PASSWORD works too). Without either, no .p12.
        #[arg(long)]
        p12_password_file: Option<PathBuf>,
    },
    /// Revoke certificates: mark them, list their thumbprints in revoked.txt
    /// and sign a new crl.pem. The server picks the list up on SIGHUP.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["name", "thumbprint", "cert"])))]
    Revoke {
        /// The CA directory.
        #[arg(long, default_value = DEFAULT_CA_DIR)]
        dir: PathBuf,
        /// Every certificate issued to this name.
        #[arg(long)]
        name: Option<String>,
        /// The certificate with this SHA-1 or SHA-256 thumbprint.
        #[arg(long)]
        thumbprint: Option<String>,
        /// The certificate in this PEM file.
        #[arg(long)]
        cert: Option<PathBuf>,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Self::Run(_) => "run",
            Self::GenCert { .. } => "gen-cert",
            Self::NtHash => "nt-hash",
            Self::Ca(_) => "ca",
            Self::Sessions { .. } => "sessions",
            Self::Disconnect { .. } => "disconnect",
            Self::Drain { .. } => "drain",
            Self::Reload { .. } => "reload",
            Self::Status { .. } => "status",
            Self::Completions { .. } => "completions",
            Self::Man { .. } => "man",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sstp_service::log::init(cli.log_format, log_filter(cli.verbose));
    let result = match cli.command {
        Some(Command::Run(later)) => serve(cli.run.merged(later)),
        None => serve(cli.run),
        Some(other) if cli.run.given() => {
            let flag = if cli.run.check_config {
                "--check-config"
            } else {
                "--config"
            };
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "{flag} is an option of running the server; {} does not take it",
                        other.name()
                    ),
                )
                .exit()
        }
        Some(Command::GenCert {
            names,
            cert,
            key,
            days,
            force,
        }) => gen_cert(&names, &cert, &key, days, force),
        Some(Command::NtHash) => return nt_hash(),
        Some(Command::Ca(command)) => ca(command),
        Some(Command::Sessions { which, control }) => {
            let filter = SessionFilter::new(None, which.user, which.ip);
            control_verb(&control, &control::Request::Sessions { filter })
        }
        Some(Command::Disconnect { id, which, control }) => control_verb(
            &control,
            &control::Request::Disconnect {
                filter: SessionFilter::new(id, which.user, which.ip),
            },
        ),
        Some(Command::Drain { resume, control }) => {
            control_verb(&control, &control::Request::Drain { on: !resume })
        }
        Some(Command::Reload { control }) => control_verb(&control, &control::Request::Reload),
        Some(Command::Status { control }) => control_verb(&control, &control::Request::Status),
        Some(Command::Completions { shell }) => {
            sstp_service::docs::completions(Cli::command(), shell, &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Man { dir }) => man(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: each layer says its part once (`{:#}` joins them with ": ").
            // In the log format, so a journal files it as an error and JSON stays JSON.
            sstp_service::log::eprint(tracing::Level::ERROR, &format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `sstp-server man --dir DIR`.
fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let pages = sstp_service::docs::man_pages(Cli::command(), dir)
        .with_context(|| format!("writing the man pages into {}", dir.display()))?;
    for page in pages {
        println!("{}", page.display());
    }
    Ok(())
}

/// `-v` debug, `-vv` trace, info without; a valid `RUST_LOG` wins.
fn log_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// How long a control verb waits for the server (a reload may read many
/// files; a listing asks every session).
const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Sends one request to the running server and prints its answer, as text
/// or JSON. An answer that reports a failure is an error (status 1).
fn control_verb(args: &ControlArgs, request: &control::Request) -> Result<()> {
    use control::Response;
    let response = control::call(&args.socket, request, CONTROL_TIMEOUT)?;
    if let Response::Error { message } = &response {
        bail!("the server refused: {message}");
    }
    if args.json {
        let json = serde_json::to_string_pretty(&response).context("encoding the answer")?;
        println!("{json}");
    } else {
        match &response {
            Response::Sessions { sessions } => print!("{}", control::sessions_table(sessions)),
            Response::Disconnected { sessions } => {
                for s in sessions {
                    println!(
                        "disconnected session {} ({}, {}, from {})",
                        s.id, s.user, s.ipv4, s.peer
                    );
                }
            }
            Response::Drain {
                draining,
                was,
                sessions,
            } => match (draining, was) {
                (true, false) => println!(
                    "draining: no new sessions; {} {} up",
                    sessions_word(*sessions),
                    if *sessions == 1 { "stays" } else { "stay" }
                ),
                (true, true) => println!("draining already; {} up", sessions_word(*sessions)),
                (false, true) => println!("draining ended: taking new sessions"),
                (false, false) => println!("not draining: taking new sessions"),
            },
            Response::Reloaded { report } => print!("{}", control::reload_text(report)),
            Response::Status { status } => print!("{}", control::status_text(status)),
            _ => println!("the server answered something this version does not show; try --json"),
        }
    }
    match &response {
        Response::Disconnected { sessions } if sessions.is_empty() => {
            bail!("no session matches; `sstp-server sessions` lists them")
        }
        Response::Reloaded { report } if !report.ok() => {
            bail!("the reload failed in part; what failed kept its old value")
        }
        _ => Ok(()),
    }
}

/// `1 session`, `3 sessions`.
fn sessions_word(n: usize) -> String {
    if n == 1 {
        "1 session".to_owned()
    } else {
        format!("{n} sessions")
    }
}

/// Runs the server, or checks its configuration.
fn serve(args: RunArgs) -> Result<()> {
    let path = args.config_path();
    if args.check_config {
        return check_config(&path);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run(&path))
}

/// Everything the server needs from disk, checked.
struct Loaded {
    config: Config,
    users: Arc<StaticUsers>,
    identity: TlsIdentity,
    warnings: Vec<String>,
}

fn load(path: &Path) -> Result<Loaded> {
    // ConfigError names the file already.
    let config = Config::load(path)?;
    let mut warnings = config.validate()?;
    let backends = config.backends();
    // Without "users" in auth.backends there need be no users file.
    let users = if backends.contains(&Backend::Users) {
        let users = StaticUsers::load(&config.auth.users_file)?;
        warnings.extend(users.check(&config.auth.methods));
        users
    } else {
        StaticUsers::from_toml("")?
    };
    if let Some(radius) = &config.radius {
        for server in &radius.servers {
            server.read_secret()?;
        }
    }
    // Fixed addresses must be client addresses of the pools.
    let mut v4 = Ipv4Pool::new(config.network.ipv4_pool)?;
    let mut v6 = config.network.ipv6_pool.map(Ipv6Pool::new).transpose()?;
    let (fixed4, fixed6) = users.fixed_addresses();
    for addr in fixed4 {
        v4.reserve(addr).with_context(|| {
            format!(
                "users file {}: network.ipv4_pool is {}",
                config.auth.users_file.display(),
                config.network.ipv4_pool
            )
        })?;
    }
    for prefix in fixed6 {
        match &mut v6 {
            Some(pool) => pool.reserve(prefix).with_context(|| {
                format!(
                    "users file {}: network.ipv6_pool is {}",
                    config.auth.users_file.display(),
                    pool.net()
                )
            })?,
            None => bail!("users file: fixed prefix {prefix}, but network.ipv6_pool is not set"),
        }
    }
    warnings.extend(config.check_routes(&host_routes())?);
    warnings.extend(config.check_file_modes());
    let identity = TlsIdentity::from_pem_files(&config.tls.certificate, &config.tls.private_key)?;
    warnings.extend(identity.check(config.tls.min_version)?);
    if let Some(eap) = &config.auth.eap_tls {
        sstp_server::eap_tls::EapTlsLoaded::load(eap, &identity)
            .with_context(|| format!("{}: [auth.eap_tls]", path.display()))?;
    }
    Ok(Loaded {
        config,
        users: Arc::new(users),
        identity,
        warnings,
    })
}

fn check_config(path: &Path) -> Result<()> {
    let loaded = load(path)?;
    let c = &loaded.config;
    println!("configuration {}: OK", path.display());
    println!("  listen: {}", join(&c.listen));
    println!(
        "  certificate {}: SHA-256 {}",
        c.tls.certificate.display(),
        loaded.identity.fingerprint()
    );
    println!(
        "  users: {} ({})",
        loaded.users.len(),
        c.auth.users_file.display()
    );
    let methods: Vec<_> = c.auth.methods.iter().map(|m| m.name()).collect();
    println!("  auth methods: {}", methods.join(", "));
    let backends: Vec<_> = c
        .backends()
        .iter()
        .map(|b| match b {
            Backend::Users => "users",
            Backend::Radius => "radius",
            _ => "other",
        })
        .collect();
    println!("  auth backends: {}", backends.join(", "));
    if let Some(radius) = &c.radius {
        let servers: Vec<_> = radius.servers.iter().map(|s| s.display_name()).collect();
        println!(
            "  RADIUS servers: {} (EAP {})",
            servers.join(", "),
            if radius.eap { "relayed" } else { "run here" }
        );
    }
    println!(
        "  IPv4 pool {}, IPv6 pool {}",
        c.network.ipv4_pool,
        c.network
            .ipv6_pool
            .map_or_else(|| "off".to_owned(), |p| p.to_string())
    );
    if !c.proxy_protocol.trusted.is_empty() {
        println!("  PROXY protocol from: {}", join(&c.proxy_protocol.trusted));
    }
    if let Some(offload) = &c.offload {
        println!(
            "  TLS offload listener: {} ({} certificate hashes)",
            join(&offload.listen),
            offload.certificate_hashes.len()
        );
    }
    println!(
        "  control socket: {}",
        c.control.path().map_or_else(
            || "off".to_owned(),
            |p| match &c.control.group {
                Some(g) => format!("{} (group {g})", p.display()),
                None => p.display().to_string(),
            }
        )
    );
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    Ok(())
}

async fn run(path: &Path) -> Result<()> {
    let Loaded {
        config,
        users,
        identity,
        warnings,
    } = load(path)?;
    for w in &warnings {
        warn!("{w}");
    }
    raise_fd_limit(config.limits.max_sessions + config.limits.max_unauthenticated);
    // The ports first: a port in use fails before the TUN device exists.
    let listeners = Listeners::bind(&config).map_err(with_bind_hint)?;
    let control_socket = ControlSocket::bind(&config.control).with_context(|| {
        format!(
            "cannot make the control socket {} (control.socket)",
            config.control.socket.display()
        )
    })?;
    let tun = open_tun(&config).await?;
    let tun_index = tun.index();
    warn_if_not_forwarding(config.network.ipv6_pool.is_some());
    let fingerprint = identity.fingerprint();
    let (auth, radius) = backend(&config, &users).await?;
    let mut server = Server::with_listeners(config.clone(), identity, listeners, tun, auth)?;
    if let Some(radius) = &radius {
        server = server.with_radius(radius);
    }
    let handle = server.handle();
    let (fixed4, fixed6) = users.fixed_addresses();
    for e in handle.reserve_fixed_addresses(fixed4, fixed6) {
        warn!(error = %e, "users file");
    }
    info!(
        listen = %join(server.local_addrs()),
        metrics = %server
            .metrics_addr()
            .map_or_else(|| "off".to_owned(), |a| format!("http://{a}/metrics")),
        tun = %config.tun.name,
        certificate = %fingerprint,
        users = users.len(),
        "sstp-server {} running",
        env!("CARGO_PKG_VERSION")
    );
    let serving = format!("serving on {}", join(server.local_addrs()));
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let reloader = Arc::new(Reloader {
        path: path.to_owned(),
        users: Arc::clone(&users),
        handle: handle.clone(),
        radius: radius.clone(),
        tun_index,
        serving: serving.clone(),
    });
    let control_task = control_socket.map(|socket| {
        info!(socket = %socket.path().display(), "control socket ready");
        let reload: Arc<dyn control::Reload> = reloader.clone();
        tokio::spawn(socket.serve(handle.clone(), Some(reload)))
    });
    // Everything is in place: systemd may count the service as started.
    let watchdog = sstp_service::notify::spawn_watchdog();
    sstp_service::notify::ready(&serving);
    let hup_task = {
        let reloader = Arc::clone(&reloader);
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let reloader = Arc::clone(&reloader);
                // Reading files blocks: off the runtime's workers.
                let _ =
                    tokio::task::spawn_blocking(move || control::Reload::reload(&*reloader)).await;
            }
        })
    };
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: shutting down"),
            _ = int.recv() => info!("SIGINT: shutting down"),
        }
        sstp_service::notify::stopping("disconnecting the clients");
    };
    let result = server.run(shutdown).await;
    hup_task.abort();
    if let Some(task) = control_task {
        // Dropping the task drops the socket, which removes its file.
        task.abort();
        let _ = task.await;
    }
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    result?;
    info!("stopped");
    Ok(())
}

/// The backends of `auth.backends`, chained in their order, and the
/// RADIUS client when `[radius]` is set (for accounting too).
async fn backend(
    config: &Config,
    users: &Arc<StaticUsers>,
) -> Result<(Arc<dyn AuthBackend>, Option<Arc<RadiusBackend>>)> {
    let radius = match &config.radius {
        Some(settings) => Some(Arc::new(
            RadiusBackend::start(settings, &config.listen).await?,
        )),
        None => None,
    };
    let mut chain: Vec<Arc<dyn AuthBackend>> = Vec::new();
    for backend in config.backends() {
        match (backend, &radius) {
            (Backend::Users, _) => chain.push(users.clone()),
            (Backend::Radius, Some(radius)) => chain.push(radius.clone()),
            (Backend::Radius, None) => {
                bail!("auth.backends names \"radius\", but there is no [radius]")
            }
            _ => bail!("auth.backends names a backend this build does not have"),
        }
    }
    let auth = match chain.len() {
        1 => chain.remove(0),
        _ => Arc::new(Chain::new(chain)),
    };
    Ok((auth, radius))
}

/// What SIGHUP and `sstp-server reload` do.
struct Reloader {
    path: PathBuf,
    users: Arc<StaticUsers>,
    handle: ServerHandle,
    radius: Option<Arc<RadiusBackend>>,
    /// The TUN device, for the routes of `network.routed_networks`.
    tun_index: u32,
    /// The READY status line.
    serving: String,
}

impl control::Reload for Reloader {
    fn reload(&self) -> ReloadReport {
        // Type=notify-reload (systemd 253+) and `systemctl reload` wait for
        // READY=1 after RELOADING=1, whichever way the reload came.
        sstp_service::notify::reloading();
        let report = reload(self);
        sstp_service::notify::ready(&self.serving);
        report
    }
}

/// SIGHUP: the configuration file, users, certificate, EAP-TLS policy and
/// RADIUS servers again; sessions that are up stay up (but those of users
/// removed from the users file, unless `auth.disconnect_removed_users` is
/// off). Each part that fails keeps its old value and says why.
fn reload(r: &Reloader) -> ReloadReport {
    let handle = &r.handle;
    let routed_before = handle.config().network.routed_networks.clone();
    let mut report = match Config::load(&r.path) {
        Ok(config) => handle.apply_config(config),
        Err(e) => {
            error!(error = %e, "configuration reload failed; keeping the running one");
            let mut report = ReloadReport::default();
            report
                .errors
                .push(format!("{e}; the running configuration stays"));
            report
        }
    };
    for line in &report.applied {
        info!(setting = %line, "setting reloaded");
    }
    let config = handle.config();
    if config.network.routed_networks != routed_before {
        route_networks(
            r.tun_index,
            &routed_before,
            &config.network.routed_networks,
            &mut report,
        );
    }
    if let (Some(radius), Some(settings)) = (&r.radius, &config.radius) {
        match radius.reload(settings) {
            Ok(true) => report.applied.push("RADIUS servers".into()),
            Ok(false) => {}
            Err(e) => {
                error!(error = %e, "RADIUS reload failed; keeping the old servers");
                report
                    .errors
                    .push(format!("RADIUS servers: {e}; the old ones stay"));
            }
        }
    }
    // The same checks as at start: a bad new certificate is refused and the old one stays.
    match TlsIdentity::from_pem_files(&config.tls.certificate, &config.tls.private_key).and_then(
        |identity| {
            let warnings = identity.check(config.tls.min_version)?;
            handle.reload_tls(identity).map(|f| (f, warnings))
        },
    ) {
        Ok((fingerprint, warnings)) => {
            for w in &warnings {
                warn!("{w}");
            }
            info!(certificate = %fingerprint, "certificate reloaded");
            report
                .applied
                .push(format!("certificate: SHA-256 {fingerprint}"));
        }
        Err(e) => {
            error!(error = %e, "certificate reload failed; keeping the old one");
            report
                .errors
                .push(format!("certificate: {e}; the old one stays"));
        }
    }
    if config.auth.eap_tls.is_some() {
        // The CAs, CRLs and revoked list again (what `sstp-server ca revoke`
        // changes), and the inner certificate, by default the TLS one.
        let reloaded =
            TlsIdentity::from_pem_files(&config.tls.certificate, &config.tls.private_key)
                .map_err(|e| e.to_string())
                .and_then(|identity| match handle.reload_eap_tls(&identity) {
                    Some(result) => result.map_err(|e| e.to_string()),
                    None => Ok(()),
                });
        match reloaded {
            Ok(()) => {
                info!("EAP-TLS policy reloaded (CAs, CRLs, revoked certificates)");
                report
                    .applied
                    .push("EAP-TLS policy (CAs, CRLs, revoked certificates)".into());
            }
            Err(e) => {
                error!(error = %e, "EAP-TLS reload failed; keeping the old policy");
                report
                    .errors
                    .push(format!("EAP-TLS policy: {e}; the old one stays"));
            }
        }
    }
    if config.backends().contains(&Backend::Users) {
        match r.users.reload_and_compare() {
            Ok((n, gone)) => {
                let (fixed4, fixed6) = r.users.fixed_addresses();
                for e in handle.reserve_fixed_addresses(fixed4, fixed6) {
                    warn!(error = %e, "users file");
                }
                info!(users = n, "users reloaded");
                report.applied.push(format!("users: {n}"));
                if !gone.is_empty() && config.auth.disconnect_removed_users {
                    let ended = handle.end_sessions_of(&gone);
                    if ended > 0 {
                        report.applied.push(format!(
                            "ended {} of users removed or disabled: {}",
                            sessions_word(ended),
                            gone.join(", ")
                        ));
                    }
                }
            }
            Err(e) => {
                error!(error = %e, "users reload failed; keeping the old users");
                report
                    .errors
                    .push(format!("users: {e}; the old users stay"));
            }
        }
    }
    report
}

/// A reload changed `network.routed_networks`: the kernel routes to the TUN
/// follow (the server routes each network to its session).
fn route_networks(
    index: u32,
    before: &[ipnet::Ipv4Net],
    after: &[ipnet::Ipv4Net],
    report: &mut ReloadReport,
) {
    let netlink = match sstp_tun::netlink::Netlink::new() {
        Ok(n) => n,
        Err(e) => {
            report
                .errors
                .push(format!("network.routed_networks: no netlink: {e}"));
            return;
        }
    };
    let route = |net: &ipnet::Ipv4Net| {
        sstp_tun::netlink::Route::new(IpAddr::V4(net.network()), net.prefix_len()).dev(index)
    };
    let runtime = tokio::runtime::Handle::current();
    for net in after.iter().filter(|n| !before.contains(n)) {
        match runtime.block_on(netlink.add_route(&route(net))) {
            Ok(()) => info!(%net, "routed to the TUN"),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => report.errors.push(format!(
                "network.routed_networks: routing {net} to the TUN: {e}"
            )),
        }
    }
    for net in before.iter().filter(|n| !after.contains(n)) {
        match runtime.block_on(netlink.del_route(&route(net))) {
            Ok(()) => info!(%net, "no longer routed to the TUN"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => report.errors.push(format!(
                "network.routed_networks: removing the route of {net}: {e}"
            )),
        }
    }
}

/// Raises the soft limit on open files to the hard limit: each connection is a socket, and the
/// usual soft limit of 1024 would refuse connections long before `limits.max_sessions`.
fn raise_fd_limit(connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let soft = if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                warn!(error = %e, "could not raise the open-files limit");
                soft
            }
        }
    } else {
        soft
    };
    // Room for the TUN, listeners, logs and the like besides the connections.
    let wanted = connections as u64 + 64;
    if soft < wanted {
        warn!(
            limit = soft,
            wanted,
            "the open-files limit is below max_sessions + max_unauthenticated; raise it (LimitNOFILE=)"
        );
    }
}

/// The TUN device with the server's addresses: the pool prefixes route into
/// it (connected routes), so the kernel sends clients' traffic our way.
async fn open_tun(config: &Config) -> Result<sstp_tun::LinuxTun> {
    use sstp_tun::netlink::Netlink;
    let tun = match sstp_tun::LinuxTun::builder(&config.tun.name)
        .mtu(config.tun.mtu)
        .offload(config.tun.offload)
        .tx_queue_len(config.tun.tx_queue_len)
        .build()
    {
        Ok(tun) => tun,
        Err(e) => {
            let hint = tun_hint(
                &e,
                has_capability(CAP_NET_ADMIN),
                Path::new(TUN_DEVICE).exists(),
            );
            bail!(
                "cannot create the TUN device {}: {e}{}",
                config.tun.name,
                hint.map(|h| format!("; {h}")).unwrap_or_default()
            );
        }
    };
    let netlink = Netlink::new().context("opening rtnetlink")?;
    let v4 = Ipv4Pool::new(config.network.ipv4_pool)?;
    let mut addresses = vec![(IpAddr::V4(v4.server()), v4.net().prefix_len())];
    // Named pools (RADIUS Framed-Pool) are routed to the TUN like the main
    // one, by an address of the server's in each.
    for net in config.network.pools.values() {
        let pool = Ipv4Pool::new(*net)?;
        addresses.push((IpAddr::V4(pool.server()), net.prefix_len()));
    }
    if let Some(net) = config.network.ipv6_pool {
        let v6 = Ipv6Pool::new(net)?;
        addresses.push((IpAddr::V6(v6.server()), v6.net().prefix_len()));
    }
    let index = tun.index();
    for (addr, prefix) in addresses {
        match netlink.add_address(index, addr, prefix).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("adding {addr}/{prefix} to the TUN")),
        }
    }
    netlink
        .set_link_up(index)
        .await
        .context("setting the TUN up")?;
    // Networks behind clients (RADIUS Framed-Route): to the TUN, where the
    // server routes each to its session.
    for net in &config.network.routed_networks {
        let route =
            sstp_tun::netlink::Route::new(IpAddr::V4(net.network()), net.prefix_len()).dev(index);
        match netlink.add_route(&route).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("routing {net} to the TUN")),
        }
    }
    info!(name = %config.tun.name, mtu = config.tun.mtu, "TUN device ready");
    Ok(tun)
}

/// The TUN clone device.
const TUN_DEVICE: &str = "/dev/net/tun";
/// Capability numbers (linux/capability.h).
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_ADMIN: u32 = 12;

/// Whether the process has `cap` in its effective set (`CapEff` of
/// /proc/self/status); false when that cannot be read.
fn has_capability(cap: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << cap) != 0)
}

const MISSING_TUN_HINT: &str = "/dev/net/tun does not exist and could not be made: create it (mknod /dev/net/tun c 10 200, with modprobe tun), or give the container the device";

/// What to do about a TUN device that could not be created, when the cause
/// is one the admin can fix; `None` when nothing fitting can be said.
fn tun_hint(
    error: &std::io::Error,
    has_net_admin: bool,
    device_exists: bool,
) -> Option<&'static str> {
    use std::io::ErrorKind;
    // tun-rs makes a missing device node itself (mknod) when it may; it is
    // missing here only when that was refused (no CAP_MKNOD, a read-only /dev).
    if !device_exists {
        return Some(MISSING_TUN_HINT);
    }
    // ENODEV: the node is there, the driver is not.
    if error.raw_os_error() == Some(19) {
        return Some("the kernel has no TUN driver: load it (modprobe tun)");
    }
    match error.kind() {
        ErrorKind::PermissionDenied if !has_net_admin => Some(
            "creating a TUN device needs CAP_NET_ADMIN: run as root, or grant it (AmbientCapabilities=CAP_NET_ADMIN)",
        ),
        ErrorKind::PermissionDenied => Some(
            "the process has CAP_NET_ADMIN but may not open /dev/net/tun: check the device's permissions and the service's DeviceAllow=",
        ),
        ErrorKind::ResourceBusy => {
            Some("another program holds a device of that name: change tun.name or stop it")
        }
        _ => None,
    }
}

/// Adds what to do to a bind failure, when something fitting can be said.
fn with_bind_hint(e: ServerError) -> anyhow::Error {
    let hint = match &e {
        ServerError::Bind { addr, error, .. } => bind_hint(
            *addr,
            error,
            has_capability(CAP_NET_BIND_SERVICE),
            unprivileged_port_start(),
        ),
        _ => None,
    };
    match hint {
        Some(hint) => anyhow::anyhow!("{e}; {hint}"),
        None => e.into(),
    }
}

/// The lowest port binding without CAP_NET_BIND_SERVICE may use
/// (net.ipv4.ip_unprivileged_port_start, 1024 unless changed).
fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

fn bind_hint(
    addr: SocketAddr,
    error: &std::io::Error,
    has_bind_service: bool,
    unprivileged_start: u16,
) -> Option<String> {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::AddrInUse => Some(
            "another program listens there (another sstp-server?): stop it or change the address"
                .to_owned(),
        ),
        ErrorKind::PermissionDenied if addr.port() < unprivileged_start && !has_bind_service => {
            Some(format!(
                "ports below {unprivileged_start} need root or CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE)"
            ))
        }
        ErrorKind::AddrNotAvailable => {
            Some("no interface of this host has that address".to_owned())
        }
        _ => None,
    }
}

fn warn_if_not_forwarding(ipv6: bool) {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim() == "1");
    if let Ok(false) = read("/proc/sys/net/ipv4/ip_forward") {
        warn!("net.ipv4.ip_forward is 0: clients reach only this host, not the network behind it");
    }
    if ipv6 && let Ok(false) = read("/proc/sys/net/ipv6/conf/all/forwarding") {
        warn!("net.ipv6.conf.all.forwarding is 0: IPv6 clients reach only this host");
    }
}

fn gen_cert(names: &[String], cert: &Path, key: &Path, days: u32, force: bool) -> Result<()> {
    for path in [cert, key] {
        if path.exists() && !force {
            bail!("{} exists (use --force to overwrite)", path.display());
        }
    }
    let generated = generate_self_signed(names, days)?;
    std::fs::write(cert, &generated.cert_pem)
        .with_context(|| format!("writing {}", cert.display()))?;
    write_private(key, generated.key_pem.as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    let identity = generated.identity()?;
    println!("certificate: {}", cert.display());
    println!("private key: {}", key.display());
    println!("names:       {}", names.join(", "));
    println!("valid for:   {days} days");
    println!("SHA-256 fingerprint: {}", generated.fingerprint);
    println!("SHA-1 thumbprint:    {}", identity.sha1_thumbprint());
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only to a new file: an existing key (--force) keeps its
    // old mode unless set here, before the secret goes in.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(data)
}

/// `sstp-server ca ...`.
fn ca(command: CaCommand) -> Result<()> {
    use sstp_server::ca;
    match command {
        CaCommand::Init {
            dir,
            name,
            days,
            force,
            rsa,
        } => {
            let kind = if rsa {
                ca::KeyKind::Rsa2048
            } else {
                ca::KeyKind::EcdsaP256
            };
            let created = ca::init_with(&dir, &name, days, force, kind)?;
            println!("root certificate: {}", created.cert.display());
            println!("SHA-1 thumbprint:   {}", created.thumbprints.sha1);
            println!("SHA-256 thumbprint: {}", created.thumbprints.sha256);
            println!(
                "trust it in server.toml: [auth.eap_tls] ca = \"{}\"",
                created.cert.display()
            );
        }
        CaCommand::Issue {
            dir,
            name,
            email,
            days,
            out_dir,
            p12_password_file,
        } => {
            let pkcs12_password = match p12_password_file {
                Some(path) => Some(first_line(&path)?),
                None => std::env::var("SSTP_P12_PASSWORD").ok(),
            };
            let request = ca::IssueRequest {
                out_dir: out_dir.unwrap_or_else(|| dir.join("issued")),
                name,
                email,
                days,
                pkcs12_password,
            };
            let issued = ca::issue(&dir, &request)?;
            println!("certificate: {}", issued.cert.display());
            println!("private key: {}", issued.key.display());
            match &issued.pkcs12 {
                Some(path) => println!("PKCS#12:     {} (for Windows)", path.display()),
                None => println!(
                    "PKCS#12:     not written (give --p12-password-file or SSTP_P12_PASSWORD for a .p12 Windows imports)"
                ),
            }
            println!("serial:      {}", issued.serial);
            println!("SHA-1 thumbprint:   {}", issued.thumbprints.sha1);
            println!("SHA-256 thumbprint: {}", issued.thumbprints.sha256);
        }
        CaCommand::Revoke {
            dir,
            name,
            thumbprint,
            cert,
        } => {
            let target = match (name, thumbprint, cert) {
                (Some(name), _, _) => ca::RevokeTarget::Name(name),
                (_, Some(thumbprint), _) => ca::RevokeTarget::Thumbprint(thumbprint),
                (_, _, Some(cert)) => ca::RevokeTarget::CertFile(cert),
                // clap's group requires one of them.
                (None, None, None) => bail!("say what to revoke: --name, --thumbprint or --cert"),
            };
            let revoked = ca::revoke(&dir, &target)?;
            if revoked.is_empty() {
                println!("already revoked; the lists are unchanged");
            }
            for (name, thumbprints) in revoked {
                println!("revoked: {name} (SHA-1 {})", thumbprints.sha1);
            }
            println!(
                "send the server SIGHUP to apply ({} and {})",
                dir.join("revoked.txt").display(),
                dir.join("crl.pem").display()
            );
        }
    }
    Ok(())
}

/// The first line of a secret file (without its line end).
fn first_line(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        bail!(
            "{} is empty: its first line is the password",
            path.display()
        );
    }
    Ok(line)
}

/// Prints the NT hash of the first line of standard input. An empty
/// password is a usage error (status 2): its hash would be a valid-looking
/// users-file entry that any client can log in with no password.
fn nt_hash() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("error: cannot read the password from standard input: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!(
            "error: the password is empty; give it on standard input, for example: printf '%s\\n' 'the password' | sstp-server nt-hash"
        );
        return ExitCode::from(2);
    }
    let hash = sstp_core::NtPasswordHash::from_password(password);
    println!("{}", hex::encode_upper(hash.as_bytes()));
    ExitCode::SUCCESS
}

/// `a, b, c` of displayable items (listen addresses in logs and output).
fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    /// The hint fits the cause: a missing device node is not a missing
    /// capability, and a process that has CAP_NET_ADMIN is not told to get it.
    #[test]
    fn tun_hints_fit_the_cause() {
        let denied = Error::from_raw_os_error(1); // EPERM from TUNSETIFF
        let missing = Error::from_raw_os_error(2); // ENOENT opening /dev/net/tun
        assert_eq!(tun_hint(&missing, true, false), Some(MISSING_TUN_HINT));
        assert_eq!(
            tun_hint(&Error::from_raw_os_error(19), true, true),
            Some("the kernel has no TUN driver: load it (modprobe tun)")
        );
        assert_eq!(
            tun_hint(&denied, false, false),
            tun_hint(&missing, true, false)
        );
        assert_eq!(
            tun_hint(&denied, false, true),
            Some(
                "creating a TUN device needs CAP_NET_ADMIN: run as root, or grant it (AmbientCapabilities=CAP_NET_ADMIN)"
            )
        );
        let with_cap = tun_hint(&denied, true, true).expect("a hint");
        assert!(!with_cap.contains("needs CAP_NET_ADMIN"), "{with_cap}");
        assert_eq!(
            with_cap,
            "the process has CAP_NET_ADMIN but may not open /dev/net/tun: check the device's permissions and the service's DeviceAllow="
        );
        assert_eq!(
            tun_hint(&Error::from(ErrorKind::InvalidInput), true, true),
            None
        );
    }

    #[test]
    fn bind_hints_fit_the_cause() {
        let v4 = |port| SocketAddr::from(([0, 0, 0, 0], port));
        let denied = Error::from_raw_os_error(13); // EACCES
        assert_eq!(
            bind_hint(v4(443), &denied, false, 1024).as_deref(),
            Some(
                "ports below 1024 need root or CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE)"
            )
        );
        // With the capability, or on a port anyone may bind, it is something else.
        assert_eq!(bind_hint(v4(443), &denied, true, 1024), None);
        assert_eq!(bind_hint(v4(8443), &denied, false, 1024), None);
        assert_eq!(bind_hint(v4(443), &denied, false, 80), None);
        let in_use = Error::from_raw_os_error(98); // EADDRINUSE
        assert_eq!(
            bind_hint(v4(443), &in_use, true, 1024).as_deref(),
            Some(
                "another program listens there (another sstp-server?): stop it or change the address"
            )
        );
    }

    #[test]
    fn verbosity_levels() {
        assert_eq!(log_filter(0), "info");
        assert_eq!(log_filter(1), "debug");
        assert_eq!(log_filter(2), "trace");
        assert_eq!(log_filter(9), "trace");
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
