//! `sstp-server`: the daemon. Thin on purpose: command line, logging, the
//! Linux TUN device and its addresses, signals; everything else is the
//! library.
//!
//! ```text
//! sstp-server --config /etc/sstp-server/server.toml           # run
//! sstp-server --config /etc/sstp-server/server.toml --check-config
//! sstp-server gen-cert --name vpn.example.com --cert cert.pem --key key.pem
//! echo 'password' | sstp-server nt-hash
//! ```
//!
//! Signals: SIGHUP reloads the certificate, the key and the users file
//! (sessions stay up); SIGTERM and SIGINT shut down gracefully (every client
//! gets a Call Disconnect).

use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sstp_server::{
    Config, Ipv4Pool, Ipv6Pool, Server, ServerHandle, StaticUsers, TlsIdentity,
    generate_self_signed, host_routes,
};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

#[derive(Debug, Parser)]
#[command(name = "sstp-server", version, about = "SSTP VPN server")]
struct Cli {
    /// The configuration file (see server.example.toml).
    #[arg(
        short,
        long,
        global = true,
        default_value = "/etc/sstp-server/server.toml"
    )]
    config: PathBuf,
    /// Check the configuration, the users file and the certificate, print
    /// what needs attention, and exit (status 1 on errors).
    #[arg(long)]
    check_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Run,
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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Some(Command::GenCert {
            names,
            cert,
            key,
            days,
            force,
        }) => gen_cert(&names, &cert, &key, days, force),
        Some(Command::NtHash) => nt_hash(),
        Some(Command::Run) | None if cli.check_config => check_config(&cli.config),
        Some(Command::Run) | None => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            runtime.block_on(run(&cli.config))
        }
    }
}

/// Everything the server needs from disk, checked.
struct Loaded {
    config: Config,
    users: Arc<StaticUsers>,
    identity: TlsIdentity,
    warnings: Vec<String>,
}

fn load(path: &Path) -> Result<Loaded> {
    let config = Config::load(path).with_context(|| format!("loading {}", path.display()))?;
    let mut warnings = config.validate()?;
    let users = StaticUsers::load(&config.auth.users_file)?;
    warnings.extend(users.check(&config.auth.methods));
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
    Ok(Loaded {
        config,
        users: Arc::new(users),
        identity,
        warnings,
    })
}

fn check_config(path: &Path) -> Result<()> {
    let loaded = match load(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    };
    let c = &loaded.config;
    println!("configuration {}: OK", path.display());
    println!("  listen: {:?}", c.listen);
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
    println!(
        "  IPv4 pool {}, IPv6 pool {}",
        c.network.ipv4_pool,
        c.network
            .ipv6_pool
            .map_or_else(|| "off".to_owned(), |p| p.to_string())
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
    let tun = open_tun(&config).await?;
    warn_if_not_forwarding(config.network.ipv6_pool.is_some());
    let fingerprint = identity.fingerprint();
    let server = Server::bind(config.clone(), identity, tun, users.clone()).await?;
    let handle = server.handle();
    let (fixed4, fixed6) = users.fixed_addresses();
    for e in handle.reserve_fixed_addresses(fixed4, fixed6) {
        warn!(error = %e, "users file");
    }
    info!(
        listen = ?server.local_addrs(),
        tun = %config.tun.name,
        certificate = %fingerprint,
        users = users.len(),
        "sstp-server {} running",
        env!("CARGO_PKG_VERSION")
    );
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let reloader = {
        let config = config.clone();
        let users = Arc::clone(&users);
        let handle = handle.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                reload(&config, &users, &handle);
            }
        })
    };
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: shutting down"),
            _ = int.recv() => info!("SIGINT: shutting down"),
        }
    };
    let result = server.run(shutdown).await;
    reloader.abort();
    result?;
    info!("stopped");
    Ok(())
}

/// SIGHUP: new certificate and users; sessions that are up stay up.
fn reload(config: &Config, users: &StaticUsers, handle: &ServerHandle) {
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
        }
        Err(e) => error!(error = %e, "certificate reload failed; keeping the old one"),
    }
    match users.reload() {
        Ok(n) => {
            let (fixed4, fixed6) = users.fixed_addresses();
            for e in handle.reserve_fixed_addresses(fixed4, fixed6) {
                warn!(error = %e, "users file");
            }
            info!(users = n, "users reloaded");
        }
        Err(e) => error!(error = %e, "users reload failed; keeping the old users"),
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
    let tun = sstp_tun::LinuxTun::builder(&config.tun.name)
        .mtu(config.tun.mtu)
        .offload(config.tun.offload)
        .tx_queue_len(config.tun.tx_queue_len)
        .build()
        .with_context(|| {
            format!(
                "creating TUN device {} (needs CAP_NET_ADMIN)",
                config.tun.name
            )
        })?;
    let netlink = Netlink::new().context("opening rtnetlink")?;
    let v4 = Ipv4Pool::new(config.network.ipv4_pool)?;
    let mut addresses = vec![(IpAddr::V4(v4.server()), v4.net().prefix_len())];
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
    info!(name = %config.tun.name, mtu = config.tun.mtu, "TUN device ready");
    Ok(tun)
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

fn nt_hash() -> Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    let hash = sstp_core::crypto::mschapv2::NtPasswordHash::from_password(password);
    println!("{}", hex::encode_upper(hash.as_bytes()));
    Ok(())
}
