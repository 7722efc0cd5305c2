//! Packet-device abstraction for sstp-rs (to come): an async `TunDevice`
//! trait, an in-memory pair for tests, and the Linux TUN behind a feature.
