//! Tests of `wire::options`: every option's parse/emit with byte fixtures.

use super::*;
use crate::wire::cp::{Body, Code, ControlProtocol, CpPacket};
use crate::wire::ppp::{Frame, HeaderForm};
use proptest::prelude::*;

/// Whole PPP frames (MS-SSTP 2.2.3 payloads) used as fixtures here and
/// as the `ppp_frame` fuzz seeds (`fuzz/corpus/ppp_frame/<name>.bin`).
pub(crate) mod fixtures {
    /// RRAS's first LCP Configure-Request, in the shape the
    /// sstpc log in axot/isstp#5 describe ("CONFREQ
    /// MRU: 4091 AUTH: EAP MAGIC: 0x51A2411C CALLBACK: 06 MRRU: 1614
    /// EPDISC: 01 EF 8B 14 35 C0 16 ..." in a 60-byte SSTP data packet,
    /// which leaves room for exactly PFC, ACFC and a 20-byte class-1
    /// discriminator). There is no capture: the bytes are built from
    /// RFC 1661 6.1/6.2/6.4-6.6, RFC 1570 2.3 (operation 6 per MS-CBCP
    /// 2.2.1) and RFC 1990 5.1.1/5.1.3, options in type order; the
    /// discriminator bytes after the six the log shows are made up.
    pub(crate) const RRAS_LCP_CONFREQ: &str = concat!(
        "ff03c021",
        "01000034",
        "01040ffb",                 // MRU 4091
        "0304c227",                 // Auth EAP
        "050651a2411c",             // Magic-Number
        "0702",                     // PFC
        "0802",                     // ACFC
        "0d0306",                   // Callback, operation 6 (CBCP)
        "1104064e",                 // MRRU 1614
        "131701ef8b1435c016",       // Endpoint Discriminator, class 1 ...
        "5a3c9d0e7b21f4468a13d2c5", // ... 20 address bytes in all
        "e097",
    );

    /// pppd's LCP Configure-Request `<asyncmap 0x0> <magic 0x930f0222>
    /// <pcomp> <accomp>` (ppp-project/ppp#78 trace, HDLC framing
    /// removed).
    pub(crate) const PPPD_LCP_CONFREQ: &str = "ff03c02101010014020600000000050693 0f0222 0702 0802";

    /// SoftEther's answer (interop README: "ConfRej asyncmap magic pcomp
    /// accomp"): the same options, Configure-Reject (RFC 1661 5.4).
    pub(crate) const SOFTETHER_LCP_CONFREJ: &str =
        "ff03c02104010014020600000000050693 0f0222 0702 0802";

    /// SoftEther's keepalive (interop README): LCP Echo-Request, magic 0,
    /// data "Aho Baka Manuke\0"; identifier chosen here.
    pub(crate) const SOFTETHER_LCP_ECHO: &str =
        "ff03c021 09050018 00000000 41686f2042616b61204d616e756b6500";

    /// The same echo without `FF 03` (a peer that negotiated ACFC and
    /// ignores RFC 1661 6.6; the parser accepts it).
    pub(crate) const LCP_ECHO_NO_AC: &str =
        "c021 09050018 00000000 41686f2042616b61204d616e756b6500";

    /// IPCP Configure-Request asking for an address and DNS servers
    /// (RFC 1332 3.3, RFC 1877): pppd's `<compress VJ 0f 01>
    /// <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>`
    /// (espressif/esp-protocols#565 log).
    pub(crate) const PPPD_IPCP_CONFREQ: &str = concat!(
        "ff038021",
        "0101001c",
        "0206002d0f01",
        "030600000000",
        "810600000000",
        "830600000000",
    );

    /// The Configure-Nak that fills them (RFC 1661 5.3): SoftEther's
    /// lease 192.168.30.10 and its SecureNAT host 192.168.30.1 as DNS
    /// (interop README), without `FF 03` and with a 2-byte protocol.
    pub(crate) const IPCP_CONFNAK: &str = concat!(
        "8021",
        "03010016",
        "0306c0a81e0a",
        "8106c0a81e01",
        "8306c0a81e01",
    );

