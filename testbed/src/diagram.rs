//! Where a sequence diagram puts things: one lifeline per peer, each message an arrow from its
//! send down to its receive. Time runs downwards, either by the wall clock (long idle gaps
//! shortened and marked, so a minute of reading does not push the next ping off screen) or by
//! Lamport time (happened-before order). Moments that differ are always a row apart, so a
//! burst within one millisecond stays readable. Only arrows inside the visible window are returned,
//! so the page keeps just what is on screen in the DOM.

use std::collections::{HashMap, HashSet};

use libp2p::PeerId;

use crate::snapshot::Recording;
use crate::trace::model::{Cut, Message, MessageKind, Stamp};
use crate::trace::Trace;

/// Space above the first message.
pub const TOP: f64 = 24.0;
/// Lifelines' distance apart, at the least and at the most.
pub const MIN_COLUMN: f64 = 44.0;
const MAX_COLUMN: f64 = 240.0;
/// Left and right margin.
pub const SIDE: f64 = 28.0;
/// One Lamport tick, in pixels.
const LAMPORT_ROW: f64 = 28.0;
/// Wall-clock pauses longer than this are drawn as this long, with a marker.
pub const MAX_GAP_MS: f64 = 40.0;
/// Two moments that differ are at least this far apart, so arrows and labels never pile up
/// where many things happen within a millisecond.
const MIN_STEP: f64 = 16.0;
/// Length of the stub drawn for a message not (yet) received.
const STUB: f64 = 26.0;
/// A message not received this long after it was sent (the newest moment in the trace being
/// "now") is taken as lost: longer than a ping exchange may take at the slowest pace.
const IN_FLIGHT_LIMIT_MS: f64 = 20_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    RealTime,
    Lamport,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub mode: TimeMode,
    /// Pixels per millisecond in real-time mode.
    pub zoom: f64,
    /// Peers with a lifeline, left to right.
    pub lifelines: Vec<PeerId>,
    /// Kinds of message drawn.
    pub kinds: HashSet<MessageKind>,
    /// Width available: a few lifelines spread out to fill it.
    pub width: f64,
    /// Draw the trace as it was at this moment (ms since the network started): later sends
    /// left out, later receives still in flight. None: everything recorded so far.
    pub until_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    /// The message's place in the trace: a stable key.
    pub position: u64,
    pub kind: MessageKind,
    pub from_x: f64,
    pub to_x: f64,
    pub sent_y: f64,
    /// Where the arrow ends; None when the message was not received.
    pub received_y: Option<f64>,
    /// Not received at the moment drawn, but received later or recently sent; false for a
    /// message taken as lost.
    pub in_flight: bool,
    pub label: String,
    /// The protocol it belongs to, for the label shown on hover.
    pub protocol: String,
    /// Tokens a snapshot recorded as in flight.
    pub recorded: bool,
}

/// A recording's cut placed on the diagram: a line through the moment each peer recorded its
/// balance, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedCut {
    pub recording: Recording,
    pub points: Vec<(f64, f64)>,
    /// Given up: a peer left or a channel closed before the marker came.
    pub abandoned: bool,
}

/// A span of one peer's work (e.g. its side of a ping exchange), drawn as a bar on its
/// lifeline. Times in milliseconds since the network started.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub peer: PeerId,
    pub start_ms: f64,
    pub end_ms: f64,
    pub label: String,
}

/// A bar placed on the diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedBar {
    pub x: f64,
    pub top: f64,
    pub bottom: f64,
    pub label: String,
}

/// A shortened pause in real-time mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub y: f64,
    pub skipped_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Lifeline x positions, in the order of `Options::lifelines`.
    pub lifeline_x: Vec<f64>,
    /// Arrows inside the window, oldest first.
    pub arrows: Vec<Arrow>,
    /// Span bars inside the window (real-time mode only: spans carry no Lamport time).
    pub bars: Vec<PlacedBar>,
    pub gaps: Vec<Gap>,
    /// Cuts of snapshots (real-time mode only), in the order they began.
    pub cuts: Vec<PlacedCut>,
    /// Messages drawn in the whole diagram (not only the window).
    pub drawn: usize,
}

