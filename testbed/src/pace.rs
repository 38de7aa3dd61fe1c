//! How fast the testbed's messages travel, under the learner's control: the injected latency
//! scaled by a speed (0.25× makes every message four times slower), and a pause that holds each
//! message just before it is written until play resumes or one step lets the oldest go.
//!
//! Only the testbed's own messages (envelopes and what the algorithms send) are paced; libp2p's
//! handshakes run at full speed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Speeds a learner can choose from.
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// Shared by every peer of a network; cheap to clone.
#[derive(Clone, Debug)]
pub struct Pace {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    latency: Duration,
    speed: f64,
    paused: bool,
    /// Tickets of messages held by the pause, oldest first, with their waker.
    held: VecDeque<(u64, Option<Waker>)>,
    /// Tickets let go by a step while paused.
    released: Vec<u64>,
    next_ticket: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new(Duration::ZERO)
    }
}

impl Pace {
    pub fn new(latency: Duration) -> Pace {
        Pace {
            state: Arc::new(Mutex::new(State {
                latency,
                speed: 1.0,
                paused: false,
                held: VecDeque::new(),
                released: Vec::new(),
                next_ticket: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The injected latency at the current speed.
    pub fn delay(&self) -> Duration {
        let state = self.lock();
        state.latency.div_f64(state.speed)
    }

    pub fn speed(&self) -> f64 {
        self.lock().speed
    }

    /// Sets the speed, kept within [`SPEEDS`]' range.
    pub fn set_speed(&self, speed: f64) {
        let (slowest, fastest) = (SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        if speed.is_finite() {
            self.lock().speed = speed.clamp(slowest, fastest);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// Messages waiting for play or a step.
    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    pub fn pause(&self) {
        self.lock().paused = true;
    }

    /// Lets every held message go and stops holding new ones.
    pub fn play(&self) {
        let mut state = self.lock();
        state.paused = false;
        for (_, waker) in state.held.iter_mut() {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
    }

    /// Lets the oldest held message go; false when none is held.
    pub fn step(&self) -> bool {
        let mut state = self.lock();
        let Some((ticket, waker)) = state.held.pop_front() else {
            return false;
        };
        state.released.push(ticket);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Waits for the latency at the current speed, then, while paused, until a step or play
    /// lets this message go.
    pub async fn hold(&self) {
        let delay = self.delay();
        if !delay.is_zero() {
            futures_timer::Delay::new(delay).await;
        }
        self.turn().await;
    }

    /// Like [`Pace::hold`] for a message queued at `queued`: messages queued one after the
    /// other travel together, each its latency after it was queued, as on a link.
    pub async fn hold_since(&self, queued: web_time::Instant) {
        let left = self.delay().saturating_sub(queued.elapsed());
        if !left.is_zero() {
            futures_timer::Delay::new(left).await;
        }
        self.turn().await;
    }

    /// Resolves at once unless paused; then when play resumes or a step picks this one.
    pub fn turn(&self) -> Turn {
        Turn {
            pace: self.clone(),
            ticket: None,
        }
    }

    /// How long an exchange of `messages` paced messages may take before it has failed:
    /// `base` plus their latency at the current speed. Time spent paused is not counted by
    /// [`Pace::deadline`].
    fn allowance(&self, base: Duration, messages: u32) -> Duration {
        base + self.delay() * messages
    }

    /// Sleeps until `base` plus the exchange's paced latency has passed while playing.
    pub async fn deadline(&self, base: Duration, messages: u32) {
        loop {
            futures_timer::Delay::new(self.allowance(base, messages)).await;
            if !self.is_paused() && self.held() == 0 {
                return;
            }
        }
    }
}

/// The future of [`Pace::turn`].
pub struct Turn {
    pace: Pace,
    ticket: Option<u64>,
}

impl Future for Turn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let pace = self.pace.clone();
        let mut state = pace.lock();
        match self.ticket {
            None if !state.paused => Poll::Ready(()),
            None => {
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                state.held.push_back((ticket, Some(cx.waker().clone())));
                self.ticket = Some(ticket);
                Poll::Pending
            }
            Some(ticket) => {
                if let Some(i) = state.released.iter().position(|&t| t == ticket) {
                    state.released.swap_remove(i);
                    self.ticket = None;
                    return Poll::Ready(());
                }
                let paused = state.paused;
                let waiting = state.held.iter_mut().find(|(t, _)| *t == ticket);
                match waiting {
                    Some(_) if !paused => {
                        state.held.retain(|(t, _)| *t != ticket);
                        self.ticket = None;
                        Poll::Ready(())
                    }
                    Some((_, waker)) => {
                        *waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                    // Let go by play.
                    None => {
                        self.ticket = None;
                        Poll::Ready(())
                    }
                }
            }
        }
    }
}

impl Drop for Turn {
    /// A message given up while held (its exchange timed out) no longer waits for a step.
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            let mut state = self.pace.lock();
            state.held.retain(|(t, _)| *t != ticket);
            state.released.retain(|&t| t != ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::FutureExt;

    #[test]
    fn speed_scales_the_latency_within_bounds() {
        let pace = Pace::new(Duration::from_millis(200));
        pace.set_speed(0.25);
        assert_eq!(pace.delay(), Duration::from_millis(800));
        pace.set_speed(100.0);
        assert_eq!(pace.delay(), Duration::from_millis(50));
        pace.set_speed(f64::NAN);
        assert_eq!(pace.speed(), 4.0);
    }

    #[test]
    fn a_pause_holds_messages_and_a_step_lets_the_oldest_go() {
        let pace = Pace::default();
        assert!(pace.turn().now_or_never().is_some(), "playing: no wait");
        pace.pause();
        let mut first = Box::pin(pace.turn());
        let mut second = Box::pin(pace.turn());
        assert!(first.as_mut().now_or_never().is_none());
        assert!(second.as_mut().now_or_never().is_none());
        assert_eq!(pace.held(), 2);

        assert!(pace.step());
        assert!(second.as_mut().now_or_never().is_none(), "not its turn");
        assert!(first.as_mut().now_or_never().is_some());
        assert_eq!(pace.held(), 1);

        pace.play();
        assert!(second.as_mut().now_or_never().is_some());
        assert_eq!(pace.held(), 0);
        assert!(!pace.step(), "nothing left to step");
    }

    #[test]
    fn a_message_given_up_while_held_is_forgotten() {
        let pace = Pace::default();
        pace.pause();
        let mut waiting = Box::pin(pace.turn());
        assert!(waiting.as_mut().now_or_never().is_none());
        drop(waiting);
        assert_eq!(pace.held(), 0);
        let mut next = Box::pin(pace.turn());
        assert!(next.as_mut().now_or_never().is_none());
        assert!(pace.step());
        block_on(next);
    }
}
