//! Support code for the integration tests (none yet: the end-to-end binary
//! `tests/e2e.rs` keeps its helpers in `tests/e2e/support.rs`).

#![warn(missing_docs)]
