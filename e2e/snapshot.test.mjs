// The Chandy-Lamport lesson followed to its end by its own buttons: tokens in flight, a naive
// snapshot that loses some, a snapshot with markers, its cut and its table, two at once; then
// its link reopened. Then free play: a peer leaves a running network and the rest carry on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inPageSuite, NO_RELAY as noRelay, act, arrowLabels } from './harness.mjs';

const suite = inPageSuite();

/** The table's reports, newest first: recording, whether it adds up, its lines. */
const reports = (page) => page.$$eval('.snapshot-report', (all) => all.map((r) => ({
  recording: r.dataset.recording,
  addsUp: r.dataset.addsUp,
  text: r.textContent,
})));

test('the Chandy-Lamport lesson, followed to its end, then shared and reopened', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=chandy-lamport&step=1`);
  assert.equal(await page.textContent('.step-count'), 'Step 1 of 9');
  await act(page);
  await page.click('.next');

  // Tokens in flight: green arrows between neighbours of the ring.
  await act(page);
  assert.ok(await page.locator('.arrow[data-kind="tokens"]').count() > 0);
  await page.click('.next');

  // A naive snapshot misses the tokens in flight across its line.
  await page.check('.choice input[value="no"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  await page.waitForSelector('.snapshot-report[data-recording="naive 1"]');
  const [naive] = await reports(page);
  assert.equal(naive.addsUp, 'false');
  assert.match(naive.text, /tokens were in flight across the line, and nobody recorded them/);
  assert.equal(await page.locator('.cut[data-naive="true"]').count(), 1);
  await page.screenshot({ path: join(suite.shots, 'snapshot-naive.png') });
  await page.click('.next');

  // Markers: the learner predicts their number, then clicks the peer that starts it.
  await page.check('.choice input[value="8"]');
  await act(page, () => page.click('.lifeline-head:has-text("peer 1")'));
  await page.waitForSelector('.prediction[data-state="right"]');
  await page.waitForSelector('.snapshot-report[data-recording="S1.1"]');
  const [snapshot] = await reports(page);
  assert.equal(snapshot.addsUp, 'true');
  assert.match(snapshot.text, /✓ \d+ in balances.* = 400: every token is counted once/);
  assert.match(snapshot.text, /✓ Consistent cut/);
  const markers = await arrowLabels(page, '.arrow[data-kind="marker"]');
  assert.equal(markers.length, 8);
  assert.ok(markers.every((m) => m === 'marker S1.1'), markers.join());
  assert.equal(await page.locator('.cut[data-recording="S1.1"] circle').count(), 4, 'the cut crosses every lifeline');
  // The chips, tokens and markers among them, stand in one row on a laptop screen and leave
  // the diagram its height.
  const chipRows = await page.$$eval('.chip', (chips) => new Set(chips.map((c) => Math.round(c.getBoundingClientRect().top))).size);
  assert.equal(chipRows, 1, 'one row of chips');
  // The amber arrows are exactly the tokens the table lists on channels.
  const recorded = await page.locator('.arrow[data-recorded="true"]').count();
  const listed = (snapshot.text.match(/peer \d → peer \d: [\d +]+/g) ?? [])
    .flatMap((line) => line.split(': ')[1].split(' + '));
  assert.equal(recorded, listed.length, snapshot.text);
  console.log(`tokens recorded in flight by S1.1: ${recorded}`);
  await page.click('.next');
  assert.match(await page.textContent('.step-title'), /The cut/);
  assert.equal(await page.locator('select[name="lifelines"] option[value="last-ping"]').count(), 0, 'no ping, so no ping filter');
  // Tokens keep moving and the diagram follows them; "Show me" brings the cut back into view.
  await page.click('.expectation button:has-text("Show me")');
  await page.waitForFunction(() => {
    const scroller = document.querySelector('.diagram-scroll').getBoundingClientRect();
    const dots = [...document.querySelectorAll('.cut[data-recording="S1.1"] circle')].map((c) => c.getBoundingClientRect());
    return dots.length === 4 && dots.some((dot) => dot.top >= scroller.top && dot.bottom <= scroller.bottom);
  }, null, { timeout: 10_000 });
  await page.screenshot({ path: join(suite.shots, 'snapshot-cut.png') });
  await page.click('.next');

  // Two snapshots at once, both complete and both add up. The step's action lets go of the
  // marker picked above: the diagram follows what the action does.
  await act(page);
  assert.ok(await page.isChecked('input[name="follow"]'), 'the diagram follows again');
  assert.equal(await page.locator('.arrow-details').count(), 0, 'the marker picked before is let go');
  await page.waitForSelector('.snapshot-report[data-recording="S2.1"]');
  await page.waitForSelector('.snapshot-report[data-recording="S0.1"]');
  const both = (await reports(page)).slice(0, 2);
  assert.deepEqual(both.map((r) => r.addsUp), ['true', 'true']);
  assert.ok(await page.locator('.cut[data-naive="false"]').count() >= 3);
  await page.screenshot({ path: join(suite.shots, 'snapshot-concurrent.png') });
  await page.click('.next');

  // Peer 3 leaves while peer 0's snapshot runs: given up, saying which marker never came.
  await act(page);
  const incomplete = await page.waitForSelector('.snapshot-report[data-recording="S0.2"][data-incomplete="true"]');
  assert.match(await incomplete.textContent(), /peer 3/);
  assert.equal(await page.locator('.cut[data-abandoned="true"]').count(), 1);
  // Peer 3's lifeline ends where it left, in a ✕, and the lifelines of the others run on.
  await page.waitForSelector('.departure');
  assert.equal(await page.locator('.departure').count(), 1);
  const lifelines = await page.locator('.lifeline').evaluateAll((lines) => lines.map((l) => Number(l.getAttribute('y2'))));
  assert.equal(lifelines.length, 4);
  assert.equal(new Set(lifelines).size, 2, `one lifeline ends early: ${lifelines}`);
  await page.screenshot({ path: join(suite.shots, 'snapshot-leave.png') });
  await page.click('.next');

  // The three peers left go on: a later snapshot leaves peer 3 out and adds up.
  await act(page);
  const later = await page.waitForSelector('.snapshot-report[data-recording="S1.2"]');
  assert.equal(await later.getAttribute('data-adds-up'), 'true');
  assert.deepEqual(await later.$$eval('.balances .peer-name', (all) => all.map((e) => e.textContent)), ['peer 0', 'peer 1', 'peer 2']);
  await page.screenshot({ path: join(suite.shots, 'snapshot-after-leave.png') });
  await page.click('.next');
  assert.equal(await page.textContent('.step-count'), 'Step 9 of 9');

  // The link replays the run: same actions, same snapshots, same verdicts.
  await page.click('text=Copy link');
  const link = await page.inputValue('.share-link');
  assert.match(link, /lesson=chandy-lamport&step=9&actions=start\.tokens\.naive\.snapshot-1\.snapshot-0-2\.leave-3-snapshot-0\.snapshot-1&answers=3:no\.4:8$/);
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await again.waitForSelector('.snapshot-report[data-recording="S1.2"]', { state: 'attached', timeout: 90_000 });
  const replayed = await reports(again);
  assert.deepEqual(replayed.map((r) => r.recording).slice(0, 2), ['S1.2', 'S0.2']);
  assert.equal(replayed[0].addsUp, 'true');
  assert.match(replayed[1].text, /incomplete/);
});

test('in free play a peer leaves: it is drawn gone, pings and tokens carry on without it, and the link replays it', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&peers=6&topology=original&seed=3`);
  await page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
  await page.click('text=Move tokens');
  await page.click('#tab-diagram');
  await page.waitForSelector('.arrow[data-kind="tokens"]', { state: 'attached', timeout: 30_000 });
  await page.click('#tab-network');

  await page.selectOption('select[name="leaver"]', '3');
  await page.click('button:has-text("Leave")');
  await page.waitForSelector('.peer.left[aria-label="peer 3: left the network"]', { timeout: 30_000 });
  await page.waitForSelector('.status:has-text("5 of 6 peers still in the network (1 left)")', { timeout: 30_000 });
  assert.match(await page.textContent('.network-counts'), /6 peers \(1 left\) · 10 connections up/);
  // The connecting was done: the progress bar stays full, not 10 of 15.
  assert.equal(await page.getAttribute('.network-status [role="progressbar"]', 'aria-valuenow'), '100');
  assert.deepEqual(await page.$$eval('select[name="leaver"] option', (all) => all.map((o) => o.value)), ['0', '1', '2', '4', '5']);
  assert.deepEqual(await page.$$eval('select[name="from"] option', (all) => all.map((o) => o.value)), ['0', '1', '2', '4', '5']);

  // Pinging the peer that left says so, and is not kept for the link; a random ping finds a
  // peer still there.
  await page.click('.peer[aria-label="peer 3: left the network"]');
  await page.click('text=Run ping');
  await page.waitForSelector('.problem:has-text("peer 3 has left the network")');
  await page.selectOption('select[name="to"]', 'random');
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
  assert.doesNotMatch(await page.textContent('.ping-result'), /peer 3/);

  // Tokens move among the five, and a snapshot without peer 3 adds up.
  await page.click('text=Snapshot from peer 0');
  await page.waitForSelector('.snapshot-report[data-recording="S0.1"]', { timeout: 60_000 });
  const [snapshot] = await reports(page);
  assert.equal(snapshot.addsUp, 'true', snapshot.text);
  assert.doesNotMatch(snapshot.text, /peer 3/);
  await page.click('#tab-diagram');
  await page.waitForSelector('.departure', { state: 'attached' });
  assert.equal(await page.locator('.departure').count(), 1);
  await page.screenshot({ path: join(suite.shots, 'free-play-leave.png') });

  await page.click('text=Copy link');
  const link = await page.inputValue('.share-link');
  // The leave came while tokens still moved: the token application ran it in turn, so the
  // link keeps no overlap. The ping may have started while the leave was under way.
  assert.match(link, /actions=start\.tokens\.leave-3\.(meanwhile-\d+\.)?ping-\d-\d\.snapshot-0$/);
  assert.doesNotMatch(link, /ping-\d-3|ping-3/);
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await again.waitForSelector('.snapshot-report[data-recording="S0.1"]', { state: 'attached', timeout: 90_000 });
  assert.equal(await again.locator('.peer.left').count(), 1);
  assert.equal(await again.getAttribute('.peer.left', 'aria-label'), 'peer 3: left the network');
  assert.equal((await reports(again))[0].addsUp, 'true');
});
