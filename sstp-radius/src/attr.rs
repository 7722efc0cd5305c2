//! Attribute types (the Type octet, RFC 2865 §5), one constant for each
//! attribute this crate or its users handle. Any other value is an
//! attribute all the same: [`Attribute`](crate::Attribute) keeps its type as
//! a plain `u8`, so unknown attributes survive a parse and an emit.
//!
//! Microsoft's vendor attributes (inside Vendor-Specific) are in
//! [`ms`](crate::ms).

// RFC 2865 §5.1 - §5.33.
/// User-Name (RFC 2865 §5.1): text.
pub const USER_NAME: u8 = 1;
/// User-Password (RFC 2865 §5.2): hidden with the secret and the Request
/// Authenticator; [`Request::user_password`](crate::Request::user_password)
/// takes the cleartext.
pub const USER_PASSWORD: u8 = 2;
/// CHAP-Password (RFC 2865 §5.3): the CHAP Ident, then the 16-byte response.
pub const CHAP_PASSWORD: u8 = 3;
/// NAS-IP-Address (RFC 2865 §5.4): IPv4 address.
pub const NAS_IP_ADDRESS: u8 = 4;
/// NAS-Port (RFC 2865 §5.5): integer.
pub const NAS_PORT: u8 = 5;
/// Service-Type (RFC 2865 §5.6): integer; 2 is Framed.
pub const SERVICE_TYPE: u8 = 6;
/// Framed-Protocol (RFC 2865 §5.7): integer; 1 is PPP.
pub const FRAMED_PROTOCOL: u8 = 7;
/// Framed-IP-Address (RFC 2865 §5.8): IPv4 address.
pub const FRAMED_IP_ADDRESS: u8 = 8;
/// Framed-IP-Netmask (RFC 2865 §5.9): IPv4 address.
pub const FRAMED_IP_NETMASK: u8 = 9;
/// Framed-Route (RFC 2865 §5.22): text.
pub const FRAMED_ROUTE: u8 = 22;
/// Reply-Message (RFC 2865 §5.18): text.
pub const REPLY_MESSAGE: u8 = 18;
/// State (RFC 2865 §5.24): opaque, echoed in the next Access-Request.
pub const STATE: u8 = 24;
/// Class (RFC 2865 §5.25): opaque, echoed in accounting.
pub const CLASS: u8 = 25;
/// Vendor-Specific (RFC 2865 §5.26): Vendor-Id, then the vendor's
/// sub-attributes ([`Vsa`](crate::Vsa)).
pub const VENDOR_SPECIFIC: u8 = 26;
/// Session-Timeout (RFC 2865 §5.27): integer, seconds.
pub const SESSION_TIMEOUT: u8 = 27;
/// Idle-Timeout (RFC 2865 §5.28): integer, seconds.
pub const IDLE_TIMEOUT: u8 = 28;
/// Called-Station-Id (RFC 2865 §5.30): text.
pub const CALLED_STATION_ID: u8 = 30;
/// Calling-Station-Id (RFC 2865 §5.31): text.
pub const CALLING_STATION_ID: u8 = 31;
/// NAS-Identifier (RFC 2865 §5.32): text.
pub const NAS_IDENTIFIER: u8 = 32;
/// Proxy-State (RFC 2865 §5.33): opaque; a server copies it into its
/// answer, in order ([`Response::encode`](crate::Response::encode) does).
pub const PROXY_STATE: u8 = 33;

