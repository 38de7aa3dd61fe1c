// The page loads in pieces: the first download (app_bg.wasm) carries the page and the in-page
// peers of the first lessons, and no Kademlia, relay-client or WebRTC code; the DHT's peers
// with the DHT tab's drawing, a tab's peer in rooms with the Room tab's view of a room, and the
// snapshot lessons' token application come in chunks of their own, fetched when first used,
// and work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveDirectory, startRelay, launchBrowser, unexpectedErrors, NO_RELAY, act } from './harness.mjs';

const dist = process.env.DIST_DIR;
const MAIN = 'app_bg.wasm';
/** Source paths the compiler leaves in the wasm (panic locations): one per crate of code that
 * must wait for its first use. */
const LATER = ['libp2p-kad-', 'libp2p-relay-', 'libp2p-rendezvous-', 'libp2p-webrtc-websys-', 'testbed/src/webrtc/transport.rs',
  'testbed/src/room/link/mod.rs', 'app/src/components/dht_view/picture.rs'];

const wasmFiles = () => readdirSync(dist).filter((f) => f.endsWith('.wasm'));
const text = (file) => readFileSync(join(dist, file)).toString('latin1');

let site;
before(async () => { site = await serveDirectory(dist); });
after(() => site?.close());

/** A new page that records which wasm files it fetched. */
async function recordingPage(context) {
  const page = await context.newPage();
  const fetched = [];
  page.on('request', (request) => {
    const file = new URL(request.url()).pathname.slice(1);
    if (file.endsWith('.wasm')) fetched.push(file);
  });
  return { page, fetched };
}

test('the first download holds no Kademlia, relay-client or WebRTC code; the chunks do', () => {
  const main = text(MAIN);
  const chunks = wasmFiles().filter((f) => f !== MAIN);
  assert.ok(chunks.length >= 2, `chunks: ${chunks}`);
  for (const marker of LATER) {
    assert.ok(!main.includes(marker), `${MAIN} holds ${marker}`);
    assert.ok(chunks.some((c) => text(c).includes(marker)), `no chunk holds ${marker}`);
  }
  // The in-page peers' own stack is in the first download.
  for (const marker of ['libp2p-noise-', 'libp2p-yamux-', 'libp2p-identify-']) {
    assert.ok(main.includes(marker), `${MAIN} lacks ${marker}`);
  }
});

test('in-page peers need only the first download; the Room tab fetches the rooms chunk', async () => {
  const { context, errors } = await launchBrowser();
  try {
    const { page, fetched } = await recordingPage(context);
    await page.goto(`${site.url}${NO_RELAY}#v=1&peers=5`);
    await page.waitForSelector('.status[data-phase="ready"]', { timeout: 30_000 });
    await page.click('text=Run ping');
    await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
    assert.deepEqual(fetched, [MAIN]);
    assert.equal(await page.getAttribute('.relay-badge', 'data-state'), 'idle');
    await page.click('#tab-room');
    await page.waitForSelector('.relay-badge[data-state="absent"]', { timeout: 30_000 });
    assert.ok(fetched.length > 1, `fetched ${fetched}`);
    assert.deepEqual(unexpectedErrors(errors), []);
  } finally {
    await context.close();
  }
});

test('the snapshot lesson fetches the snapshots chunk when tokens first move, and they move', async () => {
  const { context, errors } = await launchBrowser();
  try {
    const { page, fetched } = await recordingPage(context);
    await page.goto(`${site.url}${NO_RELAY}#v=1&lesson=chandy-lamport&step=1`);
    await act(page);
    assert.deepEqual(fetched, [MAIN], 'starting the network needs only the first download');
    await page.click('.next');
    await act(page);
    assert.ok(await page.locator('.arrow[data-kind="tokens"]').count() > 0);
    assert.ok(fetched.length > 1, `fetched ${fetched}`);
    assert.deepEqual(unexpectedErrors(errors), []);
  } finally {
    await context.close();
  }
});

test('a DHT lesson opened by link fetches the DHT chunk and its lookups run', async () => {
  const { context, errors } = await launchBrowser();
  try {
    const { page, fetched } = await recordingPage(context);
    await page.goto(`${site.url}${NO_RELAY}#v=1&lesson=dht-distance&step=1`);
    await act(page);
    await page.waitForSelector('.dht-status[data-settled="true"]', { timeout: 120_000 });
    assert.equal(await page.locator('.keyspace .peer').count(), 20);
    assert.ok(fetched.length > 1 && fetched[0] === MAIN, `fetched ${fetched}`);
    assert.deepEqual(unexpectedErrors(errors), []);
  } finally {
    await context.close();
  }
});

test('a room lesson opened by link fetches the rooms chunk and reaches the relay', async () => {
  const relay = await startRelay();
  const { context, errors } = await launchBrowser();
  try {
    const { page, fetched } = await recordingPage(context);
    await page.goto(`${site.url}?relay=${encodeURIComponent(relay.infoUrl)}#v=1&lesson=relays-and-nat`);
    await page.waitForSelector('.relay-badge[data-state="connected"]', { timeout: 60_000 });
    assert.ok(fetched.length > 1 && fetched[0] === MAIN, `fetched ${fetched}`);
    assert.deepEqual(unexpectedErrors(errors), []);
  } finally {
    await context.close();
    await relay.stop();
  }
});
