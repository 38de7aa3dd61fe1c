// Learning at one's own pace: the first lesson by keyboard alone with one prediction right
// and one wrong, the answers kept in the shared link; the time scrubber; pause and step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inPageSuite, NO_RELAY as noRelay, met, act } from './harness.mjs';

// In-page peers only: no relay.
const suite = inPageSuite();
const ready = (page) => page.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
const step = (page) => page.textContent('.step-count');

/** Presses Tab until the focused element matches `selector`: how a keyboard user gets there. */
async function tabTo(page, selector) {
  for (let i = 0; i < 400; i += 1) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

test('the first lesson by keyboard alone: one prediction right, one wrong, kept in the link', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=original-testbed&step=1`);
  assert.equal(await step(page), 'Step 1 of 6');
  await page.keyboard.press('Space');
  assert.equal(await page.locator('.status[data-phase="ready"]').count(), 0, 'nothing runs before the answer');

  await page.keyboard.press('2');
  assert.equal(await page.isChecked('.choice input[value="190"]'), true);
  await act(page, () => page.keyboard.press('Space'));
  await page.waitForSelector('.prediction[data-state="right"]');

  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await step(page), 'Step 3 of 6');
  await tabTo(page, '.lifeline-head[title="peer 0: click to choose it"]');
  await page.keyboard.press('Enter');
  await act(page, () => page.keyboard.press('Space'));
  await page.waitForSelector('.prediction[data-state="right"]');

  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('1'); // "Peer 0 closes first": not what real peers do.
  await act(page, () => page.keyboard.press('Space'));
  await page.waitForSelector('.prediction[data-state="wrong"]');
  assert.match(await page.textContent('.verdict'), /Not this time\. You said “Peer 0, as soon as the PONG is in”; the run shows “The responder/);
  assert.match(await page.textContent('.why'), /responder has said all it will say/);
  await page.screenshot({ path: join(suite.shots, 'prediction-wrong.png') });

  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await step(page), 'Step 6 of 6');
  await tabTo(page, '.peer[aria-label^="peer 7:"]');
  await act(page, () => page.keyboard.press('Enter'));
  assert.match(await page.textContent('.event-log'), /peer 0 received PONG \(id 3\) from peer 7/);

  // The key list opens with "?".
  await page.keyboard.press('?');
  assert.equal(await page.isVisible('.key-list'), true);
  await page.screenshot({ path: join(suite.shots, 'keyboard-lesson-end.png') });
  await page.keyboard.press('?');

  const link = page.url();
  assert.match(link, /&answers=1:190\.3:0\.4:initiator$/);
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await again.waitForSelector('.event-log li:has-text("peer 0 received PONG (id 3) from peer 7")', { timeout: 60_000 });
  await again.keyboard.press('ArrowLeft');
  await again.keyboard.press('ArrowLeft');
  assert.equal(await step(again), 'Step 4 of 6');
  assert.equal(await again.isChecked('.choice input[value="initiator"]'), true, 'the answer came with the link');
  await again.waitForSelector('.prediction[data-state="wrong"]');
  await page.close();
  await again.close();
});

test('with an answer focused, digits choose and Space runs the step; N and D reach the views', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=original-testbed&step=1`);
  // Tab lands on the first answer's radio button: its own keys would choose an answer.
  await page.focus('.choice input >> nth=0');
  await page.keyboard.press('2');
  assert.equal(await page.isChecked('.choice input[value="190"]'), true, '2 chose the second answer');
  await page.focus('.choice input[value="19"]');
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('.choice input[value="190"]'), true, 'Space did not choose the focused answer');
  await ready(page);
  await met(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  // N: the network view, its first peer focused; D: the diagram, its first lifeline.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('d');
  await page.waitForFunction(() => document.activeElement?.matches('#diagram-panel .lifeline-head'));
  assert.equal(await page.getAttribute('#tab-diagram', 'aria-selected'), 'true');
  await page.keyboard.press('n');
  await page.waitForFunction(() => document.activeElement?.matches('#network-panel .peer'));
  assert.equal(await page.getAttribute('#tab-network', 'aria-selected'), 'true');
  await page.close();
});

test('the scrubber shows an earlier moment from the recording, and Live returns', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1`);
  await ready(page);
  await page.click('text=Run ping');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 30_000 });
  await page.click('#tab-diagram');
  const drawn = async () => Number((await page.textContent('.diagram-count')).match(/(\d+) messages/)[1]);
  const connections = async () => Number((await page.textContent('figcaption')).match(/(\d+) connections up/)[1]);
  const live = await drawn();
  assert.ok(live >= 190 + 4, `${live} messages live`);

  // Drag back to a moment in the middle of the dials.
  const end = Number(await page.getAttribute('#scrubber', 'max') ?? await page.$eval('#scrubber', (s) => s.max));
  await page.fill('#scrubber', String(end * 0.02));
  const past = await drawn();
  assert.ok(past < live, `${past} messages then, ${live} now`);
  assert.match(await page.textContent('.scrub-time'), /s of /);
  await page.screenshot({ path: join(suite.shots, 'scrubbed-diagram.png') });
  await page.click('#tab-network');
  const then = await connections();
  assert.ok(then < 190, `${then} connections then`);
  assert.match(await page.textContent('figcaption'), /as it was at/);
  await page.screenshot({ path: join(suite.shots, 'scrubbed-network.png') });

  // "]" steps forward one event at a time; "L" (like the Live button) returns.
  await page.locator('body').focus();
  await page.keyboard.press(']');
  assert.ok(await connections() >= then);
  await page.click('button:text-is("Live")');
  assert.equal(await connections(), 190);
  await page.click('#tab-diagram');
  assert.equal(await drawn(), live);
  await page.close();
});

test('paused, each message waits in flight until a step lets it go', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1`);
  await ready(page);
  await page.click('button:text-is("Pause")');
  await page.click('text=Run ping');
  await page.click('#tab-diagram');
  await page.waitForSelector('.held:text("1 message waiting")');
  await page.waitForSelector('.arrow[data-in-flight="true"] text:text("PING (in flight)")');
  await page.screenshot({ path: join(suite.shots, 'paused-ping.png') });
  await page.click('text=Step ›');
  await page.waitForSelector('.arrow[data-in-flight="true"] text:text("PONG (in flight)")', { timeout: 10_000 });
  await page.keyboard.press('.');
  await page.waitForSelector('.ping-result[data-state="answered"]', { timeout: 10_000 });
  await page.click('button:text-is("Play")');
  await page.selectOption('select[name="speed"]', '0.25');
  assert.equal(await page.inputValue('select[name="speed"]'), '0.25');
  await page.close();
});
