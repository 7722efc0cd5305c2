//! SSTP control messages (MS-SSTP 2.2.2, 2.2.9–2.2.15): [`ControlMessage`],
//! the structure of a control packet, and [`Message`], the typed messages
//! with their attribute rules; a violation is a [`MessageError`] carrying the
//! Status for a Call Connect NAK or Call Abort.

use super::*;

/// A control packet as structure (MS-SSTP 2.2.2): the message type and its
/// attributes in order, SSTP header included in the wire form.
///
/// This level checks only structure: the header, that Num Attributes
/// attributes are present and fill the packet exactly, and each attribute's
/// header. [`Message`] applies the per-message rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ControlMessage {
    /// Message Type.
    pub message_type: MessageType,
    /// The attributes, in wire order.
    pub attributes: Vec<Attribute>,
}

impl ControlMessage {
    const WHAT: &'static str = "SSTP control message";

    /// Parses exactly one whole control packet, SSTP header included.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (message_type, count, mut rest) = split_control(bytes)?;
        // Each attribute is at least 4 bytes; the Vec grows with what is
        // actually present, never with what the count field claims.
        let mut attributes = Vec::new();
        for _ in 0..count {
            let raw = next_raw_attribute(&mut rest)?;
            attributes.push(Attribute::parse(raw)?);
        }
        if !rest.is_empty() {
            return Err(ParseError::TrailingBytes {
                what: Self::WHAT,
                extra: rest.len(),
            });
        }
        Ok(Self {
            message_type,
            attributes,
        })
    }

    /// Appends the wire form, SSTP header included. Attributes that would not
    /// fit in [`MAX_PACKET_LEN`] are left out (only possible for a locally
    /// built message; see [`ControlMessage::fits`]).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        encode_control(self.message_type, &self.attributes, Some(out));
    }

    /// Length of the wire form.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffer_len(&self) -> usize {
        encode_control(self.message_type, &self.attributes, None)
    }

    /// Whether every attribute fits in one packet, so that `emit` writes all
    /// of them.
    #[cfg(test)]
    pub(crate) fn fits(&self) -> bool {
        let total = self
            .attributes
            .iter()
            .try_fold(CONTROL_HEADER_LEN, |len, a| {
                let n = a.buffer_len();
                (n >= ATTRIBUTE_HEADER_LEN).then(|| len + n)
            });
        total.is_some_and(|len| len <= MAX_PACKET_LEN)
    }
}

/// Checks the header of a whole control packet and returns Message Type, Num
/// Attributes and the attribute bytes.
fn split_control(bytes: &[u8]) -> Result<(MessageType, u16, &[u8]), ParseError> {
    const WHAT: &str = ControlMessage::WHAT;
    let header = Header::of_packet(bytes)?;
    if !header.is_control() {
        return Err(ParseError::malformed(WHAT, "C bit is 0 (a data packet)"));
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    let (rest, (message_type, count)) = (be_u16, be_u16).parse(body).map_err(nom_truncated(
        WHAT,
        CONTROL_HEADER_LEN,
        bytes.len(),
    ))?;
    if usize::from(count) * ATTRIBUTE_HEADER_LEN > rest.len() {
        return Err(ParseError::InvalidValue {
            what: "SSTP control message Num Attributes (more than fit)",
            value: count.into(),
        });
    }
    Ok((MessageType(message_type), count, rest))
}

// ---------------------------------------------------------------------------
// Control messages: typed, with the rules of 2.2.9–2.2.15
// ---------------------------------------------------------------------------

/// A control message with its attribute rules enforced (MS-SSTP 2.2.9–2.2.15).
///
/// Parsing fails with a [`MessageError`] that says which Status Info to send
/// back; the mapping is documented on [`Message::from_control`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Message {
    /// 2.2.9: exactly one Encapsulated Protocol ID (14 bytes in all). Any
    /// Protocol ID is accepted here; a server answers anything but
    /// [`ProtocolId::PPP`] with a NAK whose Status Info is
    /// `(ENCAPSULATED_PROTOCOL_ID, VALUE_NOT_SUPPORTED)` echoing the 2-byte
    /// value (3.3.5.2.2 item 5).
    CallConnectRequest { protocol_id: ProtocolId },
    /// 2.2.10: exactly one Crypto Binding Request (48 bytes in all).
    CallConnectAck { request: CryptoBindingRequest },
    /// 2.2.12: one or more Status Info, nothing else. When built locally it
    /// must hold at least one; Status Info beyond what fits in one packet
    /// (53 with 64-byte values, 340 without) are left out on emit.
    CallConnectNak { status_infos: Vec<StatusInfo> },
    /// 2.2.11: exactly one Crypto Binding (112 bytes in all). The exact wire
    /// form and the Compound MAC input come from
    /// [`CryptoBinding::call_connected_bytes`] and
    /// [`CryptoBinding::call_connected_mac_input`].
    CallConnected { binding: CryptoBinding },
    /// 2.2.13: at most one Status Info (Windows always sends one).
    CallAbort { status: Option<StatusInfo> },
    /// 2.2.14: at most one Status Info (Windows always sends one).
    CallDisconnect { status: Option<StatusInfo> },
    /// 2.2.15: no attributes (8 bytes).
    CallDisconnectAck,
    /// 2.2.15: no attributes (8 bytes).
    EchoRequest,
    /// 2.2.15: no attributes (8 bytes).
    EchoResponse,
    /// A message type SSTP version 1 does not define, kept whole (parsing
    /// puts only types other than 1 to 9 here). A session treats it as an
    /// invalid frame (`INVALID_FRAME_RECEIVED`, 2.2.8).
    Unknown(ControlMessage),
}

