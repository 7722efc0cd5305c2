//! `sstp-client`: connect this machine to an SSTP VPN.
//!
//! A thin shell over the library: flags and a TOML profile become a
//! `ClientBuilder`; the tunnel's events become lines for people (or JSON
//! objects, one per line, with `--json`); signals become a clean
//! disconnect; the final error becomes an exit code (see `EXIT CODES` in
//! `--help`).
//!
//! As a service (packaging/sstp-client@.service, `Type=notify`:
//! `systemctl enable --now sstp-client@work` runs
//! `sstp-client connect --profile /etc/sstp-client/work.toml`) it says
//! READY=1 when the tunnel is up, STATUS= while it reconnects, STOPPING=1
//! when it disconnects, and pings the watchdog. `--log-format` picks text,
//! JSON lines or journald priorities for the log (stderr);
//! `sstp-client completions bash|zsh|fish` prints a completion script.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use serde_json::json;
use sstp_client::{
    AuthMethod, ClientBuilder, ClientIdentity, EapTlsOptions, Error, ErrorKind, Fingerprint,
    HttpProxy, Keepalive, Prefix, ProxySetting, ReconnectPolicy, RouteMode, ServerAddr, TlsOptions,
    TlsVersion, TunnelEvent, TunnelOptions, TunnelStats,
};

const EXIT_CODES: &str = "\
EXIT CODES:
    0  disconnected on request (Ctrl-C, SIGTERM, SIGHUP)
    1  internal error
    2  usage or configuration error (bad flag, unreadable profile or password file, a client
       certificate that cannot be used)
    3  server unreachable (name resolution, TCP connect, timeout, or the connection closed during
       the TLS handshake, as when the server limits new connections; also once the retries of
       a first connect ran out)
    4  server certificate not trusted, or fingerprint mismatch
    5  authentication failed (wrong user name or password, an account the server refuses, no
       common authentication method, a certificate refused in EAP-TLS); the server's reason is
       printed
    6  HTTP proxy refused the tunnel or is unreachable
    7  the server refused the session after authentication (its reason is printed, e.g. no
       address left), or a protocol error (SSTP refused or aborted, PPP negotiation, crypto
       binding)
    8  connection lost and not re-established (reconnect off, or --reconnect-attempts ran out)
    9  local setup failed (TUN device, routes, DNS: run as root / CAP_NET_ADMIN)

LOGGING:
    Logs go to stderr: warnings by default, -v info, -vv debug, -vvv trace; RUST_LOG
    overrides. --log-format json writes one JSON object per line; under systemd
    (JOURNAL_STREAM is stderr) lines get journald priorities. Events (tunnel up,
    reconnecting) are stdout, --json makes them JSON.

SYSTEMD:
    sstp-client@PROFILE.service runs `connect --profile /etc/sstp-client/PROFILE.toml`;
    with NOTIFY_SOCKET set it reports READY=1 when the tunnel is up, STOPPING=1 when
    it disconnects, and pings the watchdog every WatchdogSec/2.";

