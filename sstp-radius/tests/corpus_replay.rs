//! Replays the committed fuzz corpus of this crate's target
//! (`fuzz/corpus/radius_packet/*`) through the harness the libFuzzer target
//! calls, so plain `cargo test` (no nightly, no cargo-fuzz) checks every
//! seed and every past crash.
//!
//! The seeds: `rfc2865-*` are RFC 2865 §7's example packets;
//! `freeradius-*`, `python-*` and `radclient-*` are the FreeRADIUS 3.2.1
//! exchange of `testdata/make_vectors.py` (the same bytes as `src/tests.rs`);
//! `signed-*` are made by [`write_signed_seeds`] below with the harness's
//! secret, so the fuzzer starts past the authenticator checks (run it with
//! `cargo test -p sstp-radius --test corpus_replay -- --ignored` after a
//! change to the harness's secret).

use std::path::PathBuf;

use sstp_radius::fuzzing::{REQUEST_AUTHENTICATOR, SECRET, TARGETS};
use sstp_radius::{
    Attribute, Code, ErrorCause, Packet, Request, Response, attr, encrypt_mppe_key, ms,
};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name)
}

#[test]
fn every_seed_passes_the_harness() {
    for &(name, harness) in TARGETS {
        let count = sstp_testkit::replay_corpus(name, harness);
        assert!(count >= 10, "target {name} has {count} seeds");
        eprintln!("replayed {count} {name} inputs");
    }
}

/// The signed seeds, as the harness checks them: each verifies.
#[test]
fn signed_seeds_verify() {
    for (name, bytes) in signed_seeds() {
        let p = Packet::parse(&bytes).expect(name);
        if p.code.is_request() {
            sstp_radius::verify_request(&bytes, SECRET).expect(name);
        } else {
            let request = request_code(p.code);
            sstp_radius::verify_response(
                &bytes,
                request,
                p.identifier,
                &REQUEST_AUTHENTICATOR,
                SECRET,
            )
            .expect(name);
        }
        let on_disk = std::fs::read(corpus("radius_packet").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (run the ignored write_signed_seeds)"));
        // MPPE salts and the order are fixed, so the seeds are reproducible.
        assert_eq!(on_disk, bytes, "{name} differs from the generator");
    }
}

#[test]
#[ignore = "writes fuzz/corpus/radius_packet/signed-*"]
fn write_signed_seeds() {
    for (name, bytes) in signed_seeds() {
        std::fs::write(corpus("radius_packet").join(name), bytes).expect("write seed");
    }
}

fn request_code(answer: Code) -> Code {
    match answer {
        Code::AccountingResponse => Code::AccountingRequest,
        Code::DisconnectAck | Code::DisconnectNak => Code::DisconnectRequest,
        Code::CoaAck | Code::CoaNak => Code::CoaRequest,
        _ => Code::AccessRequest,
    }
}

fn signed_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let request = |code, id| Packet::new(code, id, REQUEST_AUTHENTICATOR);
    let mppe = |key: &[u8], salt| {
        encrypt_mppe_key(key, salt, &REQUEST_AUTHENTICATOR, SECRET).expect("key fits")
    };
    let success = ms::MsChap2Success {
        ident: 1,
        authenticator_response: [0x40; 20],
        message: Some("welcome".into()),
    };
    let accept = Response::new(Code::AccessAccept)
        .with(Attribute::from_ipv4(
            attr::FRAMED_IP_ADDRESS,
            "10.0.0.5".parse().expect("address"),
        ))
        .with(Attribute::from_ipv6_prefix(
            attr::FRAMED_IPV6_PREFIX,
            "2001:db8:1:2::".parse().expect("address"),
            64,
        ))
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::CHAP2_SUCCESS,
            &success.to_bytes(),
        ))
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::MPPE_SEND_KEY,
            &mppe(&[1; 16], [0x80, 1]),
        ))
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::MPPE_RECV_KEY,
            &mppe(&[2; 32], [0x80, 2]),
        ))
        .with(Attribute::from_u32(attr::SESSION_TIMEOUT, 3600))
        .encode(&request(Code::AccessRequest, 1), SECRET)
        .expect("fits");
    let error = ms::MsChapError {
        ident: 2,
        error: 691,
        retry: true,
        challenge: Some([0x11; 16]),
        version: Some(3),
        message: Some("Authentication failure".into()),
    };
    let reject = Response::new(Code::AccessReject)
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::CHAP_ERROR,
            &error.to_bytes(),
        ))
        .attribute(attr::REPLY_MESSAGE, "no")
        .encode(&request(Code::AccessRequest, 2), SECRET)
        .expect("fits");
    let eap: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let mut challenge =
        Response::new(Code::AccessChallenge).with(Attribute::new(attr::STATE, [7; 8]));
    for chunk in eap.chunks(253) {
        challenge.push(Attribute::new(attr::EAP_MESSAGE, chunk));
    }
    let challenge = challenge
        .encode(&request(Code::AccessRequest, 3), SECRET)
        .expect("fits");
    let eap_request = Request::access_request()
        .attribute(attr::USER_NAME, "alice")
        .eap_message(&eap)
        .attribute(attr::STATE, [7; 8])
        .encode(4, &[9; 16], SECRET)
        .expect("fits")
        .bytes;
    let pap_request = Request::access_request()
        .attribute(attr::USER_NAME, "alice")
        .user_password(b"hello")
        .encode(5, &[8; 16], SECRET)
        .expect("fits")
        .bytes;
    let disconnect = Request::disconnect_request()
        .attribute(attr::ACCT_SESSION_ID, "s-1")
        .with(Attribute::from_u32(attr::EVENT_TIMESTAMP, 1_700_000_000))
        .attribute(attr::PROXY_STATE, [1, 2])
        .encode(6, &[0; 16], SECRET)
        .expect("fits")
        .bytes;
    let nak = Response::new(Code::DisconnectNak)
        .error_cause(ErrorCause::SESSION_CONTEXT_NOT_FOUND)
        .encode(&request(Code::DisconnectRequest, 7), SECRET)
        .expect("fits");
    let acct = Request::accounting_request()
        .with(Attribute::from_u32(attr::ACCT_STATUS_TYPE, 2))
        .attribute(attr::ACCT_SESSION_ID, "s-1")
        .with(Attribute::from_u32(attr::ACCT_DELAY_TIME, 3))
        .with(Attribute::from_u32(attr::ACCT_INPUT_GIGAWORDS, 1))
        .encode(8, &[0; 16], SECRET)
        .expect("fits")
        .bytes;
    let status = Request::status_server()
        .encode(9, &[3; 16], SECRET)
        .expect("fits")
        .bytes;
    vec![
        ("signed-access-accept-mppe.bin", accept),
        ("signed-access-reject-ms-chap-error.bin", reject),
        ("signed-access-challenge.bin", challenge),
        ("signed-access-request-eap.bin", eap_request),
        ("signed-access-request-pap.bin", pap_request),
        ("signed-disconnect-request.bin", disconnect),
        ("signed-disconnect-nak.bin", nak),
        ("signed-accounting-request.bin", acct),
        ("signed-status-server.bin", status),
    ]
}
