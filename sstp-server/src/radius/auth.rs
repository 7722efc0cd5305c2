//! The RADIUS authentication backend: each round of a session's
//! authentication becomes one Access-Request (RFC 2865 §4.1), and the
//! answer a decision.
//!
//! | method | Access-Request carries | Access-Accept gives |
//! |---|---|---|
//! | PAP | User-Password (RFC 2865 §5.2) | — |
//! | CHAP-MD5 | CHAP-Password, CHAP-Challenge (§5.3, §5.40) | — |
//! | MS-CHAPv2 | MS-CHAP-Challenge, MS-CHAP2-Response (RFC 2548 §2.3.2) | MS-CHAP2-Success (`S=`), MS-MPPE-Send/Recv-Key (§2.4.2, §2.4.3) |
//! | relayed EAP | EAP-Message, State (RFC 3579 §3.1) | MS-MPPE-Recv-Key ‖ Send-Key = the MSK (RFC 5216 §2.3) |
//!
//! MS-CHAPv2's keys make the HLAK as a local check's would (MS-SSTP
//! §3.2.5.2.2), so the crypto binding holds end to end; for relayed EAP
//! the MSK's first 32 bytes do.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use sstp_core::{
    Accept, AuthData, AuthRequest, AuthVerdict, AuthenticatorResponse, KeyMaterial, MppeKeys,
    MsChapV2Failure, Msk,
};
use sstp_radius::{Attribute, Code, RadiusClient, Reply, Request, Service, attr, ms};
use tracing::{debug, warn};

use crate::auth::{AuthBackend, AuthContext, AuthConversation, AuthDecision, Round};

/// Service-Type Framed (RFC 2865 §5.6).
const SERVICE_TYPE_FRAMED: u32 = 2;
/// Framed-Protocol PPP (RFC 2865 §5.7).
const FRAMED_PROTOCOL_PPP: u32 = 1;
/// NAS-Port-Type Virtual (RFC 2865 §5.41): a VPN connection.
const NAS_PORT_TYPE_VIRTUAL: u32 = 5;
/// Tunnel-Medium-Type IPv4 (RFC 2868 §3.2).
const TUNNEL_MEDIUM_IPV4: u32 = 1;

/// Who this server is to its RADIUS servers (RFC 2865 §5.4, §5.30,
/// §5.32; RFC 3162 §2.1).
#[derive(Debug, Clone)]
pub(crate) struct Nas {
    pub(crate) identifier: String,
    pub(crate) ip: Option<Ipv4Addr>,
    pub(crate) ipv6: Option<Ipv6Addr>,
    pub(crate) called_station_id: String,
    /// Tunnel-Type (RFC 2868 §3.1) sent for SSTP sessions.
    pub(crate) tunnel_type: u32,
}

impl Nas {
    /// The attributes every request about `context`'s session carries.
    pub(crate) fn session_attributes(&self, context: &AuthContext) -> Vec<Attribute> {
        let mut attributes = vec![
            Attribute::new(attr::NAS_IDENTIFIER, self.identifier.as_bytes()),
            Attribute::from_u32(attr::NAS_PORT, context.nas_port),
            Attribute::from_u32(attr::NAS_PORT_TYPE, NAS_PORT_TYPE_VIRTUAL),
            Attribute::from_u32(attr::SERVICE_TYPE, SERVICE_TYPE_FRAMED),
            Attribute::from_u32(attr::FRAMED_PROTOCOL, FRAMED_PROTOCOL_PPP),
            // Tagged, tag 0 (RFC 2868 §3.1, §3.2).
            Attribute::new(attr::TUNNEL_TYPE, tagged(self.tunnel_type)),
            Attribute::new(attr::TUNNEL_MEDIUM_TYPE, tagged(TUNNEL_MEDIUM_IPV4)),
            Attribute::new(
                attr::CALLING_STATION_ID,
                calling_station(context.peer.ip()).into_bytes(),
            ),
            Attribute::new(attr::CALLED_STATION_ID, self.called_station_id.as_bytes()),
            Attribute::new(attr::ACCT_SESSION_ID, context.session_id.as_bytes()),
        ];
        if let Some(ip) = self.ip {
            attributes.push(Attribute::from_ipv4(attr::NAS_IP_ADDRESS, ip));
        }
        if let Some(ip) = self.ipv6 {
            attributes.push(Attribute::from_ipv6(attr::NAS_IPV6_ADDRESS, ip));
        }
        attributes
    }
}

/// A tagged 3-octet integer value (RFC 2868 §3.1: Tag, then Value).
fn tagged(value: u32) -> [u8; 4] {
    let [_, a, b, c] = value.to_be_bytes();
    [0, a, b, c]
}

