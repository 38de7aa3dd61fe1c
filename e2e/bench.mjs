// Browser figures, printed as one JSON object on stdout for `cargo xtask bench`:
// - time from navigation until the first lesson can start (its first step's action on screen);
// - time from navigation until every connection is up, in the original topology and in a ring,
//   for several peer counts, read from the page's own clock (performance.now() when the last
//   one came up), the frames the page drew meanwhile (requestAnimationFrame) and the longest
//   task that kept it from drawing (Long Tasks API);
// - with 20 peers pinging continuously: frames per second while the diagram follows, and the
//   time to draw the diagram once the trace holds 1,000 and 10,000 messages, and at 10,000 the
//   time to show a random earlier moment with the time scrubber;
// - the testbed's ping between two tabs through the relay, next to the same ping between two
//   peers inside one page;
// - Chandy-Lamport snapshot completion in the page (first recording to last marker in) for
//   5, 20 and 50 peers, full mesh and ring;
// - with JS_LIBP2P_DIR (a built e2e/js-libp2p page): the same work done by js-libp2p in the same
//   browser, for the side-by-side rows.
import { serveDirectory, launchBrowser, startRelay, NO_RELAY } from './harness.mjs';

const counts = (process.env.PEER_COUNTS ?? '5,20,50,100').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 5);
/** `cargo xtask bench --smoke`: the smallest sizes once, to see that every figure comes out. */
const smoke = Boolean(process.env.BENCH_SMOKE);
/** 200 peers in the original topology make 19,900 connections and take over a minute a load:
 * measured once, and not by js-libp2p, whose dials time out at that size ("signal timed out"). */
const tooSlowToRepeat = (peers) => peers >= 200;
const runsOf = (peers, topology) => (topology === 'original' && tooSlowToRepeat(peers) ? 1 : runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const site = await serveDirectory(process.env.DIST_DIR);
const browser = await launchBrowser();
const results = { original: [], ring: [] };
let diagram = {};
let snapshots = [];
let dht = [];
let rooms = {};
let jsLibp2p = null;
let firstLesson = {};
try {
  firstLesson = await firstLessonFigures();
  for (const [topology, peers] of ['original', 'ring'].flatMap((t) => counts.map((n) => [t, n]))) {
    const readyAt = [];
    const took = [];
    const longest = [];
    const fps = [];
    let over200 = 0;
    let connections = 0;
    const loads = runsOf(peers, topology);
    for (let i = 0; i < loads; i++) {
      const page = await browser.context.newPage();
      await page.addInitScript(() => {
        window.longTasks = [];
        new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push([e.startTime, e.duration])))
          .observe({ type: 'longtask', buffered: true });
        window.drawnAt = [];
        const frame = (at) => { window.drawnAt.push(at); requestAnimationFrame(frame); };
        requestAnimationFrame(frame);
      });
      // No relay: the figure is the in-page network alone.
      await page.goto(`${site.url}${NO_RELAY}#peers=${peers}&topology=${topology}&seed=${i + 1}`);
      const status = await page.waitForSelector('.status[data-phase="ready"]', { timeout: 300_000 });
      readyAt.push(Number(await status.getAttribute('data-ready-at-ms')));
      took.push(Number(await status.getAttribute('data-took-ms')));
      // Read off the view's label: beyond 2,000 connections it draws no line per connection.
      connections = Number((await page.getAttribute('.network-view svg', 'aria-label')).match(/(\d+) connections/)[1]);
      // The tasks that began while the peers connected (from Start to the last connection up).
      const [from, to] = [readyAt.at(-1) - took.at(-1), readyAt.at(-1)];
      const tasks = (await page.evaluate(() => window.longTasks)).filter(([start]) => start >= from && start <= to);
      longest.push(Math.max(0, ...tasks.map(([, duration]) => duration)));
      const frames = (await page.evaluate(() => window.drawnAt)).filter((at) => at >= from && at <= to).length;
      fps.push(frames / (took.at(-1) / 1000));
      over200 += tasks.filter(([, duration]) => duration > 200).length;
      await page.close();
      console.error(`${peers} peers, ${topology}, run ${i + 1}: all ${connections} connections up at ${readyAt.at(-1).toFixed(0)} ms`);
    }
    results[topology].push({
      peers, connections, runs: loads,
      median_ready_at_ms: median(readyAt), worst_ready_at_ms: Math.max(...readyAt),
      median_took_ms: median(took), worst_took_ms: Math.max(...took),
      longest_task_while_connecting_ms: Math.max(...longest), tasks_over_200_ms: over200,
      median_fps_while_connecting: median(fps),
    });
  }
  diagram = await diagramFigures();
  snapshots = await snapshotFigures();
  dht = await dhtFigures();
  rooms = await roomFigures();
  if (process.env.JS_LIBP2P_DIR) jsLibp2p = await jsLibp2pFigures(process.env.JS_LIBP2P_DIR);
} finally {
  await browser.context.close();
  site.close();
}
console.log(JSON.stringify({ first_lesson: firstLesson, runs: results.original, ring_runs: results.ring, diagram, snapshots, dht, rooms, js_libp2p: jsLibp2p }));

