// diming — the planners' coverage map and facility editing. No build step:
// plain ES modules, MapLibre GL JS vendored under vendor/ (scripts/vendor_web.sh).
import * as maplibregl from './vendor/maplibre-gl-6.17.0/maplibre-gl.mjs';
// Every server string reaches the DOM through h()/fill(): text nodes, never HTML.
import { h, fill, escapeHtml } from './dom.mjs';

// The closed vocabularies and their labels come from the server (GET /api/v1/page-config):
// the page repeats none of them. Filled before anything is drawn.
const KINDS = {};
const ROLES = {};
const OPERATORS = {};
const STATUS = {};
// Where a part of a record comes from: 示例数据 marks every synthetic part, and only those.
const SOURCE = {};
// Coverage ratio → colour (red: far below target, green: full).
const RAMP = [
  [0, '#d7301f', '低于 50%'],
  [0.5, '#fc8d59', '50%–70%'],
  [0.7, '#fdcc8a', '70%–90%'],
  [0.9, '#a6d96a', '90%–100%'],
  [1, '#1a9641', '100%'],
];

const $ = (id) => document.getElementById(id);
const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)}%`);
const num = (x) => (x == null ? '—' : Number(x).toLocaleString('zh-CN'));

const state = {
  kind: new URLSearchParams(location.search).get('kind') || 'care_home',
  radiusKm: null,
  xpcc: false,
  coverage: null, // the answer shown (real, or as-if)
  counties: [], // GET /api/v1/counties: every county-level unit of the registry
  area: null, // { code, level: 'county' | 'prefecture' | 'province', name }
  townships: null, // the choropleth's polygons: a county's townships, or a region's counties
  facilities: null,
  selected: null,
  user: null,
  csrf: null,
  whatIfOn: false,
  whatIf: { add: [], remove: [] },
  mode: null, // 'add' | 'move' | null
  editing: null, // the facility feature being edited
  loads: 0, // data reloads without a page reload (for tests)
};

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.method && options.method !== 'GET' && state.csrf) headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error(problemText(data) || res.statusText);
    err.status = res.status;
    err.problem = data;
    throw err;
  }
  return { data, headers: res.headers };
}

function problemText(p) {
  if (!p) return '';
  const fields = (p.errors || []).map((e) => `${e.field}：${e.message}`).join('；');
  return fields || p.detail || p.title || '';
}

// ---- map ------------------------------------------------------------------------
const map = new maplibregl.Map({
  container: 'map',
  style: {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }],
  },
  center: [86.2, 44.4],
  zoom: 7,
  attributionControl: { customAttribution: '行政区划示意（非标准地图）' },
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');

const empty = () => ({ type: 'FeatureCollection', features: [] });
let townLabels = [];
let siteLabels = [];

function fillColour() {
  const expr = ['step', ['get', 'coverage_ratio']];
  RAMP.forEach(([stop, colour], i) => {
    if (i === 0) expr.push(colour);
    else expr.push(stop, colour);
  });
  return ['case', ['==', ['get', 'coverage_ratio'], null], '#c9ced4', expr];
}

function fillTerms(target, terms) {
  for (const t of terms || []) target[t.value] = t.label;
}

async function loadPageConfig() {
  const { data } = await api('/api/v1/page-config');
  const v = data.vocabularies || {};
  fillTerms(KINDS, v.kinds);
  fillTerms(ROLES, v.roles);
  fillTerms(OPERATORS, v.operators);
  fillTerms(STATUS, v.facility_statuses);
  fillTerms(SOURCE, v.provenances);
  $('f-operator').replaceChildren(new Option('（未填）', ''), ...(v.operators || []).map((t) => new Option(t.label, t.value)));
  const b = data.basemap;
  if (!b) return;
  // MapLibre takes attribution as HTML: give it the configured text, escaped.
  map.addSource('basemap', { type: 'raster', tiles: [b.url], tileSize: 256, attribution: b.attribution ? escapeHtml(b.attribution) : '' });
  map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap' }, 'township-fill');
  map.setPaintProperty('township-fill', 'fill-opacity', 0.55);
  if (b.gcj02) {
    $('legend-ramp').append(h('li', { class: 'note' }, '底图为 GCJ-02（火星坐标）瓦片，与本系统 CGCS2000 数据约有数百米偏移，仅供参考。'));
  }
}

function addLayers() {
  for (const id of ['townships', 'county', 'facilities', 'gaps', 'sites', 'hypothetical']) {
    map.addSource(id, { type: 'geojson', data: empty() });
  }
  map.addLayer({ id: 'township-fill', type: 'fill', source: 'townships', paint: { 'fill-color': fillColour(), 'fill-opacity': 0.75 } });
  map.addLayer({ id: 'township-line', type: 'line', source: 'townships', paint: { 'line-color': '#ffffff', 'line-width': 1.2 } });
  map.addLayer({
    id: 'township-selected', type: 'line', source: 'townships', filter: ['==', ['get', 'code'], ''],
    paint: { 'line-color': '#0d47a1', 'line-width': 3 },
  });
  map.addLayer({ id: 'county-line', type: 'line', source: 'county', paint: { 'line-color': '#37474f', 'line-width': 2 } });
  map.addLayer({
    id: 'gaps', type: 'circle', source: 'gaps',
    paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': '#c62828', 'circle-stroke-width': 2 },
  });
  map.addLayer({
    id: 'facilities', type: 'circle', source: 'facilities',
    paint: {
      'circle-radius': ['case', ['boolean', ['get', 'removed'], false], 4, 6],
      'circle-color': ['case', ['boolean', ['get', 'removed'], false], '#9e9e9e', ['==', ['get', 'status'], 'planned'], '#90caf9', '#1565c0'],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1.5,
    },
  });
  map.addLayer({
    id: 'hypothetical', type: 'circle', source: 'hypothetical',
    paint: { 'circle-radius': 7, 'circle-color': 'rgba(21,101,192,0.15)', 'circle-stroke-color': '#1565c0', 'circle-stroke-width': 2 },
  });
  map.addLayer({ id: 'sites', type: 'circle', source: 'sites', paint: { 'circle-radius': 7, 'circle-color': '#6a1b9a', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
}

// A prefecture or province holds more facilities and townships than the page can
// draw as GeoJSON: there they come as vector tiles of the registry (`/tiles/…`), the
// facilities of the kind from zoom 7 and each township's coverage from zoom 8; the
// counties' choropleth stays GeoJSON. A note says what waits for a closer zoom.
const TILE_LAYERS = ['coverage-town-fill', 'coverage-town-line', 'facility-tiles'];
const FACILITY_ZOOM = 7;
const TOWNSHIP_ZOOM = 8;
const tileUrl = (layer, q) => `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt?${q}`;

function setRegionTiles() {
  const cq = new URLSearchParams({ kind: state.kind });
  if (state.radiusKm) cq.set('radius_m', String(Math.round(state.radiusKm * 1000)));
  if (state.xpcc) cq.set('include_xpcc', 'true');
  const fq = new URLSearchParams({ kind: state.kind, status: 'open,planned' });
  const want = isCounty() ? null : `${cq}|${fq}`;
  if (state.tiles === want) return renderTilesNote();
  for (const id of TILE_LAYERS) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of ['coverage-tiles', 'facility-tiles']) if (map.getSource(id)) map.removeSource(id);
  state.tiles = want;
  if (want) {
    map.addSource('coverage-tiles', { type: 'vector', tiles: [tileUrl('coverage', cq)], minzoom: TOWNSHIP_ZOOM, maxzoom: 12 });
    map.addSource('facility-tiles', { type: 'vector', tiles: [tileUrl('facilities', fq)], minzoom: FACILITY_ZOOM, maxzoom: 14 });
    const opacity = map.getPaintProperty('township-fill', 'fill-opacity');
    map.addLayer({ id: 'coverage-town-fill', type: 'fill', source: 'coverage-tiles', 'source-layer': 'coverage', minzoom: TOWNSHIP_ZOOM, paint: { 'fill-color': fillColour(), 'fill-opacity': opacity } }, 'township-line');
    map.addLayer({ id: 'coverage-town-line', type: 'line', source: 'coverage-tiles', 'source-layer': 'coverage', minzoom: TOWNSHIP_ZOOM, paint: { 'line-color': '#ffffff', 'line-width': 0.8 } }, 'county-line');
    map.addLayer({
      id: 'facility-tiles', type: 'circle', source: 'facility-tiles', 'source-layer': 'facilities', minzoom: FACILITY_ZOOM,
      paint: { 'circle-radius': 5, 'circle-color': ['case', ['==', ['get', 'status'], 'planned'], '#90caf9', '#1565c0'], 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 },
    }, 'hypothetical');
    if (!state.tileCursor) {
      state.tileCursor = true;
      map.on('mouseenter', 'facility-tiles', () => { if (!state.mode) map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', 'facility-tiles', () => { if (!state.mode) map.getCanvas().style.cursor = ''; });
    }
  }
  renderTilesNote();
}

function renderTilesNote() {
  const el = $('tiles-note');
  const z = map.getZoom();
  const waiting = isCounty() ? [] : [z < FACILITY_ZOOM && `${KINDS[state.kind] || state.kind}点位（第 ${FACILITY_ZOOM} 级起）`, z < TOWNSHIP_ZOOM && `各乡镇覆盖（第 ${TOWNSHIP_ZOOM} 级起）`].filter(Boolean);
  el.hidden = waiting.length === 0;
  el.textContent = waiting.length ? `放大地图可显示${waiting.join('、')}。(zoom in for facility points and township coverage)` : '';
}

function setData(id, data) {
  const src = map.getSource(id);
  if (src) src.setData(data);
}

// ---- data -----------------------------------------------------------------------
// ---- the area shown ------------------------------------------------------------------
const LEVEL_OF = { 2: 'province', 4: 'prefecture', 6: 'county' };
const isCounty = () => state.area?.level === 'county';

// The name of an area code among the registry's counties (a prefecture or province
// is named by its counties' records).
function areaName(code) {
  for (const c of state.counties) {
    if (c.code === code) return c.name;
    if (c.prefecture_code === code) return c.prefecture_name || code;
    if (c.province_code === code) return c.province_name || code;
  }
  return code;
}

function areaOf(code) {
  return { code, level: LEVEL_OF[code.length], name: areaName(code) };
}

// The counties inside the area.
const countiesIn = (code) => state.counties.filter((c) => c.code.startsWith(code));

// What the page opens on: the area of `#region=CODE`, else the one county, else the
// smallest prefecture or province holding them all, else the first province.
function defaultArea() {
  const codes = state.counties.map((c) => c.code);
  const asked = new URLSearchParams(location.hash.slice(1)).get('region');
  if (asked && /^(\d{2}|\d{4}|\d{6})$/.test(asked) && codes.some((c) => c.startsWith(asked))) return areaOf(asked);
  if (codes.length === 1) return areaOf(codes[0]);
  for (const len of [4, 2]) {
    const head = codes[0]?.slice(0, len);
    if (head && codes.every((c) => c.startsWith(head))) return areaOf(head);
  }
  return codes.length ? areaOf(codes[0].slice(0, 2)) : null;
}

