//! The IPCP option policy (RFC 1332, with the RFC 1877 name-server
//! options) for both ends of an SSTP tunnel.
//!
//! # Server
//!
//! Asks for IP-Address = its own address. Of the client's request it Acks
//! the IP-Address only when it equals the lease, and Naks anything else
//! (0.0.0.0, "please assign", or another address) with the lease; a request
//! without IP-Address gets the lease appended to a Nak (RFC 1332 3.3). DNS
//! and NBNS options (RFC 1877) are Nak'd with the configured server when
//! they differ, and rejected when none is configured for that slot.
//! IP-Compression-Protocol (Van Jacobson, RFC 1332 3.2; SoftEther rejects
//! it too) and anything unknown are rejected. A client that keeps asking
//! for another address is Nak'd until Max-Failure, then rejected (RFC 1661
//! 4.6).
//!
//! # Client
//!
//! Asks for IP-Address 0.0.0.0 (or a configured wish) and, when
//! [`IpcpClientConfig::request_dns`], Primary and Secondary DNS 0.0.0.0;
//! takes the values of a Nak, drops a rejected DNS option, and fails with
//! [`NegotiationFailure::NoAddressAssigned`] if the server rejects the
//! IP-Address or acknowledges 0.0.0.0. Of the server's request it Acks a
//! non-zero IP-Address; an IP-Address of 0.0.0.0 (a server that does not
//! know its own address) is rejected, because we have no address to
//! suggest for it: pppd does the same, and servers that know their address
//! (accel-ppp, SoftEther) are unaffected. Everything else is rejected.

use std::net::Ipv4Addr;

use super::Random;
#[cfg(test)]
use super::negotiator::Negotiator;
use super::negotiator::{NegotiationFailure, OptionVerdict, Policy, Role};
use crate::wire::cp::{ControlProtocol, OptionList, RawOption};
use crate::wire::options::{ConfigOption, IpcpOption};

/// IPCP driven by [`IpcpPolicy`].
#[cfg(test)]
pub(crate) type Ipcp = Negotiator<IpcpPolicy>;

/// The addresses a server hands to one session
/// (`ServerSession::assign_addresses`): its own tunnel address, the
/// client's, and the DNS and NBNS servers pushed through IPCP (RFC 1332,
/// RFC 1877). It is what the server side of IPCP negotiates.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressLease {
    /// The server's own tunnel address, sent in its IP-Address option.
    pub local: Ipv4Addr,
    /// The address leased to this client.
    pub peer: Ipv4Addr,
    /// Primary and secondary DNS servers to hand out (at most two used).
    pub dns: Vec<Ipv4Addr>,
    /// Primary and secondary NBNS (WINS) servers (at most two used).
    pub nbns: Vec<Ipv4Addr>,
}

impl AddressLease {
    /// Addresses only, no name servers.
    #[must_use]
    pub fn new(local: Ipv4Addr, peer: Ipv4Addr) -> Self {
        Self {
            local,
            peer,
            dns: Vec::new(),
            nbns: Vec::new(),
        }
    }

    /// Adds DNS servers to hand out.
    #[must_use]
    pub fn with_dns(mut self, dns: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.dns.extend(dns);
        self
    }
}

/// Client-side IPCP settings.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpcpClientConfig {
    /// The address to ask for; `None` asks the server to assign one
    /// (0.0.0.0, RFC 1332 3.3).
    pub address: Option<Ipv4Addr>,
    /// Ask for primary and secondary DNS servers (RFC 1877).
    pub request_dns: bool,
}

impl Default for IpcpClientConfig {
    fn default() -> Self {
        Self {
            address: None,
            request_dns: true,
        }
    }
}

/// Which end, with its settings.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpcpConfig {
    /// The SSTP server: assigns the client's address.
    Server(AddressLease),
    /// The SSTP client: takes an address from the server.
    Client(IpcpClientConfig),
}

/// What IPCP agreed on, for the TUN device and resolver.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Config {
    /// Our address on the tunnel.
    pub local: Ipv4Addr,
    /// The peer's address, if it told us one.
    pub peer: Option<Ipv4Addr>,
    /// DNS servers (client: given by the server; server: given to the
    /// client), primary first, at most two.
    pub dns: Vec<Ipv4Addr>,
    /// NBNS servers likewise.
    pub nbns: Vec<Ipv4Addr>,
}

