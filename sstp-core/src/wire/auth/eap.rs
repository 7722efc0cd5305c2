//! EAP packets (RFC 3748 §4–§5), PPP protocol 0xC227: Request/Response with
//! the Identity, Notification, Nak and MD5-Challenge types, Success and
//! Failure, and the EAP-MSCHAPv2 type data
//! (draft-kamath-pppext-eap-mschapv2-00 §2).

use super::*;

/// An EAP packet (RFC 3748 §4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EapPacket {
    /// Request (RFC 3748 §4.1): Type and Type-Data.
    Request { identifier: u8, data: EapData },
    /// Response (RFC 3748 §4.1): Type and Type-Data.
    Response { identifier: u8, data: EapData },
    /// Success (RFC 3748 §4.2): Length exactly 4.
    Success { identifier: u8 },
    /// Failure (RFC 3748 §4.2): Length exactly 4.
    Failure { identifier: u8 },
    /// Any other Code (e.g. RFC 6696 Initiate/Finish), bytes after the
    /// header kept raw. Parsing never yields Codes 1–4 here.
    Unknown {
        code: EapCode,
        identifier: u8,
        data: Vec<u8>,
    },
}

impl EapPacket {
    const WHAT: &'static str = "EAP packet";

    /// Parses one EAP packet (bytes past its Length are padding).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (code, identifier, body) = split_header(Self::WHAT, bytes)?;
        let code = EapCode(code);
        match code {
            EapCode::SUCCESS | EapCode::FAILURE => {
                if !body.is_empty() {
                    return Err(ParseError::BadLength {
                        what: Self::WHAT,
                        length: HEADER_LEN + body.len(),
                    });
                }
                Ok(if code == EapCode::SUCCESS {
                    Self::Success { identifier }
                } else {
                    Self::Failure { identifier }
                })
            }
            EapCode::REQUEST | EapCode::RESPONSE => {
                let is_request = code == EapCode::REQUEST;
                let data = EapData::parse(is_request, body)?;
                Ok(if is_request {
                    Self::Request { identifier, data }
                } else {
                    Self::Response { identifier, data }
                })
            }
            _ => Ok(Self::Unknown {
                code,
                identifier,
                data: body.to_vec(),
            }),
        }
    }

    /// The Code of this packet.
    pub(crate) const fn code(&self) -> EapCode {
        match self {
            Self::Request { .. } => EapCode::REQUEST,
            Self::Response { .. } => EapCode::RESPONSE,
            Self::Success { .. } => EapCode::SUCCESS,
            Self::Failure { .. } => EapCode::FAILURE,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub(crate) const fn identifier(&self) -> u8 {
        match self {
            Self::Request { identifier, .. }
            | Self::Response { identifier, .. }
            | Self::Success { identifier }
            | Self::Failure { identifier }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, self.code().0, self.identifier(), self.body_len());
        match self {
            Self::Request { data, .. } | Self::Response { data, .. } => data.emit(out),
            Self::Success { .. } | Self::Failure { .. } => {}
            Self::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Length of the wire form.
    pub(crate) fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        match self {
            Self::Request { data, .. } | Self::Response { data, .. } => data.buffer_len(),
            Self::Success { .. } | Self::Failure { .. } => 0,
            Self::Unknown { data, .. } => data.len(),
        }
    }
}

/// The Type and Type-Data of an EAP Request or Response (RFC 3748 §5).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EapData {
    /// Type 1 (§5.1): the identity, raw bytes (meant to be UTF-8, not checked).
    Identity(Vec<u8>),
    /// Type 2 (§5.2): displayable text, raw bytes.
    Notification(Vec<u8>),
    /// Type 3 (§5.3.1, Response only): the authentication Types the peer
    /// wants instead (0 = none).
    Nak(Vec<EapType>),
    /// Type 4 (§5.4): Value-Size, Value, Name, as in CHAP.
    Md5Challenge {
        /// 1..=255 bytes (16 in a Response).
        value: Vec<u8>,
        name: Vec<u8>,
    },
    /// Type 13: EAP-TLS (RFC 5216 §3.1, §3.2).
    Tls(EapTls),
    /// Type 26: EAP-MSCHAPv2.
    MsChapV2(EapMsChapV2),
    /// Any other Type, including 254 Expanded (§5.7), with its Type-Data
    /// kept raw. Parsing never yields Types 1–4, 13 or 26 here.
    Other { eap_type: EapType, data: Vec<u8> },
}

impl EapData {
    /// Parses Type + Type-Data; EAP-MSCHAPv2 needs the direction.
    fn parse(is_request: bool, body: &[u8]) -> Result<Self, ParseError> {
        let (&eap_type, data) = body.split_first().ok_or(ParseError::truncated(
            EapPacket::WHAT,
            HEADER_LEN + 1,
            HEADER_LEN,
        ))?;
        let eap_type = EapType(eap_type);
        Ok(match eap_type {
            EapType::IDENTITY => Self::Identity(data.to_vec()),
            EapType::NOTIFICATION => Self::Notification(data.to_vec()),
            EapType::NAK => Self::Nak(data.iter().copied().map(EapType).collect()),
            EapType::MD5_CHALLENGE => {
                let (name, value) = value_and_name("EAP MD5-Challenge Value", data)?;
                Self::Md5Challenge {
                    value: value.to_vec(),
                    name: name.to_vec(),
                }
            }
            EapType::TLS => Self::Tls(EapTls::parse(data)?),
            EapType::MSCHAPV2 => Self::MsChapV2(if is_request {
                EapMsChapV2::parse_request(data)?
            } else {
                EapMsChapV2::parse_response(data)?
            }),
            _ => Self::Other {
                eap_type,
                data: data.to_vec(),
            },
        })
    }

    /// The EAP Type.
    pub(crate) const fn eap_type(&self) -> EapType {
        match self {
            Self::Identity(_) => EapType::IDENTITY,
            Self::Notification(_) => EapType::NOTIFICATION,
            Self::Nak(_) => EapType::NAK,
            Self::Md5Challenge { .. } => EapType::MD5_CHALLENGE,
            Self::Tls(_) => EapType::TLS,
            Self::MsChapV2(_) => EapType::MSCHAPV2,
            Self::Other { eap_type, .. } => *eap_type,
        }
    }

    /// Appends Type and Type-Data.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.eap_type().0);
        match self {
            Self::Identity(data) | Self::Notification(data) | Self::Other { data, .. } => {
                out.extend_from_slice(data);
            }
            Self::Nak(types) => out.extend(types.iter().map(|t| t.0)),
            Self::Md5Challenge { value, name } => {
                push_u8_prefixed(out, value);
                out.extend_from_slice(name);
            }
            Self::Tls(t) => t.emit(out),
            Self::MsChapV2(m) => m.emit(out),
        }
    }

    /// Length of Type and Type-Data.
    pub(crate) fn buffer_len(&self) -> usize {
        1 + match self {
            Self::Identity(data) | Self::Notification(data) | Self::Other { data, .. } => {
                data.len()
            }
            Self::Nak(types) => types.len(),
            Self::Md5Challenge { value, name } => u8_prefixed_len(value) + name.len(),
            Self::Tls(t) => t.buffer_len(),
            Self::MsChapV2(m) => m.buffer_len(),
        }
    }
}

