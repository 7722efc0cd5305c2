//! RADIUS accounting (RFC 2866): Accounting-On at start and Accounting-Off
//! at stop (§5.1 Acct-Status-Type 7, 8), and per session a Start when it
//! comes up, an Interim-Update every Acct-Interim-Interval (RFC 2869
//! §5.16) and a Stop with the counters and the Acct-Terminate-Cause when
//! it ends.
//!
//! Records go into one bounded queue and one task sends them in order, so
//! a RADIUS outage costs no session anything: sessions only push. A record
//! leaves the queue when a server answers it; while none does, the task
//! tries again with backoff, and Acct-Delay-Time (§5.2) says how long the
//! record waited. A full queue sheds Interim-Updates first (a later one or
//! the Stop carries the same counters), then the oldest record, and counts
//! every loss. At a stop whatever is still queued is written to the spool
//! file, and read back first at the next start: no record is lost to a
//! restart.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ipnet::Ipv6Net;
use sstp_radius::{Attribute, Code, RadiusClient, Request, Service, attr};
use tokio::sync::Notify;
use tracing::{info, warn};

use super::Nas;
use crate::auth::AuthContext;
use crate::metrics::RadiusMetrics;

/// Acct-Status-Type values (RFC 2866 §5.1).
mod status {
    pub(super) const START: u32 = 1;
    pub(super) const STOP: u32 = 2;
    pub(super) const INTERIM_UPDATE: u32 = 3;
    pub(super) const ACCOUNTING_ON: u32 = 7;
    pub(super) const ACCOUNTING_OFF: u32 = 8;
}

/// Acct-Authentic (RFC 2866 §5.6): who authenticated the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Authentic {
    /// A RADIUS server (1).
    Radius,
    /// This server's users file or certificate policy (2).
    Local,
}

/// What accounting says of one session, fixed from its start.
#[derive(Debug, Clone)]
pub(crate) struct AcctSession {
    pub(crate) context: AuthContext,
    pub(crate) user: String,
    pub(crate) ipv4: Ipv4Addr,
    pub(crate) ipv6: Option<Ipv6Net>,
    /// Class attributes of the Access-Accept, echoed (RFC 2865 §5.25).
    pub(crate) class: Vec<Vec<u8>>,
    pub(crate) authentic: Authentic,
    pub(crate) started: Instant,
}

/// A session's traffic so far, from the NAS's side (RFC 2866 §5.3, §5.4:
/// input is what the client sent).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub(crate) input_octets: u64,
    pub(crate) output_octets: u64,
    pub(crate) input_packets: u64,
    pub(crate) output_packets: u64,
}

/// One queued record: its attributes (without Acct-Delay-Time) and when
/// it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    attributes: Vec<Attribute>,
    /// Seconds since the Unix epoch when the event happened.
    made: u64,
    interim: bool,
    /// Its place in the queue's order (set when queued).
    seq: u64,
}

impl Record {
    /// The session it is about: records of one session go out one at a
    /// time, in order (a Stop never overtakes its Start).
    fn session(&self) -> &[u8] {
        self.attributes
            .iter()
            .find(|a| a.ty == attr::ACCT_SESSION_ID)
            .map_or(&[][..], |a| a.value.as_slice())
    }

    fn request(&self) -> Request {
        let delay = u32::try_from(unix_now().saturating_sub(self.made)).unwrap_or(u32::MAX);
        let mut request = Request::accounting_request();
        for a in &self.attributes {
            request.push(a.clone());
        }
        request.push(Attribute::from_u32(attr::ACCT_DELAY_TIME, delay));
        request
    }
}

/// Records in flight at once: enough to keep up with a few thousand
/// sessions starting and ending a second over a fast link.
const WINDOW: usize = 64;
/// How far into the queue the sender looks for records it may send now.
const LOOKAHEAD: usize = 4 * WINDOW;

/// The most records the spool file is read back with.
const MAX_SPOOL_RECORDS: usize = 1_000_000;

