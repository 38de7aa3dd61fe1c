// The original testbed in the real page: 20 peers connect (190 connections), a ping gets its
// PONG, the relay is reached, and bad input gets a clear message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { serveDirectory, startRelay, launchBrowser, screenshotDir, arrowLabels, checkErrorsEachTest, assertToolbarInOneRow } from './harness.mjs';

const DIST = process.env.DIST_DIR;
let site, relay, browser;
const shots = screenshotDir();

before(async () => {
  assert.ok(DIST, 'DIST_DIR is not set: run the tests through `cargo xtask test`');
  site = await serveDirectory(DIST);
  relay = await startRelay();
  browser = await launchBrowser();
});

checkErrorsEachTest(() => browser);

after(async () => {
  await browser?.context.close();
  relay?.stop();
  site?.close();
  console.log(`screenshots in ${shots}`);
});

async function open(path = '#v=1') {
  const page = await browser.context.newPage();
  const separator = path.includes('?') ? '&' : '?';
  const [beforeHash, hash = ''] = path.split('#');
  await page.goto(`${site.url}${beforeHash}${separator}relay=${encodeURIComponent(relay.infoUrl)}${hash ? '#' + hash : ''}`);
  return page;
}

const ready = (page) =>
  page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });

test('20 peers connect by 190 connections and a ping gets its PONG', async () => {
  const page = await open();
  await ready(page);
  assert.match(await page.textContent('.status'), /All 20 peers connected by 190 connections/);
  assert.match(await page.textContent('figcaption'), /20 peers · 190 connections up/);
  assert.equal(await page.locator('.connections line').count(), 190);
  // The log follows its newest line...
  assert.ok(await page.$eval('.log-scroller', (scroller) => {
    const box = scroller.getBoundingClientRect();
    const newest = scroller.querySelector('li:last-child').getBoundingClientRect();
    return scroller.scrollHeight > scroller.clientHeight && newest.bottom <= box.bottom + 1 && newest.top >= box.top - 1;
  }), 'the log shows its newest line');
  // ...until the learner scrolls up to read: then the lines they read stay where they are.
  const reading = () => page.$eval('.log-scroller', (scroller) => {
    const box = scroller.getBoundingClientRect();
    const line = [...scroller.querySelectorAll('li')].find((li) => li.getBoundingClientRect().top >= box.top);
    // Where it is in the scroller: the panel itself moves down as the ping's result shows above it.
    return { text: line.textContent, top: Math.round(line.getBoundingClientRect().top - box.top) };
  });
  await page.$eval('.log-scroller', (scroller) => { scroller.scrollTop -= 300; });
  const read = await reading();

  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
  assert.deepEqual(await reading(), read, 'the lines being read stay put as new ones come');
  const result = await page.textContent('.ping-result');
  assert.match(result, /PONG from peer \d+ to peer 0/);
  const target = result.match(/PONG from peer (\d+)/)[1];
  const log = await page.textContent('.event-log');
  assert.match(log, new RegExp(`peer 0 opened a new stream to peer ${target} and agreed on the protocol /testbed/ping/1.0.0`));
  assert.match(log, new RegExp(`peer 0 sent PING \\(id 1\\) to peer ${target}`));
  assert.match(log, new RegExp(`peer ${target} sent PONG \\(id 1\\) to peer 0`));
  assert.match(log, new RegExp(`peer 0 received PONG \\(id 1\\) from peer ${target}`));
  assert.match(log, /the stream is closed from both sides/);
  assert.equal(await page.getAttribute('.peer[data-role="responder"]', 'aria-label').then((l) => l.split(':')[0]), `peer ${target}`);

  // No room used yet: the tab's own peer (and its code) waits for one.
  assert.equal(await page.getAttribute('.relay-badge', 'data-state'), 'idle');
  await page.screenshot({ path: join(shots, 'original-testbed.png') });

  // The sequence diagram draws the same exchange, arrow by arrow, between the right lifelines.
  await page.click('#tab-diagram');
  await page.selectOption('select[name="lifelines"]', 'last-ping');
  assert.deepEqual(await page.locator('.lifeline-head').allTextContents(), ['peer 0', `peer ${target}`]);
  await assertToolbarInOneRow(page, 'twenty peers and a ping, every control offered');
  // The drawing, scrolled to the end of 190 connections, becomes short: its end is drawn.
  await page.waitForFunction(() => document.querySelectorAll('.arrow').length === 6, null, { timeout: 5_000 });
  // A wider window spreads the lifelines again, though no message comes to lay them out.
  const narrow = await page.$eval('.lifeline-head', (h) => h.getBoundingClientRect().x);
  await page.setViewportSize({ width: 1800, height: 768 });
  await page.waitForFunction((x) => document.querySelector('.lifeline-head').getBoundingClientRect().x > x + 100, narrow, { timeout: 5_000 });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.waitForFunction((x) => Math.abs(document.querySelector('.lifeline-head').getBoundingClientRect().x - x) < 1, narrow, { timeout: 5_000 });
  const labels = await arrowLabels(page);
  assert.equal(await page.locator('.arrow[data-kind="envelope"] title').first().textContent(), 'PING · /testbed/ping/1.0.0');
  assert.deepEqual(labels, ['dial', 'open stream', 'PING', 'PONG', 'close (FIN)', 'close (FIN)']);
  const direction = await page.locator('.arrow .shaft').evaluateAll((lines) =>
    lines.map((l) => (Number(l.getAttribute('x2')) > Number(l.getAttribute('x1')) ? '→' : '←')));
  assert.deepEqual(direction.slice(0, 4), ['→', '→', '→', '←']);
  assert.deepEqual(direction.slice(4).sort(), ['←', '→'], 'each side closes its half');
  // Hiding a lifeline takes its arrows along; "Show" brings them back.
  await page.click(`.lifeline-head:text-is("peer ${target}")`);
  assert.deepEqual(await page.locator('.lifeline-head').allTextContents(), ['peer 0']);
  assert.equal(await page.locator('.arrow').count(), 0);
  await page.click('text=Show 1 hidden peers');
  assert.equal(await page.locator('.arrow').count(), 6);

  // Each side's part of the exchange is a traced span: a bar on its lifeline.
  await page.waitForFunction(() => document.querySelectorAll('.span-bar').length === 2, null, { timeout: 10_000 });
  assert.deepEqual((await page.locator('.span-bar title').allTextContents()).sort(),
    ['ping exchange (initiator)', 'ping exchange (responder)']);
  await page.locator('.arrow[data-kind="envelope"]').first().dispatchEvent('click');
  assert.match(await page.textContent('.arrow-details'), /trace id[0-9a-f]{32}span id[0-9a-f]{16}payload\{"id":"1","type":"PING"/);
  await page.check('input[name="time-mode"] >> nth=1');
  assert.deepEqual(await arrowLabels(page), ['PING', 'PONG']);
  await page.screenshot({ path: join(shots, 'sequence-diagram.png') });

  // Each export downloads a file in its format.
  const exported = {};
  for (const format of ['jaeger', 'chrome', 'shiviz', 'mermaid']) {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.selectOption('select[name="export"]', format),
    ]);
    exported[format] = readFileSync(await download.path(), 'utf8');
  }
  const jaegerSpans = JSON.parse(exported.jaeger).data.flatMap((t) => t.spans);
  assert.deepEqual(jaegerSpans.map((s) => s.operationName.split(' ')[0]), ['PING', 'PONG']);
  assert.equal(jaegerSpans[1].references[0].spanID, jaegerSpans[0].spanID);
  assert.ok(JSON.parse(exported.chrome).traceEvents.some((e) => e.ph === 'f' && e.name === 'PONG'));
  assert.match(exported.shiviz, new RegExp(`^receive PONG from peer ${target}\npeer0 \{.*\}$`, 'm'));
  assert.match(exported.mermaid, new RegExp(`^    peer0->>peer${target}: PING$`, 'm'));
  await page.close();
});

