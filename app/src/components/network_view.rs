//! The peers on a circle, their connections and the streams open on them, live or at the
//! moment the scrubber shows; the last ping's pair is highlighted. Click a peer to ping it,
//! shift-click to ping from it, or to answer a lesson's question. Too many connections to draw
//! one by one are summed up per peer.

use std::f64::consts::TAU;

use leptos::prelude::*;

use testbed::topology;

use crate::session::{PingState, PingTarget, Session};

const SIZE: f64 = 600.0;
const CENTER: f64 = SIZE / 2.0;
const RADIUS: f64 = 250.0;

/// Beyond this many peers a number inside each circle is too small to read: every tenth peer
/// is numbered outside the ring instead, and each peer's number is in its tooltip.
const NUMBERED_INSIDE: usize = 80;

/// Beyond this many connections a line for each is a solid disc (a hundred peers in the
/// original topology have 4,950): each peer gets a bar for the share of the other peers it is
/// connected to, and only the lines of the peer pointed at are drawn.
const DRAWN_ONE_BY_ONE: usize = 2_000;
/// A bar's length when all of a peer's connections are up.
const FULL_BAR: f64 = 40.0;

fn position(peer: usize, peers: usize) -> (f64, f64) {
    at_radius(peer, peers, RADIUS)
}

/// Where a line between peers `a` and `b` starts and ends.
fn ends(a: usize, b: usize, peers: usize) -> ((f64, f64), (f64, f64)) {
    (position(a, peers), position(b, peers))
}

fn at_radius(peer: usize, peers: usize, radius: f64) -> (f64, f64) {
    // Peer 0 at the top, the rest clockwise.
    let angle = TAU * peer as f64 / peers.max(1) as f64 - TAU / 4.0;
    (CENTER + radius * angle.cos(), CENTER + radius * angle.sin())
}

/// One SVG path of a bar per peer, from just inside its circle towards the centre, each
/// `share(peer)` (0 to 1) of a full bar long.
fn bars(peers: usize, node_radius: f64, share: impl Fn(usize) -> f64) -> String {
    let start = RADIUS - node_radius - 3.0;
    (0..peers)
        .filter_map(|peer| {
            let share = share(peer).min(1.0);
            (share > 0.0).then(|| {
                let (x1, y1) = at_radius(peer, peers, start);
                let (x2, y2) = at_radius(peer, peers, start - FULL_BAR * share);
                format!("M{x1:.1} {y1:.1}L{x2:.1} {y2:.1}")
            })
        })
        .collect()
}

/// Two lines in the middle of the circle: a headline, then what it means.
fn middle_note(class: &'static str, first: String, second: String) -> impl IntoView {
    view! {
        <text class=format!("middle-note {class}") x=CENTER y=CENTER>
            <tspan class="first" x=CENTER dy="-0.4em">{first}</tspan>
            <tspan x=CENTER dy="1.5em">{second}</tspan>
        </text>
    }
}