    /// The Configure-Reject of VJ and the DNS options from the same log
    /// (`IPCP ConfRej id=0x1 <compress VJ 0f 01> <ms-dns1 0.0.0.0>
    /// <ms-dns2 0.0.0.0>`; SoftEther rejects VJ too).
    pub(crate) const IPCP_CONFREJ: &str = concat!(
        "ff038021",
        "04010016",
        "0206002d0f01",
        "810600000000",
        "830600000000",
    );

    /// IPv6CP Configure-Request with the interface identifier from the
    /// same pppd log (`<addr fe80::5100:82ab:af79:6c55>`, RFC 5072 4.1).
    pub(crate) const PPPD_IPV6CP_CONFREQ: &str = "ff038057 0101000e 010a510082abaf796c55";

    /// SoftEther's IPv6CP Configure-Nak to `f349:cafe:fff3:49c8`
    /// (interop README).
    pub(crate) const SOFTETHER_IPV6CP_CONFNAK: &str = "ff038057 0301000e 010af349cafefff349c8";

    /// LCP Protocol-Reject (RFC 1661 5.7) of a CCP Configure-Request
    /// offering MPPE (option 18, RFC 3078).
    pub(crate) const LCP_PROTREJ_CCP: &str = "ff03c021 08030010 80fd 0101000a120601000060";

    /// LCP Code-Reject (RFC 1661 5.6) of Windows' Identification
    /// "MSRASV5.20" (RFC 1570 1.1).
    pub(crate) const LCP_CODEREJ_IDENT: &str =
        "ff03c021 07010016 0c02001251a2411c 4d535241535635 2e3230";

    /// pppd's LCP `TermReq id=0x2 "User request"` (RFC 1661 5.5).
    pub(crate) const LCP_TERMREQ: &str = "ff03c021 05020010 5573657220726571756573 74";

    /// Terminate-Ack (RFC 1661 5.5), fully compressed header form.
    pub(crate) const LCP_TERMACK: &str = "c021 06020004";

    /// A Terminate-Ack followed by link padding, which RFC 1661 section 5
    /// says to ignore.
    pub(crate) const LCP_TERMACK_PADDED: &str = "ff03c021 06020004 000000";

    /// An IPv4 datagram start under ACFC + PFC (RFC 1661 6.5, 6.6).
    pub(crate) const IPV4_COMPRESSED: &str = "21 4500001c00004000 4001";

    /// LCP Configure-Request with odd options kept raw: MRU with
    /// Length 3 (Invalid), Short-Sequence (Unknown here), type 0.
    pub(crate) const LCP_ODD_OPTIONS: &str = "ff03c021 0107000f 010305 1202 0004aabb 0802";

    /// All fixtures with their seed file names.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("lcp-confreq-rras-constructed", RRAS_LCP_CONFREQ),
        ("lcp-confreq-pppd", PPPD_LCP_CONFREQ),
        ("lcp-confrej-softether", SOFTETHER_LCP_CONFREJ),
        ("lcp-echo-softether", SOFTETHER_LCP_ECHO),
        ("lcp-echo-no-address-control", LCP_ECHO_NO_AC),
        ("ipcp-confreq-pppd", PPPD_IPCP_CONFREQ),
        ("ipcp-confnak-no-address-control", IPCP_CONFNAK),
        ("ipcp-confrej-vj-dns", IPCP_CONFREJ),
        ("lcp-termack-padded", LCP_TERMACK_PADDED),
        ("ipv6cp-confreq-pppd", PPPD_IPV6CP_CONFREQ),
        ("ipv6cp-confnak-softether", SOFTETHER_IPV6CP_CONFNAK),
        ("lcp-protrej-ccp", LCP_PROTREJ_CCP),
        ("lcp-coderej-identification", LCP_CODEREJ_IDENT),
        ("lcp-termreq-pppd", LCP_TERMREQ),
        ("lcp-termack-compressed", LCP_TERMACK),
        ("ipv4-data-compressed", IPV4_COMPRESSED),
        ("lcp-confreq-odd-options", LCP_ODD_OPTIONS),
    ];

    pub(crate) fn bytes(hex_text: &str) -> Vec<u8> {
        let clean: String = hex_text.split_whitespace().collect();
        hex::decode(clean).unwrap()
    }
}

