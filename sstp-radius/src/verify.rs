//! Checking that a packet is what it claims to be: an answer to our request
//! ([`verify_response`]), or a request signed with our secret
//! ([`verify_request`], the server side, for DAE). Every comparison of a
//! MAC or authenticator is constant-time.

use crate::attr;
use crate::crypt;
use crate::packet::{AttributeIter, Code, HEADER_LEN, Packet, ParseError};

/// A packet that parses but is not the answer (or the request) it claims to
/// be. Each says who is at fault in its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a RADIUS packet at all.
    #[error("not a RADIUS packet: {0}")]
    Malformed(#[from] ParseError),
    /// An answer for another identifier.
    #[error("the answer is for identifier {received}, not {expected}: a late or stray reply")]
    Identifier {
        /// The request's identifier.
        expected: u8,
        /// The answer's.
        received: u8,
    },
    /// A code that does not answer the request's (or, for
    /// [`verify_request`], a code that is not a request).
    #[error("a {received} does not answer a {request}: a broken server or a forged packet")]
    UnexpectedCode {
        /// The request's code.
        request: Code,
        /// The packet's.
        received: Code,
    },
    /// [`verify_request`] was given an answer, not a request.
    #[error("a {0} is not a request")]
    NotARequest(Code),
    /// The Response Authenticator is not MD5 of the packet, the Request
    /// Authenticator and the secret (RFC 2865 §3).
    #[error("the response authenticator does not match: wrong shared secret, or a forged reply")]
    ResponseAuthenticator,
    /// The Request Authenticator of an Accounting-Request or DAE request is
    /// not MD5 of the packet and the secret (RFC 2866 §3, RFC 5176 §2.3).
    #[error("the request authenticator does not match: wrong shared secret, or a forged request")]
    RequestAuthenticator,
    /// An Access-Accept, -Reject or -Challenge (or an Access-Request or
    /// Status-Server, for [`verify_request`]) without a Message-Authenticator.
    /// RFC 3579 §3.2 requires one with EAP; this crate requires it always,
    /// the BlastRADIUS (CVE-2024-3596) mitigation.
    #[error(
        "the packet has no Message-Authenticator, which this client requires of every Access-Accept, -Reject and -Challenge (BlastRADIUS, CVE-2024-3596): the server must add one (an update, or a configuration change), or the reply is forged"
    )]
    MissingMessageAuthenticator,
    /// A Message-Authenticator that is not 16 bytes, or more than one.
    #[error(
        "the Message-Authenticator is malformed (not 16 bytes, or more than one): a broken sender"
    )]
    MalformedMessageAuthenticator,
    /// The Message-Authenticator is not the HMAC-MD5 of the packet (RFC
    /// 3579 §3.2).
    #[error("the Message-Authenticator does not match: wrong shared secret, or a forged packet")]
    MessageAuthenticator,
}

