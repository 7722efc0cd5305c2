//! PPP authentication in both roles (placeholder until the auth engines land).

/// Why authentication failed (placeholder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct AuthFailure;
