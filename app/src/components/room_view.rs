//! The Room tab: this tab's peer, the relay and the peers of other tabs in the same room;
//! the path to each (through the relay, then directly over WebRTC) and the messages between
//! them, drawn as a sequence diagram where relayed arrows bend at the relay's lifeline.

use std::collections::HashSet;

use leptos::prelude::*;
use testbed::diagram::{self, Options, TimeMode};
use testbed::labels::peer_tail;
use testbed::room::tokens::{Outcome, INITIAL_TOKENS};
use testbed::room::{check_room_name, Member, MemberState, Path};
use testbed::trace::details::details;
use testbed::trace::mark::MessageKind;
use testbed::webrtc::ice::Ice;
use testbed::PeerId;

use crate::components::sequence_diagram::{kind_name, ArrowheadMarker};
use crate::lazy::{self, Fetched};
use crate::relay_link::{transport, RelayLink, RelayStatus, RelayTransport};
use testbed::room::link::Throughput;

const WIDTH: f64 = 800.0;
/// Pixels per millisecond: a ping between tabs takes a few ms.
const ZOOM: f64 = 4.0;

/// How a room is drawn: [`room_state`], once the rooms' chunk has come.
pub type DrawRoom = fn(RelayLink, String) -> AnyView;

#[component]
pub fn RoomView(link: RelayLink) -> impl IntoView {
    // The view of a room comes with the rooms' chunk, fetched when a room is first named.
    let drawing = Fetched::<DrawRoom>::default();
    view! {
        <section class="panel room" aria-label="Room">
            {move || match link.room.get() {
                None => view! { <JoinRoom link=link /> }.into_any(),
                Some(name) => drawing.draw(lazy::room_state, "the rooms'", |draw| draw(link, name)),
            }}
        </section>
    }
}

/// The Room tab once a room is named; reached only from [`lazy::room_state`].
pub fn room_state(link: RelayLink, name: String) -> AnyView {
    view! { <RoomState link=link name=name /> }.into_any()
}

#[component]
fn JoinRoom(link: RelayLink) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let join = move || {
        let wanted = name.get_untracked().trim().to_owned();
        match check_room_name(&wanted) {
            Ok(()) => {
                error.set(None);
                link.room.set(Some(wanted));
            }
            Err(reason) => error.set(Some(reason)),
        }
    };
    view! {
        <h2>"Join a room"</h2>
        <p>"A room is where the peers of different tabs, browsers and machines meet, through the relay. Pick a name, then open the share link in another tab: both join the same room."</p>
        <form class="join-room" on:submit=move |ev| { ev.prevent_default(); join(); }>
            <label for="room-name">"Room name"</label>
            <input id="room-name" type="text" maxlength="40" placeholder="e.g. class-7b"
                prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev)) />
            <button type="submit">"Join"</button>
        </form>
        {move || error.get().map(|e| view! { <p class="problem-text" role="alert">{e}</p> })}
    }
}