#[derive(Parser, Debug)]
#[command(
    name = "sstp-client",
    version,
    about = "SSTP VPN client: connects this machine to an SSTP server (MS-SSTP) through a TUN interface",
    after_help = EXIT_CODES
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
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
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Connect and stay connected until Ctrl-C or SIGTERM (needs root or CAP_NET_ADMIN).
    #[command(after_help = CONNECT_HELP)]
    Connect(Box<ConnectArgs>),
    /// Print the SHA-256 fingerprint of a server's certificate WITHOUT checking it, to compare
    /// out of band before trusting it with --pin-sha256.
    Fingerprint(FingerprintArgs),
    /// Print a shell completion script (bash, zsh, fish; elvish and
    /// powershell too), e.g. `sstp-client completions bash > /etc/bash_completion.d/sstp-client`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: sstp_service::docs::Shell,
    },
    /// Write the man pages (sstp-client.1 and one per command) into DIR; the
    /// packages ship them.
    #[command(hide = true)]
    Man {
        /// Where to write them (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

const CONNECT_HELP: &str = "\
PASSWORD:
    The password is never a command-line argument (other users can read those). It comes from
    --password-file (first line), --password-env, or an interactive prompt.

PROFILE:
    --profile FILE reads the same settings from TOML; flags given on the command line win.
    Keys are the long flag names, with '_' or '-' between words, for example:

        server = \"vpn.example.net:443\"
        user = \"alice\"
        password_file = \"/etc/sstp-client/alice.password\"
        auth = [\"mschapv2\", \"eap-mschapv2\"]
        pkcs12 = \"/etc/sstp-client/alice.pfx\"
        pkcs12_password_file = \"/etc/sstp-client/alice.pfx.password\"
        pin_sha256 = [\"AB:CD:...\"]
        route = [\"10.20.0.0/16\"]
        keepalive = \"30s\"

    See sstp-client/client.example.toml for every key.

CERTIFICATE (EAP-TLS):
    --cert FILE --key FILE (PEM) or --pkcs12 FILE (a .pfx / .p12, as Windows and Azure export
    it) authenticate with a client certificate (EAP-TLS, RFC 5216) instead of a password.
    Without --auth, EAP-TLS is then the first method, followed by mschapv2 and eap-mschapv2 only
    when --password-file or --password-env is given; no password is asked for. The EAP identity
    is --user, else the certificate's subject common name, else its e-mail address. The
    certificate must allow client authentication (extended key usage clientAuth, or none): one
    that does not is refused before connecting, since the server would refuse it anyway.
    The PKCS#12 password comes from --pkcs12-password-file, --pkcs12-password-env, or a prompt
    (a bundle without a password opens without one).
    The server's certificate inside EAP-TLS is checked like the outer TLS one (--ca-file or the
    system roots, --pin-sha256, for the --sni or server name); --eap-ca FILE trusts only that
    CA for it, --eap-server-name NAME checks it for another name (e.g. the NPS server's).

RECONNECT:
    With reconnect on (the default), a connection that is lost is re-established with backoff
    (1 s doubling to --reconnect-max-delay, with jitter), and so is a first connect that fails
    for a reason that can pass: refused, timed out, or the server busy (HTTP 5xx, e.g. 503 when
    full). A name that does not resolve, an untrusted certificate, a wrong password or a bad
    setting fail at once. --reconnect-attempts bounds the retries in a row; --no-reconnect
    turns all of it off.

DURATIONS:
    --keepalive and --reconnect-max-delay (and their profile keys) take a number of seconds or
    a duration with a unit: 500ms, 30s, 5m, 2h.

ROUTES:
    By default all traffic goes through the tunnel (0.0.0.0/1 and 128.0.0.0/1, and ::/1 and
    8000::/1 once IPv6 has a router), with a host route to the server (or proxy) through the old
    gateway. --route (repeatable) sends only those prefixes; --no-routes adds none. Either way a
    DNS server the server pushes outside those routes gets a warning: add --route <dns>/32.

EXIT CODES:
    0 requested disconnect, 1 internal, 2 usage/config, 3 unreachable, 4 certificate,
    5 authentication, 6 proxy, 7 refused or protocol error, 8 connection lost, 9 local setup
    (see sstp-client --help)";

#[derive(Args, Debug, Default)]
struct ConnectArgs {
    /// Read settings from this TOML profile (flags override it).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// The server, HOST[:PORT] (port 443 by default).
    #[arg(long, value_name = "HOST[:PORT]")]
    server: Option<String>,
    /// The user name (sent as is, e.g. DOMAIN\user); with a client certificate, the EAP identity
    /// [default: the certificate's common name or e-mail address].
    #[arg(long, short = 'u', value_name = "NAME")]
    user: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    password_file: Option<PathBuf>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Authentication methods to accept, in order of preference: mschapv2, eap-mschapv2,
    /// eap-tls, pap, chap-md5 [default: mschapv2,eap-mschapv2; with a client certificate
    /// eap-tls first].
    #[arg(long, value_name = "METHOD,...", value_delimiter = ',')]
    auth: Vec<String>,

    /// The client certificate (PEM, leaf first, then any intermediates) for EAP-TLS; with --key.
    #[arg(long, value_name = "FILE", help_heading = "CERTIFICATE")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE", help_heading = "CERTIFICATE")]
    key: Option<PathBuf>,
    /// The client certificate and key for EAP-TLS as a PKCS#12 bundle (.pfx, .p12).
    #[arg(long, value_name = "FILE", help_heading = "CERTIFICATE")]
    pkcs12: Option<PathBuf>,
    /// Read the PKCS#12 password from the first line of this file.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "CERTIFICATE",
        conflicts_with = "pkcs12_password_env"
    )]
    pkcs12_password_file: Option<PathBuf>,
    /// Read the PKCS#12 password from this environment variable.
    #[arg(long, value_name = "VAR", help_heading = "CERTIFICATE")]
    pkcs12_password_env: Option<String>,
    /// Trust only the CA certificates in this PEM file for the server's EAP-TLS certificate
    /// [default: the same trust as the outer TLS].
    #[arg(long, value_name = "FILE", help_heading = "CERTIFICATE")]
    eap_ca: Option<PathBuf>,
    /// The name the server's EAP-TLS certificate must be valid for [default: --sni, else the
    /// server host].
    #[arg(long, value_name = "NAME", help_heading = "CERTIFICATE")]
    eap_server_name: Option<String>,

    /// Trust the CA certificates in this PEM file instead of the system roots.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    ca_file: Option<PathBuf>,
    /// Accept only a server certificate with this SHA-256 fingerprint (repeatable; colons
    /// optional). Alone, chain and name are then not checked; with --ca-file, both must hold.
    /// Get it with `sstp-client fingerprint`.
    #[arg(long = "pin-sha256", value_name = "FINGERPRINT", help_heading = "TLS")]
    pin_sha256: Vec<String>,
    /// Name to send in SNI and check the certificate against (default: the server host).
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    sni: Option<String>,
    /// Lowest TLS version: 1.2 or 1.3 [default: 1.2].
    #[arg(long, value_name = "VERSION", help_heading = "TLS")]
    tls_min: Option<String>,
    /// Highest TLS version: 1.2 or 1.3 [default: 1.3].
    #[arg(long, value_name = "VERSION", help_heading = "TLS")]
    tls_max: Option<String>,
    /// DANGEROUS: accept any server certificate. Anyone on the path can then read and change
    /// the traffic. For labs only; a warning is logged on every connect.
    #[arg(long, help_heading = "TLS")]
    dangerous_skip_verify: bool,

    /// Connect through this HTTP proxy (http://[user:password@]host[:port]). Default: the
    /// https_proxy / HTTPS_PROXY / all_proxy variables, unless no_proxy matches the server.
    #[arg(
        long,
        value_name = "URL",
        help_heading = "PROXY",
        conflicts_with = "no_proxy"
    )]
    proxy: Option<String>,
    /// Connect directly, ignoring proxy environment variables.
    #[arg(long, help_heading = "PROXY")]
    no_proxy: bool,

    /// TUN interface name ('%d' is replaced by a number) [default: sstp%d].
    #[arg(long, value_name = "NAME", help_heading = "TUNNEL")]
    interface: Option<String>,
    /// Tunnel MTU, 576-4087; below 1280 the tunnel is IPv4 only [default: 1400].
    #[arg(long, value_name = "BYTES", help_heading = "TUNNEL")]
    mtu: Option<u16>,
    /// Route only this prefix through the tunnel (repeatable), instead of everything.
    #[arg(long = "route", value_name = "CIDR", help_heading = "TUNNEL")]
    routes: Vec<String>,
    /// Add no routes beyond the server's tunnel address.
    #[arg(long, help_heading = "TUNNEL", conflicts_with = "routes")]
    no_routes: bool,
    /// Do not apply the DNS servers the server pushes.
    #[arg(long, help_heading = "TUNNEL")]
    no_dns: bool,
    /// Do not negotiate IPv6.
    #[arg(long, help_heading = "TUNNEL")]
    no_ipv6: bool,
    /// Idle time between LCP echo requests, e.g. 30s (0 turns them off) [default: 30s].
    #[arg(long, value_name = "DURATION", help_heading = "TUNNEL", value_parser = duration_arg)]
    keepalive: Option<Duration>,

    /// Do not retry: neither a lost connection nor a first connect that failed for a reason
    /// that can pass (refused, timed out, server busy).
    #[arg(long, help_heading = "RECONNECT")]
    no_reconnect: bool,
    /// Longest wait between attempts, e.g. 90s or 5m [default: 60s].
    #[arg(long, value_name = "DURATION", help_heading = "RECONNECT", value_parser = duration_arg)]
    reconnect_max_delay: Option<Duration>,
    /// Give up after this many failed retries in a row [default: never].
    #[arg(long, value_name = "N", help_heading = "RECONNECT")]
    reconnect_attempts: Option<u32>,

    /// Print events as JSON objects, one per line, instead of text.
    #[arg(long, help_heading = "OUTPUT")]
    json: bool,
}

#[derive(Args, Debug)]
struct FingerprintArgs {
    /// The server, HOST[:PORT].
    #[arg(long, value_name = "HOST[:PORT]")]
    server: String,
    /// Name to send in SNI (default: the server host).
    #[arg(long, value_name = "NAME")]
    sni: Option<String>,
    /// Connect through this HTTP proxy.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    proxy: Option<String>,
    /// Connect directly, ignoring proxy environment variables.
    #[arg(long)]
    no_proxy: bool,
}

/// The TOML profile: the long flag names, with `_` or `-` (see
/// [`read_profile`]); durations as numbers of seconds or strings with a unit.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Profile {
    server: Option<String>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    auth: Option<Vec<String>>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    pkcs12: Option<PathBuf>,
    pkcs12_password_file: Option<PathBuf>,
    pkcs12_password_env: Option<String>,
    eap_ca: Option<PathBuf>,
    eap_server_name: Option<String>,
    ca_file: Option<PathBuf>,
    pin_sha256: Option<Vec<String>>,
    sni: Option<String>,
    tls_min: Option<String>,
    tls_max: Option<String>,
    dangerous_skip_verify: Option<bool>,
    proxy: Option<String>,
    no_proxy: Option<bool>,
    interface: Option<String>,
    mtu: Option<u16>,
    /// The flag is `--route`; `routes` is kept for older profiles.
    #[serde(alias = "route")]
    routes: Option<Vec<String>>,
    no_routes: Option<bool>,
    no_dns: Option<bool>,
    no_ipv6: Option<bool>,
    #[serde(default, deserialize_with = "profile_duration")]
    keepalive: Option<Duration>,
    no_reconnect: Option<bool>,
    #[serde(default, deserialize_with = "profile_duration")]
    reconnect_max_delay: Option<Duration>,
    reconnect_attempts: Option<u32>,
    json: Option<bool>,
}