#[component]
pub fn NetworkView(
    session: Session,
    from: RwSignal<usize>,
    to: RwSignal<PingTarget>,
    /// When the lesson step asks the learner to click a peer: the peer that pings it.
    click_pings_from: Signal<Option<usize>>,
    /// A lesson question is waiting for a peer to be clicked.
    peer_question_open: Signal<bool>,
    answer_peer: Callback<usize>,
    /// The peer the learner predicted, marked until the run answers.
    predicted_peer: Signal<Option<usize>>,
) -> impl IntoView {
    let peers = Memo::new(move |_| session.with_shown_view(|v| v.peer_count()));
    let connections =
        Memo::new(move |_| session.with_shown_view(|v| v.connections().collect::<Vec<_>>()));
    // Each line with the peer count it was placed for, so its ends are plain values (a hundred
    // peers have 4,950 lines, and an effect per end was a cost of its own).
    let lines = move || {
        let n = peers.get();
        connections.get().into_iter().map(move |pair| (pair, n))
    };
    let aggregate = Memo::new(move |_| {
        let expected = session.with_shown_view(|v| v.expected_connections());
        expected.max(connections.with(Vec::len)) > DRAWN_ONE_BY_ONE
    });
    // How many of the other peers each peer is connected to: all of them in the original
    // topology once it is up, and Kademlia's own connections in a DHT network.
    let degrees =
        Memo::new(move |_| connections.with(|c| topology::degrees(c.iter().copied(), peers.get())));
    let degree = move |peer: usize| degrees.with(|d| d.get(peer).copied().unwrap_or(0));
    let share_connected =
        move |peer: usize| degree(peer) as f64 / peers.get().saturating_sub(1).max(1) as f64;
    // The peer under the pointer or focused, whose lines are drawn when the others' are not.
    let pointed = RwSignal::new(None::<usize>);
    let pointed_lines = move || {
        let peer = pointed.get().filter(|_| aggregate.get())?;
        let n = peers.get();
        Some(connections.with(|c| {
            c.iter()
                .filter(|(a, b)| *a == peer || *b == peer)
                .map(|&(a, b)| {
                    let ((x1, y1), (x2, y2)) = ends(a, b, n);
                    view! { <line class="pointed" x1=x1 y1=y1 x2=x2 y2=y2 /> }
                })
                .collect_view()
        }))
    };
    let aggregate_note = move || {
        if !aggregate.get() {
            return None;
        }
        let (first, second) = match pointed.get() {
            Some(peer) => (
                format!("peer {peer}"),
                format!(
                    "connected to {} of the {} others",
                    degree(peer),
                    peers.get().saturating_sub(1)
                ),
            ),
            None => (
                testbed::view::counted(connections.with(Vec::len), "connection", "connections"),
                "Point at a peer to draw its own".to_owned(),
            ),
        };
        Some(middle_note("aggregate-note", first, second))
    };
    // Before the network starts the view would be a blank square: say what comes here.
    let empty_note = move || {
        (peers.get() == 0).then(|| {
            middle_note(
                "empty-note",
                "No peers yet".to_owned(),
                "They appear here once the network starts".to_owned(),
            )
        })
    };
    let streams = Memo::new(move |_| session.with_shown_view(|v| v.streams().collect::<Vec<_>>()));
    let open_streams = move || streams.with(|s| s.iter().map(|(.., n)| n).sum::<u32>());
    // Small networks get bigger circles (up to 0.15 of the arc to the next peer), readable
    // on a short screen too; big ones shrink theirs so neighbours stay apart.
    let node_radius = move || {
        let peers = peers.get().max(1) as f64;
        let by_count = (16.0 - peers / 12.0).clamp(5.0, 16.0);
        by_count.max((TAU * RADIUS / peers * 0.15).min(22.0))
    };
    // The last ping belongs to the present: not drawn on a past moment.
    let ping_pair = move || {
        if session.scrub.get().is_some() {
            return None;
        }
        session
            .last_ping
            .get()
            .map(|run| (run.from, run.to, run.state))
    };
    // The last DHT lookup: a line from the peer that ran it to each peer it asked.
    let lookup_hops = Memo::new(move |_| {
        if session.scrub.get().is_some() || session.config.with(|c| c.dht.is_none()) {
            return Vec::new();
        }
        session.trace.with(|trace| {
            let lookups = trace.lookups();
            let Some(lookup) = lookups.lookups().next_back() else {
                return Vec::new();
            };
            session.view.with(|view| {
                let Some(origin) = view.index_of(&lookup.origin) else {
                    return Vec::new();
                };
                lookups
                    .hops(lookup)
                    .iter()
                    .filter_map(|hop| Some((origin, view.index_of(&hop.asked)?, hop.depth)))
                    .collect::<Vec<_>>()
            })
        })
    });
    let role = move |peer: usize| match ping_pair() {
        Some((from, _, _)) if from == peer => "initiator",
        Some((_, to, _)) if to == peer => "responder",
        _ => "",
    };
    let pick = move |peer: usize, as_initiator: bool| {
        if peer_question_open.get_untracked() {
            answer_peer.run(peer);
            return;
        }
        if let Some(initiator) = click_pings_from.get_untracked() {
            if peer != initiator {
                session.ping(initiator, PingTarget::Peer(peer));
            }
            return;
        }
        if as_initiator {
            from.set(peer);
        } else {
            to.set(PingTarget::Peer(peer));
        }
    };

    view! {
        <figure class="network-view" aria-labelledby="network-view-caption">
            <svg viewBox=format!("0 0 {SIZE} {SIZE}") role="img"
                aria-label=move || format!("{} peers and {} connections", peers.get(), connections.with(Vec::len))>
                <g class="connections">
                    <Show when=move || !aggregate.get()>
                        <For each=lines key=|line| *line let:line>
                            {
                                let ((a, b), n) = line;
                                let ((x1, y1), (x2, y2)) = ends(a, b, n);
                                view! { <line x1=x1 y1=y1 x2=x2 y2=y2 /> }
                            }
                        </For>
                    </Show>
                    {pointed_lines}
                </g>
                <Show when=move || aggregate.get()>
                    <g class="degrees">
                        <path class="degree-track" d=move || bars(peers.get(), node_radius(), |_| 1.0) />
                        <path class="degree-up" d=move || bars(peers.get(), node_radius(), share_connected) />
                    </g>
                </Show>
                {aggregate_note}
                {empty_note}
                <g class="streams">
                    {move || streams.get().into_iter().map(|(a, b, open)| {
                        let ((x1, y1), (x2, y2)) = ends(a, b, peers.get());
                        let title = format!("peer {a} → peer {b}: {open} stream{} open", if open == 1 { "" } else { "s" });
                        view! {
                            <line class="stream" x1=x1 y1=y1 x2=x2 y2=y2><title>{title}</title></line>
                        }
                    }).collect_view()}
                </g>
                <g class="lookup-hops">
                    {move || lookup_hops.get().into_iter().map(|(a, b, depth)| {
                        let ((x1, y1), (x2, y2)) = ends(a, b, peers.get());
                        view! {
                            <line class="lookup-hop" data-depth=depth.min(4) x1=x1 y1=y1 x2=x2 y2=y2>
                                <title>{format!("hop {depth}: peer {a} asked peer {b}")}</title>
                            </line>
                        }
                    }).collect_view()}
                </g>
                {move || ping_pair().map(|(a, b, state)| {
                    let ((x1, y1), (x2, y2)) = ends(a, b, peers.get());
                    let state = match state {
                        PingState::Running => "running",
                        PingState::Answered { .. } => "answered",
                        PingState::Failed(_) => "failed",
                    };
                    view! { <line class="ping-path" data-state=state x1=x1 y1=y1 x2=x2 y2=y2 /> }
                })}
                <g class="peers">
                    {move || (0..peers.get()).map(|peer| {
                        let (x, y) = position(peer, peers.get());
                        let r = node_radius();
                        let label = format!("peer {peer}");
                        let left = move || session.with_shown_view(|v| v.has_left(peer));
                        let name = label.clone();
                        let aria_label = move || match left() {
                            true => format!("{name}: left the network"),
                            false => format!("{name}: click to ping it, shift-click to ping from it"),
                        };
                        view! {
                            <g class="peer" data-role=move || role(peer) tabindex="0" role="button"
                                class:predicted=move || predicted_peer.get() == Some(peer)
                                class:left=left
                                aria-label=aria_label
                                on:mouseenter=move |_| pointed.set(Some(peer))
                                on:focus=move |_| pointed.set(Some(peer))
                                on:mouseleave=move |_| pointed.set(None)
                                on:blur=move |_| pointed.set(None)
                                on:click=move |ev| pick(peer, ev.shift_key())
                                on:keydown=move |ev| if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    pick(peer, ev.shift_key());
                                }>
                                <title>{session.view.with_untracked(|v| v.peer_id(peer)).map(|id| format!("{label}\n{id}")).unwrap_or(label)}</title>
                                <circle cx=x cy=y r=r />
                                {if peers.get() <= NUMBERED_INSIDE {
                                    Some(view! { <text x=x y=y dy="0.35em" font-size=r * 0.95>{peer.to_string()}</text> }.into_any())
                                } else if peer % 10 == 0 {
                                    let (tx, ty) = (CENTER + (x - CENTER) * 1.08, CENTER + (y - CENTER) * 1.08);
                                    Some(view! { <text class="ring-number" x=tx y=ty dy="0.35em" font-size="12">{peer.to_string()}</text> }.into_any())
                                } else {
                                    None
                                }}
                            </g>
                        }
                    }).collect_view()}
                </g>
            </svg>
            <figcaption id="network-view-caption">
                <span class="network-counts">{move || {
                    let streams = match open_streams() {
                        0 => String::new(),
                        1 => " · 1 stream open".to_owned(),
                        n => format!(" · {n} streams open"),
                    };
                    let left = match session.with_shown_view(|v| v.left_count()) {
                        0 => String::new(),
                        n => format!(" ({n} left)"),
                    };
                    format!("{} peers{left} · {} connections up{streams}", peers.get(), connections.with(Vec::len))
                }}</span>
                {move || session.scrub.get().map(|at| view! {
                    <span class="as-of">{format!(" (as it was at {:.2} s)", at / 1000.0)}</span>
                })}
                <span class="legend"><span class="swatch initiator"></span>"initiator"
                <span class="swatch responder"></span>"responder"
                <span class="swatch stream"></span>"stream open"</span>
                {move || aggregate.get().then(|| view! {
                    <span class="legend"><span class="swatch degree"></span>"share of the others connected, per peer"</span>
                })}
                <span class="hint">"Click a peer to ping it; shift-click to ping from it."</span>
            </figcaption>
        </figure>
    }
}
