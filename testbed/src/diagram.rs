//! Where a sequence diagram puts things: one lifeline per peer, each message an arrow from its
//! send down to its receive. Time runs downwards, either by the wall clock (long idle gaps
//! shortened and marked, so a minute of reading does not push the next ping off screen) or by
//! Lamport time (happened-before order). Moments that differ are always a row apart, so a
//! burst within one millisecond stays readable, and so are two messages sent the same way at
//! the same instant (a PONG and the FIN after it), one row after the other. Only arrows
//! inside the visible window are returned, so the page keeps just what is on screen in the DOM.

use std::collections::{HashMap, HashSet};

use libp2p::PeerId;

use crate::snapshot::cuts::Cut;
use crate::snapshot::Recording;
use crate::trace::mark::MessageKind;
use crate::trace::model::{Message, Stamp};
use crate::trace::Trace;

/// Space above the first message.
pub const TOP: f64 = 24.0;
/// Lifelines' distance apart, at the least and at the most.
pub const MIN_COLUMN: f64 = 32.0;
const MAX_COLUMN: f64 = 240.0;
/// Left and right margin.
pub const SIDE: f64 = 28.0;
/// One Lamport tick, in pixels.
const LAMPORT_ROW: f64 = 28.0;
/// Wall-clock pauses longer than this are drawn as this long, with a marker.
pub const MAX_GAP_MS: f64 = 40.0;
/// Two moments that differ are at least this far apart, so arrows and labels never pile up
/// where many things happen within a millisecond; zooming in widens it, zooming out does not.
const MIN_STEP: f64 = 16.0;
/// Zooming out shrinks a Lamport tick to no less than this share of its height.
const MIN_LAMPORT_ZOOM: f64 = 0.5;
/// Length of the stub drawn for a message not (yet) received.
pub const STUB: f64 = 26.0;
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
    /// Pixels per millisecond in real-time mode (and the least step between two moments,
    /// from 1 up); the height of a Lamport tick, from 0.5 up.
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
    /// Where the stub of a message not received ends across: part of the way to its
    /// receiver, short of the next lifeline so that it never seems to reach another peer.
    pub stub_x: f64,
    /// Not received at the moment drawn, but received later or recently sent; false for a
    /// message taken as lost.
    pub in_flight: bool,
    pub label: String,
    /// The protocol it belongs to, for the label shown on hover.
    pub protocol: String,
    /// Tokens a snapshot recorded as in flight.
    pub recorded: bool,
    /// Where its label goes, placed clear of every other label; None when no place along
    /// the arrow is free (the full label is still shown on hover).
    pub text: Option<Label>,
}

impl Arrow {
    /// Where its line ends: at the receiver, or (not received) at its stub's end.
    pub fn end(&self) -> (f64, f64) {
        match self.received_y {
            Some(y) => (self.to_x, y),
            None => (self.stub_x, self.sent_y + STUB),
        }
    }

    /// Across which columns its line runs within the rows `top..bottom`; None when it is not
    /// in them. A slanted arrow runs through only part of its width in a few rows.
    pub fn columns_within(&self, top: f64, bottom: f64) -> Option<(f64, f64)> {
        let ((x0, y0), (x1, y1)) = ((self.from_x, self.sent_y), self.end());
        if y0.max(y1) < top || y0.min(y1) > bottom {
            return None;
        }
        if (y1 - y0).abs() < f64::EPSILON {
            return Some((x0.min(x1), x0.max(x1)));
        }
        let x_at = |y: f64| x0 + (x1 - x0) * (y.clamp(y0.min(y1), y0.max(y1)) - y0) / (y1 - y0);
        let (a, b) = (x_at(top), x_at(bottom));
        Some((a.min(b), a.max(b)))
    }

    /// How far the arrow reaches up and down the drawing, its label included (above or below
    /// its line; a message not received ends in a stub).
    pub fn extent(&self) -> (f64, f64) {
        let end = self.received_y.unwrap_or(self.sent_y + STUB);
        let (label_top, label_bottom) = self
            .text
            .as_ref()
            .map_or((f64::MAX, f64::MIN), |l| (l.y - LINE_HEIGHT, l.y + 3.0));
        (
            self.sent_y.min(end).min(label_top),
            self.sent_y.max(end).max(label_bottom),
        )
    }
}

/// A label placed on the diagram: its text (shortened, with "…", where the full one would
/// cover another) centred on `x`, its baseline at `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
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

/// When each peer sent or received a message the diagram draws, in order: a span bar is drawn
/// only where some of its work is, so that a ping's bar is not left alone on peer 0 once the
/// peer it pinged is filtered out.
struct PeerWork(HashMap<PeerId, Vec<f64>>);

impl PeerWork {
    fn drawn(shown: &[&Message], until: f64) -> PeerWork {
        let mut times: HashMap<PeerId, Vec<f64>> = HashMap::new();
        for message in shown {
            times
                .entry(message.from)
                .or_default()
                .push(message.sent.at_ms);
            if let Some(received) = received_by(message, until) {
                times.entry(message.to).or_default().push(received.at_ms);
            }
        }
        for peer_times in times.values_mut() {
            peer_times.sort_by(f64::total_cmp);
        }
        PeerWork(times)
    }

