//! # sstp-radius
//!
//! A RADIUS client for a NAS: a sans-IO codec and, behind the default
//! `client` feature, an async UDP client with retransmission, failover and
//! health tracking.
//!
//! ## The codec (no sockets, no clock; randomness comes in as bytes)
//!
//! - [`Packet`]: the header and the attributes in order (RFC 2865 §3,
//!   §5), [`Packet::parse`] / [`Packet::emit`]; typed value helpers on
//!   [`Attribute`]; [`attr`] and [`ms`] name every attribute this crate
//!   uses.
//! - [`Request`]: what a NAS asks, encoded per server by
//!   [`Request::encode`] with that server's secret: the identifier, the
//!   Request Authenticator, a Message-Authenticator first in every
//!   Access-Request and Status-Server (RFC 3579 §3.2; the BlastRADIUS
//!   mitigation), User-Password hiding (RFC 2865 §5.2), EAP-Message split
//!   (RFC 3579 §3.1), and the computed authenticator of Accounting-Request
//!   and DAE requests (RFC 2866 §3, RFC 5176 §2.3).
//! - [`verify_response`]: is these bytes the answer to that request? The
//!   Response Authenticator, the code, the identifier and the
//!   Message-Authenticator, in constant time.
//! - [`verify_request`] and [`Response`]: the server side, for a NAS that
//!   takes Disconnect-Request and CoA-Request (RFC 5176), and for tests.
//! - [`decrypt_mppe_key`] / [`encrypt_mppe_key`]: MS-MPPE-Send-Key and
//!   MS-MPPE-Recv-Key (RFC 2548 §2.4.2, any number of blocks).
//! - [`ms`]: MS-CHAP2-Response, MS-CHAP2-Success, MS-CHAP-Error (RFC 2548).
//!
//! ```
//! use sstp_radius::{attr, verify_response, Code, Request, Response, verify_request};
//!
//! let secret = b"s3cret";
//! let request = Request::access_request()
//!     .attribute(attr::USER_NAME, "alice")
//!     .user_password(b"hello");
//! // The client draws 16 random bytes for the Request Authenticator.
//! let random = [7u8; 16];
//! let sent = request.encode(42, &random, secret)?;
//!
//! // A server (here, the codec's own server side) answers.
//! let received = verify_request(&sent.bytes, secret)?;
//! assert_eq!(received.user_password(secret)?.as_deref().map(|p| &p[..]), Some(&b"hello"[..]));
//! let answer = Response::new(Code::AccessAccept).encode(&received, secret)?;
//!
//! let reply = verify_response(&answer, Code::AccessRequest, 42, &sent.authenticator, secret)?;
//! assert_eq!(reply.code, Code::AccessAccept);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The client (feature `client`)
//!
//! [`RadiusClient`] sends a [`Request`] to the first live server of a list,
//! retransmits with backoff, marks silent servers dead and fails over,
//! matches answers on one UDP socket per address family, and reports what
//! it sees to an [`Observer`].
//!
//! ## Errors say who is at fault
//!
//! [`ParseError`]: the peer sent bytes that are not a RADIUS packet.
//! [`VerifyError`]: a packet that parses but is not the answer it claims to
//! be (wrong secret, forged, or a server without the Message-Authenticator).
//! [`EmitError`]: what the caller asked for does not fit RADIUS.
//! [`MppeError`] and [`ValueError`]: an attribute value is not what its type
//! says.

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod attr;
mod attribute;
mod crypt;
mod dae;
pub mod ms;
mod packet;
mod request;
mod secret;
mod verify;

#[cfg(feature = "client")]
mod client;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

pub use attribute::{Attribute, ValueError, Vsa};
pub use crypt::{MAX_MPPE_KEY_LEN, MppeError, decrypt_mppe_key, encrypt_mppe_key};
pub use dae::ErrorCause;
pub use packet::{
    Code, EmitError, HEADER_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_PACKET_LEN, Packet, ParseError,
};
pub use request::{EncodedRequest, MAX_PASSWORD_LEN, Request, Response};
pub use secret::Secret;
pub use verify::{VerifyError, verify_request, verify_response};

#[cfg(feature = "client")]
pub use client::{
    ClientConfig, ClientError, DropCounts, DropReason, MAX_RETRANSMIT_WAIT, Observer, RadiusClient,
    Reply, ServerConfig, ServerState, Service,
};