async function loadCounties() {
  const { data } = await api('/api/v1/counties');
  state.counties = data.counties;
  state.area = defaultArea();
  renderPicker();
}

function option(value, label) {
  return new Option(label, value);
}

// Province → prefecture → county, each list narrowed by the level above.
function renderPicker() {
  const picker = $('region-picker');
  picker.hidden = state.counties.length <= 1;
  if (picker.hidden || !state.area) return;
  const code = state.area.code;
  const uniq = (pairs) => [...new Map(pairs.filter(([c]) => c)).entries()];
  const provinces = uniq(state.counties.map((c) => [c.province_code || c.code.slice(0, 2), c.province_name || c.code.slice(0, 2)]));
  const prov = code.slice(0, 2);
  const prefectures = uniq(countiesIn(prov).map((c) => [c.prefecture_code || c.code.slice(0, 4), c.prefecture_name || c.code.slice(0, 4)]));
  const pref = code.length >= 4 ? code.slice(0, 4) : '';
  const counties = pref ? countiesIn(pref) : [];
  $('region-province').replaceChildren(...provinces.map(([c, n]) => option(c, n)));
  $('region-province').value = prov;
  $('region-prefecture').replaceChildren(option('', '（全省）'), ...prefectures.map(([c, n]) => option(c, n)));
  $('region-prefecture').value = pref;
  $('region-county').replaceChildren(option('', pref ? '（全州/市）' : '—'), ...counties.map((c) => option(c.code, c.name)));
  $('region-county').value = code.length === 6 ? code : '';
  $('region-county').disabled = !pref;
  $('region-options').replaceChildren(
    ...state.counties.map((c) => option(`${c.code} ${c.name}`, [c.province_name, c.prefecture_name].filter(Boolean).join(' · '))),
  );
}