/// The accounting queue and its sender.
#[derive(Debug)]
pub(crate) struct Accounting {
    /// The backend's client, swapped when a reload changes the servers.
    client: super::SharedClient,
    nas: Arc<Nas>,
    queue: Mutex<VecDeque<Record>>,
    limit: usize,
    wake: Notify,
    spool: Option<PathBuf>,
    metrics: Arc<RadiusMetrics>,
    /// The Interim-Update interval when the Access-Accept gives none.
    pub(crate) default_interim: Option<Duration>,
    next_seq: std::sync::atomic::AtomicU64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Accounting {
    pub(crate) fn new(
        client: super::SharedClient,
        nas: Arc<Nas>,
        limit: usize,
        spool: Option<PathBuf>,
        default_interim: Option<Duration>,
        metrics: Arc<RadiusMetrics>,
    ) -> Self {
        Self {
            client,
            nas,
            queue: Mutex::new(VecDeque::new()),
            limit: limit.max(1),
            wake: Notify::new(),
            spool,
            metrics,
            default_interim,
            next_seq: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Record>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, mut record: Record) {
        record.seq = self
            .next_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut queue = self.queue();
        if queue.len() >= self.limit {
            // An Interim-Update first: the next one, or the Stop, says the
            // same and more.
            let victim = queue.iter().position(|r| r.interim).unwrap_or(0);
            queue.remove(victim);
            self.metrics.accounting_dropped.inc();
            warn!(
                limit = self.limit,
                "the accounting queue is full (no RADIUS server answers); a record was dropped"
            );
        }
        queue.push_back(record);
        self.metrics.accounting_queued.set(queue.len() as i64);
        drop(queue);
        self.wake.notify_one();
    }

    /// The attributes of every record about `session` (RFC 2866 §5,
    /// RFC 2865 §5 for the NAS and user ones).
    fn session_attributes(&self, status: u32, session: &AcctSession) -> Vec<Attribute> {
        let mut attributes = vec![Attribute::from_u32(attr::ACCT_STATUS_TYPE, status)];
        attributes.extend(self.nas.session_attributes(&session.context));
        attributes.push(Attribute::new(attr::USER_NAME, session.user.as_bytes()));
        attributes.push(Attribute::from_ipv4(attr::FRAMED_IP_ADDRESS, session.ipv4));
        if let Some(prefix) = session.ipv6 {
            attributes.push(Attribute::from_ipv6_prefix(
                attr::FRAMED_IPV6_PREFIX,
                prefix.network(),
                prefix.prefix_len(),
            ));
        }
        let authentic = match session.authentic {
            Authentic::Radius => 1,
            Authentic::Local => 2,
        };
        attributes.push(Attribute::from_u32(attr::ACCT_AUTHENTIC, authentic));
        for class in &session.class {
            attributes.push(Attribute::new(attr::CLASS, class.clone()));
        }
        attributes
    }

    fn usage_attributes(attributes: &mut Vec<Attribute>, session: &AcctSession, usage: Usage) {
        let seconds = u32::try_from(session.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        attributes.push(Attribute::from_u32(attr::ACCT_SESSION_TIME, seconds));
        // RFC 2869 §5.1, §5.2: the 32-bit counters wrap into Gigawords.
        let split = |n: u64| (n as u32, (n >> 32) as u32);
        let (lo, hi) = split(usage.input_octets);
        attributes.push(Attribute::from_u32(attr::ACCT_INPUT_OCTETS, lo));
        attributes.push(Attribute::from_u32(attr::ACCT_INPUT_GIGAWORDS, hi));
        let (lo, hi) = split(usage.output_octets);
        attributes.push(Attribute::from_u32(attr::ACCT_OUTPUT_OCTETS, lo));
        attributes.push(Attribute::from_u32(attr::ACCT_OUTPUT_GIGAWORDS, hi));
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        attributes.push(Attribute::from_u32(
            attr::ACCT_INPUT_PACKETS,
            clamp(usage.input_packets),
        ));
        attributes.push(Attribute::from_u32(
            attr::ACCT_OUTPUT_PACKETS,
            clamp(usage.output_packets),
        ));
    }

    fn record(attributes: Vec<Attribute>, interim: bool) -> Record {
        let made = unix_now();
        let mut attributes = attributes;
        attributes.push(Attribute::from_u32(
            attr::EVENT_TIMESTAMP,
            u32::try_from(made).unwrap_or(u32::MAX),
        ));
        Record {
            attributes,
            made,
            interim,
            seq: 0,
        }
    }

    /// A session came up.
    pub(crate) fn start(&self, session: &AcctSession) {
        let attributes = self.session_attributes(status::START, session);
        self.push(Self::record(attributes, false));
    }

    /// A session's Interim-Update.
    pub(crate) fn interim(&self, session: &AcctSession, usage: Usage) {
        let mut attributes = self.session_attributes(status::INTERIM_UPDATE, session);
        Self::usage_attributes(&mut attributes, session, usage);
        self.push(Self::record(attributes, true));
    }

    /// A session ended with this Acct-Terminate-Cause (RFC 2866 §5.10).
    pub(crate) fn stop(&self, session: &AcctSession, usage: Usage, cause: u32) {
        let mut attributes = self.session_attributes(status::STOP, session);
        Self::usage_attributes(&mut attributes, session, usage);
        attributes.push(Attribute::from_u32(attr::ACCT_TERMINATE_CAUSE, cause));
        self.push(Self::record(attributes, false));
    }

    /// Accounting-On or -Off: this NAS starts or stops (RFC 2866 §5.1), so
    /// the server may close the sessions it still thinks open.
    fn on_off(&self, status: u32) {
        let mut attributes = vec![
            Attribute::from_u32(attr::ACCT_STATUS_TYPE, status),
            Attribute::new(attr::NAS_IDENTIFIER, self.nas.identifier.as_bytes()),
            // RFC 2866 §5.5 wants an Acct-Session-Id in every record.
            Attribute::new(attr::ACCT_SESSION_ID, b"0".to_vec()),
        ];
        if let Some(ip) = self.nas.ip {
            attributes.push(Attribute::from_ipv4(attr::NAS_IP_ADDRESS, ip));
        }
        self.push(Self::record(attributes, false));
    }

    /// The server starts: the spooled records of the last run, then
    /// Accounting-On.
    pub(crate) fn begin(&self) {
        if let Some(spool) = &self.spool {
            match read_spool(spool) {
                Ok(records) if !records.is_empty() => {
                    info!(records = records.len(), spool = %spool.display(), "accounting records of the last run read back");
                    for record in records {
                        self.push(record);
                    }
                    if let Err(e) = std::fs::remove_file(spool) {
                        warn!(spool = %spool.display(), error = %e, "cannot remove the accounting spool; its records may be sent twice");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(spool = %spool.display(), error = %e, "cannot read the accounting spool")
                }
            }
        }
        self.on_off(status::ACCOUNTING_ON);
    }

    /// The server stops: Accounting-Off, up to `within` to send what is
    /// queued, then the rest to the spool.
    pub(crate) async fn end(&self, within: Duration) {
        self.on_off(status::ACCOUNTING_OFF);
        let deadline = tokio::time::Instant::now() + within;
        while !self.queue().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left: Vec<Record> = self.queue().drain(..).collect();
        self.metrics.accounting_queued.set(0);
        if left.is_empty() {
            return;
        }
        match &self.spool {
            Some(spool) => match write_spool(spool, &left) {
                Ok(()) => {
                    self.metrics.accounting_spooled.inc_by(left.len() as u64);
                    info!(records = left.len(), spool = %spool.display(), "accounting records saved for the next start");
                }
                Err(e) => {
                    self.metrics.accounting_dropped.inc_by(left.len() as u64);
                    warn!(records = left.len(), spool = %spool.display(), error = %e, "cannot save the accounting records; they are lost");
                }
            },
            None => {
                self.metrics.accounting_dropped.inc_by(left.len() as u64);
                warn!(
                    records = left.len(),
                    "no RADIUS server took the last accounting records and radius.accounting_spool is unset: they are lost"
                );
            }
        }
    }

    /// Up to `n` records that may go now, in queue order: not in flight,
    /// and with no earlier record of their session still waiting.
    fn pick(&self, in_flight: &HashSet<u64>, n: usize) -> Vec<Record> {
        let queue = self.queue();
        let mut held: HashSet<&[u8]> = HashSet::new();
        let mut picked = Vec::new();
        for record in queue.iter().take(LOOKAHEAD) {
            if picked.len() >= n {
                break;
            }
            let first_of_session = held.insert(record.session());
            if first_of_session && !in_flight.contains(&record.seq) {
                picked.push(record.clone());
            }
        }
        picked
    }

    /// A record a server answered leaves the queue.
    fn answered(&self, seq: u64) {
        let mut queue = self.queue();
        if let Some(at) = queue.iter().position(|r| r.seq == seq) {
            queue.remove(at);
        }
        self.metrics.accounting_queued.set(queue.len() as i64);
        drop(queue);
        self.metrics.accounting_sent.inc();
    }

    /// Sends the queue for as long as the server runs: up to [`WINDOW`]
    /// records at once, each session's in order; while no server answers,
    /// one at a time with backoff, so an outage costs a probe, not a flood.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut flying = tokio::task::JoinSet::new();
        let mut in_flight: HashSet<u64> = HashSet::new();
        let mut backoff = Duration::from_secs(1);
        let mut failing = false;
        loop {
            let room = if failing { 1 } else { WINDOW }.saturating_sub(flying.len());
            if room > 0 {
                for record in self.pick(&in_flight, room) {
                    in_flight.insert(record.seq);
                    let client = RadiusClient::clone(&self.client.load());
                    flying.spawn(async move {
                        let answer = client.send(Service::Acct, record.request()).await;
                        (record.seq, answer)
                    });
                }
            }
            if flying.is_empty() {
                self.wake.notified().await;
                continue;
            }
            let done = tokio::select! {
                done = flying.join_next() => done,
                // New records: more may fit in the window.
                () = self.wake.notified(), if flying.len() < WINDOW && !failing => continue,
            };
            let Some(Ok((seq, answer))) = done else {
                continue;
            };
            in_flight.remove(&seq);
            match answer {
                Ok(reply) if reply.code() == Code::AccountingResponse => {
                    self.answered(seq);
                    if failing {
                        info!(server = %reply.server, "a RADIUS server takes accounting again");
                        failing = false;
                    }
                    backoff = Duration::from_secs(1);
                }
                Ok(reply) => {
                    // Verified as the server's, but not an answer to
                    // accounting: keep the record and try later.
                    warn!(server = %reply.server, code = %reply.code(), "unexpected answer to an Accounting-Request");
                    tokio::time::sleep(backoff).await;
                }
                Err(error) => {
                    if !failing {
                        warn!(%error, "RADIUS accounting is failing; records wait in the queue");
                        failing = true;
                    }
                    // The window's other records fail alike: wait once,
                    // when the last of them is back.
                    if flying.is_empty() {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
    }
}

/// The spool: one record a line, `<unix seconds> <interim 0|1>
/// <attributes as RADIUS TLVs, hex>`.
fn write_spool(path: &Path, records: &[Record]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = std::io::BufWriter::new(options.open(&tmp)?);
        // Records the last run left and nobody read back yet come first.
        if let Ok(old) = read_spool(path) {
            for record in &old {
                writeln!(file, "{}", spool_line(record))?;
            }
        }
        for record in records {
            writeln!(file, "{}", spool_line(record))?;
        }
        file.flush()?;
        file.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn spool_line(record: &Record) -> String {
    let mut tlv = Vec::new();
    for a in &record.attributes {
        tlv.push(a.ty);
        tlv.push((a.value.len() + 2).min(255) as u8);
        tlv.extend_from_slice(&a.value[..a.value.len().min(253)]);
    }
    format!(
        "{} {} {}",
        record.made,
        u8::from(record.interim),
        hex::encode(tlv)
    )
}

fn read_spool(path: &Path) -> std::io::Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate().take(MAX_SPOOL_RECORDS) {
        match parse_spool_line(line) {
            Some(record) => records.push(record),
            None => {
                warn!(line = n + 1, spool = %path.display(), "skipping a damaged accounting spool line")
            }
        }
    }
    Ok(records)
}

fn parse_spool_line(line: &str) -> Option<Record> {
    let mut words = line.split(' ');
    let made = words.next()?.parse().ok()?;
    let interim = match words.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let tlv = hex::decode(words.next()?).ok()?;
    let mut attributes = Vec::new();
    let mut rest = tlv.as_slice();
    while let [ty, len, tail @ ..] = rest {
        let value_len = usize::from(*len).checked_sub(2)?;
        let (value, next) = tail.split_at_checked(value_len)?;
        attributes.push(Attribute::new(*ty, value.to_vec()));
        rest = next;
    }
    // A cut attribute, or no record at all: the line is damaged.
    if !rest.is_empty() || attributes.is_empty() {
        return None;
    }
    Some(Record {
        attributes,
        made,
        interim,
        seq: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(session: &str) -> Record {
        Record {
            attributes: vec![Attribute::new(
                attr::ACCT_SESSION_ID,
                session.as_bytes().to_vec(),
            )],
            made: 0,
            interim: false,
            seq: 0,
        }
    }

    #[tokio::test]
    async fn the_sender_keeps_each_session_in_order_and_the_queue_bounded() {
        let client = RadiusClient::new(sstp_radius::ClientConfig::new(Vec::new()))
            .await
            .expect("client");
        let nas = Arc::new(Nas {
            identifier: "t".into(),
            ip: None,
            ipv6: None,
            called_station_id: String::new(),
            tunnel_type: 25,
        });
        let metrics = Arc::new(crate::metrics::Metrics::new()).radius.clone();
        let client = Arc::new(arc_swap::ArcSwap::from_pointee(client));
        let acct = Accounting::new(client, nas, 4, None, None, metrics.clone());
        for s in ["A", "B", "A", "C"] {
            acct.push(record(s));
        }
        let seqs = |r: Vec<Record>| r.iter().map(|r| r.seq).collect::<Vec<_>>();
        // A's second record waits for its first; B and C go beside it.
        assert_eq!(seqs(acct.pick(&HashSet::new(), 10)), [1, 2, 4]);
        assert_eq!(seqs(acct.pick(&HashSet::from([1, 2]), 10)), [4]);
        acct.answered(1);
        assert_eq!(seqs(acct.pick(&HashSet::from([2]), 10)), [3, 4]);
        assert_eq!(seqs(acct.pick(&HashSet::new(), 1)), [2]);
        // Full (4): a fifth record pushes the oldest out, counted.
        acct.push(record("D"));
        acct.push(record("E"));
        assert_eq!(metrics.accounting_dropped.get(), 1);
        assert_eq!(acct.queue().len(), 4);
    }

    #[test]
    fn spool_lines_round_trip_and_damage_is_skipped() {
        let record = Record {
            attributes: vec![
                Attribute::from_u32(attr::ACCT_STATUS_TYPE, status::STOP),
                Attribute::new(attr::USER_NAME, b"alice".to_vec()),
                Attribute::new(attr::CLASS, vec![0u8; 253]),
            ],
            made: 1_700_000_000,
            interim: false,
            seq: 0,
        };
        let line = spool_line(&record);
        assert_eq!(parse_spool_line(&line), Some(record.clone()));
        for damaged in ["", "x 0 00", "1 2 0000", "1 0 zz", "1 0 2806", "1 0 01"] {
            assert_eq!(parse_spool_line(damaged), None, "{damaged:?}");
        }
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("acct.spool");
        write_spool(&path, std::slice::from_ref(&record)).expect("write");
        write_spool(&path, std::slice::from_ref(&record)).expect("append");
        let back = read_spool(&path).expect("read");
        assert_eq!(back, vec![record.clone(), record]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
