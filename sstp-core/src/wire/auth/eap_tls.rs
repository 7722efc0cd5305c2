//! EAP-TLS Type-Data (RFC 5216 §3.1 Request, §3.2 Response; TLS 1.3 uses
//! the same framing, RFC 9190 §2): a Flags octet, a TLS Message Length when
//! the L flag is set, then TLS data (records, or a fragment of them).
//!
//! This module only frames one packet; putting fragments together and
//! cutting a TLS flight into fragments is the engine's job
//! (`ppp::auth::eap_tls`).

use super::*;

/// Flags bit L: the TLS Message Length field is present (RFC 5216 §3.1).
const FLAG_LENGTH: u8 = 0x80;
/// Flags bit M: more fragments follow (RFC 5216 §3.1).
const FLAG_MORE: u8 = 0x40;
/// Flags bit S: EAP-TLS Start, the server's first Request (RFC 5216 §3.1).
const FLAG_START: u8 = 0x20;
/// The five low bits are reserved: "set to zero on transmission and
/// ignored on reception" (RFC 5216 §3.1).
const FLAGS_RESERVED: u8 = 0x1f;

/// Length of the TLS Message Length field (RFC 5216 §3.1).
pub(crate) const MESSAGE_LENGTH_LEN: usize = 4;

/// The Type-Data of an EAP-TLS Request or Response (Type 13).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EapTls {
    /// S: the EAP-TLS Start Request (carries no TLS data).
    pub start: bool,
    /// M: more fragments of this TLS message follow.
    pub more_fragments: bool,
    /// L: the total length of the TLS message (all fragments), "the total
    /// length of the TLS message or set of messages that is being
    /// fragmented" (RFC 5216 §3.1).
    pub message_length: Option<u32>,
    /// The reserved flag bits as received: ignored, kept so a packet
    /// round-trips byte for byte; emitted as given (zero when built here).
    pub reserved_flags: u8,
    /// TLS data: records or a fragment of them. Empty in a Start, and in a
    /// fragment acknowledgement (RFC 5216 §2.1.5).
    pub data: Vec<u8>,
}

impl EapTls {
    const WHAT: &'static str = "EAP-TLS packet";

    /// An EAP-TLS Start: Flags with only S set, no data (RFC 5216 §3.1).
    pub(crate) fn start() -> Self {
        Self {
            start: true,
            ..Self::default()
        }
    }

    /// An empty packet: the fragment acknowledgement (RFC 5216 §2.1.5), or
    /// the peer's final empty Response after the server's last flight.
    pub(crate) fn ack() -> Self {
        Self::default()
    }

    /// A packet carrying TLS bytes with the given flags.
    pub(crate) fn fragment(
        data: Vec<u8>,
        more_fragments: bool,
        message_length: Option<u32>,
    ) -> Self {
        Self {
            more_fragments,
            message_length,
            data,
            ..Self::default()
        }
    }

    /// Parses the Type-Data (the bytes after the EAP Type octet).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (&flags, rest) = bytes
            .split_first()
            .ok_or(ParseError::truncated(Self::WHAT, 1, 0))?;
        let (message_length, data) = if flags & FLAG_LENGTH != 0 {
            let (field, data) =
                rest.split_first_chunk::<MESSAGE_LENGTH_LEN>()
                    .ok_or(ParseError::truncated(
                        Self::WHAT,
                        1 + MESSAGE_LENGTH_LEN,
                        bytes.len(),
                    ))?;
            (Some(u32::from_be_bytes(*field)), data)
        } else {
            (None, rest)
        };
        Ok(Self {
            start: flags & FLAG_START != 0,
            more_fragments: flags & FLAG_MORE != 0,
            message_length,
            reserved_flags: flags & FLAGS_RESERVED,
            data: data.to_vec(),
        })
    }

    /// The Flags octet.
    pub(crate) fn flags(&self) -> u8 {
        let mut flags = self.reserved_flags & FLAGS_RESERVED;
        if self.message_length.is_some() {
            flags |= FLAG_LENGTH;
        }
        if self.more_fragments {
            flags |= FLAG_MORE;
        }
        if self.start {
            flags |= FLAG_START;
        }
        flags
    }

    /// Appends the Type-Data.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.flags());
        if let Some(length) = self.message_length {
            out.extend_from_slice(&length.to_be_bytes());
        }
        out.extend_from_slice(&self.data);
    }

    /// Length of the Type-Data.
    pub(crate) fn buffer_len(&self) -> usize {
        1 + self.message_length.map_or(0, |_| MESSAGE_LENGTH_LEN) + self.data.len()
    }
}
