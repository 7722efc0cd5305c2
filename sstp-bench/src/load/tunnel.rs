//! One SSTP tunnel without a TUN device: a TLS stream and an sstp-core
//! `ClientSession`, driven in the call order of the `sstp_core` docs
//! (input, then drain `poll_transmit` / `poll_ip` / `poll_event`, then
//! sleep until `poll_timeout`). The IP packets are the caller's: it sends
//! with [`Tunnel::send_ip`] and takes what arrived in [`Tunnel::pump`].
//!
//! The loop has the shape of `sstp-client`'s `driver.rs` but is split into
//! steps (`pump`, `wait`) so a benchmark can put its own wake-ups (a
//! command from the controller, a loss deadline) beside the session's.
//!
//! Memory per tunnel is what 10,000 of them in one process can afford: the
//! read buffer is sized by the caller (small for idle sessions), and an
//! idle tunnel hands the transmit buffer's capacity back after each write
//! instead of keeping the session's 16 KiB (`Tunnel::lean`).

use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use sstp_core::Session;
use sstp_core::{ClientConfig, ClientSession, CloseKind, CloseReason, Event, SendError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::dial::Dialer;

/// Longest a clean disconnect (LCP Terminate, Call Disconnect and its Ack)
/// may take before the connection is dropped.
pub(crate) const CLOSE_LIMIT: Duration = Duration::from_secs(10);
/// Longest the TLS close_notify may take.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// An established tunnel.
#[derive(Debug)]
pub(crate) struct Tunnel {
    stream: TlsStream<TcpStream>,
    session: ClientSession,
    rbuf: Box<[u8]>,
    tx: Vec<u8>,
    lean: bool,
    /// Our address on the tunnel (IPCP).
    pub(crate) local: Ipv4Addr,
    /// The largest IP packet we may send.
    pub(crate) mtu: u16,
}

/// What ended a [`Tunnel::wait`].
#[derive(Debug)]
pub(crate) enum Woke<T> {
    /// TLS input or a session timer: call [`Tunnel::pump`].
    Session,
    /// The caller's deadline passed.
    Deadline,
    /// The caller's future completed.
    Wake(T),
}

impl Tunnel {
    /// Dials (connection number `index` picks the source address), runs
    /// SSTP and PPP until the engine reports the tunnel up, within the
    /// dialer's timeout. `read_buf` is the TLS read size; `lean` drops the
    /// transmit buffer after each write (idle sessions).
    pub(crate) async fn establish(
        dialer: &Dialer,
        config: &ClientConfig,
        index: usize,
        read_buf: usize,
        lean: bool,
    ) -> anyhow::Result<Self> {
        let limit = dialer.timeout;
        tokio::time::timeout(
            limit,
            Self::establish_inner(dialer, config, index, read_buf, lean),
        )
        .await
        .map_err(|_| anyhow!("the tunnel was not up within {limit:?}"))?
    }

    async fn establish_inner(
        dialer: &Dialer,
        config: &ClientConfig,
        index: usize,
        read_buf: usize,
        lean: bool,
    ) -> anyhow::Result<Self> {
        let dialed = dialer.dial(index).await?;
        // Nonces, challenges and magic numbers: a CSPRNG seeded from the OS,
        // as in our client.
        let rng: Box<dyn sstp_core::Random + Send> =
            Box::new(rand::make_rng::<rand::rngs::StdRng>());
        let at = now();
        let mut session = ClientSession::new(config, dialed.cert, at, rng);
        sstp_tun::drive::set_wall_clock(&mut session, at);
        if !dialed.leftover.is_empty() {
            session.handle_input(now(), &dialed.leftover);
        }
        let mut tunnel = Self {
            stream: dialed.stream,
            session,
            rbuf: vec![0u8; read_buf.max(512)].into_boxed_slice(),
            tx: Vec::new(),
            lean,
            local: Ipv4Addr::UNSPECIFIED,
            mtu: 0,
        };
        loop {
            tunnel.flush().await?;
            while let Some(event) = tunnel.session.poll_event() {
                match event {
                    Event::Up(net) => {
                        tunnel.local = net.ipv4.local;
                        tunnel.mtu = net.mtu;
                        // Bytes queued with Up (e.g. the last IPCP Ack)
                        // go out before the caller's first wait.
                        tunnel.flush().await?;
                        return Ok(tunnel);
                    }
                    Event::Down(reason) => {
                        bail!("the call ended before the tunnel came up: {reason}")
                    }
                    _ => {}
                }
            }
            tunnel.wait(None, std::future::pending::<()>()).await?;
        }
    }

    /// Queues an IP packet for the tunnel (sent by the next `pump`).
    pub(crate) fn send_ip(&mut self, packet: &[u8]) -> Result<(), SendError> {
        self.session.send_ip(packet)
    }

    /// Writes what the session queued, hands every received IP packet to
    /// `on_packet`, and returns the reason if the session is over.
    pub(crate) async fn pump(
        &mut self,
        mut on_packet: impl FnMut(&[u8]),
    ) -> anyhow::Result<Option<CloseReason>> {
        self.flush().await?;
        while let Some(packet) = self.session.poll_ip() {
            on_packet(packet);
        }
        while let Some(event) = self.session.poll_event() {
            if let Event::Down(reason) = event {
                return Ok(Some(reason));
            }
        }
        Ok(None)
    }

    /// Sleeps until TLS input (fed to the session), the session's timer
    /// (served), `deadline`, or `wake`, whichever is first.
    pub(crate) async fn wait<T>(
        &mut self,
        deadline: Option<Instant>,
        wake: impl Future<Output = T>,
    ) -> anyhow::Result<Woke<T>> {
        let timer = self.session.poll_timeout().map(Instant::from_std);
        tokio::select! {
            r = self.stream.read(&mut self.rbuf) => match r {
                Ok(0) => {
                    self.session.transport_closed(now());
                    Ok(Woke::Session)
                }
                Ok(n) => {
                    self.session.handle_input(now(), &self.rbuf[..n]);
                    Ok(Woke::Session)
                }
                Err(e) => {
                    self.session.transport_closed(now());
                    Err(e).context("TLS read")
                }
            },
            () = sleep_until_opt(timer) => {
                self.session.handle_timeout(now());
                Ok(Woke::Session)
            }
            () = sleep_until_opt(deadline) => Ok(Woke::Deadline),
            v = wake => Ok(Woke::Wake(v)),
        }
    }

    /// A clean disconnect (RFC 1661 Terminate, then MS-SSTP Call
    /// Disconnect and its Ack, then TLS close_notify), bounded by
    /// [`CLOSE_LIMIT`]. Returns how the call ended; `Ok` only if it ended
    /// normally.
    pub(crate) async fn close(mut self) -> anyhow::Result<()> {
        self.session.close(now());
        let give_up = Instant::now() + CLOSE_LIMIT;
        let reason = loop {
            if let Some(reason) = self.pump(|_| {}).await? {
                break reason;
            }
            if let Woke::Deadline = self
                .wait(Some(give_up), std::future::pending::<()>())
                .await?
            {
                self.session.transport_closed(now());
            }
        };
        // The last bytes (the Call Disconnect Ack), then close_notify.
        let _ = tokio::time::timeout(SHUTDOWN_LIMIT, self.flush()).await;
        let _ = tokio::time::timeout(SHUTDOWN_LIMIT, self.stream.shutdown()).await;
        match reason.kind() {
            CloseKind::Normal => Ok(()),
            _ => Err(anyhow!("the disconnect did not complete: {reason}")),
        }
    }

    /// Writes everything `poll_transmit` has in one TLS write.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        self.tx.clear();
        if !self.session.poll_transmit(&mut self.tx) {
            return Ok(());
        }
        let written = async {
            self.stream.write_all(&self.tx).await?;
            self.stream.flush().await
        }
        .await;
        if self.lean {
            // The session got our empty buffer in the swap; drop its old
            // one rather than keep 16 KiB per idle session.
            self.tx = Vec::new();
        }
        if let Err(e) = written {
            self.session.transport_closed(now());
            return Err(e).context("TLS write");
        }
        Ok(())
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use sstp_core::Credential;

    use super::*;
    use crate::load::dial::Kx;
    use crate::load::fake_server::{self, PASSWORD, SERVER_IP, USER};
    use crate::load::icmp::{EchoRequest, parse_echo_reply};

    fn client(user: &str, password: &str) -> ClientConfig {
        let mut config = ClientConfig::new(user, Credential::from_password(password));
        config.auth_methods = vec![sstp_core::AuthMethod::MsChapV2];
        config.common.ipv6 = false;
        config
    }

    fn dialer(server: std::net::SocketAddr) -> Dialer {
        Dialer::new(server, vec![], None, Kx::Default, Duration::from_secs(10)).expect("dialer")
    }

    #[tokio::test]
    async fn up_echo_and_clean_close() {
        let server = fake_server::start().await;
        let dialer = dialer(server);
        let mut tunnel = Tunnel::establish(&dialer, &client(USER, PASSWORD), 0, 2048, true)
            .await
            .expect("tunnel up");
        assert_eq!(tunnel.local, Ipv4Addr::new(10, 64, 0, 2));
        assert_eq!(tunnel.mtu, 1400);
        let mut packet = Vec::new();
        EchoRequest {
            src: tunnel.local,
            dst: SERVER_IP,
            id: 7,
            seq: 1,
            payload_len: 1372,
        }
        .emit(&mut packet)
        .expect("fits");
        tunnel.send_ip(&packet).expect("queued");
        let mut replies = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(10);
        while replies.is_empty() {
            let down = tunnel
                .pump(|p| replies.push(parse_echo_reply(p)))
                .await
                .expect("pump");
            assert!(down.is_none(), "session ended: {down:?}");
            if replies.is_empty()
                && let Woke::Deadline = tunnel
                    .wait(Some(give_up), std::future::pending::<()>())
                    .await
                    .expect("wait")
            {
                panic!("no echo reply within 10 s");
            }
        }
        let reply = replies[0].expect("a good reply");
        assert_eq!((reply.id, reply.seq, reply.len), (7, 1, 1400));
        assert_eq!((reply.src, reply.dst), (SERVER_IP, tunnel.local));
        tunnel.close().await.expect("clean close");
    }

    #[tokio::test]
    async fn a_wrong_password_is_an_error() {
        let server = fake_server::start().await;
        let err = Tunnel::establish(&dialer(server), &client(USER, "wrong"), 0, 2048, true)
            .await
            .expect_err("refused");
        assert!(
            format!("{err:#}").contains("before the tunnel came up"),
            "{err:#}"
        );
    }

    #[tokio::test]
    async fn a_wrong_fingerprint_is_refused() {
        let server = fake_server::start().await;
        let pin = sstp_client::Fingerprint([0; 32]);
        let dialer = Dialer::new(
            server,
            vec![],
            Some(pin),
            Kx::Default,
            Duration::from_secs(10),
        )
        .expect("dialer");
        let err = Tunnel::establish(&dialer, &client(USER, PASSWORD), 0, 2048, true)
            .await
            .expect_err("refused");
        assert!(format!("{err:#}").contains("TLS handshake"), "{err:#}");
    }
}