use fixtures::bytes;

/// Frame -> packet, checking every level re-emits its input.
fn packet<'a>(frame: &'a [u8], cp: ControlProtocol) -> CpPacket<'a> {
    let f = Frame::parse(frame).unwrap();
    assert_eq!(f.protocol, cp.protocol());
    let p = CpPacket::parse(f.payload, cp).unwrap();
    let mut out = Vec::new();
    p.emit(&mut out);
    assert_eq!(out, f.payload);
    p
}

fn typed<T: ConfigOption>(p: &CpPacket<'_>) -> Vec<T> {
    let list = p.options().unwrap();
    let opts: Vec<T> = list.typed();
    let mut out = Vec::new();
    T::emit_list(&opts, &mut out);
    assert_eq!(out, list.as_bytes(), "options re-emit byte for byte");
    assert_eq!(T::list_len(&opts), out.len());
    opts
}

#[test]
fn rras_configure_request() {
    let frame = bytes(fixtures::RRAS_LCP_CONFREQ);
    assert_eq!(
        frame.len() + 4,
        60,
        "the 60-byte SSTP packet of axot/isstp#5"
    );
    let p = packet(&frame, ControlProtocol::Lcp);
    assert_eq!(p.identifier, 0);
    let opts = typed::<LcpOption>(&p);
    assert_eq!(
        opts[..7],
        [
            LcpOption::Mru(4091),
            LcpOption::AuthProtocol(AuthProtocol::Eap),
            LcpOption::MagicNumber(0x51A2_411C),
            LcpOption::Pfc,
            LcpOption::Acfc,
            LcpOption::Callback {
                operation: CallbackOperation::CBCP,
                message: vec![]
            },
            LcpOption::Mrru(1614),
        ]
    );
    let LcpOption::EndpointDiscriminator { class, address } = &opts[7] else {
        panic!("{:?}", opts[7]);
    };
    assert_eq!(*class, EndpointClass::LOCAL);
    assert_eq!(address.len(), 20);
    assert_eq!(&address[..6], &[0xEF, 0x8B, 0x14, 0x35, 0xC0, 0x16]);
    assert_eq!(opts.len(), 8);
}

#[test]
fn pppd_configure_request_and_softether_reject() {
    let expected = [
        LcpOption::Accm(0),
        LcpOption::MagicNumber(0x930F_0222),
        LcpOption::Pfc,
        LcpOption::Acfc,
    ];
    let req = bytes(fixtures::PPPD_LCP_CONFREQ);
    let p = packet(&req, ControlProtocol::Lcp);
    assert_eq!(p.code(), Code::CONFIGURE_REQUEST);
    assert_eq!(typed::<LcpOption>(&p), expected);

    let rej = bytes(fixtures::SOFTETHER_LCP_CONFREJ);
    let r = packet(&rej, ControlProtocol::Lcp);
    assert!(matches!(r.body, Body::ConfigureReject(_)));
    assert_eq!(typed::<LcpOption>(&r), expected);
    // A reject echoes the request's options unchanged (RFC 1661 5.4).
    assert_eq!(r.options().unwrap(), p.options().unwrap());
}

#[test]
fn softether_echo_with_and_without_address_control() {
    for (hex_text, ac) in [
        (fixtures::SOFTETHER_LCP_ECHO, true),
        (fixtures::LCP_ECHO_NO_AC, false),
    ] {
        let frame = bytes(hex_text);
        assert_eq!(Frame::parse(&frame).unwrap().form.address_control, ac);
        let p = packet(&frame, ControlProtocol::Lcp);
        assert_eq!(
            p.body,
            Body::EchoRequest {
                magic: 0,
                data: b"Aho Baka Manuke\0"
            }
        );
    }
}

