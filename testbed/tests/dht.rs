//! Kademlia on a real in-memory network: libp2p-kad in every peer, lookups rebuilt hop by hop
//! from the kad messages on the wire, checked against brute force over every PeerId.

#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use futures::future::join_all;
use futures::{AsyncWriteExt, StreamExt};
use libp2p::PeerId;
use testbed::dht;
use testbed::dht::lookup::progress;
use testbed::dht::settle::settle;
use testbed::dht::{KeyPoint, LookupKind, LookupRequest, Lookups};
use testbed::network::MAX_TAPPED_PEERS;
use testbed::trace::mark::MessageKind;
use testbed::trace::Trace;
use testbed::wire::{Direction, WireItem};
use testbed::{EventSink, EventStream, Network, NetworkConfig, NetworkView, Topology};

/// A hang guard, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(120);

/// Quiet time that counts as settled: well above a lookup's request round trip in memory.
const QUIET: Duration = Duration::from_millis(500);

async fn settled_network(peers: usize, seed: u64, dht: dht::Config) -> (Network, EventStream) {
    let (sink, events) = EventSink::new();
    let config = NetworkConfig {
        peers,
        topology: Topology::Star,
        seed,
        latency_ms: 0,
        dht: Some(dht),
    };
    let network = Network::start(config, sink).await.expect("network starts");
    assert!(
        network.connect().await.is_empty(),
        "every peer reaches the hub"
    );
    tokio::time::timeout(PATIENCE, settle(&network, QUIET, |_| {}))
        .await
        .expect("the network settles")
        .expect("every peer answers");
    (network, events)
}

/// Everything the peers reported and the wire carried so far.
fn collect(network: &Network, events: &mut EventStream, lookups: &mut Lookups) {
    while let Ok(event) = events.try_recv() {
        lookups.apply_event(&event);
    }
    for record in network.wire().expect("DHT networks are tapped").drain().0 {
        lookups.apply_wire(&record);
    }
}

/// The `k` live peers closest to `key`, other than `origin`, by brute force.
fn truly_closest(peers: &[PeerId], origin: PeerId, key: &[u8], k: usize) -> Vec<PeerId> {
    let others: Vec<PeerId> = peers.iter().copied().filter(|p| *p != origin).collect();
    closest(&others, key, k)
}

/// The `k` of `peers` closest to `key`, by brute force.
fn closest(peers: &[PeerId], key: &[u8], k: usize) -> Vec<PeerId> {
    let target = KeyPoint::of_bytes(key);
    let mut sorted = peers.to_vec();
    sorted.sort_by_key(|p| KeyPoint::of_peer(p).distance(&target));
    sorted.truncate(k);
    sorted
}

#[tokio::test]
async fn lookups_find_the_k_closest_peers_and_their_hops_are_the_requests_on_the_wire() {
    let dht = dht::Config {
        k: 4,
        alpha: 3,
        replication: 4,
        ..dht::Config::default()
    };
    let (network, mut events) = settled_network(50, 11, dht).await;
    let ids = network.peer_ids();
    let mut lookups = Lookups::default();
    collect(&network, &mut events, &mut lookups);
    assert!(
        lookups.seen > 0,
        "the bootstrap's kad messages were read off the wire"
    );
    assert_eq!(lookups.errors().count(), 0);

    for round in 0..10 {
        let origin = (round * 7) % ids.len();
        let key = ids[(round * 13 + 5) % ids.len()].to_bytes();
        let table = network.peer(origin).unwrap().routing_table().await.unwrap();
        let outcome = network
            .peer(origin)
            .unwrap()
            .lookup(LookupRequest::ClosestPeers { key: key.clone() })
            .await
            .unwrap();
        assert_eq!(outcome.error, None);
        assert_eq!(
            outcome.closest,
            truly_closest(&ids, ids[origin], &key, 4),
            "round {round}: peer {origin}'s lookup found the true 4 closest"
        );
        // Requests handed to connections still being dialed go out a little later.
        tokio::time::sleep(Duration::from_millis(300)).await;
        collect(&network, &mut events, &mut lookups);
        let lookup = lookups.lookups().last().unwrap().clone();
        assert_eq!(lookup.kind, LookupKind::ClosestPeers);
        let hops = lookups.hops(&lookup);
        assert_eq!(
            hops.len() as u32,
            outcome.requests,
            "one hop per request kad counted"
        );

        // Every peer asked was in the origin's table or named by an earlier answer.
        let mut known: Vec<PeerId> = table.peers().collect();
        let mut answered: Vec<_> = hops.iter().filter_map(|h| h.answer.clone()).collect();
        answered.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        for hop in &hops {
            for answer in answered.iter().filter(|a| a.at_ms <= hop.sent_ms) {
                known.extend(answer.peers.iter().map(|f| f.peer));
            }
            assert!(
                known.contains(&hop.asked),
                "round {round}: asked an unknown peer"
            );
        }

        let best_known = progress(&hops);
        assert!(
            best_known.windows(2).all(|w| w[1] <= w[0]),
            "best distance never grows"
        );
        let best = KeyPoint::of_peer(&outcome.closest[0]).distance(&KeyPoint::of_bytes(&key));
        assert_eq!(
            best_known.last(),
            Some(&best),
            "the last hop knows the closest peer"
        );
    }
}