impl Message {
    /// Parses exactly one whole control packet, SSTP header included, and
    /// applies the rules of its message type. Any structural error is a
    /// [`MessageError`] with `INVALID_FRAME_RECEIVED`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, MessageError> {
        let message_type = split_control(bytes).ok().map(|(t, _, _)| t);
        let control = ControlMessage::parse(bytes).map_err(|error| MessageError {
            message_type,
            ..MessageError::from(error)
        })?;
        Self::from_control(control)
    }

    /// Applies the per-message rules to a parsed control message.
    ///
    /// Status Info for each violation (what a [`MessageError`] carries):
    ///
    /// | Message | Violation | AttribID | Status |
    /// |---|---|---|---|
    /// | Call Connect Request (3.3.5.2.2, answered with a NAK listing every problem) | Status Info with a status other than NO_ERROR | STATUS_INFO | STATUS_INFO_NOT_SUPPORTED_IN_MSG |
    /// | | known attribute with a wrong length | its ID | INVALID_ATTRIB_VALUE_LENGTH |
    /// | | second Encapsulated Protocol ID | ENCAPSULATED_PROTOCOL_ID | DUPLICATE_ATTRIBUTE |
    /// | | unknown attribute, or one not used in this message | its ID | UNRECOGNIZED_ATTRIBUTE |
    /// | | no Encapsulated Protocol ID | ENCAPSULATED_PROTOCOL_ID (2.2.8; 3.3.5.2.2 item 6 says STATUS_INFO, 2.2.8 is the more specific text) | REQUIRED_ATTRIBUTE_MISSING |
    /// | Call Connected (3.3.5.2.3, answered with an Abort) | anything but exactly one valid Crypto Binding (Status Info with NO_ERROR tolerated) | STATUS_INFO | ATTRIB_NOT_SUPPORTED_IN_MSG |
    /// | Others (answered with an Abort, 3.1.5.1) | missing, extra, duplicate or wrong-length attribute | the attribute's ID | ATTRIB_NOT_SUPPORTED_IN_MSG |
    ///
    /// In a NAK, AttribValue echoes the first 64 bytes of an attribute the
    /// server understood, and is empty for unrecognized or missing ones
    /// (2.2.8). In all other cases it is empty.
    ///
    /// Status Info attributes with NO_ERROR in a Call Connect Request or Call
    /// Connected are accepted and dropped: 3.3.5.2.2 and 3.3.5.2.3 object
    /// only to other statuses.
    pub(crate) fn from_control(control: ControlMessage) -> Result<Self, MessageError> {
        let ControlMessage {
            message_type,
            attributes,
        } = control;
        let attrs = attributes.as_slice();
        match message_type {
            MessageType::CALL_CONNECT_REQUEST => connect_request(attrs),
            MessageType::CALL_CONNECT_ACK => {
                let mut found = only_allowed(
                    message_type,
                    attrs,
                    AttributeId::CRYPTO_BINDING_REQ,
                    1,
                    |a| match a {
                        Attribute::CryptoBindingRequest(r) => Some(*r),
                        _ => None,
                    },
                )?;
                match found.pop() {
                    Some(request) => Ok(Self::CallConnectAck { request }),
                    None => Err(MessageError::abort(
                        message_type,
                        AttributeId::CRYPTO_BINDING_REQ,
                        "Crypto Binding Request missing",
                    )),
                }
            }
            MessageType::CALL_CONNECT_NAK => {
                let status_infos = only_allowed(
                    message_type,
                    attrs,
                    AttributeId::STATUS_INFO,
                    usize::MAX,
                    |a| match a {
                        Attribute::StatusInfo(s) => Some(*s),
                        _ => None,
                    },
                )?;
                if status_infos.is_empty() {
                    return Err(MessageError::abort(
                        message_type,
                        AttributeId::STATUS_INFO,
                        "no Status Info",
                    ));
                }
                Ok(Self::CallConnectNak { status_infos })
            }
            MessageType::CALL_CONNECTED => call_connected(attrs),
            MessageType::CALL_ABORT | MessageType::CALL_DISCONNECT => {
                // 2.2.12 / 2.2.13 allow one optional Status Info. The call
                // ends whatever else the message carries, so anything else
                // is ignored on receipt: sstpd 0.7.2 sends Call Disconnect
                // with an attribute of ID 0 (see the fixture in the tests),
                // and refusing it would hide why the call ended.
                let status = attrs.iter().find_map(|a| match a {
                    Attribute::StatusInfo(s) => Some(*s),
                    _ => None,
                });
                Ok(if message_type == MessageType::CALL_ABORT {
                    Self::CallAbort { status }
                } else {
                    Self::CallDisconnect { status }
                })
            }
            MessageType::CALL_DISCONNECT_ACK
            | MessageType::ECHO_REQUEST
            | MessageType::ECHO_RESPONSE => {
                if let Some(a) = attrs.first() {
                    return Err(MessageError::abort(
                        message_type,
                        a.id(),
                        "attribute in a message that has none",
                    ));
                }
                Ok(match message_type {
                    MessageType::CALL_DISCONNECT_ACK => Self::CallDisconnectAck,
                    MessageType::ECHO_REQUEST => Self::EchoRequest,
                    _ => Self::EchoResponse,
                })
            }
            _ => Ok(Self::Unknown(ControlMessage {
                message_type,
                attributes,
            })),
        }
    }

    /// The message type.
    pub(crate) fn message_type(&self) -> MessageType {
        match self {
            Self::CallConnectRequest { .. } => MessageType::CALL_CONNECT_REQUEST,
            Self::CallConnectAck { .. } => MessageType::CALL_CONNECT_ACK,
            Self::CallConnectNak { .. } => MessageType::CALL_CONNECT_NAK,
            Self::CallConnected { .. } => MessageType::CALL_CONNECTED,
            Self::CallAbort { .. } => MessageType::CALL_ABORT,
            Self::CallDisconnect { .. } => MessageType::CALL_DISCONNECT,
            Self::CallDisconnectAck => MessageType::CALL_DISCONNECT_ACK,
            Self::EchoRequest => MessageType::ECHO_REQUEST,
            Self::EchoResponse => MessageType::ECHO_RESPONSE,
            Self::Unknown(control) => control.message_type,
        }
    }

    /// Appends the wire form, SSTP header included. A NAK with more Status
    /// Info than fit in one packet carries the ones that fit.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        self.encode(Some(out));
    }

    /// Length of the wire form.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffer_len(&self) -> usize {
        self.encode(None)
    }

    fn encode(&self, out: Option<&mut Vec<u8>>) -> usize {
        let message_type = self.message_type();
        match self {
            Self::CallConnectRequest { protocol_id } => {
                let attribute = EncapsulatedProtocolId {
                    protocol_id: *protocol_id,
                };
                encode_control(message_type, core::iter::once(&attribute), out)
            }
            Self::CallConnectAck { request } => {
                encode_control(message_type, core::iter::once(request), out)
            }
            Self::CallConnectNak { status_infos } => {
                encode_control(message_type, status_infos, out)
            }
            Self::CallConnected { binding } => {
                encode_control(message_type, core::iter::once(binding), out)
            }
            Self::CallAbort { status } | Self::CallDisconnect { status } => {
                encode_control(message_type, status, out)
            }
            Self::CallDisconnectAck | Self::EchoRequest | Self::EchoResponse => {
                encode_control::<Attribute>(message_type, [], out)
            }
            Self::Unknown(control) => encode_control(message_type, &control.attributes, out),
        }
    }
}

