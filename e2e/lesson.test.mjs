// The first lesson followed to its end by its own buttons, its link shared and reopened, and
// broken links each explained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inPageSuite, NO_RELAY as noRelay, act, arrowLabels, assertToolbarInOneRow } from './harness.mjs';

// In-page peers only: no relay.
const suite = inPageSuite();

/** What the page shows of the run, read in the diagram's tab: a hidden diagram keeps the layout
 * it had when it was hidden. */
async function seen(page) {
  await page.click('#tab-diagram');
  const peerZero = await page.locator('.peer[aria-label^="peer 0:"] title').textContent();
  return {
    step: await page.textContent('.step-count'),
    lifelines: await page.locator('.lifeline-head').allTextContents(),
    arrows: await arrowLabels(page),
    peerZero,
  };
}

test('the original testbed lesson, followed to its end, then shared and reopened', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=original-testbed&step=1`);
  assert.equal(await page.textContent('.step-count'), 'Step 1 of 6');
  assert.equal(await page.isDisabled('.next'), true, 'Next waits for the connections');
  assert.equal(await page.isDisabled('.step-action'), true, 'the question comes first');
  await page.check('.choice input[value="190"]');
  await act(page);
  assert.match(await page.textContent('.status'), /190 connections/);
  await page.waitForSelector('.prediction[data-state="right"]');
  assert.match(await page.textContent('.verdict'), /Right\. You said “190, one per pair of peers”, and the run shows “190, one per pair of peers”/);
  await page.click('.next');
  assert.equal(await page.getAttribute('#tab-diagram', 'aria-selected'), 'true');
  await page.click('.next');
  assert.match(await page.textContent('.step-title'), /Open a stream and PING/);
  await assertToolbarInOneRow(page, 'before the lesson\'s first ping');
  // Answered on the diagram: the lifeline the PONG will end on. Hovered, a head reads as a
  // choice, not struck through as a lifeline about to be hidden.
  const head = page.locator('.lifeline-head[title="peer 0: click to choose it"]');
  await head.hover();
  assert.equal(await head.evaluate((h) => getComputedStyle(h).textDecorationLine), 'none');
  await head.click();
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  assert.equal(await page.locator('.lifeline-head').first().getAttribute('data-choosing'), 'false');
  const lifelines = await page.locator('.lifeline-head').allTextContents();
  assert.equal(lifelines[0], 'peer 0');
  assert.deepEqual(
    (await arrowLabels(page)).slice(0, 4),
    ['dial', 'open stream', 'PING', 'PONG'],
  );
  await page.click('.next');
  await page.check('.choice input[value="responder"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  assert.deepEqual((await page.locator('.arrow[data-kind="close"]').count()), 2);
  await page.click('.next');
  assert.equal(await page.textContent('.step-count'), 'Step 5 of 6');
  await page.screenshot({ path: join(suite.shots, 'lesson-happened-before.png') });
  await page.click('.next');

  // The last step is done in the network view: the learner clicks the peer to ping.
  assert.equal(await page.textContent('.step-count'), 'Step 6 of 6');
  assert.equal(await page.getAttribute('#tab-network', 'aria-selected'), 'true');
  assert.equal(await page.isDisabled('.next'), true, 'the last step');
  await act(page, () => page.click('.peer[aria-label^="peer 7:"]'));
  assert.match(await page.textContent('.event-log'), /peer 0 received PONG \(id 3\) from peer 7/);
  await page.screenshot({ path: join(suite.shots, 'lesson-end.png') });
  const before = await seen(page);

  await page.click('text=Copy link');
  const link = await page.inputValue('.share-link');
  assert.match(link, /#v=1&peers=20&topology=original&seed=42&latency=200&lesson=original-testbed&step=6&actions=start\.ping-0-\d+\.ping-0-\d+\.ping-0-7&answers=1:190\.3:0\.4:responder$/);
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await again.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
  await again.waitForFunction(() => document.querySelectorAll('.expectation[data-met="true"]').length === 1, null, { timeout: 60_000 });
  // The replay is done once its third ping has its PONG and the diagram shows every arrow the
  // first run showed: an earlier ping of the replay may also have gone to peer 7, and drawn
  // the same arrows for a moment.
  await again.waitForFunction(
    () => /PONG \(id 3\) from peer 7/.test(document.querySelector('.event-log')?.textContent ?? ''),
    null,
    { timeout: 60_000 },
  );
  await again.click('#tab-diagram');
  await again.waitForFunction(
    (arrows) => JSON.stringify([...document.querySelectorAll('.arrow')].map((a) => a.dataset.label)) === arrows,
    JSON.stringify(before.arrows),
    { timeout: 60_000 },
  );
  assert.deepEqual(await seen(again), before, 'same step, same PeerIds, same arrows');
  await again.screenshot({ path: join(suite.shots, 'lesson-reopened.png') });
  await page.close();
  await again.close();
});

test('broken links each say what was wrong, and the page still works', async () => {
  const cases = [
    ['#%E2%82%AC%00%FF%FEgarbage&&==', /is not a setting this page knows/],
    ['#v=1&lesson=original-tes', /there is no lesson "original-tes"/],
    ['#v=7&peers=5', /newer version of the page \(v=7\)/],
    ['#v=1&peers=5000', /"peers=5000" is not a peer count from 2 to 200/],
  ];
  for (const [fragment, message] of cases) {
    const page = await suite.browser.context.newPage();
    await page.goto(`${suite.site.url}${noRelay}${fragment}`);
    assert.match(await page.textContent('.problem'), message, fragment);
    await page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
    await page.close();
  }
});

test('a link pasted into an open page rebuilds its run, and Back returns to the one before', async () => {
  const page = await suite.browser.context.newPage();
  const freePlay = `${suite.site.url}${noRelay}#v=1&peers=5&topology=ring&seed=7`;
  await page.goto(freePlay);
  await page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
  assert.match(await page.textContent('.status'), /All 5 peers connected/);
  // Only the fragment differs: the browser loads nothing unless the page does.
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=streams&step=2`);
  await page.waitForSelector('.step-title', { timeout: 30_000 });
  assert.equal(await page.textContent('.step-count'), 'Step 2 of 5');
  assert.equal(
    await page.$eval('select[name="lesson"]', (s) => s.selectedOptions[0].textContent),
    'Streams',
  );
  await page.goto(`${suite.site.url}${noRelay}#v=1&peers=5000`);
  await page.waitForSelector('.problem', { timeout: 30_000 });
  assert.match(await page.textContent('.problem'), /"peers=5000" is not a peer count from 2 to 200/);
  await page.goBack();
  await page.waitForSelector('.step-title', { timeout: 30_000 });
  assert.equal(await page.textContent('.step-count'), 'Step 2 of 5');
  await page.goBack();
  await page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
  assert.match(await page.textContent('.status'), /All 5 peers connected/);
  assert.equal(await page.locator('.step-title').count(), 0, 'free play again');
  await page.close();
});

test('a step opened by a link without the steps before it offers to run them first', async () => {
  const page = await suite.browser.context.newPage();
  // Step 5 of Chandy-Lamport reads the cut of the snapshot that step 4 (a click) started.
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=chandy-lamport&step=5`);
  const catchUp = page.locator('.catch-up button');
  assert.equal(await catchUp.textContent(), 'Run steps 1–4 first');
  await act(page, () => catchUp.click());
  await page.waitForSelector('.catch-up', { state: 'detached' });
  assert.match(await page.textContent('.status'), /All 4 peers connected/);
  // Step 4's click became a snapshot from peer 0: the cut is there to read.
  await page.click('#tab-diagram');
  await page.waitForSelector('.cut');
  await page.screenshot({ path: join(suite.shots, 'lesson-caught-up.png') });
  await page.close();
});
