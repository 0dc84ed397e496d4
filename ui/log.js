// A run's log, virtualised: every line is kept in plain arrays, but only the lines in view
// (and a few around) are in the DOM, so a 100,000-line log scrolls as lightly as a short one.
// The page keeps at most MAX_LINES lines (older ones are dropped, and the raw log has them),
// so a fast tail cannot grow the page's memory without bound. Follow mode sticks to the end;
// scrolling up pauses it, "Jump to end" (or G) resumes it. Search finds lines containing the
// text, case-insensitively, with the current match marked.

import { h } from './dom.js';
import { renderAnsi, stripAnsi } from './ansi.js';

const MAX_LINES = 200000;
const MAX_TEXT = 8192;
const OVERSCAN = 20;

export class LogView {
  constructor({ rawUrl, fileName }) {
    this.ns = [];
    this.kinds = [];
    this.texts = [];
    this.lastN = 0;
    this.dropped = 0;
    this.follow = true;
    this.query = '';
    this.matches = [];
    this.current = -1;
    this.pending = false;
    this.lineHeight = 18;

    this.search = h('input', {
      id: 'log-search', type: 'search', placeholder: 'Search the log', autocomplete: 'off',
    });
    this.matchInfo = h('span', { class: 'muted', id: 'log-matches', 'aria-live': 'polite' });
    this.jump = h('button', { type: 'button', id: 'log-jump', hidden: true, onclick: () => this.setFollow(true) }, 'Jump to end ↓');
    this.info = h('span', { class: 'muted', id: 'log-info' });
    this.viewport = h('div', {
      class: 'log-view', id: 'log', tabindex: '0', role: 'region', 'aria-label': 'Log output',
    });
    this.spacer = h('div', { class: 'log-spacer' });
    this.rows = h('div', { class: 'log-rows' });
    this.viewport.append(this.spacer, this.rows);
    this.el = h('section', { class: 'log-box', 'aria-labelledby': 'log-title' },
      h('div', { class: 'log-tools' },
        h('h2', { id: 'log-title' }, 'Log'),
        h('label', { for: 'log-search', class: 'sr-only' }, 'Search the log'),
        this.search,
        h('button', { type: 'button', 'aria-label': 'Previous match', onclick: () => this.step(-1) }, '↑'),
        h('button', { type: 'button', 'aria-label': 'Next match', onclick: () => this.step(1) }, '↓'),
        this.matchInfo,
        h('span', { class: 'spacer' }),
        this.info,
        h('a', { href: rawUrl, download: fileName, class: 'button', id: 'log-download' }, 'Download'),
        this.jump),
      this.viewport);

    let timer = null;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.find(this.search.value), 150);
    });
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); this.step(e.shiftKey ? -1 : 1); }
    });
    this.viewport.addEventListener('scroll', () => {
      const v = this.viewport;
      const atEnd = v.scrollHeight - v.scrollTop - v.clientHeight < 4;
      if (atEnd !== this.follow) {
        this.follow = atEnd;
        this.jump.hidden = atEnd;
      }
      this.schedule();
    });
    this.viewport.addEventListener('keydown', (e) => {
      if (e.key === 'End') { e.preventDefault(); this.setFollow(true); }
      if (e.key === 'Home') { e.preventDefault(); this.top(); }
    });
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.viewport);
  }

  // Measures a line once the view is in the document.
  attached() {
    const probe = h('div', { class: 'll' }, h('span', { class: 'ln' }, '1'), h('span', { class: 'lt' }, 'x'));
    this.rows.append(probe);
    const height = probe.getBoundingClientRect().height;
    probe.remove();
    if (height > 0) this.lineHeight = height;
    this.schedule();
  }

  // Adds lines ({n, stream, text}); a line already shown (after a reconnection) is skipped.
  push(lines) {
    for (const line of lines) {
      if (line.n <= this.lastN) continue;
      this.lastN = line.n;
      const text = line.text.length > MAX_TEXT ? `${line.text.slice(0, MAX_TEXT)} … (cut)` : line.text;
      this.ns.push(line.n);
      this.kinds.push(line.stream);
      this.texts.push(text);
      if (this.query && stripAnsi(text).toLowerCase().includes(this.query)) this.matches.push(this.texts.length - 1);
    }
    if (this.texts.length > MAX_LINES) this.drop(this.texts.length - MAX_LINES + MAX_LINES / 10);
    this.schedule();
  }

  drop(count) {
    this.ns.splice(0, count);
    this.kinds.splice(0, count);
    this.texts.splice(0, count);
    this.dropped += count;
    this.matches = this.matches.filter((i) => i >= count).map((i) => i - count);
    this.current = -1;
  }

  get length() {
    return this.texts.length;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const total = this.texts.length;
    const lh = this.lineHeight;
    this.spacer.style.height = `${total * lh}px`;
    const v = this.viewport;
    if (this.follow) v.scrollTop = v.scrollHeight;
    const first = Math.max(0, Math.floor(v.scrollTop / lh) - OVERSCAN);
    const last = Math.min(total, Math.ceil((v.scrollTop + v.clientHeight) / lh) + OVERSCAN);
    this.rows.style.transform = `translateY(${first * lh}px)`;
    const want = last - first;
    while (this.rows.children.length > want) this.rows.lastChild.remove();
    while (this.rows.children.length < want) {
      this.rows.append(h('div', { class: 'll' }, h('span', { class: 'ln' }), h('span', { class: 'lt' })));
    }
    const matchSet = this.query ? new Set(this.matches) : null;
    const currentLine = this.current >= 0 ? this.matches[this.current] : -1;
    for (let i = first; i < last; i++) {
      const row = this.rows.children[i - first];
      let cls = `ll s-${this.kinds[i]}`;
      if (matchSet && matchSet.has(i)) cls += i === currentLine ? ' match current' : ' match';
      row.className = cls;
      row.dataset.n = this.ns[i];
      if (row.firstChild.textContent !== String(this.ns[i]) || row.dataset.t !== String(i + this.dropped)) {
        row.firstChild.textContent = String(this.ns[i]);
        renderAnsi(row.lastChild, this.texts[i]);
        row.dataset.t = String(i + this.dropped);
      }
    }
    const lines = total === 1 ? '1 line' : `${total.toLocaleString()} lines`;
    this.info.textContent = this.dropped ? `${lines} (${this.dropped.toLocaleString()} earlier not shown)` : lines;
  }

  setFollow(on) {
    this.follow = on;
    this.jump.hidden = on;
    if (on) this.viewport.scrollTop = this.viewport.scrollHeight;
    this.schedule();
  }

  top() {
    this.follow = false;
    this.jump.hidden = false;
    this.viewport.scrollTop = 0;
    this.schedule();
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  find(text) {
    this.query = text.trim().toLowerCase();
    this.matches = [];
    this.current = -1;
    if (this.query) {
      for (let i = 0; i < this.texts.length; i++) {
        if (stripAnsi(this.texts[i]).toLowerCase().includes(this.query)) this.matches.push(i);
      }
    }
    this.showMatches();
    if (this.matches.length) this.step(1);
    else this.schedule();
  }

  showMatches() {
    if (!this.query) this.matchInfo.textContent = '';
    else if (!this.matches.length) this.matchInfo.textContent = 'no match';
    else this.matchInfo.textContent = `${this.current + 1} of ${this.matches.length}`;
  }

  // Moves to the next (1) or previous (-1) match and scrolls it into the middle of the view.
  step(direction) {
    if (this.query !== this.search.value.trim().toLowerCase()) {
      this.find(this.search.value);
      return;
    }
    if (!this.matches.length) return;
    const n = this.matches.length;
    this.current = this.current < 0 ? (direction > 0 ? 0 : n - 1) : (this.current + direction + n) % n;
    const index = this.matches[this.current];
    this.follow = false;
    this.jump.hidden = false;
    const v = this.viewport;
    v.scrollTop = Math.max(0, index * this.lineHeight - v.clientHeight / 2);
    this.showMatches();
    this.schedule();
  }

  destroy() {
    this.resize.disconnect();
  }
}
