// forms.js — one form per operation, generated from GET /v1/openapi.json
// (the op table): fields, types, enums, ranges and patterns come from the
// schemas, and are checked before anything is sent.

import { el } from './api.js';

// Every operation route: {name, method, path (with {m} and ids), summary, params, schema}.
export function operations(doc) {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/machines/{m}')) continue;
    for (const [method, o] of Object.entries(item)) {
      const schema = doc.components.schemas[`${o.operationId}Args`];
      if (!schema || !doc.components.schemas[`${o.operationId}Record`]) continue;
      const params = (o.parameters || []).filter((p) => p.in === 'path' && p.name !== 'm');
      ops.push({ name: o.operationId, method: method.toUpperCase(), path, summary: o.summary || '', params, schema });
    }
  }
  return ops.sort((a, b) => a.name.localeCompare(b.name));
}

function kind(s) {
  if (s.oneOf) return 'text';
  if (s.type === 'array' && s.items && s.items.enum) return 'multi';
  if (s.enum) return 'enum';
  if (s.type === 'integer') return 'int';
  if (s.type === 'boolean') return 'bool';
  return 'text';
}

// Builds the fields of op into form; returns nothing.
export function render(form, op, defaults = {}) {
  form.replaceChildren();
  const fields = [...op.params.map((p) => ({ name: p.name, s: p.schema, req: true, path: true })),
    ...Object.entries(op.schema.properties || {}).map(([name, s]) => ({ name, s, req: (op.schema.required || []).includes(name) }))];
  for (const f of fields) {
    const id = `f-${op.name}-${f.name}`;
    const k = kind(f.s);
    let input;
    if (k === 'enum') {
      input = el('select', { id, name: f.name }, f.req ? null : el('option', { value: '' }, '(default)'),
        f.s.enum.map((v) => el('option', {}, v)));
    } else if (k === 'multi') {
      input = el('select', { id, name: f.name, multiple: true, size: Math.min(6, f.s.items.enum.length) },
        f.s.items.enum.map((v) => el('option', {}, v)));
    } else if (k === 'bool') {
      input = el('select', { id, name: f.name }, el('option', { value: '' }, '(default)'), el('option', {}, 'true'), el('option', {}, 'false'));
    } else {
      input = el('input', { id, name: f.name, type: k === 'int' ? 'number' : 'text', min: f.s.minimum, max: f.s.maximum, size: 18 });
    }
    input.dataset.kind = k;
    if (f.req) input.required = true;
    const d = defaults[f.name];
    if (d !== undefined) {
      if (k === 'multi') for (const o of input.options) o.selected = d.includes(o.value);
      else input.value = d;
    }
    const desc = f.s.description || '';
    form.append(el('div', { class: 'field' },
      el('label', { for: id }, f.name, f.req ? ' *' : ''), input,
      desc ? el('small', {}, desc) : null, el('span', { class: 'err', id: `${id}-err`, 'aria-live': 'polite' })));
    input.setAttribute('aria-describedby', `${id}-err`);
  }
  form.append(el('button', { type: 'submit' }, `Run ${op.name}`));
}

function patternOf(s) {
  if (s.pattern) return new RegExp(s.pattern);
  if (s.oneOf) {
    const str = s.oneOf.find((x) => x.type === 'string');
    return str && str.pattern ? new RegExp(str.pattern) : null;
  }
  return null;
}

// Reads and validates the form: {ok, record, path} or {ok:false, errors}.
export function read(form, op, machine) {
  const errors = [];
  const body = {};
  let path = op.path.replace('{m}', encodeURIComponent(machine));
  const specs = Object.fromEntries([...op.params.map((p) => [p.name, { s: p.schema, path: true }]),
    ...Object.entries(op.schema.properties || {}).map(([n, s]) => [n, { s }])]);
  for (const input of form.querySelectorAll('input, select')) {
    const { s, path: inPath } = specs[input.name];
    const k = input.dataset.kind;
    const err = form.querySelector(`#${CSS.escape(input.id)}-err`);
    let msg = '';
    let v;
    if (k === 'multi') {
      v = [...input.selectedOptions].map((o) => o.value);
      if (!v.length) v = undefined;
    } else {
      v = input.value.trim();
      if (v === '') v = undefined;
    }
    if (v === undefined) {
      if (input.required) msg = 'required';
    } else if (k === 'int') {
      const n = Number(v);
      if (!Number.isInteger(n)) msg = 'an integer';
      else if (s.minimum !== undefined && n < s.minimum) msg = `at least ${s.minimum}`;
      else if (s.maximum !== undefined && n > s.maximum) msg = `at most ${s.maximum}`;
      v = n;
    } else if (k === 'bool') {
      v = v === 'true';
    } else if (k === 'text') {
      const re = patternOf(s);
      if (re && !re.test(v)) msg = `does not match ${re.source}`;
      else if (s.maxLength && v.length > s.maxLength) msg = `at most ${s.maxLength} characters`;
      else if (s.oneOf && /^[0-9]+$/.test(v) && Number.isSafeInteger(Number(v))) v = Number(v);
    }
    if (err) err.textContent = msg ? ` ${msg}` : '';
    input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    if (msg) { errors.push(`${input.name}: ${msg}`); continue; }
    if (v === undefined) continue;
    if (inPath) path = path.replace(`{${input.name}}`, encodeURIComponent(v));
    else body[input.name] = v;
  }
  if (errors.length) return { ok: false, errors };
  const record = { op: op.name, ...body };
  for (const p of op.params) record[p.name] = Number.isNaN(Number(form.elements[p.name].value)) ? form.elements[p.name].value : Number(form.elements[p.name].value);
  return { ok: true, path, body, record };
}