async function chooseArea(code) {
  if (!code || code === state.area?.code) return;
  state.area = areaOf(code);
  state.selected = null;
  state.whatIf = { add: [], remove: [] };
  $('whatif-status').textContent = '';
  history.replaceState(null, '', `#region=${code}`);
  renderPicker();
  await loadTownships();
  await loadCoverage();
}

// `呼图壁`, `652323`, `652323 呼图壁县` or a prefecture's or province's name or code.
function findArea(text) {
  const t = text.trim();
  if (!t) return null;
  const head = t.split(/\s+/)[0];
  if (/^(\d{2}|\d{4}|\d{6})$/.test(head) && state.counties.some((c) => c.code.startsWith(head))) return head;
  const c = state.counties.find((x) => x.name.includes(t));
  if (c) return c.code;
  const p = state.counties.find((x) => x.prefecture_name?.includes(t));
  if (p) return p.prefecture_code || p.code.slice(0, 4);
  const v = state.counties.find((x) => x.province_name?.includes(t));
  return v ? v.province_code || v.code.slice(0, 2) : null;
}

// Which layers are sample data in the area shown: the badge and the note say so,
// and only there.
// A layer drawn from a page of its features says so when it holds more: the map never
// shows a part as if it were the whole.
const partial = new Map();
function notePartial(layer, data) {
  const matched = data?.numberMatched;
  const shown = data?.features?.length ?? 0;
  if (typeof matched === 'number' && matched > shown) partial.set(layer, `${layer}只显示了 ${num(shown)} / ${num(matched)} 个`);
  else partial.delete(layer);
  const el = $('partial-note');
  el.hidden = partial.size === 0;
  el.textContent = partial.size ? `地图未画全：${[...partial.values()].join('；')}。请选择地区或放大查看。(partial layers)` : '';
}

function renderSampleLabels() {
  const s = { township_boundaries: false, village_points: false, populations: false, facilities: false };
  for (const c of countiesIn(state.area?.code || '')) for (const k of Object.keys(s)) s[k] ||= !!c.sample_data?.[k];
  const parts = [
    s.township_boundaries && '乡镇边界',
    s.village_points && '村（社区）位置',
    s.populations && '人口',
    s.facilities && '设施',
  ].filter(Boolean);
  $('sample-badge').hidden = parts.length === 0;
  $('sample-badge').title = `${parts.join('、')}为合成数据，仅供演示 (synthetic sample data)`;
  $('sample-note').hidden = parts.length === 0;
  $('sample-note').textContent = `示例数据：${parts.join('、')}为合成数据（provenance: synthetic）；区划代码、名称与县界为公开数据。`;
}

function renderTitles() {
  const name = state.area?.name || '';
  $('area-title').textContent = `${name}民政设施覆盖`;
  document.title = `地名 diming · ${name}民政设施覆盖`;
  $('units-title').textContent = isCounty() ? `${name}各乡镇覆盖情况` : `${name}各县（市、区）覆盖情况`;
  $('units-heading').textContent = isCounty() ? '乡镇' : '县（市、区）';
  $('county-only').hidden = isCounty();
  for (const el of document.querySelectorAll('.county-tools')) el.hidden = !isCounty();
  if (!isCounty()) $('editor').hidden = true;
  else $('editor').hidden = !canEdit();
}

function areaParam(q) {
  if (!state.area) return q;
  q.set(isCounty() ? 'county' : 'region', state.area.code);
  return q;
}

function coverageQuery() {
  const q = areaParam(new URLSearchParams({ kind: state.kind }));
  if (state.radiusKm) q.set('radius_m', String(Math.round(state.radiusKm * 1000)));
  if (state.xpcc) q.set('include_xpcc', 'true');
  return q;
}

// The choropleth's polygons: a county's townships, or the counties of a prefecture
// or province; and the outline(s) drawn over them.
async function loadTownships() {
  const code = state.area?.code;
  const q = (level) => `/api/v1/divisions?${new URLSearchParams({ level, limit: '10000', ...(code ? { region: code } : {}) })}`;
  const [{ data: towns }, { data: county }] = await Promise.all([
    api(q(isCounty() || !code ? 'township' : 'county')),
    api(q('county')),
  ]);
  state.townships = towns;
  notePartial(isCounty() || !code ? '乡镇' : '县（市、区）', towns);
  notePartial('县界', county);
  setData('county', county);
  renderTitles();
  renderSampleLabels();
  const b = new maplibregl.LngLatBounds();
  for (const f of county.features) for (const poly of f.geometry?.coordinates || []) for (const p of poly[0]) b.extend(p);
  if (!b.isEmpty()) map.fitBounds(b, { padding: 24, duration: 0 });
  townLabels.forEach((m) => m.remove());
  townLabels = towns.features.filter((f) => f.geometry).map((f) => {
    const el = h('div', { class: 'town-label' }, f.properties.name);
    return new maplibregl.Marker({ element: el }).setLngLat(f.properties.seat || centroid(f)).addTo(map);
  });
}

function centroid(f) {
  const ring = f.geometry.coordinates[0][0];
  const s = ring.reduce((a, p) => [a[0] + p[0], a[1] + p[1]], [0, 0]);
  return [s[0] / ring.length, s[1] / ring.length];
}

function clearSites() {
  setData('sites', empty());
  siteLabels.forEach((m) => m.remove());
  siteLabels = [];
  $('sites').replaceChildren();
}

async function loadCoverage() {
  // Proposed sites answer the previous question (or data): drop them.
  clearSites();
  const q = coverageQuery();
  // A prefecture or province is shown per county: its points wait for a drill-down.
  const none = Promise.resolve({ data: empty() });
  const facilities = areaParam(new URLSearchParams({ kind: state.kind, status: 'open,planned', limit: '10000' }));
  const [{ data: cov }, { data: gaps }, { data: facs }] = await Promise.all([
    api(`/api/v1/coverage?${q}`),
    isCounty() ? api(`/api/v1/coverage/gaps?${q}`) : none,
    isCounty() ? api(`/api/v1/facilities?${facilities}`) : none,
  ]);
  state.facilities = facs;
  setRegionTiles();
  notePartial('设施', facs);
  notePartial('未覆盖居民点', gaps);
  state.realCoverage = cov;
  state.loads += 1;
  state.lastGaps = gaps;
  if (state.whatIf.add.length || state.whatIf.remove.length) {
    await runWhatIf();
  } else {
    state.coverage = cov;
    render();
  }
}

