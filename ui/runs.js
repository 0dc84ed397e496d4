// Every run, newest first: filters by task, status or end reason, and trigger (kept in the
// address, so `/runs?task=X&status=failed` is a link), paged with `before`, and live: a new
// run that matches appears at the top, a run that changes is redrawn in place.

import { h, table, badge, timeEl, duration, taskLink, runLink, errorText } from './dom.js';
import { api } from './api.js';
import { navigate, onRunChange } from './app.js';

const STATUSES = ['pending', 'running', 'ended'];
const REASONS = ['success', 'failed', 'timeout', 'stopped', 'crashed', 'skipped', 'queue_full', 'log_overflow'];
const TRIGGERS = ['cron', 'catch_up', 'api', 'cli', 'tui', 'web', 'retry', 'restart', 'service', 'webhook'];

// The API's query for the page's filters: `status` may name a state or an end reason.
export function apiQuery(filters) {
  const q = new URLSearchParams();
  if (filters.task) q.set('task', filters.task);
  if (STATUSES.includes(filters.status)) q.set('status', filters.status);
  else if (REASONS.includes(filters.status)) q.set('end_reason', filters.status);
  if (filters.trigger) q.set('triggered_by', filters.trigger);
  return q;
}

export function matches(filters, run) {
  if (filters.task && run.task_name !== filters.task) return false;
  if (STATUSES.includes(filters.status) && run.status !== filters.status) return false;
  if (REASONS.includes(filters.status) && run.end_reason !== filters.status) return false;
  if (filters.trigger && run.triggered_by !== filters.trigger) return false;
  return true;
}

export function runRow(run, { showTask = true } = {}) {
  return h('tr', { 'data-run': run.id },
    h('td', {}, timeEl(run.start_at || run.created_at)),
    showTask ? h('td', {}, taskLink(run.task_name)) : null,
    h('td', {}, badge(run)),
    h('td', {}, run.triggered_by),
    h('td', { class: 'num' }, duration(run.duration_ms)),
    h('td', { class: 'num' }, run.exit_code === null ? '—' : String(run.exit_code)),
    h('td', {}, runLink(run)));
}

export const RUN_HEADINGS = ['Started', 'Task', 'Outcome', 'Trigger', 'Duration', 'Exit', 'Run'];

function select(id, label, value, options) {
  return [
    h('label', { for: id }, label),
    h('select', { id, name: id },
      h('option', { value: '' }, 'any'),
      options.map((o) => h('option', { value: o, selected: o === value }, o.replace('_', ' ')))),
  ];
}

export function mount(main, _params, query) {
  document.title = 'Runs · runwisp';
  const filters = { task: query.get('task') || '', status: query.get('status') || '', trigger: query.get('trigger') || query.get('triggered_by') || '' };
  const body = h('tbody');
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older runs');
  const error = h('p', { class: 'error', role: 'alert' });
  const taskSelect = select('f-task', 'Task', filters.task, filters.task ? [filters.task] : []);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
    taskSelect,
    select('f-status', 'Status', filters.status, [...STATUSES, ...REASONS]),
    select('f-trigger', 'Trigger', filters.trigger, TRIGGERS));
  form.addEventListener('change', () => {
    const next = new URLSearchParams();
    for (const [key, id] of [['task', 'f-task'], ['status', 'f-status'], ['trigger', 'f-trigger']]) {
      const value = form.querySelector(`#${id}`).value;
      if (value) next.set(key, value);
    }
    const qs = next.toString();
    navigate(qs ? `/runs?${qs}` : '/runs', { replace: true });
  });
  main.append(
    h('h1', {}, 'Runs'),
    form,
    error,
    h('div', { class: 'table-wrap' }, h('table', { id: 'runs' },
      h('thead', {}, h('tr', {}, RUN_HEADINGS.map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    more);

  api('/api/tasks').then(({ tasks }) => {
    const sel = form.querySelector('#f-task');
    sel.replaceChildren(h('option', { value: '' }, 'any'),
      ...tasks.map((t) => h('option', { value: t.name, selected: t.name === filters.task }, t.name)));
  }).catch(() => {});

  let before = null;
  const loadPage = async (reset) => {
    const q = apiQuery(filters);
    q.set('limit', '50');
    if (!reset && before) q.set('before', before);
    try {
      const page = await api(`/api/runs?${q}`);
      if (reset) body.replaceChildren();
      body.append(...page.runs.map((r) => runRow(r)));
      if (reset && !page.runs.length) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No runs match.')));
      before = page.next_before;
      more.hidden = !before;
      error.textContent = '';
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  more.addEventListener('click', () => loadPage(false));
  loadPage(true);

  const off = onRunChange((_kind, run) => {
    const existing = body.querySelector(`tr[data-run="${CSS.escape(run.id)}"]`);
    if (existing) {
      if (matches(filters, run)) existing.replaceWith(runRow(run));
      else existing.remove();
    } else if (matches(filters, run)) {
      // New here: a run just created, or one that now matches (it ended as the filter asks).
      const empty = body.querySelector('td[colspan]');
      if (empty) empty.parentElement.remove();
      body.prepend(runRow(run));
    }
  });

  return {
    destroy: off,
    refresh: () => loadPage(true),
    keys: { '/': () => form.querySelector('#f-task').focus() },
  };
}