impl TryFrom<ControlMessage> for Message {
    type Error = MessageError;

    fn try_from(control: ControlMessage) -> Result<Self, MessageError> {
        Self::from_control(control)
    }
}

/// Call Connect Request (2.2.9, 3.3.5.2.2): collects every problem, since the
/// NAK must list them all.
fn connect_request(attrs: &[Attribute]) -> Result<Message, MessageError> {
    const MT: MessageType = MessageType::CALL_CONNECT_REQUEST;
    let mut protocol_id = None;
    let mut seen_protocol = false;
    let mut problems = NakProblems::default();
    for attribute in attrs {
        match attribute {
            Attribute::EncapsulatedProtocolId(a) => {
                if seen_protocol {
                    problems.push(
                        attribute,
                        Status::DUPLICATE_ATTRIBUTE,
                        true,
                        "duplicate Encapsulated Protocol ID",
                    );
                } else {
                    protocol_id = Some(a.protocol_id);
                }
                seen_protocol = true;
            }
            Attribute::StatusInfo(s) if s.status == Status::NO_ERROR => {}
            Attribute::StatusInfo(_) => problems.push(
                attribute,
                Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG,
                true,
                "Status Info with an error status",
            ),
            Attribute::InvalidLength { id, .. } => {
                // A mis-sized Encapsulated Protocol ID is reported as such,
                // not also as missing or duplicate.
                if *id == AttributeId::ENCAPSULATED_PROTOCOL_ID {
                    seen_protocol = true;
                }
                problems.push(
                    attribute,
                    Status::INVALID_ATTRIB_VALUE_LENGTH,
                    true,
                    "attribute with an invalid length",
                );
            }
            _ => problems.push(
                attribute,
                Status::UNRECOGNIZED_ATTRIBUTE,
                false,
                "attribute not recognized in this message",
            ),
        }
    }
    if !seen_protocol {
        problems.push_missing(
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            "Encapsulated Protocol ID missing",
        );
    }
    match (problems.into_error(), protocol_id) {
        (Some(error), _) => Err(error),
        (None, Some(protocol_id)) => Ok(Message::CallConnectRequest { protocol_id }),
        (None, None) => Err(MessageError::abort(
            MT,
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            "Encapsulated Protocol ID missing",
        )),
    }
}

