// A pipeline run's steps (pipelines.md §4): the tree (glyph, position, name, state, duration;
// parallel members and sub-pipelines indented; each step with a run opening it) and the same
// steps as a Gantt chart against wall-clock time, so the slow step and the parallel overlap show
// at a glance. Live: any change of a run re-reads the tree (coalesced), and so does a reconnect.

import { h, svg, duration, shortId, errorText } from './dom.js';
import { api } from './api.js';
import { onRunChange } from './app.js';
import { onReconnect } from './live.js';

// Re-reads are at most this often, whatever the event rate (a 100-step pipeline of `true`).
const COALESCE_MS = 250;

const GLYPH = {
  success: '✓', failed: '✗', timeout: '✗', crashed: '✗', log_overflow: '✗',
  stopped: '■', interrupted: '■', running: '▶', pending: '…',
  skipped: '⊘', queue_full: '⊘', skipped_by_resume: '↷', not_started: '·',
};

// The class a state is coloured by (the outcome classes of the rest of the UI).
function tone(state) {
  if (state === 'skipped_by_resume' || state === 'not_started' || state === 'interrupted') return 'o-none';
  return `o-${state}`;
}

function label(step) {
  if (step.kind === 'parallel') return 'parallel';
  const name = step.name || '?';
  return step.kind === 'pipeline' ? `${name} (pipeline)` : name;
}

// The tree as nested lists, with one row a step.
function list(steps) {
  return h('ol', { class: 'tree' }, steps.map((s) => {
    const run = s.run;
    const text = run
      ? h('a', { href: `/runs/${encodeURIComponent(run.id)}`, class: 'step-name' }, label(s))
      : h('span', { class: 'step-name' }, label(s));
    const when = s.state === 'skipped_by_resume' && run
      ? `done in run ${shortId(run.id)}`
      : run && run.duration_ms !== null && run.duration_ms !== undefined ? duration(run.duration_ms) : '';
    return h('li', { 'data-step': s.step, 'data-state': s.state },
      h('div', { class: 'step-row' },
        h('span', { class: `step-glyph ${tone(s.state)}`, 'aria-hidden': 'true' }, GLYPH[s.state] || '?'),
        h('span', { class: 'step-pos muted mono' }, s.step),
        text,
        h('span', { class: `step-state ${tone(s.state)}` }, s.state.replace(/_/g, ' ')),
        s.attempts > 1 ? h('span', { class: 'muted small' }, `${s.attempts} attempts`) : null,
        h('span', { class: 'step-time muted small' }, when)),
      s.steps && s.steps.length ? list(s.steps) : null);
  }));
}

// The ids of every run in the tree.
function runIds(steps, out = []) {
  for (const s of steps) {
    if (s.run) out.push(s.run.id);
    if (s.steps) runIds(s.steps, out);
  }
  return out;
}

// Every step with a run, depth first, for the chart.
function flatten(steps, depth, out) {
  for (const s of steps) {
    out.push({ s, depth });
    if (s.steps && s.steps.length) flatten(s.steps, depth + 1, out);
  }
  return out;
}

const ROW = 18;
const LEFT = 160;
const WIDTH = 720;

// The Gantt chart: one row a step, its bar from its run's start to its end (or now).
function gantt(tree) {
  const rows = flatten(tree.steps, 0, []).filter(({ s }) => s.kind !== 'parallel' || s.run);
  const times = (s) => {
    if (!s.run || !s.run.start_at || s.state === 'skipped_by_resume') return null;
    const from = Date.parse(s.run.start_at);
    const to = s.run.end_at ? Date.parse(s.run.end_at) : Date.now();
    return [from, Math.max(to, from)];
  };
  const spans = rows.map(({ s }) => times(s)).filter(Boolean);
  if (!spans.length) return h('p', { class: 'muted small' }, 'No step has started yet.');
  const from = Math.min(...spans.map(([a]) => a));
  const to = Math.max(...spans.map(([, b]) => b), from + 1);
  const scale = (t) => LEFT + ((t - from) / (to - from)) * (WIDTH - LEFT - 8);
  const height = rows.length * ROW + 20;
  return svg('svg', { viewBox: `0 0 ${WIDTH} ${height}`, class: 'gantt', role: 'img', 'aria-label': `Steps against time, ${duration(to - from)} in all` },
    rows.map(({ s, depth }, i) => {
      const y = i * ROW;
      const span = times(s);
      const name = svg('text', { x: 4 + depth * 10, y: y + 13, class: 'gantt-label' }, `${s.step} ${label(s)}`);
      if (!span) return svg('g', {}, name);
      const x = scale(span[0]);
      const w = Math.max(scale(span[1]) - x, 2);
      return svg('g', { 'data-step': s.step },
        name,
        svg('rect', { x, y: y + 3, width: w, height: ROW - 6, rx: 2, class: `bar ${tone(s.state)}` },
          svg('title', {}, `${s.step} ${label(s)}: ${s.state.replace(/_/g, ' ')}, ${duration(span[1] - span[0])}`)));
    }),
    svg('text', { x: LEFT, y: height - 4, class: 'gantt-axis' }, '0'),
    svg('text', { x: WIDTH - 8, y: height - 4, class: 'gantt-axis', 'text-anchor': 'end' }, duration(to - from)));
}

// The steps of pipeline run `id`, kept live; `el` goes on the run's page.
export class PipelineTree {
  constructor(id) {
    this.id = id;
    this.timer = null;
    this.body = h('div', { id: 'tree-body' }, h('p', { class: 'muted' }, 'Loading the steps…'));
    this.el = h('section', { class: 'pipeline', id: 'pipeline', 'aria-labelledby': 'steps-title' },
      h('h2', { id: 'steps-title' }, 'Steps'), this.body);
    // The runs the tree shows: a change of one of them, or a new run whose parent is one of
    // them (a step starting, in this pipeline or a sub-pipeline), is read again.
    this.runs = new Set([id]);
    this.seq = 0;
    this.offRuns = onRunChange((_kind, r) => {
      if (this.runs.has(r.id) || (r.parent_run_id && this.runs.has(r.parent_run_id))) this.soon();
    });
    this.offReconnect = onReconnect(() => this.soon());
    this.load();
  }

  soon() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.load(); }, COALESCE_MS);
  }

  async load() {
    // Answers can come back out of order: only the newest request's answer is shown.
    const mine = ++this.seq;
    try {
      const tree = await api(`/api/runs/${encodeURIComponent(this.id)}/tree`);
      if (mine !== this.seq) return;
      this.runs = new Set([this.id, ...runIds(tree.steps)]);
      this.body.replaceChildren(list(tree.steps), gantt(tree));
    } catch (e) {
      if (mine !== this.seq) return;
      this.body.replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(e)));
    }
  }

  destroy() {
    this.seq += 1;
    this.offRuns();
    this.offReconnect();
    clearTimeout(this.timer);
  }
}
