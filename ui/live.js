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
async function probe() {
  try {
    const r = await fetch('/api/auth/status', { cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) return 'down';
    const status = await r.json();
    return status.authenticated ? 'up' : 'logged-out';
  } catch (_) {
    return 'down';
  }
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
      source.addEventListener(name, (event) => {
        let data = null;
        try { data = event.data ? JSON.parse(event.data) : null; } catch (_) { data = event.data; }
        handler(data, event);
      });
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
