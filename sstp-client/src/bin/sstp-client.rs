//! `sstp-client` binary (skeleton).
fn main() {
    println!(
        "sstp-client {}: not yet implemented",
        env!("CARGO_PKG_VERSION")
    );
}
