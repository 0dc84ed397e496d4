// The bell (notifications.md §3): the unread count in the header, live from the notifications
// stream, and a panel listing them (count and occurrences), each opening its run, marked read
// one at a time or all at once.

import { h, timeEl, errorText } from './dom.js';
import { api, post } from './api.js';
import { follow } from './live.js';

export class Bell {
  constructor() {
    this.button = document.getElementById('bell');
    this.count = document.getElementById('bell-count');
    this.panel = document.getElementById('bell-panel');
    this.list = document.getElementById('bell-list');
    this.unread = 0;
    this.button.addEventListener('click', () => this.toggle());
    document.getElementById('bell-close').addEventListener('click', () => this.close());
    document.getElementById('bell-read-all').addEventListener('click', () => this.readAll());
    this.panel.addEventListener('click', (e) => {
      if (e.target.closest('a')) this.close();
    });
    this.show(0);
    this.stream = follow('/api/notifications/stream', {
      notification: () => this.refresh(),
      read_all: () => this.refresh(),
      lagged: () => this.refresh(),
    }, { onOpen: () => this.refresh() });
  }

  show(unread) {
    this.unread = unread;
    this.count.textContent = String(unread);
    this.count.hidden = unread === 0;
    this.button.setAttribute('aria-label', `Notifications, ${unread} unread`);
    this.button.classList.toggle('has-unread', unread > 0);
  }

  async refresh() {
    try {
      const { unread } = await api('/api/notifications/unread-count');
      this.show(unread);
      if (!this.panel.hidden) await this.load();
    } catch (_) { /* the connection banner says why */ }
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    await this.load();
    const first = this.panel.querySelector('button, a');
    if (first) first.focus();
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    this.button.focus();
  }

  async load() {
    try {
      const { notifications } = await api('/api/notifications?limit=50');
      this.list.replaceChildren(...(notifications.length ? notifications.map((n) => this.item(n))
        : [h('li', { class: 'muted' }, 'No notifications.')]));
    } catch (e) {
      this.list.replaceChildren(h('li', { class: 'error' }, errorText(e)));
    }
  }

  item(n) {
    const title = n.run_id
      ? h('a', { href: `/runs/${encodeURIComponent(n.run_id)}` }, n.title)
      : h('span', {}, n.title);
    const when = n.occurrences && n.occurrences.length > 1
      ? h('span', { title: n.occurrences.join('\n') }, `${n.occurrences.length} recent times`) : null;
    return h('li', { class: `note sev-${n.severity}${n.read_at ? '' : ' unread'}` },
      h('div', { class: 'note-title' }, title, n.count > 1 ? h('span', { class: 'count' }, ` ×${n.count}`) : null),
      h('div', { class: 'note-meta muted' }, timeEl(n.last_at), ' ', when),
      n.body ? h('p', { class: 'note-body' }, n.body.split('\n')[0]) : null,
      n.read_at ? null : h('button', {
        type: 'button',
        class: 'small',
        'aria-label': `Mark read: ${n.title}`,
        onclick: async () => {
          try { await post(`/api/notifications/${encodeURIComponent(n.id)}/read`); } catch (_) { /* shown on refresh */ }
          this.refresh();
        },
      }, 'Mark read'));
  }

  async readAll() {
    try { await post('/api/notifications/read'); } catch (_) { /* shown on refresh */ }
    this.refresh();
  }
}
