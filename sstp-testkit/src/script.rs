//! The project's helper scripts (`scripts/freeradius`, `scripts/haproxy`)
//! as the daemon handles run them, and the service-manager side of
//! sd_notify for the tests of the binaries under systemd.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `scripts/NAME args`; `Ok` is its standard output, `Err` everything
/// it printed.
pub(crate) fn run_script(name: &str, args: &[String]) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name);
    let out = Command::new(&script)
        .args(args)
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "scripts/{name} {} failed ({}):\n{stdout}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Whether `command` is in PATH or in the sbin folders a user's PATH may
/// lack (freeradius and haproxy are in /usr/sbin).
pub(crate) fn on_path(command: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(command).is_file())
}

/// What a fake service manager hears on its `NOTIFY_SOCKET`: datagrams
/// into `got` until one has the line `want` (`READY=1`, ...), or `within`
/// passes. `socket` should have a read timeout, so the deadline is kept.
pub fn notified(
    socket: &UnixDatagram,
    got: &mut Vec<String>,
    want: &str,
    within: Duration,
) -> bool {
    let end = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = message.lines().any(|l| l == want);
            got.push(message);
            if hit {
                return true;
            }
        }
    }
    false
}

/// `systemd-analyze verify` on a unit's text, its `/usr/bin/NAME` pointed
/// at `bin` (the binary under test). `None` when systemd-analyze is not
/// installed; otherwise the lines it said about our units (`sstp-`), and
/// whether it succeeded.
pub fn verify_unit(
    unit: &str,
    file_name: &str,
    name: &str,
    bin: &str,
) -> Option<(bool, Vec<String>)> {
    let dir = std::env::temp_dir().join(format!("sstp-unit-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let copy = dir.join(file_name);
    std::fs::write(&copy, unit.replace(&format!("/usr/bin/{name}"), bin)).ok()?;
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.ok()?;
    // Other units of this host may draw warnings; ours must draw none.
    let said = String::from_utf8_lossy(&out.stderr);
    let ours = said
        .lines()
        .filter(|l| l.contains("sstp-"))
        .map(str::to_owned)
        .collect();
    Some((out.status.success(), ours))
}