#[tokio::test]
async fn the_hops_shown_equal_the_kad_requests_sent_on_the_wire() {
    hops_shown_equal_kad_requests(MAX_TAPPED_PEERS).await;
}

/// Beyond the fully tapped size only Kademlia's messages are recorded, read off the streams.
#[tokio::test]
async fn the_hops_shown_equal_the_kad_requests_when_only_kad_is_tapped() {
    hops_shown_equal_kad_requests(MAX_TAPPED_PEERS + 10).await;
}

async fn hops_shown_equal_kad_requests(peers: usize) {
    let (network, mut events) = settled_network(peers, 11, dht::Config::default()).await;
    let ids = network.peer_ids();
    let mut lookups = Lookups::default();
    collect(&network, &mut events, &mut lookups);
    let key = b"a key nobody has".to_vec();
    network
        .peer(3)
        .unwrap()
        .lookup(LookupRequest::ClosestPeers { key: key.clone() })
        .await
        .unwrap();
    // Requests handed to connections still being dialed go out a little later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let records = network.wire().unwrap().drain().0;
    if peers > MAX_TAPPED_PEERS {
        assert!(
            records
                .iter()
                .all(|r| matches!(r.item, WireItem::Kad { .. })),
            "only Kademlia's messages are recorded"
        );
    }
    // Counted straight off the wire, at both ends: requests peer 3 wrote with this key, and
    // requests with this key that other peers read from peer 3.
    let is_request = |item: &WireItem| matches!(item, WireItem::Kad { request: true, message: Ok(m), .. } if m.key == key);
    let written = records
        .iter()
        .filter(|r| r.local == ids[3] && r.direction == Direction::Sent && is_request(&r.item))
        .count();
    let read = records
        .iter()
        .filter(|r| r.remote == Some(ids[3]) && r.direction == Direction::Received)
        .filter(|r| is_request(&r.item))
        .count();
    // The same, as the page's trace takes them in: events first, then the wire.
    let mut trace = Trace::default();
    while let Ok(event) = events.try_recv() {
        lookups.apply_event(&event);
        trace.apply(&event);
    }
    for record in &records {
        lookups.apply_wire(record);
        trace.apply_wire(record);
    }
    let arrows = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Kad && m.from == ids[3] && m.label == "FIND_NODE")
        .filter(|m| m.received.is_some())
        .count();
    let lookup = lookups.lookups().last().unwrap().clone();
    let hops = lookups.hops(&lookup);
    assert!(hops.len() >= 2, "several hops with k = 3");
    assert_eq!(hops.len(), written);
    assert_eq!(hops.len(), read);
    assert_eq!(hops.len(), arrows, "one arrow in the diagram per hop");
    let answers = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Kad && m.to == ids[3] && m.label.starts_with('↩'))
        .count();
    assert_eq!(answers, hops.len(), "and one answer arrow per hop");
    assert!(
        hops.iter().all(|h| h.answer.is_some()),
        "every request was answered"
    );
    assert!(
        hops.iter().all(|h| h.in_flight <= 3),
        "never more than α in flight"
    );
}

