// The web UI's entry: the router (every page is a module with `mount(main, params, query)`
// returning `{destroy, refresh, keys}`), the header (connection state, the bell), the banners,
// the keyboard, and the confirmation dialog the pages share. The UI holds no truth of its
// own: each page asks the API and listens to its streams.

import { token, insecure, toLogin } from './api.js';
import { follow, onConnection, onReconnect } from './live.js';
import { Bell } from './bell.js';
import * as login from './login.js';
import * as overview from './overview.js';
import * as runs from './runs.js';
import * as task from './task.js';
import * as run from './run.js';

const ROUTES = [
  [/^\/$/, overview, 'overview'],
  [/^\/runs$/, runs, 'runs'],
  [/^\/runs\/([^/]+)$/, run, 'runs'],
  [/^\/tasks\/([^/]+)$/, task, null],
  [/^\/login$/, login, null],
];

const main = document.getElementById('main');
let current = null;
let bell = null;
let runStream = null;
// Pages listen to run changes through this, so one stream serves them all.
const runListeners = new Set();

export function onRunChange(fn) {
  runListeners.add(fn);
  return () => runListeners.delete(fn);
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// Asks the user to confirm `text`; resolves to whether they did.
export function confirmAction(title, text, okLabel) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-ok').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

function startLive() {
  if (runStream) return;
  const tell = (kind) => (run) => { for (const fn of runListeners) fn(kind, run); };
  runStream = follow('/api/runs/stream', {
    'run.created': tell('created'),
    'run.started': tell('started'),
    'run.ended': tell('ended'),
    lagged: () => { if (current && current.refresh) current.refresh(); },
  });
  bell = new Bell();
  onConnection((up) => {
    const conn = document.getElementById('conn');
    conn.textContent = up ? 'live' : 'reconnecting…';
    conn.className = up ? 'conn up' : 'conn down';
    document.getElementById('down').hidden = up;
  });
  onReconnect(() => {
    if (current && current.refresh) current.refresh();
    if (bell) bell.refresh();
  });
}

function render() {
  if (current && current.destroy) current.destroy();
  current = null;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const match = ROUTES.map(([re, page, nav]) => [path.match(re), page, nav]).find(([m]) => m);
  const isLogin = match && match[1] === login;
  if (!isLogin && !token()) {
    toLogin();
    return;
  }
  document.getElementById('top').hidden = isLogin;
  document.getElementById('insecure').hidden = !insecure();
  for (const a of document.querySelectorAll('nav a')) {
    if (match && a.dataset.nav === match[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (!match) {
    document.title = 'Not found · runwisp';
    main.append(Object.assign(document.createElement('h1'), { textContent: 'No such page' }));
    return;
  }
  if (!isLogin) startLive();
  const params = match[0].slice(1).map((p) => decodeURIComponent(p));
  current = match[1].mount(main, params, query) || {};
}

// Same-origin links move within the page instead of reloading it.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a');
  if (!a || a.hasAttribute('download') || a.target) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/')) return;
  e.preventDefault();
  navigate(href);
});

window.addEventListener('popstate', render);

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (document.querySelector('dialog[open]')) return;
  const keys = (current && current.keys) || {};
  if (e.key === '?') {
    document.getElementById('help').showModal();
  } else if (e.key === 'n' && bell) {
    bell.toggle();
  } else if (e.key === 'Escape' && bell) {
    bell.close();
  } else if (keys[e.key]) {
    keys[e.key]();
  } else {
    return;
  }
  e.preventDefault();
});

document.getElementById('help-button').addEventListener('click', () => {
  document.getElementById('help').showModal();
});

render();
