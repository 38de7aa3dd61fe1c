// Shared by the browser tests and the benchmark: serve a built dist/, start the relay, launch
// Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

// The flags that work on these machines: no sandbox as root, and no background traffic
// that the closed network would refuse.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json',
};

/** Serves `dir` on a free 127.0.0.1 port. */
export async function serveDirectory(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) {
      file = join(dir, 'index.html');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** A port nothing listens on right now. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the relay binary with a throwaway key and extra `flags`, on free ports unless
 * `ports` names them (a relay restarted with the same `ports` and `keyFile` is the same relay,
 * back); resolves with its info URL. */
export async function startRelay({ ports, keyFile, flags = [] } = {}) {
  const binary = process.env.RELAY_BIN;
  if (!binary) throw new Error('RELAY_BIN is not set: run the tests through `cargo xtask test`');
  keyFile ??= join(mkdtempSync(join(tmpdir(), 'p2p-testbed-relay-')), 'relay.key');
  const { ws = 0, tcp = 0, info = 0, webrtc = 0 } = ports ?? {};
  const child = spawn(binary, [...flags, '--ws-port', `${ws}`, '--tcp-port', `${tcp}`, '--info-port', `${info}`, '--webrtc-port', `${webrtc}`, '--key-file', keyFile], {
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const infoUrl = await new Promise((resolve, reject) => {
    let seen = '';
    let infoUrl = null;
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      infoUrl ??= seen.match(/info endpoint on (http:\/\/\S+)/)?.[1];
      if (infoUrl && (seen.match(/listening on/g) ?? []).length >= 3) resolve(infoUrl);
    });
    child.on('exit', (code) => reject(new Error(`relay exited with ${code}: ${seen}`)));
  });
  const stopped = new Promise((resolve) => child.on('exit', resolve));
  return { infoUrl, keyFile, stop: () => { child.kill(); return stopped; } };
}

/** Launches Chromium with a fresh profile; `errors` collects console errors and page crashes. */
export async function launchBrowser({ args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'p2p-testbed-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: { width: 1366, height: 768 },
  });
  const errors = [];
  const watch = (page) => {
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    page.on('pageerror', (err) => errors.push(String(err)));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return { context, errors };
}

/** Where screenshots go: outside the project, so `trunk serve` never sees them. */
export function screenshotDir() {
  return process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'p2p-testbed-screens-'));
}

/** Added to a page's address when a test runs without a relay (nothing listens on port 9). */
export const NO_RELAY = `?relay=${encodeURIComponent('http://127.0.0.1:9/')}`;

/** The one console error a page without a relay may show: the browser's own line for the
 * refused fetch of the relay's info (port 9, which tests use for "no relay", is one Chromium
 * refuses outright). A 404 or 500 for the page's own files is not this. */
const WITHOUT_RELAY = /^Failed to load resource: net::ERR_(UNSAFE_PORT|CONNECTION_REFUSED)$/;

/** What the browser itself logs while a relay that was there is gone: its WebSocket to the
 * relay failing, and the fetch of the relay's info refused. */