/// The client's address as Calling-Station-Id: the address alone, as
/// Windows RRAS sends it for VPN connections.
fn calling_station(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Authentication through RADIUS servers, and the client accounting
/// shares ([`Server::with_radius`](crate::Server::with_radius)).
#[derive(Debug)]
pub struct RadiusBackend {
    /// Swapped when a reload changes the servers; conversations under way
    /// finish on the client they began with.
    client: super::SharedClient,
    nas: Arc<Nas>,
    eap: bool,
    attachments: super::Attachments,
}

impl RadiusBackend {
    pub(crate) fn new(
        client: RadiusClient,
        nas: Arc<Nas>,
        eap: bool,
        attachments: super::Attachments,
    ) -> Self {
        Self {
            client: Arc::new(arc_swap::ArcSwap::from_pointee(client)),
            nas,
            eap,
            attachments,
        }
    }

    pub(crate) const fn client(&self) -> &super::SharedClient {
        &self.client
    }

    pub(crate) const fn nas(&self) -> &Arc<Nas> {
        &self.nas
    }

    pub(crate) const fn attachments(&self) -> &super::Attachments {
        &self.attachments
    }

    /// Each server's health (for `sstp-server status`).
    pub(crate) fn server_states(&self) -> Vec<sstp_radius::ServerState> {
        self.client.load().server_states()
    }

    /// Whether every RADIUS server is skipped as dead (for `/healthz`).
    pub fn all_servers_down(&self) -> bool {
        self.client.load().server_states().iter().all(|s| !s.alive)
    }
}

impl AuthBackend for RadiusBackend {
    fn begin(&self, context: &AuthContext) -> Box<dyn AuthConversation> {
        Box::new(RadiusConversation {
            client: RadiusClient::clone(&self.client.load()),
            nas: Arc::clone(&self.nas),
            context: context.clone(),
            state: None,
        })
    }

    fn relays_eap(&self) -> bool {
        self.eap
    }
}

#[derive(Debug)]
struct RadiusConversation {
    client: RadiusClient,
    nas: Arc<Nas>,
    context: AuthContext,
    /// The State of the last Access-Challenge, returned unchanged in the
    /// next Access-Request (RFC 2865 §5.24).
    state: Option<Vec<u8>>,
}

impl AuthConversation for RadiusConversation {
    fn answer(mut self: Box<Self>, request: AuthRequest) -> Round {
        Box::pin(async move {
            let decision = self.ask(&request).await;
            (decision, self as Box<dyn AuthConversation>)
        })
    }
}

impl RadiusConversation {
    async fn ask(&mut self, request: &AuthRequest) -> AuthDecision {
        let mut radius = Request::access_request().attribute(attr::USER_NAME, request.user_name());
        for attribute in self.nas.session_attributes(&self.context) {
            radius.push(attribute);
        }
        let mschap = match request.data() {
            AuthData::Pap { password } => {
                radius = radius.user_password(password.as_bytes());
                None
            }
            AuthData::ChapMd5 {
                identifier,
                challenge,
                response,
            } => {
                radius = radius.chap_password(*identifier, response, challenge);
                None
            }
            AuthData::MsChapV2 {
                identifier,
                authenticator_challenge,
                peer_challenge,
                nt_response,
                flags,
            } => {
                let response = ms::MsChap2Response {
                    ident: *identifier,
                    flags: *flags,
                    peer_challenge: *peer_challenge,
                    nt_response: *nt_response,
                };
                radius = radius
                    .with(Attribute::vendor(
                        ms::VENDOR_ID,
                        ms::CHAP_CHALLENGE,
                        authenticator_challenge,
                    ))
                    .with(Attribute::vendor(
                        ms::VENDOR_ID,
                        ms::CHAP2_RESPONSE,
                        &response.to_bytes(),
                    ));
                Some(*identifier)
            }
            AuthData::Eap { message, .. } => {
                radius = radius.eap_message(message);
                if let Some(state) = &self.state {
                    radius = radius.attribute(attr::STATE, state.clone());
                }
                None
            }
            AuthData::EapTls { .. } => {
                // This server ran EAP-TLS itself (radius.eap = false): there
                // is nothing a RADIUS server could check.
                return AuthDecision::pass(
                    "a certificate checked here cannot be asked of a RADIUS server (set radius.eap = true to relay EAP-TLS to it)",
                );
            }
            _ => return AuthDecision::pass("RADIUS does not carry this method"),
        };
        let reply = match self.client.send(Service::Auth, radius).await {
            Ok(reply) => reply,
            Err(error) => {
                warn!(
                    user = request.user_name_lossy(),
                    %error,
                    "RADIUS authentication failed"
                );
                return AuthDecision::pass(format!("no RADIUS server answered: {error}"));
            }
        };
        let relayed = matches!(request.data(), AuthData::Eap { .. });
        match reply.packet.code {
            Code::AccessChallenge if relayed => {
                self.state = reply.packet.get(attr::STATE).map(|a| a.value.clone());
                match reply.eap_message() {
                    Some(message) => AuthDecision::new(AuthVerdict::Continue(message)),
                    None => AuthDecision::new(AuthVerdict::reject(format!(
                        "RADIUS server {} sent an Access-Challenge without an EAP-Message",
                        reply.server
                    ))),
                }
            }
            Code::AccessChallenge => AuthDecision::new(AuthVerdict::reject(format!(
                "RADIUS server {} sent an Access-Challenge, which {} cannot carry",
                reply.server,
                request.method()
            ))),
            Code::AccessAccept => accept(&reply, request, mschap),
            _ => reject(&reply, request),
        }
    }
}

/// An Access-Accept: the method's proof and keys, then what the reply
/// decides about the session.
fn accept(reply: &Reply, request: &AuthRequest, mschap: Option<u8>) -> AuthDecision {
    let packet = &reply.packet;
    let mut accept = Accept::new();
    match request.data() {
        AuthData::MsChapV2 { .. } => {
            let success = packet
                .vendor_attribute(ms::VENDOR_ID, ms::CHAP2_SUCCESS)
                .map(ms::MsChap2Success::parse);
            let Some(Ok(success)) = success else {
                return AuthDecision::new(AuthVerdict::reject(format!(
                    "RADIUS server {} accepted MS-CHAPv2 without a valid MS-CHAP2-Success, so the server cannot prove itself to the client",
                    reply.server
                )));
            };
            if mschap.is_some_and(|ident| ident != success.ident) {
                debug!("MS-CHAP2-Success Ident differs from the response's");
            }
            accept = accept.with_authenticator_response(AuthenticatorResponse::from_bytes(
                success.authenticator_response,
            ));
            match mppe_keys(reply) {
                Ok(Some((send, recv))) => match (
                    <[u8; 16]>::try_from(&send[..]),
                    <[u8; 16]>::try_from(&recv[..]),
                ) {
                    (Ok(send), Ok(recv)) => {
                        accept = accept
                            .with_keys(KeyMaterial::Mppe(MppeKeys::from_server_keys(send, recv)));
                    }
                    _ => {
                        warn!(server = %reply.server, "MS-MPPE keys are not 16 bytes for MS-CHAPv2; binding with the zero HLAK")
                    }
                },
                Ok(None) => warn!(
                    server = %reply.server,
                    "the RADIUS server sent no MS-MPPE keys for MS-CHAPv2: the crypto binding cannot hold against a client that derived them"
                ),
                Err(e) => return AuthDecision::new(AuthVerdict::reject(e)),
            }
        }
        AuthData::Eap { .. } => match mppe_keys(reply) {
            Ok(Some((send, recv))) => {
                accept = accept.with_keys(KeyMaterial::Msk(msk_of(&recv, &send)));
            }
            Ok(None) => warn!(
                server = %reply.server,
                "the RADIUS server accepted EAP without MS-MPPE keys: the crypto binding cannot hold against a client that derived them"
            ),
            Err(e) => return AuthDecision::new(AuthVerdict::reject(e)),
        },
        _ => {}
    }
    if let Some(name) = packet
        .get(attr::USER_NAME)
        .and_then(|a| a.as_text().ok())
        .filter(|n| !n.is_empty())
    {
        accept = accept.with_user_name(name);
    }
    if let Some(text) = packet
        .get(attr::REPLY_MESSAGE)
        .and_then(|a| a.as_text().ok())
    {
        accept = accept.with_message(text);
    }
    let mut decision = AuthDecision::new(AuthVerdict::Accept(accept));
    decision.remote = true;
    apply_reply(reply, &mut decision);
    decision
}

/// The MSK of a RADIUS EAP accept: MS-MPPE-Recv-Key ‖ MS-MPPE-Send-Key,
/// zero-padded to 64 octets (RFC 5216 §2.3 gives 32 each, the MSK's two
/// halves; EAP-MSCHAPv2 gives 16 each, [MS-CHAP]'s MasterReceiveKey ‖
/// MasterSendKey ‖ 32 zeros). The HLAK is its first 32 octets either way.
fn msk_of(recv: &[u8], send: &[u8]) -> Msk {
    let mut msk = zeroize::Zeroizing::new([0u8; 64]);
    for (slot, byte) in msk.iter_mut().zip(recv.iter().chain(send)) {
        *slot = *byte;
    }
    Msk::from_bytes(*msk)
}

/// One decrypted MS-MPPE key.
type Key = zeroize::Zeroizing<Vec<u8>>;

/// MS-MPPE-Send-Key and MS-MPPE-Recv-Key, decrypted (RFC 2548 §2.4.2,
/// §2.4.3).
fn mppe_keys(reply: &Reply) -> Result<Option<(Key, Key)>, String> {
    let send = reply.mppe_send_key();
    let recv = reply.mppe_recv_key();
    match (send, recv) {
        (Ok(Some(send)), Ok(Some(recv))) => Ok(Some((send, recv))),
        (Ok(None), Ok(None)) => Ok(None),
        (Err(e), _) | (_, Err(e)) => Err(format!(
            "RADIUS server {} sent an MS-MPPE key that does not decrypt: {e}",
            reply.server
        )),
        _ => Err(format!(
            "RADIUS server {} sent only one of MS-MPPE-Send-Key and MS-MPPE-Recv-Key",
            reply.server
        )),
    }
}

/// An Access-Reject: the reason for the logs (Reply-Message, MS-CHAP-Error).
fn reject(reply: &Reply, request: &AuthRequest) -> AuthDecision {
    let packet = &reply.packet;
    let message = packet
        .get(attr::REPLY_MESSAGE)
        .and_then(|a| a.as_text().ok())
        .map(str::to_owned);
    let mschap_error = packet
        .vendor_attribute(ms::VENDOR_ID, ms::CHAP_ERROR)
        .and_then(|v| ms::MsChapError::parse(v).ok());
    let reason = match &message {
        Some(m) => format!(
            "RADIUS server {} rejected {}: {m}",
            reply.server,
            request.user_name_lossy()
        ),
        None => format!("RADIUS server {} rejected the credentials", reply.server),
    };
    let code = mschap_error.map_or(MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE, |e| e.error);
    AuthDecision::new(AuthVerdict::reject_with_code(reason, code))
}

/// Reads what an Access-Accept decides about the session; what this server
/// cannot honour is logged.
fn apply_reply(reply: &Reply, decision: &mut AuthDecision) {
    let packet = &reply.packet;
    let settings = &mut decision.settings;
    let mut ignored = Vec::new();
    for attribute in &packet.attributes {
        let value = &attribute.value;
        match attribute.ty {
            attr::FRAMED_IP_ADDRESS => match attribute.as_ipv4() {
                // 255.255.255.254: the NAS picks; 255.255.255.255: the user
                // may choose (RFC 2865 §5.8). Either way, the pool.
                Ok(ip) if ip == Ipv4Addr::new(255, 255, 255, 254) || ip == Ipv4Addr::BROADCAST => {}
                Ok(ip) => decision.ipv4 = Some(ip),
                Err(_) => ignored.push("Framed-IP-Address (malformed)".to_owned()),
            },
            attr::FRAMED_IPV6_PREFIX => match attribute.as_ipv6_prefix() {
                Ok((addr, 64)) => {
                    decision.ipv6_prefix = Ipv6Net::new(addr, 64).ok().map(|n| n.trunc());
                }
                Ok((addr, len)) => ignored.push(format!(
                    "Framed-IPv6-Prefix {addr}/{len} (sessions get a /64)"
                )),
                Err(_) => ignored.push("Framed-IPv6-Prefix (malformed)".to_owned()),
            },
            attr::FRAMED_POOL => match attribute.as_text() {
                Ok(name) => settings.pool = Some(name.to_owned()),
                Err(_) => ignored.push("Framed-Pool (not text)".to_owned()),
            },
            attr::FRAMED_ROUTE => match attribute.as_text().ok().and_then(framed_route) {
                Some(net) => settings.routes.push(net),
                None => ignored.push(format!(
                    "Framed-Route {:?} (not \"network/len [gateway [metric]]\")",
                    String::from_utf8_lossy(value)
                )),
            },
            attr::SESSION_TIMEOUT => match attribute.as_u32() {
                Ok(s) if s > 0 => {
                    settings.session_timeout = Some(Duration::from_secs(u64::from(s)))
                }
                _ => {}
            },
            attr::IDLE_TIMEOUT => match attribute.as_u32() {
                Ok(s) if s > 0 => settings.idle_timeout = Some(Duration::from_secs(u64::from(s))),
                _ => {}
            },
            attr::ACCT_INTERIM_INTERVAL => match attribute.as_u32() {
                // RFC 2869 §5.16: not below 60 s; our tests use less.
                Ok(s) if s > 0 => {
                    settings.interim_interval = Some(Duration::from_secs(u64::from(s)))
                }
                _ => {}
            },
            attr::CLASS => settings.class.push(value.clone()),
            attr::VENDOR_SPECIFIC => {
                for vsa in attribute.vsas().unwrap_or_default() {
                    match (vsa.vendor_id, vsa.vendor_type) {
                        (ms::VENDOR_ID, ms::PRIMARY_DNS_SERVER | ms::SECONDARY_DNS_SERVER) => {
                            match <[u8; 4]>::try_from(vsa.value) {
                                Ok(ip) => settings.dns.push(Ipv4Addr::from(ip)),
                                Err(_) => ignored.push("MS DNS server (malformed)".to_owned()),
                            }
                        }
                        // The method's own (read above), and MPPE policy,
                        // which SSTP has no use for (TLS encrypts).
                        (
                            ms::VENDOR_ID,
                            ms::CHAP2_SUCCESS
                            | ms::MPPE_SEND_KEY
                            | ms::MPPE_RECV_KEY
                            | ms::MPPE_ENCRYPTION_POLICY
                            | ms::MPPE_ENCRYPTION_TYPES,
                        ) => {}
                        (vendor, ty) => ignored.push(format!("vendor {vendor} attribute {ty}")),
                    }
                }
            }
            // The protocol's own.
            attr::MESSAGE_AUTHENTICATOR
            | attr::EAP_MESSAGE
            | attr::STATE
            | attr::PROXY_STATE
            | attr::USER_NAME
            | attr::REPLY_MESSAGE
            | attr::SERVICE_TYPE
            | attr::FRAMED_PROTOCOL => {}
            ty => ignored.push(format!("attribute {ty}")),
        }
    }
    // Primary first (RFC 2548 §2.7.5), whatever the order they came in.
    if !ignored.is_empty() {
        warn!(
            server = %reply.server,
            ignored = %ignored.join(", "),
            "the RADIUS server's reply has attributes this server does not honour"
        );
    }
}

/// A Framed-Route value (RFC 2865 §5.22): "network/len [gateway
/// [metrics]]", or "network mask ...".
fn framed_route(text: &str) -> Option<Ipv4Net> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if let Ok(net) = first.parse::<Ipv4Net>() {
        return Some(net.trunc());
    }
    let addr: Ipv4Addr = first.parse().ok()?;
    Ipv4Net::with_netmask(addr, words.next()?.parse().ok()?)
        .ok()
        .map(|n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_msk_is_recv_then_send_for_either_key_size() {
        let msk = msk_of(&[1; 16], &[2; 16]);
        assert_eq!(&msk.as_bytes()[..16], &[1; 16]);
        assert_eq!(&msk.as_bytes()[16..32], &[2; 16]);
        assert_eq!(&msk.as_bytes()[32..], &[0; 32]);
        let msk = msk_of(&[3; 32], &[4; 32]);
        assert_eq!(&msk.as_bytes()[..32], &[3; 32]);
        assert_eq!(&msk.as_bytes()[32..], &[4; 32]);
    }

    #[test]
    fn framed_routes_in_both_notations() {
        let net = |s: &str| s.parse::<Ipv4Net>().expect("net");
        assert_eq!(
            framed_route("10.78.0.0/24 0.0.0.0 1"),
            Some(net("10.78.0.0/24"))
        );
        assert_eq!(framed_route("10.78.0.9/24"), Some(net("10.78.0.0/24")));
        assert_eq!(
            framed_route("192.168.5.0 255.255.255.0 10.0.0.1 1"),
            Some(net("192.168.5.0/24"))
        );
        assert_eq!(framed_route(""), None);
        assert_eq!(framed_route("banana"), None);
        assert_eq!(framed_route("10.0.0.0 255.0.255.0"), None);
    }

    #[test]
    fn calling_station_is_the_plain_address_and_tunnel_values_are_tagged() {
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        let v6: IpAddr = "2001:db8::7".parse().expect("ip");
        assert_eq!(calling_station(v4), "192.0.2.7");
        assert_eq!(calling_station(mapped), "192.0.2.7");
        assert_eq!(calling_station(v6), "2001:db8::7");
        assert_eq!(tagged(25), [0, 0, 0, 25]);
        assert_eq!(tagged(0x0102_0304), [0, 2, 3, 4]);
    }
}
