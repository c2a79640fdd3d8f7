// diming — the page's one way to turn data into DOM. Nothing here ever parses a
// string as HTML: text becomes text nodes, attributes go through setAttribute or
// DOM properties, event handlers must be functions, styles must be objects
// (set through CSSOM, which the page's CSP allows; style="…" would not be).
//
//   h('li', { class: ['item', `status-${p.status}`], dataset: { id: f.id }, onclick: open },
//     h('strong', null, p.name), ' ', p.status_label)
//
// Children may be strings, numbers, Nodes, arrays of those (flattened), or
// null/undefined/false/true (skipped).

const TAG = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// Elements that would run or load code or change how the page is read: the page
// never builds them from JS.
const FORBIDDEN_TAGS = new Set(['script', 'style', 'iframe', 'frame', 'object', 'embed', 'base', 'link', 'meta', 'template']);
// Attributes that take a URL: only same-origin paths and http(s)/mailto URLs.
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'poster', 'cite', 'xlink:href']);
// Attributes set as DOM properties (their attribute form does not track state).
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'tabIndex', 'type']);

/** A URL that may go into href/src: relative, or http(s)/mailto; anything else → null. */
export function safeUrl(value) {
  const s = String(value).trim();
  let u;
  try {
    u = new URL(s, location.href);
  } catch {
    return null;
  }
  return ['http:', 'https:', 'mailto:'].includes(u.protocol) ? s : null;
}

function addChildren(el, children) {
  for (const c of children) {
    if (c == null || c === false || c === true) continue;
    if (Array.isArray(c)) addChildren(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
  return el;
}

function isAttrs(a) {
  return a != null && typeof a === 'object' && !Array.isArray(a) && !(a instanceof Node);
}

/** Build an element: tag (a literal from the code), attributes, children. */
export function h(tag, attrs, ...children) {
  if (typeof tag !== 'string' || !TAG.test(tag) || FORBIDDEN_TAGS.has(tag)) throw new Error(`h: refusing element ${String(tag)}`);
  if (!isAttrs(attrs)) {
    if (attrs != null) children.unshift(attrs);
    attrs = {};
  }
  const el = document.createElement(tag);
  for (const [key, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (key === 'class' || key === 'className') {
      el.className = (Array.isArray(v) ? v : [v]).filter((x) => x != null && x !== false && x !== '').map(String).join(' ');
    } else if (key === 'dataset') {
      for (const [k, d] of Object.entries(v)) if (d != null) el.dataset[k] = String(d);
    } else if (key === 'style') {
      if (typeof v !== 'object') throw new Error('h: style must be an object (CSSOM), never a string');
      for (const [k, s] of Object.entries(v)) if (s != null) el.style.setProperty(k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`), String(s));
    } else if (/^on/i.test(key)) {
      if (typeof v !== 'function') throw new Error(`h: ${key} must be a function`);
      el.addEventListener(key.slice(2).toLowerCase(), v);
    } else if (key === 'text' || key === 'textContent' || key === 'innerHTML' || key === 'outerHTML' || key === 'srcdoc') {
      throw new Error(`h: ${key} is not an attribute; pass text as a child`);
    } else if (URL_ATTRS.has(key.toLowerCase())) {
      const u = safeUrl(v);
      if (u != null) el.setAttribute(key, u);
    } else if (PROPS.has(key)) {
      el[key] = v;
    } else {
      el.setAttribute(key, v === true ? '' : String(v));
    }
  }
  return addChildren(el, children);
}

/** Replace el's children with the given ones (same rules as h's children). */
export function fill(el, ...children) {
  el.replaceChildren();
  return addChildren(el, children);
}

/** A DocumentFragment of the given children (same rules as h's children). */
export function frag(...children) {
  return addChildren(document.createDocumentFragment(), children);
}

/**
 * Text escaped for a third-party API that only takes an HTML string (MapLibre's
 * attribution): the string shows literally and no markup in it takes effect.
 */
export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
