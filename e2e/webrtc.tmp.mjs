import { serveDirectory, launchBrowser, startRelay } from './harness.mjs';
const site = await serveDirectory(process.env.DIST_DIR);
const relay = await startRelay({});
const { context, errors } = await launchBrowser();
const logs = [];
const pages = [];
for (let i = 0; i < 2; i += 1) {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.text().includes('WEBRTC')) logs.push(`tab${i}: ${m.text()}`); });
  await page.goto(`${site.url}?relay=${encodeURIComponent(relay.infoUrl)}#v=1&peers=2&room=direct`);
  await page.click('#tab-room');
  pages.push(page);
}
for (const page of pages) {
  await page.waitForFunction(() => document.querySelectorAll('.room-members tr[data-state="connected"]').length === 1, null, { timeout: 60_000 });
}
await pages[0].waitForTimeout(5000);
const rtts = async () => (await Promise.all(pages.map((p) => p.evaluate(() => document.querySelector('.room-members')?.innerText.replace(/\s+/g, ' '))))).join(' || ');
for (let i = 0; i < 3; i += 1) {
  await pages[1].click('.ping-everyone');
  await pages[1].waitForTimeout(1500);
  console.log('with relay:', await rtts());
}
await relay.stop();
console.log('relay stopped');
await pages[1].waitForTimeout(3000);
for (let i = 0; i < 3; i += 1) {
  await pages[1].click('.ping-everyone', { timeout: 3000 }).catch(() => console.log('ping button disabled'));
  await pages[1].waitForTimeout(1500);
  console.log('without relay:', await rtts());
}
console.log(logs.join('\n'));
console.log('errors', errors.filter((e) => !e.includes('UNSAFE')));
for (const [i, page] of pages.entries()) await page.screenshot({ path: `/tmp/look/webrtc-tab${i}.png` });
await context.close(); site.close();
