// ANSI colours in log lines: SGR sequences (ESC [ … m) become spans with classes for the 16
// colours and bold, dim, italic and underline; the 256-colour and true-colour forms use their
// nearest of the 16 (or none). Every other escape sequence is dropped. Text stays text.

// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

function cube(n) {
  // A 256-colour index to the nearest of the 16.
  if (n < 16) return n;
  if (n >= 232) return n < 244 ? 8 : 7;
  const i = n - 16;
  const r = Math.floor(i / 36) > 2 ? 1 : 0;
  const g = Math.floor(i / 6) % 6 > 2 ? 1 : 0;
  const b = i % 6 > 2 ? 1 : 0;
  return r + g * 2 + b * 4 + (r + g + b > 1 ? 8 : 0);
}

function apply(style, codes) {
  const c = codes.length ? codes : [0];
  for (let i = 0; i < c.length; i++) {
    const code = c[i];
    if (code === 0) { style.fg = -1; style.bg = -1; style.b = style.d = style.i = style.u = false; }
    else if (code === 1) style.b = true;
    else if (code === 2) style.d = true;
    else if (code === 3) style.i = true;
    else if (code === 4) style.u = true;
    else if (code === 22) style.b = style.d = false;
    else if (code === 23) style.i = false;
    else if (code === 24) style.u = false;
    else if (code >= 30 && code <= 37) style.fg = code - 30;
    else if (code === 39) style.fg = -1;
    else if (code >= 40 && code <= 47) style.bg = code - 40;
    else if (code === 49) style.bg = -1;
    else if (code >= 90 && code <= 97) style.fg = code - 82;
    else if (code >= 100 && code <= 107) style.bg = code - 92;
    else if ((code === 38 || code === 48) && c[i + 1] === 5) {
      const v = cube(c[i + 2] || 0);
      if (code === 38) style.fg = v; else style.bg = v;
      i += 2;
    } else if ((code === 38 || code === 48) && c[i + 1] === 2) {
      const [r, g, b] = [c[i + 2] || 0, c[i + 3] || 0, c[i + 4] || 0];
      const v = (r > 127 ? 1 : 0) + (g > 127 ? 2 : 0) + (b > 127 ? 4 : 0) + (r + g + b > 500 ? 8 : 0);
      if (code === 38) style.fg = v; else style.bg = v;
      i += 4;
    }
  }
}

function classes(style) {
  const out = [];
  if (style.fg >= 0) out.push(`a-f${style.fg}`);
  if (style.bg >= 0) out.push(`a-b${style.bg}`);
  if (style.b) out.push('a-bold');
  if (style.d) out.push('a-dim');
  if (style.i) out.push('a-it');
  if (style.u) out.push('a-ul');
  return out.join(' ');
}

// Fills `el` with `text`, its colours rendered; returns the text without escapes.
export function renderAnsi(el, text) {
  if (text.indexOf('\x1b') < 0) {
    el.textContent = text;
    return text;
  }
  el.textContent = '';
  const style = { fg: -1, bg: -1, b: false, d: false, i: false, u: false };
  let plain = '';
  let last = 0;
  const emit = (chunk) => {
    if (!chunk) return;
    plain += chunk;
    const cls = classes(style);
    if (!cls) { el.append(chunk); return; }
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = chunk;
    el.append(span);
  };
  ESCAPES.lastIndex = 0;
  let m;
  while ((m = ESCAPES.exec(text)) !== null) {
    emit(text.slice(last, m.index));
    last = ESCAPES.lastIndex;
    if (m[2] === 'm') apply(style, m[1].split(';').filter((s) => s !== '').map(Number));
  }
  emit(text.slice(last));
  return plain;
}

// The text of a line without its escape sequences (for search).
export function stripAnsi(text) {
  return text.indexOf('\x1b') < 0 ? text : text.replace(ESCAPES, '');
}
