/* touchpath tracker (t.js), Apache-2.0. See docs/snippet.md. */
(() => {
'use strict';
const w = window, d = document, nav = navigator, loc = location;
if (w.touchpath && w.touchpath.loaded) return;
const me = d.currentScript || d.querySelector('script[data-write-key]');
const attr = (n) => me && me.getAttribute('data-' + n);
const KEY = attr('write-key'), MAX = 20, LIB = { name: 'touchpath.js', version: '0.1.0' };
const HOST = (attr('host') || (me ? new URL(me.src, loc.href).origin : '')).replace(/\/+$/, '');
const API = HOST + '/v1/batch';
const required = attr('consent') === 'required';
const blocked = attr('respect-dnt') === 'true' &&
  (nav.doNotTrack === '1' || nav.globalPrivacyControl === true);
const mem = {}, inflight = new Set();
let queue = [], timer = 0, failures = 0, pending = false, last = 0;

// First-party storage: localStorage, else a cookie (ids only). Nothing before consent.
const ls = () => { try { return w.localStorage; } catch (e) { return null; } };
const get = (k) => {
  try { const v = ls().getItem(k); if (v !== null) return v; } catch (e) {}
  const m = d.cookie.match(new RegExp('(?:^|; )' + k + '=([^;]*)'));
  return m && decodeURIComponent(m[1]);
};
const cookie = (k, v, age) => { d.cookie = `${k}=${encodeURIComponent(v)}; Max-Age=${age}; Path=/; SameSite=Lax` +
  (loc.protocol === 'https:' ? '; Secure' : ''); };
const set = (k, v, ck) => { try { ls().setItem(k, v); } catch (e) { if (ck) cookie(k, v, 31536000); } };
const del = (k) => {
  try { ls().removeItem(k); } catch (e) {}
  if (d.cookie.includes(k + '=')) cookie(k, '', 0);
};
const uuid = () => { // crypto.randomUUID needs a secure context (https)
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  return Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('')
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
};
const enabled = () => {
  if (blocked || !KEY) return false;
  const c = mem.consent || get('tp_consent');
  return required ? c === '1' : c !== '0';
};
const aid = () => {
  if (!(mem.aid = get('tp_aid') || mem.aid)) set('tp_aid', mem.aid = uuid(), true);
  return mem.aid;
};
const uid = () => get('tp_uid') || mem.uid || undefined;

// Messages (Segment spec). Times strictly increase within a page: call order survives.
const pageInfo = () => ({ url: loc.href, path: loc.pathname, referrer: d.referrer || undefined,
  title: d.title, search: loc.search || undefined });
const campaign = () => {
  const q = new URLSearchParams(loc.search), c = {};
  for (const k of ['source', 'medium', 'campaign', 'term', 'content']) {
    if (q.get('utm_' + k)) c[k === 'campaign' ? 'name' : k] = q.get('utm_' + k);
  }
  return Object.keys(c).length ? c : undefined;
};
const enqueue = (type, fields) => {
  if (!enabled()) return;
  last = Math.max(Date.now(), last + 1);
  const m = Object.assign({ type, messageId: uuid(), timestamp: new Date(last).toISOString(),
    anonymousId: aid(), userId: uid(),
    context: { library: LIB, page: pageInfo(), campaign: campaign(), userAgent: nav.userAgent,
      locale: nav.language, screen: { width: screen.width, height: screen.height } } }, fields);
  queue.push(m);
  queue = queue.slice(-500);
  persist();
  if (queue.length >= MAX && !failures) flush(); else schedule(3000);
  return m.messageId;
};

// The queue stays in localStorage (one key per page) until the collector acknowledges it.
const TAB = 'tp_q.' + uuid();
const persist = () => {
  if (enabled()) queue.length ? set(TAB, JSON.stringify({ t: Date.now(), q: queue })) : del(TAB);
};
const claim = () => { // adopt queues of closed pages (a resent messageId is stored once)
  const s = ls();
  try {
    for (const k of Object.keys(s)) {
      if (!k.startsWith('tp_q.') || k === TAB) continue;
      const v = JSON.parse(s.getItem(k)) || {};
      if (Date.now() - v.t < 10000) { schedule(11000); continue; } // a live page, maybe
      s.removeItem(k);
      queue = queue.concat(v.q || []);
    }
  } catch (e) {}
};
const chunk = () => {
  const out = [];
  let size = 0;
  for (const m of queue) {
    const n = JSON.stringify(m).length;
    if (out.length >= MAX || (out.length && size + n > 60000)) break; // 64 KB keepalive limit
    if (!inflight.has(m.messageId)) { out.push(m); size += n; }
  }
  return out;
};
const body = (batch) => JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey: KEY });
const drop = (batch) => { queue = queue.filter((m) => !batch.includes(m)); persist(); };
const schedule = (ms) => { if (!timer) timer = setTimeout(() => { timer = 0; flush(); }, ms); };
const send = async (batch) => { // true: stored; false: refused, not retried; throws: retry
  batch.forEach((m) => inflight.add(m.messageId));
  let status = 0;
  try { // a string body is text/plain: a "simple" request, no CORS preflight
    status = (await fetch(API, { method: 'POST', body: body(batch), keepalive: true, credentials: 'omit' })).status;
  } catch (e) {} // offline or down
  batch.forEach((m) => inflight.delete(m.messageId));
  if (!status || status >= 500 || status === 408 || status === 429) throw new Error('retry');
  if (status >= 300) console.warn('touchpath: batch refused, HTTP ' + status);
  drop(batch);
  return status < 300;
};
async function flush() {
  if (!enabled()) return false;
  claim();
  persist(); // a heartbeat: no other page adopts a live page's queue
  let ok = true, batch;
  while ((batch = chunk()).length) {
    try { ok = (await send(batch)) && ok; failures = 0; } catch (e) {
      clearTimeout(timer); timer = 0;
      schedule(Math.min(60000, 1000 * 2 ** ++failures));
      return false;
    }
  }
  return ok;
}
const beacon = () => {
  let batch;
  while (enabled() && (batch = chunk()).length && nav.sendBeacon && nav.sendBeacon(API, body(batch))) drop(batch);
};