#[tokio::test]
async fn a_record_is_stored_on_the_r_closest_peers() {
    let dht = dht::Config {
        k: 4,
        alpha: 3,
        replication: 3,
        ..dht::Config::default()
    };
    let (network, _events) = settled_network(50, 11, dht).await;
    let ids = network.peer_ids();
    let everyone: Vec<usize> = (0..ids.len()).collect();
    for i in 0..12 {
        let key = format!("record {i}").into_bytes();
        let origin = i * 4;
        put(&network, origin, &key).await;
        let mut holders: Vec<PeerId> = holders_of(&network, &everyone, &key)
            .await
            .into_iter()
            .filter(|&h| h != origin)
            .map(|h| ids[h])
            .collect();
        let mut expected = truly_closest(&ids, ids[origin], &key, 3);
        expected.sort();
        holders.sort();
        assert_eq!(holders, expected, "record {i} is on the 3 closest peers");
    }
}

/// DHT 3's provider step, natively: peer 9 of DHT 3's network announces it provides
/// `record 2`. libp2p-kad ends the lookup before the ADD_PROVIDER requests are even written
/// (they have no answer), so the stores are read once the wire shows them received, as the
/// DHT tab does: then the 3 live peers closest to the key keep a provider record for it, and
/// a find providers names peer 9 once.
#[tokio::test]
async fn a_provider_record_is_kept_by_the_r_closest_peers_and_found_once() {
    let dht: dht::Config = "k3-a3-r3".parse().unwrap();
    let (network, mut events) = settled_network(30, 12, dht).await;
    let ids = network.peer_ids();
    let mut lookups = Lookups::default();
    collect(&network, &mut events, &mut lookups);
    let stores_asked_before = lookups.stores_asked;
    let key = b"record 2".to_vec();
    let outcome = network
        .peer(9)
        .unwrap()
        .lookup(LookupRequest::Provide { key: key.clone() })
        .await
        .unwrap();
    assert_eq!(outcome.error, None, "peer 9's provide");
    tokio::time::timeout(PATIENCE, async {
        while lookups.stores_asked < stores_asked_before + 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            collect(&network, &mut events, &mut lookups);
        }
    })
    .await
    .expect("three ADD_PROVIDER requests arrive");
    let stores =
        join_all((0..ids.len()).map(|p| network.peer(p).unwrap().stored(vec![key.clone()]))).await;
    let mut holders: Vec<PeerId> = stores
        .into_iter()
        .enumerate()
        .filter(|(p, stored)| *p != 9 && stored.as_ref().unwrap().provided.contains(&key))
        .map(|(p, _)| ids[p])
        .collect();
    let mut expected = truly_closest(&ids, ids[9], &key, 3);
    expected.sort();
    holders.sort();
    assert_eq!(
        holders, expected,
        "record 2's providers are kept by the 3 closest peers"
    );
    // The step after: peer 21 asks who provides it. The closest peers each name peer 9; the
    // outcome names it once.
    let found = network
        .peer(21)
        .unwrap()
        .lookup(LookupRequest::FindProviders { key })
        .await
        .unwrap();
    assert_eq!(found.error, None, "peer 21's find providers");
    assert_eq!(found.providers, vec![ids[9]], "peer 9, named once");
}

const PUT_TRIES: usize = 5;

/// Puts `key` from `origin`. A put that timed out, or that a closest peer did not answer, is
/// tried again: hundreds of peers still dialing the peers their last lookups named (their
/// handshakes outlast the lookups, and settling) can hold a request past its timeout.
async fn put(network: &Network, origin: usize, key: &[u8]) {
    let mut tries = 0;
    let outcome = loop {
        tries += 1;
        let outcome = network
            .peer(origin)
            .unwrap()
            .lookup(LookupRequest::PutRecord {
                key: key.to_vec(),
                value: b"value".to_vec(),
            })
            .await
            .unwrap();
        match &outcome.error {
            Some(error)
                if (error.contains("timed out") || error.contains("did not answer"))
                    && tries < PUT_TRIES =>
            {
                continue
            }
            _ => break outcome,
        }
    };
    assert_eq!(outcome.error, None, "peer {origin}'s put (try {tries})");
}

