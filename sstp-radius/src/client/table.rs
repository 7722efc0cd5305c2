//! The identifiers of one destination (RFC 2865 §3: the Identifier matches
//! an answer to its request, per source address and port, so 256 requests
//! can be in flight to one server port at once). A request holds its
//! identifiers through [`Lease`]s, which give them back when dropped, so a
//! cancelled `send` frees them.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::packet::{Code, Packet};

/// What the receive task hands the request that was answered.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) packet: Packet,
    /// The Request Authenticator of the transmission it answered.
    pub(super) authenticator: [u8; 16],
    pub(super) latency: Duration,
}

/// One outstanding transmission, as the receive task needs it to verify
/// an answer.
#[derive(Debug)]
pub(super) struct Pending {
    /// Index of the server whose secret signed it.
    pub(super) server: usize,
    pub(super) code: Code,
    pub(super) authenticator: [u8; 16],
    pub(super) sent_at: Instant,
    pub(super) answer: mpsc::Sender<Answer>,
}

#[derive(Debug)]
enum Slot {
    Free,
    /// Taken, the request not yet encoded: an answer is unexpected.
    Reserved,
    Pending(Pending),
    /// Answered once; a second answer is a duplicate.
    Answered,
}

/// Why the receive task did not take a datagram for a known source.
#[derive(Debug)]
pub(super) enum Lookup {
    /// No request in flight with this identifier (never sent, not yet
    /// sent, or already answered).
    Unknown,
    /// The outstanding transmission to verify against.
    Found(usize, Code, [u8; 16], Instant),
}

#[derive(Debug)]
pub(super) struct IdTable {
    slots: Mutex<Slots>,
    freed: Notify,
}

#[derive(Debug)]
struct Slots {
    slots: Vec<Slot>,
    /// Where the next search starts, so an identifier just freed is the
    /// last to be used again (a late answer then meets no request).
    next: usize,
}

impl IdTable {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(Slots {
                slots: (0..256).map(|_| Slot::Free).collect(),
                next: 0,
            }),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves the slots consistent (each
        // change is one assignment), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a free identifier, waiting (until `deadline`) for one to be
    /// released when all 256 are in flight. Never reuses a live one.
    pub(super) async fn acquire(self: &Arc<Self>, deadline: Instant) -> Option<Lease> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before looking, so a release in between wakes us.
            freed.as_mut().enable();
            if let Some(lease) = self.try_acquire() {
                return Some(lease);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }

    /// Takes a free identifier if there is one now.
    pub(super) fn try_acquire(self: &Arc<Self>) -> Option<Lease> {
        let mut s = self.lock();
        let start = s.next;
        let found = (0..256)
            .map(|i| (start + i) % 256)
            .find(|&i| matches!(s.slots[i], Slot::Free))?;
        s.slots[found] = Slot::Reserved;
        s.next = (found + 1) % 256;
        Some(Lease {
            table: Arc::clone(self),
            id: u8::try_from(found).unwrap_or(u8::MAX),
        })
    }

    /// The transmission waiting under this identifier, if any.
    pub(super) fn lookup(&self, id: u8) -> Lookup {
        match &self.lock().slots[usize::from(id)] {
            Slot::Pending(p) => Lookup::Found(p.server, p.code, p.authenticator, p.sent_at),
            _ => Lookup::Unknown,
        }
    }

    /// Hands a verified answer to the request waiting under `id`, if it is
    /// still the transmission with this authenticator. Returns whether it
    /// was taken.
    pub(super) fn deliver(&self, id: u8, authenticator: &[u8; 16], answer: Answer) -> bool {
        let mut s = self.lock();
        let slot = &mut s.slots[usize::from(id)];
        let Slot::Pending(p) = slot else {
            return false;
        };
        if &p.authenticator != authenticator {
            return false;
        }
        let tx = p.answer.clone();
        *slot = Slot::Answered;
        drop(s);
        // A full channel means another identifier of the same request was
        // answered first; this answer is then surplus.
        tx.try_send(answer).is_ok()
    }

    /// Identifiers taken now.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.lock()
            .slots
            .iter()
            .filter(|s| !matches!(s, Slot::Free))
            .count()
    }
}

/// An identifier held by a request; dropping it frees the identifier and
/// wakes a request waiting for one.
#[derive(Debug)]
pub(super) struct Lease {
    table: Arc<IdTable>,
    id: u8,
}

impl Lease {
    pub(super) const fn id(&self) -> u8 {
        self.id
    }

    /// The request is encoded and about to be sent: answers are now
    /// expected under this identifier.
    pub(super) fn arm(&self, pending: Pending) {
        self.table.lock().slots[usize::from(self.id)] = Slot::Pending(pending);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.table.lock().slots[usize::from(self.id)] = Slot::Free;
        self.table.freed.notify_waiters();
    }
}