#[test]
fn ipcp_request_and_nak() {
    let req = bytes(fixtures::PPPD_IPCP_CONFREQ);
    let p = packet(&req, ControlProtocol::Ipcp);
    assert_eq!(
        typed::<IpcpOption>(&p),
        [
            IpcpOption::IpCompressionProtocol(IpCompression::VanJacobson {
                max_slot_id: 15,
                comp_slot_id: 1
            }),
            IpcpOption::IpAddress(Ipv4Addr::UNSPECIFIED),
            IpcpOption::PrimaryDns(Ipv4Addr::UNSPECIFIED),
            IpcpOption::SecondaryDns(Ipv4Addr::UNSPECIFIED),
        ]
    );

    let nak = bytes(fixtures::IPCP_CONFNAK);
    let f = Frame::parse(&nak).unwrap();
    assert_eq!(
        f.form,
        HeaderForm {
            address_control: false,
            compressed_protocol: false
        }
    );
    let n = packet(&nak, ControlProtocol::Ipcp);
    let opts = typed::<IpcpOption>(&n);
    assert_eq!(
        opts,
        [
            IpcpOption::IpAddress(Ipv4Addr::new(192, 168, 30, 10)),
            IpcpOption::PrimaryDns(Ipv4Addr::new(192, 168, 30, 1)),
            IpcpOption::SecondaryDns(Ipv4Addr::new(192, 168, 30, 1)),
        ]
    );
    assert_eq!(opts[0].address(), Some(Ipv4Addr::new(192, 168, 30, 10)));
}

#[test]
fn ipcp_reject_of_vj_and_dns() {
    let frame = bytes(fixtures::IPCP_CONFREJ);
    let p = packet(&frame, ControlProtocol::Ipcp);
    assert!(matches!(p.body, Body::ConfigureReject(_)));
    let opts = typed::<IpcpOption>(&p);
    assert_eq!(opts.len(), 3);
    assert_eq!(opts[1], IpcpOption::PrimaryDns(Ipv4Addr::UNSPECIFIED));
    // The rejected options are a sub-sequence of the request's, byte for
    // byte (RFC 1661 5.4).
    let req_frame = bytes(fixtures::PPPD_IPCP_CONFREQ);
    let req = packet(&req_frame, ControlProtocol::Ipcp);
    let req_raw: Vec<_> = req.options().unwrap().iter().collect();
    for raw in p.options().unwrap() {
        assert!(req_raw.contains(&raw), "{raw:?}");
    }
}

#[test]
fn padded_terminate_ack() {
    let frame = bytes(fixtures::LCP_TERMACK_PADDED);
    let f = Frame::parse(&frame).unwrap();
    let p = CpPacket::parse(f.payload, ControlProtocol::Lcp).unwrap();
    assert_eq!(p.body, Body::TerminateAck { data: &[] });
    let mut out = Vec::new();
    p.emit(&mut out);
    assert_eq!(out, [0x06, 0x02, 0x00, 0x04], "padding is not re-emitted");
}

#[test]
fn ipv4_data_frame_is_not_a_control_protocol() {
    let frame = bytes(fixtures::IPV4_COMPRESSED);
    let f = Frame::parse(&frame).unwrap();
    assert_eq!(f.protocol, Protocol::IPV4);
    assert_eq!(ControlProtocol::from_protocol(f.protocol), None);
    assert_eq!(f.payload.first(), Some(&0x45));
}

/// The committed `ppp_frame` fuzz seeds are exactly these fixtures.
#[test]
fn fuzz_seeds_match_fixtures() {
    macro_rules! seeds {
        ($($name:literal),* $(,)?) => {
            [$(($name, &include_bytes!(concat!(
                "../../../../fuzz/corpus/ppp_frame/", $name, ".bin"
            ))[..])),*]
        };
    }
    let seeds = seeds![
        "lcp-confreq-rras-constructed",
        "lcp-confreq-pppd",
        "lcp-confrej-softether",
        "lcp-echo-softether",
        "lcp-echo-no-address-control",
        "ipcp-confreq-pppd",
        "ipcp-confnak-no-address-control",
        "ipcp-confrej-vj-dns",
        "lcp-termack-padded",
        "ipv6cp-confreq-pppd",
        "ipv6cp-confnak-softether",
        "lcp-protrej-ccp",
        "lcp-coderej-identification",
        "lcp-termreq-pppd",
        "lcp-termack-compressed",
        "ipv4-data-compressed",
        "lcp-confreq-odd-options",
    ];
    assert_eq!(seeds.len(), fixtures::ALL.len());
    for (name, hex_text) in fixtures::ALL {
        let seed = seeds.iter().find(|(n, _)| n == name).map(|(_, b)| *b);
        assert_eq!(seed, Some(&bytes(hex_text)[..]), "{name}");
    }
}

