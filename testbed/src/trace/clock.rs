//! Lamport clocks: a counter per peer that orders events by happened-before. A peer ticks it
//! for each message it sends and carries the value in the message; a receiver moves its own
//! clock past the value it receives. So if one event could have caused another, its time is
//! smaller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The wall clock, in milliseconds since the Unix epoch: what a message from another tab
/// carries, since its trace's own times start with its page.
pub fn unix_ms() -> u64 {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// One peer's clock; clones share it.
#[derive(Debug, Clone, Default)]
pub struct LamportClock(Arc<AtomicU64>);

impl LamportClock {
    /// A local event or a send: the clock moves one step and the new time is returned.
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A receive of a message stamped `remote`: the clock jumps past it.
    pub fn receive(&self, remote: u64) -> u64 {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            let next = current.max(remote).saturating_add(1);
            match self
                .0
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }

    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_tick_and_receives_jump_past_the_sender() {
        let (a, b) = (LamportClock::default(), LamportClock::default());
        let sent = a.tick();
        assert_eq!(sent, 1);
        b.tick();
        b.tick();
        b.tick();
        assert_eq!(b.receive(sent), 4, "b was ahead: it just steps");
        let reply = b.tick();
        assert_eq!(a.receive(reply), reply + 1, "a jumps past b's reply");
        assert!(a.now() > sent);
    }
}
