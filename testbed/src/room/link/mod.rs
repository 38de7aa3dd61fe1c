//! A tab's link to the relay and its room, as one loop: read the relay's info endpoint, dial
//! the relay, reserve a slot, register in the room, discover the room's other peers and dial
//! them through the relay; when the relay goes, try again with backoff. The page runs the loop
//! and draws its state; native tests run the same loop against the real relay.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use futures_timer::Delay;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::Deserialize;

use super::members::{MemberState, Members, Path};
use super::tokens::{Outcome, RoomTokens};
use super::{backoff, circuit_address, relay_of, RoomStep, REGISTRATION_TTL_SECONDS};
use crate::event::{Event, EventKind, EventStream, EVENT_QUEUE};
use crate::labels::short_peer_id;
use crate::peer;
use crate::runtime::spawn;

mod actions;
pub use actions::{Throughput, BULK_BYTES};

/// A peer's circuit address and PeerId, from its circuit address or its `/webrtc` one
/// (`…/p2p/RELAY/p2p-circuit[/webrtc]/p2p/PEER`).
pub fn circuit_and_peer(address: &str) -> Result<(Multiaddr, PeerId), String> {
    let address: Multiaddr = address
        .trim()
        .parse()
        .map_err(|e| format!("not a multiaddr ({e})"))?;
    let Some(Protocol::P2p(remote)) = address.iter().last() else {
        return Err("the address must end with /p2p/<PeerId>".into());
    };
    if !address.iter().any(|p| p == Protocol::P2pCircuit) {
        return Err("not a circuit address: it has no /p2p-circuit".into());
    }
    let circuit = address.iter().filter(|p| *p != Protocol::WebRTC).collect();
    Ok((circuit, remote))
}

/// Port of the relay's info endpoint when the page is not told otherwise.
pub const DEFAULT_INFO_PORT: u16 = 4002;

/// How often the room is asked who is in it.
const DISCOVER_EVERY: Duration = Duration::from_secs(3);

/// A registration is renewed well before it expires.
const REGISTER_EVERY: Duration = Duration::from_secs(REGISTRATION_TTL_SECONDS / 2);

/// Events passed on to the page: as many as the peer's own queue holds.
const FORWARDED_EVENTS: usize = EVENT_QUEUE;

/// Where the link is with the relay.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// The page has not started this tab's peer: it does when rooms are first used.
    NotStarted,
    Looking {
        info_url: String,
    },
    /// No relay answered; `retry_in` seconds until the next try.
    Absent {
        reason: String,
        retry_in: u64,
    },
    Connecting {
        address: String,
    },
    Connected {
        relay: String,
        round_trip_ms: Option<f64>,
    },
    Lost {
        reason: String,
        retry_in: u64,
    },
}

/// How a tab reaches the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    WebRtcDirect,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket",
            Transport::WebRtcDirect => "WebRTC-direct",
        }
    }

    /// The part of the relay's addresses that names this transport.
    fn marker(self) -> &'static str {
        match self {
            Transport::WebSocket => "/ws",
            Transport::WebRtcDirect => "/webrtc-direct/",
        }
    }
}

/// The learner's pings to one peer of the room.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PingsTo {
    pub in_flight: u32,
    pub last_failure: Option<String>,
}

/// What the page draws of the link.
#[derive(Debug, Clone)]
pub struct State {
    pub status: Status,
    /// The room this tab is in (or joining).
    pub room: Option<String>,
    pub members: Members,
    /// The relay last reached, kept while it is away: its lifeline stays.
    pub relay: Option<PeerId>,
    /// The relay's address this tab reached it at, ending in `/p2p/RELAY`.
    pub address: Option<Multiaddr>,
    /// Round trips of the pings to each peer of the room by each path, in ms, oldest first.
    pub round_trips: BTreeMap<(PeerId, Path), Vec<f64>>,
    /// The pings to each peer of the room still waiting for their PONG, and why the last
    /// one failed (until a ping to it comes back).
    pub pings: BTreeMap<PeerId, PingsTo>,
    /// The last bulk transfer to each peer of the room by each path.
    pub throughputs: BTreeMap<(PeerId, Path), Throughput>,
    /// What the relay refused last (a limit reached, a room it could not serve).
    pub problem: Option<String>,
}

impl State {
    fn new(status: Status, room: Option<String>) -> State {
        State {
            status,
            room,
            members: Members::default(),
            relay: None,
            address: None,
            round_trips: BTreeMap::new(),
            pings: BTreeMap::new(),
            throughputs: BTreeMap::new(),
            problem: None,
        }
    }

    fn is_connected(&self) -> bool {
        matches!(self.status, Status::Connected { .. })
    }
}

