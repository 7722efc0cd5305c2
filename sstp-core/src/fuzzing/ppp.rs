//! Round-trip oracle for the PPP layer (`ppp_frame` fuzz target): PPP frame,
//! then the LCP/IPCP/IPv6CP packet it carries, then that packet's options.
//!
//! Each level must re-emit exactly what it parsed (a frame its whole input,
//! a control-protocol packet its first Length bytes, since octets beyond
//! Length are padding per RFC 1661 section 5, an option list its bytes with
//! unknown and invalid options kept raw) and re-parse to an equal value.

use core::fmt::Debug;

use crate::wire::cp::{ControlProtocol, CpPacket, OptionList};
use crate::wire::options::{ConfigOption, IpcpOption, Ipv6cpOption, LcpOption};
use crate::wire::ppp::{Frame, MAX_HEADER_LEN, prepend_header};

/// Parses `data` as one PPP frame and checks every level's round trip.
/// Panics only when an oracle fails (a real bug).
pub fn ppp_frame(data: &[u8]) {
    let Ok(frame) = Frame::parse(data) else {
        return;
    };
    let mut out = Vec::with_capacity(frame.buffer_len());
    frame.emit(&mut out);
    assert_eq!(out, data, "PPP frame must re-emit its input");
    assert_eq!(frame.buffer_len(), out.len(), "PPP frame buffer_len");
    assert_eq!(Frame::parse(&out), Ok(frame), "PPP frame re-parse");

    // The data path's headroom writer must agree with emit.
    let mut buf = vec![0u8; MAX_HEADER_LEN];
    buf.extend_from_slice(frame.payload);
    match prepend_header(&mut buf, MAX_HEADER_LEN, frame.protocol, frame.form) {
        Ok(start) => assert_eq!(buf.get(start..), Some(data), "prepend_header"),
        Err(e) => panic!("prepend_header with full headroom failed: {e}"),
    }

    let Some(cp) = ControlProtocol::from_protocol(frame.protocol) else {
        return;
    };
    let Ok(packet) = CpPacket::parse(frame.payload, cp) else {
        return;
    };
    let mut out = Vec::with_capacity(packet.buffer_len());
    packet.emit(&mut out);
    assert_eq!(packet.buffer_len(), out.len(), "CP packet buffer_len");
    assert!(
        frame.payload.starts_with(&out),
        "CP packet must re-emit its first Length bytes"
    );
    assert_eq!(CpPacket::parse(&out, cp), Ok(packet), "CP packet re-parse");

    let Some(list) = packet.options() else {
        return;
    };
    match cp {
        ControlProtocol::Lcp => options::<LcpOption>(list),
        ControlProtocol::Ipcp => options::<IpcpOption>(list),
        ControlProtocol::Ipv6cp => options::<Ipv6cpOption>(list),
    }
}

fn options<T: ConfigOption + PartialEq + Debug>(list: OptionList<'_>) {
    let typed: Vec<T> = list.typed();
    assert_eq!(typed.len(), list.iter().count(), "one typed option per TLV");
    let mut one = Vec::new();
    for (opt, raw) in typed.iter().zip(list.iter()) {
        one.clear();
        opt.emit(&mut one);
        assert_eq!(
            one,
            raw.as_bytes(),
            "option must re-emit its bytes: {opt:?}"
        );
        assert_eq!(opt.buffer_len(), one.len(), "option buffer_len: {opt:?}");
    }
    let mut out = Vec::with_capacity(T::list_len(&typed));
    T::emit_list(&typed, &mut out);
    assert_eq!(out, list.as_bytes(), "option list re-emit");
    assert_eq!(
        T::parse_list(&out).as_ref(),
        Ok(&typed),
        "option list re-parse"
    );
}