async function runWhatIf() {
  const body = { kind: state.kind, include_xpcc: state.xpcc, add: state.whatIf.add, remove: state.whatIf.remove };
  if (state.area) body[isCounty() ? 'county' : 'region'] = state.area.code;
  if (state.radiusKm) body.radius_m = state.radiusKm * 1000;
  try {
    const { data } = await api('/api/v1/coverage/what-if', { method: 'POST', body });
    state.coverage = data;
    const changed = data.what_if.townships_changed.map((t) => `${t.name} ${pct(t.coverage_ratio_before)}→${pct(t.coverage_ratio_after)}`);
    $('whatif-status').textContent =
      `假设新增 ${state.whatIf.add.length} 处、撤除 ${state.whatIf.remove.length} 处：${state.area?.name || '全县'}覆盖率 ${pct(data.what_if.county_before.coverage_ratio)} → ${pct(data.county.coverage_ratio)}` +
      (changed.length ? `；变化：${changed.join('，')}` : '；各乡镇无变化');
  } catch (e) {
    $('whatif-status').textContent = `假设分析失败：${e.message}`;
  }
  render();
}

// ---- rendering --------------------------------------------------------------------
function render() {
  const cov = state.coverage;
  if (!cov || !state.townships) return;
  const byCode = new Map(units(cov).map((t) => [t.code, t]));
  setData('townships', {
    type: 'FeatureCollection',
    features: state.townships.features.map((f) => {
      const t = byCode.get(f.properties.code);
      return {
        ...f,
        properties: {
          ...f.properties,
          coverage_ratio: t ? t.coverage_ratio : null,
          meets_target: t ? t.meets_target : null,
          kind: cov.kind,
        },
      };
    }),
  });
  const removed = new Set(state.whatIf.remove);
  setData('facilities', {
    type: 'FeatureCollection',
    features: (state.facilities?.features || []).map((f) => ({ ...f, properties: { ...f.properties, removed: removed.has(f.id) } })),
  });
  setData('hypothetical', {
    type: 'FeatureCollection',
    features: state.whatIf.add.map((a, i) => ({ type: 'Feature', id: i, geometry: { type: 'Point', coordinates: [a.lon, a.lat] }, properties: {} })),
  });
  // Uncovered settlements: as the (possibly as-if) answer says.
  const uncovered = new Set(cov.townships.flatMap((t) => t.uncovered));
  const gaps = state.lastGaps || empty();
  setData('gaps', { ...gaps, features: gaps.features.filter((f) => uncovered.has(f.properties.code)) });
  renderRule(cov);
  renderSummary(cov);
  renderTable(cov);
  renderDetail();
}

// The rows of the choropleth and the table: a county's townships, or a region's counties.
function units(cov) {
  return isCounty() || !state.area ? cov.townships : cov.counties || [];
}

function renderRule(cov) {
  const r = cov.rule;
  const how = r.type === 'distance' ? `${(r.radius_m / 1000).toFixed(1)} 公里内有设施即为覆盖` : r.type === 'presence' ? (r.scope === 'village' ? '本村（社区）有设施即为覆盖' : '本乡镇有设施即为覆盖') : `每千名${r.per === 'elderly' ? '老年人' : '居民'} ${r.beds_per_1000} 张床位`;
  $('rule-text').textContent = `规则：${r.label}（${how}，目标 ${pct(r.target)}）。依据：${r.plan}`;
}

function renderSummary(cov) {
  const c = cov.county;
  fill(
    $('county-summary'),
    h('div', null, `${state.area?.name || '全县'}${KINDS[cov.kind] || cov.kind}覆盖率`, cov.what_if && h('span', { class: 'asif' }, '（假设）')),
    h('div', { class: 'big', id: 'county-ratio' }, pct(c.coverage_ratio)),
    h('div', null, `覆盖人口 ${num(c.population_covered)} / ${num(c.population)}；达标乡镇 ${c.townships_meeting_target} / ${c.townships}`),
    !isCounty() && cov.counties && h('div', null, `达标县（市、区） ${cov.counties.filter((x) => x.meets_target).length} / ${cov.counties.length}`),
    cov.synthetic_data && h('div', { class: 'hint' }, '含示例数据（合成）'),
  );
}

function renderTable(cov) {
  const tbody = $('townships').querySelector('tbody');
  tbody.replaceChildren(
    ...units(cov).map((t) =>
      h(
        'tr',
        {
          tabIndex: 0,
          dataset: { code: t.code },
          class: t.code === state.selected && 'selected',
          onclick: () => selectTownship(t.code),
          onkeydown: (e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              selectTownship(t.code);
            }
          },
        },
        h('td', null, t.name),
        h('td', null, pct(t.coverage_ratio)),
        h('td', null, pct(t.target)),
        h('td', { class: t.meets_target ? 'yes' : 'no' }, t.meets_target ? '达标' : '未达标'),
      ),
    ),
  );
}

function selectTownship(code) {
  // In a prefecture or province, choosing a county drills down to it.
  if (code && !isCounty()) {
    chooseArea(code);
    return;
  }
  state.selected = code;
  map.setFilter('township-selected', ['==', ['get', 'code'], code || '']);
  renderTable(state.coverage);
  renderDetail();
}

function renderDetail() {
  const box = $('township-detail');
  const t = state.coverage?.townships.find((x) => x.code === state.selected);
  if (!t) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const unit = state.coverage.population_unit === 'residents_60plus' ? '老年人口' : '人口';
  const row = (label, value, attrs = null) => [h('dt', null, label), h('dd', attrs, value)];
  fill(
    box,
    h('h3', null, t.name, ' ', h('small', null, t.code), t.is_xpcc ? '（兵团）' : ''),
    h(
      'dl',
      null,
      row('居民点', `${t.settlements}（已覆盖 ${t.settlements_covered}）`),
      row(unit, num(t.population)),
      row(`已覆盖${unit}`, num(t.population_covered)),
      row('覆盖率', `${pct(t.coverage_ratio)}${state.coverage.what_if ? '（假设）' : ''}`, { id: 'detail-ratio' }),
      row('目标', pct(t.target)),
      row('是否达标', t.meets_target ? '达标' : '未达标', { class: t.meets_target ? 'yes' : 'no' }),
      row('本乡镇设施', `${t.facilities}${t.beds != null ? `，床位 ${t.beds}（需 ${t.beds_required}）` : ''}`),
      row('未覆盖', t.uncovered.length ? `${t.uncovered.length} 个居民点` : '无'),
    ),
  );
}

