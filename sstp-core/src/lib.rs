//! # sstp-core
//!
//! The pure, deterministic heart of sstp-rs: codecs for the SSTP wire
//! (MS-SSTP) and PPP, the MS-CHAPv2 / MPPE / crypto-binding math, and (in
//! the `session` module, to come) the sans-IO client and server engines.
//!
//! ## Layers
//!
//! - [`wire`]: parse/emit pairs for every message, never panicking on input.
//! - [`deframer`]: cuts a TLS byte stream into whole SSTP packets, bounded.
//! - [`crypto`]: MS-CHAPv2 (RFC 2759), MPPE keys (RFC 3079), SSTP HLAK, CMK and
//!   Compound MAC (MS-SSTP 3.2.5.2), on RustCrypto primitives.
//!
//! ## Determinism
//!
//! This crate opens no sockets or files, reads no clock, draws no OS
//! randomness and spawns no threads (enforced by `clippy.toml`). The same
//! inputs give the same outputs.

pub mod crypto;
pub mod deframer;
pub mod error;
pub mod ppp;
pub mod session;
pub mod sstp;
pub mod wire;

#[doc(hidden)]
pub mod fuzzing;

pub use wire::ParseError;