    /// Whether `peer` sent or received a drawn message from `start_ms` to `end_ms`.
    fn within(&self, peer: &PeerId, start_ms: f64, end_ms: f64) -> bool {
        self.0.get(peer).is_some_and(|times| {
            let first = times.partition_point(|&t| t < start_ms);
            times.get(first).is_some_and(|&t| t <= end_ms)
        })
    }
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
    /// Where each lifeline ends, in the same order: where its peer left the network (real-time
    /// mode only: leaving carries no Lamport time); None: it runs on to the bottom.
    pub lifeline_ends: Vec<Option<f64>>,
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
    let lifelines = options.lifelines.len().max(1) as f64;
    let spacing = ((options.width - 2.0 * SIDE) / lifelines).clamp(MIN_COLUMN, MAX_COLUMN);
    // Too few lifelines to fill the width even at their widest spacing: centred in it.
    let left = SIDE + ((options.width - 2.0 * SIDE - spacing * lifelines) / 2.0).max(0.0);
    let x = |peer: &PeerId| column.get(peer).map(|&i| left + spacing * (i as f64 + 0.5));
    let until = options.until_ms.unwrap_or(f64::INFINITY);
    let shown: Vec<&Message> = trace
        .messages()
        .filter(|m| options.kinds.contains(&m.kind))
        .filter(|m| column.contains_key(&m.from) && column.contains_key(&m.to))
        .filter(|m| options.mode == TimeMode::RealTime || m.sent.lamport.is_some())
        .filter(|m| m.sent.at_ms <= until)
        .collect();