function renderLegend() {
  // Colours through CSSOM (el.style), which the CSP allows; style="…" it would not.
  const swatch = (colour) => h('span', { class: 'swatch', style: { background: colour } });
  fill(
    $('legend-ramp'),
    RAMP.map(([, colour, label]) => h('li', null, swatch(colour), ` 覆盖率 ${label}`)),
    h('li', null, swatch('#c9ced4'), ' 不计入（兵团单位等）'),
  );
}

// ---- siting -------------------------------------------------------------------------
async function propose() {
  const q = coverageQuery();
  q.set('count', $('site-count').value || '3');
  fill($('sites'), h('li', null, '计算中……'));
  try {
    const { data } = await api(`/api/v1/coverage/siting?${q}`);
    siteLabels.forEach((m) => m.remove());
    setData('sites', {
      type: 'FeatureCollection',
      features: data.picks.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { rank: p.rank, gain: p.gain_population } })),
    });
    siteLabels = data.picks.map((p) => {
      const el = h('div', { class: 'site-label' }, `#${p.rank} +${num(p.gain_population)}人`);
      return new maplibregl.Marker({ element: el, offset: [0, -16] }).setLngLat([p.lon, p.lat]).addTo(map);
    });
    fill(
      $('sites'),
      data.picks.length
        ? data.picks.map((p) =>
            h('li', null, `${p.township_name || '—'}（${p.lon.toFixed(4)}, ${p.lat.toFixed(4)}）：新增覆盖 ${num(p.gain_population)} 人、${p.gain_settlements} 个居民点，全县覆盖率升至 ${pct(p.county_coverage_ratio_after)}`),
          )
        : h('li', null, '已全部覆盖，无需新增。'),
    );
  } catch (e) {
    fill($('sites'), h('li', { class: 'error' }, `无法选址：${e.message}`));
  }
}

// ---- accounts -----------------------------------------------------------------------
function canEdit() {
  return state.user && ['editor', 'approver', 'admin'].includes(state.user.role);
}

function renderAccount() {
  const logged = !!state.user;
  $('login-form').hidden = logged;
  $('user-info').hidden = !logged;
  if (logged) {
    $('user-name').textContent = state.user.display_name;
    $('user-role').textContent = ROLES[state.user.role] || state.user.role;
  }
  $('editor').hidden = !canEdit() || !isCounty();
  if (!canEdit()) closeForm();
  $('webhooks').hidden = !isAdmin();
  if (isAdmin()) loadWebhooks();
  if (!$('view-names').hidden) refreshNamesView();
}

function isAdmin() {
  return state.user?.role === 'admin';
}

const HOOK_STATUS = { active: '正常', failing: '投递持续失败', disabled: '已停用' };

// Each subscription as text: its state, URL and where its deliveries stand.
async function loadWebhooks() {
  let hooks;
  try {
    ({ data: { webhooks: hooks } } = await api('/api/v1/webhooks'));
  } catch (e) {
    fill($('webhook-list'), h('li', { class: 'error' }, `无法读取订阅：${problemText(e.problem || {})}`));
    return;
  }
  const item = (w) => h(
    'li',
    { class: `hook-${w.status}`, dataset: { id: w.id } },
    h('strong', null, HOOK_STATUS[w.status] || w.status),
    ' ',
    w.url,
    h('br'),
    h(
      'span',
      { class: 'meta' },
      [
        `#${w.id} · 已投递至变更 ${w.delivered_through}`,
        w.layers.length ? ` · 图层 ${w.layers.join('、')}` : '',
        w.counties.length ? ` · 县 ${w.counties.join('、')}` : '',
        w.failing_since ? ` · 自 ${w.failing_since} 起失败 ${w.attempts} 次` : '',
        w.last_error ? ` · 最近错误：${w.last_error}` : '',
      ].join(''),
    ),
  );
  fill($('webhook-list'), hooks.length ? hooks.map(item) : h('li', null, '暂无订阅。'));
}

async function restoreSession() {
  try {
    const { data } = await api('/api/v1/session');
    state.user = data.user || null;
    state.csrf = data.csrf_token || null;
  } catch {
    state.user = null;
  }
  renderAccount();
}

// ---- facility editing ---------------------------------------------------------------
function openForm(feature, lngLat) {
  state.editing = feature || null;
  const p = feature ? feature.properties : {};
  $('facility-form').hidden = false;
  $('form-title').textContent = feature ? `编辑：${p.name}` : '新增设施';
  $('f-name').value = p.name || '';
  $('f-kind').value = p.kind || state.kind;
  $('f-kind').disabled = !!feature;
  $('f-beds').value = p.capacity_beds ?? '';
  $('f-operator').value = p.operator || '';
  $('f-status').value = p.status === 'planned' ? 'planned' : 'open';
  $('f-nursing').value = p.nursing_beds ?? '';
  $('f-medical').checked = !!p.medical_care;
  $('f-cemtype').value = p.cemetery_type || '';
  $('f-plots').value = p.plots_total ?? '';
  $('f-plots-free').value = p.plots_free ?? '';
  $('f-level').value = p.facility_level || '';
  $('f-address').value = p.address || '';
  $('f-opened').value = p.opened_on || '';
  showKindFields();
  $('f-error').textContent = '';
  $('f-move').hidden = !feature;
  $('close-box').hidden = !feature;
  const at = lngLat || (feature && feature.geometry.coordinates);
  state.formAt = at ? [Number(at[0]), Number(at[1])] : null;
  $('f-where').textContent = at ? `位置：${state.formAt[0].toFixed(5)}, ${state.formAt[1].toFixed(5)}${p.township_name ? `（${p.township_name}）` : ''}` : '';
  $('f-name').focus();
}

function showKindFields() {
  const kind = $('f-kind').value;
  $('f-care').hidden = !['care_home', 'day_care'].includes(kind);
  $('f-cemetery').hidden = kind !== 'cemetery';
  $('f-community').hidden = kind !== 'community_service';
}

function kindAttributes() {
  const kind = $('f-kind').value;
  const n = (id) => ($(id).value === '' ? undefined : Number($(id).value));
  const a = {};
  if (['care_home', 'day_care'].includes(kind)) Object.assign(a, { nursing_beds: n('f-nursing'), medical_care: $('f-medical').checked });
  if (kind === 'cemetery') Object.assign(a, { cemetery_type: $('f-cemtype').value || undefined, plots_total: n('f-plots'), plots_free: n('f-plots-free') });
  if (kind === 'community_service') a.facility_level = $('f-level').value || undefined;
  for (const k of Object.keys(a)) if (a[k] === undefined) delete a[k];
  return a;
}

