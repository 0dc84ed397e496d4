// Server-sent events with reconnection. The browser's EventSource carries the runwisp_jwt
// cookie. When a stream fails, this closes it, tells whether the daemon is unreachable or the
// session ended (then back to the login), and opens it again with a growing delay; the
// connection state (and its banner) is shared by every stream of the page, and listeners of
// `onReconnect` catch up on what they missed while it was down.

import { toLogin } from './api.js';

const state = { up: true, everUp: false, listeners: new Set(), reconnect: new Set() };

export function onConnection(fn) {
  state.listeners.add(fn);
  fn(state.up);
  return () => state.listeners.delete(fn);
}

// `fn` runs each time the daemon is reachable again after it was not.
export function onReconnect(fn) {
  state.reconnect.add(fn);
  return () => state.reconnect.delete(fn);
}

function setUp(up) {
  if (state.up === up) return;
  state.up = up;
  for (const fn of state.listeners) fn(up);
  if (up) for (const fn of [...state.reconnect]) fn();
}

// Whether the daemon answers and this session is still logged in.
export async function probe() {
  try {
    const r = await fetch('/api/auth/status', { cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) return 'down';
    const status = await r.json();
    return status.authenticated ? 'up' : 'logged-out';
  } catch (_) {
    return 'down';
  }
}

// Parses an event's data as JSON (as is when it is not).
function parsed(text) {
  try { return text ? JSON.parse(text) : null; } catch (_) { return text; }
}

// One stream: `url()` gives where to (re)connect (so a log resumes after its last line),
// `events` maps event names to handlers of the parsed JSON data.
export class Stream {
  constructor(url, events, { onOpen } = {}) {
    this.url = url;
    this.events = events;
    this.onOpen = onOpen;
    this.source = null;
    this.timer = null;
    this.delay = 500;
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const source = new EventSource(this.url(), { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.delay = 500;
      state.everUp = true;
      setUp(true);
      if (this.onOpen) this.onOpen();
    };
    for (const [name, handler] of Object.entries(this.events)) {
      source.addEventListener(name, (event) => handler(parsed(event.data), event));
    }
    source.onerror = () => this.failed();
  }

  // The stream ended or could not open: find out why, then try again later.
  async failed() {
    if (this.closed) return;
    if (this.source) this.source.close();
    this.source = null;
    const why = await probe();
    if (this.closed) return;
    if (why === 'logged-out') {
      toLogin();
      return;
    }
    if (why === 'down') setUp(false);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 4000);
  }

  // Ends this stream for good (the page is left, or the run's log is complete).
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}

// The streams every page follows (the runs, the notifications) go through one shared worker
// for all the tabs of this browser (`hub.js`): a browser opens at most six connections to one
// host, and two streams per tab left a fourth tab waiting. Where no shared worker can run, the
// tab opens them itself (`Stream`). `follow(url, events, {onOpen})` answers as a `Stream` does.
const hub = { port: null, failed: typeof SharedWorker !== 'function', followed: new Map() };

function startHub() {
  if (hub.port || hub.failed) return;
  try {
    const worker = new SharedWorker(new URL('./hub.js', import.meta.url), { type: 'module', name: 'runwisp' });
    worker.onerror = () => {
      // The worker could not start: every stream falls back to one of the tab's own.
      hub.failed = true;
      hub.port = null;
      for (const shared of hub.followed.values()) shared.fallBack();
    };
    hub.port = worker.port;
    hub.port.onmessage = (m) => heard(m.data || {});
    hub.port.start();
    addEventListener('pagehide', () => { if (hub.port) hub.port.postMessage({ type: 'bye' }); });
    // Back from the browser's page cache: the worker was told `bye`, so follow again.
    addEventListener('pageshow', (e) => {
      if (e.persisted) for (const shared of hub.followed.values()) shared.follow();
    });
  } catch (_) {
    hub.failed = true;
  }
}

function heard(msg) {
  if (msg.type === 'logged-out') {
    toLogin();
    return;
  }
  if (msg.type === 'down') {
    setUp(false);
    return;
  }
  const shared = hub.followed.get(msg.url);
  if (!shared || shared.own) return;
  if (msg.type === 'open') {
    setUp(true);
    if (shared.onOpen) shared.onOpen();
  } else if (msg.type === 'event' && shared.events[msg.name]) {
    shared.events[msg.name](parsed(msg.data), { data: msg.data });
  }
}

class Shared {
  constructor(url, events, { onOpen } = {}) {
    this.url = url;
    this.events = events;
    this.onOpen = onOpen;
    this.own = null;
    hub.followed.set(url, this);
    this.follow();
  }

  follow() {
    if (hub.port) hub.port.postMessage({ type: 'follow', url: this.url, events: Object.keys(this.events) });
    else this.fallBack();
  }

  fallBack() {
    if (!this.own) this.own = new Stream(() => this.url, this.events, { onOpen: this.onOpen });
  }

  close() {
    hub.followed.delete(this.url);
    if (this.own) this.own.close();
    else if (hub.port) hub.port.postMessage({ type: 'unfollow', url: this.url });
  }
}

export function follow(url, events, options) {
  startHub();
  return new Shared(url, events, options);
}