/// Lays out `trace` and the span `bars` for a window of the diagram from `top` to `bottom`
/// (pixels).
pub fn layout(trace: &Trace, bars: &[Bar], options: &Options, top: f64, bottom: f64) -> Layout {
    let column: HashMap<PeerId, usize> = options
        .lifelines
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i))
        .collect();
    let spacing = ((options.width - 2.0 * SIDE) / options.lifelines.len().max(1) as f64)
        .clamp(MIN_COLUMN, MAX_COLUMN);
    let x = |peer: &PeerId| column.get(peer).map(|&i| SIDE + spacing * (i as f64 + 0.5));
    let until = options.until_ms.unwrap_or(f64::INFINITY);
    let shown: Vec<&Message> = trace
        .messages()
        .filter(|m| options.kinds.contains(&m.kind))
        .filter(|m| column.contains_key(&m.from) && column.contains_key(&m.to))
        .filter(|m| options.mode == TimeMode::RealTime || m.sent.lamport.is_some())
        .filter(|m| m.sent.at_ms <= until)
        .collect();

    let shown_bars: Vec<Bar> = match options.mode {
        TimeMode::RealTime => bars
            .iter()
            .filter(|b| column.contains_key(&b.peer) && b.start_ms <= until)
            .map(|b| Bar {
                end_ms: b.end_ms.min(until),
                ..b.clone()
            })
            .collect(),
        TimeMode::Lamport => Vec::new(),
    };
    // A cut is drawn through the points recorded by `until`, on the lifelines shown.
    let shown_cuts: Vec<(&Cut, Vec<(f64, f64)>)> = match options.mode {
        TimeMode::RealTime => trace
            .cuts()
            .map(|cut| {
                let points = cut
                    .points
                    .iter()
                    .filter(|(_, at)| *at <= until)
                    .filter_map(|(peer, at)| Some((x(peer)?, *at)))
                    .collect();
                (cut, points)
            })
            .filter(|(_, points): &(_, Vec<_>)| !points.is_empty())
            .collect(),
        TimeMode::Lamport => Vec::new(),
    };
    let cut_times: Vec<f64> = shown_cuts
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, at)| *at))
        .collect();
    let axis = match options.mode {
        TimeMode::RealTime => Axis::real_time(&shown, &shown_bars, &cut_times, options.zoom, until),
        TimeMode::Lamport => Axis::Lamport,
    };
    let cuts = shown_cuts
        .into_iter()
        .map(|(cut, points)| {
            let mut points: Vec<(f64, f64)> = points
                .into_iter()
                .map(|(x, at)| {
                    let y = axis.y(&Stamp {
                        at_ms: at,
                        lamport: None,
                    });
                    (x, y)
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            PlacedCut {
                recording: cut.recording,
                points,
                abandoned: cut.abandoned,
            }
        })
        .collect();
    let placed_bars = shown_bars
        .iter()
        .filter_map(|bar| {
            let at = |ms| {
                axis.y(&Stamp {
                    at_ms: ms,
                    lamport: None,
                })
            };
            let (y0, y1) = (at(bar.start_ms), at(bar.end_ms));
            if y1 < top || y0 > bottom {
                return None;
            }
            Some(PlacedBar {
                x: x(&bar.peer)?,
                top: y0,
                bottom: y1,
                label: bar.label.clone(),
            })
        })
        .collect();
    let latest = shown
        .iter()
        .flat_map(|m| std::iter::once(m.sent.at_ms).chain(received_by(m, until).map(|r| r.at_ms)))
        .fold(f64::MIN, f64::max);
    let mut height: f64 = TOP;
    let mut arrows = Vec::new();
    for message in &shown {
        let (Some(from_x), Some(to_x)) = (x(&message.from), x(&message.to)) else {
            continue;
        };
        let sent_y = axis.y(&message.sent);
        let received = received_by(message, until);
        let received_y = received.map(|r| axis.y(r));
        let end = received_y.unwrap_or(sent_y + STUB);
        height = height.max(end);
        if end >= top && sent_y <= bottom {
            arrows.push(Arrow {
                position: message.position,
                kind: message.kind,
                from_x,
                to_x,
                sent_y,
                received_y,
                in_flight: received.is_none()
                    && (message.received.is_some()
                        || latest - message.sent.at_ms < IN_FLIGHT_LIMIT_MS),
                label: message.label.clone(),
                protocol: message.protocol.clone(),
                recorded: message.recorded,
            });
        }
    }
    let gaps = match &axis {
        Axis::RealTime { gaps, .. } => gaps.clone(),
        Axis::Lamport => Vec::new(),
    };
    Layout {
        width: 2.0 * SIDE + spacing * options.lifelines.len() as f64,
        height: height + TOP,
        lifeline_x: options.lifelines.iter().filter_map(x).collect(),
        arrows,
        bars: placed_bars,
        gaps,
        cuts,
        drawn: shown.len(),
    }
}

enum Axis {
    /// Sorted times and the y of each; pauses longer than MAX_GAP_MS are shortened.
    RealTime {
        times: Vec<f64>,
        ys: Vec<f64>,
        gaps: Vec<Gap>,
    },
    Lamport,
}

impl Axis {
    fn real_time(
        messages: &[&Message],
        bars: &[Bar],
        cut_times: &[f64],
        zoom: f64,
        until: f64,
    ) -> Axis {
        let mut times: Vec<f64> = messages
            .iter()
            .flat_map(|m| {
                std::iter::once(m.sent.at_ms).chain(received_by(m, until).map(|r| r.at_ms))
            })
            .chain(bars.iter().flat_map(|b| [b.start_ms, b.end_ms]))
            .chain(cut_times.iter().copied())
            .collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let mut ys = Vec::with_capacity(times.len());
        let mut gaps = Vec::new();
        let mut y = TOP;
        for (i, &t) in times.iter().enumerate() {
            if i > 0 {
                let pause = t - times[i - 1];
                if pause > MAX_GAP_MS {
                    gaps.push(Gap {
                        y: y + MAX_GAP_MS * zoom / 2.0,
                        skipped_ms: pause,
                    });
                }
                y += (pause.min(MAX_GAP_MS) * zoom).max(MIN_STEP);
            }
            ys.push(y);
        }
        Axis::RealTime { times, ys, gaps }
    }

    fn y(&self, stamp: &Stamp) -> f64 {
        match self {
            Axis::RealTime { times, ys, .. } => {
                // Every stamp drawn is one of `times`.
                let i = times.partition_point(|&t| t < stamp.at_ms);
                ys.get(i).or(ys.last()).copied().unwrap_or(TOP)
            }
            Axis::Lamport => TOP + LAMPORT_ROW * stamp.lamport.unwrap_or_default() as f64,
        }
    }
}

/// The message's receive, if it happened by `until`.
fn received_by(message: &Message, until: f64) -> Option<&Stamp> {
    message.received.as_ref().filter(|r| r.at_ms <= until)
}

/// A message's details, for the panel shown when its arrow is picked.
pub fn describe(message: &Message, name: impl Fn(&PeerId) -> String) -> Vec<(String, String)> {
    let stamp = |s: &Stamp| match s.lamport {
        Some(l) => format!("{:.1} ms · Lamport {l}", s.at_ms),
        None => format!("{:.1} ms", s.at_ms),
    };
    let mut rows = vec![
        ("message".into(), message.label.clone()),
        (
            "from → to".into(),
            format!("{} → {}", name(&message.from), name(&message.to)),
        ),
        ("protocol".into(), message.protocol.clone()),
        ("sent".into(), stamp(&message.sent)),
        (
            "received".into(),
            message
                .received
                .as_ref()
                .map_or("not received".into(), stamp),
        ),
    ];
    if let Some((trace, span)) = message.context {
        rows.push(("trace id".into(), format!("{:032x}", trace.0)));
        rows.push(("span id".into(), format!("{:016x}", span.0)));
    }
    if let Some(payload) = &message.payload {
        rows.push(("payload".into(), payload.clone()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::synthetic::ping_exchange;
    use crate::trace::Tracer;

    fn peer(i: usize) -> PeerId {
        crate::identity::keypair(5, i).public().to_peer_id()
    }

    fn all_kinds() -> HashSet<MessageKind> {
        [
            MessageKind::Connect,
            MessageKind::OpenStream,
            MessageKind::Envelope,
            MessageKind::Close,
        ]
        .into()
    }

    /// A PING from peer 0 to peer 1 and its PONG, at the given times.
    fn exchange(trace: &mut Trace, times: [f64; 4]) {
        let (a, b) = (peer(0), peer(1));
        let (ta, tb) = (Tracer::new(&a), Tracer::new(&b));
        for event in ping_exchange((a, &ta), (b, &tb), "1", times) {
            trace.apply(&event);
        }
    }

    fn options(mode: TimeMode) -> Options {
        Options {
            mode,
            zoom: 1.0,
            lifelines: vec![peer(0), peer(1)],
            kinds: all_kinds(),
            width: 0.0,
            until_ms: None,
        }
    }

    #[test]
    fn a_moment_in_the_past_shows_only_what_had_happened() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 5.0, 6.0, 40.0]);
        let at = |until_ms| {
            let options = Options {
                until_ms: Some(until_ms),
                ..options(TimeMode::RealTime)
            };
            layout(&trace, &[], &options, 0.0, f64::MAX).arrows
        };
        let [ping] = &at(5.5)[..] else {
            panic!("only the PING")
        };
        assert!(ping.received_y.is_some() && !ping.in_flight);
        let [_, pong] = &at(10.0)[..] else {
            panic!("PING and PONG")
        };
        assert!(pong.received_y.is_none() && pong.in_flight, "{pong:?}");
        assert!(at(40.0).iter().all(|a| a.received_y.is_some()));
    }

    #[test]
    fn arrows_run_from_sender_to_receiver_and_down_in_time() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 5.0, 6.0, 40.0]);
        let layout = layout(&trace, &[], &options(TimeMode::RealTime), 0.0, f64::MAX);
        let [ping, pong] = &layout.arrows[..] else {
            panic!("two arrows: {layout:?}")
        };
        assert_eq!((ping.label.as_str(), pong.label.as_str()), ("PING", "PONG"));
        assert!(ping.from_x < ping.to_x && pong.from_x > pong.to_x);
        assert_eq!(ping.received_y.unwrap() - ping.sent_y, MIN_STEP);
        assert!(pong.sent_y > ping.received_y.unwrap());
        // 34 ms at 1 px/ms: drawn to scale, longer than a row.
        assert_eq!(pong.received_y.unwrap() - pong.sent_y, 34.0);
        assert!(layout.gaps.is_empty());
    }

    #[test]
    fn few_lifelines_spread_over_the_width_and_many_keep_a_minimum() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 1.0, 2.0, 3.0]);
        let mut wide = options(TimeMode::RealTime);
        wide.width = 400.0;
        let layout = layout(&trace, &[], &wide, 0.0, f64::MAX);
        assert_eq!(layout.width, 400.0);
        assert_eq!(layout.lifeline_x[1] - layout.lifeline_x[0], 172.0);
        let narrow = options(TimeMode::RealTime);
        let layout = super::layout(&trace, &[], &narrow, 0.0, f64::MAX);
        assert_eq!(layout.lifeline_x[1] - layout.lifeline_x[0], MIN_COLUMN);
    }

    #[test]
    fn a_span_is_a_bar_on_its_peer_lifeline_covering_its_messages() {
        let mut trace = Trace::default();
        exchange(&mut trace, [10.0, 11.0, 12.0, 13.0]);
        let bars = [Bar {
            peer: peer(0),
            start_ms: 9.0,
            end_ms: 14.0,
            label: "ping exchange".into(),
        }];
        let real = layout(&trace, &bars, &options(TimeMode::RealTime), 0.0, f64::MAX);
        let [bar] = &real.bars[..] else {
            panic!("{real:?}")
        };
        assert_eq!(bar.x, real.lifeline_x[0]);
        let ping = &real.arrows[0];
        let pong = &real.arrows[1];
        assert!(bar.top < ping.sent_y && bar.bottom > pong.received_y.unwrap());
        let lamport = layout(&trace, &bars, &options(TimeMode::Lamport), 0.0, f64::MAX);
        assert!(lamport.bars.is_empty());
    }

    #[test]
    fn long_pauses_are_shortened_and_marked() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 1.0, 2.0, 60_000.0]);
        let layout = layout(&trace, &[], &options(TimeMode::RealTime), 0.0, f64::MAX);
        assert_eq!(layout.gaps.len(), 1);
        assert_eq!(layout.gaps[0].skipped_ms, 59_998.0);
        assert!(layout.height < 200.0, "{}", layout.height);
    }

    #[test]
    fn lamport_mode_orders_by_happened_before() {
        let mut trace = Trace::default();
        // The wall clock says the PONG was received before the PING was: Lamport time does not.
        exchange(&mut trace, [10.0, 11.0, 12.0, 1.0]);
        let layout = layout(&trace, &[], &options(TimeMode::Lamport), 0.0, f64::MAX);
        let ys: Vec<f64> = layout
            .arrows
            .iter()
            .flat_map(|a| [a.sent_y, a.received_y.unwrap()])
            .collect();
        assert!(ys.windows(2).all(|w| w[0] < w[1]), "{ys:?}");
    }

    #[test]
    fn only_the_window_is_returned_and_hidden_peers_take_their_arrows_along() {
        let mut trace = Trace::default();
        for i in 0..1_000 {
            let t = i as f64 * 10.0;
            exchange(&mut trace, [t, t + 1.0, t + 2.0, t + 3.0]);
        }
        let full = layout(&trace, &[], &options(TimeMode::RealTime), 0.0, f64::MAX);
        assert_eq!(full.arrows.len(), 2_000);
        let window = layout(&trace, &[], &options(TimeMode::RealTime), 1_000.0, 1_400.0);
        assert!(window.arrows.len() < 150, "{}", window.arrows.len());
        assert!(window
            .arrows
            .iter()
            .all(|a| a.received_y.unwrap() >= 1_000.0 && a.sent_y <= 1_400.0));
        let mut one_peer = options(TimeMode::RealTime);
        one_peer.lifelines = vec![peer(0)];
        assert!(layout(&trace, &[], &one_peer, 0.0, f64::MAX)
            .arrows
            .is_empty());
    }
}
