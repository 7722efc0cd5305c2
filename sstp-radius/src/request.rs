//! Building packets: a [`Request`] a NAS sends, encoded per server with
//! that server's secret, and a [`Response`] a server (or a NAS answering a
//! DAE request) sends back.

use std::fmt;

use zeroize::Zeroizing;

use crate::attr;
use crate::attribute::Attribute;
use crate::crypt;
use crate::dae::ErrorCause;
use crate::packet::{Code, EmitError, HEADER_LEN, Packet, finish_length, push_attribute};

/// The longest User-Password RADIUS carries (RFC 2865 §5.2).
pub const MAX_PASSWORD_LEN: usize = 128;

/// Where the Message-Authenticator's value sits when it is the first
/// attribute: after the header and its own Type and Length octets.
const FIRST_MA_OFFSET: usize = HEADER_LEN + 2;

/// A request as the caller means it, before any server's secret touches it:
/// the code, the attributes in order, and the User-Password in cleartext
/// (zeroized on drop, never printed). [`encode`](Self::encode) turns it into
/// the bytes for one server.
///
/// ```
/// use sstp_radius::{attr, Attribute, Request};
/// let request = Request::access_request()
///     .attribute(attr::USER_NAME, "alice")
///     .user_password(b"hello")
///     .with(Attribute::from_u32(attr::NAS_PORT_TYPE, 5));
/// let bytes = request.encode(1, &[0x42; 16], b"secret")?.bytes;
/// // Code, Identifier, Length; the Message-Authenticator comes first.
/// assert_eq!(&bytes[..4], &[1, 1, 0, 69]);
/// assert_eq!(&bytes[20..22], &[80, 18]);
/// # Ok::<(), sstp_radius::EmitError>(())
/// ```
#[derive(Clone)]
pub struct Request {
    code: Code,
    items: Vec<Item>,
}

#[derive(Clone)]
enum Item {
    Attribute(Attribute),
    UserPassword(Zeroizing<Vec<u8>>),
}

/// A request's bytes for one server, and the Request Authenticator its
/// answer is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedRequest {
    /// The datagram.
    pub bytes: Vec<u8>,
    /// The Request Authenticator (the bytes' 4..20).
    pub authenticator: [u8; 16],
}

impl Request {
    /// An Access-Request (RFC 2865 §4.1).
    pub const fn access_request() -> Self {
        Self::new(Code::AccessRequest)
    }

    /// An Accounting-Request (RFC 2866 §4.1).
    pub const fn accounting_request() -> Self {
        Self::new(Code::AccountingRequest)
    }

    /// A Status-Server (RFC 5997 §3): no attributes are needed, the
    /// Message-Authenticator is added.
    pub const fn status_server() -> Self {
        Self::new(Code::StatusServer)
    }

    /// A Disconnect-Request (RFC 5176 §2.1).
    pub const fn disconnect_request() -> Self {
        Self::new(Code::DisconnectRequest)
    }

    /// A CoA-Request (RFC 5176 §2.2).
    pub const fn coa_request() -> Self {
        Self::new(Code::CoaRequest)
    }

    const fn new(code: Code) -> Self {
        Self {
            code,
            items: Vec::new(),
        }
    }

    /// The request's code.
    pub const fn code(&self) -> Code {
        self.code
    }