// Click capture for heatmaps (data-clicks="true").
const selector = (el) => {
  const parts = [];
  for (let i = 0; el && el.nodeType === 1 && i < 5; i++, el = el.parentElement) {
    const cls = typeof el.className === 'string' ? el.className.split(/\s+/).filter(Boolean) : [];
    parts.unshift(el.tagName.toLowerCase() + (el.id ? '#' + el.id : cls.slice(0, 2).map((c) => '.' + c).join('')));
    if (el.id) break;
  }
  return parts.join(' > ').slice(0, 200);
};
const onClick = (e) => {
  let t = e.target.closest ? e.target : e.target.parentElement;
  if (!t || t.closest('[data-tp-no-capture]')) return;
  t = t.closest('a,button,[role=button],input,select,textarea,label,summary') || t;
  const typed = /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName) || t.isContentEditable; // never read
  const de = d.documentElement, b = d.body || de;
  enqueue('track', { event: '$click', properties: { selector: selector(t),
    text: typed ? '' : (t.innerText || t.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 50),
    x: Math.round(e.pageX), y: Math.round(e.pageY), viewport_width: w.innerWidth, viewport_height: w.innerHeight,
    page_width: Math.max(de.scrollWidth, b.scrollWidth), page_height: Math.max(de.scrollHeight, b.scrollHeight),
    path: loc.pathname } });
};