/** From navigation until the first lesson's first step can be acted on: its action button is in
 * the page (median of the runs, each a fresh page). */
async function firstLessonFigures() {
  const shownAt = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('.step-action')) {
          window.stepActionAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${site.url}${NO_RELAY}#v=1&lesson=original-testbed&step=1`);
    await page.waitForSelector('.step-action');
    shownAt.push(await page.evaluate(() => window.stepActionAt));
    await page.close();
  }
  console.error(`first lesson: its first step can start at ${median(shownAt).toFixed(0)} ms`);
  return { runs, median_ms: median(shownAt), worst_ms: Math.max(...shownAt) };
}

/** js-libp2p doing what the testbed's page does, in the same Chromium: the peer counts above
 * (but 200) connected in the original topology (median of the same number of runs), the ping on a new
 * stream (median of 30), and the DHT networks of `dhtFigures`, each in a fresh page. */
async function jsLibp2pFigures(dir) {
  const jsSite = await serveDirectory(dir);
  const inFreshPage = async (work, ...args) => {
    const page = await browser.context.newPage();
    await page.goto(`${jsSite.url}index.html`);
    await page.waitForFunction(() => window.jsLibp2p);
    const result = await page.evaluate(work, args);
    await page.close();
    return result;
  };
  try {
    const connect = [];
    for (const peers of counts.filter((n) => !tooSlowToRepeat(n))) {
      const took = [];
      let pingMedianMs = null;
      for (let i = 0; i < runs; i++) {
        const run = await inFreshPage(([n, pings]) => window.jsLibp2p.connect(n, 'original', pings), peers, smoke ? 3 : 30);
        took.push(run.tookMs);
        pingMedianMs ??= run.pingMedianMs;
      }
      connect.push({ peers, runs, median_took_ms: median(took), ping_median_ms: pingMedianMs });
      console.error(`js-libp2p: ${peers} peers connected in ${median(took).toFixed(0)} ms (median of ${runs})`);
    }
    const dhtRuns = [];
    for (const peers of smoke ? [10] : [30, 100]) {
      const run = await inFreshPage(([n]) => window.jsLibp2p.dht(n, 1000), peers);
      dhtRuns.push({ peers, settled_ms: run.settledMs, entries: run.entries, lookup_ms: run.lookupMs, lookup_requests: run.requests });
      console.error(`js-libp2p: DHT of ${peers} peers settled at ${(run.settledMs / 1000).toFixed(1)} s; a lookup ${run.lookupMs.toFixed(0)} ms`);
    }
    return { connect, dht: dhtRuns };
  } finally {
    jsSite.close();
  }
}

/** The testbed's ping, 30 times each: between two tabs directly over WebRTC; between two tabs
 * through the relay (one tab with `?ice=relay`, so ICE finds no route and they stay on the
 * circuit); between two peers inside one page. All timed from opening the stream to both sides
 * closing it. Also the time from "connected through the relay" to "connected directly", and
 * the throughput of the Room tab's 32 MiB transfer, directly and through the relay. */