    /// Adds an attribute with these value bytes.
    #[must_use]
    pub fn attribute(self, ty: u8, value: impl Into<Vec<u8>>) -> Self {
        self.with(Attribute::new(ty, value))
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with(mut self, attribute: Attribute) -> Self {
        self.push(attribute);
        self
    }

    /// Adds an attribute.
    pub fn push(&mut self, attribute: Attribute) {
        self.items.push(Item::Attribute(attribute));
    }

    /// Adds a User-Password, hidden per server when encoded (RFC 2865
    /// §5.2): up to 128 bytes, Access-Request only (else
    /// [`encode`](Self::encode) refuses).
    #[must_use]
    pub fn user_password(mut self, password: &[u8]) -> Self {
        self.items
            .push(Item::UserPassword(Zeroizing::new(password.to_vec())));
        self
    }

    /// Adds CHAP-Password (the peer's CHAP Identifier and 16-byte response,
    /// RFC 2865 §5.3) and CHAP-Challenge (the challenge the NAS sent,
    /// §5.40). The challenge always goes in its own attribute, never in
    /// the Request Authenticator.
    #[must_use]
    pub fn chap_password(self, chap_ident: u8, response: &[u8; 16], challenge: &[u8]) -> Self {
        let mut value = Vec::with_capacity(17);
        value.push(chap_ident);
        value.extend_from_slice(response);
        self.attribute(attr::CHAP_PASSWORD, value)
            .attribute(attr::CHAP_CHALLENGE, challenge)
    }

    /// Adds an EAP packet as EAP-Message attributes of up to 253 bytes each
    /// (RFC 3579 §3.1). An empty one is a single empty attribute, the
    /// EAP-Start of RFC 3579 §2.1.
    #[must_use]
    pub fn eap_message(mut self, eap: &[u8]) -> Self {
        if eap.is_empty() {
            self.push(Attribute::new(attr::EAP_MESSAGE, Vec::new()));
        }
        for chunk in eap.chunks(crate::MAX_ATTRIBUTE_VALUE_LEN) {
            self.push(Attribute::new(attr::EAP_MESSAGE, chunk));
        }
        self
    }

    /// The attributes other than the User-Password, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.items.iter().filter_map(|i| match i {
            Item::Attribute(a) => Some(a),
            Item::UserPassword(_) => None,
        })
    }

    /// The bytes for one server.
    ///
    /// - Access-Request and Status-Server: `random` is the Request
    ///   Authenticator (RFC 2865 §3: unpredictable, from a cryptographic
    ///   RNG); a Message-Authenticator is the first attribute (RFC 3579
    ///   §3.2, RFC 5997 §3), HMAC-MD5 over the packet with itself zeroed.
    ///   The User-Password is hidden with `random` and `secret`.
    /// - Accounting-Request (RFC 2866 §3) and Disconnect-/CoA-Request
    ///   (RFC 5176 §2.3): `random` is unused; the Request Authenticator is
    ///   MD5(Code+Identifier+Length+16 zeros+Attributes+Secret). DAE
    ///   requests get a Message-Authenticator first, computed with the
    ///   authenticator field zeroed before the authenticator itself
    ///   (RFC 5176 §3.5).
    ///
    /// Refuses a packet over 4096 bytes, a value over 253, a password over
    /// 128 or outside an Access-Request, and a Message-Authenticator the
    /// caller added.
    pub fn encode(
        &self,
        identifier: u8,
        random: &[u8; 16],
        secret: &[u8],
    ) -> Result<EncodedRequest, EmitError> {
        let computed = self.code.has_computed_authenticator();
        let with_ma = self.code != Code::AccountingRequest;
        let auth_field = if computed { [0; 16] } else { *random };
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&[self.code.to_u8(), identifier, 0, 0]);
        out.extend_from_slice(&auth_field);
        if with_ma {
            push_attribute(&mut out, attr::MESSAGE_AUTHENTICATOR, &[0; 16])?;
        }
        for item in &self.items {
            match item {
                Item::Attribute(a) if a.ty == attr::MESSAGE_AUTHENTICATOR => {
                    return Err(EmitError::MessageAuthenticatorGiven);
                }
                Item::Attribute(a) => push_attribute(&mut out, a.ty, &a.value)?,
                Item::UserPassword(_) if self.code != Code::AccessRequest => {
                    return Err(EmitError::PasswordNotAllowed(self.code));
                }
                Item::UserPassword(pw) => {
                    let hidden = crypt::hide_password(pw, random, secret)?;
                    push_attribute(&mut out, attr::USER_PASSWORD, &hidden)?;
                }
            }
            if out.len() > crate::MAX_PACKET_LEN {
                return Err(EmitError::TooLarge(out.len()));
            }
        }
        finish_length(&mut out)?;
        if with_ma {
            let ma = crypt::message_authenticator(&out, &auth_field, FIRST_MA_OFFSET, secret);
            out[FIRST_MA_OFFSET..FIRST_MA_OFFSET + 16].copy_from_slice(&ma);
        }
        let authenticator = if computed {
            let a = crypt::packet_authenticator(&out, &[0; 16], secret);
            out[4..HEADER_LEN].copy_from_slice(&a);
            a
        } else {
            auth_field
        };
        Ok(EncodedRequest {
            bytes: out,
            authenticator,
        })
    }

    /// This request with `seconds` added to its Acct-Delay-Time (RFC 2866
    /// §5.2), or `None` if it carries none (or a malformed one).
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn delayed_by(&self, seconds: u32) -> Option<Self> {
        let mut out = self.clone();
        let delay = out.items.iter_mut().find_map(|i| match i {
            Item::Attribute(a) if a.ty == attr::ACCT_DELAY_TIME => Some(a),
            _ => None,
        })?;
        let now = delay.as_u32().ok()?;
        *delay = Attribute::from_u32(attr::ACCT_DELAY_TIME, now.saturating_add(seconds));
        Some(out)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Items<'a>(&'a [Item]);
        impl fmt::Debug for Items<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|i| match i {
                        Item::Attribute(a) => a as &dyn fmt::Debug,
                        Item::UserPassword(_) => &"User-Password(..)",
                    }))
                    .finish()
            }
        }
        f.debug_struct("Request")
            .field("code", &self.code)
            .field("attributes", &Items(&self.items))
            .finish()
    }
}