/// Checks that `bytes` is the answer to the request we sent with this code,
/// identifier and Request Authenticator, signed with `secret`, and returns
/// it parsed. In order:
///
/// 1. it parses ([`Packet::parse`]);
/// 2. its identifier is the request's and its code answers the request's
///    ([`Code::answers`]);
/// 3. the Response Authenticator is MD5(Code+Identifier+Length+Request
///    Authenticator+Attributes+Secret) (RFC 2865 §3, RFC 2866 §3, RFC 5176
///    §2.3);
/// 4. a Message-Authenticator, if present, is one 16-byte attribute equal to
///    HMAC-MD5 over the packet with the Request Authenticator in the
///    authenticator field and itself zeroed (RFC 3579 §3.2);
/// 5. an answer to an Access-Request (Accept, Reject, Challenge) must have
///    one. RFC 3579 §3.2 requires it with EAP-Message; this crate requires it
///    always (BlastRADIUS). An answer to a Status-Server need not: it only
///    says a server is alive, and FreeRADIUS 3.2 answers Status-Server
///    without one.
pub fn verify_response(
    bytes: &[u8],
    request_code: Code,
    request_identifier: u8,
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Packet, VerifyError> {
    let packet = Packet::parse(bytes)?;
    let bytes = exact(bytes);
    if packet.identifier != request_identifier {
        return Err(VerifyError::Identifier {
            expected: request_identifier,
            received: packet.identifier,
        });
    }
    if !packet.code.answers(request_code) {
        return Err(VerifyError::UnexpectedCode {
            request: request_code,
            received: packet.code,
        });
    }
    let expected = crypt::packet_authenticator(bytes, request_authenticator, secret);
    if !crypt::ct_eq(&expected, &packet.authenticator) {
        return Err(VerifyError::ResponseAuthenticator);
    }
    let required = request_code == Code::AccessRequest;
    check_message_authenticator(bytes, request_authenticator, secret, required)?;
    Ok(packet)
}

/// Checks a request received by a server (or, for Disconnect-Request and
/// CoA-Request, by a NAS: RFC 5176) and returns it parsed:
///
/// - Accounting-Request, Disconnect-Request, CoA-Request: the Request
///   Authenticator is MD5(Code+Identifier+Length+16 zeros+Attributes+Secret)
///   (RFC 2866 §3, RFC 5176 §2.3); a Message-Authenticator, if present, is
///   HMAC-MD5 over the packet with the authenticator field zeroed (RFC 5176
///   §3.5).
/// - Access-Request and Status-Server: the Request Authenticator is random,
///   so the Message-Authenticator is what authenticates them; it is
///   required (RFC 5997 §3 for Status-Server; BlastRADIUS for
///   Access-Request).
///
/// Replay protection for DAE is the caller's: compare
/// [`Packet::event_timestamp`] with the clock (RFC 5176 §3.5 suggests a
/// 300-second window) and remember recent identifiers per client.
pub fn verify_request(bytes: &[u8], secret: &[u8]) -> Result<Packet, VerifyError> {
    let packet = Packet::parse(bytes)?;
    let bytes = exact(bytes);
    if !packet.code.is_request() {
        return Err(VerifyError::NotARequest(packet.code));
    }
    if packet.code.has_computed_authenticator() {
        let expected = crypt::packet_authenticator(bytes, &[0; 16], secret);
        if !crypt::ct_eq(&expected, &packet.authenticator) {
            return Err(VerifyError::RequestAuthenticator);
        }
        check_message_authenticator(bytes, &[0; 16], secret, false)?;
    } else {
        check_message_authenticator(bytes, &packet.authenticator, secret, true)?;
    }
    Ok(packet)
}

/// The packet without its padding: the bytes up to the Length field, which
/// is all the authenticators cover. Only for bytes that parsed.
fn exact(bytes: &[u8]) -> &[u8] {
    let length = bytes
        .get(2..4)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    bytes.get(..length).unwrap_or(bytes)
}

/// Finds the one Message-Authenticator of a packet that parsed (without
/// its padding) and checks it, with `authenticator` in the authenticator
/// field.
fn check_message_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    secret: &[u8],
    required: bool,
) -> Result<(), VerifyError> {
    let body = packet.get(HEADER_LEN..).unwrap_or_default();
    let mut found = None;
    let mut offset = HEADER_LEN;
    for a in AttributeIter::new(body) {
        let (ty, value) = a?;
        if ty == attr::MESSAGE_AUTHENTICATOR {
            if found.is_some() || value.len() != 16 {
                return Err(VerifyError::MalformedMessageAuthenticator);
            }
            found = Some(offset + 2);
        }
        offset += 2 + value.len();
    }
    let Some(at) = found else {
        return if required {
            Err(VerifyError::MissingMessageAuthenticator)
        } else {
            Ok(())
        };
    };
    let expected = crypt::message_authenticator(packet, authenticator, at, secret);
    if packet
        .get(at..at + 16)
        .is_some_and(|got| crypt::ct_eq(&expected, got))
    {
        Ok(())
    } else {
        Err(VerifyError::MessageAuthenticator)
    }
}
