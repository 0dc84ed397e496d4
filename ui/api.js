// The REST API as the pages use it: the token from the login (kept in sessionStorage) sent
// as a bearer token; a 401 anywhere goes back to the login, which returns here afterwards.

const KEY = 'runwisp.token';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

// Leaves for the login, which comes back to the page asked for.
export function toLogin() {
  setToken(null);
  const here = location.pathname + location.search;
  const next = here.startsWith('/login') ? '/' : here;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.status === 401 && !path.startsWith('/api/auth')) {
    toLogin();
    throw new ApiError(401, 'Your session ended; log in again.');
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      if (problem && problem.detail) detail = problem.detail;
    } catch (_) { /* not a problem document */ }
    const e = new ApiError(response.status, detail);
    e.retryAfter = response.headers.get('Retry-After');
    throw e;
  }
  return response.json();
}

export const post = (path, body) => api(path, { method: 'POST', body });

// Whether a browser at this origin can see the traffic in clear: plain HTTP off loopback.
export function insecure() {
  if (location.protocol !== 'http:') return false;
  const host = location.hostname.replace(/^\[|\]$/g, '');
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}