// Surveys (data-surveys="on", docs/surveys-widget.md): after each track/page call, and once on
// load, ask the collector whether a survey is due; the widget (/survey.js) loads only then.
// At most one survey per page view; checks run one after another, in call order.
const sv = { auto: attr('surveys') === 'on', asked: false, shown: false, chain: Promise.resolve(null), js: null };
const lang = () => (attr('language') || d.documentElement.lang || nav.language || 'en').toLowerCase().split('-')[0];
const ids = () => ({ anonymousId: aid(), userId: uid() || null });
const widget = () => sv.js || (sv.js = new Promise((ok, fail) => {
  const s = d.createElement('script');
  s.src = HOST + '/survey.js'; s.async = true;
  if (me && me.nonce) s.nonce = me.nonce; // a nonce-based CSP
  s.onload = () => ok(w.touchpathSurvey);
  s.onerror = () => { sv.js = null; fail(new Error('touchpath: /survey.js did not load')); };
  (d.head || d.documentElement).appendChild(s);
}));
const check = (event, properties, messageId) => (sv.asked = true) && (sv.chain = sv.chain.then(async () => {
  if (sv.shown || !enabled()) return null;
  try {
    const r = await fetch(HOST + '/v1/surveys/next', { method: 'POST', credentials: 'omit',
      headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + btoa(KEY + ':') },
      body: JSON.stringify(Object.assign(ids(), { event: event == null ? null : String(event),
        properties: properties || null, messageId: messageId || null, language: lang() })) });
    const s = r.ok ? (await r.json()).survey : null;
    if (!s || sv.shown) return null;
    sv.shown = true; // the collector counted it as shown: no second survey on this page view
    (await widget()).show(s, { host: HOST, key: KEY, ids });
    return s.id;
  } catch (e) { console.warn('touchpath: survey check failed', e); return null; }
}));
const auto = (event, properties, messageId) => { if (sv.auto && enabled()) check(event, properties, messageId); };

// The public API: window.touchpath.
const autoPage = () => { if (pending && enabled()) { pending = false; api.page(); } };
const api = {
  loaded: true,
  track: (event, properties) => {
    if (!event) return;
    auto(event, properties, enqueue('track', { event: String(event), properties: properties || {} }));
  },
  page: (name, properties) => {
    if (name && typeof name === 'object') { properties = name; name = undefined; }
    const props = Object.assign(pageInfo(), properties);
    auto('$page', props, enqueue('page', { name: name || undefined, properties: props }));
  },
  identify: (userId, traits) => {
    if (userId && typeof userId === 'object') { traits = userId; userId = undefined; }
    if (!enabled()) return;
    if (userId != null && userId !== '') set('tp_uid', mem.uid = String(userId), true);
    enqueue('identify', { traits: traits || {} });
  },
  reset: () => { del('tp_uid'); del('tp_aid'); mem.uid = mem.aid = undefined; if (enabled()) aid(); },
  consent: (given) => {
    mem.consent = given ? '1' : '0';
    if (given) { if (!blocked) set('tp_consent', '1', true); autoPage(); return; }
    queue = []; mem.aid = mem.uid = undefined; // withdrawn: forget all, send nothing more
    ['tp_aid', 'tp_uid', 'tp_consent', TAB].forEach(del);
    if (!required) set('tp_consent', '0', true); // an opt-out sticks
  },
  flush,
  anonymousId: () => (enabled() ? aid() : null),
  userId: () => (enabled() && uid()) || null,
  push: (args) => call(Array.from(args || [])),
  survey: { check: (event, properties) => check(event, properties) },
};
const call = ([name, ...rest] = []) => {
  if (name !== 'push' && typeof api[name] === 'function') api[name](...rest);
};

const stub = Array.isArray(w.touchpath) ? w.touchpath : [];
w.touchpath = api;
if (!KEY) console.warn('touchpath: the script tag needs data-write-key');
stub.forEach((args) => call(Array.from(args)));
pending = attr('auto-page') !== 'false';
autoPage();
if (!sv.asked) auto(null, null);
if (enabled()) { claim(); if (queue.length) schedule(0); }
if (attr('clicks') === 'true') d.addEventListener('click', onClick, true);
d.addEventListener('visibilitychange', () => { if (d.visibilityState === 'hidden') beacon(); });
w.addEventListener('pagehide', beacon);
})();
