//! Dynamic Authorization (RFC 5176): a NAS receives Disconnect-Request and
//! CoA-Request, checks them with [`verify_request`](crate::verify_request)
//! and answers with a [`Response`](crate::Response) of ACK or NAK, carrying
//! an [`ErrorCause`] when it refuses.

use std::fmt;

use crate::attr;
use crate::attribute::ValueError;
use crate::packet::Packet;

/// The value of an Error-Cause attribute (RFC 5176 §3.6). Any `u32` is
/// kept; the constants are the causes a NAS answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCause(pub u32);

impl ErrorCause {
    /// 201: the session is gone, and its residual context was removed (an
    /// ACK to a Disconnect-Request for a session already ended).
    pub const RESIDUAL_SESSION_CONTEXT_REMOVED: Self = Self(201);
    /// 401: the request has an attribute the NAS does not support.
    pub const UNSUPPORTED_ATTRIBUTE: Self = Self(401);
    /// 402: an attribute the NAS needs is missing.
    pub const MISSING_ATTRIBUTE: Self = Self(402);
    /// 403: the NAS-Identifier or NAS-IP-Address is not this NAS's.
    pub const NAS_IDENTIFICATION_MISMATCH: Self = Self(403);
    /// 404: the request is malformed or otherwise refused.
    pub const INVALID_REQUEST: Self = Self(404);
    /// 503: no session matches the identification attributes.
    pub const SESSION_CONTEXT_NOT_FOUND: Self = Self(503);
    /// 504: the session exists but cannot be removed.
    pub const SESSION_CONTEXT_NOT_REMOVABLE: Self = Self(504);
    /// 506: the NAS lacks the resources to do it.
    pub const RESOURCES_UNAVAILABLE: Self = Self(506);

    /// The name RFC 5176 §3.6 gives it, if it is one of the constants.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            201 => "Residual Session Context Removed",
            401 => "Unsupported Attribute",
            402 => "Missing Attribute",
            403 => "NAS Identification Mismatch",
            404 => "Invalid Request",
            503 => "Session Context Not Found",
            504 => "Session Context Not Removable",
            506 => "Resources Unavailable",
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} ({n})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Packet {
    /// The first Error-Cause (RFC 5176 §3.6), as a DAE NAK carries.
    pub fn error_cause(&self) -> Result<Option<ErrorCause>, ValueError> {
        self.get(attr::ERROR_CAUSE)
            .map(|a| a.as_u32().map(ErrorCause))
            .transpose()
    }
}
