// What the browser scripts share: the checks they report, the console errors they
// collect, and Debian's Chromium launched headless with the flags this machine needs.
import puppeteer from 'puppeteer-core';

export const checks = [];
export const consoleErrors = [];

// Records a check; throws on the first that fails, so the script stops there.
export function check(name, ok, detail = '') {
  checks.push({ name, ok, detail });
  if (!ok) throw new Error(`${name}: ${detail}`);
}

export function launch() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--enable-unsafe-swiftshader',
      '--disable-gpu-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--lang=zh-CN',
    ],
  });
}

// A page of the size the screenshots are made at, collecting console errors.
export async function newPage(browser) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 860 });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return page;
}

// The report of a run that got through: no console errors, then one JSON line.
export function passed() {
  check('no console errors', consoleErrors.length === 0, consoleErrors.join('\n'));
  console.log(JSON.stringify({ ok: true, checks }));
}

// The report of a run that stopped: a screenshot of where, then one JSON line.
export async function failed(e, page, screenshot) {
  if (page) await page.screenshot({ path: screenshot }).catch(() => {});
  console.log(JSON.stringify({ ok: false, error: String(e), checks, consoleErrors }));
  process.exitCode = 1;
}
