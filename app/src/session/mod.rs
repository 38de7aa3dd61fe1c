//! The running network of this page and the signals the components draw from it.
//!
//! Events flow one way: peers → the engine's bounded event queue → drained once per animation
//! frame here → signals → components.

use std::collections::VecDeque;
use std::rc::Rc;

use futures::{future, StreamExt};
use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::diagram::Bar;
use testbed::lesson::{Action, Since};
use testbed::pace::Pace;
use testbed::peer::{Handle, InPage};
use testbed::timeline::Timeline;
use testbed::trace::layer::{Recorder, PEER_SPAN};
use testbed::trace::Trace;
use testbed::view::LogLine;
use testbed::wire::WireRecord;
use testbed::{EventSink, EventStream, Network, NetworkConfig, NetworkView, PeerIndex};

use crate::dht_app::DhtApp;
use crate::frame::{next_animation_frame, now_ms};
use crate::lazy;
use crate::running::Running;

mod actions;
use crate::token_app::TokenApp;

/// How often finished spans are collected when no event wakes the page.
const SPAN_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A batch of at least this many events means the peers are busy (a network connecting, a
/// DHT settling): the next batch is then drawn no sooner than `BUSY_DRAW_INTERVAL_MS` after
/// this one. A ping's few events are still drawn on the next frame.
const BUSY_BATCH: usize = 20;
const BUSY_DRAW_INTERVAL_MS: f64 = 100.0;

/// Span bars kept for the diagram: thousands of pings' worth.
const MAX_BARS: usize = 10_000;

/// Wire records kept for the Wire view (each connection's dialing end only: both ends would
/// show every frame twice).
const MAX_WIRE_ENTRIES: usize = 20_000;

/// A wire record and the diagram arrow it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct WireEntry {
    pub record: WireRecord,
    pub position: Option<u64>,
}

