#![no_main]
//! Harness: `sstp_core::fuzzing::eap_tls_session` (the oracle lives in the library so the
//! corpus replays under plain `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sstp_core::fuzzing::eap_tls_session(data));