/// EAP-MSCHAPv2 Type-Data (draft-kamath-pppext-eap-mschapv2-00 §2): OpCode,
/// then for most OpCodes MS-CHAPv2-ID, MS-Length and data.
///
/// # MS-Length tolerance
///
/// MS-Length should equal the EAP Length − 5 (OpCode to the end). Here the
/// EAP Length decides where the data ends, and an MS-Length that disagrees is
/// accepted and kept in `ms_length_mismatch` (so the packet round-trips
/// byte for byte and the engine can log it). This follows what deployed
/// stacks do: hostapd's server never reads MS-Length
/// (`src/eap_server/eap_server_mschapv2.c`), and wpa_supplicant checks it but
/// by default ignores a mismatch because "some authentication servers use
/// invalid ms_len" (`eap_mschapv2_check_mslen`, `eap_workaround`); FreeRADIUS
/// takes the Name length from MS-Length within loose bounds. Parsing only
/// sets `ms_length_mismatch` to `Some` when the value differs; emitting
/// writes the consistent value when it is `None`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EapMsChapV2 {
    /// Request, OpCode 1 (§2.1): Value-Size 16, Challenge, Name.
    Challenge {
        ms_chapv2_id: u8,
        challenge: MsChapV2Challenge,
        name: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 2 (§2.2): Value-Size 49, Response, Name.
    Response {
        ms_chapv2_id: u8,
        response: MsChapV2Response,
        name: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Request, OpCode 3 (§2.3): the success message, raw (read it with
    /// [`MsChapV2Success::parse`]).
    SuccessRequest {
        ms_chapv2_id: u8,
        message: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 3 (§2.4): the OpCode alone. Bytes after it, which
    /// the draft does not define, are kept in `extra` (hostapd ignores
    /// them too).
    SuccessResponse { extra: Vec<u8> },
    /// Request, OpCode 4 (§2.5): the failure message, raw (read it with
    /// [`MsChapV2Failure::parse`]).
    FailureRequest {
        ms_chapv2_id: u8,
        message: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 4 (§2.6): the OpCode alone, `extra` as for
    /// [`Self::SuccessResponse`].
    FailureResponse { extra: Vec<u8> },
    /// Response, OpCode 7 (§2.7): Change-Password data, raw (encrypted
    /// password and hash, peer challenge, NT-Response, flags).
    ChangePassword {
        ms_chapv2_id: u8,
        data: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// An OpCode not defined for this direction, with everything after the
    /// OpCode kept raw.
    Other {
        op_code: MsChapV2OpCode,
        data: Vec<u8>,
    },
}

impl EapMsChapV2 {
    const WHAT: &'static str = "EAP-MSCHAPv2 data";
    /// OpCode, MS-CHAPv2-ID, MS-Length.
    const MS_HEADER_LEN: usize = 4;

    /// Parses the Type-Data of an EAP Request of Type 26 (from the OpCode).
    pub(crate) fn parse_request(data: &[u8]) -> Result<Self, ParseError> {
        let (&op, rest) = data
            .split_first()
            .ok_or(ParseError::truncated(Self::WHAT, 1, 0))?;
        let op_code = MsChapV2OpCode(op);
        Ok(match op_code {
            MsChapV2OpCode::CHALLENGE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                let (name, value) = value_and_name("EAP-MSCHAPv2 Challenge", body)?;
                check_value_size(
                    "EAP-MSCHAPv2 Challenge Value-Size",
                    value,
                    MsChapV2Challenge::LEN,
                )?;
                Self::Challenge {
                    ms_chapv2_id,
                    challenge: MsChapV2Challenge::parse(value)?,
                    name: name.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::SUCCESS => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::SuccessRequest {
                    ms_chapv2_id,
                    message: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::FAILURE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::FailureRequest {
                    ms_chapv2_id,
                    message: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            _ => Self::Other {
                op_code,
                data: rest.to_vec(),
            },
        })
    }

    /// Parses the Type-Data of an EAP Response of Type 26 (from the OpCode).
    pub(crate) fn parse_response(data: &[u8]) -> Result<Self, ParseError> {
        let (&op, rest) = data
            .split_first()
            .ok_or(ParseError::truncated(Self::WHAT, 1, 0))?;
        let op_code = MsChapV2OpCode(op);
        Ok(match op_code {
            MsChapV2OpCode::RESPONSE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                let (name, value) = value_and_name("EAP-MSCHAPv2 Response", body)?;
                check_value_size(
                    "EAP-MSCHAPv2 Response Value-Size",
                    value,
                    MsChapV2Response::LEN,
                )?;
                Self::Response {
                    ms_chapv2_id,
                    response: MsChapV2Response::parse(value)?,
                    name: name.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::SUCCESS => Self::SuccessResponse {
                extra: rest.to_vec(),
            },
            MsChapV2OpCode::FAILURE => Self::FailureResponse {
                extra: rest.to_vec(),
            },
            MsChapV2OpCode::CHANGE_PASSWORD => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::ChangePassword {
                    ms_chapv2_id,
                    data: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            _ => Self::Other {
                op_code,
                data: rest.to_vec(),
            },
        })
    }

    /// The OpCode.
    pub(crate) const fn op_code(&self) -> MsChapV2OpCode {
        match self {
            Self::Challenge { .. } => MsChapV2OpCode::CHALLENGE,
            Self::Response { .. } => MsChapV2OpCode::RESPONSE,
            Self::SuccessRequest { .. } | Self::SuccessResponse { .. } => MsChapV2OpCode::SUCCESS,
            Self::FailureRequest { .. } | Self::FailureResponse { .. } => MsChapV2OpCode::FAILURE,
            Self::ChangePassword { .. } => MsChapV2OpCode::CHANGE_PASSWORD,
            Self::Other { op_code, .. } => *op_code,
        }
    }

    /// The MS-CHAPv2-ID, for the OpCodes that carry one.
    #[cfg(test)]
    pub(crate) const fn ms_chapv2_id(&self) -> Option<u8> {
        match self {
            Self::Challenge { ms_chapv2_id, .. }
            | Self::Response { ms_chapv2_id, .. }
            | Self::SuccessRequest { ms_chapv2_id, .. }
            | Self::FailureRequest { ms_chapv2_id, .. }
            | Self::ChangePassword { ms_chapv2_id, .. } => Some(*ms_chapv2_id),
            Self::SuccessResponse { .. } | Self::FailureResponse { .. } | Self::Other { .. } => {
                None
            }
        }
    }

    /// Appends the Type-Data (from the OpCode).
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.op_code().0);
        let len = self.buffer_len();
        let header = |out: &mut Vec<u8>, id: u8, mismatch: &Option<u16>| {
            out.push(id);
            let ms_length = mismatch.unwrap_or_else(|| saturating_u16(len));
            out.extend_from_slice(&ms_length.to_be_bytes());
        };
        match self {
            Self::Challenge {
                ms_chapv2_id,
                challenge,
                name,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.push(MsChapV2Challenge::LEN as u8);
                challenge.emit(out);
                out.extend_from_slice(name);
            }
            Self::Response {
                ms_chapv2_id,
                response,
                name,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.push(MsChapV2Response::LEN as u8);
                response.emit(out);
                out.extend_from_slice(name);
            }
            Self::SuccessRequest {
                ms_chapv2_id,
                message: data,
                ms_length_mismatch,
            }
            | Self::FailureRequest {
                ms_chapv2_id,
                message: data,
                ms_length_mismatch,
            }
            | Self::ChangePassword {
                ms_chapv2_id,
                data,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.extend_from_slice(data);
            }
            Self::SuccessResponse { extra: data }
            | Self::FailureResponse { extra: data }
            | Self::Other { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Length of the Type-Data (from the OpCode); MS-Length when consistent.
    pub(crate) fn buffer_len(&self) -> usize {
        1 + match self {
            Self::Challenge { name, .. } => 3 + 1 + MsChapV2Challenge::LEN + name.len(),
            Self::Response { name, .. } => 3 + 1 + MsChapV2Response::LEN + name.len(),
            Self::SuccessRequest { message: data, .. }
            | Self::FailureRequest { message: data, .. }
            | Self::ChangePassword { data, .. } => 3 + data.len(),
            Self::SuccessResponse { extra: data }
            | Self::FailureResponse { extra: data }
            | Self::Other { data, .. } => data.len(),
        }
    }
}

/// Splits OpCode, MS-CHAPv2-ID and MS-Length off `data` (which starts at
/// the OpCode). Returns the ID, the MS-Length if it disagrees with
/// `data.len()`, and the bytes after the header.
fn ms_header(data: &[u8]) -> Result<(u8, Option<u16>, &[u8]), ParseError> {
    let (body, (_, ms_chapv2_id, ms_length)) = u8_u8_be16(data).map_err(nom_truncated(
        EapMsChapV2::WHAT,
        EapMsChapV2::MS_HEADER_LEN,
        data.len(),
    ))?;
    let mismatch = (usize::from(ms_length) != data.len()).then_some(ms_length);
    Ok((ms_chapv2_id, mismatch, body))
}

fn check_value_size(what: &'static str, value: &[u8], expected: usize) -> Result<(), ParseError> {
    if value.len() == expected {
        Ok(())
    } else {
        Err(ParseError::InvalidValue {
            what,
            value: u32::try_from(value.len()).unwrap_or(u32::MAX),
        })
    }
}
