//! The client against a real FreeRADIUS (3.2.1 on Debian bookworm:
//! `apt-get install freeradius`), started here with a generated minimal
//! configuration on free loopback ports. Skips, saying why, when FreeRADIUS
//! is not installed.
//!
//! It also pins down what FreeRADIUS 3.2.1 does about the
//! Message-Authenticator: it adds none to an Access-Accept or Access-Reject
//! unless EAP is involved (`require_message_authenticator` in clients.conf
//! is about requests only), so a server of ours that is asked to send one
//! needs `update reply { &Message-Authenticator := 0x00 }` in post-auth (the
//! "strict" virtual server below); against the default ("plain") this
//! client refuses every answer, as BlastRADIUS asks.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sstp_radius::{
    Attribute, ClientConfig, ClientError, Code, RadiusClient, Request, ServerConfig, Service, attr,
    ms,
};

const SECRET: &str = "interop-secret";
const DICTIONARY: &str = "/usr/share/freeradius/dictionary";

/// Why this machine cannot run the test, if it cannot.
fn skip_reason() -> Option<String> {
    match Command::new("freeradius").arg("-v").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return Some(format!("`freeradius -v` failed: {}", o.status)),
        Err(e) => {
            return Some(format!(
                "no freeradius binary ({e}); apt-get install freeradius"
            ));
        }
    }
    if !Path::new(DICTIONARY).exists() {
        return Some(format!("no FreeRADIUS dictionary at {DICTIONARY}"));
    }
    None
}

/// A `freeradius -X` of our own; killed when dropped.
struct FreeRadius {
    child: Child,
    dir: PathBuf,
    strict_auth: SocketAddr,
    strict_acct: SocketAddr,
    plain_auth: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl FreeRadius {
    fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("sstp-radius-freeradius-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (free_port(), free_port(), free_port());
        let d = dir.display();
        let conf = format!(
            r#"prefix = /usr
localstatedir = {d}
logdir = {d}
run_dir = {d}
raddbdir = {d}
dictdir = /usr/share/freeradius
libdir = /usr/lib/freeradius
pidfile = {d}/radiusd.pid
max_request_time = 5
cleanup_delay = 1
log {{
	destination = stderr
}}
security {{
	allow_core_dumps = no
	status_server = yes
}}
client localhost {{
	ipaddr = 127.0.0.1
	secret = {SECRET}
}}
modules {{
	always ok {{
		rcode = ok
	}}
	pap {{
	}}
	mschap {{
	}}
	files {{
		filename = {d}/users
	}}
}}
server strict {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {a}
	}}
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {b}
	}}
	authorize {{
		files
		mschap
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
		Auth-Type MS-CHAP {{
			mschap
		}}
	}}
	preacct {{
	}}
	accounting {{
		ok
	}}
	post-auth {{
		update reply {{
			&Message-Authenticator := 0x00
		}}
		Post-Auth-Type REJECT {{
			update reply {{
				&Message-Authenticator := 0x00
			}}
		}}
	}}
}}
server plain {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {c}
	}}
	authorize {{
		files
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
	post-auth {{
	}}
}}
"#
        );
        std::fs::write(dir.join("radiusd.conf"), conf).unwrap();
        std::fs::write(
            dir.join("users"),
            "alice Cleartext-Password := \"hello\"\n\tFramed-IP-Address = 10.0.0.5\n\
             User Cleartext-Password := \"clientPass\"\n\tFramed-IP-Address = 10.0.0.6\n",
        )
        .unwrap();
        let mut child = Command::new("freeradius")
            .args(["-X", "-n", "radiusd", "-d"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let addr = |p| SocketAddr::from(([127, 0, 0, 1], p));
        let fr = Self {
            child,
            dir,
            strict_auth: addr(a),
            strict_acct: addr(b),
            plain_auth: addr(c),
            log,
        };
        let mut seen = Vec::new();
        loop {
            match fr.log.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains("Ready to process requests") => return fr,
                Ok(line) => seen.push(line),
                Err(_) => panic!("FreeRADIUS did not start:\n{}", seen.join("\n")),
            }
        }
    }

    fn server(&self, name: &str, auth: SocketAddr, acct: Option<SocketAddr>) -> ServerConfig {
        let mut s = ServerConfig::new(name, SECRET).auth(auth);
        s.acct = acct;
        s.timeout = Duration::from_millis(1500);
        s.retries = 1;
        s
    }
}