/// A usage or configuration problem (exit code 2), as opposed to a failure
/// of the tunnel.
#[derive(Debug)]
struct Usage(anyhow::Error);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    match cli.command {
        Command::Completions { shell } => {
            sstp_service::docs::completions(
                <Cli as clap::CommandFactory>::command(),
                shell,
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man { dir } => return man(&dir),
        _ => {}
    }
    // One thread: the tunnel is one task, and a second worker only adds cross-thread wake-ups
    // (futex, epoll) to every packet batch (sstp-bench measured it, BENCHMARKS.md).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sstp-client: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Connect(args) => connect(*args).await,
            Command::Fingerprint(args) => fingerprint(args).await,
            // Handled above, before the runtime.
            Command::Completions { .. } | Command::Man { .. } => 0,
        }
    });
    ExitCode::from(code)
}

fn init_logging(verbose: u8, format: sstp_service::log::LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    sstp_service::log::init(format, default);
}

/// `sstp-client man --dir DIR`.
fn man(dir: &Path) -> ExitCode {
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        sstp_service::docs::man_pages(<Cli as clap::CommandFactory>::command(), dir)
    });
    match written {
        Ok(pages) => {
            for page in pages {
                println!("{}", page.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "sstp-client: cannot write the man pages into {}: {e}",
                dir.display()
            );
            ExitCode::from(1)
        }
    }
}

async fn fingerprint(args: FingerprintArgs) -> u8 {
    let result = async {
        let server: ServerAddr = args.server.parse()?;
        let proxy = proxy_setting(args.proxy.as_deref(), args.no_proxy)?;
        sstp_client::fetch_fingerprint(&server, args.sni.as_deref(), proxy).await
    }
    .await;
    match result {
        Ok((fp, version)) => {
            println!("{fp}");
            eprintln!(
                "({version}; NOT verified: compare it with the server's certificate before using --pin-sha256)"
            );
            0
        }
        Err(e) => {
            eprintln!("sstp-client: {e}");
            exit_code(&e)
        }
    }
}

async fn connect(args: ConnectArgs) -> u8 {
    let json = args.json;
    let settings = match settings(args) {
        Ok(s) => s,
        Err(Usage(e)) => {
            report_usage(json, &e);
            return 2;
        }
    };
    let json = settings.json;
    let out = Output {
        json,
        was_up: std::cell::Cell::new(false),
    };
    let mut tunnel = match settings.builder.start() {
        Ok(t) => t,
        Err(e) => return out.fail(&e, None),
    };

    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup());
    let mut stopping = false;
    let watchdog = sstp_service::notify::spawn_watchdog();
    loop {
        tokio::select! {
            event = tunnel.next_event() => match event {
                Some(event) => {
                    out.event(&event);
                    notify_event(&event);
                }
                None => break,
            },
            _ = tokio::signal::ctrl_c(), if !stopping => {
                stopping = true;
                out.note("Disconnecting (Ctrl-C)...", "interrupt");
                tunnel.request_disconnect();
            }
            _ = recv(&mut sigterm), if !stopping => {
                stopping = true;
                out.note("Disconnecting (SIGTERM)...", "terminate");
                tunnel.request_disconnect();
            }
            _ = recv(&mut sighup), if !stopping => {
                stopping = true;
                out.note("Disconnecting (SIGHUP)...", "hangup");
                tunnel.request_disconnect();
            }
        }
    }
    sstp_service::notify::stopping("disconnected");
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    let stats = tunnel.stats();
    match tunnel.wait().await {
        Ok(()) => {
            out.done(&stats);
            0
        }
        Err(e) => out.fail(&e, Some(&stats)),
    }
}

