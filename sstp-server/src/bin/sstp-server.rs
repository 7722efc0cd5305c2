//! `sstp-server` binary (skeleton).
fn main() {
    println!(
        "sstp-server {}: not yet implemented",
        env!("CARGO_PKG_VERSION")
    );
}
