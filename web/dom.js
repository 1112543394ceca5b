// DOM and text helpers shared by the views: element building (text only, never HTML), formatting
// of the daemon's times and numbers, state badges that never rely on colour alone, the status line,
// tables and sections, and the confirmation dialog.

// el('a', {href: '#/', class: 'x'}, 'text', child, ...): strings become text nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? '' : String(value));
  }
  add(node, children);
  return node;
}

export function add(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export const byId = (id) => document.getElementById(id);

// ---- formatting -------------------------------------------------------------------------------

const pad2 = (n) => String(n).padStart(2, '0');

// Daemon times are epoch milliseconds of the daemon's clock (scaled under --time-scale).
export function clockTime(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms)) || Number(ms) <= 0) return '—';
  const d = new Date(Number(ms));
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function timeEl(ms) {
  if (!ms || !Number.isFinite(Number(ms)) || Number(ms) <= 0) return el('span', {}, '—');
  const d = new Date(Number(ms));
  return el('time', {datetime: d.toISOString(), title: d.toISOString()}, clockTime(ms));
}

export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad2(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${pad2(m % 60)} min`;
}

export function percent(weight) {
  const p = Math.round(Number(weight || 0) * 1000) / 10;
  return `${p}%`;
}

export function number(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  const n = Number(v);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(digits)));
}

export const COMPARISON = {
  GreaterThanOrEqualToThreshold: '≥',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '≤',
  LessThanLowerOrGreaterThanUpperThreshold: 'outside',
  LessThanLowerThreshold: '<',
  GreaterThanUpperThreshold: '>',
};

// ---- states: never by colour alone (a word and an icon, plus a class for colour) -----------

const STATES = {
  Succeeded: ['✓', 'Succeeded'],
  InProgress: ['▶', 'In progress'],
  Created: ['○', 'Created'],
  Pending: ['○', 'Pending'],
  Stopped: ['■', 'Stopped'],
  Failed: ['✕', 'Failed'],
  Skipped: ['–', 'Skipped'],
  Ready: ['○', 'Ready'],
  OK: ['●', 'OK'],
  ALARM: ['▲', 'ALARM'],
  INSUFFICIENT_DATA: ['?', 'INSUFFICIENT_DATA'],
  UNKNOWN: ['?', 'UNKNOWN'],
};

export function badge(state, extraClass) {
  const [icon, word] = STATES[state] || ['•', String(state || 'unknown')];
  const key = String(state || 'unknown').toLowerCase().replace(/[^a-z_]/g, '');
  return el('span', {class: `badge state-${key}${extraClass ? ' ' + extraClass : ''}`},
    el('span', {class: 'badge-icon', 'aria-hidden': 'true'}, icon), ' ', word);
}

export const isActive = (d) => d && (d.status === 'Created' || d.status === 'InProgress');

// ---- status line and connection indicator ----------------------------------------------------

export function say(text) {
  byId('status').textContent = text;
}

export function setConnection(state) {
  const conn = byId('conn');
  conn.dataset.state = state;
  const [icon, text] = {
    live: ['●', 'live'],
    reconnecting: ['⟳', 'reconnecting…'],
    connecting: ['○', 'connecting…'],
  }[state];
  conn.querySelector('.conn-icon').textContent = icon;
  conn.querySelector('.conn-text').textContent = text;
}

export const enc = encodeURIComponent;

export function errorBox(err) {
  return el('div', {class: 'error-box', role: 'alert'},
    el('strong', {}, err.code ? `${err.code}: ` : 'Error: '), err.message || String(err));
}

export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return el('section', {class: 'panel', 'aria-labelledby': id},
    el('h2', {id}, title), ...children);
}

export function table(caption, headers, rows, emptyText) {
  if (!rows.length) return el('p', {class: 'muted'}, emptyText || 'None.');
  return el('div', {class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption},
    el('table', {},
      el('caption', {class: 'visually-hidden'}, caption),
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c)))))));
}

export const deploymentLink = (id) => el('a', {href: `#/deployments/${enc(id)}`, class: 'mono'}, id);
export const functionLink = (name) => el('a', {href: `#/functions/${enc(name)}`}, name);
export const alarmLink = (name) => el('a', {href: `#/alarms/${enc(name)}`}, name);

// Re-renders a container only when its data changed, so that focus and scroll survive polling.
export function renderInto(container, key, build) {
  if (container.dataset.key === key) return;
  const hadFocus = container.contains(document.activeElement) ? document.activeElement : null;
  const focusHref = hadFocus && hadFocus.getAttribute ? hadFocus.getAttribute('href') : null;
  container.replaceChildren();
  add(container, [build()]);
  container.dataset.key = key;
  if (focusHref) {
    const again = [...container.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === focusHref);
    if (again) again.focus();
  }
}

// Resolves true when the person confirms; Cancel, Escape or closing resolve false.
export function confirmAction({title, text, confirmLabel}) {
  const dialog = byId('confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = confirmLabel || 'Confirm';
  dialog.returnValue = '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(dialog.returnValue === 'confirm');
    }, {once: true});
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}