#[test]
fn build_ipcp_nak_from_typed_options() {
    // The engine's path: typed options -> bytes -> OptionList -> packet.
    let opts = [
        IpcpOption::IpAddress(Ipv4Addr::new(192, 168, 30, 10)),
        IpcpOption::PrimaryDns(Ipv4Addr::new(192, 168, 30, 1)),
        IpcpOption::SecondaryDns(Ipv4Addr::new(192, 168, 30, 1)),
    ];
    let mut list = Vec::new();
    IpcpOption::emit_list(&opts, &mut list);
    let p = CpPacket {
        identifier: 1,
        body: Body::ConfigureNak(OptionList::parse(&list).unwrap()),
    };
    // The fixture uses the 2-byte protocol without `FF 03`.
    let form = HeaderForm::negotiated(true, false).for_protocol(Protocol::IPCP);
    let mut frame = vec![0u8; form.header_len(Protocol::IPCP)];
    crate::wire::ppp::write_header(&mut frame, Protocol::IPCP, form).unwrap();
    p.emit(&mut frame);
    assert_eq!(frame, bytes(fixtures::IPCP_CONFNAK));
}

#[test]
fn ipv6cp_request_and_nak() {
    let req = bytes(fixtures::PPPD_IPV6CP_CONFREQ);
    let p = packet(&req, ControlProtocol::Ipv6cp);
    assert_eq!(
        typed::<Ipv6cpOption>(&p),
        [Ipv6cpOption::InterfaceIdentifier([
            0x51, 0x00, 0x82, 0xAB, 0xAF, 0x79, 0x6C, 0x55
        ])]
    );
    let nak = bytes(fixtures::SOFTETHER_IPV6CP_CONFNAK);
    let n = packet(&nak, ControlProtocol::Ipv6cp);
    assert_eq!(
        typed::<Ipv6cpOption>(&n),
        [Ipv6cpOption::InterfaceIdentifier([
            0xF3, 0x49, 0xCA, 0xFE, 0xFF, 0xF3, 0x49, 0xC8
        ])]
    );
}

#[test]
fn protocol_reject_code_reject_terminate() {
    let frame = bytes(fixtures::LCP_PROTREJ_CCP);
    let p = packet(&frame, ControlProtocol::Lcp);
    let Body::ProtocolReject {
        protocol,
        information,
    } = p.body
    else {
        panic!("{p:?}");
    };
    assert_eq!(protocol, Protocol::CCP);
    // The rejected CCP packet still parses as a control-protocol packet.
    assert_eq!(information.len(), 10);

    let frame = bytes(fixtures::LCP_CODEREJ_IDENT);
    let p = packet(&frame, ControlProtocol::Lcp);
    let Body::CodeReject { rejected } = p.body else {
        panic!("{p:?}");
    };
    let inner = CpPacket::parse(rejected, ControlProtocol::Lcp).unwrap();
    assert_eq!(
        inner.body,
        Body::Identification {
            magic: 0x51A2_411C,
            message: b"MSRASV5.20"
        }
    );

    let frame = bytes(fixtures::LCP_TERMREQ);
    let p = packet(&frame, ControlProtocol::Lcp);
    assert_eq!(
        p.body,
        Body::TerminateRequest {
            data: b"User request"
        }
    );
    let frame = bytes(fixtures::LCP_TERMACK);
    let p = packet(&frame, ControlProtocol::Lcp);
    assert_eq!(p.body, Body::TerminateAck { data: &[] });
}

