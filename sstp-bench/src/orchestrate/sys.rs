//! Processes, namespaces and /proc: the plumbing of the orchestrator.

use std::fs::File;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Linux reports CPU times in /proc in USER_HZ, which is 100 on every architecture (proc(5)).
const USER_HZ: f64 = 100.0;

/// Whether `tool` is on the PATH.
pub(super) fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Runs a command to completion; fails with its stderr if it fails.
pub(super) fn run_ok(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs a command to completion and returns its stdout; fails with its stderr if it fails.
pub(super) fn output(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            stdout.trim()
        );
    }
    Ok(stdout)
}

/// Like [`output`], but the command's stderr (progress) goes to ours.
pub(super) fn output_stderr_passthrough(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            stdout.trim()
        );
    }
    Ok(stdout)
}

/// A network namespace with `lo` up, deleted on drop.
#[derive(Debug)]
pub(super) struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name`, deleting a leftover of an earlier run first.
    pub(super) fn create(name: &str) -> Result<Self> {
        let _ = run_ok("ip", &["netns", "del", name]);
        run_ok("ip", &["netns", "add", name])?;
        let ns = Self {
            name: name.to_owned(),
        };
        run_ok("ip", &["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run_ok("ip", &["netns", "del", &self.name]);
    }
}

/// A background process in a namespace, its output in a log file; stopped (SIGTERM, then SIGKILL
/// after 5 s) on drop.
#[derive(Debug)]
pub(super) struct Proc {
    child: Child,
    pub(super) log: PathBuf,
    tag: String,
}

impl Proc {
    /// Starts `ip netns exec NS PROGRAM ARGS` (`ip` execs the program, so the PID is the
    /// program's) with stdout and stderr in `WORK/TAG.log`.
    pub(super) fn spawn_lines(
        tag: &str,
        work: &Path,
        ns: &str,
        program: &Path,
        args: &[&str],
    ) -> Result<Self> {
        let log = work.join(format!("{tag}.log"));
        let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Self {
            child,
            log,
            tag: tag.to_owned(),
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The last lines of a log file.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Waits until `needle` appears in the log of `proc` (a line it printed).
pub(super) fn wait_for_file_line(
    path: &Path,
    needle: &str,
    timeout: Duration,
    proc: &Proc,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut text = String::new();
        if let Ok(mut f) = File::open(path) {
            let _ = f.read_to_string(&mut text);
        }
        if text.lines().any(|l| l.contains(needle)) {
            return Ok(());
        }
        // A process that died will never print it.
        let pid = Pid::from_raw(i32::try_from(proc.pid()).unwrap_or(i32::MAX));
        if kill(pid, None).is_err() || Instant::now() > deadline {
            bail!(
                "{} did not print `{needle}` in {timeout:?}:\n{}",
                proc.tag,
                log_tail(path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until a TCP connect from namespace `ns` to `host:port` succeeds.
pub(super) fn wait_for_tcp(ns: &str, host: &str, port: u16, timeout: Duration) -> Result<()> {
    let ip: IpAddr = host
        .parse()
        .with_context(|| format!("bad address {host}"))?;
    let addr = SocketAddr::new(ip, port);
    let ns_path = PathBuf::from("/run/netns").join(ns);
    // setns changes the namespace of the calling thread only: do it on a thread of its own.
    std::thread::scope(|s| {
        s.spawn(|| -> Result<()> {
            let f =
                File::open(&ns_path).with_context(|| format!("opening {}", ns_path.display()))?;
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).context("setns")?;
            let deadline = Instant::now() + timeout;
            loop {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    bail!("nothing listens on {addr} in {ns} after {timeout:?}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .join()
        .unwrap_or_else(|_| bail!("the connect thread panicked"))
    })
}

/// utime + stime of each process (and its threads), summed, in USER_HZ ticks.
pub(super) fn cpu_ticks(procs: &[Proc]) -> u64 {
    procs
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{}/stat", p.pid())).ok())
        .filter_map(|stat| parse_stat_cpu(&stat))
        .sum()
}

pub(super) fn ticks_to_secs(ticks: u64) -> f64 {
    ticks as f64 / USER_HZ
}

/// utime + stime from a /proc/PID/stat line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU model, core count and kernel, for the table's header.
pub(super) fn machine_summary() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, Linux {}", kernel.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_fields_after_the_name() {
        let stat =
            "1234 (sstp server) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(325));
        let tricky = "1 (a) b) c) R 0 0 0 0 0 0 0 0 0 0 7 8 0";
        assert_eq!(parse_stat_cpu(tricky), Some(15));
        assert_eq!(parse_stat_cpu("garbage"), None);
        assert_eq!(parse_stat_cpu("1 (x) R 1 2"), None);
    }

    #[test]
    fn have_finds_sh() {
        assert!(have("sh"));
        assert!(!have("surely-not-a-tool-sstp-bench"));
    }
}