struct Shared {
    state: State,
    /// Room members this tab offered a direct connection to, while any connection to them
    /// lasts: one offer each, never again (token channels may run on the circuit by then).
    #[cfg(target_arch = "wasm32")]
    offered_direct: std::collections::HashSet<PeerId>,
    /// "The state changed": one pending notice is enough, so a full queue drops the next. The
    /// one sender, behind the lock (each clone of a sender would add a slot).
    changed: mpsc::Sender<()>,
}

/// The handle: cheap to clone, shared by the loop and the page.
#[derive(Clone)]
pub struct Link {
    peer: peer::Handle,
    shared: Arc<Mutex<Shared>>,
    tokens: RoomTokens,
    info_url: String,
    transport: Transport,
    /// Pings sent so far: the next one's id (`tab-N`).
    pings_sent: Arc<AtomicU64>,
}

/// What the page reads from the link.
pub struct Updates {
    /// The peer's own events, passed on after the link has read them.
    pub events: mpsc::Receiver<Event>,
    /// A notice each time [`Link::state`] changed.
    pub changed: mpsc::Receiver<()>,
    /// Outcomes of the snapshots this tab started.
    pub outcomes: mpsc::Receiver<Outcome>,
}

/// The link's loop, to run on the caller's executor (its fetch of the info endpoint may be
/// a browser future that cannot move between threads).
pub struct Runner {
    link: Link,
    events: EventStream,
    forward: mpsc::Sender<Event>,
}

#[derive(Debug, Deserialize)]
struct RelayInfo {
    addresses: Vec<String>,
}

impl Link {
    /// A link for `peer` (whose events come on `events`), reading the relay's addresses at
    /// `info_url` and reaching it over `transport`, in `room` if given.
    pub fn start(
        peer: peer::Handle,
        events: EventStream,
        room: Option<String>,
        info_url: String,
        transport: Transport,
    ) -> (Link, Updates, Runner) {
        let (changed, changes) = mpsc::channel(1);
        let (forward, forwarded) = mpsc::channel(FORWARDED_EVENTS);
        let (tokens, outcomes) = RoomTokens::start(peer.clone());
        let link = Link {
            shared: Arc::new(Mutex::new(Shared {
                state: State::new(
                    Status::Looking {
                        info_url: info_url.clone(),
                    },
                    room,
                ),
                #[cfg(target_arch = "wasm32")]
                offered_direct: Default::default(),
                changed,
            })),
            peer,
            tokens,
            info_url,
            transport,
            pings_sent: Arc::default(),
        };
        let updates = Updates {
            events: forwarded,
            changed: changes,
            outcomes,
        };
        let runner = Runner {
            link: link.clone(),
            events,
            forward,
        };
        (link, updates, runner)
    }

    pub fn me(&self) -> PeerId {
        self.peer.peer_id()
    }

    pub fn tokens(&self) -> &RoomTokens {
        &self.tokens
    }

