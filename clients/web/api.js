// api.js — the HTTP API of mmsimd: JSON in and out, errors as the API words them.

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code ? error.code : String(status);
    this.details = (error && error.details) || {};
  }
  // "ENOMEM (422): mmap: …" — the code, the status and the API's own message.
  describe() { return `${this.code} (${this.status}): ${this.message}`; }
}

export async function api(method, path, body, { text = false, accept } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (accept) headers.Accept = accept;
  const key = sessionStorage.getItem('mmsim-api-key');
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const raw = await r.text();
  if (!r.ok) {
    let err = null;
    try { err = JSON.parse(raw).error; } catch { /* not JSON */ }
    throw new ApiError(r.status, err || { message: raw.slice(0, 200) });
  }
  if (text) return raw;
  return raw ? JSON.parse(raw) : null;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const getJSON = (path) => api('GET', path, undefined, { accept: 'application/json' });
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);

// A GET that answers null when the route does not exist on this server
// (404 "no route", 405): used for features other branches add.
export async function optional(path) {
  try { return await getJSON(path); } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405) && /no route|not allowed/.test(e.message)) return null;
    throw e;
  }
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

export function table(head, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}