async fn client(server: ServerConfig) -> RadiusClient {
    let mut c = ClientConfig::new(vec![server]);
    c.bind_v4 = "127.0.0.1:0".parse().unwrap();
    RadiusClient::new(c).await.unwrap()
}

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[tokio::test]
async fn against_freeradius() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let fr = FreeRadius::start();
    let strict = client(fr.server("strict", fr.strict_auth, Some(fr.strict_acct))).await;

    // PAP.
    let pap = |pw: &[u8]| {
        Request::access_request()
            .attribute(attr::USER_NAME, "alice")
            .user_password(pw)
            .with(Attribute::from_u32(attr::NAS_PORT_TYPE, 5))
    };
    let reply = strict.send(Service::Auth, pap(b"hello")).await.unwrap();
    assert_eq!(reply.code(), Code::AccessAccept);
    assert_eq!(
        reply.packet.get(attr::FRAMED_IP_ADDRESS).unwrap().as_ipv4(),
        Ok("10.0.0.5".parse().unwrap())
    );
    let reply = strict.send(Service::Auth, pap(b"wrong")).await.unwrap();
    assert_eq!(reply.code(), Code::AccessReject);

    // MS-CHAPv2 with RFC 2759 §9.2's exchange (user "User", password
    // "clientPass"): the NT-Response is the RFC's, so FreeRADIUS accepts,
    // and the keys are RFC 3079 §3.5.3's: the NAS sends with MasterSendKey
    // (MS-MPPE-Send-Key) and receives with MasterReceiveKey.
    let response = ms::MsChap2Response {
        ident: 1,
        flags: 0,
        peer_challenge: h("21402324255E262A28295F2B3A337C7E"),
        nt_response: h("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"),
    };
    let mschap = Request::access_request()
        .attribute(attr::USER_NAME, "User")
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::CHAP_CHALLENGE,
            &h::<16>("5B5D7C7D7B3F2F3E3C2C602132262628"),
        ))
        .with(Attribute::vendor(
            ms::VENDOR_ID,
            ms::CHAP2_RESPONSE,
            &response.to_bytes(),
        ));
    let reply = strict.send(Service::Auth, mschap).await.unwrap();
    assert_eq!(reply.code(), Code::AccessAccept);
    assert_eq!(
        hex::encode_upper(&*reply.mppe_send_key().unwrap().unwrap()),
        "8B7CDC149B993A1BA118CB153F56DCCB"
    );
    assert_eq!(
        hex::encode_upper(&*reply.mppe_recv_key().unwrap().unwrap()),
        "D5F0E9521E3EA9589645E86051C82226"
    );
    let success = reply
        .packet
        .vendor_attribute(ms::VENDOR_ID, ms::CHAP2_SUCCESS)
        .map(ms::MsChap2Success::parse)
        .unwrap()
        .unwrap();
    assert_eq!(
        hex::encode_upper(success.authenticator_response),
        "407A5589115FD0D6209F510FE9C04566932CDA56"
    );

    // Accounting, and Status-Server on both ports (RFC 5997 §3).
    let acct = Request::accounting_request()
        .with(Attribute::from_u32(attr::ACCT_STATUS_TYPE, 1))
        .attribute(attr::ACCT_SESSION_ID, "s-1")
        .attribute(attr::USER_NAME, "alice")
        .with(Attribute::from_u32(attr::ACCT_DELAY_TIME, 0));
    assert_eq!(
        strict.send(Service::Acct, acct).await.unwrap().code(),
        Code::AccountingResponse
    );
    assert_eq!(
        strict
            .send(Service::Auth, Request::status_server())
            .await
            .unwrap()
            .code(),
        Code::AccessAccept
    );
    assert_eq!(
        strict
            .send(Service::Acct, Request::status_server())
            .await
            .unwrap()
            .code(),
        Code::AccountingResponse
    );
    assert_eq!(strict.dropped(), Default::default());

    // FreeRADIUS 3.2.1 as configured by default: an Access-Accept without a
    // Message-Authenticator, which this client drops.
    let mut plain_server = fr.server("plain", fr.plain_auth, None);
    plain_server.timeout = Duration::from_millis(500);
    plain_server.retries = 0;
    let plain = client(plain_server).await;
    match plain.send(Service::Auth, pap(b"hello")).await {
        Err(ClientError::NoAnswer { servers }) => assert_eq!(servers, ["plain"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(plain.dropped().no_message_authenticator, 1);
}
