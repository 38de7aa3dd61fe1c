// The way a newcomer meets the page: the welcome on a first visit, then every in-page lesson
// picked from the menu (not opened by a link) and followed by its own buttons to its last
// step. On the way, each lesson's link is copied at a middle step and reopened in a new tab:
// the replayed run must show the same arrows and figures. (Relays and NAT, which needs a relay
// and a second tab, is followed from the menu in room.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { inPageSuite, NO_RELAY as noRelay, actionsRun } from './harness.mjs';

const suite = inPageSuite();

/** Settling a DHT of 30 peers can take a while on a shared machine. */
const MET_TIMEOUT = 120_000;

/** What a reopened link must show again: the messages whose labels carry what the learner
 * reads (pings, streams opened and closed, tokens and their amounts, markers), each with its
 * sender and receiver, from the whole trace (the Mermaid export: the diagram keeps only what is
 * on screen in the page), in order of label; and the figures: the network's status without
 * its timings and the snapshot table's recorded balances. */
async function figures(page) {
  await page.click('#tab-diagram');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.selectOption('select[name="export"]', 'mermaid'),
  ]);
  const mermaid = await readFile(await download.path(), 'utf8');
  const messages = mermaid.split('\n')
    .map((line) => line.trim())
    .filter((line) => /: (PING|PONG|open stream|close.*|marker .*|\d+ tokens?)( \(not received\))?$/.test(line))
    .sort();
  return {
    step: await page.textContent('.step-count'),
    messages,
    status: (await page.textContent('.status')).replace(/ Connected in .*$/, ''),
    snapshots: await page.$$eval('.snapshot-report', (all) => all.map((r) => ({
      recording: r.dataset.recording,
      addsUp: r.dataset.addsUp,
      balances: r.querySelector('.balances')?.textContent ?? '',
    }))),
  };
}

/** Answers the step's open question: its first choice, or peer 1 for a question answered by
 * clicking a peer. */
async function answer(page) {
  if (await page.locator('.prediction[data-state="open"]').count() === 0) return;
  if (await page.locator('.prediction .choice input').count() > 0) {
    await page.check('.prediction .choice input >> nth=0');
  } else {
    await clickPeer(page, 1);
  }
}

async function clickPeer(page, peer) {
  await page.click('#tab-network');
  await page.click(`#network-panel .peer[aria-label^="peer ${peer}:"]`);
}

/** Runs the step's action: its button, or the click on a peer it asks for; false when the
 * step has none. */
async function runAction(page) {
  const button = page.locator('.step-action');
  if (await button.count() > 0) {
    await page.waitForSelector('.step-action:not([disabled])');
    await button.click();
  } else if (await page.locator('.step-action-hint').count() > 0) {
    await clickPeer(page, 1);
  } else {
    return false;
  }
  return true;
}

async function stepNumbers(page) {
  const [, n, total] = (await page.textContent('.step-count')).match(/Step (\d+) of (\d+)/);
  return [Number(n), Number(total)];
}

/** Follows the lesson on screen from its current step to its last; returns the link and the
 * figures at its middle step. */
async function followToEnd(page) {
  let middle = null;
  let pointed = 0;
  for (;;) {
    const [n, total] = await stepNumbers(page);
    await answer(page);
    const before = await actionsRun(page);
    const acted = await runAction(page);
    if (await page.locator('.expectation').count() > 0) {
      // Met by what this step's action did, once the page has counted it.
      const since = acted ? `:not([data-actions-run="${before}"])` : '';
      await page.waitForSelector(`.expectation[data-met="true"]${since}`, { timeout: MET_TIMEOUT });
      pointed += await showMe(page);
    }
    if (n === Math.ceil(total / 2)) {
      await waitQuiet(page);
      middle = { link: page.url(), figures: await figures(page) };
    }
    if (n === total) {
      assert.ok(pointed > 0, '"Show me" pointed at an arrow on screen at least once');
      return middle;
    }
    await page.click('.next');
    assert.equal((await stepNumbers(page))[0], n + 1);
  }
}

/** "Show me" (offered when the step drew an arrow of the kinds shown): the first arrow the step
 * drew is picked in the diagram, and on screen. Returns 1 when it was offered, else 0. */
