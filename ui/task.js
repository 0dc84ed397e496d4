// A task or a service: its definition in words, the actions ("Run now" for a task, "Restart"
// for a service, "Stop") behind a confirmation, with a refusal shown as the API's sentence;
// confirming "Run now" opens the new run's page. A duration chart of its recent runs, its
// history, and for a service each replica.

import { h, fill, svg, dl, badge, timeEl, ago, duration, outcome, errorText, runLink, taskLink } from './dom.js';
import { api, post } from './api.js';
import { navigate, confirmAction, onRunChange } from './app.js';
import { runRow } from './runs.js';

const HEADINGS = ['Started', 'Outcome', 'Trigger', 'Duration', 'Exit', 'Run'];

// Bars of the recent runs' durations, oldest on the left, coloured by outcome.
export function durationChart(runs) {
  const done = runs.filter((r) => r.duration_ms !== null).slice(0, 60).reverse();
  if (!done.length) return h('p', { class: 'muted' }, 'No finished runs yet.');
  const max = Math.max(...done.map((r) => r.duration_ms), 1);
  const width = 600;
  const height = 120;
  const step = width / Math.max(done.length, 20);
  const chart = svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height + 2}`, role: 'img', preserveAspectRatio: 'none',
    'aria-label': `Durations of the last ${done.length} runs; the longest took ${duration(max)}`,
  });
  done.forEach((r, i) => {
    const barHeight = Math.max(2, (r.duration_ms / max) * height);
    const link = svg('a', { href: `/runs/${encodeURIComponent(r.id)}` },
      svg('rect', {
        class: `bar o-${outcome(r)}`, x: (i * step + 1).toFixed(1), y: (height - barHeight + 1).toFixed(1),
        width: Math.max(1, step - 2).toFixed(1), height: barHeight.toFixed(1),
      }, svg('title', {}, `${duration(r.duration_ms)} · ${outcome(r)} · ${new Date(r.start_at || r.created_at).toLocaleString()}`)));
    chart.append(link);
  });
  return h('figure', { class: 'chart-box' }, chart,
    h('figcaption', { class: 'muted' }, `Longest: ${duration(max)} · oldest left, newest right`));
}

function retries(t) {
  if (!t.retry_attempts) return 'none: a failed run is not retried';
  const times = t.retry_attempts === 1 ? '1 retry' : `${t.retry_attempts} retries`;
  return t.retry_backoff === 'constant' ? `${times}, ${t.retry_delay} apart` : `${times}, the first after ${t.retry_delay}, growing ${t.retry_backoff}`;
}

function notifications(t) {
  const failure = (t.notify_on_failure || []).join(', ');
  const success = (t.notify_on_success || []).join(', ');
  const parts = ['the bell'];
  if (failure) parts.push(`failures to ${failure}`);
  if (success) parts.push(`successes to ${success}`);
  return parts.join('; ');
}

function serviceState(s) {
  if (!s) return '—';
  if (s.state === 'running') return 'running';
  if (s.state === 'backoff') return `backing off (attempt ${s.attempt}, next ${ago(s.next_attempt_at)})`;
  return s.state;
}

export function mount(main, [name]) {
  document.title = `${name} · runwisp`;
  const head = h('div', {}, h('h1', {}, name), h('p', { class: 'muted' }, 'Loading…'));
  const error = h('p', { class: 'error', role: 'alert', id: 'action-error' });
  const chart = h('section', { 'aria-labelledby': 'chart-title' }, h('h2', { id: 'chart-title' }, 'Durations'));
  const body = h('tbody');
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older runs');
  main.append(head, error, chart,
    h('section', { 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, 'History'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'history' },
        h('thead', {}, h('tr', {}, HEADINGS.map((t) => h('th', { scope: 'col' }, t)))), body)),
      more));
  let task = null;
  let before = null;
  const path = `/api/tasks/${encodeURIComponent(name)}`;

  const act = async (what) => {
    if (!task) return;
    const service = task.kind === 'service';
    const texts = {
      run: ['Run now?', `Start ${name} now? You will follow its log.`, 'Run now'],
      restart: ['Restart?', `Replace every replica of ${name}?`, 'Restart'],
      stop: ['Stop?', service ? `Stop every replica of ${name}? It stays stopped until restarted.` : `Stop every active run of ${name}?`, 'Stop'],
    };
    if (!(await confirmAction(...texts[what]))) return;
    error.textContent = '';
    try {
      if (what === 'run') {
        const run = await post(`${path}/run`, { triggered_by: 'web' });
        navigate(`/runs/${encodeURIComponent(run.id)}`);
        return;
      }
      await post(`${path}/${what}`);
      load();
    } catch (e) {
      error.textContent = errorText(e);
    }
  };

  const showTask = (t) => {
    task = t;
    const service = t.kind === 'service';
    const actions = h('div', { class: 'actions' },
      service
        ? h('button', { type: 'button', class: 'primary', id: 'restart', onclick: () => act('restart') }, 'Restart')
        : h('button', { type: 'button', class: 'primary', id: 'run-now', onclick: () => act('run') }, 'Run now'),
      h('button', { type: 'button', class: 'danger', id: 'stop', onclick: () => act('stop') }, 'Stop'));
    const zone = t.timezone ? ` (${t.timezone})` : '';
    fill(head,
      h('div', { class: 'title-row' }, h('h1', {}, t.name), h('span', { class: 'kind' }, t.kind),
        h('span', { class: 'spacer' }), actions),
      t.description ? h('p', {}, t.description) : null,
      dl([
        t.group ? ['Group', t.group] : null,
        service ? null : ['Schedule', t.schedule ? `${t.schedule}${zone}` : 'not scheduled (runs when triggered)'],
        t.cron ? ['Cron', h('code', {}, t.cron)] : null,
        service ? null : ['Next run', t.next_run_at ? [timeEl(t.next_run_at), ` (${ago(t.next_run_at)}, your time)`] : '—'],
        t.next_runs && t.next_runs.length > 1 ? ['Then', h('ol', { class: 'next-runs', id: 'next-runs' }, t.next_runs.slice(1).map((at) => h('li', {}, timeEl(at))))] : null,
        service ? null : ['Overlap', `${t.on_overlap || '—'}, at most ${t.max_concurrent ?? '—'} at once`],
        service ? ['State', t.stopped ? 'stopped by an operator' : serviceState(t.state)] : null,
        service ? ['Replicas', String(t.instances ?? '—')] : null,
        ['Active runs', t.active_runs.length ? t.active_runs.map((id) => [runLink({ id }), ' ']) : 'none'],
        t.queued ? ['Queued', String(t.queued)] : null,
        service ? null : ['Retries', h('span', { id: 'task-retries' }, retries(t))],
        service ? null : ['Timeout', h('span', { id: 'task-timeout' }, t.timeout ? `${t.timeout}, then stopped` : 'none')],
        ['Notifications', h('span', { id: 'task-notify' }, notifications(t))],
        ['Triggering from the API', t.api_trigger ? 'allowed' : 'disabled'],
        t.kind === 'pipeline' ? ['Steps', h('ol', { class: 'tree', id: 'pipeline-steps' }, (t.steps || []).map((s) => h('li', {},
          h('span', { class: 'step-pos muted mono' }, s.step), ' ', taskLink(s.name),
          s.kind === 'pipeline' ? ' (pipeline)' : '',
          s.fail_fast !== null && s.fail_fast !== undefined ? h('span', { class: 'muted small' }, s.fail_fast ? ' parallel, fail fast' : ' parallel') : '',
          s.continue_on_failure ? h('span', { class: 'muted small' }, ' continues on failure') : '',
          s.on_interrupt !== 'retry' ? h('span', { class: 'muted small' }, ` on interrupt: ${s.on_interrupt}`) : '')))] : null,
        ['Last run', t.last_run ? [badge(t.last_run), ' ', timeEl(t.last_run.start_at), ' ', runLink(t.last_run)] : 'never ran'],
      ]),
      service && t.replicas ? h('div', { class: 'table-wrap' }, h('table', { id: 'replicas' },
        h('caption', {}, 'Replicas'),
        h('thead', {}, h('tr', {}, ['Replica', 'State', 'Up', 'Restarts', 'Run'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, t.replicas.map((r) => h('tr', { 'data-replica': String(r.index) },
          h('td', { class: 'num' }, String(r.index)),
          h('td', {}, serviceState(r)),
          h('td', { class: 'replica-up' }, r.since ? h('time', { datetime: r.since, title: new Date(r.since).toString() }, duration(Date.now() - Date.parse(r.since))) : '—'),
          h('td', { class: 'num replica-restarts' }, r.restarts === undefined ? '—' : String(r.restarts)),
          h('td', {}, r.run_id ? runLink({ id: r.run_id }) : '—')))))) : null);
  };

  const loadRuns = async (reset) => {
    const q = new URLSearchParams({ limit: '50' });
    if (!reset && before) q.set('before', before);
    const page = await api(`${path}/runs?${q}`);
    if (reset) {
      body.replaceChildren();
      chart.replaceChildren(h('h2', { id: 'chart-title' }, 'Durations'), durationChart(page.runs));
    }
    body.append(...page.runs.map((r) => runRow(r, { showTask: false })));
    before = page.next_before;
    more.hidden = !before;
  };

  const load = async () => {
    try {
      showTask(await api(path));
      await loadRuns(true);
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  more.addEventListener('click', () => loadRuns(false).catch((e) => { error.textContent = errorText(e); }));
  load();

  let timer = null;
  const off = onRunChange((_kind, run) => {
    if (run.task_name !== name) return;
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });

  return {
    destroy() { off(); clearTimeout(timer); },
    refresh: load,
    keys: {
      r: () => act(task && task.kind === 'service' ? 'restart' : 'run'),
      s: () => act('stop'),
    },
  };
}