async function roomFigures() {
  const pings = smoke ? 3 : 30;
  const relay = await startRelay();
  const open = async (room, query = '') => {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}?relay=${encodeURIComponent(relay.infoUrl)}${query}#v=1&peers=2&room=${room}`);
    await page.click('#tab-room');
    // When the other tab's row first says connected (through the relay), and when directly.
    await page.evaluate(() => {
      window.pathTimes = {};
      const watch = () => {
        const row = document.querySelector('.room-members tr[data-peer]');
        if (row?.dataset.state === 'connected') window.pathTimes.relayed ??= performance.now();
        if (row?.dataset.direct === 'true') window.pathTimes.direct ??= performance.now();
      };
      new MutationObserver(watch).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    return page;
  };
  /** Pings the other tab `pings` times once its row matches `settled`; the median on `path`. */
  const pingOther = async (a, b, settled, path) => {
    const row = await a.waitForSelector(`.room-members tr${settled}`, { timeout: 60_000 });
    const peer = await row.getAttribute('data-peer');
    await b.waitForSelector(`.room-members tr${settled}`, { timeout: 60_000 });
    const cell = `.room-members tr[data-peer="${peer}"] .rtt[data-path="${path}"]`;
    for (let i = 0; i < pings; i++) {
      const before = Number(await a.getAttribute(cell, 'data-pings'));
      await a.click(`.room-members tr[data-peer="${peer}"] button`);
      await a.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.pings) > n, [cell, before]);
    }
    return Number(await a.getAttribute(cell, 'data-median-ms'));
  };
  /** Sends the Room tab's bulk transfer to the other tab on `path`: MiB per second. */
  const sendBulk = async (a, path) => {
    await a.click('.room-members .send-bulk');
    const done = await a.waitForSelector(`.room-members .throughput[data-path="${path}"][data-done="true"]`, { timeout: 120_000 });
    return Number(await done.getAttribute('data-mib-per-s'));
  };
  try {
    let a = await open('bench-direct');
    let b = await open('bench-direct');
    const direct = await pingOther(a, b, '[data-direct="true"]', 'direct');
    const times = await a.evaluate(() => window.pathTimes);
    const toDirect = times.direct - times.relayed;
    const directMibPerS = await sendBulk(a, 'direct');
    await b.close();
    await a.close();

    a = await open('bench-relayed', '&ice=relay');
    b = await open('bench-relayed');
    const relayed = await pingOther(a, b, '[data-direct-failed="true"]', 'relayed');
    const relayedMibPerS = await sendBulk(a, 'relayed');
    await b.close();

    await a.click('#tab-network');
    await a.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
    const inPage = [];
    for (let i = 0; i < pings; i++) {
      await a.click('text=Run ping');
      const result = await a.waitForSelector('.ping-result[data-state="answered"]');
      inPage.push(Number((await result.textContent()).match(/([\d.]+) ms/)[1]));
    }
    await a.close();
    console.error(`ping between tabs: direct ${direct.toFixed(1)} ms, through the relay ${relayed.toFixed(1)} ms; in the page ${median(inPage).toFixed(1)} ms (medians of ${pings}); relayed to direct in ${toDirect.toFixed(0)} ms`);
    console.error(`32 MiB between tabs: direct ${directMibPerS.toFixed(1)} MiB/s, through the relay ${relayedMibPerS.toFixed(1)} MiB/s`);
    return {
      pings,
      direct_median_ms: direct,
      between_tabs_median_ms: relayed,
      in_page_median_ms: median(inPage),
      relayed_to_direct_ms: toDirect,
      bulk_direct_mib_per_s: directMibPerS,
      bulk_relayed_mib_per_s: relayedMibPerS,
    };
  } finally {
    await relay.stop();
  }
}

/** A DHT network in one tab: from navigation to settled, frames per second while it settles,
 * then a lookup (its hops and time, as the page reports them). */
async function dhtFigures() {
  const figures = [];
  for (const peers of smoke ? [10] : [30, 100]) {
    const page = await browser.context.newPage();
    const started = Date.now();
    await page.goto(`${site.url}${NO_RELAY}#v=1&peers=${peers}&topology=star&seed=1&dht=k3-a3-r3&actions=start.lookup-0-peer-7`);
    await page.click('#tab-dht');
    const fps = await page.evaluate(() => new Promise((resolve) => {
      let frames = 0;
      const t0 = performance.now();
      const tick = () => {
        frames += 1;
        if (performance.now() - t0 < 3000) requestAnimationFrame(tick);
        else resolve(frames / ((performance.now() - t0) / 1000));
      };
      requestAnimationFrame(tick);
    }));
    const status = await page.waitForSelector('.dht-status[data-settled="true"]', { timeout: 600_000 });
    const settledMs = Date.now() - started;
    // js-libp2p's figure is this one: when the routing tables last changed.
    const tablesSettledMs = settledMs - Number(await status.getAttribute('data-tables-steady-ms'));
    const lookup = await page.waitForSelector('.dht-lookup[data-finished="true"]', { timeout: 120_000 });
    const figure = {
      peers,
      settled_ms: settledMs,
      tables_settled_ms: tablesSettledMs,
      fps_while_settling: fps,
      lookup_hops: Number(await lookup.getAttribute('data-depth')),
      lookup_requests: Number(await lookup.getAttribute('data-hops')),
      lookup_ms: Number(await lookup.getAttribute('data-took-ms')),
    };
    console.error(`DHT of ${peers} peers in the page: settled after ${(settledMs / 1000).toFixed(1)} s (tables unchanged since ${(tablesSettledMs / 1000).toFixed(1)} s), ${fps.toFixed(0)} fps while settling; a lookup: ${figure.lookup_hops} hops, ${figure.lookup_ms.toFixed(0)} ms`);
    figures.push(figure);
    await page.close();
  }
  return figures;
}

