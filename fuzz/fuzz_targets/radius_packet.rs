#![no_main]
//! Harness: `sstp_radius::fuzzing::packet` (the oracle lives in the library so the
//! corpus replays under plain `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sstp_radius::fuzzing::packet(data));
