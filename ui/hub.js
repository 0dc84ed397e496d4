// A shared worker: the streams every page of the UI follows (the runs, the notifications),
// opened once for all the tabs of a browser instead of once per tab. A browser opens at most
// six HTTP/1.1 connections to one host, and a tab following two streams of its own left a
// fourth tab waiting forever for its first answer.
//
// A tab sends `{type: 'follow', url, events}` for each stream (`unfollow` to stop), and
// `{type: 'bye'}` when it is left. The worker opens each URL once, relays the named events to
// the tabs that follow them (`{type: 'event', url, name, data}`), and tells them when a stream
// opens (`open`), when the daemon cannot be reached (`down`) and when the session ended
// (`logged-out`). A stream that fails is closed, the daemon asked why, and opened again with a
// growing delay, as a tab's own stream is (`live.js`). A stream nobody follows any more is
// closed. It is a module worker: a browser that cannot start one tells the tab, which then
// opens its streams itself.

import { probe } from './live.js';

const streams = new Map();

// A tab that crashed never says `bye`: its port stays among the followers, and messages to it
// go nowhere, until the browser ends the worker with its last tab.
addEventListener('connect', (e) => {
  const port = e.ports[0];
  port.onmessage = (m) => {
    const msg = m.data || {};
    if (msg.type === 'follow') follow(port, String(msg.url), Array.from(msg.events || []));
    else if (msg.type === 'unfollow') unfollow(port, String(msg.url));
    else if (msg.type === 'bye') for (const url of [...streams.keys()]) unfollow(port, url);
  };
  port.start();
});

function follow(port, url, events) {
  let s = streams.get(url);
  if (!s) {
    s = { url, source: null, followers: new Map(), names: new Set(), timer: null, delay: 500 };
    streams.set(url, s);
  }
  s.followers.set(port, new Set(events));
  const added = events.filter((name) => !s.names.has(name));
  for (const name of added) s.names.add(name);
  if (s.source) {
    for (const name of added) relay(s, s.source, name);
    if (s.source.readyState === EventSource.OPEN) port.postMessage({ type: 'open', url });
  } else if (!s.timer) {
    connect(s);
  }
}

function unfollow(port, url) {
  const s = streams.get(url);
  if (!s || !s.followers.delete(port) || s.followers.size > 0) return;
  streams.delete(url);
  clearTimeout(s.timer);
  if (s.source) s.source.close();
  s.source = null;
}

function tell(s, msg) {
  for (const port of s.followers.keys()) port.postMessage(msg);
}

function connect(s) {
  s.timer = null;
  const source = new EventSource(s.url);
  s.source = source;
  for (const name of s.names) relay(s, source, name);
  source.onopen = () => {
    s.delay = 500;
    tell(s, { type: 'open', url: s.url });
  };
  source.onerror = () => failed(s, source);
}

function relay(s, source, name) {
  source.addEventListener(name, (event) => {
    for (const [port, names] of s.followers) {
      if (names.has(name)) port.postMessage({ type: 'event', url: s.url, name, data: event.data });
    }
  });
}

async function failed(s, source) {
  if (s.source !== source) return;
  source.close();
  s.source = null;
  const why = await probe();
  if (streams.get(s.url) !== s) return;
  if (why === 'logged-out') {
    // Every tab goes to the login; the one that logs in follows again.
    tell(s, { type: 'logged-out' });
    streams.delete(s.url);
    return;
  }
  if (why === 'down') tell(s, { type: 'down' });
  clearTimeout(s.timer);
  s.timer = setTimeout(() => connect(s), s.delay);
  s.delay = Math.min(s.delay * 2, 4000);
}