const RELAY_GONE = [
  WITHOUT_RELAY,
  /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/[^']*' failed: /,
];

/** The console errors and page crashes in `errors` other than the expected one without a relay
 * (and, with `relayGone`, those of a relay that went away). */
export const unexpectedErrors = (errors, { relayGone = false } = {}) => errors.filter((e) =>
  !(relayGone ? RELAY_GONE : [WITHOUT_RELAY]).some((expected) => expected.test(e)));

/** Fails each test of the file that logged an unexpected console error or crashed a page. */
export function checkErrorsEachTest(browserOf) {
  let seen = 0;
  beforeEach(() => { seen = browserOf()?.errors.length ?? 0; });
  afterEach(() => {
    const errors = browserOf()?.errors ?? [];
    assert.deepEqual(unexpectedErrors(errors.slice(seen)), [], 'console errors in this test');
  });
}

/** For a test file of in-page lessons: serves the built page and launches Chromium before its
 * tests, closes both after, and fails any test that logs an unexpected console error. The
 * returned object gets `site` and `browser` once they run. */
export function inPageSuite() {
  const suite = { shots: screenshotDir() };
  before(async () => {
    suite.site = await serveDirectory(process.env.DIST_DIR);
    suite.browser = await launchBrowser();
  });
  checkErrorsEachTest(() => suite.browser);
  after(async () => {
    await suite.browser?.context.close();
    suite.site?.close();
  });
  return suite;
}

/** Resolves once the lesson step's expectation is met. */
export const met = (page) => page.waitForSelector('.expectation[data-met="true"]', { timeout: 60_000 });

/** How many actions the page had run, as the step's expectation was last drawn. */
export const actionsRun = (page) =>
  page.evaluate(() => document.querySelector('.expectation')?.dataset.actionsRun ?? null);

/** Runs the step's action (its button, unless `run` does it another way) and resolves once the
 * expectation is met by what happened since: the page counts only what came after the latest
 * action, and this waits until the page has counted this one. */
export async function act(page, run = () => page.click('.step-action'), timeout = 120_000) {
  const before = await actionsRun(page);
  await run();
  await page.waitForSelector(
    `.expectation[data-met="true"]:not([data-actions-run="${before}"])`,
    { timeout },
  );
}

/** The full labels of the diagram's arrows matching `selector`, in order. A label drawn on the
 * diagram may be shortened or left to hover where arrows crowd; `data-label` is always whole. */
export const arrowLabels = (page, selector = '.arrow') =>
  page.locator(selector).evaluateAll((arrows) => arrows.map((a) => a.dataset.label));

/** Clicks the arrow matching `selector` where a learner can: on its own label, or else at the
 * first point along its line that no other arrow's label covers (labels of later arrows may sit
 * on an earlier arrow's line, and Playwright would aim at the middle of its box). */
export async function clickArrow(page, selector) {
  const arrow = page.locator(selector);
  await arrow.scrollIntoViewIfNeeded();
  const point = await arrow.evaluate((g) => {
    const mine = (x, y) => g.contains(document.elementFromPoint(x, y));
    const centre = (r) => [r.left + r.width / 2, r.top + r.height / 2];
    const text = g.querySelector('text');
    if (text) {
      const [x, y] = centre(text.getBoundingClientRect());
      if (mine(x, y)) return [x, y];
    }
    const line = g.querySelector('.hit');
    const at = (t) => {
      const svg = line.ownerSVGElement.createSVGPoint();
      svg.x = line.x1.baseVal.value + t * (line.x2.baseVal.value - line.x1.baseVal.value);
      svg.y = line.y1.baseVal.value + t * (line.y2.baseVal.value - line.y1.baseVal.value);
      const screen = svg.matrixTransform(line.getScreenCTM());
      return [screen.x, screen.y];
    };
    for (let i = 1; i < 20; i += 1) {
      const [x, y] = at(i / 20);
      if (mine(x, y)) return [x, y];
    }
    return null;
  });
  assert.ok(point, `${selector}: some part of the arrow can be clicked`);
  await page.mouse.click(point[0], point[1]);
}

/** The sequence diagram's toolbar stands in one row in laptop-sized windows (1366 and 1280
 * pixels wide): its controls start within a few pixels of each other. */
export async function assertToolbarInOneRow(page, where) {
  assert.ok(await page.isVisible('.diagram-toolbar'), `${where}: the diagram is shown`);
  const viewport = page.viewportSize();
  for (const width of [1366, 1280]) {
    await page.setViewportSize({ width, height: viewport.height });
    const tops = await page.$$eval('.diagram-toolbar > *', (controls) => controls.map((c) => Math.round(c.getBoundingClientRect().top)));
    assert.ok(Math.max(...tops) - Math.min(...tops) < 10, `${where}, ${width} px wide: the toolbar's controls start at ${tops} px`);
  }
  await page.setViewportSize(viewport);
}
