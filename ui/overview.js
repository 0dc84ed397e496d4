// The overview: the daemon (fingerprint, version, zone, uptime), counts (running, failed in
// the last 24 hours, services up and down), tasks, services and pipelines by group with their state,
// schedule, next firing and last run, and the timeline: one row per task, every run a bar
// from start to end coloured by its outcome, the last 24 hours (or a chosen day), filterable
// by outcome, each bar a link to its run, the next firing drawn faintly right of now.

import { h, svg, badge, timeEl, ago, uptime, outcome, isBad, taskLink, errorText, duration } from './dom.js';
import { api } from './api.js';
import { onRunChange } from './app.js';

const DAY = 86400000;
const AHEAD = 3 * 3600000;
// At most this many runs are drawn (pages of 1,000 from the API).
const MAX_RUNS = 5000;

function glyph(t) {
  if (t.kind === 'service') {
    if (t.stopped) return ['■', 'stopped', 'stopped'];
    if (t.state && t.state.state === 'backoff') return ['▲', 'failed', 'backing off'];
    return ['●', 'running', 'up'];
  }
  if (t.active_runs.length) return ['●', 'running', 'running'];
  const o = outcome(t.last_run);
  if (isBad(o)) return ['✖', 'failed', `last run ${o}`];
  if (o === 'success') return ['✔', 'success', 'last run succeeded'];
  return ['○', 'none', o === 'none' ? 'never ran' : `last run ${o}`];
}

// Runs created in [from, to), newest first, a page of 1,000 at a time.
async function runsBetween(from, to) {
  const out = [];
  let before = null;
  while (out.length < MAX_RUNS) {
    const q = new URLSearchParams({ limit: '1000' });
    if (before) q.set('before', before);
    const page = await api(`/api/runs?${q}`);
    for (const r of page.runs) {
      const t = Date.parse(r.created_at);
      if (t < to && (Date.parse(r.end_at || r.created_at) >= from || r.status !== 'ended')) out.push(r);
    }
    const oldest = page.runs[page.runs.length - 1];
    if (!page.next_before || !oldest || Date.parse(oldest.created_at) < from - DAY) break;
    before = page.next_before;
  }
  return out;
}