test('on a 1024-pixel screen, too narrow for 20 lifelines, the diagram follows the newest dials sideways', async () => {
  const page = await open();
  await page.setViewportSize({ width: 1024, height: 768 });
  await ready(page);
  await page.click('#tab-diagram');
  // The last dials run between the last peers' lifelines, right of what the scroller first
  // shows: following scrolls across until a recent arrow (in the lower half) is in view.
  await page.waitForFunction(() => {
    const scroller = document.querySelector('.diagram-scroll');
    const box = scroller.getBoundingClientRect();
    const recent = box.top + box.height / 2;
    return scroller.scrollWidth > scroller.clientWidth && scroller.scrollLeft > 0
      && [...document.querySelectorAll('.arrow .shaft')].some((shaft) => {
        const at = shaft.getBoundingClientRect();
        return at.bottom >= recent && at.top <= box.bottom && at.right >= box.left && at.left <= box.right;
      });
  }, null, { timeout: 10_000 });
  await page.screenshot({ path: join(shots, 'diagram-1024.png') });
  await page.close();
});

test('a chosen pair pings in a ring; a pair without a connection is explained', async () => {
  const page = await open('#peers=12&topology=ring&seed=5');
  await ready(page);
  assert.match(await page.textContent('.status'), /All 12 peers connected by 12 connections/);
  await page.selectOption('select[name="from"]', '3');
  await page.click('.peer[aria-label^="peer 4:"]');
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
  assert.match(await page.textContent('.ping-result'), /PONG from peer 4 to peer 3/);
  await page.click('.peer[aria-label^="peer 2:"]');
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result:has-text("PONG from peer 2 to peer 3")', { timeout: 30_000 });
  // Only the last ping's peers: its two span bars, not also peer 3's bar from pinging peer 4,
  // whose arrows went with peer 4's lifeline.
  await page.click('#tab-diagram');
  await page.selectOption('select[name="lifelines"]', 'last-ping');
  assert.deepEqual(await page.locator('.lifeline-head').allTextContents(), ['peer 2', 'peer 3']);
  await page.waitForFunction(() => document.querySelectorAll('.span-bar').length === 2, null, { timeout: 10_000 });
  await page.waitForTimeout(500);
  assert.equal(await page.locator('.span-bar').count(), 2, 'no bar without its arrows');
  await page.click('#tab-network');

  await page.click('.peer[aria-label^="peer 7:"]');
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="failed"]', { timeout: 30_000 });
  assert.match(await page.textContent('.problem'), /peer 3 and peer 7 are not connected in this topology.*peer 3 can ping peer 2, peer 4/);
  await page.screenshot({ path: join(shots, 'ring-ping.png') });
  await page.close();
});