function closeForm() {
  if (popup) popup.remove();
  $('facility-form').hidden = true;
  state.editing = null;
  setMode(null);
}

function setMode(mode) {
  state.mode = mode;
  $('add-facility').setAttribute('aria-pressed', String(mode === 'add'));
  map.getCanvas().style.cursor = mode ? 'crosshair' : '';
  $('editor-hint').textContent = mode === 'add' ? '点击地图选择新设施的位置。' : mode === 'move' ? '点击地图选择新位置。' : '点击地图上的设施可编辑、移动或关闭。';
}

async function saveFacility(ev) {
  ev.preventDefault();
  const body = {
    name: $('f-name').value.trim(),
    capacity_beds: $('f-beds').value === '' ? undefined : Number($('f-beds').value),
    operator: $('f-operator').value || undefined,
    status: $('f-status').value,
    address: $('f-address').value.trim() || undefined,
    opened_on: $('f-opened').value || undefined,
    attributes: kindAttributes(),
  };
  try {
    if (state.editing) {
      const f = state.editing;
      if (state.formAt) Object.assign(body, { lon: state.formAt[0], lat: state.formAt[1] });
      await api(`/api/v1/facilities/${encodeURIComponent(f.id)}`, { method: 'PATCH', body, headers: { 'if-match': `"${f.properties.version}"` } });
    } else {
      Object.assign(body, { kind: $('f-kind').value, lon: state.formAt[0], lat: state.formAt[1] });
      await api('/api/v1/facilities', { method: 'POST', body });
    }
    closeForm();
    await loadCoverage();
  } catch (e) {
    $('f-error').textContent = e.status === 412 ? '该设施已被他人修改，请重新打开后再编辑。' : `保存失败：${e.message}`;
  }
}

async function closeFacility() {
  const f = state.editing;
  const reason = $('f-close-reason').value.trim();
  if (!reason) {
    $('f-error').textContent = '请填写关闭原因。';
    return;
  }
  try {
    await api(`/api/v1/facilities/${encodeURIComponent(f.id)}/close`, { method: 'POST', body: { reason }, headers: { 'if-match': `"${f.properties.version}"` } });
    closeForm();
    await loadCoverage();
  } catch (e) {
    $('f-error').textContent = `关闭失败：${e.message}`;
  }
}

let popup = null;
function facilityPopup(f, lngLat) {
  if (popup) popup.remove();
  const p = f.properties;
  const content = h(
    'div',
    { class: 'facility-popup' },
    h('strong', null, p.name),
    h('br'),
    `${p.kind_label || KINDS[p.kind] || p.kind} · ${STATUS[p.status] || p.status}`,
    h('br'),
    `${p.township_name || ''}${p.capacity_beds != null ? ` · 床位 ${p.capacity_beds}` : ''}${p.operator ? ` · ${OPERATORS[p.operator] || p.operator}` : ''}`,
    p.address && [h('br'), `地址：${p.address}`],
    p.provenance === 'synthetic' && [h('br'), h('em', null, '示例数据（合成）')],
  );
  popup = new maplibregl.Popup({ closeButton: true }).setLngLat(lngLat).setDOMContent(content).addTo(map);
}

// ---- events -------------------------------------------------------------------------
function wire() {
  const kindSel = $('kind');
  kindSel.replaceChildren(...Object.entries(KINDS).map(([k, label]) => new Option(label, k)));
  kindSel.value = state.kind;
  $('f-kind').replaceChildren(...Object.entries(KINDS).map(([k, label]) => new Option(label, k)));
  kindSel.addEventListener('change', async () => {
    state.kind = kindSel.value;
    state.whatIf = { add: [], remove: [] };
    $('whatif-status').textContent = '';
    await loadCoverage();
  });
  $('radius-apply').addEventListener('click', async () => {
    const v = parseFloat($('radius').value);
    state.radiusKm = Number.isFinite(v) && v > 0 ? v : null;
    await loadCoverage();
  });
  $('xpcc').addEventListener('change', async () => {
    state.xpcc = $('xpcc').checked;
    await loadCoverage();
  });
  $('propose').addEventListener('click', propose);
  $('region-province').addEventListener('change', (e) => chooseArea(e.target.value));
  $('region-prefecture').addEventListener('change', (e) => chooseArea(e.target.value || $('region-province').value));
  $('region-county').addEventListener('change', (e) => chooseArea(e.target.value || $('region-prefecture').value));
  const go = () => {
    const code = findArea($('region-search').value);
    $('region-error').textContent = code ? '' : '没有找到该地区（请输入名称或 2、4、6 位代码）';
    if (code) chooseArea(code);
  };
  $('region-go').addEventListener('click', go);
  $('region-search').addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
  $('region-search').addEventListener('change', go);
  $('whatif-toggle').addEventListener('click', () => {
    state.whatIfOn = !state.whatIfOn;
    $('whatif-toggle').setAttribute('aria-pressed', String(state.whatIfOn));
    $('whatif-toggle').textContent = state.whatIfOn ? '结束假设分析' : '开启假设分析';
    if (state.whatIfOn) setMode(null);
  });
  $('whatif-reset').addEventListener('click', async () => {
    state.whatIf = { add: [], remove: [] };
    $('whatif-status').textContent = '';
    await loadCoverage();
  });
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const { data } = await api('/api/v1/session', { method: 'POST', body: { username: $('login-user').value, password: $('login-pass').value } });
      state.user = data.user;
      state.csrf = data.csrf_token;
      $('login-pass').value = '';
      renderAccount();
    } catch (err) {
      $('login-error').textContent = err.status === 401 ? '账号或密码错误' : `登录失败：${err.message}`;
    }
  });
  $('logout').addEventListener('click', async () => {
    await api('/api/v1/session', { method: 'DELETE' }).catch(() => {});
    state.user = null;
    state.csrf = null;
    renderAccount();
  });
  $('add-facility').addEventListener('click', () => {
    state.whatIfOn = false;
    $('whatif-toggle').setAttribute('aria-pressed', 'false');
    setMode(state.mode === 'add' ? null : 'add');
  });
  $('facility-form').addEventListener('submit', saveFacility);
  $('f-kind').addEventListener('change', showKindFields);
  $('f-cancel').addEventListener('click', closeForm);
  $('f-move').addEventListener('click', () => setMode('move'));
  $('f-close').addEventListener('click', closeFacility);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeForm();
  });

  map.on('click', async (e) => {
    const lngLat = [e.lngLat.lng, e.lngLat.lat];
    const hit = map.queryRenderedFeatures(e.point, { layers: ['facilities', ...(map.getLayer('facility-tiles') ? ['facility-tiles'] : [])] })[0];
    if (state.mode === 'add') {
      setMode(null);
      openForm(null, lngLat);
      return;
    }
    if (state.mode === 'move' && state.editing) {
      setMode(null);
      state.formAt = lngLat;
      $('f-where').textContent = `新位置：${lngLat[0].toFixed(5)}, ${lngLat[1].toFixed(5)}（保存后生效）`;
      return;
    }
    if (state.whatIfOn) {
      if (hit) {
        const id = hit.properties.id;
        state.whatIf.remove = state.whatIf.remove.includes(id) ? state.whatIf.remove.filter((x) => x !== id) : [...state.whatIf.remove, id];
      } else {
        state.whatIf.add.push({ lon: lngLat[0], lat: lngLat[1], name: `假设设施 ${state.whatIf.add.length + 1}` });
      }
      await runWhatIf();
      return;
    }
    if (hit) {
      const f = (state.facilities?.features || []).find((x) => x.id === hit.properties.id);
      facilityPopup(f || hit, lngLat);
      if (canEdit() && f) openForm(f);
      return;
    }
    const town = map.queryRenderedFeatures(e.point, { layers: ['township-fill'] })[0];
    selectTownship(town ? town.properties.code : null);
  });
  map.on('zoomend', renderTilesNote);
  for (const layer of ['facilities', 'township-fill']) {
    map.on('mouseenter', layer, () => { if (!state.mode) map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, () => { if (!state.mode) map.getCanvas().style.cursor = ''; });
  }
}