async function showMe(page) {
  const button = page.locator('.show-me');
  if (await button.count() === 0) return 0;
  await button.click();
  assert.equal(await page.getAttribute('#tab-diagram', 'aria-selected'), 'true', '"Show me" shows the diagram');
  await page.waitForSelector('.arrow.selected');
  await page.waitForFunction(() => {
    const arrow = document.querySelector('.arrow.selected .shaft')?.getBoundingClientRect();
    const view = document.querySelector('.diagram-scroll')?.getBoundingClientRect();
    return arrow && view && arrow.bottom >= view.top && arrow.top <= view.bottom;
  }, null, { timeout: 5_000 });
  return 1;
}

/** Waits until the arrows stop changing for a second: a step's traffic is over. */
async function waitQuiet(page) {
  let before = '';
  for (let i = 0; i < 30; i += 1) {
    const now = JSON.stringify(await figures(page));
    if (now === before) return;
    before = now;
    await page.waitForTimeout(1000);
  }
}

test('a first visit lands on the welcome: the lessons in order, the first one click away, free play one more choice', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}`);
  await page.waitForSelector('.welcome');
  const titles = await page.locator('.lesson-choice .lesson-title').allTextContents();
  assert.equal(titles.length, 10);
  assert.equal(titles[0], 'The original testbed');
  for (const minutes of await page.locator('.lesson-minutes').allTextContents()) {
    assert.match(minutes, /^about \d+ min · \d+ steps$/);
  }
  assert.equal(await page.locator('.status[data-phase="connecting"], .status[data-phase="ready"]').count(), 0, 'no network runs behind the welcome');
  await page.screenshot({ path: join(suite.shots, 'welcome.png') });
  await page.click('.start-first');
  assert.equal(await page.textContent('.step-count'), 'Step 1 of 6');
  assert.match(page.url(), /lesson=original-testbed/);
  // A returning visitor goes straight in: free play, no welcome.
  const again = await suite.browser.context.newPage();
  await again.goto(`${suite.site.url}${noRelay}`);
  await again.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
  assert.equal(await again.locator('.welcome').count(), 0);
  // "All lessons" brings the list back.
  await again.click('text=All lessons');
  await again.waitForSelector('.welcome');
  await again.click('.lesson-choice:has-text("Streams")');
  assert.equal(await again.textContent('.step-count'), 'Step 1 of 5');
  await page.close();
  await again.close();
});

const IN_PAGE_LESSONS = [
  'The original testbed', 'Layers of a connection', 'Streams', 'Muxing', 'Chandy-Lamport snapshots',
  'DHT 1 · Distance and buckets', 'DHT 2 · Finding a peer', 'DHT 3 · Storing and finding a record', 'DHT 4 · Churn',
];

for (const title of IN_PAGE_LESSONS.filter((t) => !process.env.ONLY || t.includes(process.env.ONLY))) {
  test(`"${title}" picked from the menu completes, and its link reopened at a middle step shows the same run`, async () => {
    const page = await suite.browser.context.newPage();
    await page.goto(`${suite.site.url}${noRelay}#v=1`);
    await page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
    await page.selectOption('select[name="lesson"]', { label: title });
    assert.match(await page.textContent('.step-count'), /^Step 1 of \d+$/);
    // The view the lesson opens on has its tab, and says what it will show before the
    // lesson's network runs (a DHT lesson's tab used to appear only once it ran).
    assert.equal(await page.locator('[role="tab"][aria-selected="true"]').count(), 1, 'a tab is chosen');
    assert.notEqual((await page.locator('.tab-panel:not([hidden])').innerText()).trim(), '', 'the chosen view is not blank');
    const middle = await followToEnd(page);
    await page.screenshot({ path: join(suite.shots, `menu-${title.replace(/\W+/g, '-')}-last-step.png`) });
    await page.waitForSelector('text=This is the last step of the lesson');

    const again = await suite.browser.context.newPage();
    await again.goto(middle.link);
    if (await again.locator('.expectation').count() > 0) {
      await again.waitForSelector('.expectation[data-met="true"]', { timeout: MET_TIMEOUT });
    }
    await waitQuiet(again);
    assert.deepEqual(await figures(again), middle.figures, `the link ${middle.link} replays the same run`);
    await again.close();
    await page.close();
  });
}

test('a lesson taken again after Reset completes too', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=streams&step=1`);
  await followToEnd(page);
  await page.click('button:text-is("Reset")');
  assert.equal(await page.textContent('.step-count'), 'Step 1 of 5');
  await followToEnd(page);
  await page.close();
});