test('200 peers connect as a ring, a star and a random graph, and stay readable', async () => {
  for (const [topology, connections] of [['ring', 200], ['star', 199], ['random', null]]) {
    const page = await open(`#v=1&peers=200&topology=${topology}&seed=1`);
    await ready(page);
    const status = await page.textContent('.status');
    assert.match(status, new RegExp(`All 200 peers connected by ${connections ?? '\\d+'} connections`));
    // The form told how many before they were made.
    const made = status.match(/connected by (\d+) connections/)[1];
    assert.match(await page.textContent('.network-form + .hint'), new RegExp(`: ${made} connections\\.`));
    // Numbers inside 200 circles would be unreadable: every tenth peer is numbered outside.
    assert.equal(await page.locator('.network-view .peer text').count(), 20);
    assert.equal(await page.locator('.network-view .peer .ring-number').count(), 20);
    await page.click('text=Run ping');
    await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
    if (topology === 'random') await page.screenshot({ path: join(shots, 'peers-200-random.png') });
    await page.close();
  }
});

test('too many connections to draw are summed up per peer, and a peer pointed at draws its own', async () => {
  // 64 peers in the original topology: 2,016 connections, past what is drawn one by one.
  const page = await open('#v=1&peers=64&topology=original&seed=1');
  await ready(page);
  assert.equal(await page.locator('.network-view .connections line').count(), 0);
  assert.match(await page.textContent('.middle-note'), /^2016 connections/);
  assert.match(await page.textContent('.network-form + .hint'), /: 2016 connections\. The seed fixes/);
  // Every peer's bar is full: each is connected to all 63 others.
  const bars = await page.getAttribute('.degree-up', 'd');
  assert.equal(bars.match(/M/g).length, 64);
  assert.equal(bars, await page.getAttribute('.degree-track', 'd'));
  // By keyboard: focus a peer, and its connections are drawn.
  await page.focus('.peer[aria-label^="peer 3:"]');
  assert.equal(await page.locator('.network-view .connections line.pointed').count(), 63);
  assert.match(await page.textContent('.middle-note'), /peer 3\s*connected to 63 of the 63 others/);
  await page.screenshot({ path: join(shots, 'peers-64-summed-up.png') });
  await page.close();
});