const ready = new Promise((resolve, reject) => {
  map.on('load', async () => {
    try {
      addLayers();
      renderLegend();
      await loadPageConfig();
      wire();
      await loadCounties();
      await Promise.all([loadTownships(), restoreSession()]);
      await loadCoverage();
      await window.diming.wireNames();
      map.once('idle', () => resolve(true));
      map.triggerRepaint();
    } catch (e) {
      console.error(e);
      reject(e);
    }
  });
});

// For the browser tests and for people poking at the page from the console.
window.diming = { map, state, ready, loadCoverage, chooseArea };

// ---- officer view: place names -------------------------------------------------------
const names = { categories: [], current: null, editing: null, mode: null, romanTouched: false, checkTimer: null };

function canApprove() {
  return state.user && ['approver', 'admin'].includes(state.user.role);
}

function showTab(which) {
  const planner = which === 'planner';
  $('tab-planner').setAttribute('aria-selected', String(planner));
  $('tab-names').setAttribute('aria-selected', String(!planner));
  $('view-planner').hidden = !planner;
  $('view-names').hidden = planner;
  if (!planner) refreshNamesView();
}

function refreshNamesView() {
  $('name-editor').hidden = !canEdit();
  $('review').hidden = !canApprove();
  if (canApprove()) loadReview();
  if (names.current) openName(names.current.id);
}

function nameItem(f, onOpen) {
  const p = f.properties;
  return h(
    'li',
    { tabIndex: 0, dataset: { id: f.id }, onclick: () => onOpen(f.id), onkeydown: (e) => { if (e.key === 'Enter') onOpen(f.id); } },
    h('strong', null, p.name),
    ' ',
    h('span', { class: `status-${p.status}` }, p.status_label),
    h('br'),
    h('span', { class: 'meta' }, `${p.romanization} · ${p.category_label || p.category} · ${p.division_name || ''}`),
  );
}

async function searchNames() {
  const q = $('name-q').value.trim();
  if (!q) return;
  const { data } = await api(`/api/v1/places?q=${encodeURIComponent(q)}&limit=20`);
  $('name-results').dataset.q = q;
  fill($('name-results'), data.features.length ? data.features.map((f) => nameItem(f, openName)) : h('li', null, '未找到。'));
}

async function loadReview() {
  const { data } = await api('/api/v1/places?status=proposed&limit=100');
  $('review-count').textContent = String(data.numberMatched);
  fill($('review-list'), data.features.map((f) => nameItem(f, openName)));
}

const ACTIONS = { load: '导入', create: '申报', update: '修改', approve: '批准', rename: '更名', retire: '废止' };

