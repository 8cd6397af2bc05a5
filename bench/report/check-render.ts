import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/**
 * Opens a bench report in Chromium (as edge/web/web-client.test.ts does) and says whether it
 * renders on its own: every chart drawn with a size, no request but the file itself, no console
 * error. Writes a full-page screenshot beside it (<report>.png).
 * usage: npx tsx bench/report/check-render.ts bench/results/<run>-report.html
 */
const CHROMIUM = process.env.IM_CHROMIUM_PATH ?? '/usr/bin/chromium';

async function main(file: string): Promise<number> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set IM_CHROMIUM_PATH`);
  const url = pathToFileURL(resolve(file)).href;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => void (r.url() !== url && requests.push(r.url())));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => ({ title: s.querySelector('text')?.textContent ?? '', width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height, marks: s.querySelectorAll('path, rect, circle').length })));
    const invalid = await page.$$eval('.invalid-step', (e) => e.length);
    await page.screenshot({ path: `${file}.png`, fullPage: true });
    const empty = charts.filter((c) => !(c.width > 0 && c.height > 0) || c.marks === 0);
    console.log(`${charts.length} charts, ${empty.length} empty or without size; ${invalid} INVALID step marks; ${requests.length} other requests; ${errors.length} console errors; screenshot ${file}.png`);
    for (const c of charts) console.log(`  ${c.width}x${c.height}  ${c.marks} marks  ${c.title}`);
    for (const r of requests) console.log(`  request: ${r}`);
    for (const e of errors) console.log(`  error: ${e}`);
    return empty.length === 0 && requests.length === 0 && errors.length === 0 ? 0 : 1;
  } finally {
    await browser.close();
  }
}

const file = process.argv[2];
if (!file) {
  console.error('usage: npx tsx bench/report/check-render.ts bench/results/<run>-report.html');
  process.exit(2);
}
main(file).then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
