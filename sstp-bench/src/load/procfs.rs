//! What the load generator reads from `/proc`: a process's resident set
//! (`/proc/PID/status` `VmRSS`) and its CPU time (`/proc/PID/stat` utime +
//! stime, proc(5)), to measure the server's memory per idle session and its
//! CPU while the sessions idle.

use anyhow::Context as _;

/// Which process to read: ours or another by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proc {
    /// `/proc/self`.
    Me,
    /// `/proc/PID`.
    Pid(u32),
}

impl Proc {
    fn path(self, file: &str) -> String {
        match self {
            Self::Me => format!("/proc/self/{file}"),
            Self::Pid(pid) => format!("/proc/{pid}/{file}"),
        }
    }
}

/// `VmRSS` in KiB from the text of `/proc/PID/status` (`VmRSS:\t  1234 kB`).
pub(crate) fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let rest = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?;
    let mut fields = rest.split_whitespace();
    let value = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => Some(value),
        _ => None,
    }
}

/// utime + stime in clock ticks from the text of `/proc/PID/stat`. The
/// command name (field 2) is in parentheses and may itself hold spaces
/// and parentheses, so fields are counted after the last `)`: state is
/// field 3, utime 14, stime 15 (proc(5)).
pub(crate) fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// The resident set of `proc` in KiB.
pub(crate) fn rss_kib(proc: Proc) -> anyhow::Result<u64> {
    let path = proc.path("status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss_kib(&text).with_context(|| format!("no VmRSS line in {path}"))
}

/// The CPU time (user + system) `proc` used so far, in clock ticks.
pub(crate) fn cpu_ticks(proc: Proc) -> anyhow::Result<u64> {
    let path = proc.path("stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_cpu_ticks(&text).with_context(|| format!("cannot parse utime/stime in {path}"))
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of `cpu_ticks`.
pub(crate) fn ticks_per_sec() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t.unsigned_abs(),
        // USER_HZ is 100 on every Linux architecture we run on.
        _ => 100,
    }
}

/// CPU time as a percentage of one core over `secs` of wall time.
pub(crate) fn cpu_percent(ticks: u64, ticks_per_sec: u64, secs: f64) -> f64 {
    if secs <= 0.0 || ticks_per_sec == 0 {
        return 0.0;
    }
    ticks as f64 / ticks_per_sec as f64 / secs * 100.0
}

/// CPU use of the server (if known) and of this process over a stretch
/// of wall time.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    server: Option<(Proc, u64)>,
    me: u64,
    start: std::time::Instant,
}

impl CpuMeter {
    pub(crate) fn start(server: Option<Proc>) -> anyhow::Result<Self> {
        let server = match server {
            Some(p) => Some((p, cpu_ticks(p)?)),
            None => None,
        };
        Ok(Self {
            server,
            me: cpu_ticks(Proc::Me)?,
            start: std::time::Instant::now(),
        })
    }

    /// CPU time used since `start`.
    pub(crate) fn stop(self) -> anyhow::Result<CpuUse> {
        let wall_secs = self.start.elapsed().as_secs_f64();
        let hz = ticks_per_sec() as f64;
        let server_secs = match self.server {
            Some((p, before)) => Some(cpu_ticks(p)?.saturating_sub(before) as f64 / hz),
            None => None,
        };
        let me_secs = cpu_ticks(Proc::Me)?.saturating_sub(self.me) as f64 / hz;
        Ok(CpuUse {
            wall_secs,
            server_secs,
            me_secs,
        })
    }
}

/// What a [`CpuMeter`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CpuUse {
    pub(crate) wall_secs: f64,
    /// The server's CPU seconds, if it was metered.
    pub(crate) server_secs: Option<f64>,
    /// This process's CPU seconds.
    pub(crate) me_secs: f64,
}

impl CpuUse {
    /// The server's CPU, percent of one core.
    pub(crate) fn server_pct(&self) -> Option<f64> {
        self.server_secs.map(|s| percent(s, self.wall_secs))
    }

    /// This process's CPU, percent of one core.
    pub(crate) fn me_pct(&self) -> f64 {
        percent(self.me_secs, self.wall_secs)
    }

    /// The server's CPU microseconds per operation, `None` without a
    /// server or operations.
    pub(crate) fn server_us_per(&self, ops: u64) -> Option<f64> {
        let secs = self.server_secs?;
        (ops > 0).then(|| secs * 1e6 / ops as f64)
    }
}

fn percent(cpu_secs: f64, wall_secs: f64) -> f64 {
    if wall_secs <= 0.0 {
        return 0.0;
    }
    cpu_secs / wall_secs * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsstp-server\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t  123456 kB\nVmHWM:\t   54321 kB\nVmRSS:\t   12345 kB\nRssAnon:\t    9000 kB\n";

    #[test]
    fn vm_rss() {
        assert_eq!(parse_vm_rss_kib(STATUS), Some(12345));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 MB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\n"), None);
    }

    #[test]
    fn vm_rss_of_this_process() {
        let kib = rss_kib(Proc::Me).expect("/proc/self/status");
        assert!(kib > 0);
    }

    #[test]
    fn cpu_ticks_counts_after_the_command_name() {
        // Fields 14 and 15 are 250 and 50; the name holds ") (" to fool a
        // naive split.
        let stat = "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 \
                    1000 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 300 \
                    18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis at all"), None);
        let bad = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 many 50";
        assert_eq!(parse_cpu_ticks(bad), None);
    }

    #[test]
    fn cpu_ticks_of_this_process() {
        assert!(cpu_ticks(Proc::Me).is_ok());
        assert!(ticks_per_sec() > 0);
    }

    #[test]
    fn meter_of_this_process() {
        let meter = CpuMeter::start(Some(Proc::Me)).expect("/proc");
        let used = meter.stop().expect("/proc");
        assert!(used.server_pct().is_some_and(|s| s >= 0.0));
        assert!(used.me_pct() >= 0.0);
        let used = CpuMeter::start(None)
            .and_then(CpuMeter::stop)
            .expect("/proc");
        assert_eq!(used.server_pct(), None);
        assert_eq!(used.server_us_per(10), None);
    }

    #[test]
    fn cpu_use_arithmetic() {
        let used = CpuUse {
            wall_secs: 10.0,
            server_secs: Some(5.0),
            me_secs: 2.5,
        };
        assert_eq!(used.server_pct(), Some(50.0));
        assert_eq!(used.me_pct(), 25.0);
        // 5 s over 1000 operations: 5 ms each.
        assert_eq!(used.server_us_per(1000), Some(5000.0));
        assert_eq!(used.server_us_per(0), None);
        let nothing = CpuUse {
            wall_secs: 0.0,
            server_secs: None,
            me_secs: 1.0,
        };
        assert_eq!(nothing.me_pct(), 0.0);
    }

    #[test]
    fn percent_of_one_core() {
        assert_eq!(cpu_percent(150, 100, 30.0), 5.0);
        assert_eq!(cpu_percent(0, 100, 30.0), 0.0);
        assert_eq!(cpu_percent(10, 100, 0.0), 0.0);
    }

    #[test]
    fn a_missing_process_is_an_error_not_a_panic() {
        // PIDs are below 2^22 on Linux (pid_max), so this one never exists.
        let err = rss_kib(Proc::Pid(u32::MAX)).expect_err("no such process");
        assert!(format!("{err:#}").contains("/proc/4294967295/status"));
    }
}
