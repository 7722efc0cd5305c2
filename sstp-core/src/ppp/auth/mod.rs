//! PPP authentication in both roles (placeholder).
