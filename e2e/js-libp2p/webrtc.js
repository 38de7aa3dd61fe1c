// A js-libp2p browser node for the interop test (e2e/room.test.mjs): WebSocket to the relay,
// a circuit relay v2 reservation there, and libp2p's `/webrtc` (browser to browser), the
// implementation the testbed's own `/webrtc` must talk to. Noise, yamux, identify and ping,
// as the testbed's tabs run.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

let node

const isDirect = (connection) => connection.remoteAddr.toString().includes('/webrtc/') && connection.limits == null

window.jsNode = {
  /** Starts the node, reserves on the relay at `relayAddress`, and returns its PeerId and its
   * `/p2p-circuit/webrtc` address once it has one. */
  async start (relayAddress) {
    node = await createLibp2p({
      addresses: { listen: ['/p2p-circuit', '/webrtc'] },
      transports: [webSockets(), webRTC(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // The relay is on 127.0.0.1: a browser node refuses private addresses by default.
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify(), ping: ping() }
    })
    await node.dial(multiaddr(relayAddress))
    for (let i = 0; i < 200; i++) {
      const address = node.getMultiaddrs().map(String).find((a) => a.includes('/p2p-circuit/webrtc/'))
      if (address) return { peerId: node.peerId.toString(), address }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`no /p2p-circuit/webrtc address: ${node.getMultiaddrs().map(String).join(' ')}`)
  },

  /** Dials `address` (a `/p2p-circuit/webrtc` one) and pings over the direct connection. */
  async dialAndPing (address) {
    const connection = await node.dial(multiaddr(address), { signal: AbortSignal.timeout(30_000) })
    if (!isDirect(connection)) throw new Error(`not a direct WebRTC connection: ${connection.remoteAddr}`)
    return { remoteAddr: connection.remoteAddr.toString(), rttMs: await node.services.ping.ping(connection.remoteAddr) }
  },

  /** Waits for a direct WebRTC connection from `peerId` (the other side dialed), then pings it. */
  async pingWhenDirect (peerId) {
    for (let i = 0; i < 300; i++) {
      const direct = node.getConnections().find((c) => c.remotePeer.toString() === peerId && isDirect(c))
      if (direct) return { remoteAddr: direct.remoteAddr.toString(), rttMs: await node.services.ping.ping(direct.remoteAddr) }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const seen = node.getConnections().map((c) => `${c.remotePeer} ${c.remoteAddr}`).join('; ')
    throw new Error(`no direct connection from ${peerId}; connections: ${seen}`)
  },

  async stop () {
    await node?.stop()
  }
}