/// An answer to a request: what a server sends, and what a NAS sends back
/// to a Disconnect-Request or CoA-Request (RFC 5176 §2). The crate's tests
/// and fuzzers use it as their server.
///
/// [`encode`](Self::encode) takes the Identifier and Request Authenticator
/// from the request, puts a Message-Authenticator first (unless
/// [`without_message_authenticator`](Self::without_message_authenticator)),
/// copies the request's Proxy-State attributes at the end in order (RFC
/// 2865 §5.33, RFC 5176 §3.1), and computes the Response Authenticator.
#[derive(Clone, Debug)]
pub struct Response {
    code: Code,
    attributes: Vec<Attribute>,
    message_authenticator: bool,
}

impl Response {
    /// An answer of this code.
    pub const fn new(code: Code) -> Self {
        Self {
            code,
            attributes: Vec::new(),
            message_authenticator: true,
        }
    }

    /// Adds an attribute with these value bytes.
    #[must_use]
    pub fn attribute(self, ty: u8, value: impl Into<Vec<u8>>) -> Self {
        self.with(Attribute::new(ty, value))
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with(mut self, attribute: Attribute) -> Self {
        self.push(attribute);
        self
    }

    /// Adds an attribute.
    pub fn push(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }

    /// Adds an Error-Cause (RFC 5176 §3.6), for a NAK or an ACK that
    /// removed residual context.
    #[must_use]
    pub fn error_cause(self, cause: ErrorCause) -> Self {
        self.with(Attribute::from_u32(attr::ERROR_CAUSE, cause.0))
    }

    /// Leaves the Message-Authenticator out, as old servers do in an
    /// Accounting-Response or a DAE answer (and as forged answers in tests
    /// do).
    #[must_use]
    pub const fn without_message_authenticator(mut self) -> Self {
        self.message_authenticator = false;
        self
    }

    /// The bytes answering `request`, signed with `secret`: the
    /// Message-Authenticator computed with the Request Authenticator in the
    /// authenticator field (RFC 3579 §3.2), then the Response Authenticator
    /// MD5(Code+Identifier+Length+Request Authenticator+Attributes+Secret)
    /// (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
    pub fn encode(&self, request: &Packet, secret: &[u8]) -> Result<Vec<u8>, EmitError> {
        if !self.code.answers(request.code) {
            return Err(EmitError::NotAnAnswer {
                request: request.code,
                response: self.code,
            });
        }
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&[self.code.to_u8(), request.identifier, 0, 0]);
        out.extend_from_slice(&request.authenticator);
        if self.message_authenticator {
            push_attribute(&mut out, attr::MESSAGE_AUTHENTICATOR, &[0; 16])?;
        }
        let proxy_state = request.get_all(attr::PROXY_STATE);
        for a in self.attributes.iter().chain(proxy_state) {
            if a.ty == attr::MESSAGE_AUTHENTICATOR {
                return Err(EmitError::MessageAuthenticatorGiven);
            }
            push_attribute(&mut out, a.ty, &a.value)?;
            if out.len() > crate::MAX_PACKET_LEN {
                return Err(EmitError::TooLarge(out.len()));
            }
        }
        finish_length(&mut out)?;
        if self.message_authenticator {
            let ma =
                crypt::message_authenticator(&out, &request.authenticator, FIRST_MA_OFFSET, secret);
            out[FIRST_MA_OFFSET..FIRST_MA_OFFSET + 16].copy_from_slice(&ma);
        }
        let a = crypt::packet_authenticator(&out, &request.authenticator, secret);
        out[4..HEADER_LEN].copy_from_slice(&a);
        Ok(out)
    }
}