#[test]
fn odd_options_keep_raw_bytes() {
    let frame = bytes(fixtures::LCP_ODD_OPTIONS);
    let p = packet(&frame, ControlProtocol::Lcp);
    assert_eq!(
        typed::<LcpOption>(&p),
        [
            LcpOption::Invalid {
                kind: LcpOptionType::MRU,
                raw: vec![0x01, 0x03, 0x05]
            },
            LcpOption::Unknown {
                kind: LcpOptionType::SHORT_SEQUENCE,
                raw: vec![0x12, 0x02]
            },
            LcpOption::Unknown {
                kind: LcpOptionType(0),
                raw: vec![0x00, 0x04, 0xAA, 0xBB]
            },
            LcpOption::Acfc,
        ]
    );
}

#[test]
fn wrong_lengths_of_known_types_are_invalid() {
    let cases: &[&[u8]] = &[
        &[1, 2],          // MRU without value
        &[1, 5, 0, 0, 0], // MRU too long
        &[2, 4, 0, 0],    // ACCM short
        &[3, 3, 0xC0],    // Auth without full protocol
        &[4, 2],          // Quality-Protocol empty
        &[5, 4, 0, 0],    // Magic short
        &[7, 3, 0],       // PFC with data
        &[8, 4, 0, 0],    // ACFC with data
        &[13, 2],         // Callback without operation
        &[17, 3, 1],      // MRRU short
        &[19, 2],         // Endpoint Discriminator without class
    ];
    for &raw in cases {
        let o = LcpOption::parse(raw).unwrap();
        assert_eq!(
            o,
            LcpOption::Invalid {
                kind: LcpOptionType(raw[0]),
                raw: raw.to_vec()
            }
        );
        let mut out = Vec::new();
        o.emit(&mut out);
        assert_eq!(out, raw);
    }
    for raw in [&[3u8, 5, 0, 0, 0][..], &[129, 7, 1, 2, 3, 4, 5], &[2, 3, 0]] {
        let o = IpcpOption::parse(raw).unwrap();
        assert!(matches!(o, IpcpOption::Invalid { .. }), "{o:?}");
    }
    for raw in [&[1u8, 9, 0, 0, 0, 0, 0, 0, 0][..], &[2, 3, 0]] {
        let o = Ipv6cpOption::parse(raw).unwrap();
        assert!(matches!(o, Ipv6cpOption::Invalid { .. }), "{o:?}");
    }
}

#[test]
fn auth_protocol_forms() {
    let cases: &[(&[u8], AuthProtocol)] = &[
        (&[3, 4, 0xC0, 0x23], AuthProtocol::Pap),
        (
            &[3, 5, 0xC2, 0x23, 0x81],
            AuthProtocol::Chap(ChapAlgorithm::MS_CHAP_V2),
        ),
        (
            &[3, 5, 0xC2, 0x23, 0x80],
            AuthProtocol::Chap(ChapAlgorithm::MS_CHAP),
        ),
        (
            &[3, 5, 0xC2, 0x23, 0x05],
            AuthProtocol::Chap(ChapAlgorithm::MD5),
        ),
        (
            &[3, 5, 0xC2, 0x23, 0x06],
            AuthProtocol::Chap(ChapAlgorithm(6)),
        ),
        (&[3, 4, 0xC2, 0x27], AuthProtocol::Eap),
        (
            &[3, 4, 0xC2, 0x23],
            AuthProtocol::Other {
                protocol: Protocol::CHAP,
                data: vec![],
            },
        ),
        (
            &[3, 5, 0xC0, 0x23, 0x00],
            AuthProtocol::Other {
                protocol: Protocol::PAP,
                data: vec![0],
            },
        ),
        (
            &[3, 6, 0xC0, 0x27, 0x01, 0x02],
            AuthProtocol::Other {
                protocol: Protocol(0xC027),
                data: vec![1, 2],
            },
        ),
    ];
    for (raw, auth) in cases {
        let o = LcpOption::parse(raw).unwrap();
        assert_eq!(o, LcpOption::AuthProtocol(auth.clone()));
        let mut out = Vec::new();
        o.emit(&mut out);
        assert_eq!(&out, raw);
        assert_eq!(o.buffer_len(), raw.len());
    }
    assert_eq!(format!("{:?}", ChapAlgorithm::MS_CHAP_V2), "MS-CHAPv2");
}