    pub fn state(&self) -> State {
        self.lock().state.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the state and tells the page.
    fn update(&self, change: impl FnOnce(&mut State)) {
        let mut shared = self.lock();
        change(&mut shared.state);
        // Full: a notice is already waiting, and the page reads the whole state anyway.
        let _ = shared.changed.try_send(());
    }

    /// Joins `room` (or leaves every room): the loop registers there next time round.
    pub fn set_room(&self, room: Option<String>) {
        self.update(|state| state.room = room);
    }

    /// Finds the relay, connects, joins the room; when the relay goes, tries again with
    /// backoff.
    async fn stay_connected<F, Fut>(&self, fetch_info: F)
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<String, String>>,
    {
        let mut attempt = 0;
        loop {
            match self.connect(&fetch_info).await {
                Ok(relay_at) => {
                    attempt = 0;
                    self.update(|state| state.problem = None);
                    self.in_room(&relay_at).await;
                }
                Err(reason) => {
                    let retry_in = backoff(attempt).as_secs();
                    self.update(|state| state.status = Status::Absent { reason, retry_in });
                }
            }
            let wait = backoff(attempt);
            self.update(|state| {
                if let Status::Lost { retry_in, .. } = &mut state.status {
                    *retry_in = wait.as_secs();
                }
            });
            Delay::new(wait).await;
            attempt += 1;
        }
    }

    /// Connects to the relay; returns its address, ending in `/p2p/RELAY`.
    async fn connect<F, Fut>(&self, fetch_info: &F) -> Result<Multiaddr, String>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<String, String>>,
    {
        let info_url = self.info_url.clone();
        self.update(|state| {
            state.status = Status::Looking {
                info_url: info_url.clone(),
            }
        });
        let info = fetch_info(info_url.clone()).await?;
        let address = choose_address(&info, &info_url, self.transport)?;
        self.update(|state| {
            state.status = Status::Connecting {
                address: address.to_string(),
            }
        });
        let relay = self
            .peer
            .dial(None, address.clone())
            .await
            .map_err(|e| e.to_string())?;
        let relay_at = match relay_of(&address) {
            Some(_) => address,
            None => address.with(Protocol::P2p(relay)),
        };
        self.update(|state| {
            state.relay = Some(relay);
            state.address = Some(relay_at.clone());
            state.status = Status::Connected {
                relay: short_peer_id(&relay),
                round_trip_ms: None,
            };
        });
        Ok(relay_at)
    }

    fn is_connected(&self) -> bool {
        self.lock().state.is_connected()
    }

    /// Tells the page what went wrong, unless the relay itself went (that is in the status).
    fn problem_while_connected(&self, problem: String) {
        self.update(|state| {
            if state.is_connected() {
                state.problem = Some(problem);
            }
        });
    }

    /// While the relay is there: keeps this tab listed in its room and dials the room's
    /// other peers.
    async fn in_room(&self, relay_at: &Multiaddr) {
        let Some(relay) = relay_of(relay_at) else {
            return;
        };
        let mut reserved = false;
        let mut registered: Option<(String, web_time::Instant)> = None;
        while self.is_connected() {
            let room = self.lock().state.room.clone();
            if let Some(name) = room {
                if !reserved {
                    match self.peer.reserve(relay_at.clone()).await {
                        Ok(_) => {
                            reserved = true;
                            // Other tabs' WebRTC offers arrive on the relayed connections.
                            #[cfg(target_arch = "wasm32")]
                            if let Err(error) = self
                                .peer
                                .listen(Multiaddr::empty().with(Protocol::WebRTC))
                                .await
                            {
                                self.problem_while_connected(format!(
                                    "Other tabs cannot connect to this one directly: {error}"
                                ));
                            }
                        }
                        Err(error) => self.problem_while_connected(format!(
                            "{} A relay holds only so many reservations at once; this tab asks again every {} s.",
                            sentence(&error.to_string()),
                            DISCOVER_EVERY.as_secs()
                        )),
                    }
                }
                let due = registered
                    .as_ref()
                    .is_none_or(|(room, at)| *room != name || at.elapsed() >= REGISTER_EVERY);
                if reserved && due {
                    match self.peer.register(name.clone(), relay).await {
                        Ok(()) => registered = Some((name.clone(), web_time::Instant::now())),
                        Err(error) => self.problem_while_connected(sentence(&error.to_string())),
                    }
                }
                if registered.is_some() {
                    if let Ok(found) = self.peer.discover(name, relay).await {
                        for (remote, _) in found {
                            self.dial_member(relay_at, remote);
                        }
                    }
                }
            }
            Delay::new(DISCOVER_EVERY).await;
        }
    }

    /// Dials a room member through the relay, unless connected or known unreachable, and
    /// pings it when the circuit is up. Going direct follows the circuit's opening.
    fn dial_member(&self, relay_at: &Multiaddr, remote: PeerId) {
        let state = self
            .lock()
            .state
            .members
            .get(&remote)
            .map(|member| member.state);
        if !matches!(state, None | Some(MemberState::Listed | MemberState::Left)) {
            return;
        }
        let link = self.clone();
        let circuit = circuit_address(relay_at, remote);
        spawn(async move {
            link.dial_circuit(remote, circuit).await;
        });
    }

    /// Dials a peer the learner names by its address (another libp2p browser node, e.g. a
    /// js-libp2p one, reserved on a relay): through the relay, then, in a browser, directly
    /// over WebRTC. The side that dialed the circuit offers (the spec's A).
    pub fn connect_to(&self, address: &str) -> Result<PeerId, String> {
        let (circuit, remote) = circuit_and_peer(address)?;
        self.update(|state| state.members.dialing_by_address(remote));
        let link = self.clone();
        spawn(async move {
            if link.dial_circuit(remote, circuit.clone()).await {
                #[cfg(target_arch = "wasm32")]
                link.go_direct(remote, circuit).await;
            }
        });
        Ok(remote)
    }

    /// Dials `remote` at its circuit address and pings it once the circuit is up; says
    /// whether it is. A failure is in the peer's events: the member shows as unreachable.
    async fn dial_circuit(&self, remote: PeerId, circuit: Multiaddr) -> bool {
        let up = self.peer.dial(Some(remote), circuit).await.is_ok();
        if up {
            self.ping(remote);
        }
        up
    }

    /// Offers `remote`, a room member joined to this tab by a circuit, a direct WebRTC
    /// connection if this tab is the one of the two to offer: the one whose PeerId sorts
    /// first. Were both to offer at once, each tab would close its circuits, and the other's
    /// signaling with them, as soon as its own connection opened, and both could fail.
    #[cfg(target_arch = "wasm32")]
    fn offer_direct_if_first(&self, remote: PeerId) {
        let circuit = {
            let mut shared = self.lock();
            let Some(member) = shared.state.members.get(&remote) else {
                return;
            };
            if member.state == MemberState::Left {
                shared.offered_direct.remove(&remote);
                return;
            }
            let due = self.me() < remote
                && member.in_room
                && member.state == MemberState::Connected
                && member.path() == Path::Relayed
                && member.direct_problem.is_none();
            let Some(relay_at) = shared.state.address.clone() else {
                return;
            };
            if !due || !shared.offered_direct.insert(remote) {
                return;
            }
            circuit_address(&relay_at, remote)
        };
        let link = self.clone();
        spawn(async move { link.go_direct(remote, circuit).await });
    }

    /// Dials `remote` directly over WebRTC, unless the two are connected directly already.
    /// A failure is in the peer's events; the traffic stays on the circuit.
    #[cfg(target_arch = "wasm32")]
    async fn go_direct(&self, remote: PeerId, mut circuit: Multiaddr) {
        let direct_already = self
            .lock()
            .state
            .members
            .get(&remote)
            .is_some_and(|member| member.path() == Path::Direct);
        if !direct_already {
            circuit.pop();
            let direct = circuit.with(Protocol::WebRTC).with(Protocol::P2p(remote));
            let _ = self.peer.dial(Some(remote), direct).await;
        }
    }

    /// Reads one of the peer's events: the relay's status, the room's members, channels
    /// for the tokens.
    fn on_event(&self, event: &Event) {
        self.update(|state| {
            let relay = state.relay;
            match &event.kind {
                EventKind::RoundTrip { remote, rtt_ms } if Some(*remote) == relay => {
                    state.status = Status::Connected {
                        relay: short_peer_id(remote),
                        round_trip_ms: Some(*rtt_ms),
                    }
                }
                EventKind::ConnectionClosed { remote, cause } if Some(*remote) == relay => {
                    // What failed while the relay went is not the relay refusing.
                    state.problem = None;
                    state.status = Status::Lost {
                        reason: cause.as_deref().map_or_else(
                            || "its connection closed".to_owned(),
                            |cause| format!("its connection broke: {}", innermost(cause)),
                        ),
                        retry_in: 1,
                    };
                }
                EventKind::Room(RoomStep::Refused { what, reason }) if state.is_connected() => {
                    state.problem = Some(format!("The relay refused the {what}: {reason}"))
                }
                _ => {}
            }
            state.members.apply(event);
        });
        // Each side opens its own channel to the other (one per direction) once the path to
        // it is settled: a channel opened on a circuit would break, losing the tokens in
        // flight, when the circuit closes for the direct connection. Natively there is no
        // direct connection to wait for.
        let changed: Vec<PeerId> = match &event.kind {
            EventKind::Room(
                RoomStep::CircuitOpened { remote, .. }
                | RoomStep::DirectOpened { remote, .. }
                | RoomStep::DirectFailed { remote, .. },
            )
            | EventKind::ConnectionClosed { remote, .. } => vec![*remote],
            // A tab that dialed this one before this one saw it listed joins the room now.
            EventKind::Room(RoomStep::Discovered { peers, .. }) => peers.clone(),
            _ => Vec::new(),
        };
        #[cfg(target_arch = "wasm32")]
        for remote in &changed {
            self.offer_direct_if_first(*remote);
        }
        let settled: Vec<PeerId> = changed
            .into_iter()
            .filter(|remote| {
                self.lock().state.members.get(remote).is_some_and(|member| {
                    // A peer outside the room does not play.
                    if !member.in_room {
                        false
                    } else if cfg!(target_arch = "wasm32") {
                        member.path_settled()
                    } else {
                        member.state == MemberState::Connected
                    }
                })
            })
            .collect();
        for remote in settled {
            let tokens = self.tokens.clone();
            spawn(async move {
                if let Err(error) = tokens.connect(remote).await {
                    tracing::warn!("no token channel to {remote}: {error}");
                }
            });
        }
    }
}

impl Runner {
    /// Runs the link until the page goes: `fetch_info` reads the relay's info endpoint
    /// (the page fetches it; native tests read a socket).
    pub async fn run<F, Fut>(self, fetch_info: F)
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<String, String>>,
    {
        let Runner {
            link,
            mut events,
            mut forward,
        } = self;
        let follow = async {
            while let Some(event) = events.next().await {
                link.on_event(&event);
                if forward.send(event).await.is_err() {
                    break;
                }
            }
        };
        futures::join!(follow, link.stay_connected(fetch_info));
    }
}

/// The relay's address to dial, from its info endpoint's answer: the first of `transport`,
/// preferring one on the host the page reached the endpoint at (127.0.0.1 does not work from
/// another machine of a classroom).
pub fn choose_address(
    info: &str,
    info_url: &str,
    transport: Transport,
) -> Result<Multiaddr, String> {
    let info: RelayInfo = serde_json::from_str(info)
        .map_err(|e| format!("{info_url} did not describe a relay: {e}"))?;
    let host = info_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    let usable: Vec<&String> = info
        .addresses
        .iter()
        .filter(|a| a.contains(transport.marker()))
        .collect();
    let chosen = usable
        .iter()
        .find(|a| a.contains(&format!("/{host}/")))
        .or(usable.first())
        .ok_or_else(|| {
            format!(
                "the relay at {info_url} has no {} address",
                transport.name()
            )
        })?;
    chosen
        .parse()
        .map_err(|e| format!("the relay at {info_url} gave a bad address {chosen}: {e}"))
}

/// `text` as a sentence on its own: capitalised.
/// The last of a chain of errors ("Connection error: I/O error: … broken pipe" → "broken
/// pipe"): what a learner can read; the chain says only how libp2p wrapped it.
fn innermost(cause: &str) -> &str {
    cause.rsplit(": ").next().unwrap_or(cause)
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"{"peer_id":"x","addresses":[
        "/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
        "/ip4/192.168.1.20/tcp/4001/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
        "/ip4/192.168.1.20/udp/4004/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]}"#;

    #[test]
    fn the_address_chosen_is_on_the_host_the_page_reached_and_of_its_transport() {
        let lan = choose_address(INFO, "http://192.168.1.20:4002/", Transport::WebSocket);
        assert!(lan
            .unwrap()
            .to_string()
            .starts_with("/ip4/192.168.1.20/tcp/4001/ws"));
        let local = choose_address(INFO, "http://127.0.0.1:4002/", Transport::WebSocket);
        assert!(local.unwrap().to_string().starts_with("/ip4/127.0.0.1/"));
        let webrtc = choose_address(INFO, "http://127.0.0.1:4002/", Transport::WebRtcDirect);
        assert!(webrtc.unwrap().to_string().contains("/webrtc-direct/"));
    }

    #[test]
    fn a_bad_answer_from_the_info_endpoint_is_named() {
        let url = "http://127.0.0.1:4002/";
        let not_json = choose_address("<html>", url, Transport::WebSocket).unwrap_err();
        assert!(not_json.contains("did not describe a relay"), "{not_json}");
        let none = choose_address(r#"{"addresses":[]}"#, url, Transport::WebSocket).unwrap_err();
        assert_eq!(none, format!("the relay at {url} has no WebSocket address"));
        let bad = choose_address(
            r#"{"addresses":["/ws/nonsense"]}"#,
            url,
            Transport::WebSocket,
        )
        .unwrap_err();
        assert!(bad.contains("bad address"), "{bad}");
    }

    #[test]
    fn a_broken_connection_is_told_by_its_innermost_cause() {
        assert_eq!(
            innermost("Connection error: I/O error: decode error: i/o error: broken pipe"),
            "broken pipe"
        );
        assert_eq!(innermost("timed out"), "timed out");
    }

    #[test]
    fn a_peer_named_by_its_address_is_dialed_through_its_circuit() {
        const RELAY: &str =
            "/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let peer = PeerId::random();
        let circuit = format!("{RELAY}/p2p-circuit/p2p/{peer}");
        for address in [
            circuit.clone(),
            format!("{RELAY}/p2p-circuit/webrtc/p2p/{peer}"),
        ] {
            let (dialed, remote) = circuit_and_peer(&address).unwrap();
            assert_eq!((dialed.to_string(), remote), (circuit.clone(), peer));
        }
        for (address, said) in [
            ("hello", "not a multiaddr"),
            (
                RELAY.trim_end_matches(char::is_alphanumeric),
                "not a multiaddr",
            ),
            ("/ip4/127.0.0.1/tcp/4001/ws", "must end with /p2p/"),
            (RELAY, "no /p2p-circuit"),
        ] {
            let error = circuit_and_peer(address).unwrap_err();
            assert!(error.contains(said), "{address}: {error}");
        }
    }
}
