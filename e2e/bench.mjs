// Time from navigation until every connection of the original topology is up, for several
// peer counts, read from the page's own clock (performance.now() when the last connection came
// up). Prints one JSON object on stdout; `cargo xtask bench` turns it into a table.
import { serveDirectory, launchBrowser } from './harness.mjs';

const counts = (process.env.PEER_COUNTS ?? '5,20,50,100').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const site = await serveDirectory(process.env.DIST_DIR);
const browser = await launchBrowser();
const results = [];
try {
  for (const peers of counts) {
    const readyAt = [];
    const took = [];
    let connections = 0;
    for (let i = 0; i < runs; i++) {
      const page = await browser.context.newPage();
      // No relay: the figure is the in-page network alone.
      await page.goto(`${site.url}?relay=${encodeURIComponent('http://127.0.0.1:9/')}#peers=${peers}&topology=original&seed=${i + 1}`);
      const status = await page.waitForSelector('.status[data-phase="ready"]', { timeout: 300_000 });
      readyAt.push(Number(await status.getAttribute('data-ready-at-ms')));
      took.push(Number(await status.getAttribute('data-took-ms')));
      connections = await page.locator('.connections line').count();
      await page.close();
      console.error(`${peers} peers, run ${i + 1}: all ${connections} connections up at ${readyAt.at(-1).toFixed(0)} ms`);
    }
    results.push({
      peers, connections, runs,
      median_ready_at_ms: median(readyAt), worst_ready_at_ms: Math.max(...readyAt),
      median_took_ms: median(took), worst_took_ms: Math.max(...took),
    });
  }
} finally {
  await browser.context.close();
  site.close();
}
console.log(JSON.stringify({ runs: results }));