function timeline(tasks, runs, from, to, filter) {
  const now = Date.now();
  const span = to - from;
  const x = (t) => Math.min(1000, Math.max(0, ((t - from) / span) * 1000));
  const byTask = new Map(tasks.map((t) => [t.name, []]));
  for (const r of runs) {
    if (filter === 'bad' ? !isBad(outcome(r)) : filter && outcome(r) !== filter) continue;
    if (byTask.has(r.task_name)) byTask.get(r.task_name).push(r);
  }
  const row = (t) => {
    const track = svg('svg', { class: 'track', viewBox: '0 0 1000 10', preserveAspectRatio: 'none', 'aria-hidden': 'false', role: 'list' });
    if (now > from && now < to) track.append(svg('line', { class: 'now', x1: x(now), x2: x(now), y1: 0, y2: 10 }));
    if (t.next_run_at) {
      const next = Date.parse(t.next_run_at);
      if (next > from && next < to) {
        track.append(svg('rect', { class: 'upcoming', x: x(next), y: 1, width: 3, height: 8 },
          svg('title', {}, `next: ${new Date(next).toLocaleString()}`)));
      }
    }
    for (const r of byTask.get(t.name)) {
      const start = Date.parse(r.start_at || r.created_at);
      const end = r.end_at ? Date.parse(r.end_at) : now;
      const x0 = x(start);
      const label = `${t.name}: ${outcome(r)}, ${new Date(start).toLocaleString()}, ${duration(r.duration_ms)} (${r.triggered_by})`;
      track.append(svg('a', { href: `/runs/${encodeURIComponent(r.id)}`, role: 'listitem', 'aria-label': label },
        svg('rect', { class: `bar o-${outcome(r)}`, x: x0.toFixed(2), y: 1, width: Math.max(2, x(end) - x0).toFixed(2), height: 8 },
          svg('title', {}, label))));
    }
    return h('div', { class: 'tl-row' }, h('div', { class: 'tl-name' }, taskLink(t.name)), track);
  };
  const ticks = [];
  for (let i = 0; i <= 4; i++) {
    const t = from + (span * i) / 4;
    ticks.push(h('span', {}, new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
  }
  const rows = h('div', { class: 'tl-rows' });
  return {
    els: [rows, h('div', { class: 'tl-axis', 'aria-hidden': 'true' }, h('span'), h('div', {}, ticks))],
    jobs: tasks.map((t) => () => rows.append(row(t))),
  };
}

// Rows drawn in one go before the page first paints: a screenful and more.
const FIRST_ROWS = 60;
// Then the rest a slice at a time, each at most this long, yielding to input in between, so a
// thousand tasks never keep the page from answering.
const SLICE_MS = 8;

// A way to run again as soon as the page has handled what is waiting (setTimeout(0) is clamped
// to 4 ms once nested).
function soon(fn) {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => fn();
  channel.port2.postMessage(null);
}

// Fills one part of the page (`drawn.els`, filled by `drawn.jobs`) into `target`. In place
// (the page's first draw, a changed filter): the first `first` rows at once, the rest in
// slices. Otherwise (a refresh) off-screen, swapped in once every row is there, so a busy
// daemon never shows a list shrinking and growing. A later call abandons an earlier one's rest.
function drawer(target) {
  let current = 0;
  return {
    show(drawn, inPlace, first) {
      const me = ++current;
      const jobs = drawn.jobs;
      let i = 0;
      if (inPlace) {
        target.replaceChildren(...drawn.els);
        while (i < jobs.length && i < first) jobs[i++]();
      }
      const slice = () => {
        if (me !== current) return;
        const until = performance.now() + SLICE_MS;
        while (i < jobs.length && performance.now() < until) jobs[i++]();
        if (i < jobs.length) soon(slice);
        else if (!inPlace) target.replaceChildren(...drawn.els);
      };
      // After the page has had its chance to paint what is in place.
      soon(slice);
    },
    cancel() {
      current += 1;
    },
  };
}

export function mount(main) {
  document.title = 'Overview · runwisp';
  const daemon = h('section', { class: 'card', 'aria-labelledby': 'daemon-title' }, h('h2', { id: 'daemon-title' }, 'Daemon'));
  const counts = h('section', { class: 'counts', 'aria-label': 'Counts' });
  const list = h('section', { 'aria-labelledby': 'tasks-title' }, h('h2', { id: 'tasks-title' }, 'Tasks, services and pipelines'));
  const error = h('p', { class: 'error', role: 'alert' });
  const day = h('input', { type: 'date', id: 'tl-day' });
  const filter = h('select', { id: 'tl-filter' },
    h('option', { value: '' }, 'every outcome'),
    h('option', { value: 'bad' }, 'failures'),
    ['success', 'failed', 'timeout', 'crashed', 'stopped', 'skipped', 'running'].map((o) => h('option', { value: o }, o)));
  const tl = h('div', { class: 'timeline', id: 'timeline' });
  const tlTitle = h('h2', { id: 'tl-title' }, 'Last 24 hours');
  main.append(h('h1', { class: 'sr-only' }, 'Overview'), error, h('div', { class: 'top-cards' }, daemon, counts), list,
    h('section', { 'aria-labelledby': 'tl-title' },
      h('div', { class: 'title-row' }, tlTitle, h('span', { class: 'spacer' }),
        h('label', { for: 'tl-day' }, 'Day'), day,
        h('label', { for: 'tl-filter' }, 'Show'), filter),
      tl));
  let tasks = [];
  let runs = [];
  const taskRows = drawer(list);
  const timelineRows = drawer(tl);
  let drawnOnce = false;
  let range = null;

  const window24 = () => {
    if (day.value) {
      const from = new Date(`${day.value}T00:00:00`).getTime();
      return [from, from + DAY];
    }
    const now = Date.now();
    return [now - DAY, now + AHEAD];
  };

  const drawTimeline = () => {
    const [from, to] = range;
    tlTitle.textContent = day.value ? `Runs on ${new Date(from).toLocaleDateString()}` : 'Last 24 hours';
    return timeline(tasks.filter((t) => t.kind !== 'service'), runs, from, to, filter.value);
  };

  const drawTasks = (info) => {
    daemon.replaceChildren(h('h2', { id: 'daemon-title' }, info.hostname || 'Daemon'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Fingerprint'), h('dd', { class: 'mono' }, info.fingerprint),
        h('dt', {}, 'Version'), h('dd', {}, info.version),
        h('dt', {}, 'Zone'), h('dd', {}, `${info.timezone} (from ${info.timezone_source})`),
        h('dt', {}, 'Up'), h('dd', {}, `${uptime(info.uptime_s)} (since ${new Date(info.started_at).toLocaleString()})`)));
    const services = tasks.filter((t) => t.kind === 'service');
    const up = services.filter((s) => !s.stopped && s.state && s.state.state !== 'backoff').length;
    const running = tasks.reduce((n, t) => n + t.active_runs.length, 0);
    const since = Date.now() - DAY;
    const failed = runs.filter((r) => isBad(outcome(r)) && Date.parse(r.end_at || r.created_at) >= since).length;
    const count = (n, label, cls) => h('div', { class: `count ${cls}` }, h('strong', {}, String(n)), h('span', {}, label));
    counts.replaceChildren(
      count(running, 'running', 'running'),
      count(failed, 'failed in 24 h', failed ? 'failed' : ''),
      count(up, 'services up', ''),
      count(services.length - up, 'services down', services.length - up ? 'failed' : ''));
    const groups = new Map();
    for (const t of tasks) {
      const g = t.group || '';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(t);
    }
    const jobs = [];
    const sections = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, members]) => {
      const body = h('tbody');
      for (const t of members) jobs.push(() => body.append(taskRow(t)));
      return h('div', { class: 'table-wrap tasks-group' }, h('table', { class: 'tasks' },
        h('caption', {}, group || 'Ungrouped'),
        h('thead', {}, h('tr', {}, ['', 'Name', 'Schedule', 'Next run', 'Last run'].map((x, i) => h('th', { scope: 'col', class: i ? '' : 'glyph' }, x || h('span', { class: 'sr-only' }, 'State'))))),
        body));
    });
    return { els: [h('h2', { id: 'tasks-title' }, `Tasks, services and pipelines (${tasks.length})`), ...sections], jobs };
  };

  const taskRow = (t) => {
    const [g, cls, label] = glyph(t);
    const name = t.kind === 'service' ? `${t.name} ×${t.instances}` : t.name;
    return h('tr', { 'data-task': t.name },
      h('td', { class: `glyph o-${cls}`, title: label }, h('span', { 'aria-hidden': 'true' }, g), h('span', { class: 'sr-only' }, label)),
      h('td', {}, h('a', { href: `/tasks/${encodeURIComponent(t.name)}` }, name), t.description ? h('div', { class: 'muted small' }, t.description) : null),
      h('td', {}, t.kind === 'service' ? 'service' : (t.schedule || 'on demand'), t.kind === 'pipeline' ? h('div', { class: 'muted small' }, `pipeline: ${new Set((t.steps || []).map((x) => x.step.split('.')[0])).size} steps`) : null, t.cron ? h('div', { class: 'muted small mono' }, t.cron) : null),
      h('td', {}, t.next_run_at ? [timeEl(t.next_run_at), h('div', { class: 'muted small' }, ago(t.next_run_at))] : '—'),
      h('td', {}, t.last_run ? [badge(t.last_run), ' ', h('a', { href: `/runs/${encodeURIComponent(t.last_run.id)}`, class: 'small' }, ago(t.last_run.end_at || t.last_run.start_at) || 'open')] : h('span', { class: 'muted' }, 'never ran')));
  };

  const load = async () => {
    try {
      range = window24();
      const [info, list_, got] = await Promise.all([api('/api/info'), api('/api/tasks'), runsBetween(range[0], range[1])]);
      tasks = list_.tasks;
      runs = got;
      // The first draw fills the page as it goes, the task rows first (the top of the page);
      // a refresh swaps each part in once it is complete.
      const inPlace = !drawnOnce;
      drawnOnce = true;
      taskRows.show(drawTasks(info), inPlace, FIRST_ROWS);
      timelineRows.show(drawTimeline(), inPlace, 0);
      error.textContent = '';
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  day.addEventListener('change', load);
  filter.addEventListener('change', () => timelineRows.show(drawTimeline(), true, FIRST_ROWS));
  load();

  let timer = null;
  const off = onRunChange(() => {
    clearTimeout(timer);
    timer = setTimeout(load, 400);
  });
  return {
    destroy() { off(); clearTimeout(timer); taskRows.cancel(); timelineRows.cancel(); },
    refresh: load,
    keys: { '/': () => filter.focus() },
  };
}
