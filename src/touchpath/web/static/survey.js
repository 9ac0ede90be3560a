/* touchpath survey widget (survey.js), Apache-2.0. See docs/surveys-widget.md.
 * Loaded by t.js only when a survey is due (a pop-up card), or by the survey link page /s/{token}
 * (the same card inline). No dependencies, no eval, no inline styles or handlers: the styles live
 * in a shadow root as a constructed style sheet, so the host page's CSS neither breaks the card
 * nor is touched by it, and a strict Content-Security-Policy needs no 'unsafe-inline'. */
(() => {
'use strict';
const w = window, d = document;
if (w.touchpathSurvey) return;

const RTL = /^(ar|he|iw|fa|ur|yi|ps|sd|ug|ckb|dv)(-|$)/i;
const SCALES = { __proto__: null, nps: [0, 10], csat: [1, 5], ces: [1, 7], rating: [1, 5] };
const KINDS = ['single_choice', 'multiple_choice', 'text'];
const TEXT = { // used when the survey's labels leave one out. Hebrew and Arabic as \u escapes: the
  // file is ASCII, so it reads right whatever charset the host page or the server gives it.
  en: { submit: 'Submit', next: 'Next', close: 'Close', thanks: 'Thank you for your feedback!',
    error: 'Your answer could not be sent. Please try again.' },
  he: { // Hebrew
    submit: '\u05e9\u05dc\u05d9\u05d7\u05d4', next: '\u05d4\u05d1\u05d0', close: '\u05e1\u05d2\u05d9\u05e8\u05d4',
    thanks: '\u05ea\u05d5\u05d3\u05d4 \u05e2\u05dc \u05d4\u05de\u05e9\u05d5\u05d1!',
    error: '\u05dc\u05d0 \u05d4\u05e6\u05dc\u05d7\u05e0\u05d5 \u05dc\u05e9\u05dc\u05d5\u05d7 \u05d0\u05ea \u05d4\u05ea\u05e9\u05d5\u05d1\u05d4. \u05e0\u05e1\u05d5 \u05e9\u05d5\u05d1.' },
  ar: { // Arabic
    submit: '\u0625\u0631\u0633\u0627\u0644', next: '\u0627\u0644\u062a\u0627\u0644\u064a', close: '\u0625\u063a\u0644\u0627\u0642',
    thanks: '\u0634\u0643\u0631\u064b\u0627 \u0644\u0643 \u0639\u0644\u0649 \u0645\u0644\u0627\u062d\u0638\u0627\u062a\u0643!',
    error: '\u062a\u0639\u0630\u0651\u0631 \u0625\u0631\u0633\u0627\u0644 \u0625\u062c\u0627\u0628\u062a\u0643. \u064a\u064f\u0631\u062c\u0649 \u0627\u0644\u0645\u062d\u0627\u0648\u0644\u0629 \u0645\u0631\u0629 \u0623\u062e\u0631\u0649.' },
};
const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483000!important;
 inset-block-end:24px!important;inset-inline-end:24px!important;width:min(400px,calc(100vw - 32px))!important}
:host([data-mode=inline]){position:relative!important;inset:auto!important;width:auto!important;z-index:auto!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.card{--a:var(--tp-accent,#3346c8);--f:var(--tp-focus,#1a56db);position:relative;background:#fff;color:#1f2937;
 border:1px solid #e3e6eb;border-radius:14px;padding:20px 20px 16px;text-align:start;
 box-shadow:0 18px 40px -12px rgba(15,23,42,.28),0 2px 6px rgba(15,23,42,.08);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Hebrew","Noto Sans Arabic",
 "DejaVu Sans",Arial,sans-serif;animation:tp-in .18s ease-out}
.card:lang(ar){line-height:1.7}
:host([data-mode=inline]) .card{box-shadow:0 1px 3px rgba(15,23,42,.08);padding:28px 28px 22px;animation:none}
.card:focus{outline:none}
@keyframes tp-in{from{opacity:0;transform:translateY(8px)}}
@media (prefers-reduced-motion:reduce){.card{animation:none}}
.close{position:absolute;top:10px;inset-inline-end:10px;width:32px;height:32px;display:grid;place-items:center;
 border:0;border-radius:8px;background:transparent;color:#6b7280;cursor:pointer;padding:0}
.close:hover{background:#f1f3f6;color:#111827}
.close svg{width:18px;height:18px}
.q{display:block;margin:0 0 14px;padding:0 36px 0 0;font-weight:600;font-size:16px;color:#111827}
:host([dir=rtl]) .q{padding:0 0 0 36px}
:host([data-mode=inline]) .q{font-size:18px;padding:0}
fieldset{border:0;margin:0;padding:0;min-width:0}
legend{float:left;width:100%}
legend+*{clear:both}
.scale{display:flex;gap:4px}
.scale button{flex:1 1 0;min-width:0;height:40px;padding:0;border:1px solid #cfd4dc;border-radius:8px;background:#fff;
 color:#1f2937;font:inherit;font-size:14px;font-weight:500;cursor:pointer;font-variant-numeric:tabular-nums}
.scale button:hover{border-color:var(--a);background:#f3f5fe}
.scale button[aria-checked=true]{background:var(--a);border-color:var(--a);color:#fff}
.ends{display:flex;justify-content:space-between;gap:16px;margin:6px 0 0;font-size:12.5px;color:#5b6472}
.ends span:last-child{text-align:end}
.follow{margin-top:16px}
.lbl{display:block;margin:0 0 6px;font-weight:600;font-size:14px;color:#111827}
textarea{display:block;width:100%;min-height:84px;resize:vertical;padding:10px 12px;border:1px solid #cfd4dc;
 border-radius:8px;font:inherit;font-size:14px;color:inherit;background:#fff}
textarea:hover{border-color:#9aa3b1}
.opts{display:grid;gap:8px}
.opt{display:flex;align-items:center;gap:10px;padding:9px 12px;border:1px solid #cfd4dc;border-radius:10px;
 cursor:pointer;font-size:14px}
.opt:hover{border-color:#9aa3b1}
.opt:has(input:checked){border-color:var(--a);background:#f3f5fe}
.opt input{margin:0;width:16px;height:16px;flex:none;accent-color:var(--a)}
.foot{display:flex;align-items:center;justify-content:space-between;gap:12px;margin-top:18px}
.progress{display:flex;gap:6px}
.progress i{width:7px;height:7px;border-radius:50%;background:#d5d9e0}
.progress i.on{background:var(--a)}
.go{margin-inline-start:auto;min-width:96px;height:38px;padding:0 18px;border:0;border-radius:8px;background:var(--a);
 color:#fff;font:inherit;font-size:14px;font-weight:600;cursor:pointer}
.go:hover{filter:brightness(1.08)}
.go:disabled{background:#c7ccd6;cursor:not-allowed;filter:none}
.err{margin:12px 0 0;padding:8px 12px;border-radius:8px;background:#fdecec;color:#9b1c1c;font-size:13.5px}
.err:empty{display:none}
.thanks{display:flex;align-items:center;gap:12px;margin:2px 36px 2px 0;font-size:16px;font-weight:600;color:#111827}
.thanks::before{content:"\\2713";flex:none;display:grid;place-items:center;width:32px;height:32px;border-radius:50%;
 background:#e6f4ea;color:#1e7b3c;font-size:17px;font-weight:700}
:host([dir=rtl]) .thanks{margin:2px 0 2px 36px}
:host([data-mode=inline]) .thanks{margin:0}
.thanks:focus{outline:none}
button:focus-visible,textarea:focus-visible,.opt:has(input:focus-visible){outline:3px solid var(--f);outline-offset:2px}
textarea:focus{border-color:var(--f)}
@media (max-width:480px){:host(:not([data-mode=inline])){inset-inline:8px!important;inset-block-end:8px!important;
 width:auto!important}}
`;
const PAGE_CSS = `body{margin:0;background:#f4f6f9;color:#111827;
 font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Arial,sans-serif}
#touchpath-survey-page{max-width:560px;margin:0 auto;padding:48px 16px}
#touchpath-survey-page h1{font-size:22px;font-weight:700;margin:0 0 20px}`;

const sheet = (root, css) => {
  try { // a constructed sheet: not an inline style for CSP
    const s = new CSSStyleSheet();
    s.replaceSync(css);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, s];
  } catch (e) {
    const s = d.createElement('style');
    s.textContent = css;
    (root.head || root).appendChild(s);
  }
};
const el = (tag, attrs, ...kids) => {
  const e = d.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : String(v));
  }
  kids.forEach((k) => k && e.append(k));
  return e;
};
const icon = () => {
  const ns = 'http://www.w3.org/2000/svg', s = d.createElementNS(ns, 'svg'), p = d.createElementNS(ns, 'path');
  s.setAttribute('viewBox', '0 0 24 24'); s.setAttribute('aria-hidden', 'true'); s.setAttribute('focusable', 'false');
  p.setAttribute('d', 'M6 6l12 12M18 6L6 18'); p.setAttribute('stroke', 'currentColor');
  p.setAttribute('stroke-width', '2'); p.setAttribute('stroke-linecap', 'round');
  s.append(p);
  return s;
};
const uuid = () => {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  return Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('')
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
};
const isScale = (q) => q.type in SCALES;
const known = (q) => q && typeof q.id === 'string' && (isScale(q) || KINDS.includes(q.type));
const bounds = (q) => [q.min != null ? +q.min : SCALES[q.type][0], q.max != null ? +q.max : SCALES[q.type][1]];
const answered = (v) => v != null && v !== '' && !(Array.isArray(v) && !v.length);

let open = null; // one survey on screen at a time

/**
 * Show a survey. `survey` is the `survey` object of POST /v1/surveys/next. Options:
 * - pop-up (from t.js): {host, key, ids: () => ({anonymousId, userId}), onClose(reason)}
 * - inline (link page): {mount: element, postUrl}
 * Returns a controller {element, close()}; null if a survey is already showing.
 */
const show = (survey, opts = {}) => {
  if (survey && survey.survey) survey = survey.survey;
  const qs = survey && Array.isArray(survey.questions) ? survey.questions.filter(known) : []; // skip unknown kinds
  if (open || !qs.length) return null;
  const inline = !!opts.mount;
  const lang = String(survey.language || 'en');
  const dir = survey.dir === 'rtl' || survey.dir === 'ltr' ? survey.dir : RTL.test(lang) ? 'rtl' : 'ltr';
  const t = Object.assign({}, TEXT.en, TEXT[lang.split('-')[0]]);
  for (const [k, v] of Object.entries(survey.labels || {})) if (v && typeof v === 'string') t[k] = v;
  const responseId = uuid(); // one per showing: a retried submit is one answer
  const state = {}; // answers by question id
  let step = 0, done = false, sending = false;

  const host = el('touchpath-survey', { dir, lang, 'data-mode': inline ? 'inline' : null });
  const root = host.attachShadow({ mode: 'open' });
  sheet(root, CSS);
  const card = el('div', { class: 'card', role: inline ? 'region' : 'dialog', 'aria-modal': inline ? null : 'false',
    tabindex: '-1', dir, lang });
  const close = el('button', { type: 'button', class: 'close', 'aria-label': t.close }, icon());
  const form = el('form', { novalidate: true });
  const err = el('p', { class: 'err', role: 'alert' });
  const progress = el('span', { class: 'progress', 'aria-hidden': 'true' });
  const go = el('button', { type: 'submit', class: 'go' });
  const steps = qs.map((q, i) => section(q, i));
  form.append(...steps.map((s) => s.node), err, el('div', { class: 'foot' }, progress, go));
  if (!inline) card.append(close);
  card.append(form);
  root.append(card);

  function section(q, i) {
    const qid = `tp-q${i}`, node = el('section', { class: 'step', hidden: true, 'data-question': q.id });
    const heading = el(isScale(q) || q.type === 'text' ? 'p' : 'legend', { class: 'q', id: qid, text: q.text });
    let first = () => node.querySelector('button,input,textarea');
    if (isScale(q)) {
      const [lo, hi] = bounds(q), ends = el('div', { class: 'ends' });
      const group = el('div', { class: 'scale', role: 'radiogroup', 'aria-labelledby': qid });
      const buttons = [];
      for (let v = lo; v <= hi; v++) {
        buttons.push(el('button', { type: 'button', role: 'radio', 'aria-checked': 'false', tabindex: v === lo ? '0' : '-1',
          'data-value': v, text: String(v) }));
      }
      if (q.min_label || q.max_label) {
        ends.append(el('span', { id: `${qid}-lo`, text: q.min_label || '' }), el('span', { id: `${qid}-hi`, text: q.max_label || '' }));
        if (q.min_label) buttons[0].setAttribute('aria-describedby', `${qid}-lo`);
        if (q.max_label) buttons[buttons.length - 1].setAttribute('aria-describedby', `${qid}-hi`);
      }
      group.append(...buttons);
      const bands = Array.isArray(q.follow_up) ? q.follow_up : [];
      const area = el('textarea', { id: `${qid}-f`, maxlength: 2000, rows: 3 });
      const label = el('label', { class: 'lbl', for: `${qid}-f` });
      const box = el('div', { class: 'follow', hidden: true }, label, area);
      const pick = (b, focus) => {
        buttons.forEach((x) => { x.setAttribute('aria-checked', String(x === b)); x.tabIndex = x === b ? 0 : -1; });
        if (focus) b.focus();
        const v = +b.dataset.value, band = bands.find((f) => v >= +f.min && v <= +f.max);
        state[q.id] = v;
        box.hidden = !band;
        if (band) label.textContent = band.text;
        refresh();
      };
      group.addEventListener('click', (e) => { const b = e.target.closest('button'); if (b) pick(b, true); });
      group.addEventListener('keydown', (e) => {
        // Arrows follow what is seen: in RTL the scale runs right to left, so ArrowLeft goes up.
        const rtl = dir === 'rtl', now = buttons.indexOf(root.activeElement);
        const move = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: 1, ArrowUp: -1 }[e.key];
        let to = now;
        if (move) to = Math.max(0, Math.min(buttons.length - 1, now + move));
        else if (e.key === 'Home') to = 0;
        else if (e.key === 'End') to = buttons.length - 1;
        else return;
        e.preventDefault();
        pick(buttons[to], true);
      });
      first = () => buttons.find((b) => b.tabIndex === 0);
      node.append(...[heading, group, ends.childNodes.length && ends, bands.length && box].filter(Boolean));
      return { node, first, heading, comment: () => (box.hidden ? null : area.value.trim() || null) };
    }
    if (q.type === 'text') {
      heading.remove();
      const area = el('textarea', { id: `${qid}-t`, maxlength: 2000, rows: 4 });
      area.addEventListener('input', () => { state[q.id] = area.value.trim(); refresh(); });
      const label = el('label', { class: 'q', id: qid, for: `${qid}-t`, text: q.text });
      node.append(label, area);
      return { node, first, heading: label, comment: () => null };
    }
    // single_choice / multiple_choice
    const multi = q.type === 'multiple_choice', fs = el('fieldset', { 'aria-labelledby': qid });
    const list = el('div', { class: 'opts' });
    (q.choices || []).forEach((c, k) => {
      const input = el('input', { type: multi ? 'checkbox' : 'radio', name: qid, value: c.id, id: `${qid}-${k}` });
      list.append(el('label', { class: 'opt', for: `${qid}-${k}` }, input, el('span', { text: c.text })));
    });
    list.addEventListener('change', () => {
      const picked = [...list.querySelectorAll('input:checked')].map((x) => x.value);
      state[q.id] = multi ? picked : picked[0];
      refresh();
    });
    fs.append(heading, list);
    node.append(fs);
    return { node, first, heading, comment: () => null };
  }

  // Scales and single choices need an answer (unless "required": false); the others may be
  // skipped, but not all questions.
  const required = (q) => q.required !== false && (isScale(q) || q.type === 'single_choice');
  const any = () => qs.some((q) => answered(state[q.id]));
  function refresh() {
    const q = qs[step], last = step === qs.length - 1;
    go.textContent = last ? t.submit : t.next;
    go.disabled = sending || !(answered(state[q.id]) || (!required(q) && (!last || any())));
  }
  const goTo = (i, focus) => {
    step = i;
    steps.forEach((s, k) => { s.node.hidden = k !== i; });
    card.setAttribute('aria-labelledby', steps[i].heading.id);
    progress.replaceChildren(...(qs.length > 1 ? qs.map((q, k) => el('i', { class: k <= i ? 'on' : null })) : []));
    refresh();
    if (focus) { const f = steps[i].first(); if (f) f.focus(); }
  };

  const post = (url, body, keepalive) => fetch(url, inline
    ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' }
    : { method: 'POST', credentials: 'omit', body: JSON.stringify(Object.assign(opts.ids(), body)), keepalive,
      headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + btoa(opts.key + ':') } });
  const path = (what) => `${opts.host}/v1/surveys/${encodeURIComponent(survey.id)}/${what}`;

  const submit = async () => {
    const answers = {};
    qs.forEach((q) => { if (answered(state[q.id])) answers[q.id] = state[q.id]; });
    const comment = steps.map((s) => s.comment()).find((c) => c) || null;
    const body = { responseId, language: lang, answers, comment };
    if (!inline) Object.assign(body, { touchpoint: survey.touchpoint || null, stage: survey.stage || null });
    sending = true; refresh(); form.setAttribute('aria-busy', 'true'); err.textContent = '';
    let res = null, data = {};
    try {
      res = await post(inline ? opts.postUrl : path('responses'), body);
      data = await res.json().catch(() => ({}));
    } catch (e) {} // offline: the same responseId is sent again on retry
    sending = false; form.removeAttribute('aria-busy');
    if (res && res.ok) return thanks();
    const e = (data && data.error) || {};
    // A refused answer (4xx) says what is wrong; a failure to store (5xx, network) asks to retry.
    err.textContent = res && res.status < 500 && res.status !== 408 && res.status !== 429 && e.message ? e.message : t.error;
    const bad = qs.findIndex((q) => String(e.field || '').split(/[.[\]]/).includes(q.id));
    if (bad >= 0 && bad !== step) goTo(bad, true); else refresh();
  };
  const thanks = () => {
    done = true;
    const msg = el('p', { class: 'thanks', role: 'status', tabindex: '-1', id: 'tp-thanks', text: t.thanks });
    form.replaceWith(msg);
    card.setAttribute('aria-labelledby', 'tp-thanks');
    msg.focus();
    if (!inline) setTimeout(() => finish('submitted'), 6000);
  };
  const before = d.activeElement;
  const finish = (reason) => {
    if (!host.isConnected) return;
    const had = d.activeElement === host;
    host.remove();
    open = null;
    if (had && before && before.focus && before.isConnected) before.focus();
    if (opts.onClose) opts.onClose(reason);
  };
  const dismiss = () => {
    if (done || sending) return finish(done ? 'submitted' : 'closed'); // an answer on its way is no dismissal
    // keepalive: the dismissal still arrives when the visitor leaves the page right after
    post(path('dismissals'), { touchpoint: survey.touchpoint || null }, true).catch(() => {});
    finish('dismissed');
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (go.disabled) return;
    if (step < qs.length - 1) goTo(step + 1, true); else submit();
  });
  close.addEventListener('click', dismiss);
  if (!inline) {
    card.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented) { e.preventDefault(); dismiss(); }
    });
  }

  goTo(0, false);
  (inline ? opts.mount : d.body || d.documentElement).appendChild(host);
  open = { element: host, close: () => finish('closed') };
  card.focus({ preventScroll: inline });
  return open;
};

// The survey link page (survey-page.html): the survey is in the page as JSON; show it inline.
const page = () => {
  const data = d.getElementById('touchpath-survey-data'), mount = d.getElementById('touchpath-survey-page');
  if (!data || !mount) return;
  sheet(d, PAGE_CSS);
  show(JSON.parse(data.textContent), { mount, postUrl: mount.getAttribute('data-post-url') || location.pathname });
};

w.touchpathSurvey = { version: '0.1.0', show, close: () => open && open.close() };
if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', page); else page();
})();