/// The problems of a Call Connect Request, bounded by what one NAK can carry.
#[derive(Default)]
struct NakProblems {
    infos: Vec<StatusInfo>,
    nak_len: usize,
    first_reason: Option<&'static str>,
}

impl NakProblems {
    fn push(&mut self, attribute: &Attribute, status: Status, echo: bool, reason: &'static str) {
        let info = if echo {
            StatusInfo::with_value(attribute.id(), status, &attribute.wire_value())
        } else {
            StatusInfo::new(attribute.id(), status)
        };
        self.add(info, reason);
    }

    fn push_missing(&mut self, id: AttributeId, reason: &'static str) {
        self.add(
            StatusInfo::new(id, Status::REQUIRED_ATTRIBUTE_MISSING),
            reason,
        );
    }

    fn add(&mut self, info: StatusInfo, reason: &'static str) {
        self.first_reason.get_or_insert(reason);
        let len = self.nak_len.max(CONTROL_HEADER_LEN) + info.buffer_len();
        if len <= MAX_PACKET_LEN {
            self.nak_len = len;
            self.infos.push(info);
        }
    }

    fn into_error(self) -> Option<MessageError> {
        let reason = self.first_reason?;
        Some(MessageError {
            message_type: Some(MessageType::CALL_CONNECT_REQUEST),
            nak: true,
            status_infos: self.infos,
            error: ParseError::malformed("SSTP_MSG_CALL_CONNECT_REQUEST", reason),
        })
    }
}

/// Call Connected (2.2.11, 3.3.5.2.3): exactly one Crypto Binding; Status Info
/// with NO_ERROR tolerated. Every violation is reported as 3.3.5.2.3 says:
/// AttribID STATUS_INFO, status ATTRIB_NOT_SUPPORTED_IN_MSG.
fn call_connected(attrs: &[Attribute]) -> Result<Message, MessageError> {
    const MT: MessageType = MessageType::CALL_CONNECTED;
    let fail = |reason| Err(MessageError::abort(MT, AttributeId::STATUS_INFO, reason));
    let mut binding = None;
    for attribute in attrs {
        match attribute {
            Attribute::CryptoBinding(b) if binding.is_none() => binding = Some(*b),
            Attribute::CryptoBinding(_) => return fail("duplicate Crypto Binding"),
            Attribute::StatusInfo(s) if s.status == Status::NO_ERROR => {}
            Attribute::StatusInfo(_) => return fail("Status Info with an error status"),
            Attribute::InvalidLength { .. } => return fail("attribute with an invalid length"),
            _ => return fail("attribute not allowed in this message"),
        }
    }
    match binding {
        Some(binding) => Ok(Message::CallConnected { binding }),
        None => fail("Crypto Binding missing"),
    }
}

