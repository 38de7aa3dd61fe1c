// Inside a connection: the three wire lessons run to their end by their own buttons, with
// the frames and arrows a learner must see, and each lesson's link reopened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inPageSuite, NO_RELAY as noRelay, met, act, arrowLabels, clickArrow } from './harness.mjs';

// In-page peers only: no relay.
const suite = inPageSuite();
const next = (page) => page.click('.next');
const arrows = (page) => arrowLabels(page);
const wireRecords = (page) => page.locator('.wire-list summary').allTextContents();
const twoFrames = (page) => page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));

/** Scrolls `selector` down, shows tab `away` and comes back to tab `back`: the learner finds
 * it where they left it. */
async function keepsItsPlace(page, selector, away, back) {
  const scroller = page.locator(selector);
  const left = await scroller.evaluate((el) => { el.scrollTop = 150; return el.scrollTop; });
  assert.ok(left > 0, `${selector} is taller than its scroller`);
  await page.click(away);
  await page.click(back);
  await twoFrames(page);
  assert.equal(await scroller.evaluate((el) => el.scrollTop), left, `${selector} back from ${away}`);
}

async function reopen(page, check) {
  const link = page.url();
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await check(again);
  await again.close();
  return link;
}

test('Layers of a connection: multistream-select, Noise XX, then yamux, arrow by arrow', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=layers-of-a-connection&step=1`);
  await page.check('.choice input[value="dialer"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  const drawn = await arrows(page);
  for (const label of ['dial', '/multistream/1.0.0', '/noise', 'noise → e', 'noise ← e, ee, s, es', 'noise → s, se', '/yamux/1.0.0']) {
    assert.ok(drawn.includes(label), `${label} in ${drawn}`);
  }
  await page.screenshot({ path: join(suite.shots, 'layers-handshake.png') });

  await next(page);
  assert.equal(await page.getAttribute('#tab-wire', 'aria-selected'), 'true');
  // The step is about how the connection began: the list opens at its first record.
  await page.waitForFunction(() => document.querySelector('.wire-list').scrollTop === 0);
  assert.match(
    await page.textContent('.wire-list li:first-child summary'),
    /peer 0 → peer 1.*under noise.*multistream-select: \/multistream\/1\.0\.0/,
  );
  const records = await wireRecords(page);
  assert.ok(records.some((r) => /peer 0 → peer 1.*under noise.*multistream-select: \/noise/.test(r)), records.join('\n'));
  assert.ok(records.some((r) => /Noise XX message 1: → e \(32 bytes\)/.test(r)));
  assert.ok(records.some((r) => /peer 1 → peer 0.*Noise XX message 2: ← e, ee, s, es/.test(r)));
  assert.ok(records.some((r) => /ciphertext, \d+ bytes/.test(r)));
  await page.click('.wire-list li:has-text("multistream-select: /multistream/1.0.0") summary');
  assert.match(await page.textContent('.wire-list details[open] .wire-fields'), /13 2f 6d 75 6c 74 69/);
  await page.screenshot({ path: join(suite.shots, 'layers-wire.png') });
  await keepsItsPlace(page, '.wire-list', '#tab-diagram', '#tab-wire');

  await next(page);
  await next(page);
  await next(page);
  assert.equal(await page.textContent('.step-count'), 'Step 5 of 5');
  await page.waitForFunction(() => [...document.querySelectorAll('.arrow[data-kind="frame"]')].some((a) => /^DATA #\d+/.test(a.dataset.label)), null, { timeout: 10_000 });
  // The text points at "the last teal arrows", /yamux/1.0.0: the diagram opens at its first
  // arrow instead of following the frames, and they are in sight whole.
  assert.equal(await page.isChecked('input[name="follow"]'), false);
  await page.waitForFunction(() => {
    const box = document.querySelector('.diagram-scroll').getBoundingClientRect();
    const yamux = [...document.querySelectorAll('.arrow')].filter((a) => a.dataset.label === '/yamux/1.0.0');
    return yamux.length === 2 && yamux.every((a) => {
      const at = a.getBoundingClientRect();
      return at.top >= box.top + 26 && at.bottom <= box.bottom;
    });
  }, null, { timeout: 10_000 });
  // Opened at its start, but not each time it is shown: back from the Wire tab (where the
  // step's text sends the learner), it is where the learner left it.
  await keepsItsPlace(page, '.diagram-scroll', '#tab-wire', '#tab-diagram');
  // A frame opened from the Wire tab points at its arrow in the diagram.
  await page.click('#tab-wire');
  await page.click('input[name="wire-depth"] >> nth=2');
  const syn = page.locator('.wire-list li').filter({ has: page.locator('.wire-what', { hasText: /^DATA stream \d+ SYN/ }) }).first();
  await syn.locator('summary').click();
  await syn.locator('button:text("Show its arrow in the diagram")').click();
  assert.equal(await page.getAttribute('#tab-diagram', 'aria-selected'), 'true');
  await page.waitForSelector('.arrow.selected');
  assert.match(await page.textContent('.arrow-details'), /version 0 · type DATA · flags 0x0001 \(SYN\)/);
  // The step's text: the first streams are identify's, as the arrow's details say.
  await clickArrow(page, '.arrow[data-label="DATA #1 SYN · 36 B"]');
  assert.match(await page.textContent('.arrow-details'), /protocol\s*\/ipfs\/id\/1\.0\.0/);
  await page.screenshot({ path: join(suite.shots, 'layers-frames.png') });

  await reopen(page, async (again) => {
    await again.waitForSelector('.status[data-phase="ready"]', { timeout: 60_000 });
    assert.equal(await again.textContent('.step-count'), 'Step 5 of 5');
    await again.click('#tab-wire');
    await again.waitForSelector('.wire-list li:has-text("Noise XX message 3: → s, se")', { timeout: 10_000 });
  });
  await page.close();
});

test('Streams: SYN and ACK, the protocol negotiated on the stream, a FIN from each side, and RST', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=streams&step=1`);
  await act(page);
  await next(page);
  await act(page);
  const labels = await arrows(page);
  // The ping's stream: opened with SYN, accepted with ACK, a FIN from each side.
  const streams = new Set(labels.map((l) => l.match(/#(\d+)/)?.[1]).filter(Boolean));
  const lifecycle = [...streams].find((s) => {
    const of = labels.filter((l) => l.includes(`#${s} `) || l.endsWith(`#${s}`));
    return of.some((l) => /SYN/.test(l)) && of.some((l) => /ACK/.test(l)) && of.filter((l) => /FIN/.test(l)).length === 2;
  });
  assert.ok(lifecycle, labels.join(' | '));
  assert.ok(labels.includes('PING') && labels.includes('PONG'));
  await page.screenshot({ path: join(suite.shots, 'streams-syn-ack-fin.png') });

  await next(page);
  const records = await wireRecords(page);
  assert.ok(records.some((r) => /stream \d+ negotiates: \/testbed\/ping\/1\.0\.0/.test(r)), records.join('\n'));
  // As the step says, inside noise: the list opens at its newest records, so the ping's
  // stream is in sight without scrolling past the connection's set-up.
  await page.click('input[name="wire-depth"] >> nth=2');
  await page.waitForFunction(() => {
    const list = document.querySelector('.wire-list');
    const box = list.getBoundingClientRect();
    const negotiated = [...list.querySelectorAll('li')].filter((li) => /negotiates: \/testbed\/ping/.test(li.textContent)).at(-1);
    const at = negotiated?.getBoundingClientRect();
    return at && at.top >= box.top && at.bottom <= box.bottom && list.scrollTop > 0;
  }, null, { timeout: 10_000 });

  await next(page);
  await page.check('.choice input[value="responder"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');

  await next(page);
  await act(page);
  assert.ok((await arrows(page)).some((l) => /RST/.test(l)), 'an RST frame is drawn');
  assert.match(await page.textContent('.event-log'), /gave up after 64 KiB and dropped its stream to peer 1: yamux resets it \(RST\)/);
  await page.screenshot({ path: join(suite.shots, 'streams-reset.png') });

  const link = await reopen(page, async (again) => {
    await again.waitForSelector('.expectation[data-met="true"]', { timeout: 60_000 });
    await again.waitForFunction(() => [...document.querySelectorAll('.arrow text')].some((t) => t.textContent.includes('RST')), null, { timeout: 10_000 });
    // The step's arrow, the newest, is in sight on a laptop's screen without scrolling: the
    // followed diagram reaches its end, and the scroller's foot is on the screen.
    await again.waitForFunction(() => {
      const rst = [...document.querySelectorAll('.arrow')].find((a) => a.textContent.includes('RST'));
      const scroller = document.querySelector('.diagram-scroll').getBoundingClientRect();
      const arrow = rst.getBoundingClientRect();
      return arrow.top >= scroller.top && arrow.bottom <= scroller.bottom && scroller.bottom <= innerHeight;
    }, null, { timeout: 10_000 });
  });
  assert.match(link, /actions=start\.ping-0-1\.ping-0-1\.transfer-0-1-256-giveup&answers=4:responder$/);
  await page.close();
});

test('Muxing: two streams interleave on one connection, and reading sends WINDOW_UPDATE', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=muxing&step=1`);
  await act(page);
  await next(page);
  await page.check('.choice input[value="no"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]', { timeout: 30_000 });
  await page.screenshot({ path: join(suite.shots, 'muxing-interleaved.png') });

  await next(page);
  const records = await wireRecords(page);
  const dataStreams = new Set(records.map((r) => r.match(/DATA stream (\d+)(?: \w+)?, \d+ bytes/)?.[1]).filter(Boolean));
  assert.ok(dataStreams.size >= 2, `DATA on streams ${[...dataStreams]}`);
  assert.ok(records.some((r) => /peer 1 → peer 0.*WINDOW_UPDATE stream \d+, \+\d+/.test(r)), 'a WINDOW_UPDATE back from the reader');

  await next(page);
  await met(page);
  assert.ok((await page.locator('.arrow[data-kind="frame"] text').allTextContents()).length > 0);
  await page.screenshot({ path: join(suite.shots, 'muxing-window.png') });
  await next(page);
  assert.equal(await page.textContent('.step-count'), 'Step 5 of 5');

  const link = await reopen(page, async (again) => {
    await again.waitForSelector('.event-log li:has-text("peer 1 read all 1024 KiB from peer 0")', { timeout: 60_000 });
  });
  assert.match(link, /lesson=muxing&step=5&actions=start\.transfer-0-1-1024-slow-pings&answers=2:no$/);
  await page.close();
});