const GET_TRIES: usize = 3;

/// Gets `key` from peer 0: whether the value came back, and what each try ended with. A get
/// that should find the record is tried again when it did not, once none of `others` runs a
/// lookup: on a busy machine a holder's answer can outlast the request's timeout while every
/// peer refreshes its table, and the lookup then ends without it.
async fn get(network: &Network, key: &[u8], expected: bool, others: &[usize]) -> (bool, String) {
    let ids = network.peer_ids();
    let mut tries = Vec::new();
    loop {
        let outcome = network
            .peer(0)
            .unwrap()
            .lookup(LookupRequest::GetRecord {
                key: key.to_vec(),
                quorum: 1,
            })
            .await
            .unwrap();
        let found = outcome.value.as_deref() == Some(&b"value"[..]);
        tries.push(match &outcome.error {
            Some(error) => format!(
                "{error} ({} requests in {:.0} ms, ended at peers {:?})",
                outcome.requests,
                outcome.took_ms,
                outcome
                    .closest
                    .iter()
                    .map(|c| index_of(&ids, c))
                    .collect::<Vec<_>>()
            ),
            None => format!("found: {found}"),
        });
        if found || !expected || tries.len() == GET_TRIES {
            return (found, format!("tries: {}", tries.join("; ")));
        }
        background_lookups_over(network, others).await;
    }
}