test('a broken scenario link gets a clear message and the defaults still run', async () => {
  const page = await open('#peers=abc&topology=ring&color=blue');
  await ready(page);
  const problem = await page.textContent('.problem');
  assert.match(problem, /"peers=abc" is not a peer count/);
  assert.match(problem, /"color=blue" is not a setting/);
  assert.match(await page.textContent('.status'), /All 20 peers connected by 20 connections/);
  await page.close();
});

test('without a relay the page says so and in-page peers still work', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${site.url}?relay=${encodeURIComponent('http://127.0.0.1:9/')}#peers=5`);
  await ready(page);
  await page.click('#tab-room');
  await page.waitForSelector('.relay-badge[data-state="absent"]', { timeout: 30_000 });
  assert.match(await page.textContent('.relay-badge'), /No relay: in-page peers work without it/);
  await page.close();
});

test('latency from the link holds each message in flight', async () => {
  const page = await open('#v=1&peers=4&latency=300');
  await ready(page);
  assert.equal(await page.inputValue('input[name="latency"]'), '300');
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
  // PING and PONG each wait 300 ms: the exchange cannot be quicker than 600 ms.
  const roundTrip = Number((await page.textContent('.ping-result')).match(/· ([\d.]+) ms/)[1]);
  assert.ok(roundTrip >= 600, `round trip ${roundTrip} ms`);
  assert.match(await page.evaluate(() => location.hash), /&latency=300&/);
  await page.close();
});

test('a star whose hub leaves has no one left to ping, and Keep pinging says so', async () => {
  const page = await open('#v=1&peers=5&topology=star&seed=2');
  await ready(page);
  await page.selectOption('select[name="leaver"]', '0');
  await page.click('button:has-text("Leave")');
  await page.waitForSelector('.peer.left[aria-label="peer 0: left the network"]');
  assert.equal(await page.inputValue('select[name="from"]'), '1', 'the controls act from a peer still there');
  await page.click('input[name="continuous"]');
  await page.waitForSelector('.problem:has-text("there is no one left to ping")');
  assert.equal(await page.isChecked('input[name="continuous"]'), false);
  await page.close();
});

test('a peer that leaves during a slow ping breaks it off, and the link replays the leave mid-ping too', async () => {
  const page = await open('#v=1&peers=5&topology=original&seed=3&latency=1500');
  await ready(page);
  await page.selectOption('select[name="to"]', '3');
  await page.click('text=Run ping');
  // The PING is on its way (1.5 s in flight) when peer 3 leaves.
  await page.waitForSelector('.ping-result[data-state="running"]');
  await page.waitForTimeout(500);
  await page.selectOption('select[name="leaver"]', '3');
  await page.click('button:has-text("Leave")');
  const brokeOff = '.problem:has-text("the ping from peer 0 to peer 3 broke off: peer 3 left the network")';
  await page.waitForSelector(brokeOff, { timeout: 30_000 });
  await page.click('text=Copy link');
  const link = await page.inputValue('.share-link');
  // Kept with how long after the ping it started; a replay that waited for the ping would
  // see it answered instead.
  const [, after] = link.match(/actions=start\.ping-0-3\.meanwhile-(\d+)\.leave-3$/) ?? [];
  assert.ok(Number(after) >= 500 && Number(after) < 3000, link);
  await page.close();

  const again = await browser.context.newPage();
  await again.goto(link);
  await again.waitForSelector(brokeOff, { timeout: 60_000 });
  assert.equal(await again.getAttribute('.ping-result', 'data-state'), 'failed');
  assert.equal(await again.locator('.peer.left').count(), 1);
  await again.close();
});