/** Snapshot completion in the page: the page's own figure, from the trace. */
async function snapshotFigures() {
  const figures = [];
  for (const peers of smoke ? [5] : [5, 20, 50]) {
    for (const [topology, name] of [['original', 'full mesh'], ['ring', 'ring']]) {
      const took = [];
      for (let i = 0; i < (smoke ? 1 : 3); i++) {
        const page = await browser.context.newPage();
        await page.goto(`${site.url}${NO_RELAY}#v=1&peers=${peers}&topology=${topology}&seed=${i + 1}&latency=0&actions=start.snapshot-0`);
        const report = await page.waitForSelector('.snapshot-report[data-recording="S0.1"][data-took-ms]', { state: 'attached', timeout: 300_000 });
        if (await report.getAttribute('data-adds-up') !== 'true') throw new Error(`the ${peers}-peer ${name} snapshot does not add up`);
        took.push(Number(await report.getAttribute('data-took-ms')));
        await page.close();
      }
      console.error(`snapshot of ${peers} peers, ${name}, in the page: ${median(took).toFixed(1)} ms (median)`);
      figures.push({ peers, topology: name, runs: took.length, median_ms: median(took), worst_ms: Math.max(...took) });
    }
  }
  return figures;
}

/** From moving the scrubber to a random moment to the second frame after: the network and
 * the diagram as they were then. */
async function scrubFigures(page) {
  const times = await page.evaluate(async (moves) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const scrubber = document.querySelector('#scrubber');
    const times = [];
    for (let i = 0; i < moves; i++) {
      const t0 = performance.now();
      scrubber.value = String(Math.random() * Number(scrubber.max));
      scrubber.dispatchEvent(new Event('input', { bubbles: true }));
      await frame();
      times.push(performance.now() - t0);
    }
    return times;
  }, smoke ? 3 : 30);
  await page.click('button:text-is("Live")');
  console.error(`scrubbing over ${await page.textContent('.diagram-count')}: ${median(times).toFixed(1)} ms (median)`);
  return { median_ms: median(times), worst_ms: Math.max(...times), moves: times.length };
}

async function diagramFigures() {
  const page = await browser.context.newPage();
  await page.goto(`${site.url}${NO_RELAY}#peers=20`);
  await page.waitForSelector('.status[data-phase="ready"]', { timeout: 300_000 });
  await page.click('#tab-diagram');
  const messages = async () => Number((await page.textContent('.diagram-count')).match(/^(\d+)/)[1]);
  await page.check('input[name="continuous"]');
  // Frames drawn in 5 s while pings run and the diagram follows them.
  const fps = await page.evaluate(() => new Promise((resolve) => {
    let frames = 0;
    const start = performance.now();
    const tick = () => {
      frames++;
      if (performance.now() - start < 5000) requestAnimationFrame(tick);
      else resolve(frames / ((performance.now() - start) / 1000));
    };
    requestAnimationFrame(tick);
  }));
  const figures = { fps_while_pinging: fps, renders: [] };
  const targets = smoke ? [100, 200] : [1000, 10000];
  for (const target of targets) {
    if (!(await page.isChecked('input[name="continuous"]'))) await page.check('input[name="continuous"]');
    await page.waitForFunction((n) => {
      const hint = document.querySelector('.diagram-count');
      return hint && Number(hint.textContent.match(/^(\d+)/)[1]) >= n;
    }, target, { timeout: 600_000, polling: 500 });
    await page.uncheck('input[name="continuous"]');
    await page.waitForTimeout(300);
    // From showing the diagram tab to the second frame after: layout and DOM update.
    const renders = [];
    for (let i = 0; i < 5; i++) {
      renders.push(await page.evaluate(async () => {
        const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        document.querySelector('#tab-network').click();
        await frame();
        const t0 = performance.now();
        document.querySelector('#tab-diagram').click();
        await frame();
        return performance.now() - t0;
      }));
    }
    figures.renders.push({ messages: await messages(), median_ms: median(renders), worst_ms: Math.max(...renders) });
    if (target === targets.at(-1)) figures.scrub = { messages: await messages(), ...await scrubFigures(page) };
    console.error(`diagram with ${await messages()} messages: drawn in ${median(renders).toFixed(1)} ms (median)`);
  }
  await page.close();
  return figures;
}