// RFC 2866 §5 (and RFC 2869 §5.1 - §5.3 for the gigawords and the timestamp).
/// Acct-Status-Type (RFC 2866 §5.1): 1 Start, 2 Stop, 3 Interim-Update.
pub const ACCT_STATUS_TYPE: u8 = 40;
/// Acct-Delay-Time (RFC 2866 §5.2): seconds the client has been trying to
/// send this record; the client updates it on retransmission.
pub const ACCT_DELAY_TIME: u8 = 41;
/// Acct-Input-Octets (RFC 2866 §5.3).
pub const ACCT_INPUT_OCTETS: u8 = 42;
/// Acct-Output-Octets (RFC 2866 §5.4).
pub const ACCT_OUTPUT_OCTETS: u8 = 43;
/// Acct-Session-Id (RFC 2866 §5.5): text.
pub const ACCT_SESSION_ID: u8 = 44;
/// Acct-Authentic (RFC 2866 §5.6).
pub const ACCT_AUTHENTIC: u8 = 45;
/// Acct-Session-Time (RFC 2866 §5.7): seconds.
pub const ACCT_SESSION_TIME: u8 = 46;
/// Acct-Input-Packets (RFC 2866 §5.8).
pub const ACCT_INPUT_PACKETS: u8 = 47;
/// Acct-Output-Packets (RFC 2866 §5.9).
pub const ACCT_OUTPUT_PACKETS: u8 = 48;
/// Acct-Terminate-Cause (RFC 2866 §5.10).
pub const ACCT_TERMINATE_CAUSE: u8 = 49;
/// Acct-Multi-Session-Id (RFC 2866 §5.11).
pub const ACCT_MULTI_SESSION_ID: u8 = 50;
/// Acct-Link-Count (RFC 2866 §5.12).
pub const ACCT_LINK_COUNT: u8 = 51;
/// Acct-Input-Gigawords (RFC 2869 §5.1): how often Acct-Input-Octets wrapped.
pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
/// Acct-Output-Gigawords (RFC 2869 §5.2).
pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
/// Event-Timestamp (RFC 2869 §5.3): seconds since 1970-01-01 UTC; the
/// replay window of DAE requests (RFC 5176 §3.5) reads it.
pub const EVENT_TIMESTAMP: u8 = 55;

// RFC 2865 §5.40 - §5.41, RFC 2868, RFC 2869, RFC 3579.
/// CHAP-Challenge (RFC 2865 §5.40).
pub const CHAP_CHALLENGE: u8 = 60;
/// NAS-Port-Type (RFC 2865 §5.41): 5 is Virtual.
pub const NAS_PORT_TYPE: u8 = 61;
/// Tunnel-Type (RFC 2868 §3.1): a tag octet, then a 3-octet value (1 PPTP,
/// 3 L2TP).
pub const TUNNEL_TYPE: u8 = 64;
/// Tunnel-Medium-Type (RFC 2868 §3.2): a tag octet, then a 3-octet value
/// (1 IPv4, 2 IPv6).
pub const TUNNEL_MEDIUM_TYPE: u8 = 65;
/// EAP-Message (RFC 3579 §3.1): an EAP packet split over as many
/// attributes as it needs; [`Packet::eap_message`](crate::Packet::eap_message)
/// joins them.
pub const EAP_MESSAGE: u8 = 79;
/// Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 over the packet; the
/// encoders add it and [`verify_response`](crate::verify_response) checks it.
pub const MESSAGE_AUTHENTICATOR: u8 = 80;
/// Acct-Interim-Interval (RFC 2869 §5.16): seconds.
pub const ACCT_INTERIM_INTERVAL: u8 = 85;
/// NAS-Port-Id (RFC 2869 §5.17): text.
pub const NAS_PORT_ID: u8 = 87;
/// Framed-Pool (RFC 2869 §5.18): text.
pub const FRAMED_POOL: u8 = 88;

// RFC 3162, RFC 4818, RFC 5176, RFC 6911.
/// NAS-IPv6-Address (RFC 3162 §2.1): IPv6 address.
pub const NAS_IPV6_ADDRESS: u8 = 95;
/// Framed-IPv6-Prefix (RFC 3162 §2.3): reserved octet, prefix length, prefix.
pub const FRAMED_IPV6_PREFIX: u8 = 97;
/// Framed-IPv6-Pool (RFC 3162 §2.6): text.
pub const FRAMED_IPV6_POOL: u8 = 100;
/// Error-Cause (RFC 5176 §3.6): integer, an [`ErrorCause`](crate::ErrorCause).
pub const ERROR_CAUSE: u8 = 101;
/// Delegated-IPv6-Prefix (RFC 4818 §3): the Framed-IPv6-Prefix format.
pub const DELEGATED_IPV6_PREFIX: u8 = 123;
/// Framed-IPv6-Address (RFC 6911 §3.1): IPv6 address.
pub const FRAMED_IPV6_ADDRESS: u8 = 168;