/// What a `Type=notify` unit hears of the tunnel: READY=1 once it is up
/// (again after a reconnect), STATUS= while it is not.
fn notify_event(event: &TunnelEvent) {
    match event {
        TunnelEvent::Up(up) => sstp_service::notify::ready(&format!(
            "tunnel up on {}, address {}",
            up.interface, up.local
        )),
        TunnelEvent::Connecting {
            server, attempt, ..
        } => sstp_service::notify::status(&format!("connecting to {server} (attempt {attempt})")),
        TunnelEvent::Reconnecting { reason, delay, .. } => {
            sstp_service::notify::status(&format!(
                "reconnecting in {:.0}s: {reason}",
                delay.as_secs_f64()
            ));
        }
        _ => {}
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

struct Settings {
    builder: ClientBuilder,
    json: bool,
}

/// Flags over profile over defaults, into a builder.
fn settings(args: ConnectArgs) -> Result<Settings, Usage> {
    let profile = match &args.profile {
        Some(path) => read_profile(path).map_err(Usage)?,
        None => Profile::default(),
    };
    let usage = |e: anyhow::Error| Usage(e);
    let server = args
        .server
        .or(profile.server)
        .ok_or_else(|| anyhow!("no server: give --server HOST[:PORT] or `server` in the profile"))
        .map_err(usage)?;
    let server: ServerAddr = server.parse().map_err(|e: Error| Usage(e.into()))?;
    let identity = identity(
        args.cert.or(profile.cert),
        args.key.or(profile.key),
        args.pkcs12.or(profile.pkcs12),
        args.pkcs12_password_file
            .or(profile.pkcs12_password_file)
            .as_deref(),
        args.pkcs12_password_env
            .or(profile.pkcs12_password_env)
            .as_deref(),
    )
    .map_err(usage)?;
    let user = args.user.or(profile.user);
    if user.is_none() && identity.is_none() {
        return Err(usage(anyhow!(
            "no user name: give --user NAME or `user` in the profile"
        )));
    }

    let auth = if args.auth.is_empty() {
        profile.auth.unwrap_or_default()
    } else {
        args.auth
    };
    let methods = auth
        .iter()
        .map(|m| {
            m.parse::<AuthMethod>()
                .map_err(|e| anyhow!("--auth {m:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(usage)?;
    if methods.contains(&AuthMethod::EapTls) && identity.is_none() {
        return Err(usage(anyhow!(
            "--auth eap-tls needs a client certificate: give --cert FILE --key FILE, or --pkcs12 FILE"
        )));
    }

    // A password is asked for only when a method needs one: with a certificate and no --auth,
    // the password methods follow EAP-TLS only when a password source is given.
    let password_file = args.password_file.or(profile.password_file);
    let password_env = args.password_env.or(profile.password_env);
    let wants_password = if methods.is_empty() {
        identity.is_none() || password_file.is_some() || password_env.is_some()
    } else {
        methods.iter().any(|m| *m != AuthMethod::EapTls)
    };
    let password = if wants_password {
        let Some(user) = user.as_deref() else {
            return Err(usage(anyhow!(
                "no user name for the password methods: give --user NAME, or allow only --auth eap-tls"
            )));
        };
        Some(
            password(
                password_file.as_deref(),
                password_env.as_deref(),
                user,
                &server,
            )
            .map_err(usage)?,
        )
    } else {
        None
    };

    let pins = if args.pin_sha256.is_empty() {
        profile.pin_sha256.unwrap_or_default()
    } else {
        args.pin_sha256
    };
    let parse_version = |v: Option<String>| -> Result<Option<TlsVersion>, Usage> {
        v.map(|v| v.parse::<TlsVersion>())
            .transpose()
            .map_err(|e| Usage(e.into()))
    };
    let tls = TlsOptions {
        ca_file: args.ca_file.or(profile.ca_file),
        pins: pins
            .iter()
            .map(|p| p.parse::<Fingerprint>())
            .collect::<Result<_, _>>()
            .map_err(|e| Usage(e.into()))?,
        sni: args.sni.or(profile.sni),
        min_version: parse_version(args.tls_min.or(profile.tls_min))?,
        max_version: parse_version(args.tls_max.or(profile.tls_max))?,
        dangerous_skip_verify: args.dangerous_skip_verify
            || profile.dangerous_skip_verify.unwrap_or(false),
    };

    let proxy = proxy_setting(
        args.proxy.or(profile.proxy).as_deref(),
        args.no_proxy || profile.no_proxy.unwrap_or(false),
    )
    .map_err(|e| Usage(e.into()))?;

    let routes = if args.routes.is_empty() {
        profile.routes.unwrap_or_default()
    } else {
        args.routes
    };
    let route_mode = if args.no_routes || profile.no_routes.unwrap_or(false) {
        RouteMode::None
    } else if routes.is_empty() {
        RouteMode::Default
    } else {
        RouteMode::Split(
            routes
                .iter()
                .map(|r| r.parse::<Prefix>())
                .collect::<Result<_, _>>()
                .map_err(|e| Usage(e.into()))?,
        )
    };
    let defaults = TunnelOptions::default();
    let tunnel = TunnelOptions {
        interface: args
            .interface
            .or(profile.interface)
            .unwrap_or(defaults.interface),
        mtu: args.mtu.or(profile.mtu).unwrap_or(defaults.mtu),
        routes: route_mode,
        dns: !(args.no_dns || profile.no_dns.unwrap_or(false)),
        ipv6: !(args.no_ipv6 || profile.no_ipv6.unwrap_or(false)),
    };
    let mut keepalive = Keepalive::default();
    if let Some(period) = args.keepalive.or(profile.keepalive) {
        keepalive.lcp_echo = (!period.is_zero()).then_some(period);
    }
    let mut reconnect = ReconnectPolicy::default();
    if args.no_reconnect || profile.no_reconnect.unwrap_or(false) {
        reconnect.enabled = false;
    }
    if let Some(delay) = args.reconnect_max_delay.or(profile.reconnect_max_delay) {
        reconnect.max_delay = delay.max(Duration::from_secs(1));
    }
    reconnect.max_attempts = args.reconnect_attempts.or(profile.reconnect_attempts);

    let mut builder = ClientBuilder::new(server);
    builder = match (user, password) {
        (Some(user), Some(password)) => builder.password(user, password),
        (Some(user), None) => builder.username(user),
        (None, _) => builder,
    };
    if let Some(identity) = identity {
        builder = builder.certificate(identity).eap_tls(EapTlsOptions {
            ca_file: args.eap_ca.or(profile.eap_ca),
            server_name: args.eap_server_name.or(profile.eap_server_name),
        });
    }
    let mut builder = builder
        .tls(tls)
        .proxy(proxy)
        .tunnel(tunnel)
        .keepalive(keepalive)
        .reconnect(reconnect);
    if !methods.is_empty() {
        builder = builder.auth_methods(methods);
    }
    Ok(Settings {
        builder,
        json: args.json || profile.json.unwrap_or(false),
    })
}

/// Reads a profile. Its keys are the long flag names: `password-file` and
/// `password_file` are the same key (one rule, whichever a person types).
fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the profile {}", path.display()))?;
    let context = || format!("profile {}", path.display());
    let table: toml::Table = toml::from_str(&text).with_context(context)?;
    let table: toml::Table = table
        .into_iter()
        .map(|(key, value)| (key.replace('-', "_"), value))
        .collect();
    Profile::deserialize(table)
        .map_err(|e| anyhow!("{}", e.message()))
        .with_context(context)
}

/// A duration as a person types it, the same rule as sstp-server's
/// configuration: a bare number of seconds (fractions allowed), or a
/// number with a unit as `humantime` reads it (`500ms`, `30s`, `5m` or
/// `5min`, `2h`, `1h 30m`).
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let bare = text
        .parse()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    bare.or_else(|| humantime::parse_duration(text).ok())
}

const DURATION_EXAMPLES: &str = "examples: 30, 500ms, 30s, 5m, 2h";

/// `--keepalive 30s`.
fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).ok_or_else(|| format!("not a duration ({DURATION_EXAMPLES})"))
}

/// `keepalive = 30` or `keepalive = "30s"` in a profile.
fn profile_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Seconds(s) => Duration::try_from_secs_f64(s).map(Some).map_err(|_| {
            serde::de::Error::custom("a duration must be a non-negative number of seconds")
        }),
        Raw::Text(t) => parse_duration(&t).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("{t:?} is not a duration ({DURATION_EXAMPLES})"))
        }),
    }
}

fn proxy_setting(url: Option<&str>, direct: bool) -> Result<ProxySetting, sstp_client::ProxyError> {
    Ok(match (url, direct) {
        (_, true) => ProxySetting::Direct,
        (Some(url), false) => ProxySetting::Http(HttpProxy::parse(url)?),
        (None, false) => ProxySetting::FromEnv,
    })
}

/// The EAP-TLS client certificate, from PEM files or a PKCS#12 bundle.
fn identity(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    pkcs12: Option<PathBuf>,
    password_file: Option<&Path>,
    password_env: Option<&str>,
) -> anyhow::Result<Option<ClientIdentity>> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    match (cert, key, pkcs12) {
        (None, None, None) => Ok(None),
        (Some(cert), Some(key), None) => Ok(Some(ClientIdentity::from_pem_files(
            &cert, &key, &provider,
        )?)),
        (Some(_), None, None) => bail!("--cert needs --key FILE with its private key"),
        (None, Some(_), None) => bail!("--key needs --cert FILE with its certificate"),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            bail!("give either --cert and --key or --pkcs12, not both")
        }
        (None, None, Some(path)) => {
            let identity = match secret(password_file, password_env, None)? {
                Some(password) => ClientIdentity::from_pkcs12(&path, &password, &provider)?,
                None => match ClientIdentity::from_pkcs12(&path, "", &provider) {
                    // Many bundles have no password; ask only when this one has.
                    Err(sstp_client::IdentityError::Pkcs12Password { .. }) => {
                        let prompt = format!("Password for {}: ", path.display());
                        let password = secret(None, None, Some(&prompt))?.unwrap_or_default();
                        ClientIdentity::from_pkcs12(&path, &password, &provider)?
                    }
                    other => other?,
                },
            };
            Ok(Some(identity))
        }
    }
}

/// The PKCS#12 password from a file (its first line, which may be empty),
/// a variable, or, with `prompt`, the terminal; `None` when none is given
/// and there is no prompt.
fn secret(
    file: Option<&Path>,
    env: Option<&str>,
    prompt: Option<&str>,
) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the PKCS#12 password file {}", path.display()))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_owned()));
    }
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(p) => Ok(Some(p)),
            Err(_) => Err(anyhow!("the variable {var} is not set")),
        };
    }
    let Some(prompt) = prompt else {
        return Ok(None);
    };
    if !std::io::stdin().is_terminal() {
        bail!(
            "the PKCS#12 file needs a password: give --pkcs12-password-file FILE or --pkcs12-password-env VAR (stdin is not a terminal, so there is no prompt)"
        );
    }
    rpassword::prompt_password(prompt)
        .map(Some)
        .context("cannot read the PKCS#12 password from the terminal")
}