/// Log lines kept on screen: a 20-peer start writes ~200, and older lines scroll out.
const MAX_LOG_LINES: usize = 600;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// No network runs yet.
    Idle,
    /// Downloading the code of this kind of peer (see `crate::lazy`): what it is.
    Loading(&'static str),
    Starting,
    Connecting,
    /// Every connection of the topology is up.
    Ready {
        /// `performance.now()` at that moment: time since the page began to load.
        at_ms: f64,
        /// Time since this network was asked to start.
        took_ms: f64,
    },
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PingTarget {
    Random,
    Peer(PeerIndex),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PingState {
    Running,
    Answered { round_trip_ms: f64 },
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingRun {
    pub from: PeerIndex,
    pub to: PeerIndex,
    pub state: PingState,
}

/// A log line with a number that stays its key while older lines scroll out.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberedLine {
    pub number: u64,
    pub line: LogLine,
}

#[derive(Clone, Copy)]
pub struct Session {
    pub config: RwSignal<NetworkConfig>,
    pub view: RwSignal<NetworkView>,
    /// Every message between the peers, linked send to receive: what the diagram draws.
    pub trace: RwSignal<Trace>,
    /// The peers' finished spans, as bars on their lifelines (newest last, bounded).
    pub bars: RwSignal<Vec<Bar>>,
    recorder: StoredValue<Recorder>,
    pub phase: RwSignal<Phase>,
    pub log: RwSignal<VecDeque<NumberedLine>>,
    pub last_ping: RwSignal<Option<PingRun>>,
    /// What the learner did since the network started, random choices resolved: replaying
    /// these on the same scenario rebuilds the same run.
    pub actions: RwSignal<Vec<Action>>,
    /// A link's or a catch-up's actions are being replayed: a step's own action waits for them
    /// (a lookup before the DHT has settled would find next to nothing).
    pub replaying: RwSignal<bool>,
    /// Actions run since the page opened (never reset): a prediction made before an action
    /// is checked only once one has run.
    pub actions_run: RwSignal<u64>,
    /// Where the trace stood when the latest action ran: a step's expectation and "Show me"
    /// look only at what came after.
    pub since_action: RwSignal<Since>,
    /// What the dialing end of each in-page connection wrote and read, oldest first.
    pub wire: RwSignal<VecDeque<WireEntry>>,
    /// The message picked in the diagram or the wire view.
    pub selected: RwSignal<Option<u64>>,
    /// Transfers running.
    pub transfers: RwSignal<u32>,
    /// Peers on their way out of the network (see [`Session::leave`]).
    pub leaving: RwSignal<u32>,
    /// Pinging continuously (free play).
    pub continuous: RwSignal<bool>,
    /// A problem the learner should read: shown in a banner until dismissed.
    pub problem: RwSignal<Option<String>>,
    /// The snapshot lessons' token application.
    pub tokens: TokenApp,
    /// The DHT lessons' lookups, routing tables and records.
    pub dht: DhtApp,
    /// Every event of the run in time order, to show any past moment.
    timeline: StoredValue<Timeline>,
    /// The time of the latest event or message (ms since the network started).
    pub timeline_end: RwSignal<f64>,
    /// The moment the scrubber shows, or None for live.
    pub scrub: RwSignal<Option<f64>>,
    /// The network as it was at the scrubbed moment.
    scrubbed_view: Memo<Option<NetworkView>>,
    /// The learner's pace: speed and pause, kept when a network is replaced.
    pub speed: RwSignal<f64>,
    pub paused: RwSignal<bool>,
    /// Messages (and replayed actions) the pause is holding.
    pub held: RwSignal<usize>,
    pace: StoredValue<Pace>,
    /// The network, which run it is, the trace and the problem banner: what the DHT and
    /// token applications use.
    running: Running,
    pings_sent: StoredValue<u64>,
    /// When the latest action was kept for the link (ms, the page's clock).
    last_recorded_at: StoredValue<f64>,
    lines_written: StoredValue<u64>,
    /// When the current network started, by the wall clock (ms since the Unix epoch): the
    /// trace's times count from here.
    pub started_unix_ms: StoredValue<f64>,
    /// The same moment on the monotonic clock that events and spans use.
    started: StoredValue<Option<web_time::Instant>>,
}

impl Session {
    pub fn new(config: NetworkConfig, recorder: Recorder) -> Session {
        let timeline = StoredValue::new(Timeline::default());
        let scrub = RwSignal::new(None::<f64>);
        let trace = RwSignal::new(Trace::default());
        let problem = RwSignal::new(None);
        Session {
            timeline,
            timeline_end: RwSignal::new(0.0),
            scrub,
            scrubbed_view: Memo::new(move |_| {
                scrub
                    .get()
                    .map(|at| timeline.with_value(|t| t.state_at(at)))
            }),
            speed: RwSignal::new(1.0),
            paused: RwSignal::new(false),
            held: RwSignal::new(0),
            pace: StoredValue::new(Pace::default()),
            bars: RwSignal::new(Vec::new()),
            recorder: StoredValue::new(recorder),
            config: RwSignal::new(config),
            view: RwSignal::new(NetworkView::default()),
            trace,
            phase: RwSignal::new(Phase::Idle),
            log: RwSignal::new(VecDeque::new()),
            last_ping: RwSignal::new(None),
            actions: RwSignal::new(Vec::new()),
            replaying: RwSignal::new(false),
            actions_run: RwSignal::new(0),
            since_action: RwSignal::new(Since::START),
            wire: RwSignal::new(VecDeque::new()),
            transfers: RwSignal::new(0),
            leaving: RwSignal::new(0),
            selected: RwSignal::new(None),
            continuous: RwSignal::new(false),
            problem,
            tokens: TokenApp::new(),
            dht: DhtApp::new(),
            running: Running::new(trace, problem),
            pings_sent: StoredValue::new(0),
            last_recorded_at: StoredValue::new(0.0),
            lines_written: StoredValue::new(0),
            started_unix_ms: StoredValue::new(0.0),
            started: StoredValue::new(None),
        }
    }

    /// Stops the current network, if any, and clears what it showed.
    pub fn stop(self) {
        // Dropping the last handles stops the peers and closes their connections.
        self.running.stop();
        self.view.set(NetworkView::default());
        self.trace.set(Trace::default());
        self.wire.set(VecDeque::new());
        self.selected.set(None);
        self.bars.set(Vec::new());
        self.recorder.with_value(|r| drop(r.drain()));
        self.log.set(VecDeque::new());
        self.last_ping.set(None);
        self.actions.set(Vec::new());
        self.continuous.set(false);
        self.transfers.set(0);
        self.leaving.set(0);
        self.tokens.stop();
        self.dht.stop();
        self.phase.set(Phase::Idle);
        self.pings_sent.set_value(0);
        self.timeline.set_value(Timeline::default());
        self.timeline_end.set(0.0);
        self.scrub.set(None);
        // Whatever the old network's pause still holds is let go with it.
        self.pace.with_value(Pace::play);
        self.held.set(0);
    }

    /// The network as the applications on it see it.
    pub fn running(self) -> Running {
        self.running
    }

    /// How many copies of a record the DHT keeps (r); 0 without a DHT.
    pub fn replication(self) -> Signal<usize> {
        let config = self.config;
        Signal::derive(move || config.with(|c| c.dht.map_or(0, |d| usize::from(d.replication))))
    }

    /// Calls `f` with the network as shown: at the scrubbed moment, or live.
    pub fn with_shown_view<R>(self, f: impl FnOnce(&NetworkView) -> R) -> R {
        let mut f = Some(f);
        let scrubbed = self
            .scrubbed_view
            .with(|v| v.as_ref().map(|v| (f.take().expect("called once"))(v)));
        match scrubbed {
            Some(result) => result,
            None => self.view.with(f.take().expect("called once")),
        }
    }

    /// The moments before and after `at` that something happened, for stepping the scrubber.
    pub fn moment_before(self, at: f64) -> Option<f64> {
        self.timeline.with_value(|t| t.previous_moment(at))
    }

    pub fn moment_after(self, at: f64) -> Option<f64> {
        self.timeline.with_value(|t| t.next_moment(at))
    }

    pub fn set_speed(self, speed: f64) {
        self.pace.with_value(|p| p.set_speed(speed));
        self.speed.set(self.pace.with_value(Pace::speed));
    }

    pub fn set_paused(self, paused: bool) {
        self.pace
            .with_value(|p| if paused { p.pause() } else { p.play() });
        self.paused.set(paused);
        self.held.set(self.pace.with_value(Pace::held));
    }

    /// Lets the oldest held message (or replayed action) go; false when nothing is held.
    pub fn step(self) -> bool {
        let stepped = self.pace.with_value(Pace::step);
        self.held.set(self.pace.with_value(Pace::held));
        stepped
    }

    /// Stops the current network (if any) and starts `config`'s.
    pub fn start(self, config: NetworkConfig) {
        self.stop();
        let generation = self.running.generation();
        self.config.set(config);
        self.actions.set(vec![Action::StartNetwork]);
        self.action_ran();
        self.phase.set(Phase::Starting);
        spawn_local(async move {
            // Events count their time from here.
            let started_at = now_ms();
            let (sink, events) = EventSink::new();
            self.started_unix_ms.set_value(js_sys::Date::now());
            self.started.set_value(Some(sink.started()));
            let start = match config.dht {
                None => Handle::start::<InPage>,
                Some(_) => {
                    self.phase
                        .set(Phase::Loading("the DHT's code (libp2p-kad)"));
                    match lazy::dht_peers().await {
                        Ok(start) => start,
                        Err(error) => {
                            return self.fail(format!("The network did not start: {error}"))
                        }
                    }
                }
            };
            if self.running.generation() != generation {
                return;
            }
            self.phase.set(Phase::Starting);
            let network = match Network::start_with(config, sink, start).await {
                Ok(network) => Rc::new(network),
                Err(error) => {
                    self.fail(format!("The network did not start: {error}"));
                    return;
                }
            };
            if self.running.generation() != generation {
                return;
            }
            let start = NetworkView::new(network.peer_ids(), network.expected_connections());
            self.timeline.set_value(Timeline::new(start.clone()));
            self.view.set(start);
            // The learner's pace carries over to the new network.
            let pace = network.pace().clone();
            pace.set_speed(self.speed.get_untracked());
            if self.paused.get_untracked() {
                pace.pause();
            }
            self.pace.set_value(pace);
            self.running.set_network(network.clone());
            self.phase.set(Phase::Connecting);
            if config.dht.is_some() {
                self.dht.expect_settling(config.peers);
            }
            spawn_local(self.draw_events(events, generation, started_at));
            let failed = network.connect().await;
            if config.dht.is_some() && self.running.generation() == generation {
                self.dht.watch(self.running);
            }
            if let Some(first) = failed.first() {
                self.fail(format!(
                    "{} of the topology's dials failed; the first, peer {} → peer {}: {}",
                    failed.len(),
                    first.from,
                    first.to,
                    first.error
                ));
            }
        });
    }

    fn fail(self, message: String) {
        self.phase.set(Phase::Failed(message.clone()));
        self.problem.set(Some(message));
    }

    async fn draw_events(self, mut events: EventStream, generation: u64, started_at: f64) {
        loop {
            // Wake for the next event, or after a while to collect spans that just closed.
            let next = future::select(events.next(), futures_timer::Delay::new(SPAN_POLL)).await;
            let first = match next {
                future::Either::Left((Some(event), _)) => Some(event),
                future::Either::Left((None, _)) => return,
                future::Either::Right(_) => None,
            };
            if self.running.generation() != generation {
                return;
            }
            self.collect_spans();
            let held = self.pace.with_value(Pace::held);
            if held != self.held.get_untracked() {
                self.held.set(held);
            }
            let Some(first) = first else {
                self.collect_wire();
                continue;
            };
            let drained_at = now_ms();
            let mut batch = vec![first];
            while let Ok(event) = events.try_recv() {
                batch.push(event);
            }
            let mut lines = Vec::new();
            let connecting = self.phase.with_untracked(|p| *p == Phase::Connecting);
            // When the last connection came up, not when the page got round to drawing it.
            let mut connected_at_ms = None;
            self.view.update(|view| {
                for event in &batch {
                    lines.extend(view.apply(event));
                    if connecting && connected_at_ms.is_none() && view.all_connected() {
                        connected_at_ms = Some(event.at_ms);
                    }
                }
            });
            self.trace
                .update(|trace| batch.iter().for_each(|event| trace.apply(event)));
            // After the events: a kad request is told apart from background traffic by the
            // lookup its peer reported starting before it wrote the request.
            self.collect_wire();
            let end = self.timeline.try_update_value(|timeline| {
                batch
                    .iter()
                    .for_each(|event| timeline.record(event.clone()));
                timeline.end_ms()
            });
            if let Some(end) = end {
                self.reach(end);
            }
            self.append_log(lines);
            if let Some(took_ms) = connected_at_ms {
                self.phase.set(Phase::Ready {
                    at_ms: started_at + took_ms,
                    took_ms,
                });
            }
            // Drawing a batch costs the page about the same whatever its size (the views are
            // laid out, styled and painted again), and the peers run on the same thread: while
            // they are busy, fewer, larger batches leave them more of it.
            if batch.len() >= BUSY_BATCH {
                let since_ms = now_ms() - drained_at;
                if since_ms < BUSY_DRAW_INTERVAL_MS {
                    futures_timer::Delay::new(std::time::Duration::from_secs_f64(
                        (BUSY_DRAW_INTERVAL_MS - since_ms) / 1000.0,
                    ))
                    .await;
                }
            }
            next_animation_frame().await;
        }
    }

    /// Moves what the wire tap recorded into the trace (as handshake and frame arrows) and
    /// the Wire view.
    fn collect_wire(self) {
        let Some(network) = self.running.network() else {
            return;
        };
        let Some((records, _)) = network.wire().map(|w| w.drain()) else {
            return;
        };
        if records.is_empty() {
            return;
        }
        self.reach(records.iter().map(|r| r.at_ms).fold(0.0, f64::max));
        let mut kept = Vec::new();
        self.trace.update(|trace| {
            for record in records {
                let position = trace.apply_wire(&record);
                if record.dialer {
                    kept.push(WireEntry { record, position });
                }
            }
        });
        self.wire.update(|wire| {
            wire.extend(kept);
            let excess = wire.len().saturating_sub(MAX_WIRE_ENTRIES);
            wire.drain(..excess);
        });
    }

    /// The recording reaches `at_ms`: the scrubber's end is the newest event or message
    /// (a settling DHT's messages go on long after its last event).
    fn reach(self, at_ms: f64) {
        if at_ms > self.timeline_end.get_untracked() {
            self.timeline_end.set(at_ms);
        }
    }

    /// Moves the peers' finished spans from the recorder to the diagram's bars.
    fn collect_spans(self) {
        let (spans, _) = self.recorder.with_value(Recorder::drain);
        let Some(origin) = self.started.get_value() else {
            return;
        };
        // Spans that began before this network (a replaced one's) are dropped.
        let since = |at: web_time::Instant| {
            at.checked_duration_since(origin)
                .map(|d| d.as_secs_f64() * 1000.0)
        };
        let new: Vec<Bar> = spans
            .into_iter()
            .filter(|span| span.name != PEER_SPAN)
            .filter_map(|span| {
                let peer = span.peer.as_deref()?.parse().ok()?;
                let role = span.fields.iter().find(|(k, _)| *k == "role");
                Some(Bar {
                    peer,
                    start_ms: since(span.start)?,
                    end_ms: since(span.end)?,
                    label: match role {
                        Some((_, role)) => format!("{} ({role})", span.name),
                        None => span.name.to_owned(),
                    },
                })
            })
            .collect();
        if !new.is_empty() {
            self.bars.update(|bars| {
                bars.extend(new);
                let excess = bars.len().saturating_sub(MAX_BARS);
                bars.drain(..excess);
            });
        }
    }

    fn append_log(self, lines: Vec<LogLine>) {
        if lines.is_empty() {
            return;
        }
        let mut number = self.lines_written.get_value();
        self.log.update(|log| {
            for line in lines {
                number += 1;
                log.push_back(NumberedLine { number, line });
            }
            while log.len() > MAX_LOG_LINES {
                log.pop_front();
            }
        });
        self.lines_written.set_value(number);
    }
}
