//! EAP-TLS fragmentation (RFC 5216 §2.1.5): cutting one TLS flight into
//! fragments that fit the peer's MRU, and putting the peer's fragments back
//! together, bounded.
//!
//! Each fragment but the last has M set and is acknowledged by an empty
//! EAP-TLS packet from the other side; the first fragment of a fragmented
//! message has L set and carries the total length. An unfragmented message
//! is sent without L, as hostapd and Windows do (the RFC allows both).
//!
//! Reassembly is bounded twice: the total (declared or received) may not
//! pass `limit`, and every fragment with M set must carry data, so a peer
//! cannot keep us acknowledging forever.

use core::fmt;

use crate::wire::auth::{EapTls, HEADER_LEN, MESSAGE_LENGTH_LEN};

/// Bytes an EAP-TLS packet spends before its TLS data, with the TLS Message
/// Length field: EAP header, Type, Flags, Length (RFC 5216 §3.1).
pub(crate) const FRAGMENT_OVERHEAD: usize = HEADER_LEN + 1 + 1 + MESSAGE_LENGTH_LEN;

/// The smallest fragment we cut: below this a peer's tiny MRU would make
/// a certificate chain take hundreds of round trips. RFC 1661 §6.1 has
/// every implementation accept 1500-byte frames whatever its MRU, so
/// rounding a silly MRU up stays within what peers must take.
const MIN_FRAGMENT: usize = 256;

/// The TLS data of one fragment for a peer whose MRU is `peer_mru`: the
/// whole EAP packet fits the PPP Information field (RFC 1661 §6.1).
pub(crate) fn fragment_size(peer_mru: u16) -> usize {
    usize::from(peer_mru)
        .saturating_sub(FRAGMENT_OVERHEAD)
        .max(MIN_FRAGMENT)
}

/// One TLS flight on its way out, fragment by fragment.
#[derive(Debug)]
pub(crate) struct Outgoing {
    data: Vec<u8>,
    sent: usize,
    fragment: usize,
    /// The last fragment (or the lone acknowledgement) was handed out.
    done: bool,
}

impl Outgoing {
    /// A flight to send in fragments of at most `fragment` bytes of TLS data.
    pub(crate) fn new(data: Vec<u8>, fragment: usize) -> Self {
        Self {
            data,
            sent: 0,
            fragment: fragment.max(1),
            done: false,
        }
    }

    /// Whether the last fragment has been handed out.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The next fragment, or `None` once the last one was handed out. An
    /// empty flight yields one empty packet (an acknowledgement).
    pub(crate) fn next_fragment(&mut self) -> Option<EapTls> {
        if self.done {
            return None;
        }
        if self.data.is_empty() {
            self.done = true;
            return Some(EapTls::ack());
        }
        let fragmented = self.data.len() > self.fragment;
        let end = self.data.len().min(self.sent + self.fragment);
        let chunk = self.data.get(self.sent..end).unwrap_or_default().to_vec();
        // RFC 5216 §3.1: L "MUST be set for the first fragment of a
        // fragmented TLS message".
        let message_length = (fragmented && self.sent == 0)
            .then(|| u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        self.sent = end;
        self.done = end == self.data.len();
        Some(EapTls::fragment(
            chunk,
            end < self.data.len(),
            message_length,
        ))
    }
}

/// Why the peer's fragments were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FragmentError {
    /// The TLS Message Length, or the bytes received, pass the limit.
    TooLong {
        /// What the peer declared or sent.
        length: usize,
        /// Our limit.
        limit: usize,
    },
    /// The last fragment ended the message at another length than the
    /// first one declared.
    LengthMismatch {
        /// TLS Message Length of the first fragment.
        declared: usize,
        /// Bytes received in all.
        received: usize,
    },
    /// A fragment with M set and no data: no progress.
    EmptyFragment,
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { length, limit } => write!(
                f,
                "the peer's TLS message of {length} bytes is longer than the limit of {limit}"
            ),
            Self::LengthMismatch { declared, received } => write!(
                f,
                "the peer declared a TLS message of {declared} bytes but sent {received}"
            ),
            Self::EmptyFragment => f.write_str("the peer sent an empty fragment with more to come"),
        }
    }
}