/// The password from a file, a variable, or the terminal; never a flag.
fn password(
    file: Option<&Path>,
    env: Option<&str>,
    user: &str,
    server: &ServerAddr,
) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?;
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            bail!("the password file {} is empty", path.display());
        }
        return Ok(line.to_owned());
    }
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(p) if !p.is_empty() => Ok(p),
            Ok(_) => Err(anyhow!("the variable {var} is empty")),
            Err(_) => Err(anyhow!("the variable {var} is not set")),
        };
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no password: give --password-file FILE or --password-env VAR (stdin is not a terminal, so there is no prompt)"
        );
    }
    let password = rpassword::prompt_password(format!("Password for {user} at {server}: "))
        .context("cannot read the password from the terminal")?;
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Config => 2,
        ErrorKind::Unreachable => 3,
        ErrorKind::Certificate => 4,
        ErrorKind::Auth => 5,
        ErrorKind::Proxy => 6,
        ErrorKind::Protocol => 7,
        ErrorKind::ConnectionLost => 8,
        ErrorKind::Local => 9,
        _ => 1,
    }
}

/// What a person should try next, by kind of failure.
fn hint(e: &Error) -> Option<&'static str> {
    Some(match e.kind() {
        ErrorKind::Unreachable => match e {
            Error::HandshakeClosed { .. } => {
                "wait a little before connecting again; if it keeps happening, check that the server and port are the SSTP server's"
            }
            _ => "check the server name and port, and that this machine can reach it",
        },
        ErrorKind::Certificate => match e {
            Error::Certificate(sstp_client::CertificateError::PinMismatch { .. }) => {
                "the server's certificate changed, or this is not the server you expect: confirm the new fingerprint with its administrator"
            }
            _ => {
                "trust the server's CA with --ca-file, or pin its certificate with --pin-sha256 (see `sstp-client fingerprint`)"
            }
        },
        ErrorKind::Auth => match e {
            Error::Auth(sstp_core::AuthFailure::MethodNotSupported { .. }) => {
                "choose a method the server allows with --auth (mschapv2, eap-mschapv2, eap-tls, pap, chap-md5)"
            }
            // RFC 5216 5.3: either side's certificate can be the one refused.
            Error::Auth(sstp_core::AuthFailure::Tls { .. }) => {
                "if the server's certificate was refused, check --eap-ca and --eap-server-name; if this client's, check that it is current and from a CA the server trusts"
            }
            // RFC 2759 6: codes other than 691 refuse the account, not the password.
            Error::Auth(sstp_core::AuthFailure::Rejected {
                mschapv2_error: Some(code),
                ..
            }) if *code != 691 => {
                "the server's administrator can tell why this account may not connect"
            }
            _ => "check the user name and password (and --auth if the server needs PAP or CHAP)",
        },
        ErrorKind::Protocol => match e {
            Error::Session(sstp_core::CloseReason::PeerTerminated { .. }) => {
                "the server's administrator can tell more; trying again later may work"
            }
            _ => return None,
        },
        ErrorKind::Proxy => {
            "check --proxy / https_proxy and the proxy credentials, or use --no-proxy"
        }
        ErrorKind::Local => {
            if nix::unistd::geteuid().is_root() {
                "the tunnel interface, routes or DNS could not be set up; see the message above"
            } else {
                "creating the TUN interface and changing routes needs root (or CAP_NET_ADMIN): try sudo"
            }
        }
        _ => return None,
    })
}

fn report_usage(json: bool, e: &anyhow::Error) {
    if json {
        println!(
            "{}",
            json!({"event": "exit", "code": 2, "kind": "config", "error": format!("{e:#}")})
        );
    } else {
        sstp_service::log::eprint(tracing::Level::ERROR, &format!("sstp-client: {e:#}"));
    }
}

/// Human or JSON output of events.
struct Output {
    json: bool,
    /// Whether the tunnel came up: a `down` line means a tunnel that was up
    /// went down; one that never came up has only its `exit` line.
    was_up: std::cell::Cell<bool>,
}

