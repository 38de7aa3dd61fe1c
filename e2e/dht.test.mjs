// The four DHT lessons followed to their end by their own buttons, on real libp2p-kad peers
// in the page: lookups drawn hop by hop (on the key space, as arrows in the diagram, in the
// hop table and the distance chart), records put and found, providers, and churn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inPageSuite, NO_RELAY as noRelay, act } from './harness.mjs';

const suite = inPageSuite();

async function open(lesson) {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=${lesson}&step=1`);
  return page;
}

/** The last lookup as the DHT view shows it. */
async function lastLookup(page) {
  await page.click('#tab-dht');
  const section = page.locator('.dht-lookup[data-finished="true"]');
  await section.waitFor();
  // A finished lookup's last answers may still be on their way from the wire tap: read it
  // once its hops have not changed for half a second.
  let hops = await section.getAttribute('data-hops');
  for (let i = 0; i < 20; i += 1) {
    await page.waitForTimeout(500);
    const now = await section.getAttribute('data-hops');
    if (now === hops) break;
    hops = now;
  }
  return {
    hops: Number(hops),
    depth: Number(await section.getAttribute('data-depth')),
    rows: await page.locator('.hop-row').count(),
    chart: (await page.getAttribute('.distance-chart', 'data-bits')).split(' ').map(Number),
    lines: await page.locator('.keyspace .hop').count(),
    text: await section.textContent(),
  };
}

test('DHT 1 and 2: keys, buckets, and a lookup hop by hop', async () => {
  const page = await open('dht-distance');
  await act(page, async () => {
    await page.click('.step-action');
    // While the DHT settles the tab draws a new picture several times a second: a peer in
    // focus keeps its focus (the picture changes in place; its elements are not drawn anew).
    await page.click('#tab-dht');
    await page.waitForSelector('.dht-status[data-settled="false"]');
    await page.focus('.keyspace .peer[data-peer="3"]');
    const said = await page.textContent('.dht-status');
    await page.waitForFunction((before) => document.querySelector('.dht-status').textContent !== before, said);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.peer), '3');
    // The bootstraps' lookups are counted as they end; the bar is their share done.
    await page.waitForFunction(() => Number(document.querySelector('.dht-figures progress')?.value) > 0);
    const figures = await page.textContent('.dht-figures');
    const [, done, left] = figures.match(/^(\d+) bootstrap lookups? done, (\d+) to go in the bootstraps running · \d+ of 20 peers done/);
    const bar = await page.evaluate(() => { const p = document.querySelector('.dht-figures progress'); return [p.value, p.max]; });
    assert.ok(Number(done) > 0 && bar[1] >= bar[0], `${figures} ${bar}`);
    assert.ok(Number(left) >= 0);
  });
  const status = await page.waitForSelector('.dht-status[data-settled="true"]');
  // Settled says when the tables stopped changing: a time, not later than now.
  const steadyMs = Number(await status.getAttribute('data-tables-steady-ms'));
  const sinceNavigation = await page.evaluate(() => performance.now());
  assert.ok(steadyMs >= 0 && steadyMs <= sinceNavigation, `tables steady ${steadyMs} ms`);
  assert.match(await status.textContent(), /stopped changing \d+\.\d s before the last lookup ended/);
  assert.equal(await page.locator('.keyspace .peer').count(), 20);
  await page.click('.next');
  await page.click('.next');
  // Peer 0's routing table: a few buckets of at most k = 2.
  const buckets = Number(await page.getAttribute('.routing-table', 'data-buckets'));
  assert.ok(buckets >= 2 && buckets <= 8, `${buckets} buckets`);
  for (const bucket of await page.locator('.buckets li').all()) {
    assert.ok(await bucket.locator('.entry').count() <= 2);
  }
  // A click on a peer shows its table instead.
  // By keyboard: each peer on the circle is a button.
  await page.focus('.keyspace .peer[data-peer="7"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.routing-table[data-peer="7"]');
  await page.screenshot({ path: join(suite.shots, 'dht-buckets.png') });
  await page.click('.next');
  await act(page);
  const first = await lastLookup(page);
  assert.ok(first.hops >= 1 && first.rows === first.hops && first.lines === first.hops);
  assert.match(first.text, /Closest found: peer 13/);
  await page.close();

  const lookup = await open('dht-lookup');
  await act(lookup);
  await lookup.click('.next');
  await lookup.check('.choice input[value="3"]');
  await act(lookup);
  await lookup.waitForSelector('.prediction[data-state]');
  const found = await lastLookup(lookup);
  assert.ok(found.depth >= 1, found.text);
  assert.equal(found.rows, found.hops);
  assert.equal(found.lines, found.hops, 'one line on the key space per peer asked');
  // The chart's best distance never falls back, and ends at the closest peer found.
  assert.ok(found.chart.length >= 1);
  assert.ok(found.chart.every((bits, i) => i === 0 || bits >= found.chart[i - 1]), found.chart.join());
  assert.match(found.text, /Closest found: peer 23/);
  // Each number sits straight out from its own dot; one pushed past the nearest ring has a
  // leader line back to it.
  const labels = await lookup.evaluate(() => {
    const ring = document.querySelector('.keyspace .ring');
    const [ox, oy] = ['cx', 'cy'].map((a) => Number(ring.getAttribute(a)));
    const angle = (x, y) => Math.atan2(y - oy, x - ox);
    const apart = (a, b) => Math.abs(Math.atan2(Math.sin(a - b), Math.cos(a - b)));
    return [...document.querySelectorAll('.keyspace .peer')].filter((g) => g.querySelector('text')).map((g) => {
      const dot = g.querySelector('circle'), text = g.querySelector('text'), leader = g.querySelector('.leader');
      const [dx, dy] = ['cx', 'cy'].map((a) => Number(dot.getAttribute(a)));
      const [tx, ty] = [Number(text.getAttribute('x')), Number(text.getAttribute('y')) - 4];
      const ends = leader && [['x1', 'y1'], ['x2', 'y2']].map(([x, y]) => [Number(leader.getAttribute(x)), Number(leader.getAttribute(y))]);
      return {
        peer: g.dataset.peer,
        off: Math.hypot(tx - dx, ty - dy),
        turn: apart(angle(tx, ty), angle(dx, dy)),
        leaderTurn: ends ? Math.max(...ends.map(([x, y]) => apart(angle(x, y), angle(dx, dy)))) : null,
      };
    });
  });
  assert.ok(labels.length >= 20, `${labels.length} numbers on the circle`);
  for (const { peer, off, turn, leaderTurn } of labels) {
    assert.ok(turn < 0.01, `peer ${peer}'s number is not straight out from its dot`);
    assert.equal(leaderTurn !== null, off > 20, `peer ${peer}: number ${off.toFixed(0)} px out, leader ${leaderTurn !== null}`);
    assert.ok(leaderTurn === null || leaderTurn < 0.01, `peer ${peer}'s leader line points elsewhere`);
  }
  assert.ok(labels.some(({ off }) => off > 20), 'a crowded circle pushes some numbers out');
  await lookup.screenshot({ path: join(suite.shots, 'dht-lookup.png') });
  // The network view draws the same lookup: a line to each peer asked.
  await lookup.click('#tab-network');
  assert.equal(await lookup.locator('.network-view .lookup-hop').count(), found.hops);
  await lookup.screenshot({ path: join(suite.shots, 'dht-lookup-network.png') });
  await lookup.click('.next');
  // The diagram: one FIND_NODE arrow per hop, and an answer for each.
  await lookup.waitForSelector('.arrow[data-kind="kad"]');
  const requests = await lookup.locator('.arrow[data-kind="kad"][data-label^="FIND_NODE"]').count();
  const answers = await lookup.locator('.arrow[data-kind="kad"][data-label^="↩"]').count();
  assert.equal(requests, found.hops);
  assert.equal(answers, found.hops);
  assert.equal(await lookup.locator('.arrow[data-kind="kad-background"]').count(), 0, 'background hidden');
  // Only the lookup's peers keep a lifeline: peer 0 and those it asked, not all 30.
  assert.equal(await lookup.inputValue('select[name="lifelines"]'), 'peers-with-arrows');
  assert.equal(await lookup.locator('.lifeline-head').count(), found.hops + 1);
  // They spread over the diagram's width (it was measured once the tab showed), not packed
  // 32 px apart at its left as when it was hidden.
  await lookup.waitForFunction(() => {
    const [a, b] = [...document.querySelectorAll('.lifeline-head')].map((h) => h.getBoundingClientRect().x);
    return b - a > 40;
  }, null, { timeout: 5000 }).catch(() => {});
  const xs = await lookup.$$eval('.lifeline-head', (heads) => heads.map((h) => h.getBoundingClientRect().x));
  assert.ok(xs[1] - xs[0] > 40, `lifelines ${(xs[1] - xs[0]).toFixed(0)} px apart`);
  await lookup.screenshot({ path: join(suite.shots, 'dht-lookup-diagram.png') });
  // Back to all peers: every peer has its lifeline again.
  await lookup.selectOption('select[name="lifelines"]', 'all');
  await lookup.waitForFunction(() => document.querySelectorAll('.lifeline-head').length === 30);
  await lookup.click('.next');
  await act(lookup);
  const second = await lastLookup(lookup);
  assert.match(second.text, /lookup \(closest peers\) for record 5/);
  await lookup.click('.next');
  await lookup.close();
});