/// The IPCP option policy; see the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct IpcpPolicy {
    config: IpcpConfig,
    /// The address in our IP-Address option (client: the current wish).
    address: Ipv4Addr,
    /// We still send IP-Address (a server stops when it is rejected).
    address_requested: bool,
    /// Client: primary and secondary DNS being asked for.
    dns_request: [Option<Ipv4Addr>; 2],
    /// Our request was Acked: our address and the DNS servers it carried.
    ours: Option<(Ipv4Addr, Vec<Ipv4Addr>)>,
    /// We Acked the peer's request.
    peer: Option<PeerIpcp>,
}

#[derive(Debug, Clone, Default)]
struct PeerIpcp {
    address: Option<Ipv4Addr>,
    dns: [Option<Ipv4Addr>; 2],
    nbns: [Option<Ipv4Addr>; 2],
}

impl IpcpPolicy {
    /// A policy for one end.
    #[must_use]
    pub(crate) fn new(config: IpcpConfig) -> Self {
        let mut policy = Self {
            config,
            address: Ipv4Addr::UNSPECIFIED,
            address_requested: true,
            dns_request: [None; 2],
            ours: None,
            peer: None,
        };
        policy.reset();
        policy
    }

    /// Which end this policy is for.
    #[must_use]
    pub(crate) fn role(&self) -> Role {
        match self.config {
            IpcpConfig::Server(_) => Role::Server,
            IpcpConfig::Client(_) => Role::Client,
        }
    }

    /// The agreed configuration, once both requests were acknowledged.
    #[must_use]
    pub(crate) fn negotiated(&self) -> Option<Ipv4Config> {
        let (local, dns) = self.ours.as_ref()?;
        let peer = self.peer.as_ref()?;
        Some(match &self.config {
            IpcpConfig::Server(server) => Ipv4Config {
                local: server.local,
                // The lease, even if the client never put it in a request:
                // it is what the server routes to this client.
                peer: Some(peer.address.unwrap_or(server.peer)),
                dns: peer.dns.iter().flatten().copied().collect(),
                nbns: peer.nbns.iter().flatten().copied().collect(),
            },
            IpcpConfig::Client(_) => Ipv4Config {
                local: *local,
                peer: peer.address,
                dns: dns.clone(),
                nbns: Vec::new(),
            },
        })
    }

    fn emit(option: &IpcpOption) -> Vec<u8> {
        let mut out = Vec::with_capacity(option.buffer_len());
        option.emit(&mut out);
        out
    }

    /// Server: judge a name-server option against the configured value.
    fn judge_server_slot(
        configured: Option<Ipv4Addr>,
        asked: Ipv4Addr,
        make: fn(Ipv4Addr) -> IpcpOption,
    ) -> OptionVerdict {
        match configured {
            Some(ours) if ours == asked => OptionVerdict::Ack,
            Some(ours) => OptionVerdict::Nak(Self::emit(&make(ours))),
            None => OptionVerdict::Reject,
        }
    }
}

impl Policy for IpcpPolicy {
    fn control_protocol(&self) -> ControlProtocol {
        ControlProtocol::Ipcp
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        if self.address_requested {
            IpcpOption::IpAddress(self.address).emit(out);
        }
        if let Some(dns) = self.dns_request[0] {
            IpcpOption::PrimaryDns(dns).emit(out);
        }
        if let Some(dns) = self.dns_request[1] {
            IpcpOption::SecondaryDns(dns).emit(out);
        }
    }

