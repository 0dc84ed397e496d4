// The login (api.md §1): fetch a nonce, answer sha256(password + ":" + nonce), keep the token.
// The password never leaves the page.

import { h, errorText } from './dom.js';
import { api, setToken, insecure } from './api.js';
import { sha256Hex } from './sha256.js';
import { navigate } from './app.js';

// Only a path of this site is a place to come back to.
function nextPage(query) {
  const next = query.get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function mount(main, _params, query) {
  document.title = 'Log in · runwisp';
  const password = h('input', {
    id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'runwisp'),
    h('p', { class: 'muted' }, 'Enter the daemon’s password (in DATA/password on its host).'),
    insecure() ? h('p', { class: 'banner warn' }, 'This connection is not encrypted (plain HTTP). The password is not sent, but the session is visible to the network.') : null,
    // One password per daemon; the user name only helps password managers tell daemons apart.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: `runwisp@${location.host}`, hidden: true }),
    h('label', { for: 'password' }, 'Password'),
    password,
    submit,
    error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      const { nonce } = await api('/api/auth/challenge');
      const response = await sha256Hex(`${password.value}:${nonce}`);
      const { token } = await api('/api/auth', { method: 'POST', body: { nonce, response } });
      setToken(token);
      navigate(nextPage(query), { replace: true });
    } catch (err) {
      error.textContent = err.status === 429
        ? `Too many failed logins; try again in ${err.retryAfter || 'a few'} seconds.`
        : errorText(err);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  password.focus();
  return {};
}
