// The testbed's in-page work, done by js-libp2p in the same browser, for `cargo xtask bench`
// to print side by side with the testbed's own figures (e2e/bench.mjs). The same stack as the
// testbed's peers: the memory transport, Noise, yamux, identify, ping; Kademlia with k 3, α 3.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'

let networks = 0

/** `count` peers listening on memory addresses; with Kademlia when `dht`. */
async function startPeers (count, dht) {
  networks += 1
  const peers = []
  for (let i = 0; i < count; i++) {
    const services = { identify: identify(), ping: ping() }
    if (dht) {
      // In-memory peers have no public address: they serve the DHT as a LAN would, and keep
      // their memory addresses in what they hand out.
      services.dht = kadDHT({ clientMode: false, kBucketSize: 3, alpha: 3, peerInfoMapper: (peer) => peer })
    }
    peers.push(await createLibp2p({
      addresses: { listen: [`/memory/bench-${networks}-${i}`] },
      transports: [memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: 100_000, maxIncomingPendingConnections: 100_000 },
      services
    }))
  }
  return peers
}

/** Who dials whom, as in the testbed's topologies. */
function pairs (count, topology) {
  const all = []
  for (let i = 0; i < count; i++) {
    if (topology === 'original') {
      for (let j = i + 1; j < count; j++) all.push([i, j])
    } else if (topology === 'ring') {
      if (count > 2 || i === 0) all.push([i, (i + 1) % count])
    } else if (topology === 'star' && i > 0) {
      all.push([i, 0])
    }
  }
  return all
}

async function stopAll (peers) {
  await Promise.all(peers.map((peer) => peer.stop()))
}

window.jsLibp2p = {
  /** Starts `count` peers and connects them; then, `pings` times, peer 0 pings peer 1, each
   * ping on a new stream (`/ipfs/ping/1.0.0`: open, 32 bytes there and back, close). */
  async connect (count, topology, pings) {
    const started = performance.now()
    const peers = await startPeers(count, false)
    const links = pairs(count, topology)
    await Promise.all(links.map(([from, to]) => peers[from].dial(peers[to].getMultiaddrs()[0])))
    const tookMs = performance.now() - started
    const roundTrips = []
    for (let i = 0; i < pings; i++) {
      const sent = performance.now()
      await peers[0].services.ping.ping(peers[1].peerId)
      roundTrips.push(performance.now() - sent)
    }
    roundTrips.sort((a, b) => a - b)
    await stopAll(peers)
    return { peers: count, topology, connections: links.length, tookMs, pingMedianMs: roundTrips[Math.floor(pings / 2)] }
  },

  /** A star of `count` Kademlia peers: start, connect, wait until no routing table has
   * changed for `quietMs`, then a closest-peers lookup from peer 0. Times are from
   * navigation, as the testbed's page figure is. */
  async dht (count, quietMs) {
    const peers = await startPeers(count, true)
    await Promise.all(pairs(count, 'star').map(([from, to]) => peers[from].dial(peers[to].getMultiaddrs()[0])))
    let sizes = ''
    let changed = performance.now()
    while (performance.now() - changed < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const now = peers.map((peer) => peer.services.dht.routingTable.size).join(',')
      if (now !== sizes) {
        sizes = now
        changed = performance.now()
      }
    }
    const settledMs = changed
    const entries = peers.reduce((sum, peer) => sum + peer.services.dht.routingTable.size, 0)
    const key = new TextEncoder().encode('bench key')
    const asked = performance.now()
    let requests = 0
    for await (const event of peers[0].services.dht.getClosestPeers(key)) {
      if (event.name === 'PEER_RESPONSE') requests += 1
    }
    const lookupMs = performance.now() - asked
    await stopAll(peers)
    return { peers: count, settledMs, entries, lookupMs, requests }
  }
}