/// What a received fragment completed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reassembled {
    /// More fragments follow: acknowledge this one.
    More,
    /// The message is whole.
    Complete(Vec<u8>),
}

/// The peer's TLS flight coming in, fragment by fragment.
#[derive(Debug)]
pub(crate) struct Incoming {
    buf: Vec<u8>,
    declared: Option<usize>,
    in_progress: bool,
    limit: usize,
}

impl Incoming {
    /// Reassembly of messages up to `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            declared: None,
            in_progress: false,
            limit,
        }
    }

    /// Whether earlier fragments wait for the rest.
    pub(crate) fn in_progress(&self) -> bool {
        self.in_progress
    }

    /// Takes one fragment. On an error the partial message is dropped.
    pub(crate) fn push(&mut self, packet: &EapTls) -> Result<Reassembled, FragmentError> {
        let result = self.take(packet);
        if !matches!(result, Ok(Reassembled::More)) {
            self.buf = Vec::new();
            self.declared = None;
            self.in_progress = false;
        }
        result
    }

    fn take(&mut self, packet: &EapTls) -> Result<Reassembled, FragmentError> {
        if !self.in_progress {
            // The first fragment's L counts; a later fragment may repeat
            // it (Windows does) and is not checked against it again.
            // Without L on a fragmented message (against §3.1, but seen
            // in the field), the limit alone bounds what we keep.
            self.declared = match packet.message_length {
                Some(length) => {
                    let length = usize::try_from(length).unwrap_or(usize::MAX);
                    if length > self.limit {
                        return Err(FragmentError::TooLong {
                            length,
                            limit: self.limit,
                        });
                    }
                    Some(length)
                }
                None => None,
            };
        }
        if packet.more_fragments && packet.data.is_empty() {
            return Err(FragmentError::EmptyFragment);
        }
        let received = self.buf.len() + packet.data.len();
        let bound = self.declared.unwrap_or(self.limit);
        if received > bound {
            return Err(match self.declared {
                Some(declared) => FragmentError::LengthMismatch { declared, received },
                None => FragmentError::TooLong {
                    length: received,
                    limit: self.limit,
                },
            });
        }
        if !packet.more_fragments && !self.in_progress {
            // Unfragmented: no copy, and an L that disagrees is checked.
            return match self.declared {
                Some(declared) if declared != packet.data.len() => {
                    Err(FragmentError::LengthMismatch {
                        declared,
                        received: packet.data.len(),
                    })
                }
                _ => Ok(Reassembled::Complete(packet.data.clone())),
            };
        }
        self.buf.extend_from_slice(&packet.data);
        if packet.more_fragments {
            self.in_progress = true;
            return Ok(Reassembled::More);
        }
        if let Some(declared) = self.declared
            && declared != self.buf.len()
        {
            return Err(FragmentError::LengthMismatch {
                declared,
                received: self.buf.len(),
            });
        }
        Ok(Reassembled::Complete(core::mem::take(&mut self.buf)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn flight(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn cut(data: &[u8], fragment: usize) -> Vec<EapTls> {
        let mut out = Outgoing::new(data.to_vec(), fragment);
        let mut fragments = Vec::new();
        while let Some(f) = out.next_fragment() {
            fragments.push(f);
        }
        assert!(out.is_done());
        fragments
    }

    #[test]
    fn a_flight_that_fits_goes_whole_without_length() {
        let fragments = cut(&flight(900), 1000);
        assert_eq!(fragments.len(), 1);
        assert_eq!(fragments[0].message_length, None);
        assert!(!fragments[0].more_fragments);
        assert_eq!(fragments[0].data, flight(900));
    }

    #[test]
    fn a_long_flight_is_cut_with_length_on_the_first_and_more_on_all_but_the_last() {
        let data = flight(2500);
        let fragments = cut(&data, 1000);
        let shape: Vec<_> = fragments
            .iter()
            .map(|f| (f.data.len(), f.more_fragments, f.message_length))
            .collect();
        assert_eq!(
            shape,
            [
                (1000, true, Some(2500)),
                (1000, true, None),
                (500, false, None)
            ]
        );
        let mut incoming = Incoming::new(16 * 1024);
        let mut whole = None;
        for (i, f) in fragments.iter().enumerate() {
            match incoming.push(f).unwrap() {
                Reassembled::More => assert!(i < 2 && incoming.in_progress()),
                Reassembled::Complete(m) => whole = Some(m),
            }
        }
        assert_eq!(whole, Some(data));
        assert!(!incoming.in_progress());
    }

    #[test]
    fn fragment_size_fits_the_peer_mru() {
        // 1500 − (4 EAP header + Type + Flags + 4 Length).
        assert_eq!(fragment_size(1500), 1490);
        let one = cut(&flight(3000), fragment_size(1500));
        assert!(one.iter().all(|f| HEADER_LEN + 1 + f.buffer_len() <= 1500));
        // A silly MRU is rounded up rather than asking for thousands of
        // round trips.
        assert_eq!(fragment_size(64), MIN_FRAGMENT);
    }

    #[test]
    fn an_empty_flight_is_one_acknowledgement() {
        let fragments = cut(&[], 1000);
        assert_eq!(fragments, [EapTls::ack()]);
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_at_once() {
        let mut incoming = Incoming::new(4096);
        let first = EapTls::fragment(flight(100), true, Some(1 << 30));
        assert_eq!(
            incoming.push(&first),
            Err(FragmentError::TooLong {
                length: 1 << 30,
                limit: 4096
            })
        );
        assert!(!incoming.in_progress());
    }

    #[test]
    fn endless_fragments_stop_at_the_limit() {
        // No L at all: the limit bounds what is kept.
        let mut incoming = Incoming::new(4096);
        let mut pushed = 0;
        let err = loop {
            match incoming.push(&EapTls::fragment(flight(1000), true, None)) {
                Ok(Reassembled::More) => pushed += 1,
                Ok(Reassembled::Complete(_)) => panic!("M was set"),
                Err(e) => break e,
            }
        };
        assert_eq!(pushed, 4);
        assert_eq!(
            err,
            FragmentError::TooLong {
                length: 5000,
                limit: 4096
            }
        );
        assert!(!incoming.in_progress(), "the partial message is dropped");
    }

    #[test]
    fn more_data_than_declared_is_a_mismatch() {
        let mut incoming = Incoming::new(4096);
        assert_eq!(
            incoming.push(&EapTls::fragment(flight(1000), true, Some(1500))),
            Ok(Reassembled::More)
        );
        assert_eq!(
            incoming.push(&EapTls::fragment(flight(1000), true, None)),
            Err(FragmentError::LengthMismatch {
                declared: 1500,
                received: 2000
            })
        );
    }

    #[test]
    fn a_last_fragment_short_of_the_declared_length_is_a_mismatch() {
        let mut incoming = Incoming::new(4096);
        incoming
            .push(&EapTls::fragment(flight(1000), true, Some(2500)))
            .unwrap();
        assert_eq!(
            incoming.push(&EapTls::fragment(flight(200), false, None)),
            Err(FragmentError::LengthMismatch {
                declared: 2500,
                received: 1200
            })
        );
        // An unfragmented message with a wrong L, too.
        assert_eq!(
            incoming.push(&EapTls::fragment(flight(10), false, Some(11))),
            Err(FragmentError::LengthMismatch {
                declared: 11,
                received: 10
            })
        );
    }

    #[test]
    fn an_empty_fragment_with_more_to_come_is_refused() {
        let mut incoming = Incoming::new(4096);
        assert_eq!(
            incoming.push(&EapTls::fragment(Vec::new(), true, Some(100))),
            Err(FragmentError::EmptyFragment)
        );
    }

    #[test]
    fn a_repeated_length_on_later_fragments_is_accepted() {
        let data = flight(2000);
        let mut incoming = Incoming::new(4096);
        incoming
            .push(&EapTls::fragment(data[..1000].to_vec(), true, Some(2000)))
            .unwrap();
        assert_eq!(
            incoming.push(&EapTls::fragment(data[1000..].to_vec(), false, Some(2000))),
            Ok(Reassembled::Complete(data))
        );
    }

    #[test]
    fn errors_read_as_words() {
        assert_eq!(
            FragmentError::TooLong {
                length: 70000,
                limit: 65536
            }
            .to_string(),
            "the peer's TLS message of 70000 bytes is longer than the limit of 65536"
        );
    }
}