    // Only real time has bars; with none (the room's diagram), the peers' work is not read.
    let shown_bars: Vec<Bar> = match options.mode {
        TimeMode::RealTime if !bars.is_empty() => {
            let work = PeerWork::drawn(&shown, until);
            bars.iter()
                .filter(|b| column.contains_key(&b.peer) && b.start_ms <= until)
                .filter(|b| work.within(&b.peer, b.start_ms, b.end_ms))
                .map(|b| Bar {
                    end_ms: b.end_ms.min(until),
                    ..b.clone()
                })
                .collect()
        }
        _ => Vec::new(),
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
    // The moment each lifeline's peer left, by `until`.
    let departures: Vec<Option<f64>> = options
        .lifelines
        .iter()
        .map(|peer| match options.mode {
            TimeMode::RealTime => trace.departure(peer).filter(|at| *at <= until),
            TimeMode::Lamport => None,
        })
        .collect();
    let marked_times: Vec<f64> = shown_cuts
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, at)| *at))
        .chain(departures.iter().flatten().copied())
        .collect();
    let slots = slots(&shown, until);
    let axis = match options.mode {
        TimeMode::RealTime => {
            let moments = shown
                .iter()
                .zip(&slots)
                .flat_map(|(m, &(sent, received))| {
                    std::iter::once((m.sent.at_ms, sent))
                        .chain(received_by(m, until).map(|r| (r.at_ms, received)))
                })
                .chain(
                    shown_bars
                        .iter()
                        .flat_map(|b| [(b.start_ms, 0), (b.end_ms, 0)]),
                )
                .chain(marked_times.iter().map(|&at| (at, 0)))
                .collect();
            Axis::real_time(moments, options.zoom)
        }
        TimeMode::Lamport => Axis::Lamport {
            row: LAMPORT_ROW * options.zoom.max(MIN_LAMPORT_ZOOM),
        },
    };
    let cuts: Vec<PlacedCut> = shown_cuts
        .into_iter()
        .map(|(cut, points)| {
            let mut points: Vec<(f64, f64)> = points
                .into_iter()
                .map(|(x, at)| (x, axis.at(at, 0)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            PlacedCut {
                recording: cut.recording,
                points,
                abandoned: cut.abandoned,
            }
        })
        .collect();
    let latest = shown
        .iter()
        .flat_map(|m| std::iter::once(m.sent.at_ms).chain(received_by(m, until).map(|r| r.at_ms)))
        .fold(f64::MIN, f64::max);
    // Where each message's arrow starts and ends, down the drawing.
    let runs: Vec<(&Message, f64, Option<f64>, f64)> = shown
        .iter()
        .zip(&slots)
        .map(|(message, &(sent, received))| {
            let sent_y = axis.y(&message.sent, sent);
            let received_y = received_by(message, until).map(|r| axis.y(r, received));
            (
                *message,
                sent_y,
                received_y,
                received_y.unwrap_or(sent_y + STUB),
            )
        })
        .collect();
    let lifeline_ends: Vec<Option<f64>> = departures
        .iter()
        .map(|at| at.map(|at_ms| axis.end_at(at_ms)))
        .collect();
    let lowest = runs
        .iter()
        .map(|&(.., end)| end)
        .chain(lifeline_ends.iter().flatten().copied())
        .fold(TOP, f64::max);
    // A window reaching past the drawing's end is moved up to end there: it loses nothing,
    // and when the drawing has just become shorter (a filter, fewer lifelines) it holds the
    // end, where the browser is about to clamp the scroller, not an empty stretch below it.
    let drawing_end = lowest + TOP;
    let (top, bottom) = if bottom > drawing_end {
        (top - (bottom - drawing_end), drawing_end)
    } else {
        (top, bottom)
    };
    let placed_bars = shown_bars
        .iter()
        .filter_map(|bar| {
            let (y0, y1) = (axis.at(bar.start_ms, 0), axis.end_at(bar.end_ms));
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
    let mut arrows = Vec::new();
    for (message, sent_y, received_y, end) in runs {
        let (Some(from_x), Some(to_x)) = (x(&message.from), x(&message.to)) else {
            continue;
        };
        if end >= top && sent_y <= bottom {
            arrows.push(Arrow {
                position: message.position,
                kind: message.kind,
                from_x,
                to_x,
                sent_y,
                received_y,
                stub_x: stub_end(from_x, to_x, spacing),
                in_flight: received_y.is_none()
                    && (message.received.is_some()
                        || latest - message.sent.at_ms < IN_FLIGHT_LIMIT_MS),
                label: message.label.clone(),
                protocol: message.protocol.clone(),
                recorded: message.recorded,
                text: None,
            });
        }
    }
    let gaps = match &axis {
        Axis::RealTime { gaps, .. } => gaps.clone(),
        Axis::Lamport { .. } => Vec::new(),
    };
    place_labels(&mut arrows, &cuts);
    Layout {
        width: (2.0 * SIDE + spacing * lifelines).max(options.width),
        height: drawing_end,
        lifeline_x: options.lifelines.iter().filter_map(x).collect(),
        lifeline_ends,
        arrows,
        bars: placed_bars,
        gaps,
        cuts,
        drawn: shown.len(),
    }
}

/// Following a diagram wider than its scroller (twenty lifelines on a laptop, hundreds on any
/// screen), the newest messages can all run between columns off to the side, leaving only
/// lifelines in view. Given the arrows laid out and what the scroller shows of the drawing
/// (`left..right`, `top..bottom`), says where to scroll across to: the left end of the newest
/// arrow in the rows shown, a column's width before it. None while that arrow, or any sent in
/// the lower half of the rows shown (the recent ones), is in the columns shown: so the view
/// does not jump sideways with each message while recent ones are in sight.
pub fn across_to(arrows: &[Arrow], left: f64, right: f64, top: f64, bottom: f64) -> Option<f64> {
    // Its line, not only its width, in the columns shown: a long slanted dial may cross them
    // only above the rows shown.
    let in_view_from = |arrow: &Arrow, rows_top: f64| {
        arrow
            .columns_within(rows_top, bottom)
            .is_some_and(|(from, to)| to >= left && from <= right)
    };
    let newest = arrows
        .iter()
        .rev()
        .find(|arrow| arrow.columns_within(top, bottom).is_some())?;
    let recent = |arrow: &&Arrow| arrow.sent_y >= (top + bottom) / 2.0;
    if in_view_from(newest, top) || arrows.iter().filter(recent).any(|a| in_view_from(a, top)) {
        return None;
    }
    Some((newest.from_x.min(newest.to_x) - MIN_COLUMN).max(0.0))
}

/// Where the stub of a message not received ends across: towards its receiver, further the
/// further it goes, so a sender's markers to several peers part from the start (one length
/// for all drew them on one line), yet short of the next lifeline, where it would read as
/// received.
fn stub_end(from_x: f64, to_x: f64, spacing: f64) -> f64 {
    if to_x == from_x {
        return from_x;
    }
    let lifelines_apart = ((to_x - from_x).abs() / spacing).round().max(1.0);
    let share = (0.2 + 0.1 * lifelines_apart).min(0.7);
    from_x + (to_x - from_x).signum() * spacing * share
}

/// Width of a label's character and height of its line, in pixels, for the diagram's font
/// (10.5 px sans-serif): generous, so estimated boxes that do not touch never overlap drawn.
const CHAR_WIDTH: f64 = 6.3;
const LINE_HEIGHT: f64 = 13.0;
/// Where along an arrow its label may sit, in order of preference: near the sender first,
/// where sends are a row apart.
const LABEL_SPOTS: [f64; 6] = [0.3, 0.5, 0.15, 0.7, 0.85, 0.05];
/// A label that fits nowhere whole is tried cut to this many characters.
const SHORT_LABEL: usize = 9;
/// Text of a cut's name, at its last point (the page draws it there).
pub fn cut_name(cut: &PlacedCut) -> String {
    if cut.abandoned {
        format!("{} cut (incomplete)", cut.recording)
    } else {
        format!("{} cut", cut.recording)
    }
}

/// A label's box: (left, top, right, bottom).
type LabelBox = (f64, f64, f64, f64);

fn label_box(x: f64, baseline: f64, text: &str) -> LabelBox {
    let half = text.chars().count() as f64 * CHAR_WIDTH / 2.0;
    (
        x - half,
        baseline - LINE_HEIGHT + 3.0,
        x + half,
        baseline + 3.0,
    )
}

fn overlaps(a: &LabelBox, b: &LabelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Up to this many arrows in the window, a label keeps off the other arrows' lines where it
/// can; where more crowd together, no spot is clear, and looking for one costs each frame.
const MAX_SHAFTS_AVOIDED: usize = 300;

/// Where a label sits against its arrow's line.
#[derive(Debug, Clone, Copy)]
enum Side {
    Above,
    Below,
}

/// Lines taller than this are not looked at when placing labels.
const MAX_OBSTACLE_HEIGHT: f64 = 40.0 * LINE_HEIGHT;

/// An arrow's line as drawn, end to end (a message not received: its stub).
type Shaft = (f64, f64, f64, f64);

fn shaft(arrow: &Arrow) -> Shaft {
    let (x2, y2) = arrow.end();
    (arrow.from_x, arrow.sent_y, x2, y2)
}

/// Whether the line passes through the box.
fn crosses(shaft: &Shaft, b: &LabelBox) -> bool {
    let &(x1, y1, x2, y2) = shaft;
    let (left, right) = (x1.min(x2).max(b.0), x1.max(x2).min(b.2));
    if left > right {
        return false;
    }
    let (top, bottom) = if x1 == x2 {
        (y1.min(y2), y1.max(y2))
    } else {
        let y_at = |x: f64| y1 + (y2 - y1) * (x - x1) / (x2 - x1);
        let (a, b) = (y_at(left), y_at(right));
        (a.min(b), a.max(b))
    };
    top < b.3 && b.1 < bottom
}

/// Places each arrow's label, oldest first: at the first spot well inside it, above its line,
/// where it covers no label placed before it, no cut's name and no other arrow's line; else
/// below its line, the same way (a FIN sent just after a PONG lies a few pixels under it); else at the
/// first spot above where it covers no label nor name, whole, then cut short; else nowhere.
/// Dial arrows' labels (shown only on hover) take no room, and their faint lines are no
/// obstacle.
fn place_labels(arrows: &mut [Arrow], cuts: &[PlacedCut]) {
    // Boxes and lines by the rows of LINE_HEIGHT they touch, so a label is checked only
    // against its neighbours.
    let row_span = |top: f64, bottom: f64| {
        (top / LINE_HEIGHT).floor() as i64..=(bottom / LINE_HEIGHT).floor() as i64
    };
    let mut rows: HashMap<i64, Vec<LabelBox>> = HashMap::new();
    let add = |rows: &mut HashMap<i64, Vec<LabelBox>>, b: LabelBox| {
        for row in row_span(b.1, b.3) {
            rows.entry(row).or_default().push(b);
        }
    };
    for cut in cuts {
        if let Some(&(x, y)) = cut.points.last() {
            let name = cut_name(cut);
            let width = name.chars().count() as f64 * CHAR_WIDTH;
            add(&mut rows, label_box(x + 8.0 + width / 2.0, y + 4.0, &name));
        }
    }
    let shafts: Vec<Shaft> = arrows.iter().map(shaft).collect();
    let mut shaft_rows: HashMap<i64, Vec<usize>> = HashMap::new();
    let drawn_lines: Vec<usize> = (0..arrows.len())
        .filter(|&i| arrows[i].kind != MessageKind::Connect)
        .collect();
    if drawn_lines.len() <= MAX_SHAFTS_AVOIDED {
        for i in drawn_lines {
            let (_, y1, _, y2) = shafts[i];
            // A line down a long stretch (the room's diagram lays out its whole trace) would
            // fill thousands of rows on every layout: it is no obstacle.
            if (y1 - y2).abs() > MAX_OBSTACLE_HEIGHT {
                continue;
            }
            for row in row_span(y1.min(y2), y1.max(y2)) {
                shaft_rows.entry(row).or_default().push(i);
            }
        }
    }
    for (i, arrow) in arrows.iter_mut().enumerate() {
        let (x1, y1, x2, y2) = shafts[i];
        let on_line = |t: f64| (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
        // A label's baseline: 4 px above the line, or one row below it.
        let spot = |t: f64, side: Side| {
            let (x, y) = on_line(t);
            match side {
                Side::Above => (x, y - 4.0),
                Side::Below => (x, y + LINE_HEIGHT - 2.0),
            }
        };
        let full = shown_label(arrow);
        if arrow.kind == MessageKind::Connect {
            let (x, y) = spot(LABEL_SPOTS[0], Side::Above);
            arrow.text = Some(Label { x, y, text: full });
            continue;
        }
        let free_of_labels = |candidate: &LabelBox| {
            row_span(candidate.1, candidate.3).all(|row| {
                rows.get(&row)
                    .is_none_or(|placed| !placed.iter().any(|b| overlaps(b, candidate)))
            })
        };
        let clear = |candidate: &LabelBox| {
            free_of_labels(candidate)
                && row_span(candidate.1, candidate.3).all(|row| {
                    shaft_rows.get(&row).is_none_or(|lines| {
                        !lines
                            .iter()
                            .any(|&j| j != i && crosses(&shafts[j], candidate))
                    })
                })
        };
        let short = shorten(&full);
        let tries = [
            (&full, Side::Above, true),
            (&full, Side::Below, true),
            (&full, Side::Above, false),
            (&short, Side::Above, false),
        ];
        let placed = tries.iter().find_map(|&(text, side, off_lines)| {
            // Off the lines, only spots well inside the arrow: one at its very end reads as
            // the next arrow's.
            let spots = if off_lines {
                &LABEL_SPOTS[..4]
            } else {
                &LABEL_SPOTS[..]
            };
            spots.iter().find_map(|&t| {
                let (x, y) = spot(t, side);
                let candidate = label_box(x, y, text);
                let fits = if off_lines {
                    clear(&candidate)
                } else {
                    free_of_labels(&candidate)
                };
                fits.then(|| {
                    (
                        Label {
                            x,
                            y,
                            text: text.clone(),
                        },
                        candidate,
                    )
                })
            })
        });
        if let Some((label, taken)) = placed {
            add(&mut rows, taken);
            arrow.text = Some(label);
        }
    }
}

/// The label as drawn: a message not received says whether it is still in flight.
fn shown_label(arrow: &Arrow) -> String {
    match (arrow.received_y, arrow.in_flight) {
        (Some(_), _) => arrow.label.clone(),
        (None, true) => format!("{} (in flight)", arrow.label),
        (None, false) => format!("{} (not received)", arrow.label),
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= SHORT_LABEL {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(SHORT_LABEL - 1).collect();
    short.push('…');
    short
}

enum Axis {
    /// Sorted moments (a time, and a row within it: see [`slots`]) and the y of each; pauses
    /// longer than MAX_GAP_MS are shortened.
    RealTime {
        moments: Vec<(f64, u32)>,
        ys: Vec<f64>,
        gaps: Vec<Gap>,
    },
    /// One tick's height.
    Lamport { row: f64 },
}

impl Axis {
    fn real_time(mut moments: Vec<(f64, u32)>, zoom: f64) -> Axis {
        moments.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        moments.dedup();
        let mut ys = Vec::with_capacity(moments.len());
        let mut gaps = Vec::new();
        let mut y = TOP;
        // Moments a millisecond apart (a handshake's messages) separate only as this grows.
        let min_step = MIN_STEP * zoom.max(1.0);
        for (i, &(t, _)) in moments.iter().enumerate() {
            if i > 0 {
                let pause = t - moments[i - 1].0;
                if pause > MAX_GAP_MS {
                    gaps.push(Gap {
                        y: y + MAX_GAP_MS * zoom / 2.0,
                        skipped_ms: pause,
                    });
                }
                y += (pause.min(MAX_GAP_MS) * zoom).max(min_step);
            }
            ys.push(y);
        }
        Axis::RealTime { moments, ys, gaps }
    }

    /// Where a send or receive stamped `stamp` is drawn, in row `slot` of its instant.
    fn y(&self, stamp: &Stamp, slot: u32) -> f64 {
        match self {
            Axis::RealTime { .. } => self.at(stamp.at_ms, slot),
            Axis::Lamport { row } => TOP + row * stamp.lamport.unwrap_or_default() as f64,
        }
    }

    /// Where row `slot` of the instant `at_ms` is drawn, in real time (spans, cuts and
    /// departures have no Lamport time, so no other axis asks).
    fn at(&self, at_ms: f64, slot: u32) -> f64 {
        let Axis::RealTime { moments, ys, .. } = self else {
            return TOP;
        };
        // Every moment drawn is one of `moments`.
        let i = moments.partition_point(|&(t, s)| t < at_ms || (t == at_ms && s < slot));
        ys.get(i).or(ys.last()).copied().unwrap_or(TOP)
    }

    /// Where the last row of the instant `at_ms` is drawn, in real time: what ends then (a
    /// span's bar, a lifeline) ends below every arrow of that instant.
    fn end_at(&self, at_ms: f64) -> f64 {
        let Axis::RealTime { moments, ys, .. } = self else {
            return TOP;
        };
        let after = moments.partition_point(|&(t, _)| t <= at_ms);
        ys[..after].last().or(ys.first()).copied().unwrap_or(TOP)
    }
}

/// Each message's row within the instant it was sent at and the one it was received at (0, 1,
/// …). Two messages between the same peers, the same way, stamped with the same time (a PONG
/// and the FIN written right after it) would be drawn on one line, the later hiding the
/// earlier: each after the first takes the next row, in the order they were sent. A message
/// received at the instant it was sent is drawn received no higher than sent.
fn slots(shown: &[&Message], until: f64) -> Vec<(u32, u32)> {
    let mut slots = vec![(0, 0); shown.len()];
    // Every send and receive by time, and in the order sent within an instant: only those
    // sharing an instant with another need a look (a hash per message cost more than the
    // rest of a layout).
    let mut ends: Vec<(f64, usize, bool)> = Vec::with_capacity(2 * shown.len());
    for (i, message) in shown.iter().enumerate() {
        ends.push((message.sent.at_ms, i, false));
        if let Some(received) = received_by(message, until) {
            ends.push((received.at_ms, i, true));
        }
    }
    ends.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    // The next free row of each way (sender, receiver, received) seen at the instant.
    let mut next: Vec<((PeerId, PeerId, bool), u32)> = Vec::new();
    for instant in ends
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|ends| ends.len() > 1)
    {
        next.clear();
        for &(at_ms, i, received) in instant {
            let message = shown[i];
            let way = (message.from, message.to, received);
            let least = if received && message.sent.at_ms == at_ms {
                slots[i].0
            } else {
                0
            };
            let slot = match next.iter_mut().find(|(seen, _)| *seen == way) {
                Some((_, free)) => {
                    let slot = (*free).max(least);
                    *free = slot + 1;
                    slot
                }
                None => {
                    next.push((way, least + 1));
                    least
                }
            };
            if received {
                slots[i].1 = slot;
            } else {
                slots[i].0 = slot;
            }
        }
    }
    slots
}

/// The message's receive, if it happened by `until`.
fn received_by(message: &Message, until: f64) -> Option<&Stamp> {
    message.received.as_ref().filter(|r| r.at_ms <= until)
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

    /// An arrow received 10 px below its start, unlabelled.
    fn arrow(from_x: f64, to_x: f64, sent_y: f64) -> Arrow {
        Arrow {
            position: 0,
            kind: MessageKind::Connect,
            from_x,
            to_x,
            sent_y,
            received_y: Some(sent_y + 10.0),
            stub_x: from_x + (to_x - from_x) * 0.35,
            in_flight: false,
            label: String::new(),
            protocol: String::new(),
            recorded: false,
            text: None,
        }
    }

    #[test]
    fn an_arrow_reaches_from_its_label_to_its_lower_end() {
        let mut received = arrow(0.0, 100.0, 200.0);
        assert_eq!(received.extent(), (200.0, 210.0));
        received.text = Some(Label {
            x: 30.0,
            y: 199.0,
            text: "PING".into(),
        });
        assert_eq!(received.extent(), (199.0 - LINE_HEIGHT, 210.0));
        // Not received: a stub below its start.
        let lost = Arrow {
            received_y: None,
            ..arrow(0.0, 100.0, 200.0)
        };
        assert_eq!(lost.extent(), (200.0, 200.0 + STUB));
    }

    #[test]
    fn stubs_from_one_sender_to_different_peers_part_and_stop_short_of_the_next_lifeline() {
        let spacing = 200.0;
        let ends: Vec<f64> = (1..=6)
            .map(|apart| stub_end(400.0, 400.0 + apart as f64 * spacing, spacing))
            .collect();
        assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{ends:?}");
        assert!(
            ends[..5].windows(2).all(|w| w[1] - w[0] >= 0.1 * spacing),
            "{ends:?}"
        );
        assert!(
            ends.iter()
                .all(|&x| x > 400.0 && x < 400.0 + 0.75 * spacing),
            "{ends:?}"
        );
        assert_eq!(stub_end(400.0, 200.0, spacing), 400.0 - 0.3 * spacing);
    }

    #[test]
    fn following_moves_across_unless_a_recent_arrow_crosses_the_columns_shown() {
        // Columns 0..800 and rows 1000..1500 shown.
        let across = |arrows: &[Arrow]| across_to(arrows, 0.0, 800.0, 1000.0, 1500.0);
        let far = [arrow(4000.0, 4200.0, 1100.0), arrow(3000.0, 3100.0, 1200.0)];
        assert_eq!(across(&far), Some(3000.0 - MIN_COLUMN));
        // A recent arrow (sent in the lower half of the rows) in the columns shown keeps the
        // scroller where it is, even one that starts off to the right.
        let crossing = [far[0].clone(), arrow(6000.0, 100.0, 1300.0), far[1].clone()];
        assert_eq!(across(&crossing), None);
        // So does the newest arrow in view, wherever it is in the rows.
        assert_eq!(across(&[far[0].clone(), arrow(100.0, 200.0, 1050.0)]), None);
        // An older arrow at the top is not enough: the newest are off to the side.
        let older_in_view = [arrow(100.0, 200.0, 1050.0), far[0].clone(), far[1].clone()];
        assert_eq!(across(&older_in_view), Some(3000.0 - MIN_COLUMN));
        // Nor is an old, slow one whose end has only now come into the rows shown.
        let slow = Arrow {
            received_y: Some(1400.0),
            ..arrow(100.0, 200.0, 200.0)
        };
        assert_eq!(across(&[slow, far[1].clone()]), Some(3000.0 - MIN_COLUMN));
        // Nor is a long slanted one that crosses the columns shown only above the rows shown.
        let slanted = Arrow {
            received_y: Some(1500.0),
            ..arrow(700.0, 1500.0, 500.0)
        };
        assert_eq!(
            slanted.columns_within(1000.0, 1500.0),
            Some((1100.0, 1500.0))
        );
        assert_eq!(
            across(&[slanted, far[1].clone()]),
            Some(3000.0 - MIN_COLUMN)
        );
        // Arrows above the rows shown do not count, either way.
        assert_eq!(
            across(&[arrow(100.0, 200.0, 100.0), far[0].clone()]),
            Some(4000.0 - MIN_COLUMN)
        );
        assert_eq!(across(&[arrow(5000.0, 5100.0, 100.0)]), None);
        // Just right of the columns shown: a column's width before its left end.
        assert_eq!(
            across(&[arrow(1000.0, 810.0, 1100.0)]),
            Some(810.0 - MIN_COLUMN)
        );
        // Scrolled far right, an arrow near the drawing's left edge: to the edge, no further.
        assert_eq!(
            across_to(
                &[arrow(1900.0, 10.0, 1100.0)],
                2000.0,
                2800.0,
                1000.0,
                1500.0
            ),
            Some(0.0)
        );
        assert_eq!(across(&[]), None);
    }

    #[test]
    fn a_window_past_the_drawings_end_holds_its_end() {
        let mut trace = Trace::default();
        for n in 0..20 {
            let t = f64::from(n) * 100.0;
            exchange(&mut trace, [t, t + 1.0, t + 2.0, t + 3.0]);
        }
        let options = options(TimeMode::RealTime);
        let whole = layout(&trace, &[], &options, f64::MIN, f64::MAX);
        let newest = whole.arrows.last().unwrap().position;
        // Scrolled far below the end, as a scroller is for a moment when a filter has just
        // made its drawing shorter: the end is drawn, not nothing.
        let below = layout(&trace, &[], &options, 10_000.0, 11_000.0);
        assert!(!below.arrows.is_empty());
        assert_eq!(below.arrows.last().unwrap().position, newest);
        assert!(below.arrows.len() < whole.arrows.len(), "a window's worth");
        // A window within the drawing is drawn as it is.
        let within = layout(&trace, &[], &options, 0.0, 100.0);
        assert!(within.arrows.iter().all(|a| a.sent_y <= 100.0));
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
    fn a_peer_that_left_has_its_lifeline_end_where_it_left_in_real_time() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 5.0, 6.0, 40.0]);
        trace.apply(&crate::event::Event {
            at_ms: 500.0,
            peer: peer(1),
            kind: crate::event::EventKind::Left,
        });
        let drawn = |mode, until_ms| {
            let options = Options {
                until_ms,
                ..options(mode)
            };
            layout(&trace, &[], &options, 0.0, f64::MAX)
        };
        let now = drawn(TimeMode::RealTime, None);
        let [None, Some(end)] = now.lifeline_ends[..] else {
            panic!("peer 1's lifeline ends: {:?}", now.lifeline_ends)
        };
        let last_arrow = now
            .arrows
            .iter()
            .filter_map(|a| a.received_y)
            .fold(0.0, f64::max);
        assert!(end > last_arrow, "it left after the PONG arrived");
        assert!(now.height >= end, "the drawing reaches down to it");
        // Before it left, and in Lamport time (leaving has no Lamport time), it runs on.
        assert_eq!(
            drawn(TimeMode::RealTime, Some(100.0)).lifeline_ends,
            [None, None]
        );
        assert_eq!(drawn(TimeMode::Lamport, None).lifeline_ends, [None, None]);
    }

    #[test]
    fn a_message_not_received_ends_short_of_the_next_lifeline() {
        let (a, d) = (peer(0), peer(3));
        let (ta, td) = (Tracer::new(&a), Tracer::new(&d));
        let [ping, ..] = ping_exchange((a, &ta), (d, &td), "1", [0.0, 5.0, 6.0, 40.0]);
        let mut trace = Trace::default();
        trace.apply(&ping);
        let options = Options {
            lifelines: (0..4).map(peer).collect(),
            width: 800.0,
            ..options(TimeMode::RealTime)
        };
        let layout = layout(&trace, &[], &options, 0.0, f64::MAX);
        let [stub] = &layout.arrows[..] else {
            panic!("one arrow: {layout:?}")
        };
        let (end_x, end_y) = stub.end();
        assert_eq!(end_y, stub.sent_y + STUB);
        let [first, second, ..] = layout.lifeline_x[..] else {
            panic!("four lifelines")
        };
        assert!(
            end_x > first && end_x < second,
            "{end_x} between {first} and {second}"
        );
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
    fn messages_sent_the_same_way_at_one_instant_take_a_row_each_in_order() {
        use crate::event::{Event, EventKind};
        use crate::protocols::ping::PingStep;
        let (a, b, c) = (peer(0), peer(1), peer(2));
        let mut trace = Trace::default();
        // Peer 1 writes its PONG and closes its half at the same instant; both reach peer 0 at
        // the same instant too.
        exchange(&mut trace, [0.0, 5.0, 6.0, 40.0]);
        let event = |at_ms, peer, step| Event {
            at_ms,
            peer,
            kind: EventKind::Ping(step),
        };
        trace.apply(&event(6.0, b, PingStep::ClosedOwnSide { remote: a }));
        trace.apply(&event(40.0, a, PingStep::RemoteClosed { remote: b }));
        // Peer 0 opens streams to two peers at one instant: different lines, one row.
        for to in [b, c] {
            trace.apply(&event(
                50.0,
                a,
                PingStep::StreamOpened {
                    remote: to,
                    protocol: "/testbed/ping/1.0.0".into(),
                },
            ));
        }
        // Then closes the one to peer 1, which hears of it at once: in the row of its send
        // (the second of that instant), not above it.
        trace.apply(&event(50.0, a, PingStep::ClosedOwnSide { remote: b }));
        trace.apply(&event(50.0, b, PingStep::RemoteClosed { remote: a }));
        let options = Options {
            lifelines: vec![a, b, c],
            ..options(TimeMode::RealTime)
        };
        let layout = layout(&trace, &[], &options, 0.0, f64::MAX);
        let arrow = |label: &str| -> Vec<&Arrow> {
            layout.arrows.iter().filter(|a| a.label == label).collect()
        };
        let (pong, close) = (arrow("PONG")[0], arrow("close (FIN)")[0]);
        assert_eq!(
            close.sent_y - pong.sent_y,
            MIN_STEP,
            "the close a row below"
        );
        assert_eq!(
            close.received_y.unwrap() - pong.received_y.unwrap(),
            MIN_STEP
        );
        let [to_b, to_c] = arrow("open stream")[..] else {
            panic!("two streams opened")
        };
        assert_eq!(to_b.sent_y, to_c.sent_y, "a fan from one moment");
        assert!(to_b.sent_y > close.received_y.unwrap());
        let at_once = arrow("close (FIN)")[1];
        assert_eq!(at_once.sent_y, to_b.sent_y + MIN_STEP);
        assert_eq!(at_once.received_y, Some(at_once.sent_y));
    }

    #[test]
    fn labels_never_cover_each_other_and_are_cut_short_or_left_to_hover_when_crowded() {
        let mut trace = Trace::default();
        // Eight pings between the same two peers within a few milliseconds: their arrows
        // lie on top of each other.
        for n in 0..8 {
            let t = f64::from(n) * 0.5;
            exchange(&mut trace, [t, t + 1.0, t + 2.0, t + 3.0]);
        }
        let layout = layout(&trace, &[], &options(TimeMode::RealTime), 0.0, f64::MAX);
        let placed: Vec<(&Label, LabelBox)> = layout
            .arrows
            .iter()
            .filter(|a| a.kind != MessageKind::Connect)
            .filter_map(|a| a.text.as_ref())
            .map(|l| (l, label_box(l.x, l.y, &l.text)))
            .collect();
        for (i, (a, box_a)) in placed.iter().enumerate() {
            for (b, box_b) in &placed[i + 1..] {
                assert!(!overlaps(box_a, box_b), "{a:?} covers {b:?}");
            }
        }
        let first = layout.arrows.iter().find(|a| a.label == "PING").unwrap();
        assert_eq!(
            first.text.as_ref().unwrap().text,
            "PING",
            "the first keeps its place"
        );
        assert!(
            layout.arrows.iter().any(|a| a.text.is_none()),
            "a crowd leaves some labels to hover"
        );
    }

    #[test]
    fn a_label_keeps_off_a_line_just_above_its_own() {
        // A PONG, and the FIN sent right after it on the same stream: the two lines run a few
        // pixels apart, and any label above the FIN's line would sit on the PONG's.
        let pong = Arrow {
            kind: MessageKind::Envelope,
            label: "PONG".into(),
            received_y: Some(131.0),
            ..arrow(200.0, 0.0, 100.0)
        };
        let fin = Arrow {
            kind: MessageKind::Close,
            label: "close (FIN)".into(),
            received_y: Some(132.0),
            ..arrow(200.0, 0.0, 116.0)
        };
        let mut arrows = [pong, fin];
        place_labels(&mut arrows, &[]);
        for (i, labelled) in arrows.iter().enumerate() {
            let label = labelled.text.as_ref().expect("placed");
            assert_eq!(label.text, labelled.label, "whole");
            let other = shaft(&arrows[1 - i]);
            assert!(
                !crosses(&other, &label_box(label.x, label.y, &label.text)),
                "{label:?} sits on the other arrow's line"
            );
        }
        let fin_label = arrows[1].text.as_ref().unwrap();
        assert!(fin_label.y > 116.0, "the FIN's label went below its line");
        assert!(
            arrows[1].extent().1 >= fin_label.y,
            "and the arrow reaches down to it"
        );
    }

    #[test]
    fn a_long_label_is_cut_short_before_it_is_left_out() {
        assert_eq!(shorten("/multistream/1.0.0"), "/multist…");
        assert_eq!(shorten("PONG"), "PONG");
    }

    #[test]
    fn few_lifelines_spread_over_the_width_or_are_centred_and_many_keep_a_minimum() {
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
        let mut very_wide = options(TimeMode::RealTime);
        very_wide.width = 1000.0;
        let layout = super::layout(&trace, &[], &very_wide, 0.0, f64::MAX);
        assert_eq!(layout.width, 1000.0);
        assert_eq!(layout.lifeline_x[1] - layout.lifeline_x[0], MAX_COLUMN);
        let middle = (layout.lifeline_x[0] + layout.lifeline_x[1]) / 2.0;
        assert_eq!(middle, 500.0, "two lifelines at their widest are centred");
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
    fn a_span_bar_is_drawn_only_with_some_of_its_work() {
        let mut trace = Trace::default();
        exchange(&mut trace, [10.0, 11.0, 12.0, 13.0]);
        let span = |start_ms, end_ms| Bar {
            peer: peer(0),
            start_ms,
            end_ms,
            label: "ping (initiator)".into(),
        };
        let bars = [span(9.0, 14.0), span(20.0, 30.0)];
        let shown = layout(&trace, &bars, &options(TimeMode::RealTime), 0.0, f64::MAX);
        assert_eq!(
            shown.bars.len(),
            1,
            "the span with no message drawn: {shown:?}"
        );
        // The peer pinged filtered out: peer 0's bar would stand alone.
        let mut without_peer_1 = options(TimeMode::RealTime);
        without_peer_1.lifelines = vec![peer(0), peer(2)];
        let filtered = layout(&trace, &bars, &without_peer_1, 0.0, f64::MAX);
        assert!(filtered.bars.is_empty(), "{filtered:?}");
    }

    #[test]
    fn zooming_in_separates_moments_a_millisecond_apart_in_either_time() {
        let mut trace = Trace::default();
        exchange(&mut trace, [0.0, 1.0, 2.0, 3.0]);
        let ping_height = |mode, zoom| {
            let options = Options {
                zoom,
                ..options(mode)
            };
            let layout = layout(&trace, &[], &options, 0.0, f64::MAX);
            layout.arrows[0].received_y.unwrap() - layout.arrows[0].sent_y
        };
        assert_eq!(ping_height(TimeMode::RealTime, 1.0), MIN_STEP);
        assert_eq!(ping_height(TimeMode::RealTime, 4.0), 4.0 * MIN_STEP);
        // Zooming out shortens long pauses only: moments never come closer than a step.
        assert_eq!(ping_height(TimeMode::RealTime, 0.25), MIN_STEP);
        assert_eq!(ping_height(TimeMode::Lamport, 1.0), LAMPORT_ROW);
        assert_eq!(ping_height(TimeMode::Lamport, 2.0), 2.0 * LAMPORT_ROW);
        assert_eq!(ping_height(TimeMode::Lamport, 0.125), LAMPORT_ROW / 2.0);
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
