// Drives Debian's Chromium against a running diming: the planner map and
// facility editing, as a planner and an officer use them, and that markup typed into
// facilities and place names is only ever shown as text (stored XSS). Run by tests/it/browser.rs:
//   node tests/browser/planner.mjs   (env: DIMING_BASE, DIMING_ARTIFACTS, DIMING_EDITOR, DIMING_VIEWER, DIMING_PASSWORD)
// Prints one JSON line; exits non-zero on the first failed check.
import { check, launch, newPage, passed, failed } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.DIMING_BASE;
const artifacts = process.env.DIMING_ARTIFACTS || 'artifacts';
const password = process.env.DIMING_PASSWORD;
fs.mkdirSync(artifacts, { recursive: true });

const browser = await launch();
let page;
try {
  page = await newPage(browser);
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });

  const mainResponse = await page.goto(`${base}/`, { waitUntil: 'load' });
  await page.evaluate(() => window.diming.ready);
  await page.evaluate(() => { window.__pageId = Math.random(); });
  const pageId = await page.evaluate(() => window.__pageId);
  const idle = () => page.evaluate(() => new Promise((r) => { const m = window.diming.map; if (m.loaded() && !m.isMoving()) { m.once('idle', r); m.triggerRepaint(); } else m.once('idle', r); }));
  await idle();
  await shot('01-planner-care-home');

  // The map renders the township polygons: what MapLibre drew, not the DOM.
  const rendered = () => page.evaluate(() => {
    const feats = window.diming.map.queryRenderedFeatures({ layers: ['township-fill'] });
    const by = {};
    for (const f of feats) by[f.properties.code] = { ratio: f.properties.coverage_ratio, kind: f.properties.kind, name: f.properties.name };
    return by;
  });
  const careHome = await rendered();
  check('map renders all 19 township polygons', Object.keys(careHome).length === 19, JSON.stringify(Object.keys(careHome)));
  check('township fills carry the care_home coverage', Object.values(careHome).every((t) => t.kind === 'care_home'), JSON.stringify(careHome));
  const text = await page.evaluate(() => document.body.innerText);
  check('synthetic data is marked as sample data', text.includes('示例数据'));
  check('the titles name the county', text.includes('玛纳斯县民政设施覆盖') && text.includes('玛纳斯县各乡镇覆盖情况') && (await page.title()).includes('玛纳斯县'), text.slice(0, 200));
  check('one county needs no region picker', await page.$eval('#region-picker', (e) => e.hidden));
  check('the legend explains the colours', text.includes('覆盖率 90%–100%'));
  check('complete layers carry no partial-layer note', await page.$eval('#partial-note', (e) => e.hidden));

  // A layer the registry holds more of than one answer gives is drawn with a note, never
  // silently as if whole: the facilities' answer is made to say it matched more.
  await page.evaluate(() => {
    const real = window.fetch;
    window.fetch = async (url, opts) => {
      const res = await real(url, opts);
      if (!String(url).includes('/api/v1/facilities?') || res.status !== 200) return res;
      const body = await res.json();
      body.numberMatched = body.features.length + 5000;
      return new Response(JSON.stringify(body), { status: 200, headers: res.headers });
    };
    window.restoreFetch = () => { window.fetch = real; };
  });
  await page.select('#kind', 'day_care');
  await page.waitForFunction(() => !document.querySelector('#partial-note').hidden);
  const note = await page.$eval('#partial-note', (e) => e.textContent);
  check('a partial layer says how much of it is drawn', note.includes('设施只显示了') && note.includes('/'), note);
  await page.evaluate(() => window.restoreFetch());
  await page.select('#kind', 'care_home');
  await page.waitForFunction(() => document.querySelector('#partial-note').hidden);

  // Changing the kind recolours the choropleth.
  await page.select('#kind', 'community_service');
  await page.waitForFunction(() => window.diming.state.coverage?.kind === 'community_service');
  await idle();
  const community = await rendered();
  const changed = Object.keys(community).filter((c) => community[c].ratio !== careHome[c].ratio);
  check('changing the kind recolours the choropleth', Object.values(community).every((t) => t.kind === 'community_service') && changed.length > 0, `changed: ${changed.length}`);
  await shot('02-planner-community-service');

  // Click a township on the map: its figures appear.
  await page.select('#kind', 'care_home');
  await page.waitForFunction(() => window.diming.state.coverage?.kind === 'care_home');
  await idle();
  const clickAt = async (lon, lat) => {
    const box = await (await page.$('#map')).boundingBox();
    const p = await page.evaluate((lon, lat) => { const q = window.diming.map.project([lon, lat]); return { x: q.x, y: q.y }; }, lon, lat);
    await page.mouse.click(box.x + p.x, box.y + p.y);
  };
  await clickAt(86.49, 44.16); // inside 乐土驿镇, away from its facilities
  await page.waitForFunction(() => !document.getElementById('township-detail').hidden);
  const detail = await page.$eval('#township-detail', (e) => e.innerText);
  check('clicking a township shows its figures', detail.includes('乐土驿镇') && detail.includes('覆盖率') && detail.includes('目标'), detail);
  await shot('03-township-figures');

  // Propose sites.
  await page.click('#propose');
  await page.waitForFunction(() => document.querySelectorAll('#sites li').length > 0 && !document.querySelector('#sites').innerText.includes('计算中'));
  const sites = await page.$eval('#sites', (e) => e.innerText);
  check('siting lists proposed sites with their gain', sites.includes('新增覆盖'), sites);
  await idle();
  const siteDots = await page.evaluate(() => window.diming.map.queryRenderedFeatures({ layers: ['sites'] }).length);
  check('proposed sites are drawn on the map', siteDots > 0, String(siteDots));
  await shot('04-siting');

  // What-if: drop a hypothetical care home where there is none.
  await page.click('#whatif-toggle');
  const before = await page.evaluate(() => window.diming.state.coverage.county.coverage_ratio);
  await clickAt(86.23, 43.93); // 塔西河乡, no care home
  await page.waitForFunction(() => !!window.diming.state.coverage.what_if);
  const after = await page.evaluate(() => window.diming.state.coverage.county.coverage_ratio);
  const status = await page.$eval('#whatif-status', (e) => e.innerText);
  check('what-if changes the numbers', after > before && status.includes('玛纳斯县覆盖率'), `${before} → ${after}: ${status}`);
  await shot('05-what-if');
  await page.click('#whatif-reset');
  await page.click('#whatif-toggle');
  await page.waitForFunction(() => !window.diming.state.coverage.what_if);

  // A viewer sees no edit controls.
  const login = async (user) => {
    await page.$eval('#login-user', (e) => { e.value = ''; });
    await page.type('#login-user', user);
    await page.type('#login-pass', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => !!window.diming.state.user);
  };
  await login(process.env.DIMING_VIEWER);
  check('a viewer sees no edit controls', await page.$eval('#editor', (e) => e.hidden));
  check('a viewer sees no webhook subscriptions', await page.$eval('#webhooks', (e) => e.hidden));
  await page.click('#tab-names');
  check('a viewer sees no name editing or review', (await page.$eval('#name-editor', (e) => e.hidden)) && (await page.$eval('#review', (e) => e.hidden)));
  await page.click('#tab-planner');
  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);

  // An editor adds a facility by clicking the map; the figures update without a reload.
  await login(process.env.DIMING_EDITOR);
  check('an editor sees the editing tools', !(await page.$eval('#editor', (e) => e.hidden)));
  await page.$eval('#radius', (e) => { e.value = '20'; });
  await page.click('#radius-apply');
  await page.waitForFunction(() => window.diming.state.coverage?.rule?.radius_m === 20000);
  const taxihe = () => page.evaluate(() => window.diming.state.coverage.townships.find((t) => t.code === '652324203').coverage_ratio);
  const taxiheBefore = await taxihe();
  const loads = await page.evaluate(() => window.diming.state.loads);
  await page.click('#add-facility');
  await clickAt(86.23, 43.93);
  await page.waitForFunction(() => !document.getElementById('facility-form').hidden);
  await page.type('#f-name', '塔西河乡敬老院（浏览器测试）');
  await page.type('#f-beds', '40');
  await page.select('#f-operator', 'public');
  check('the form offers the care-home attributes', !(await page.$eval('#f-care', (e) => e.hidden)) && (await page.$eval('#f-cemetery', (e) => e.hidden)));
  await page.type('#f-nursing', '12');
  await page.$eval('#f-medical', (e) => e.click());
  await shot('06-facility-form');
  await page.click('#f-save');
  await page.waitForFunction((n) => window.diming.state.loads > n, {}, loads);
  await idle();
  const added = await page.evaluate(() => window.diming.state.facilities.features.find((f) => f.properties.name === '塔西河乡敬老院（浏览器测试）'));
  check('the new facility is stored and drawn', !!added && added.properties.township_code === '652324203' && added.properties.nursing_beds === 12 && added.properties.medical_care === true, JSON.stringify(added?.properties));
  const taxiheAfter = await taxihe();
  check('the township figures update', taxiheAfter > taxiheBefore, `${taxiheBefore} → ${taxiheAfter}`);
  check('without a page reload', (await page.evaluate(() => window.__pageId)) === pageId);
  const row = await page.$eval('#townships tbody', (e) => e.innerText);
  check('the table shows the new figure', row.includes('塔西河乡'), row);
  await shot('07-after-add');

  // Edit it: the change reaches the server (version 2) and the history.
  await clickAt(86.23, 43.93);
  await page.waitForFunction(() => document.getElementById('form-title').innerText.startsWith('编辑'));
  await page.$eval('#f-beds', (e) => { e.value = ''; });
  await page.type('#f-beds', '60');
  const loads2 = await page.evaluate(() => window.diming.state.loads);
  await page.click('#f-save');
  await page.waitForFunction((n) => window.diming.state.loads > n, {}, loads2);
  const history = await page.evaluate(async (id) => (await (await fetch(`/api/v1/facilities/${id}/history`)).json()), added.id);
  check("an editor's change appears in the history", history.versions.length === 2 && history.versions[1].data.capacity_beds === 60, JSON.stringify(history.versions.map((v) => v.action)));
  await shot('08-after-edit');

  // The officer view: search, propose with live rule checks, history, approval.
  await page.click('#tab-names');
  await page.type('#name-q', '乐土驿');
  await page.click('#name-search');
  await page.waitForFunction(() => document.getElementById('name-results').dataset.q === '乐土驿');
  const first = await page.$eval('#name-results li', (e) => e.innerText);
  check('searching 乐土驿 finds 乐土驿镇', first.startsWith('乐土驿镇'), first);
  await page.$eval('#name-q', (e) => { e.value = ''; });
  await page.type('#name-q', 'ltyz');
  await page.click('#name-search');
  await page.waitForFunction(() => document.getElementById('name-results').dataset.q === 'ltyz' && document.querySelector('#name-results li')?.innerText.startsWith('乐土驿镇'));
  await page.click('#name-results li');
  await page.waitForFunction(() => document.querySelectorAll('#name-history li').length > 0);
  await page.click('#name-new');
  await page.type('#n-name', '维也纳小区');
  await page.select('#n-category', 'settlement');
  await page.select('#n-division', '652324100');
  await page.waitForFunction(() => document.getElementById('n-findings').innerText.includes('外国'));
  check('the live check refuses a foreign name', await page.$eval('#n-save', (e) => e.disabled));
  await shot('09-name-refused');
  await page.$eval('#n-name', (e) => { e.value = ''; });
  await page.select('#n-category', 'street');
  await page.type('#n-name', '凤鸣路');
  await page.waitForFunction(() => document.getElementById('n-findings').innerText.includes('符合命名规则') && document.getElementById('n-roman').value === 'Fengming Lu');
  await page.type('#n-origin', '取“凤鸣朝阳”之意');
  await page.click('#n-save');
  await page.waitForFunction(() => document.querySelector('#name-detail h3')?.innerText === '凤鸣路');
  const proposed = await page.$eval('#name-detail', (e) => e.innerText);
  check('an editor proposes a name', proposed.includes('待审批') && proposed.includes('Fengming Lu'), proposed);
  await page.evaluate(() => [...document.querySelectorAll('#name-actions button')].find((b) => b.innerText === '编辑').click());
  await page.$eval('#n-origin', (e) => { e.value = ''; });
  await page.type('#n-origin', '取“凤鸣朝阳”之意，寓意吉祥');
  await page.click('#n-save');
  await page.waitForFunction(() => document.querySelectorAll('#name-history li').length === 2);
  const hist = await page.$eval('#name-history', (e) => e.innerText);
  check("an editor's change appears in the history", hist.includes('申报') && hist.includes('修改') && hist.includes(process.env.DIMING_EDITOR), hist);
  await shot('10-name-history');
  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);
  await login(process.env.DIMING_APPROVER);
  await page.waitForFunction(() => !document.getElementById('review').hidden && document.querySelectorAll('#review-list li').length > 0);
  const queue = await page.$eval('#review-list', (e) => e.innerText);
  check('an approver sees the review queue', queue.includes('凤鸣路'), queue);
  await page.click('#review-list li');
  await page.waitForFunction(() => [...document.querySelectorAll('#name-actions button')].some((b) => b.innerText === '批准'));
  // One step in the page, so a re-render of the record cannot slip in between.
  await page.evaluate(() => {
    [...document.querySelectorAll('#name-actions button')].find((b) => b.innerText === '批准').click();
    document.getElementById('d-doc').value = '玛政函〔2026〕18号';
    document.getElementById('d-go').click();
  });
  await page.waitForFunction(() => document.getElementById('name-detail').innerText.includes('已批准'));
  await shot('11-name-approved');
  check('the approver approves it', (await page.$eval('#name-detail', (e) => e.innerText)).includes('玛政函〔2026〕18号'));

  // On a tablet the panel goes under the map; both stay usable.
  await page.evaluate(() => document.getElementById('tab-planner').click());
  await page.setViewport({ width: 820, height: 1180 });
  await page.evaluate(() => window.diming.map.resize());
  await idle();
  const mapBox = await (await page.$('#map')).boundingBox();
  const panelBox = await (await page.$('#panel')).boundingBox();
  check('on a tablet the map and the panel are both shown', mapBox.height > 300 && mapBox.width > 700 && panelBox.y >= mapBox.y + mapBox.height - 1, JSON.stringify({ mapBox, panelBox }));
  const tabletTowns = await rendered();
  check('on a tablet the townships still render', Object.keys(tabletTowns).length === 19, String(Object.keys(tabletTowns).length));
  await shot('12-tablet');

  // ---- Stored script injection: what editors and approvers type is shown as text. ----
  // The page is strict about it twice over: it builds DOM from data (web/dom.mjs), and
  // the server's CSP forbids inline script. The checks below look at the DOM, so they
  // would catch markup taking effect even where the CSP would stop it from running.
  await page.setViewport({ width: 1366, height: 860 });
  await page.evaluate(() => window.diming.map.resize());
  const X = {
    img: '<img src=x onerror="window.__xss=1">',
    script: '<script>window.__xss=2</script>',
    svg: '"><svg onload=window.__xss=3>',
    js: 'javascript:window.__xss=4',
    link: '<a href="javascript:window.__xss=5">点我</a>',
  };
  const facName = `${X.img}测试敬老院`;
  const facAddress = `${X.svg}${X.script}`;
  const placeName = '青松路';
  const placeOrigin = `${X.img}${X.script}取青松挺拔之意`;
  const placeHistoric = [X.svg, X.js];
  const placeAlternate = [X.link];
  const approvingBody = `${X.img}玛纳斯县人民政府`;
  const documentNo = `${X.svg}玛政函〔2026〕19号`;
  const at = [86.37, 44.27];
  // Nothing injected took effect anywhere in the document (popups and markers included).
  const noInjection = async (where) => {
    await new Promise((r) => setTimeout(r, 300)); // let a failed <img> fire its onerror
    const found = await page.evaluate(() => {
      const bad = [];
      if (window.__xss !== undefined) bad.push(`window.__xss=${window.__xss}`);
      if (document.querySelector('img[src="x"], img[src$="/x"]')) bad.push('img[src=x]');
      for (const s of document.querySelectorAll('svg')) if (s.closest('.maplibregl-popup, #panel, .maplibregl-marker') || s.hasAttribute('onload')) bad.push('injected svg');
      for (const s of document.querySelectorAll('script')) if (!s.src.endsWith('/app.mjs')) bad.push(`script ${s.src || s.textContent.slice(0, 40)}`);
      for (const a of document.querySelectorAll('a[href]')) if (/^\s*javascript:/i.test(a.getAttribute('href'))) bad.push('javascript: link');
      for (const el of document.querySelectorAll('*')) for (const attr of el.attributes) if (/^on/i.test(attr.name)) bad.push(`${el.localName}[${attr.name}]`);
      return bad;
    });
    check(`${where}: no injected markup took effect`, found.length === 0, found.join(', '));
  };
  const showsLiterally = async (selector, strings, where) => {
    const text = await page.$eval(selector, (e) => e.textContent);
    const missing = strings.filter((x) => !text.includes(x));
    check(`${where} shows the markup as text`, missing.length === 0, `missing ${JSON.stringify(missing)} in ${JSON.stringify(text)}`);
  };
  const call = (method, url, body, headers = {}) =>
    page.evaluate(async (method, url, body, headers) => {
      const res = await fetch(url, {
        method,
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': window.diming.state.csrf, ...headers },
        body: body === null ? undefined : JSON.stringify(body),
      });
      return { status: res.status, etag: res.headers.get('etag'), body: await res.json().catch(() => null) };
    }, method, url, body, headers);
  const openFacilityPopup = async () => {
    await page.evaluate(() => document.getElementById('tab-planner').click());
    await page.evaluate((c) => window.diming.map.jumpTo({ center: c, zoom: 13 }), at);
    await idle();
    await clickAt(...at);
    await page.waitForFunction(() => !!document.querySelector('.maplibregl-popup-content strong'));
  };
  const openRecord = async (listSelector) => {
    await page.evaluate((sel, name) => [...document.querySelectorAll(`${sel} li`)].find((li) => li.querySelector('strong')?.textContent === name).click(), listSelector, placeName);
    await page.waitForFunction((name) => document.querySelector('#name-detail h3')?.textContent === name && document.querySelectorAll('#name-history li').length > 0, {}, placeName);
  };
  const searchName = async () => {
    await page.evaluate(() => document.getElementById('tab-names').click());
    await page.$eval('#name-q', (e) => { e.value = ''; });
    await page.type('#name-q', placeName);
    await page.click('#name-search');
    await page.waitForFunction((name) => document.getElementById('name-results').dataset.q === name && [...document.querySelectorAll('#name-results li strong')].some((s) => s.textContent === name), {}, placeName);
  };

  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);
  await login(process.env.DIMING_EDITOR);
  const fac = await call('POST', '/api/v1/facilities', {
    name: facName, kind: 'care_home', lon: at[0], lat: at[1], capacity_beds: 20, operator: 'private', address: facAddress,
    attributes: { note: X.link, website: X.js },
  });
  check('an editor registers a facility whose name and address hold markup', fac.status === 201 || fac.status === 200, JSON.stringify(fac));
  const check0 = await call('POST', '/api/v1/places/check', { name: placeName, category: 'street', division_code: '652324100' });
  const place = await call('POST', '/api/v1/places', {
    name: placeName, category: 'street', division_code: '652324100',
    origin: placeOrigin, historic_names: placeHistoric, alternate_names: placeAlternate,
  });
  check('an editor proposes a name whose origin, historic and alternate names hold markup', place.status === 201 || place.status === 200, JSON.stringify({ check: check0.body, place }));
  await page.evaluate(() => window.diming.loadCoverage());
  await idle();

  // As the editor: the facility popup and the edit form on the map, the township detail and table.
  await openFacilityPopup();
  await showsLiterally('.maplibregl-popup-content', [facName, facAddress], "the facility popup (editor)");
  await page.waitForFunction(() => document.getElementById('form-title').textContent.startsWith('编辑'));
  await showsLiterally('#form-title', [facName], 'the facility form title');
  check('the facility form keeps the name as its value', (await page.$eval('#f-name', (e) => e.value)) === facName && (await page.$eval('#f-address', (e) => e.value)) === facAddress);
  await noInjection('the facility popup and form (editor)');
  await shot('13-xss-facility-popup');
  await page.keyboard.press('Escape');
  const town = await page.evaluate((name) => window.diming.state.facilities.features.find((f) => f.properties.name === name)?.properties.township_code, facName);
  check('the facility is drawn with its markup name kept as data', !!town, String(town));
  await page.evaluate((code) => document.querySelector(`#townships tbody tr[data-code="${code}"]`).click(), town);
  await page.waitForFunction(() => !document.getElementById('township-detail').hidden);
  await noInjection('the township detail and table (editor)');

  // The name search list and the record with its history.
  await searchName();
  await noInjection('the name search list (editor)');
  await openRecord('#name-results');
  await showsLiterally('#name-detail', [placeOrigin, ...placeHistoric, ...placeAlternate], 'the name record (editor)');
  await noInjection('the name record and history (editor)');
  await shot('14-xss-name-record');

  // As the approver: the review queue, the record, the approval form, the map.
  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);
  await login(process.env.DIMING_APPROVER);
  await page.evaluate(() => document.getElementById('tab-names').click());
  await page.waitForFunction((name) => !document.getElementById('review').hidden && [...document.querySelectorAll('#review-list li strong')].some((s) => s.textContent === name), {}, placeName);
  await noInjection('the review queue (approver)');
  await openRecord('#review-list');
  await showsLiterally('#name-detail', [placeOrigin, ...placeHistoric, ...placeAlternate], 'the name record (approver)');
  await noInjection('the name record (approver)');
  await page.waitForFunction(() => [...document.querySelectorAll('#name-actions button')].some((b) => b.innerText === '批准'));
  await page.evaluate((body, doc) => {
    [...document.querySelectorAll('#name-actions button')].find((b) => b.innerText === '批准').click();
    document.getElementById('d-body').value = body;
    document.getElementById('d-doc').value = doc;
    document.getElementById('d-go').click();
  }, approvingBody, documentNo);
  await page.waitForFunction(() => document.getElementById('name-detail').innerText.includes('已批准'));
  await showsLiterally('#name-detail', [approvingBody, documentNo, placeOrigin], 'the approved record (approver)');
  await noInjection('the approved record (approver)');
  await shot('15-xss-approved');
  await openFacilityPopup();
  await showsLiterally('.maplibregl-popup-content', [facName, facAddress], 'the facility popup (approver)');
  await noInjection('the facility popup (approver)');

  // And what the approver typed, as the editor sees it.
  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);
  await login(process.env.DIMING_EDITOR);
  await searchName();
  await openRecord('#name-results');
  await showsLiterally('#name-detail', [approvingBody, documentNo], "the approver's fields in the record (editor)");
  await noInjection('the approved record (editor)');

  // An administrator sees the webhook subscriptions and which one keeps failing.
  await page.click('#logout');
  await page.waitForFunction(() => !window.diming.state.user);
  await login(process.env.DIMING_ADMIN);
  await page.waitForFunction(() => document.querySelectorAll('#webhook-list li[data-id]').length >= 2);
  const hooks = await page.$eval('#webhook-list', (e) => e.innerText);
  check('an administrator sees each webhook subscription and its state', hooks.includes('投递持续失败') && hooks.includes('最近错误：HTTP 500') && hooks.includes('正常') && hooks.includes('https://platform.example.gov.cn/hooks/diming'), hooks);
  await noInjection('the webhook subscriptions (admin)');
  await page.$eval('#webhooks', (e) => e.scrollIntoView());
  await shot('16-webhooks-admin');

  const csp = mainResponse.headers()['content-security-policy'] || '';
  check('the page carries a strict Content-Security-Policy', /script-src 'self'/.test(csp) && /object-src 'none'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), csp || '(no content-security-policy header)');
  passed();
} catch (e) {
  await failed(e, page, path.join(artifacts, 'failure.png'));
} finally {
  await browser.close();
}