    fn judge(
        &mut self,
        option: RawOption<'_>,
        _rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure> {
        let option = IpcpOption::from_raw(option);
        Ok(match &self.config {
            IpcpConfig::Server(server) => match option {
                IpcpOption::IpAddress(asked) if asked == server.peer => OptionVerdict::Ack,
                IpcpOption::IpAddress(_) => {
                    OptionVerdict::Nak(Self::emit(&IpcpOption::IpAddress(server.peer)))
                }
                IpcpOption::PrimaryDns(asked) => Self::judge_server_slot(
                    server.dns.first().copied(),
                    asked,
                    IpcpOption::PrimaryDns,
                ),
                IpcpOption::SecondaryDns(asked) => Self::judge_server_slot(
                    server.dns.get(1).copied(),
                    asked,
                    IpcpOption::SecondaryDns,
                ),
                IpcpOption::PrimaryNbns(asked) => Self::judge_server_slot(
                    server.nbns.first().copied(),
                    asked,
                    IpcpOption::PrimaryNbns,
                ),
                IpcpOption::SecondaryNbns(asked) => Self::judge_server_slot(
                    server.nbns.get(1).copied(),
                    asked,
                    IpcpOption::SecondaryNbns,
                ),
                _ => OptionVerdict::Reject,
            },
            IpcpConfig::Client(_) => match option {
                IpcpOption::IpAddress(address) if !address.is_unspecified() => OptionVerdict::Ack,
                _ => OptionVerdict::Reject,
            },
        })
    }

    fn missing(&mut self, request: OptionList<'_>, out: &mut Vec<u8>) {
        // RFC 1332 3.3: "If negotiation about the remote IP-address is
        // required, and the peer did not provide the option in its
        // Configure-Request, the option SHOULD be appended to a
        // Configure-Nak."
        if let IpcpConfig::Server(server) = &self.config {
            let has_address = request
                .iter()
                .any(|o| matches!(IpcpOption::from_raw(o), IpcpOption::IpAddress(_)));
            if !has_address {
                IpcpOption::IpAddress(server.peer).emit(out);
            }
        }
    }

    fn peer_acked(&mut self, request: OptionList<'_>) {
        let mut peer = PeerIpcp::default();
        for option in request.iter().map(IpcpOption::from_raw) {
            match option {
                IpcpOption::IpAddress(address) => peer.address = Some(address),
                IpcpOption::PrimaryDns(a) => peer.dns[0] = Some(a),
                IpcpOption::SecondaryDns(a) => peer.dns[1] = Some(a),
                IpcpOption::PrimaryNbns(a) => peer.nbns[0] = Some(a),
                IpcpOption::SecondaryNbns(a) => peer.nbns[1] = Some(a),
                _ => {}
            }
        }
        self.peer = Some(peer);
    }

    fn on_ack(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        let mut address = None;
        let mut dns = [None; 2];
        for option in options.iter().map(IpcpOption::from_raw) {
            match option {
                IpcpOption::IpAddress(a) => address = Some(a),
                IpcpOption::PrimaryDns(a) => dns[0] = Some(a),
                IpcpOption::SecondaryDns(a) => dns[1] = Some(a),
                _ => {}
            }
        }
        let address = match (&self.config, address) {
            (IpcpConfig::Client(_), Some(a)) if !a.is_unspecified() => a,
            // The server "agreed" that we have no address.
            (IpcpConfig::Client(_), _) => return Err(NegotiationFailure::NoAddressAssigned),
            (IpcpConfig::Server(server), _) => server.local,
        };
        // A DNS option acknowledged as 0.0.0.0 names no server.
        let dns = dns
            .into_iter()
            .flatten()
            .filter(|a| !a.is_unspecified())
            .collect();
        self.ours = Some((address, dns));
        Ok(())
    }

    fn on_nak(
        &mut self,
        options: OptionList<'_>,
        _rng: &mut dyn Random,
    ) -> Result<(), NegotiationFailure> {
        if self.role() == Role::Server {
            // The server keeps its own address; a client that insists will
            // Reject it in the end.
            return Ok(());
        }
        for option in options.iter().map(IpcpOption::from_raw) {
            match option {
                IpcpOption::IpAddress(a) if !a.is_unspecified() => self.address = a,
                IpcpOption::PrimaryDns(a) if self.dns_request[0].is_some() => {
                    self.dns_request[0] = Some(a);
                }
                IpcpOption::SecondaryDns(a) if self.dns_request[1].is_some() => {
                    self.dns_request[1] = Some(a);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn on_reject(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        for option in options.iter().map(IpcpOption::from_raw) {
            match option {
                IpcpOption::IpAddress(_) if self.role() == Role::Client => {
                    return Err(NegotiationFailure::NoAddressAssigned);
                }
                IpcpOption::IpAddress(_) => self.address_requested = false,
                IpcpOption::PrimaryDns(_) => self.dns_request[0] = None,
                IpcpOption::SecondaryDns(_) => self.dns_request[1] = None,
                _ => {}
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.address_requested = true;
        match &self.config {
            IpcpConfig::Server(server) => {
                self.address = server.local;
                self.dns_request = [None; 2];
            }
            IpcpConfig::Client(client) => {
                self.address = client.address.unwrap_or(Ipv4Addr::UNSPECIFIED);
                self.dns_request = if client.request_dns {
                    [Some(Ipv4Addr::UNSPECIFIED); 2]
                } else {
                    [None; 2]
                };
            }
        }
        self.ours = None;
        self.peer = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::ppp::Outbox;
    use crate::ppp::fsm::{FsmConfig, State};
    use crate::ppp::negotiator::LayerEvent;
    use crate::ppp::negotiator::testing::*;
    use crate::wire::cp::{Code, CpPacket};
    use proptest::prelude::*;
    use std::time::Duration;

    /// pppd's IPCP Configure-Request `<compress VJ 0f 01> <addr 0.0.0.0>
    /// <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>` (espressif/esp-protocols#565
    /// log; the `wire::options` fixture `PPPD_IPCP_CONFREQ`).
    const PPPD_CONFREQ: &str = "0101001c 0206002d0f01 030600000000 810600000000 830600000000";

    /// The Nak that fills it: SoftEther's lease 192.168.30.10 and DNS
    /// 192.168.30.1 (interop README; fixture `IPCP_CONFNAK`).
    const CONFNAK: &str = "03010016 0306c0a81e0a 8106c0a81e01 8306c0a81e01";

    /// The Reject of VJ and the DNS options (same log; fixture
    /// `IPCP_CONFREJ`).
    const CONFREJ: &str = "04010016 0206002d0f01 810600000000 830600000000";

    const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 30, 1);
    const LEASE: Ipv4Addr = Ipv4Addr::new(192, 168, 30, 10);

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn server_config(dns: &[Ipv4Addr]) -> IpcpConfig {
        let mut server = AddressLease::new(SERVER, LEASE);
        server.dns = dns.to_vec();
        IpcpConfig::Server(server)
    }

    fn started(config: IpcpConfig) -> (Ipcp, std::time::Instant, Outbox) {
        let now = base();
        let mut n = Negotiator::new(IpcpPolicy::new(config), FsmConfig::default());
        let mut out = Outbox::new();
        n.open(now, &mut out);
        n.up(now, &mut out);
        (n, now, out)
    }

    #[test]
    fn server_first_request() {
        let (_, _, out) = started(server_config(&[]));
        // IP-Address 192.168.30.1 (RFC 1332 3.3).
        assert_eq!(out[0].packet, hex("0101000a 0306c0a81e01"));
    }

    #[test]
    fn client_first_request() {
        let (_, _, out) = started(IpcpConfig::Client(IpcpClientConfig::default()));
        assert_eq!(
            out[0].packet,
            hex("01010016 030600000000 810600000000 830600000000")
        );
        let no_dns = IpcpClientConfig {
            address: Some(Ipv4Addr::new(10, 0, 0, 7)),
            request_dns: false,
        };
        let (_, _, out) = started(IpcpConfig::Client(no_dns));
        assert_eq!(out[0].packet, hex("0101000a 03060a000007"));
    }

    #[test]
    fn server_rejects_vj_then_naks_address_and_dns() {
        let (mut n, now, mut out) = started(server_config(&[SERVER, SERVER]));
        out.clear();
        let mut rng = rng(1);
        n.handle_packet(now, &hex(PPPD_CONFREQ), &mut rng, &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0401000a 0206002d0f01")
        );
        // pppd's next request without VJ, same identifier as the fixture.
        let second = hex("01010016 030600000000 810600000000 830600000000");
        n.handle_packet(now, &second, &mut rng, &mut out);
        assert_eq!(out.pop_front().unwrap().packet, hex(CONFNAK));
        // The filled-in request is Acked.
        let third = hex("01020016 0306c0a81e0a 8106c0a81e01 8306c0a81e01");
        n.handle_packet(now, &third, &mut rng, &mut out);
        let ack = out.pop_front().unwrap().packet;
        assert_eq!(ack[0], 2);
        assert_eq!(&ack[1..], &third[1..]);
    }

    #[test]
    fn server_without_dns_rejects_it() {
        let (mut n, now, mut out) = started(server_config(&[]));
        out.clear();
        n.handle_packet(now, &hex(PPPD_CONFREQ), &mut rng(1), &mut out);
        assert_eq!(out.pop_front().unwrap().packet, hex(CONFREJ));
    }

    #[test]
    fn server_with_one_dns_rejects_secondary() {
        let (mut n, now, mut out) = started(server_config(&[SERVER]));
        out.clear();
        let request = hex("01050016 0306c0a81e0a 8106c0a81e01 830600000000");
        n.handle_packet(now, &request, &mut rng(1), &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0405000a 830600000000")
        );
    }

    #[test]
    fn server_appends_missing_address() {
        let (mut n, now, mut out) = started(server_config(&[]));
        out.clear();
        n.handle_packet(now, &hex("01070004"), &mut rng(1), &mut out);
        // RFC 1332 3.3: the lease appended to a Nak.
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0307000a 0306c0a81e0a")
        );
    }

    #[test]
    fn insisting_client_is_rejected_after_max_failure() {
        let (mut n, now, mut out) = started(server_config(&[]));
        out.clear();
        let mut rng = rng(1);
        for id in 1..=5u8 {
            let mut request = hex("0100000a 03060a090909");
            request[1] = id;
            n.handle_packet(now, &request, &mut rng, &mut out);
            let reply = out.pop_front().unwrap().packet;
            assert_eq!(reply[0], 3, "Nak {id}");
            assert_eq!(&reply[4..], &hex("0306c0a81e0a")[..]);
        }
        n.handle_packet(now, &hex("0106000a 03060a090909"), &mut rng, &mut out);
        // RFC 1661 4.6: Configure-Reject of the option as received.
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0406000a 03060a090909")
        );
        // Without it, the request is Acked (no more appended Naks).
        n.handle_packet(now, &hex("01070004"), &mut rng, &mut out);
        assert_eq!(out.pop_front().unwrap().packet, hex("02070004"));
    }

    #[test]
    fn client_takes_nak_and_fails_on_address_reject() {
        let (mut n, now, mut out) = started(IpcpConfig::Client(IpcpClientConfig::default()));
        out.clear();
        let mut rng = rng(1);
        n.handle_packet(now, &hex(CONFNAK), &mut rng, &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("01020016 0306c0a81e0a 8106c0a81e01 8306c0a81e01")
        );
        // The server rejects the DNS options: they are dropped.
        n.handle_packet(
            now,
            &hex("04020010 8106c0a81e01 8306c0a81e01"),
            &mut rng,
            &mut out,
        );
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0103000a 0306c0a81e0a")
        );
        // Then IP-Address: no address, give up.
        while n.poll_event().is_some() {}
        n.handle_packet(now, &hex("0403000a 0306c0a81e0a"), &mut rng, &mut out);
        assert_eq!(n.failure(), Some(NegotiationFailure::NoAddressAssigned));
        assert_eq!(
            n.poll_event(),
            Some(LayerEvent::Failed(NegotiationFailure::NoAddressAssigned))
        );
        let term = out.pop_front().unwrap().packet;
        assert_eq!(&term[4..], b"server did not assign an address");
    }

    #[test]
    fn client_fails_when_zero_address_acked() {
        let (mut n, now, mut out) = started(IpcpConfig::Client(IpcpClientConfig::default()));
        let request = out.pop_front().unwrap().packet;
        let mut ack = request.clone();
        ack[0] = 2;
        n.handle_packet(now, &ack, &mut rng(1), &mut out);
        assert_eq!(n.failure(), Some(NegotiationFailure::NoAddressAssigned));
    }

    #[test]
    fn client_judges_server_request() {
        let (mut n, now, mut out) = started(IpcpConfig::Client(IpcpClientConfig::default()));
        out.clear();
        let mut rng = rng(1);
        // 0.0.0.0 and VJ: rejected.
        n.handle_packet(
            now,
            &hex("01090010 030600000000 0206002d0f01"),
            &mut rng,
            &mut out,
        );
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("04090010 030600000000 0206002d0f01")
        );
        n.handle_packet(now, &hex("010a000a 0306c0a81e01"), &mut rng, &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("020a000a 0306c0a81e01")
        );
    }

    fn pair(server: IpcpConfig, client: IpcpConfig) -> Wire<IpcpPolicy, IpcpPolicy> {
        let mut wire = Wire::new(IpcpPolicy::new(server), IpcpPolicy::new(client));
        wire.start();
        wire.run();
        wire
    }

    #[test]
    fn pair_assigns_address_and_dns() {
        let dns2 = Ipv4Addr::new(9, 9, 9, 9);
        let wire = pair(
            server_config(&[SERVER, dns2]),
            IpcpConfig::Client(IpcpClientConfig::default()),
        );
        assert!(wire.a.is_opened() && wire.b.is_opened());
        let client = wire.b.policy().negotiated().unwrap();
        assert_eq!(client.local, LEASE);
        assert_eq!(client.peer, Some(SERVER));
        assert_eq!(client.dns, [SERVER, dns2]);
        let server = wire.a.policy().negotiated().unwrap();
        assert_eq!(server.local, SERVER);
        assert_eq!(server.peer, Some(LEASE));
        assert_eq!(server.dns, [SERVER, dns2]);
        assert_eq!(wire.events_b, [LayerEvent::Started, LayerEvent::Up]);
    }

    #[test]
    fn pair_client_without_dns_wish() {
        let client = IpcpClientConfig {
            request_dns: false,
            ..IpcpClientConfig::default()
        };
        let wire = pair(server_config(&[SERVER]), IpcpConfig::Client(client));
        let got = wire.b.policy().negotiated().unwrap();
        assert_eq!(got.local, LEASE);
        assert!(got.dns.is_empty());
        assert!(wire.a.policy().negotiated().unwrap().dns.is_empty());
        assert!(wire.sent_by(Side::A, Code::CONFIGURE_REJECT).is_empty());
    }

    #[test]
    fn pair_server_without_dns_rejects() {
        let wire = pair(
            server_config(&[]),
            IpcpConfig::Client(IpcpClientConfig::default()),
        );
        assert!(wire.a.is_opened() && wire.b.is_opened());
        let got = wire.b.policy().negotiated().unwrap();
        assert_eq!(got.local, LEASE);
        assert!(got.dns.is_empty());
        assert_eq!(wire.sent_by(Side::A, Code::CONFIGURE_REJECT).len(), 1);
    }

    #[test]
    fn pair_client_wish_is_overridden_by_lease() {
        let client = IpcpClientConfig {
            address: Some(Ipv4Addr::new(10, 1, 1, 1)),
            ..IpcpClientConfig::default()
        };
        let wire = pair(server_config(&[]), IpcpConfig::Client(client));
        assert_eq!(wire.b.policy().negotiated().unwrap().local, LEASE);
    }

    #[test]
    fn negotiated_is_none_until_opened_and_after_down() {
        let mut wire = pair(
            server_config(&[]),
            IpcpConfig::Client(IpcpClientConfig::default()),
        );
        assert!(wire.b.policy().negotiated().is_some());
        wire.with_b(|n, now, out| n.down(now, out));
        assert_eq!(wire.b.state(), State::Starting);
        assert_eq!(wire.b.policy().negotiated(), None, "reset on tld");
        let fresh = IpcpPolicy::new(server_config(&[]));
        assert_eq!(fresh.negotiated(), None);
        assert_eq!(fresh.role(), Role::Server);
    }

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(
            server in any::<bool>(),
            packets in proptest::collection::vec(
                (1u8..=8, any::<u8>(), proptest::collection::vec(
                    (prop_oneof![Just(2u8), Just(3u8), 129u8..=132, any::<u8>()],
                     proptest::collection::vec(any::<u8>(), 0..6)),
                    0..6,
                ))
                    .prop_map(|(code, id, opts)| {
                        let mut data = Vec::new();
                        for (kind, body) in opts {
                            data.push(kind);
                            data.push(u8::try_from(body.len() + 2).unwrap());
                            data.extend_from_slice(&body);
                        }
                        let mut p = vec![code, id];
                        p.extend_from_slice(&u16::try_from(data.len() + 4).unwrap().to_be_bytes());
                        p.extend_from_slice(&data);
                        p
                    }),
                0..60,
            ),
            ticks in proptest::collection::vec(0u64..5000, 0..60),
        ) {
            let config = if server {
                server_config(&[SERVER])
            } else {
                IpcpConfig::Client(IpcpClientConfig::default())
            };
            let (mut n, mut now, mut out) = started(config);
            let mut rng = rng(3);
            for (i, p) in packets.iter().enumerate() {
                out.clear();
                n.handle_packet(now, p, &mut rng, &mut out);
                if let Some(ms) = ticks.get(i) {
                    now += Duration::from_millis(*ms);
                    n.handle_timeout(now, &mut out);
                }
                prop_assert!(out.len() <= 4);
                for f in &out {
                    prop_assert!(f.packet.len() <= 1500usize.max(p.len() + 8));
                    prop_assert!(CpPacket::parse(&f.packet, ControlProtocol::Ipcp).is_ok());
                }
                while n.poll_event().is_some() {}
            }
        }
    }
}
