// Drives Debian's Chromium against a diming whose registry holds Changji
// prefecture (6523, seven county-level units) and Beijing's 朝阳区 (110105), as
// `diming init --region` built them: the region picker, the county choropleth of a
// prefecture, the drill-down to a county's townships, search by name, and that
// every title names the area shown. Run by tests/it/browser.rs:
//   node tests/browser/region.mjs   (env: DIMING_BASE, DIMING_ARTIFACTS)
// Prints one JSON line; exits non-zero on the first failed check.
import { check, launch, newPage, passed, failed } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.DIMING_BASE;
const artifacts = process.env.DIMING_ARTIFACTS || 'artifacts';
fs.mkdirSync(artifacts, { recursive: true });

const browser = await launch();
let page;
try {
  page = await newPage(browser);
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });
  const idle = () => page.evaluate(() => new Promise((r) => { const m = window.diming.map; m.once('idle', r); m.triggerRepaint(); }));
  // What MapLibre drew in the choropleth layer, by code.
  const rendered = () => page.evaluate(() => {
    const by = {};
    for (const f of window.diming.map.queryRenderedFeatures({ layers: ['township-fill'] })) by[f.properties.code] = { ratio: f.properties.coverage_ratio, name: f.properties.name };
    return by;
  });
  const text = () => page.evaluate(() => document.body.innerText);

  // The registry holds two provinces; the page opens on the area its hash names.
  await page.goto(`${base}/?kind=community_service#region=6523`, { waitUntil: 'load' });
  await page.evaluate(() => window.diming.ready);
  await idle();
  await shot('region-01-changji-prefecture');
  let drawn = await rendered();
  const codes = Object.keys(drawn).sort();
  check('a prefecture shows its seven counties as the choropleth', codes.length === 7 && codes.every((c) => c.length === 6 && c.startsWith('6523')), JSON.stringify(codes));
  check('every county is coloured by its coverage', Object.values(drawn).every((t) => typeof t.ratio === 'number'), JSON.stringify(drawn));
  const rows = await page.$$eval('#townships tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
  check('the table has one row per county', rows.length === 7 && rows.includes('呼图壁县') && rows.includes('玛纳斯县'), JSON.stringify(rows));
  let t = await text();
  check('the titles name the prefecture', t.includes('昌吉回族自治州民政设施覆盖') && t.includes('昌吉回族自治州各县（市、区）覆盖情况'), t.slice(0, 300));
  check('the document title names the prefecture', (await page.title()).includes('昌吉回族自治州'), await page.title());
  check('county-level tools wait for a county', t.includes('请在表中或地图上选择一个县') && !(await page.$eval('#county-only', (e) => e.hidden)));
  check('the sample-data label shows, naming the synthetic layers', t.includes('示例数据') && t.includes('乡镇边界'), t.slice(0, 400));
  const picker = await page.evaluate(() => ({
    province: document.querySelector('#region-province').value,
    prefecture: document.querySelector('#region-prefecture').value,
    provinces: [...document.querySelectorAll('#region-province option')].map((o) => o.textContent),
  }));
  check('the picker shows the province and prefecture', picker.province === '65' && picker.prefecture === '6523' && picker.provinces.includes('北京市'), JSON.stringify(picker));

  // A prefecture holds more points and townships than GeoJSON can carry: they come as
  // vector tiles, and until the zoom reaches them a note says what is not drawn yet.
  const note = () => page.evaluate(() => ({ hidden: document.querySelector('#tiles-note').hidden, text: document.querySelector('#tiles-note').textContent }));
  let n = await note();
  check('the prefecture view says which layers wait for a closer zoom', !n.hidden && n.text.includes('放大地图可显示') && n.text.includes('第 7 级'), JSON.stringify(n));
  await page.evaluate(() => window.diming.map.jumpTo({ center: [86.25, 44.2], zoom: 9 }));
  await page.waitForFunction(() => window.diming.map.isSourceLoaded('facility-tiles') && window.diming.map.isSourceLoaded('coverage-tiles'), { timeout: 20000 });
  await idle();
  await shot('region-01b-changji-tiles-z9');
  n = await note();
  check('at zoom 9 nothing waits', n.hidden, JSON.stringify(n));
  const tiled = await page.evaluate(async () => {
    const m = window.diming.map;
    const b = m.getBounds();
    const [w, s, e, nn] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    const dx = (e - w) * 0.05, dy = (nn - s) * 0.05;
    const drawn = m.queryRenderedFeatures({ layers: ['facility-tiles'] }).map((f) => f.properties);
    const q = (box) => fetch(`/api/v1/facilities?kind=community_service&status=open,planned&limit=10000&bbox=${box.join(',')}`).then((r) => r.json());
    const outer = await q([w - dx, s - dy, e + dx, nn + dy]);
    const inner = await q([w + dx, s + dy, e - dx, nn - dy]);
    const towns = m.querySourceFeatures('coverage-tiles', { sourceLayer: 'coverage' }).map((f) => f.properties);
    const cov = await (await fetch('/api/v1/coverage?kind=community_service&county=652324')).json();
    return { drawn, outer: outer.features.map((f) => f.id), inner: inner.features.map((f) => f.id), towns, manas: cov.townships };
  });
  const drawnIds = new Set(tiled.drawn.map((p) => p.id));
  check('zoomed in, the kind\'s facilities are drawn from tiles', tiled.drawn.length > 0 && tiled.drawn.every((p) => p.kind === 'community_service'), `${tiled.drawn.length}`);
  check('the tiles draw exactly the facilities the REST listing has in view', tiled.inner.every((id) => drawnIds.has(id)) && [...drawnIds].every((id) => tiled.outer.includes(id)), JSON.stringify({ drawn: [...drawnIds].length, inner: tiled.inner.length, outer: tiled.outer.length }));
  const tileRatio = new Map(tiled.towns.filter((t) => t.level === 'township').map((t) => [t.code, t.coverage_ratio]));
  const shared = tiled.manas.filter((t) => tileRatio.has(t.code));
  check('each township\'s tile carries the coverage the API answers', shared.length > 5 && shared.every((t) => Math.abs(tileRatio.get(t.code) - t.coverage_ratio) < 1e-9), JSON.stringify(shared.map((t) => [t.code, t.coverage_ratio, tileRatio.get(t.code)]).slice(0, 5)));

  // Drill down: click 呼图壁县's row.
  await page.evaluate(() => [...document.querySelectorAll('#townships tbody tr')].find((tr) => tr.cells[0].textContent === '呼图壁县').click());
  await page.waitForFunction(() => window.diming.state.area?.code === '652323' && window.diming.state.coverage?.area === '652323');
  await idle();
  await shot('region-02-hutubi-townships');
  drawn = await rendered();
  const towns = Object.keys(drawn);
  const want = await page.evaluate(async () => (await (await fetch('/api/v1/divisions?level=township&county=652323&limit=10000')).json()).features.map((f) => f.properties.code));
  check('the county shows its townships as the choropleth', towns.length === want.length && towns.every((c) => want.includes(c)), `${towns.length} of ${want.length}`);
  t = await text();
  check('the titles name the county', t.includes('呼图壁县民政设施覆盖') && t.includes('呼图壁县各乡镇覆盖情况') && (await page.title()).includes('呼图壁县'), t.slice(0, 300));
  check('county tools are back', await page.$eval('#county-only', (e) => e.hidden));
  check('the hash says where we are', (await page.evaluate(() => location.hash)) === '#region=652323');
  const bounds = await page.evaluate(() => window.diming.map.getBounds().toArray());
  check('the map is fitted to the county', bounds[0][0] < 86.9 && bounds[1][0] > 86.4 && bounds[0][1] < 44.2 && bounds[1][1] > 44.0, JSON.stringify(bounds));

  // Search by name across provinces.
  await page.type('#region-search', '朝阳');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.diming.state.area?.code === '110105' && window.diming.state.coverage?.area === '110105');
  await idle();
  await shot('region-03-chaoyang');
  drawn = await rendered();
  check('朝阳区 shows its townships', Object.keys(drawn).length > 20 && Object.keys(drawn).every((c) => c.startsWith('110105')), String(Object.keys(drawn).length));
  t = await text();
  check('the titles name 朝阳区', t.includes('朝阳区民政设施覆盖') && t.includes('朝阳区各乡镇覆盖情况'), t.slice(0, 300));
  const pick2 = await page.evaluate(() => [document.querySelector('#region-province').value, document.querySelector('#region-county').value]);
  check('the picker follows the search', pick2[0] === '11' && pick2[1] === '110105', JSON.stringify(pick2));

  // A search that finds nothing says so and stays.
  await page.$eval('#region-search', (e) => { e.value = ''; });
  await page.type('#region-search', '<img src=x onerror=alert(1)>');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#region-error').textContent.length > 0);
  check('an unknown area is an error, and nothing changes', (await page.evaluate(() => window.diming.state.area.code)) === '110105' && (await page.$$('#region-error img')).length === 0);

  passed();
} catch (e) {
  await failed(e, page, path.join(artifacts, 'region-failure.png'));
} finally {
  await browser.close();
}
