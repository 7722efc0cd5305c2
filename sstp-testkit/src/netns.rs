//! The root tier's harness: whether this machine can run it, and a fresh
//! network namespace for each test.

use std::fs::File;
use std::future::Future;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};

/// Why this machine cannot run the root tier, if it cannot: not root, no
/// `/dev/net/tun`, or no `ip` command (iproute2) or one of `commands`.
pub fn root_skip_reason(commands: &[&str]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("skipped: needs root (a network namespace and a TUN)".to_owned());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("skipped: no /dev/net/tun".to_owned());
    }
    for tool in std::iter::once(&"ip").chain(commands) {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("skipped: no `{tool}` command"));
        }
    }
    None
}

/// Runs `ip args` and returns what it printed; panics with its error
/// output if it fails.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace with `lo` up, deleted when dropped, also when a
/// test panics.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `<prefix>-<pid>-<tag>`, first deleting a leftover of an
    /// earlier run with the same pid.
    pub fn create(prefix: &str, tag: &str) -> Self {
        let name = format!("{prefix}-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        let ns = Self { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Its name, for `ip -n` and `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs `test(namespace name)` on a thread of its own inside a fresh
/// [`Netns`] (`setns`), on a current-thread tokio runtime, within 60
/// seconds; deletes the namespace afterwards and passes a panic on. On a
/// machine that cannot run the root tier it prints why and returns.
pub fn in_netns<F, Fut>(prefix: &str, tag: &str, test: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    if let Some(reason) = root_skip_reason(&[]) {
        println!("{reason}");
        return;
    }
    let ns = Netns::create(prefix, tag);
    let path = format!("/run/netns/{}", ns.name);
    let name = ns.name.clone();
    let result = std::thread::spawn(move || {
        let file = File::open(&path).expect("open the namespace");
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns into the test namespace");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), test(name))
                .await
                .expect("the root test timed out");
        });
    })
    .join();
    drop(ns);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_runs_inside_its_own_namespace_which_is_gone_after() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let inside = std::sync::Arc::clone(&seen);
        in_netns("sstptestkit", "self", move |name| async move {
            let listed = ip(&["netns", "identify"]);
            *inside.lock().expect("lock") = Some((name, listed));
        });
        let Some((name, identified)) = seen.lock().expect("lock").take() else {
            // Not root here: skipped, as the root tier does.
            assert!(root_skip_reason(&[]).is_some());
            return;
        };
        assert_eq!(identified.trim(), name);
        assert!(
            !ip(&["netns", "list"]).contains(&name),
            "{name} was deleted"
        );
    }
}