test('DHT 2 opened at its lookup by a link: caught up, the lookup waits for the DHT to settle', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&lesson=dht-lookup&step=2`);
  await page.check('.choice input[value="2"]');
  // Answered, the lookup still has no network to run on until the earlier steps have run.
  assert.ok(await page.isDisabled('.step-action'));
  await page.click('.catch-up button');
  // Run at once, the lookup would find tables still empty: it waits, and the step says why.
  await page.waitForSelector('p.catch-up[role="status"]');
  assert.ok(await page.isDisabled('.step-action'));
  await page.waitForSelector('.step-action:not([disabled])', { timeout: 120_000 });
  assert.equal(await page.getAttribute('.dht-status', 'data-settled'), 'true');
  await act(page);
  const found = await lastLookup(page);
  assert.match(found.text, /Closest found: peer 23/);
  await page.close();
});

test('DHT 3: a record put on the closest peers, got, and provided', async () => {
  const page = await open('dht-records');
  await act(page);
  await page.click('.next');
  await act(page);
  await page.click('#tab-dht');
  const holding = page.locator('.records li[data-key="record 1"]');
  await holding.waitFor();
  // Stored on the 3 closest live peers, and kept by peer 4 who put it.
  const text = await holding.textContent();
  const [held, closest] = text.split('(the 3 closest live peers to the key: ');
  for (const peer of closest.replace(')', '').split(', ')) {
    assert.ok(held.includes(peer.trim()), `${peer} holds it: ${text}`);
  }
  assert.ok(held.includes('peer 4'), text);
  // The step compares the holders with the closest peers "listed beside it": first beside the
  // circle, above the put's long lookup.
  assert.equal(await page.getAttribute('.dht-side > section:first-child', 'class'), 'records');
  await page.screenshot({ path: join(suite.shots, 'dht-put.png') });
  await page.click('.next');
  await page.check('.choice input[value="yes"]');
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  await page.waitForSelector('.found[data-found="true"]');
  const get = await lastLookup(page);
  assert.ok(get.hops >= 1);
  await page.click('.next');
  await act(page);
  // The ADD_PROVIDERs go out after the lookup ended, with no answer to wait for, and the list
  // fills in as they arrive: peer 9's own provider record, and one on each of the 3 closest
  // live peers.
  await page.locator('.hop-row td', { hasText: 'ADD_PROVIDER: keep a provider record' }).first().waitFor();
  await page.waitForFunction(() => {
    const item = document.querySelector('.records li[data-key="record 2"]');
    if (!item) return false;
    const peers = (name) => item.getAttribute(name).split(' ').filter(Boolean);
    const holders = peers('data-holder-peers');
    return holders.includes('9') && peers('data-closest-live').every((p) => holders.includes(p));
  });
  await page.click('.next');
  await act(page);
  await page.locator('.dht-lookup .found', { hasText: 'Providers: peer 9' }).waitFor();
  await page.screenshot({ path: join(suite.shots, 'dht-providers.png') });
  await page.close();
});

/** Who holds `key`, and the r live peers closest to it, as the DHT tab lists them. */
async function holding(page, key) {
  await page.click('#tab-dht');
  const item = page.locator(`.records li[data-key="${key}"]`);
  await item.waitFor();
  const peers = async (name) => (await item.getAttribute(name)).split(' ').filter(Boolean).map(Number);
  return { holders: await peers('data-holder-peers'), closest: await peers('data-closest-live') };
}

test('DHT 4: churn: lookups route around the peers that left, and the records heal', async () => {
  const page = await open('dht-churn');
  await act(page);
  await page.click('.next');
  await act(page);
  // Peer 5's put: its own copy, and one on each of the 3 closest other peers.
  const put = await holding(page, 'record 1');
  const copies = put.holders.filter((p) => p !== 5);
  assert.ok(put.holders.includes(5), 'the publisher keeps a copy');
  assert.equal(copies.length, 3, `copies on ${copies}`);
  assert.deepEqual(put.closest.filter((p) => p !== 5).filter((p) => !copies.includes(p)), [], 'on the closest peers');
  await page.click('.next');
  await act(page);
  await page.click('#tab-dht');
  const left = await page.locator('.keyspace .peer.left').evaluateAll((peers) => peers.map((p) => Number(p.dataset.peer)));
  assert.equal(left.length, 15);
  await page.click('.next');
  await act(page);
  const around = await lastLookup(page);
  assert.match(around.text, /Closest found:/);

  // The prediction, judged by the page against the get, and here against who held it.
  const survives = put.holders.some((p) => !left.includes(p));
  await page.click('.next');
  await page.check(`.choice input[value="${survives ? 'yes' : 'no'}"]`);
  await act(page);
  await page.waitForSelector('.prediction[data-state="right"]');
  assert.equal(await page.getAttribute('.dht-lookup .found', 'data-found'), String(survives));
  console.log(`after churn, record 1 ${survives ? 'kept a copy and was found' : 'lost every copy'}`);
  await page.screenshot({ path: join(suite.shots, 'dht-churn.png') });

  // The peers' own refresh and replication put it back on the 3 closest live peers.
  await page.click('.next');
  await page.waitForSelector('.expectation[data-met="true"]', { timeout: 120_000 });
  if (survives) {
    const healed = await holding(page, 'record 1');
    assert.deepEqual(healed.closest.filter((p) => !healed.holders.includes(p)), [], `holders ${healed.holders}, closest live ${healed.closest}`);
    assert.ok(healed.closest.every((p) => !left.includes(p)));
  }
  await page.screenshot({ path: join(suite.shots, 'dht-healed.png') });
  await page.close();
});

test('DHT in free play: put and get from the panel, then the link replays them', async () => {
  const page = await suite.browser.context.newPage();
  await page.goto(`${suite.site.url}${noRelay}#v=1&peers=12&topology=star&seed=4&dht=k2-a2-r2`);
  await page.click('#tab-dht');
  await page.waitForSelector('.dht-status[data-settled="true"]', { timeout: 120_000 });
  const panel = page.locator('section[aria-labelledby="dht-heading"]');
  await panel.locator('select[aria-label="What to do"]').selectOption({ label: 'put' });
  await panel.locator('input[aria-label="Key number"]').fill('3');
  await panel.locator('button[type="submit"]').click();
  await page.locator('.records li[data-key="record 3"]').waitFor();
  // Peer 6 asks: shift-click picks the peer that acts.
  await page.click('#tab-network');
  await page.click('.network-view .peer:has(text:text-is("6"))', { modifiers: ['Shift'] });
  await panel.locator('select[aria-label="What to do"]').selectOption({ label: 'get' });
  await panel.locator('button[type="submit"]').click();
  await page.click('#tab-dht');
  await page.locator('.dht-lookup h3', { hasText: "peer 6's lookup (get record) for record 3" }).waitFor();
  await page.waitForSelector('.found[data-found="true"]');
  const link = page.url();
  assert.match(link, /dht=k2-a2-r2/);
  assert.match(link, /actions=start\.put-0-record-3\.get-6-record-3/);
  await page.screenshot({ path: join(suite.shots, 'dht-free-play.png') });
  await page.close();

  // The link rebuilds the same run: the network settles, then the put and the get replay.
  const again = await suite.browser.context.newPage();
  await again.goto(link);
  await again.click('#tab-dht');
  await again.locator('.dht-lookup h3', { hasText: "peer 6's lookup (get record) for record 3" }).waitFor({ timeout: 120_000 });
  await again.waitForSelector('.found[data-found="true"]');
  await again.close();
});