/// For messages that allow only attribute `allowed`, at most `max` times:
/// returns them typed, or the first violation as an Abort-type error.
fn only_allowed<T>(
    message_type: MessageType,
    attrs: &[Attribute],
    allowed: AttributeId,
    max: usize,
    extract: impl Fn(&Attribute) -> Option<T>,
) -> Result<Vec<T>, MessageError> {
    let mut found = Vec::new();
    for attribute in attrs {
        let Some(value) = extract(attribute) else {
            let reason = if attribute.id() == allowed {
                "attribute with an invalid length"
            } else {
                "attribute not allowed in this message"
            };
            return Err(MessageError::abort(message_type, attribute.id(), reason));
        };
        if found.len() >= max {
            return Err(MessageError::abort(
                message_type,
                allowed,
                "attribute occurs more often than allowed",
            ));
        }
        found.push(value);
    }
    Ok(found)
}

/// A control message that breaks the rules of MS-SSTP 2.2, with the Status
/// Info to answer it with.
///
/// [`ParseError`] stays the description of what was wrong
/// (`MessageError::parse_error`); this adds what MS-SSTP says to do about
/// it:
///
/// - `MessageError::calls_for_nak`: a Call Connect Request whose attributes
///   are unacceptable; the server answers with a Call Connect NAK carrying
///   `MessageError::status_infos` (3.3.5.2.2).
/// - otherwise: the peer aborts with a Call Abort carrying
///   `MessageError::status_info` (3.1.5.1). Broken structure (attribute
///   lengths that overrun the packet, a wrong count, a data packet where a
///   control packet was expected) gives `INVALID_FRAME_RECEIVED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    message_type: Option<MessageType>,
    nak: bool,
    // Never empty.
    status_infos: Vec<StatusInfo>,
    error: ParseError,
}

impl MessageError {
    fn abort(message_type: MessageType, attrib_id: AttributeId, reason: &'static str) -> Self {
        Self {
            message_type: Some(message_type),
            nak: false,
            status_infos: vec![StatusInfo::new(
                attrib_id,
                Status::ATTRIB_NOT_SUPPORTED_IN_MSG,
            )],
            error: ParseError::malformed(
                message_type.name().unwrap_or("SSTP control message"),
                reason,
            ),
        }
    }

    /// The message type, if the packet got far enough to have one.
    #[cfg(test)]
    pub(crate) fn message_type(&self) -> Option<MessageType> {
        self.message_type
    }

    /// The Status of the (first) problem.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn status(&self) -> Status {
        self.status_info().status
    }

    /// The AttribID of the (first) problem: the attribute concerned.
    #[cfg(test)]
    pub(crate) fn attrib_id(&self) -> AttributeId {
        self.status_info().attrib_id
    }

    /// The Status Info for a Call Abort: the first problem.
    pub(crate) fn status_info(&self) -> StatusInfo {
        self.status_infos
            .first()
            .copied()
            .unwrap_or(StatusInfo::new(
                AttributeId::STATUS_INFO,
                Status::INVALID_FRAME_RECEIVED,
            ))
    }

    /// Every problem found, as many as fit in one Call Connect NAK: what the
    /// NAK of 3.3.5.2.2 carries. One entry unless
    /// `MessageError::calls_for_nak`.
    pub(crate) fn status_infos(&self) -> &[StatusInfo] {
        &self.status_infos
    }

    /// Whether this is a Call Connect Request the server should answer with a
    /// Call Connect NAK (3.3.5.2.2) rather than an Abort.
    pub(crate) fn calls_for_nak(&self) -> bool {
        self.nak
    }

    /// The underlying description of what was wrong.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn parse_error(&self) -> &ParseError {
        &self.error
    }
}

impl From<ParseError> for MessageError {
    /// A control packet that does not parse as structure: an invalid frame
    /// (2.2.8 `ATTRIB_STATUS_INVALID_FRAME_RECEIVED`, AttribID STATUS_INFO
    /// because no one attribute is at fault).
    fn from(error: ParseError) -> Self {
        Self {
            message_type: None,
            nak: false,
            status_infos: vec![StatusInfo::new(
                AttributeId::STATUS_INFO,
                Status::INVALID_FRAME_RECEIVED,
            )],
            error,
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.status_info();
        write!(
            f,
            "{} (answer {} for {})",
            self.error, info.status, info.attrib_id
        )
    }
}

impl std::error::Error for MessageError {}
