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
await pages[0].waitForTimeout(8000);
console.log(logs.join('\n'));
console.log('errors', errors.filter((e) => !e.includes('UNSAFE')));
for (const [i, page] of pages.entries()) await page.screenshot({ path: `/tmp/look/webrtc-tab${i}.png` });
await context.close(); await relay.stop(); site.close();