impl Output {
    fn line(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn text(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn note(&self, text: &str, signal: &str) {
        if self.json {
            self.line(json!({"event": "signal", "signal": signal}));
        } else {
            self.text(text);
        }
    }

    fn event(&self, event: &TunnelEvent) {
        match event {
            TunnelEvent::Up(_) => self.was_up.set(true),
            TunnelEvent::Down { .. } if !self.was_up.get() => return,
            _ => {}
        }
        if self.json {
            self.line(event_json(event));
            return;
        }
        match event {
            TunnelEvent::Connecting {
                attempt,
                server,
                proxy,
            } => {
                let via = proxy
                    .as_ref()
                    .map(|p| format!(" through proxy {p}"))
                    .unwrap_or_default();
                if *attempt == 1 {
                    self.text(&format!("Connecting to {server}{via}..."));
                } else {
                    self.text(&format!(
                        "Connecting to {server}{via} (attempt {attempt})..."
                    ));
                }
            }
            TunnelEvent::Connected {
                server,
                remote,
                tls_version,
                fingerprint,
            } => {
                let at = remote.map(|r| format!(" ({r})")).unwrap_or_default();
                self.text(&format!(
                    "Connected to {server}{at} over {tls_version}; server certificate SHA-256 {fingerprint}"
                ));
            }
            TunnelEvent::Authenticated { username, method } => {
                let how = method.map(|m| format!(" with {m}")).unwrap_or_default();
                self.text(&format!("Authenticated as {username}{how}"));
            }
            TunnelEvent::Up(up) => {
                let peer = up
                    .peer
                    .map(|p| format!(", server side {p}"))
                    .unwrap_or_default();
                self.text(&format!(
                    "Tunnel up on {}: address {}{peer}, MTU {}",
                    up.interface, up.local, up.mtu
                ));
                if up.routes.is_empty() {
                    self.text("  routes: none added");
                } else {
                    self.text(&format!("  routes: {}", up.routes.join(", ")));
                }
                let dns = up
                    .dns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                match (&up.dns_applied, dns.is_empty()) {
                    (_, true) => self.text("  DNS: none pushed by the server"),
                    (Some(where_), false) => {
                        self.text(&format!("  DNS: {dns} (applied via {where_})"))
                    }
                    (None, false) => self.text(&format!("  DNS: {dns} (not applied)")),
                }
                for warning in &up.warnings {
                    sstp_service::log::eprint(
                        tracing::Level::WARN,
                        &format!("sstp-client: warning: {warning}"),
                    );
                }
            }
            TunnelEvent::Ipv6Up {
                interface, local, ..
            } => {
                self.text(&format!("IPv6 up on {interface}: link-local {local}"));
            }
            TunnelEvent::Ipv6Address {
                address,
                prefix_len,
                routes,
                ..
            } => {
                let r = if routes.is_empty() {
                    String::new()
                } else {
                    format!("; routes {}", routes.join(", "))
                };
                self.text(&format!("IPv6 address {address}/{prefix_len}{r}"));
            }
            TunnelEvent::Reconnecting {
                attempt,
                established,
                delay,
                reason,
                ..
            } => {
                let (what, again) = if *established {
                    ("Connection lost", "Reconnecting")
                } else {
                    ("Cannot connect", "Retrying")
                };
                self.text(&format!(
                    "{what}: {reason}. {again} in {:.1}s (retry {attempt})...",
                    delay.as_secs_f64()
                ));
            }
            TunnelEvent::Down { .. } => {}
            _ => {}
        }
    }

    fn done(&self, stats: &TunnelStats) {
        if self.json {
            self.line(json!({"event": "exit", "code": 0, "stats": stats_json(stats)}));
        } else {
            self.text(&format!("Disconnected. {}", stats_text(stats)));
        }
    }

    fn fail(&self, e: &Error, stats: Option<&TunnelStats>) -> u8 {
        let code = exit_code(e);
        if self.json {
            self.line(json!({
                "event": "exit",
                "code": code,
                "kind": e.kind().name(),
                "error": e.to_string(),
                "hint": hint(e),
                "stats": stats.map(stats_json),
            }));
        } else {
            sstp_service::log::eprint(tracing::Level::ERROR, &format!("sstp-client: {e}"));
            if let Some(h) = hint(e) {
                sstp_service::log::eprint(tracing::Level::ERROR, &format!("hint: {h}"));
            }
        }
        code
    }
}

fn stats_text(s: &TunnelStats) -> String {
    let plural = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let reconnects = match s.reconnects {
        0 => String::new(),
        n => format!(", {}", plural(u64::from(n), "reconnect")),
    };
    format!(
        "Sent {} ({}), received {} ({}){reconnects}.",
        plural(s.tx_packets, "packet"),
        plural(s.tx_bytes, "byte"),
        plural(s.rx_packets, "packet"),
        plural(s.rx_bytes, "byte"),
    )
}

fn stats_json(s: &TunnelStats) -> serde_json::Value {
    json!({
        "tx_packets": s.tx_packets,
        "tx_bytes": s.tx_bytes,
        "rx_packets": s.rx_packets,
        "rx_bytes": s.rx_bytes,
        "dropped": s.dropped,
        "reconnects": s.reconnects,
        "uptime_secs": s.uptime.map(|u| u.as_secs_f64()),
    })
}

fn event_json(event: &TunnelEvent) -> serde_json::Value {
    match event {
        TunnelEvent::Connecting {
            attempt,
            server,
            proxy,
        } => json!({"event": "connecting", "attempt": attempt, "server": server, "proxy": proxy}),
        TunnelEvent::Connected {
            server,
            remote,
            tls_version,
            fingerprint,
        } => json!({
            "event": "connected",
            "server": server,
            "remote": remote.map(|r| r.to_string()),
            "tls_version": tls_version,
            "cert_sha256": fingerprint.to_string(),
        }),
        TunnelEvent::Authenticated { username, method } => json!({
            "event": "authenticated",
            "user": username,
            "method": method.map(|m| m.name()),
        }),
        TunnelEvent::Up(up) => json!({
            "event": "up",
            "server": up.server,
            "interface": up.interface,
            "address": up.local.to_string(),
            "peer": up.peer.map(|p| p.to_string()),
            "mtu": up.mtu,
            "dns": up.dns.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "dns_applied": up.dns_applied,
            "routes": up.routes,
            "binding": up.binding.map(|b| format!("{b:?}").to_lowercase()),
            "warnings": up.warnings,
        }),
        TunnelEvent::Ipv6Up {
            interface,
            local,
            peer,
        } => json!({
            "event": "ipv6_up",
            "interface": interface,
            "link_local": local.to_string(),
            "peer": peer.map(|p| p.to_string()),
        }),
        TunnelEvent::Ipv6Address {
            interface,
            address,
            prefix_len,
            router,
            routes,
        } => json!({
            "event": "ipv6_address",
            "interface": interface,
            "address": address.to_string(),
            "prefix_len": prefix_len,
            "router": router.to_string(),
            "routes": routes,
        }),
        TunnelEvent::Reconnecting {
            attempt,
            established,
            delay,
            reason,
            kind,
        } => json!({
            "event": "reconnecting",
            "attempt": attempt,
            "established": established,
            "delay_secs": delay.as_secs_f64(),
            "reason": reason,
            "kind": kind.name(),
        }),
        TunnelEvent::Down { reason, kind } => json!({
            "event": "down",
            "reason": reason,
            "kind": kind.map(|k| k.name()),
        }),
        other => json!({"event": "other", "debug": format!("{other:?}")}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_complete() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let mut cmd = Cli::command();
        let connect = cmd
            .find_subcommand_mut("connect")
            .expect("connect")
            .render_long_help()
            .to_string();
        for flag in [
            "--server",
            "--user",
            "--password-file",
            "--password-env",
            "--profile",
            "--auth",
            "--ca-file",
            "--pin-sha256",
            "--sni",
            "--tls-min",
            "--tls-max",
            "--dangerous-skip-verify",
            "--cert",
            "--key",
            "--pkcs12",
            "--pkcs12-password-file",
            "--pkcs12-password-env",
            "--eap-ca",
            "--eap-server-name",
            "--proxy",
            "--no-proxy",
            "--route",
            "--no-dns",
            "--json",
            "--no-reconnect",
            "EXIT CODES",
        ] {
            assert!(connect.contains(flag), "connect --help lacks {flag}");
        }
        assert!(
            !connect.contains("--password "),
            "a plain password flag exists"
        );
    }

    #[test]
    fn profile_and_flags_merge() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\nignored\n").unwrap();
        let profile = dir.path().join("p.toml");
        std::fs::write(
            &profile,
            format!(
                "server = \"vpn.example.net\"\nuser = \"alice\"\npassword_file = {:?}\nroutes = [\"10.0.0.0/8\"]\nauth = [\"pap\"]\njson = true\n",
                pw.display().to_string()
            ),
        )
        .unwrap();
        let cli = Cli::parse_from([
            "sstp-client",
            "connect",
            "--profile",
            profile.to_str().unwrap(),
            "--user",
            "bob",
        ]);
        let Command::Connect(args) = cli.command else {
            panic!()
        };
        let s = settings(*args).map_err(|u| u.0).unwrap();
        assert!(s.json);
        let text = format!("{:?}", s.builder);
        assert!(text.contains("username: \"bob\""), "{text}");
        assert!(
            text.contains("Split([Prefix { addr: 10.0.0.0, len: 8 }])"),
            "{text}"
        );
        assert!(text.contains("Pap"), "{text}");
    }

    #[test]
    fn the_example_profile_parses() {
        let text = include_str!("../../client.example.toml");
        let profile: Profile = toml::from_str(text).expect("client.example.toml");
        assert_eq!(profile.server.as_deref(), Some("vpn.example.net:443"));
        assert_eq!(profile.auth.map(|a| a.len()), Some(2));
    }

    #[test]
    fn bad_profiles_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("p.toml");
        std::fs::write(&profile, "server = \"x\"\npasword = \"typo\"\n").unwrap();
        let err = read_profile(&profile).unwrap_err();
        assert!(format!("{err:#}").contains("pasword"), "{err:#}");
    }

    #[test]
    fn profile_keys_are_the_flag_names() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let connect = cmd.find_subcommand_mut("connect").expect("connect");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        let mut checked = 0;
        for arg in connect.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "profile" | "help") {
                continue;
            }
            // Both spellings of every flag are keys: a wrong type is fine here, an unknown
            // key is not.
            for key in [long.to_owned(), long.replace('-', "_")] {
                std::fs::write(&path, format!("{key} = []\n")).unwrap();
                if let Err(e) = read_profile(&path) {
                    let text = format!("{e:#}");
                    assert!(!text.contains("unknown field"), "{key}: {text}");
                }
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked}");
    }

    #[test]
    fn route_and_durations_in_a_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "route = [\"198.18.2.0/24\"]\nkeepalive = \"30s\"\nreconnect-max-delay = \"2m\"\npassword-env = \"X\"\n",
        )
        .unwrap();
        let p = read_profile(&path).unwrap();
        assert_eq!(p.routes, Some(vec!["198.18.2.0/24".to_owned()]));
        assert_eq!(p.keepalive, Some(Duration::from_secs(30)));
        assert_eq!(p.reconnect_max_delay, Some(Duration::from_secs(120)));
        assert_eq!(p.password_env.as_deref(), Some("X"));
        // Numbers are seconds, as before.
        std::fs::write(&path, "keepalive = 0\nreconnect_max_delay = 1.5\n").unwrap();
        let p = read_profile(&path).unwrap();
        assert_eq!(p.keepalive, Some(Duration::ZERO));
        assert_eq!(p.reconnect_max_delay, Some(Duration::from_millis(1500)));
        std::fs::write(&path, "keepalive = \"soon\"\n").unwrap();
        let err = format!("{:#}", read_profile(&path).unwrap_err());
        assert!(
            err.contains("\"soon\" is not a duration (examples: 30, 500ms, 30s, 5m, 2h)"),
            "{err}"
        );
    }

    #[test]
    fn duration_flags_take_units() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["sstp-client", "connect"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        let cli = parse(&["--keepalive", "45s", "--reconnect-max-delay", "5m"]).unwrap();
        let Command::Connect(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.keepalive, Some(Duration::from_secs(45)));
        assert_eq!(args.reconnect_max_delay, Some(Duration::from_secs(300)));
        let cli = parse(&["--keepalive", "30"]).unwrap();
        let Command::Connect(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.keepalive, Some(Duration::from_secs(30)));
        let err = parse(&["--keepalive", "soon"]).unwrap_err().to_string();
        assert!(err.contains("not a duration (examples: 30, 500ms"), "{err}");
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5min"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("-1"), None);
    }

    #[test]
    fn exit_codes_follow_the_kind() {
        assert_eq!(exit_code(&Error::Config("x".into())), 2);
        assert_eq!(exit_code(&Error::Timeout("connecting")), 3);
        assert_eq!(
            exit_code(&Error::Certificate(sstp_client::CertificateError::NoRoots(
                "x".into()
            ))),
            4
        );
        assert_eq!(
            exit_code(&Error::Session(sstp_core::CloseReason::TransportClosed)),
            8
        );
        {
            // The typed details decide, no text is read: a method the server would not do is
            // a setting to change (--auth), a timer that ran out a lost line, a PPP failure or
            // a broken rule the protocol's.
            use sstp_core::PppProtocol as Protocol;
            use sstp_core::wire::sstp::MessageType;
            use sstp_core::{
                CloseReason, ControlState, Missing, NegotiationFailure, PppFailure, Timer,
                Violation,
            };
            let typed = [
                (
                    CloseReason::Incompatible(Missing::AuthProtocolRejected(Protocol::PAP)),
                    5,
                ),
                (
                    CloseReason::Incompatible(Missing::AuthMethod {
                        server_allows: vec![AuthMethod::MsChapV2],
                    }),
                    5,
                ),
                (CloseReason::Incompatible(Missing::IpcpRejected), 7),
                (CloseReason::Timeout(Timer::Hello), 8),
                (CloseReason::Timeout(Timer::SstpNegotiation), 8),
                (
                    CloseReason::PppFailed(PppFailure::Negotiation {
                        protocol: Protocol::IPCP,
                        failure: NegotiationFailure::NoAddressAssigned,
                    }),
                    7,
                ),
                (
                    CloseReason::PeerMisbehaved(Violation::Unexpected {
                        message: MessageType::CALL_CONNECT_ACK,
                        state: ControlState::ClientCallConnected,
                    }),
                    7,
                ),
            ];
            for (reason, code) in typed {
                assert_eq!(exit_code(&Error::Session(reason.clone())), code, "{reason}");
            }
        }
        // Given up after reconnecting: the connection was lost (as --help says), whatever
        // the last attempt ran into.
        let refused = || {
            Box::new(Error::Unreachable {
                server: "vpn.example.net:443".into(),
                source: std::io::ErrorKind::ConnectionRefused.into(),
            })
        };
        let gave_up = Error::GaveUp {
            established: true,
            attempts: 3,
            last: refused(),
        };
        assert_eq!(exit_code(&gave_up), 8);
        let never_up = Error::GaveUp {
            established: false,
            attempts: 3,
            last: refused(),
        };
        assert_eq!(exit_code(&never_up), 3);
    }

    /// What `fail` prints (the error, then the hint) and the exit code.
    fn printed(e: &Error) -> (u8, String, Option<&'static str>) {
        (exit_code(e), e.to_string(), hint(e))
    }

    #[test]
    fn refusals_are_plain_sentences_with_the_documented_exit_codes() {
        use sstp_core::wire::sstp::{AttributeId, Status, StatusInfo};
        use sstp_core::{AuthFailure, CloseReason};
        let wrong_password = Error::Auth(AuthFailure::Rejected {
            message: "Authentication failed".into(),
            mschapv2_error: Some(691),
        });
        let (code, text, hint_text) = printed(&wrong_password);
        assert_eq!(code, 5);
        assert_eq!(
            text,
            "authentication failed: the server rejected the user name or password"
        );
        assert!(hint_text.is_some_and(|h| h.contains("password")));

        let already_connected = Error::Auth(AuthFailure::Rejected {
            message: "alice is already connected from another session".into(),
            mschapv2_error: Some(649),
        });
        let (code, text, hint_text) = printed(&already_connected);
        assert_eq!(code, 5);
        assert_eq!(
            text,
            "authentication failed: the server refused this account: alice is already connected from another session (MS-CHAPv2 error 649)"
        );
        assert!(hint_text.is_some_and(|h| h.contains("administrator")));

        // PAP and CHAP-MD5 refusals carry text only.
        let (code, text, _) = printed(&Error::Auth(AuthFailure::Rejected {
            message: "alice is already connected from another session".into(),
            mschapv2_error: None,
        }));
        assert_eq!(code, 5);
        assert_eq!(
            text,
            "authentication failed: the server refused the login: alice is already connected from another session"
        );
        let (_, text, _) = printed(&Error::Auth(AuthFailure::Rejected {
            message: "Authentication failed".into(),
            mschapv2_error: None,
        }));
        assert_eq!(
            text,
            "authentication failed: the server rejected the user name or password"
        );

        let no_common_method = Error::Auth(AuthFailure::MethodNotSupported {
            detail: "the server asked for pap, and this client accepts only mschapv2".into(),
        });
        let (code, text, hint_text) = printed(&no_common_method);
        assert_eq!(code, 5);
        assert_eq!(
            text,
            "authentication failed: no authentication method in common with the server: the server asked for pap, and this client accepts only mschapv2"
        );
        assert!(hint_text.is_some_and(|h| h.contains("--auth")));

        let pool_exhausted = Error::Session(CloseReason::PeerTerminated {
            reason: "no address available: the server's address pool is exhausted".into(),
        });
        let (code, text, _) = printed(&pool_exhausted);
        assert_eq!(code, 7);
        assert_eq!(
            text,
            "the server refused the session: no address available: the server's address pool is exhausted"
        );

        let rate_limited = Error::HandshakeClosed {
            server: "vpn.example.net".into(),
        };
        let (code, text, _) = printed(&rate_limited);
        assert_eq!(code, 3);
        assert_eq!(
            text,
            "the server vpn.example.net closed the connection during the TLS handshake: it may be limiting new connections (try again shortly), or it is not an SSTP server"
        );

        // A Call Abort: one sentence per Status Info (MS-SSTP 2.2.8), exit 7.
        for (attribute, status, sentence) in [
            (
                AttributeId::NO_ERROR,
                Status::NEGOTIATION_TIMEOUT,
                "the server aborted the call: this client did not complete the SSTP negotiation in time",
            ),
            (
                AttributeId::CRYPTO_BINDING,
                Status::VALUE_NOT_SUPPORTED,
                "the server aborted the call: the crypto binding did not verify (a TLS-inspecting proxy between here and the server can cause this)",
            ),
            (
                AttributeId::STATUS_INFO,
                Status::RETRY_COUNT_EXCEEDED,
                "the server aborted the call: it refused this client's connect requests too many times",
            ),
            (
                AttributeId::NO_ERROR,
                Status::UNACCEPTED_FRAME_RECEIVED,
                "the server aborted the call: a message from this client came at a time it did not expect",
            ),
            (
                AttributeId::NO_ERROR,
                Status::INVALID_FRAME_RECEIVED,
                "the server aborted the call: it did not understand a message from this client",
            ),
            (
                AttributeId::ENCAPSULATED_PROTOCOL_ID,
                Status::VALUE_NOT_SUPPORTED,
                "the server aborted the call: it does not accept PPP as the encapsulated protocol",
            ),
            (
                AttributeId::CRYPTO_BINDING,
                Status::INVALID_ATTRIB_VALUE_LENGTH,
                "the server aborted the call: an attribute had the wrong length (about the crypto binding)",
            ),
        ] {
            let abort = Error::Session(CloseReason::PeerAborted {
                status: Some(StatusInfo::new(attribute, status)),
            });
            let (code, text, _) = printed(&abort);
            assert_eq!((code, text.as_str()), (7, sentence));
        }
    }

    /// A client certificate for "alice" from a test CA: (leaf PEM, key PEM,
    /// CA PEM, PKCS#12 bundle with password "s3cret").
    fn client_certificate() -> (String, String, String, Vec<u8>) {
        use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "alice");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let leaf = params.signed_by(&key, &issuer).unwrap();
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "alice",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
                vec![1],
                p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
                [
                    p12_keystore::Certificate::from_der(leaf.der()).unwrap(),
                    p12_keystore::Certificate::from_der(ca_cert.der()).unwrap(),
                ],
            )),
        );
        let p12 = store.writer("s3cret").write().unwrap();
        (leaf.pem(), key.serialize_pem(), ca_cert.pem(), p12)
    }

    fn connect_args(args: &[&str]) -> ConnectArgs {
        let mut all = vec!["sstp-client", "connect"];
        all.extend_from_slice(args);
        let Command::Connect(args) = Cli::parse_from(all).command else {
            panic!()
        };
        *args
    }

    #[test]
    fn a_pem_certificate_needs_no_user_and_no_password() {
        let dir = tempfile::tempdir().unwrap();
        let (leaf, key, ca, _) = client_certificate();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let (cert, key, ca) = (
            write("c.pem", &leaf),
            write("k.pem", &key),
            write("ca.pem", &ca),
        );
        // No --user, no password source and stdin is no terminal: a prompt would fail.
        let args = connect_args(&[
            "--server",
            "vpn.example.net",
            "--cert",
            &cert,
            "--key",
            &key,
            "--ca-file",
            &ca,
        ]);
        let s = settings(args).map_err(|u| u.0).unwrap();
        let text = format!("{:?}", s.builder);
        assert!(text.contains("credential: None"), "{text}");
        assert!(text.contains("identity: Some(ClientIdentity"), "{text}");
        // A lone --cert, or eap-tls without a certificate, are usage errors in words.
        let args = connect_args(&["--server", "vpn.example.net", "--cert", &cert]);
        let err = format!("{:#}", settings(args).map_err(|u| u.0).err().unwrap());
        assert_eq!(err, "--cert needs --key FILE with its private key");
        let args = connect_args(&[
            "--server",
            "vpn.example.net",
            "--user",
            "alice",
            "--auth",
            "eap-tls",
        ]);
        let err = format!("{:#}", settings(args).map_err(|u| u.0).err().unwrap());
        assert!(
            err.starts_with("--auth eap-tls needs a client certificate"),
            "{err}"
        );
    }

    #[test]
    fn the_eap_tls_profile_keys_parse_into_the_builder() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _, ca, p12) = client_certificate();
        let bundle = dir.path().join("alice.pfx");
        std::fs::write(&bundle, p12).unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca).unwrap();
        let pw = dir.path().join("pfx.pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let profile = dir.path().join("p.toml");
        let write_profile = |password_file: &Path| {
            std::fs::write(
                &profile,
                format!(
                    "server = \"vpn.example.net\"\nca-file = {ca:?}\nauth = [\"eap-tls\"]\npkcs12 = {bundle:?}\npkcs12-password-file = {pw:?}\neap_ca = {ca:?}\neap-server-name = \"nps.example.net\"\n",
                    ca = ca_path.display().to_string(),
                    bundle = bundle.display().to_string(),
                    pw = password_file.display().to_string(),
                ),
            )
            .unwrap();
        };
        write_profile(&pw);
        let p = read_profile(&profile).unwrap();
        assert_eq!(p.pkcs12.as_deref(), Some(bundle.as_path()));
        assert_eq!(p.pkcs12_password_file.as_deref(), Some(pw.as_path()));
        assert_eq!(p.eap_ca.as_deref(), Some(ca_path.as_path()));
        assert_eq!(p.eap_server_name.as_deref(), Some("nps.example.net"));
        let args = connect_args(&["--profile", profile.to_str().unwrap()]);
        let s = settings(args).map_err(|u| u.0).unwrap();
        let text = format!("{:?}", s.builder);
        assert!(text.contains("auth_methods: Some([EapTls])"), "{text}");
        assert!(text.contains("certificates: 2"), "{text}");
        assert!(
            text.contains("server_name: Some(\"nps.example.net\")"),
            "{text}"
        );

        // The wrong password: one line that names the file.
        let wrong = dir.path().join("wrong.pw");
        std::fs::write(&wrong, "guess\n").unwrap();
        write_profile(&wrong);
        let args = connect_args(&["--profile", profile.to_str().unwrap()]);
        let err = format!("{:#}", settings(args).map_err(|u| u.0).err().unwrap());
        assert_eq!(
            err,
            format!(
                "{}: wrong password, or the file is damaged",
                bundle.display()
            )
        );
        // An unreadable password file.
        write_profile(&dir.path().join("missing.pw"));
        let args = connect_args(&["--profile", profile.to_str().unwrap()]);
        let err = format!("{:#}", settings(args).map_err(|u| u.0).err().unwrap());
        assert!(
            err.starts_with("cannot read the PKCS#12 password file"),
            "{err}"
        );
        // No password source and no terminal: the bundle is tried without one, then the
        // error says how to give it. (At a terminal it would prompt.)
        if std::io::stdin().is_terminal() {
            return;
        }
        let args = connect_args(&[
            "--server",
            "vpn.example.net",
            "--pkcs12",
            bundle.to_str().unwrap(),
        ]);
        let err = format!("{:#}", settings(args).map_err(|u| u.0).err().unwrap());
        assert!(
            err.starts_with("the PKCS#12 file needs a password: give --pkcs12-password-file"),
            "{err}"
        );
    }

    #[test]
    fn a_refused_certificate_is_an_auth_failure_with_a_hint() {
        let e = Error::Auth(sstp_core::AuthFailure::Tls {
            detail: "the certificate is not from a trusted CA".into(),
        });
        let (code, text, hint_text) = printed(&e);
        assert_eq!(code, 5);
        assert_eq!(
            text,
            "certificate authentication failed: the certificate is not from a trusted CA"
        );
        assert!(
            hint_text.is_some_and(|h| h.contains("--eap-ca")),
            "{hint_text:?}"
        );
    }

    #[test]
    fn the_help_documents_the_refusal_exit_codes() {
        assert!(EXIT_CODES.contains("7  the server refused the session after authentication"));
        assert!(
            EXIT_CODES
                .contains("an account the server refuses, no\n       common authentication method")
        );
        assert!(EXIT_CODES.contains("the connection closed during\n       the TLS handshake"));
    }
}