/// Waits until none of `peers` runs a lookup: their refreshes and republications are over.
/// At most a sixth of PATIENCE, so three tries and two waits fit inside the gets' hang guard.
async fn background_lookups_over(network: &Network, peers: &[usize]) {
    let over = async {
        loop {
            let statuses =
                join_all(peers.iter().map(|&p| network.peer(p).unwrap().dht_status())).await;
            if statuses
                .into_iter()
                .all(|status| status.is_ok_and(|s| s.lookups == 0))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(PATIENCE / 6, over).await;
}

/// A peer's index in the network, from its id.
fn index_of(ids: &[PeerId], id: &PeerId) -> usize {
    ids.iter().position(|x| x == id).unwrap()
}

/// Which of `peers` store `key`, read from their stores.
async fn holders_of(network: &Network, peers: &[usize], key: &[u8]) -> Vec<usize> {
    holders_of_each(network, peers, &[key.to_vec()])
        .await
        .remove(0)
}

/// For each of `keys`, which of `peers` store it: one read of each peer's store.
async fn holders_of_each(network: &Network, peers: &[usize], keys: &[Vec<u8>]) -> Vec<Vec<usize>> {
    let stores = join_all(
        peers
            .iter()
            .map(|&p| network.peer(p).unwrap().stored(Vec::new())),
    )
    .await;
    let mut holders = vec![Vec::new(); keys.len()];
    for (&peer, stored) in peers.iter().zip(stores) {
        let records = stored.expect("a live peer answers").records;
        for (holding, key) in holders.iter_mut().zip(keys) {
            if records.contains(key) {
                holding.push(peer);
            }
        }
    }
    holders
}

/// Kademlia's promise under churn, with libp2p-kad's refresh and replication on: once the
/// peers have refreshed their tables and put their records again, every record that kept a
/// live holder is back on the r closest live peers and found from anywhere; a record whose
/// holders all left is gone; one whose copies all left but whose publisher stayed comes back
/// when the publisher republishes it.
async fn records_heal_after_churn(peers: usize, seed: u64, refresh_secs: u16) {
    // One churning network at a time: hundreds of peers refreshing at once on a small machine
    // would time out each other's puts.
    static ONE_AT_A_TIME: futures::lock::Mutex<()> = futures::lock::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let dht = dht::Config {
        k: 3,
        alpha: 3,
        replication: 3,
        refresh_secs: Some(refresh_secs),
    };
    let (network, mut events) = settled_network(peers, seed, dht).await;
    let mut view = NetworkView::new(network.peer_ids(), network.expected_connections());
    while let Ok(event) = events.try_recv() {
        view.apply(&event);
    }
    let ids = network.peer_ids();
    let everyone: Vec<usize> = (0..peers).collect();
    let keys: Vec<Vec<u8>> = (0..12)
        .map(|i| format!("record {i}").into_bytes())
        .collect();
    let publisher = |record: usize| 1 + (record * 7 + seed as usize) % (peers - 1);
    join_all(
        keys.iter()
            .enumerate()
            .map(|(record, key)| put(&network, publisher(record), key)),
    )
    .await;
    let holders = holders_of_each(&network, &everyone, &keys).await;

    // One record loses every holder; one keeps only its publisher (peer 0, which asks
    // afterwards, holds neither); a third of the peers leave besides.
    let republished = (0..keys.len())
        .find(|&r| !holders[r].contains(&0))
        .expect("peer 0 is not among every record's holders");
    let kept = publisher(republished);
    let lost = (0..keys.len())
        .find(|&r| r != republished && !holders[r].contains(&0) && !holders[r].contains(&kept))
        .expect("a record neither peer 0 nor the republisher holds");
    let mut leaving: Vec<usize> = testbed::dht::churn(peers, seed, 33);
    leaving.extend(&holders[lost]);
    leaving.extend(&holders[republished]);
    leaving.retain(|&p| p != kept && p != 0);
    leaving.sort_unstable();
    leaving.dedup();
    // All at once: the peers' own replication must not copy a record in between.
    for stopped in join_all(leaving.iter().map(|&i| network.peer(i).unwrap().stop())).await {
        stopped.unwrap();
    }
    let live: Vec<usize> = everyone
        .iter()
        .copied()
        .filter(|p| !leaving.contains(p))
        .collect();
    let live_ids: Vec<PeerId> = live.iter().map(|&p| ids[p]).collect();
    tokio::time::timeout(PATIENCE, async {
        while view.connected_peer_count() > live.len() {
            match events.next().await {
                Some(event) => {
                    view.apply(&event);
                }
                None => break,
            }
        }
    })
    .await
    .expect("the others saw the leavers' connections close");

    // Healed: each record with a live holder is on the r closest live peers. Which records
    // kept one is read again each round: a replication a leaver sent just before it stopped
    // can still land on a live peer after the connections closed.
    let with_a_live_holder = |now: &[Vec<usize>]| -> Vec<usize> {
        (0..keys.len()).filter(|&r| !now[r].is_empty()).collect()
    };
    let on_closest = |now: &[Vec<usize>], record: usize| {
        closest(&live_ids, &keys[record], 3)
            .iter()
            .all(|c| now[record].iter().any(|&h| ids[h] == *c))
    };
    let mut now = holders_of_each(&network, &live, &keys).await;
    let healed = async {
        while !with_a_live_holder(&now)
            .into_iter()
            .all(|record| on_closest(&now, record))
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            now = holders_of_each(&network, &live, &keys).await;
        }
    };
    // A hang guard: healing takes a refresh or two, longer on a busy machine.
    let in_time = tokio::time::timeout(2 * PATIENCE, healed).await.is_ok();
    if !in_time {
        let now = holders_of_each(&network, &live, &keys).await;
        let unhealed: Vec<usize> = with_a_live_holder(&now)
            .into_iter()
            .filter(|&record| !on_closest(&now, record))
            .collect();
        panic!(
            "records not back on their 3 closest live peers ({peers} peers, seed {seed}):\n{}",
            why_unhealed(&network, &live, &keys, &unhealed).await
        );
    }
    let survivors = with_a_live_holder(&now);
    assert!(survivors.contains(&republished));
    if survivors.contains(&lost) {
        println!("record {lost} was copied to a live peer as its holders left");
    }

    // Peer 0, which runs the gets, is live[0]: it never leaves.
    let others = &live[1..];
    let gets = keys
        .iter()
        .enumerate()
        .map(|(record, key)| get(&network, key, survivors.contains(&record), others));
    let outcomes = tokio::time::timeout(PATIENCE, join_all(gets))
        .await
        .expect("the gets end");
    for (record, (found, tries)) in outcomes.into_iter().enumerate() {
        let expected = survivors.contains(&record);
        // Who held it and who knew its holders, to tell a lookup that missed them from a
        // record that went.
        let why = match found == expected {
            true => String::new(),
            false => why_unhealed(&network, &live, &keys, &[record]).await,
        };
        assert_eq!(
            found, expected,
            "record {record}: found exactly when a holder stayed ({peers} peers, seed {seed}, \
             {tries})\n{why}"
        );
    }
    let key = b"after the churn".to_vec();
    let outcome = network
        .peer(0)
        .unwrap()
        .lookup(LookupRequest::ClosestPeers { key: key.clone() })
        .await
        .unwrap();
    assert_eq!(
        outcome.closest,
        truly_closest(&live_ids, ids[0], &key, 3),
        "a lookup after the churn ends at the 3 closest live peers"
    );
}

/// For each record, its closest live peers, who holds it, and how many live routing tables
/// know each closest peer: a peer no table knows is never offered a copy.
async fn why_unhealed(
    network: &Network,
    live: &[usize],
    keys: &[Vec<u8>],
    records: &[usize],
) -> String {
    let ids = network.peer_ids();
    let live_ids: Vec<PeerId> = live.iter().map(|&p| ids[p]).collect();
    let holders = holders_of_each(network, live, keys).await;
    let mut tables = Vec::new();
    for &peer in live {
        tables.push(network.peer(peer).unwrap().routing_table().await.unwrap());
    }
    let mut report = String::new();
    for &record in records {
        let known: Vec<String> = closest(&live_ids, &keys[record], 3)
            .iter()
            .map(|c| {
                let tables = tables.iter().filter(|t| t.peers().any(|x| x == *c)).count();
                format!("peer {} (in {tables} tables)", index_of(&ids, c))
            })
            .collect();
        report += &format!(
            "record {record}: held by {:?}; closest live: {}\n",
            holders[record],
            known.join(", ")
        );
    }
    report
}

#[tokio::test]
async fn records_heal_after_churn_among_30_peers() {
    for seed in [1, 2, 3] {
        records_heal_after_churn(30, seed, 4).await;
    }
}

#[tokio::test]
async fn records_heal_after_churn_among_100_peers() {
    records_heal_after_churn(100, 4, 10).await;
}

/// Each refresh, every peer runs a lookup per bucket (about 8 among 200 peers) and dials the
/// peers they name: on one core the handshakes of one refresh take longer than 20 s, and a
/// network refreshing that often has its puts time out again and again. Once a minute leaves
/// room between refreshes.
#[tokio::test]
async fn records_heal_after_churn_among_200_peers() {
    records_heal_after_churn(200, 5, 60).await;
}

#[tokio::test]
async fn a_malformed_kad_message_is_recorded_and_lookups_go_on() {
    let (network, mut events) = settled_network(10, 11, dht::Config::default()).await;
    let ids = network.peer_ids();
    let mut stream = network
        .peer(1)
        .unwrap()
        .open_stream(ids[2], testbed::dht::node::PROTOCOL)
        .await
        .expect("peer 2 speaks kad");
    stream.write_all(&[5, 0x12, 50, 1, 2, 3]).await.unwrap();
    stream.flush().await.unwrap();
    let _ = stream.close().await;
    let outcome = network
        .peer(4)
        .unwrap()
        .lookup(LookupRequest::ClosestPeers {
            key: ids[9].to_bytes(),
        })
        .await
        .unwrap();
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.closest[0], ids[9], "a lookup for a peer finds it");
    let mut lookups = Lookups::default();
    tokio::time::sleep(Duration::from_millis(100)).await;
    collect(&network, &mut events, &mut lookups);
    let errors: Vec<_> = lookups.errors().collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].from, errors[0].to), (ids[1], ids[2]));
    assert!(
        errors[0].error.contains("longer than its message"),
        "{}",
        errors[0].error
    );
    assert!(!lookups.hops(lookups.lookups().last().unwrap()).is_empty());
}