async function openName(id) {
  const path = `/api/v1/places/${encodeURIComponent(id)}`;
  const [{ data: f, headers }, { data: hist }] = await Promise.all([api(path), api(`${path}/history`)]);
  const p = f.properties;
  names.current = { id, feature: f, etag: headers.get('etag') };
  const box = $('name-detail');
  box.hidden = false;
  const rows = [
    ['罗马字母拼写', `${p.romanization}${p.romanization_source === 'officer' ? '（经办人校订）' : ''}`],
    ['专名 / 通名', `${p.specific_term} / ${p.generic_term || '—'}`],
    ['类别', p.category_label || p.category],
    ['所在政区', p.division_name || p.division_code || '—'],
    ['状态', p.status_label],
    ['含义与来历', p.origin || '—'],
    ['别名', (p.alternate_names || []).join('、') || '—'],
    ['曾用名', (p.historic_names || []).join('、') || '—'],
    ['批准机关', p.approving_body ? `${p.approving_body} ${p.document_no || ''} ${p.decided_on || ''}` : '—'],
    ['提出人', p.proposed_by || '—'],
    ['名称来源', SOURCE[p.provenance] || p.provenance],
  ];
  // A real name may stand at a synthetic point or polygon: each part says where it comes from.
  if (p.geometry_provenance && p.geometry_provenance !== p.provenance) {
    rows.push(['位置来源', SOURCE[p.geometry_provenance] || p.geometry_provenance]);
  }
  fill(
    box,
    h('h3', null, p.name),
    h('dl', null, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    h('h4', null, '历史版本'),
    h(
      'ol',
      { id: 'name-history', class: 'history' },
      hist.versions.map((v) =>
        h('li', null, `v${v.version} ${ACTIONS[v.action] || v.action} · ${String(v.actor).replace(/^(user|token|system):/, '')} · ${String(v.changed_at).slice(0, 19).replace('T', ' ')}${v.data?.name !== p.name ? ` · ${v.data?.name ?? ''}` : ''}`),
      ),
    ),
    h('div', { id: 'name-actions', class: 'row' }),
    h(
      'div',
      { id: 'decision', class: 'row', hidden: true },
      h('input', { id: 'd-body', placeholder: '批准机关', value: '玛纳斯县人民政府' }),
      h('input', { id: 'd-doc', placeholder: '批准文号' }),
      h('input', { id: 'd-reason', placeholder: '废止原因（废止时填写）' }),
      h('button', { id: 'd-go', type: 'button' }, '确认'),
    ),
    h('p', { id: 'name-action-error', class: 'error', role: 'alert' }),
  );
  const actions = $('name-actions');
  const add = (label, fn) => actions.append(h('button', { type: 'button', onclick: fn }, label));
  if (canEdit() && ['proposed', 'approved'].includes(p.status)) add('编辑', () => openNameForm('edit', f));
  if (canEdit() && p.status === 'approved') add('申报更名', () => openNameForm('rename', f));
  const mine = state.user && p.proposed_by === state.user.username;
  if (canApprove() && p.status === 'proposed' && !mine) add('批准', () => decide('approve'));
  if (canApprove() && ['proposed', 'approved'].includes(p.status)) add('废止', () => decide('retire'));
}

function decide(kind) {
  $('decision').hidden = false;
  $('d-reason').hidden = kind !== 'retire';
  $('d-go').onclick = async () => {
    const body = { approving_body: $('d-body').value, document_no: $('d-doc').value };
    if (kind === 'retire') body.reason = $('d-reason').value;
    try {
      await api(`/api/v1/places/${encodeURIComponent(names.current.id)}/${kind}`, { method: 'POST', body, headers: { 'if-match': names.current.etag } });
      await openName(names.current.id);
      if (canApprove()) await loadReview();
    } catch (e) {
      $('name-action-error').textContent = e.message;
    }
  };
}

function openNameForm(mode, f) {
  names.mode = mode;
  names.editing = f || null;
  names.romanTouched = false;
  const p = f ? f.properties : {};
  $('name-form').hidden = false;
  $('name-form-title').textContent = mode === 'edit' ? `修改：${p.name}` : mode === 'rename' ? `申报更名：${p.name}` : '申报新地名';
  $('n-name').value = mode === 'rename' ? '' : p.name || '';
  $('n-category').value = p.category || 'street';
  $('n-division').value = p.division_code || '';
  $('n-category').disabled = mode === 'rename' || (mode === 'edit' && p.status === 'approved');
  $('n-division').disabled = mode === 'rename';
  $('n-name').disabled = mode === 'edit' && p.status === 'approved';
  $('n-roman').value = mode === 'edit' ? p.romanization : '';
  $('n-origin').value = p.origin || '';
  $('n-findings').replaceChildren();
  $('n-error').textContent = '';
  $('n-name').focus();
  scheduleCheck();
}

function scheduleCheck() {
  clearTimeout(names.checkTimer);
  names.checkTimer = setTimeout(liveCheck, 250);
}

async function liveCheck() {
  const name = $('n-name').value.trim();
  if (!name) {
    $('n-findings').replaceChildren();
    return;
  }
  const body = { name, category: $('n-category').value, division_code: $('n-division').value || undefined };
  if (names.mode === 'edit' && names.editing) body.id = names.editing.id;
  if (names.romanTouched && $('n-roman').value.trim()) body.romanization = $('n-roman').value.trim();
  const { data } = await api('/api/v1/places/check', { method: 'POST', body });
  if (!names.romanTouched) $('n-roman').value = data.romanization;
  renderFindings(data.findings, data.ok);
}

function renderFindings(findings, ok) {
  const box = $('n-findings');
  fill(
    box,
    findings.length
      ? findings.map((f) => h('p', { class: f.severity }, `${f.severity === 'error' ? '✗ 不符合' : '⚠ 提示'}：${f.message}${f.conflicts?.length ? `（冲突：${f.conflicts.join('、')}）` : ''}`))
      : h('p', { class: 'ok' }, '✓ 符合命名规则'),
  );
  $('n-save').disabled = ok === false;
}

async function saveName(ev) {
  ev.preventDefault();
  const body = { origin: $('n-origin').value.trim() || undefined };
  if (names.romanTouched) body.romanization = $('n-roman').value.trim();
  try {
    let res;
    if (names.mode === 'edit') {
      const p = names.editing.properties;
      if (p.status === 'proposed') Object.assign(body, { name: $('n-name').value.trim(), category: $('n-category').value, division_code: $('n-division').value || undefined });
      res = await api(`/api/v1/places/${encodeURIComponent(names.editing.id)}`, { method: 'PATCH', body, headers: { 'if-match': names.current?.etag || `"${p.version}"` } });
    } else if (names.mode === 'rename') {
      res = await api(`/api/v1/places/${encodeURIComponent(names.editing.id)}/rename`, { method: 'POST', body: { name: $('n-name').value.trim(), origin: body.origin, romanization: body.romanization } });
    } else {
      Object.assign(body, { name: $('n-name').value.trim(), category: $('n-category').value, division_code: $('n-division').value || undefined });
      res = await api('/api/v1/places', { method: 'POST', body });
    }
    $('name-form').hidden = true;
    await openName(res.data.id);
    if (canApprove()) await loadReview();
  } catch (e) {
    if (e.problem?.findings?.length) renderFindings(e.problem.findings, false);
    $('n-error').textContent = e.status === 412 ? '该地名已被他人修改，请重新打开。' : `提交失败：${e.message}`;
  }
}

async function wireNames() {
  $('tab-planner').addEventListener('click', () => showTab('planner'));
  $('tab-names').addEventListener('click', () => showTab('names'));
  $('name-search').addEventListener('click', searchNames);
  $('name-q').addEventListener('keydown', (e) => { if (e.key === 'Enter') searchNames(); });
  $('name-new').addEventListener('click', () => openNameForm('new'));
  $('n-cancel').addEventListener('click', () => { $('name-form').hidden = true; });
  $('name-form').addEventListener('submit', saveName);
  for (const id of ['n-name', 'n-category', 'n-division']) $(id).addEventListener('input', scheduleCheck);
  $('n-roman').addEventListener('input', () => { names.romanTouched = true; scheduleCheck(); });
  const { data } = await api('/api/v1/places/categories');
  names.categories = data.categories;
  $('n-category').replaceChildren(...data.categories.map((c) => new Option(c.label, c.slug)));
  $('n-division').replaceChildren(new Option('（全县）', ''), ...(state.townships?.features || []).map((f) => new Option(f.properties.name, f.properties.code)));
}
window.diming.names = names;
window.diming.wireNames = wireNames;
window.diming.showTab = showTab;
