// One run: its header (task, state, trigger, times, duration, exit code, end reason, message,
// retry chain), "Stop" while it runs, and its log, live: replayed from the start (the last
// lines the page keeps), then followed until the run ends. After a lost connection the log
// resumes after the last line it showed. A pipeline run shows its steps (tree.js) above its log
// and, once it ended without succeeding, "Resume"; a step's run names its pipeline run.

import { h, fill, dl, badge, timeEl, duration, taskLink, errorText, runLink } from './dom.js';
import { api, post } from './api.js';
import { Stream } from './live.js';
import { LogView } from './log.js';
import { confirmAction, onRunChange, navigate } from './app.js';
import { PipelineTree } from './tree.js';

// The most lines replayed when the page opens (older ones are in the raw log).
const REPLAY = 200000;

// The ends a pipeline run can be resumed from (the daemon's rule); a step's run, or a run
// already resumed, is refused with the daemon's sentence.
const RESUMABLE = new Set(['failed', 'timeout', 'interrupted', 'crashed']);
function resumable(r) {
  return r.kind === 'pipeline' && !r.parent_run_id && r.status === 'ended' && RESUMABLE.has(r.end_reason);
}

export function mount(main, [id]) {
  document.title = `Run ${id.slice(-8)} · runwisp`;
  const head = h('div', { class: 'run-head' }, h('p', { class: 'muted' }, 'Loading…'));
  const error = h('p', { class: 'error', role: 'alert', id: 'action-error' });
  const log = new LogView({
    rawUrl: `/api/runs/${encodeURIComponent(id)}/log/raw`,
    fileName: `${id}.log`,
  });
  const steps = h('div', { id: 'steps-slot' });
  main.append(head, error, steps, log.el);
  log.attached();
  let run = null;
  let stream = null;
  let tree = null;

  const stop = async () => {
    if (!run || run.status === 'ended') return;
    if (!(await confirmAction('Stop this run?', `Stop run ${run.id} of ${run.task_name}? Its process group is signalled.`, 'Stop'))) return;
    error.textContent = '';
    try {
      await post(`/api/runs/${encodeURIComponent(run.id)}/stop`);
    } catch (e) {
      error.textContent = errorText(e);
    }
  };

  const resume = async () => {
    if (!run || !resumable(run)) return;
    if (!(await confirmAction('Resume this pipeline?', `Resume run ${run.id} of ${run.task_name}? Steps that succeeded are not run again.`, 'Resume'))) return;
    error.textContent = '';
    try {
      const next = await post(`/api/runs/${encodeURIComponent(run.id)}/resume`);
      navigate(`/runs/${encodeURIComponent(next.id)}`);
    } catch (e) {
      error.textContent = errorText(e);
    }
  };

  const show = (r) => {
    // Stream events carry no delivery: keep the one the run's own page said.
    if (!r.webhook && run && run.id === r.id && run.webhook) r = { ...r, webhook: run.webhook };
    run = r;
    const hook = r.webhook;
    document.title = `${r.task_name} · run ${r.id.slice(-8)} · runwisp`;
    const ended = r.status === 'ended';
    if (r.kind === 'pipeline' && !tree) {
      tree = new PipelineTree(r.id);
      steps.replaceChildren(tree.el);
    }
    fill(head,
      h('div', { class: 'title-row' },
        h('h1', {}, h('span', { class: 'muted' }, 'Run of '), taskLink(r.task_name)),
        badge(r),
        h('span', { class: 'spacer' }),
        resumable(r) ? h('button', { type: 'button', class: 'primary', id: 'resume', onclick: resume }, 'Resume') : null,
        ended ? null : h('button', { type: 'button', class: 'danger', id: 'stop', onclick: stop }, 'Stop')),
      dl([
        ['Run', h('span', { class: 'mono', id: 'run-id' }, r.id)],
        ['Triggered by', h('span', { id: 'run-trigger' }, r.triggered_by)],
        r.scheduled_for ? ['Scheduled for', timeEl(r.scheduled_for)] : null,
        ['Created', timeEl(r.created_at)],
        ['Started', timeEl(r.start_at)],
        ['Ended', timeEl(r.end_at)],
        ['Duration', duration(r.duration_ms)],
        ['Exit code', r.exit_code === null ? '—' : String(r.exit_code)],
        ['End reason', r.end_reason || '—'],
        r.replica_index !== null && r.replica_index !== undefined ? ['Replica', String(r.replica_index)] : null,
        r.retry_attempt ? ['Retry', `attempt ${r.retry_attempt}`] : null,
        r.retry_of_run_id ? ['Retry of', runLink({ id: r.retry_of_run_id })] : null,
        r.parent_run_id ? ['Step of', h('span', { id: 'run-parent' }, runLink({ id: r.parent_run_id }), r.step ? ` (step ${r.step})` : '')] : null,
        r.resume_of_run_id ? ['Resumes', runLink({ id: r.resume_of_run_id })] : null,
        hook ? ['Webhook', h('span', { id: 'run-webhook' }, [hook.provider, hook.event].filter(Boolean).join(' '))] : null,
        hook && (hook.branch || hook.ref) ? ['Branch', hook.branch || hook.ref] : null,
        hook && hook.sha ? ['Commit', h('span', { class: 'mono', title: hook.sha }, hook.sha.slice(0, 12))] : null,
        hook && hook.repo ? ['Repository', hook.repo] : null,
        hook && hook.delivery ? ['Delivery', h('span', { class: 'mono' }, hook.delivery)] : null,
        r.message ? ['Message', r.message] : null,
      ]));
  };

  const load = async () => {
    try {
      show(await api(`/api/runs/${encodeURIComponent(id)}`));
    } catch (e) {
      head.replaceChildren(h('h1', {}, 'Run'), h('p', { class: 'error', role: 'alert' }, errorText(e)));
      return false;
    }
    return true;
  };

  const follow = () => {
    stream = new Stream(
      () => `/api/runs/${encodeURIComponent(id)}/log/stream?from=${log.lastN ? log.lastN + 1 : -REPLAY}`,
      {
        line: (line) => log.push([line]),
        done: (r) => { show(r); stream.close(); },
      },
    );
  };

  load().then((found) => { if (found) follow(); });
  const off = onRunChange((_kind, r) => { if (r.id === id) show(r); });

  return {
    destroy() { off(); if (stream) stream.close(); if (tree) tree.destroy(); log.destroy(); },
    refresh() { load(); },
    keys: {
      s: stop,
      g: () => log.top(),
      G: () => log.setFollow(true),
      '/': () => log.focusSearch(),
    },
  };
}