#[test]
fn ipcp_compression_and_unknowns() {
    // IPHC (RFC 3544) is kept as Other; the deprecated IP-Addresses
    // stays raw.
    let iphc = [2u8, 8, 0x00, 0x61, 0x00, 0x0F, 0x00, 0x02];
    let o = IpcpOption::parse(&iphc).unwrap();
    assert_eq!(
        o,
        IpcpOption::IpCompressionProtocol(IpCompression::Other {
            protocol: Protocol(0x0061),
            data: vec![0x00, 0x0F, 0x00, 0x02]
        })
    );
    let addrs = [1u8, 10, 10, 0, 0, 1, 10, 0, 0, 2];
    assert_eq!(
        IpcpOption::parse(&addrs).unwrap(),
        IpcpOption::Unknown {
            kind: IpcpOptionType::IP_ADDRESSES,
            raw: addrs.to_vec()
        }
    );
    let v6 = [2u8, 4, 0x00, 0x4F];
    assert_eq!(
        Ipv6cpOption::parse(&v6).unwrap(),
        Ipv6cpOption::CompressionProtocol {
            protocol: Protocol(0x004F),
            data: vec![]
        }
    );
}

#[test]
fn list_parse_errors_and_exactness() {
    assert!(LcpOption::parse_list(&[7, 2, 8]).is_err());
    assert!(LcpOption::parse_list(&[7, 1]).is_err());
    assert!(LcpOption::parse(&[7, 2, 8, 2]).is_err(), "trailing bytes");
    assert_eq!(LcpOption::parse_list(&[]).unwrap(), []);
}

#[test]
fn emit_cuts_overlong_data() {
    let o = LcpOption::Callback {
        operation: CallbackOperation::DIALING_STRING,
        message: vec![b'9'; 300],
    };
    let mut out = Vec::new();
    o.emit(&mut out);
    assert_eq!(out.len(), MAX_OPTION_LEN);
    assert_eq!(o.buffer_len(), MAX_OPTION_LEN);
    assert_eq!(out[1], 255);
    let back = LcpOption::parse(&out).unwrap();
    assert!(matches!(back, LcpOption::Callback { message, .. } if message.len() == 252));
}

#[test]
fn names_for_logs() {
    assert_eq!(
        LcpOptionType::ENDPOINT_DISCRIMINATOR.name(),
        Some("Endpoint-Discriminator")
    );
    assert_eq!(
        IpcpOptionType::PRIMARY_DNS.name(),
        Some("Primary-DNS-Server-Address")
    );
    assert_eq!(Ipv6cpOptionType(9).name(), None);
    assert_eq!(LcpOption::Pfc.kind(), LcpOptionType::PFC);
    assert_eq!(LcpOption::Pfc.type_code(), 7);
}

