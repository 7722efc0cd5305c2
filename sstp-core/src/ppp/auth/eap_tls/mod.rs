//! EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190) in both roles: the TLS engine
//! runs in memory, and its flights travel in EAP-TLS fragments.

mod fragments;

pub(crate) use fragments::*;