#[component]
fn RoomState(link: RelayLink, name: String) -> impl IntoView {
    let relay_line = move || {
        match link.status.get() {
        RelayStatus::Connected { .. } => None,
        RelayStatus::NotStarted | RelayStatus::Looking { .. } | RelayStatus::Connecting { .. } => {
            Some("Reaching the relay…".to_owned())
        }
        RelayStatus::Absent { reason, retry_in } => Some(format!(
            "No relay: {reason}. Trying again in {retry_in} s; the in-page lessons work meanwhile."
        )),
        RelayStatus::Lost { reason, retry_in } => Some(format!(
            "The relay is gone ({reason}): the circuits to other tabs went with it. Trying again in {retry_in} s; the in-page lessons go on."
        )),
    }
    };
    let me = move || {
        link.me
            .get()
            .map(|p| format!("…{}", peer_tail(&p)))
            .unwrap_or_default()
    };
    let reservation = move || link.circuit_address().map(|address| address.to_string());
    let any_connected = move || link.members.with(|m| m.connected().next().is_some());
    view! {
        <h2>"Room " <span class="room-name">{name}</span></h2>
        {move || relay_line().map(|text| view! { <p class="problem-text" role="alert" data-relay="down">{text}</p> })}
        {move || link.problem.get().map(|text| view! { <p class="problem-text" role="alert">{text}</p> })}
        <RelayTransportLine link=link />
        <p class="room-me">"This tab's peer: " <code>{me}</code> " · "
            {move || match reservation() {
                Some(address) => view! { "reserved; reachable at " <code class="circuit-address">{address}</code> }.into_any(),
                None => view! { "no reservation yet" }.into_any(),
            }}
        </p>
        <table class="room-members">
            <thead><tr><th scope="col">"Peer"</th><th scope="col">"Path"</th><th scope="col" title="Pings: from opening the stream to both sides closing it. Transfers: until the other side has read every byte. By the path each took.">"Round trips, throughput"</th><th scope="col"></th></tr></thead>
            <tbody>
                {move || {
                    let rows: Vec<(PeerId, Member)> = link.members.with(|m| {
                        m.iter().map(|(p, member)| (*p, member.clone())).collect()
                    });
                    if rows.is_empty() {
                        return view! { <tr><td colspan="4" class="hint">"No other tab in this room yet. " <OpenSecondTab /></td></tr> }.into_any();
                    }
                    rows.into_iter().map(|(peer, member)| {
                        let state = member.state;
                        let path = member.path();
                        let pings = move || link.round_trips.with(|r| {
                            [Path::Relayed, Path::Direct].iter().map(|p| r.get(&(peer, *p)).map_or(0, Vec::len)).sum::<usize>()
                        });
                        let kind = member_kind(&member);
                        let state_text = match (state, member.problem) {
                            (MemberState::Listed, _) => "listed; dialing through the relay".to_owned(),
                            (MemberState::Connected, _) if path == Path::Direct => "connected directly (WebRTC)".to_owned(),
                            (MemberState::Connected, _) => match &member.direct_problem {
                                Some(why) => format!("connected through the relay; direct failed: {why}"),
                                None => "connected through the relay".to_owned(),
                            },
                            (MemberState::Unreachable, p) => format!("unreachable: {}", p.unwrap_or_default()),
                            (MemberState::Left, p) => format!("left ({})", p.unwrap_or_else(|| "connection closed".into())),
                        };
                        view! {
                            <tr data-peer=peer.to_string() data-state=format!("{state:?}").to_lowercase()
                                data-direct=(path == Path::Direct).to_string()
                                data-direct-failed=member.direct_problem.is_some().to_string()>
                                <td title=peer.to_string()>{kind} " " <code>"…"{peer_tail(&peer)}</code></td>
                                <td>{state_text}</td>
                                <td class="round-trip" data-pings=move || pings().to_string()>
                                    <RoundTrips link=link peer=peer path=Path::Relayed />
                                    <RoundTrips link=link peer=peer path=Path::Direct />
                                    <Throughputs link=link peer=peer />
                                    <PingsToPeer link=link peer=peer />
                                </td>
                                <td class="row-actions">
                                    <button type="button" disabled=state != MemberState::Connected
                                        on:click=move |_| link.ping(peer)>"Ping"</button>
                                    <button type="button" class="send-bulk" disabled=state != MemberState::Connected
                                        title="Send 32 MiB on a new stream and time it: the throughput of the path in use"
                                        on:click=move |_| link.send_bulk(peer)>"Send 32 MiB"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        <button type="button" class="ping-everyone" disabled=move || !any_connected()
            on:click=move |_| link.ping_everyone()>"Ping every tab"</button>
        <ConnectByAddress link=link />
        <RoomDiagram link=link />
        <RoomDht link=link />
        <RoomSnapshot link=link />
        <h3>"What this tab's peer did"</h3>
        <ol class="room-log" aria-live="polite">
            {move || link.log.with(|log| log.iter().rev().map(|line| view! {
                <li data-tone=format!("{:?}", line.tone).to_lowercase()>{line.text.clone()}</li>
            }).collect_view())}
        </ol>
    }
}

/// Any libp2p browser node reserved on a relay (a js-libp2p one, say) is reached by its
/// address: through the relay, then directly.
#[component]
fn ConnectByAddress(link: RelayLink) -> impl IntoView {
    let address = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let connect = move || match link.connect_to(&address.get_untracked()) {
        Ok(()) => {
            error.set(None);
            address.set(String::new());
        }
        Err(problem) => error.set(Some(format!("Not dialed: {problem}."))),
    };
    view! {
        <form class="connect-by-address" on:submit=move |ev| { ev.prevent_default(); connect(); }>
            <label for="peer-address">"Or reach a peer outside the room by its address"</label>
            <input id="peer-address" type="text" spellcheck="false"
                placeholder="/ip4/…/ws/p2p/RELAY/p2p-circuit/webrtc/p2p/PEER"
                prop:value=move || address.get()
                on:input=move |ev| address.set(event_target_value(&ev)) />
            <button type="submit">"Connect"</button>
        </form>
        {move || error.get().map(|e| view! { <p class="problem-text" role="alert">{e}</p> })}
    }
}

/// The round trips of the pings to `peer` that took `path`: the last and the median.
#[component]
fn RoundTrips(link: RelayLink, peer: PeerId, path: Path) -> impl IntoView {
    let samples = move || {
        link.round_trips
            .with(|r| r.get(&(peer, path)).cloned().unwrap_or_default())
    };
    let median = move || {
        let mut sorted = samples();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    };
    let name = match path {
        Path::Relayed => "relayed",
        Path::Direct => "direct",
    };
    let text = move || match (samples().last().copied(), median(), samples().len()) {
        (Some(last), _, 1) => format!("{name} {last:.1} ms"),
        (Some(last), Some(median), n) => format!("{name} {last:.1} ms (median {median:.1} of {n})"),
        _ => String::new(),
    };
    view! {
        <span class="rtt" data-path=name data-pings=move || samples().len().to_string()
            data-median-ms=move || median().map(|m| format!("{m:.2}")).unwrap_or_default()>{text}</span>
    }
}

/// The learner's pings to `peer` still waiting for their PONG, and why the last one failed.
#[component]
fn PingsToPeer(link: RelayLink, peer: PeerId) -> impl IntoView {
    // Only a change to this peer's entry redraws it, not every ping to any tab.
    let pings = Memo::new(move |_| {
        link.pings
            .with(|p| p.get(&peer).cloned().unwrap_or_default())
    });
    view! {
        {move || pings.with(|p| p.in_flight > 0).then(|| view! { <span class="ping-in-flight">"pinging…"</span> })}
        {move || pings.with(|p| p.last_failure.clone()).map(|why| view! {
            <span class="ping-failed" role="status">"last ping failed: " {why}</span>
        })}
    }
}

/// The last bulk transfer to `peer` on each path: how long the other side took to read it.
#[component]
fn Throughputs(link: RelayLink, peer: PeerId) -> impl IntoView {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let line = move |path: Path| {
        let name = match path {
            Path::Relayed => "relayed",
            Path::Direct => "direct",
        };
        let throughput = link.throughputs.with(|t| t.get(&(peer, path)).cloned())?;
        let mib_per_s = match throughput {
            Throughput::Done { bytes, took_ms } => Some(mib(bytes) / (took_ms / 1000.0)),
            _ => None,
        };
        let text = match throughput {
            Throughput::Sending { bytes } => format!("sending {:.0} MiB {name}…", mib(bytes)),
            Throughput::Done { bytes, took_ms } => format!(
                "{:.0} MiB {name} in {:.2} s: {:.1} MiB/s",
                mib(bytes),
                took_ms / 1000.0,
                mib_per_s.unwrap_or_default()
            ),
            Throughput::Failed(why) => format!("sending failed {name}: {why}"),
        };
        Some(view! {
            <span class="throughput" data-path=name data-done=mib_per_s.is_some().to_string()
                data-mib-per-s=mib_per_s.map(|m| format!("{m:.2}")).unwrap_or_default()>{text}</span>
        })
    };
    view! { {move || line(Path::Relayed)} {move || line(Path::Direct)} }
}

/// How this tab reaches the relay, and a link to the same page over the other transport.
#[component]
fn RelayTransportLine(link: RelayLink) -> impl IntoView {
    let current = transport();
    let other = match current {
        RelayTransport::WebSocket => RelayTransport::WebRtcDirect,
        RelayTransport::WebRtcDirect => RelayTransport::WebSocket,
    };
    let href = move || {
        let location = web_sys::window()?.location();
        let kept: Vec<String> = location
            .search()
            .ok()?
            .trim_start_matches('?')
            .split('&')
            .filter(|part| !part.is_empty() && !part.starts_with("via="))
            .map(str::to_owned)
            .chain((other == RelayTransport::WebRtcDirect).then(|| "via=webrtc".to_owned()))
            .collect();
        // Read when clicked: the fragment changes as the learner goes.
        let _ = link.room.get();
        Some(format!("?{}{}", kept.join("&"), location.hash().ok()?))
    };
    view! {
        <p class="relay-transport" data-transport=current.name()>
            "This tab reaches the relay over " <strong>{current.name()}</strong>
            {move || link.address.get().map(|a| view! { " at " <code>{a.to_string()}</code> })}
            ". "
            <a href=href>{format!("Reach it over {} instead", other.name())}</a>
            {(other == RelayTransport::WebRtcDirect).then(|| view! {
                <span class="hint">" (libp2p's browser WebRTC still logs harmless console errors: rust-libp2p#6551)"</span>
            })}
        </p>
        {link.ice.with_value(|ice| match ice {
            Ok(ice) => view! {
                <p class="ice-settings" title="Set with ?stun=URL, ?turn=URL&turn-user=…&turn-pass=…, ?ice=relay">
                    "Direct connections to other tabs look for a route through " {ice.describe()} "."
                </p>
            }.into_any(),
            Err(problem) => view! {
                <p class="ice-settings problem-text" role="alert">
                    {format!("The page's ICE setting was not used: {problem}. Direct connections look for a route through {}.", Ice::default().describe())}
                </p>
            }.into_any(),
        })}
    }
}

/// Lifelines: this tab, each other tab, then the relay at the side. A message through a
/// circuit bends at the relay's lifeline (the hop); one over a direct connection goes
/// straight from tab to tab and never touches it.
#[component]
fn RoomDiagram(link: RelayLink) -> impl IntoView {
    let lifelines = Memo::new(move |_| {
        let mut peers: Vec<(PeerId, String, bool)> = Vec::new();
        if let Some(me) = link.me.get() {
            peers.push((me, "this tab".to_owned(), false));
        }
        link.members.with(|m| {
            for (peer, member) in m.iter() {
                let gone = matches!(member.state, MemberState::Left | MemberState::Unreachable);
                peers.push((
                    *peer,
                    format!("{} …{}", member_kind(member), peer_tail(peer)),
                    gone,
                ));
            }
        });
        if let Some(relay) = link.relay.get() {
            peers.push((relay, "relay".to_owned(), false));
        }
        peers
    });
    // The path a message took: the one open to the other tab when it was sent.
    let path_of = move |position: u64| {
        let me = link.me.get_untracked();
        let sent = link.trace.with_untracked(|trace| {
            trace
                .message(position)
                .map(|m| (if Some(m.from) == me { m.to } else { m.from }, m.sent.at_ms))
        });
        sent.and_then(|(other, at_ms)| {
            link.members
                .with_untracked(|m| m.get(&other).map(|member| member.path_at(at_ms)))
        })
        .unwrap_or(Path::Relayed)
    };
    let relay_x = move |l: &diagram::Layout| {
        let relay = link.relay.get();
        let index = lifelines.with(|peers| peers.iter().position(|(p, ..)| Some(*p) == relay))?;
        l.lifeline_x.get(index).copied()
    };
    // An arrow's ids and times, on hover: the trace context and Lamport clocks that link
    // this tab's end of it to the other tab's.
    let details = move |position: u64| {
        let name = |peer: &PeerId| {
            lifelines
                .with_untracked(|peers| {
                    peers
                        .iter()
                        .find(|(p, ..)| p == peer)
                        .map(|(_, n, _)| n.clone())
                })
                .unwrap_or_default()
        };
        link.trace.with_untracked(|trace| {
            trace.message(position).map(|message| {
                // A signal's payload says what it carries (the whole fingerprint), a
                // packet's shows its stamp on the wire; an envelope's JSON repeats the rows
                // above.
                let envelope = message.kind == MessageKind::Envelope;
                details(message, name)
                    .into_iter()
                    .filter(|(key, _)| key != "payload" || !envelope)
                    .map(|(key, value)| match (key.as_str(), message.received) {
                        // Its arrow stops short: the receive happens in the other tab.
                        ("received", None) => {
                            "received: in the other tab, unseen from here".to_owned()
                        }
                        _ => format!("{key}: {value}"),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        })
    };
    let layout = Memo::new(move |_| {
        let options = Options {
            mode: TimeMode::RealTime,
            zoom: ZOOM,
            lifelines: lifelines.with(|peers| peers.iter().map(|(p, ..)| *p).collect()),
            kinds: HashSet::from([
                MessageKind::Envelope,
                MessageKind::Signal,
                MessageKind::Tokens,
                MessageKind::Marker,
                MessageKind::Kad,
            ]),
            width: WIDTH,
            until_ms: None,
        };
        link.trace
            .with(|trace| diagram::layout(trace, &[], &options, 0.0, f64::INFINITY))
    });
    // Follows the newest arrows, as the main diagram does while live.
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move || {
        layout.track();
        if let Some(element) = scroller.get() {
            element.set_scroll_top(element.scroll_height());
        }
    });
    view! {
        <div class="room-diagram" node_ref=scroller role="img" aria-label="Sequence diagram of the messages between this tab and the other tabs, through the relay or directly">
            <div class="lifeline-heads" style:width=move || format!("{}px", layout.with(|l| l.width))>
                {move || {
                    let xs = layout.with(|l| l.lifeline_x.clone());
                    lifelines.get().into_iter().zip(xs).map(|((peer, name, gone), x)| view! {
                        <span class="lifeline-head" data-gone=gone.to_string() title=peer.to_string()
                            style:left=format!("{x}px")>{name}</span>
                    }).collect_view()
                }}
            </div>
            <svg class="diagram-svg" width=move || layout.with(|l| l.width) height=move || layout.with(|l| l.height.max(120.0))>
                <ArrowheadMarker id="room-arrowhead" />
                {move || layout.with(|l| l.lifeline_x.iter().map(|&x| view! {
                    <line class="lifeline" x1=x y1="0" x2=x y2=l.height.max(120.0) />
                }).collect_view())}
                {move || layout.with(|l| {
                    let relay_at = relay_x(l);
                    let mut labels = LabelSlots::default();
                    l.arrows.iter().map(|arrow| {
                        let signal = arrow.kind == MessageKind::Signal;
                        // Signaling always crosses the circuit: it is what sets up the direct path.
                        let path = if signal { Path::Relayed } else { path_of(arrow.position) };
                        let through = relay_at.filter(|_| path == Path::Relayed);
                        let start = (arrow.from_x, arrow.sent_y);
                        // A signal that arrived: this tab never saw it sent, so it comes in
                        // from the relay's lifeline, where the circuit delivered it.
                        let arrived = link.trace.with_untracked(|t| t.message(arrow.position).is_some_and(|m| m.sent_unseen));
                        // The points it passes, and where it crosses the relay.
                        let (points, hop, elsewhere) = match (arrow.received_y, through) {
                            (Some(y), Some(rx)) if arrived => {
                                // Kept below the top edge, with room for its label.
                                let hop = (rx, (y - 18.0).max(16.0));
                                (vec![hop, (arrow.to_x, y)], Some(hop), false)
                            }
                            (Some(y), Some(rx)) => {
                                let hop = (rx, (arrow.sent_y + y) / 2.0);
                                (vec![start, hop, (arrow.to_x, y)], Some(hop), false)
                            }
                            (Some(y), None) => (vec![start, (arrow.to_x, y)], None, false),
                            (None, Some(rx)) => {
                                let hop = (rx, arrow.sent_y + diagram::STUB);
                                (vec![start, hop], Some(hop), true)
                            }
                            (None, None) => {
                                (vec![start, arrow.end()], None, true)
                            }
                        };
                        let ((x0, y0), (x1, y1)) = (points[0], points[1]);
                        let (lx, ly) = labels.place(&arrow.label, x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.25 - 5.0);
                        let points = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
                        let path_name = match path {
                            Path::Relayed => "relayed",
                            Path::Direct => "direct",
                        };
                        view! {
                            <g class="arrow" data-kind=kind_name(arrow.kind) data-path=path_name data-elsewhere=elsewhere.to_string() data-label=arrow.label.clone()>
                                <title>{details(arrow.position)}</title>
                                <polyline class="shaft" fill="none" points=points marker-end="url(#room-arrowhead)" />
                                {hop.map(|(hx, hy)| view! {
                                    <circle class="relay-hop" cx=hx cy=hy r="4"><title>"through the relay: a circuit"</title></circle>
                                })}
                                <text x=lx y=ly>{arrow.label.clone()}</text>
                            </g>
                        }
                    }).collect_view()
                })}
            </svg>
            {move || layout.with(|l| l.arrows.is_empty()).then(|| view! {
                <p class="diagram-empty">"No messages between tabs yet. Once another tab joins the room, its peer's messages with this one are drawn here: bent at the relay's lifeline while they go through it, straight once WebRTC connects the two directly."</p>
            })}
        </div>
        {move || layout.with(|l| !l.arrows.is_empty()).then(|| view! {
            <p class="hint room-diagram-key">"A line bent at a white dot went through the relay (a circuit); a straight one went from tab to tab. A dashed line left this tab and arrived in another: only that tab saw it arrive. Hover over an arrow for its details."</p>
        })}
    }
}

/// Where the room diagram's labels went: messages sent at the same moment (markers to every
/// tab, a burst of ICE candidates) would write their labels over one another, so a label
/// that would touch one already placed moves down a line.
#[derive(Default)]
struct LabelSlots {
    /// Each label's left and right edge and its baseline.
    placed: Vec<(f64, f64, f64)>,
}

impl LabelSlots {
    const LINE: f64 = 12.0;
    /// Roughly the width of a character of the diagram's labels.
    const CHAR: f64 = 6.0;

    /// The place for `text` centred at `x` with its baseline at `y`, or the first free line
    /// below it.
    fn place(&mut self, text: &str, x: f64, mut y: f64) -> (f64, f64) {
        let half = text.chars().count() as f64 * Self::CHAR / 2.0;
        let (left, right) = (x - half, x + half);
        while self
            .placed
            .iter()
            .any(|&(l, r, at)| (at - y).abs() < Self::LINE && l < right && left < r)
        {
            y += Self::LINE;
        }
        self.placed.push((left, right, y));
        (x, y)
    }
}

/// The tabs of a room form a Kademlia DHT over their circuits: put a record in one tab, get
/// it in another.
#[component]
fn RoomDht(link: RelayLink) -> impl IntoView {
    let key = RwSignal::new("greeting".to_owned());
    let value = RwSignal::new("hello from this tab".to_owned());
    let any_connected = move || link.members.with(|m| m.connected().next().is_some());
    view! {
        <h3>"A DHT across tabs"</h3>
        <p class="hint">"Every tab's peer also runs Kademlia. Put a record here and get it in another tab: the lookup goes from tab to tab, directly or through the relay."</p>
        <form class="room-dht" on:submit=move |ev| ev.prevent_default()>
            <label for="room-dht-key">"Key"</label>
            <input id="room-dht-key" type="text" maxlength="40" prop:value=move || key.get()
                on:input=move |ev| key.set(event_target_value(&ev)) />
            <label for="room-dht-value">"Value"</label>
            <input id="room-dht-value" type="text" maxlength="80" prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
            <button type="button" class="room-put" disabled=move || !any_connected()
                on:click=move |_| link.put(key.get_untracked(), value.get_untracked())>"Put"</button>
            <button type="button" class="room-get" disabled=move || !any_connected()
                on:click=move |_| link.get(key.get_untracked())>"Get"</button>
        </form>
        {move || link.dht_result.get().map(|result| match result {
            Ok(text) => view! { <p class="room-dht-result" data-state="done" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="room-dht-result problem-text" data-state="failed" role="status">{text}</p> }.into_any(),
        })}
    }
}

/// The end of a PeerId: the start is the same for every Ed25519 key (`12D3KooW`).
/// A tab of the room, or a peer the learner reached by its address (another libp2p node).
fn member_kind(member: &Member) -> &'static str {
    if member.by_address {
        "a peer outside the room"
    } else {
        "another tab"
    }
}

/// Chandy-Lamport across the room's tabs: tokens moving over FIFO channels between them, and a
/// snapshot that adds them up.
#[component]
fn RoomSnapshot(link: RelayLink) -> impl IntoView {
    let any_connected = move || link.members.with(|m| m.connected().next().is_some());
    let name = move |peer: &PeerId| match link.me.get_untracked() == Some(*peer) {
        true => "this tab".to_owned(),
        false => format!("another tab …{}", peer_tail(peer)),
    };
    let outcome = move || {
        link.snapshot.get().map(|outcome| match outcome {
            Outcome::Complete { id, parts } => {
                let total = Outcome::total(&parts);
                let expected = INITIAL_TOKENS * parts.len() as u64;
                let rows = parts.iter().map(|part| {
                    let in_flight: u64 = part.channels.values().flatten().sum();
                    view! {
                        <tr>
                            <td>{name(&part.peer)}</td>
                            <td>{part.state}</td>
                            <td>{in_flight}</td>
                        </tr>
                    }
                }).collect_view();
                let verdict = if total == expected {
                    format!("{total} tokens = {INITIAL_TOKENS} × {} tabs: none lost, none counted twice.", parts.len())
                } else {
                    format!("{total} tokens, not {expected}: a tab joined or left with tokens while they moved.")
                };
                view! {
                    <table class="room-snapshot" data-total=total.to_string() data-expected=expected.to_string()>
                        <caption>{format!("Snapshot {} of {} tabs", id.number + 1, parts.len())}</caption>
                        <thead><tr><th scope="col">"Tab"</th><th scope="col">"Balance recorded"</th><th scope="col">"Tokens recorded in flight to it"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <p class="room-snapshot-verdict" data-conserved=(total == expected).to_string()>{verdict}</p>
                }.into_any()
            }
            Outcome::Incomplete { missing, .. } => {
                let names: Vec<String> = missing.iter().map(name).collect();
                view! {
                    <p class="room-snapshot-verdict problem-text" data-conserved="unknown">
                        {format!("Incomplete: {} left before its marker came.", names.join(", "))}
                    </p>
                }.into_any()
            }
        })
    };
    view! {
        <h3>"A snapshot across tabs"</h3>
        <p class="hint">"Every tab holds tokens (" {INITIAL_TOKENS} " to start) and sends some to the others over FIFO channels, one stream each way, opened once the path to a tab is settled (direct, or the relay when going direct failed). A Chandy-Lamport snapshot started here records every tab's balance and the tokens still in flight, without stopping anything: markers follow the tokens down each channel, and each tab sends its part back to this one."</p>
        <p class="room-balance" data-channels=move || link.channels.get().to_string()>"This tab holds " <strong class="balance">{move || link.balance.get()}</strong> " tokens, with a channel to "
            {move || match link.channels.get() { 1 => "1 other tab".to_owned(), n => format!("{n} other tabs") }} "."</p>
        <div class="room-snapshot-actions">
            <button type="button" class="move-tokens" disabled=move || !any_connected()
                on:click=move |_| link.move_tokens(30)>"Move tokens"</button>
            <button type="button" class="room-snapshot-start" disabled=move || !any_connected()
                on:click=move |_| link.start_snapshot()>"Snapshot from this tab"</button>
        </div>
        {outcome}
    }
}

/// Opens this page's link (the share link: same room, same lesson step) in a new tab, the
/// quickest way to see two tabs meet.
#[component]
fn OpenSecondTab() -> impl IntoView {
    let open = |_| {
        if let Some(window) = web_sys::window() {
            if let Ok(href) = window.location().href() {
                let _ = window.open_with_url_and_target_and_features(&href, "_blank", "noopener");
            }
        }
    };
    view! {
        <button type="button" class="quiet open-second-tab" on:click=open>"Open this page in a second tab"</button>
    }
}
