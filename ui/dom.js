// Small DOM and formatting helpers shared by every page. Text always goes in as text
// (textContent), never as markup, so nothing the daemon or a log says can run in the page.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('a', {href: '/runs', class: 'x', onclick: fn}, 'text', child…)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'text') {
      el.textContent = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

// Replaces what `el` holds with `children` (nested arrays, and null for nothing, allowed).
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

// The page's only mutable state lives in `app.js`; this just formats.
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: new Date(iso).toString() }, time(iso)) : '—';
}

export function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  const text = a < 60 ? `${a}s` : a < 3600 ? `${Math.round(a / 60)}m` : a < 86400 ? `${Math.round(a / 3600)}h` : `${Math.round(a / 86400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function uptime(seconds) {
  return duration(seconds * 1000);
}

// What a run came to, as one word a class and a badge are named after.
export function outcome(run) {
  if (!run) return 'none';
  if (run.status !== 'ended') return run.status; // pending, running
  return run.end_reason || 'ended';
}

const BAD = new Set(['failed', 'timeout', 'crashed', 'log_overflow', 'queue_full']);
export function isBad(word) {
  return BAD.has(word);
}

export function badge(run) {
  const word = outcome(run);
  const text = word === 'none' ? 'never ran' : word.replace('_', ' ');
  const exit = run && run.status === 'ended' && run.end_reason === 'failed' && run.exit_code !== null
    ? ` (exit ${run.exit_code})` : '';
  return h('span', { class: `badge-o o-${word}` }, text + exit);
}

export function shortId(id) {
  return id ? id.slice(-8) : '';
}

export function runLink(run) {
  return h('a', { href: `/runs/${encodeURIComponent(run.id)}`, class: 'mono', title: run.id }, shortId(run.id));
}

export function taskLink(name) {
  return h('a', { href: `/tasks/${encodeURIComponent(name)}` }, name);
}

export function table(caption, headings, rows, cls) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: cls || '' },
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function errorText(e) {
  return (e && (e.detail || e.message)) || String(e);
}