fn bytes_vec(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn lcp_option() -> impl Strategy<Value = LcpOption> {
    let auth = prop_oneof![
        Just(AuthProtocol::Pap),
        Just(AuthProtocol::Eap),
        any::<u8>().prop_map(|a| AuthProtocol::Chap(ChapAlgorithm(a))),
        (any::<u16>(), bytes_vec(8))
            .prop_map(|(p, data)| AuthProtocol::Other {
                protocol: Protocol(p),
                data
            })
            .prop_filter("typed forms", |a| {
                AuthProtocol::from_data(&auth_data(a)).as_ref() == Some(a)
            }),
    ];
    prop_oneof![
        any::<u16>().prop_map(LcpOption::Mru),
        any::<u32>().prop_map(LcpOption::Accm),
        auth.prop_map(LcpOption::AuthProtocol),
        (any::<u16>(), bytes_vec(8)).prop_map(|(p, data)| LcpOption::QualityProtocol {
            protocol: Protocol(p),
            data
        }),
        any::<u32>().prop_map(LcpOption::MagicNumber),
        Just(LcpOption::Pfc),
        Just(LcpOption::Acfc),
        (any::<u8>(), bytes_vec(8)).prop_map(|(o, message)| LcpOption::Callback {
            operation: CallbackOperation(o),
            message
        }),
        any::<u16>().prop_map(LcpOption::Mrru),
        (any::<u8>(), bytes_vec(21)).prop_map(|(c, address)| {
            LcpOption::EndpointDiscriminator {
                class: EndpointClass(c),
                address,
            }
        }),
    ]
}

fn auth_data(a: &AuthProtocol) -> Vec<u8> {
    let mut v = a.protocol().0.to_be_bytes().to_vec();
    v.extend_from_slice(a.trailing_data());
    v
}

fn ipcp_option() -> impl Strategy<Value = IpcpOption> {
    let addr = any::<[u8; 4]>().prop_map(Ipv4Addr::from);
    prop_oneof![
        (any::<u8>(), any::<u8>()).prop_map(|(max_slot_id, comp_slot_id)| {
            IpcpOption::IpCompressionProtocol(IpCompression::VanJacobson {
                max_slot_id,
                comp_slot_id,
            })
        }),
        (any::<u16>(), bytes_vec(8))
            .prop_filter("not the VJ form", |(p, d)| !(*p == 0x002D && d.len() == 2))
            .prop_map(
                |(p, data)| IpcpOption::IpCompressionProtocol(IpCompression::Other {
                    protocol: Protocol(p),
                    data
                })
            ),
        addr.clone().prop_map(IpcpOption::IpAddress),
        addr.clone().prop_map(IpcpOption::PrimaryDns),
        addr.clone().prop_map(IpcpOption::PrimaryNbns),
        addr.clone().prop_map(IpcpOption::SecondaryDns),
        addr.prop_map(IpcpOption::SecondaryNbns),
    ]
}

fn ipv6cp_option() -> impl Strategy<Value = Ipv6cpOption> {
    prop_oneof![
        any::<[u8; 8]>().prop_map(Ipv6cpOption::InterfaceIdentifier),
        (any::<u16>(), bytes_vec(8)).prop_map(|(p, data)| Ipv6cpOption::CompressionProtocol {
            protocol: Protocol(p),
            data
        }),
    ]
}

fn roundtrip_list<T: ConfigOption + PartialEq + core::fmt::Debug>(
    opts: &[T],
) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    T::emit_list(opts, &mut out);
    prop_assert_eq!(out.len(), T::list_len(opts));
    let back = T::parse_list(&out).unwrap();
    prop_assert_eq!(&back[..], opts);
    Ok(())
}

/// Arbitrary option lists: the raw bytes of any well-formed TLV list.
fn raw_list() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((any::<u8>(), bytes_vec(12)), 0..8).prop_map(|opts| {
        let mut out = Vec::new();
        for (kind, data) in opts {
            out.push(kind);
            out.push(u8::try_from(data.len() + 2).unwrap());
            out.extend_from_slice(&data);
        }
        out
    })
}

fn reemit_exact<T: ConfigOption + PartialEq + core::fmt::Debug>(
    raw: &[u8],
) -> Result<(), TestCaseError> {
    let opts = T::parse_list(raw).unwrap();
    let mut out = Vec::new();
    T::emit_list(&opts, &mut out);
    prop_assert_eq!(&out[..], raw);
    prop_assert_eq!(T::parse_list(&out).unwrap(), opts);
    Ok(())
}

proptest! {
    #[test]
    fn roundtrip_lcp(opts in proptest::collection::vec(lcp_option(), 0..8)) {
        roundtrip_list(&opts)?;
    }

    #[test]
    fn roundtrip_ipcp(opts in proptest::collection::vec(ipcp_option(), 0..8)) {
        roundtrip_list(&opts)?;
    }

    #[test]
    fn roundtrip_ipv6cp(opts in proptest::collection::vec(ipv6cp_option(), 0..8)) {
        roundtrip_list(&opts)?;
    }

    #[test]
    fn any_wellformed_list_reemits_exactly(raw in raw_list()) {
        reemit_exact::<LcpOption>(&raw)?;
        reemit_exact::<IpcpOption>(&raw)?;
        reemit_exact::<Ipv6cpOption>(&raw)?;
    }
}
