// app.js — the mmsim web UI: wires the views, the operation forms, the
// history (rewind / forward), live updates and policy comparison.

import { el, get, getJSON, post, api, optional, ApiError } from './api.js';
import * as forms from './forms.js';
import { renderZones, renderBuddy, FrameMap, describeFrame, renderLRU, renderSlabs, renderVmstat } from './machine.js';
import { renderProcess, showWalk } from './process.js';
import { Plots } from './plots.js';
import { renderLabs } from './labs.js';

const $ = (id) => document.getElementById(id);
const app = { machine: null, seq: 0, ops: [], redo: [], labMachine: {}, pid: null, events: null };
const say = (msg) => { $('status').textContent = msg; };
const describe = (e) => (e instanceof ApiError ? e.describe() : String(e && e.message ? e.message : e));

const frames = new FrameMap($('frame-map'), $('frame-info'), $('frame-legend'), $('frame-scale'), async (pfn) => {
  $('pfn-inspect').value = pfn;
  try { $('frame-info').textContent = await describeFrame(app.machine, pfn); } catch (e) { $('frame-info').textContent = describe(e); }
});
const plots = new Plots({ mem: $('plot-mem'), faults: $('plot-faults'), reclaim: $('plot-reclaim') });

// ---- tabs ------------------------------------------------------------------
for (const b of document.querySelectorAll('nav [role=tab]')) {
  b.addEventListener('click', () => {
    for (const x of document.querySelectorAll('nav [role=tab]')) {
      x.setAttribute('aria-selected', String(x === b));
      $(`tab-${x.dataset.tab}`).hidden = x !== b;
    }
    if (b.dataset.tab === 'labs') renderLabs({ list: $('lab-list'), detail: $('lab-detail') }, app).catch((e) => say(describe(e)));
    if (b.dataset.tab === 'plots') plots.resize();
  });
}

// ---- machines ----------------------------------------------------------------
async function listMachines() {
  const { items } = await get('/v1/machines?page_size=1000');
  const sel = $('machine-select');
  sel.replaceChildren(...items.map((m) => el('option', { value: m.id }, `${m.id}${m.name ? ` ${m.name}` : ''}`)));
  if (app.machine) sel.value = app.machine;
  return items;
}

app.selectMachine = async (id) => {
  app.machine = id;
  app.redo = [];
  app.pid = null;
  await listMachines();
  $('machine-select').value = id;
  plots.reset();
  connectEvents();
  await refresh();
};

$('machine-select').addEventListener('change', (e) => app.selectMachine(e.target.value));
$('new-machine').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  if (!f.reportValidity()) return;
  try {
    const m = await post('/v1/machines', { config: { memory: f.memory.value, cpus: Number(f.cpus.value), page_policy: f.page_policy.value } });
    await app.selectMachine(m.id);
    say(`created ${m.id}`);
  } catch (err) { say(describe(err)); }
});

// ---- refresh -------------------------------------------------------------------
let refreshing = null;
async function refresh() {
  if (!app.machine) return;
  if (refreshing) { refreshing.again = true; return; }
  refreshing = { again: false };
  try {
    const m = app.machine;
    const [zones, vm, digest] = await Promise.all([get(`/v1/machines/${m}/zones`), getJSON(`/v1/machines/${m}/proc/vmstat`), get(`/v1/machines/${m}/digest`)]);
    app.seq = digest.seq;
    renderZones($('zones'), zones.items);
    renderBuddy($('buddy'), zones.items);
    renderVmstat($('vmstat'), vm);
    await frames.load(m);
    await Promise.all([renderSlabs($('slabs'), m, $('slab-filter').value), renderLRU($('lru'), m), loadHistory(), loadProcesses()]);
    plots.add(digest.seq, vm);
    say(`${m}: seq ${digest.seq}, digest ${digest.digest.slice(0, 12)}…`);
  } catch (e) { say(describe(e)); }
  const again = refreshing.again;
  refreshing = null;
  if (again) refresh();
}
async function sample() {
  if (!app.machine) return;
  const [vm, d] = await Promise.all([getJSON(`/v1/machines/${app.machine}/proc/vmstat`), get(`/v1/machines/${app.machine}/digest`)]);
  plots.add(d.seq, vm);
}

$('zoom').addEventListener('change', (e) => { frames.cell = Number(e.target.value); frames.draw(); });
$('slab-filter').addEventListener('input', () => renderSlabs($('slabs'), app.machine, $('slab-filter').value));
$('pfn-inspect').addEventListener('change', async (e) => {
  try { $('frame-info').textContent = await describeFrame(app.machine, Number(e.target.value)); } catch (err) { $('frame-info').textContent = describe(err); }
});

// ---- processes ---------------------------------------------------------------------
async function loadProcesses() {
  const { items } = await get(`/v1/machines/${app.machine}/processes?page_size=1000`);
  const sel = $('pid-select');
  sel.replaceChildren(...items.map((p) => el('option', { value: p.pid }, `${p.pid} ${p.name}${p.ppid ? ` (child of ${p.ppid})` : ''}`)));
  if (!items.length) {
    $('vma-bar').replaceChildren(el('p', {}, 'no processes: spawn one'));
    $('proc-info').replaceChildren();
    return;
  }
  if (!items.some((p) => p.pid === app.pid)) app.pid = items[0].pid;
  sel.value = app.pid;
  await renderProcess(processUi, app.machine, app.pid, frames);
}
const processUi = { info: $('proc-info'), bar: $('vma-bar'), detail: $('vma-detail'), walk: $('walk'), walkForm: $('walk-form') };
$('pid-select').addEventListener('change', (e) => { app.pid = Number(e.target.value); renderProcess(processUi, app.machine, app.pid, frames); });
$('walk-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!e.target.reportValidity() || !app.pid) return;
  showWalk(processUi, app.machine, app.pid, e.target.addr.value).catch((err) => { $('walk').textContent = describe(err); });
});

// ---- operations -------------------------------------------------------------------------
let ops = [];
function currentOp() { return ops.find((o) => o.name === $('op-select').value); }
function showOp() {
  const op = currentOp();
  $('op-summary').textContent = op ? op.summary : '';
  forms.render($('op-form'), op, app.pid ? { pid: app.pid } : {});
}
$('op-select').addEventListener('change', showOp);
$('op-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('op-error').textContent = '';
  if (!app.machine) { $('op-error').textContent = 'create or choose a machine first'; return; }
  const op = currentOp();
  const r = forms.read($('op-form'), op, app.machine);
  if (!r.ok) { $('op-error').textContent = `not sent: ${r.errors.join('; ')}`; return; }
  try {
    const res = await api(op.method, r.path, r.body);
    $('op-result').textContent = `${op.name} → ${JSON.stringify(res)}`;
    app.redo = [];
  } catch (err) {
    $('op-error').textContent = describe(err);
    $('op-result').textContent = '';
  }
  await refresh();
});

// ---- history: the journal, step back (:rewind) and forward (replay) ------------------------------
async function journal() {
  const text = await get(`/v1/machines/${app.machine}/journal`, { text: true });
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.seq);
}
async function loadHistory() {
  app.ops = await journal();
  $('history').replaceChildren(...app.ops.map((r) => el('li', { value: r.seq, class: r.error ? 'bad' : '' },
    `${r.op} ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !['seq', 'op', 'result', 'error'].includes(k))))}${r.error ? ` → ${r.error.code}` : ''}`)),
  ...app.redo.slice().reverse().map((r) => el('li', { class: 'undone' }, `${r.op} (undone)`)));
}
const record = (r) => Object.fromEntries(Object.entries(r).filter(([k]) => !['seq', 'result', 'error'].includes(k)));
$('step-back').addEventListener('click', async () => {
  if (!app.machine || !app.ops.length) { $('history-msg').textContent = 'nothing to step back over'; return; }
  const last = app.ops[app.ops.length - 1];
  try {
    await post(`/v1/machines/${app.machine}:rewind`, { seq: last.seq - 1 });
    app.redo.push(record(last));
    $('history-msg').textContent = `stepped back to seq ${last.seq - 1}`;
  } catch (err) {
    $('history-msg').textContent = err instanceof ApiError && (err.status === 404 || err.status === 405)
      ? `Step back is not available: this server has no POST …:rewind yet (${err.describe()})` : describe(err);
    return;
  }
  await refresh();
});
$('step-forward').addEventListener('click', async () => {
  const r = app.redo.pop();
  if (!r) { $('history-msg').textContent = 'nothing to step forward to'; return; }
  try {
    await post(`/v1/machines/${app.machine}:batch`, { ops: [r] });
    $('history-msg').textContent = `replayed ${r.op}`;
  } catch (err) { $('history-msg').textContent = describe(err); }
  await refresh();
});

// ---- live updates: SSE when the server has it, else polling --------------------------------------
async function connectEvents() {
  if (app.events) { app.events.close(); app.events = null; }
  clearInterval(app.poll);
  const m = app.machine;
  let has = null;
  try { has = await optional(`/v1/machines/${m}/events?since=0`); } catch { has = null; }
  // EventSource cannot send Authorization: with a tenant key the page polls
  // the same events as JSON (?since=ID) instead.
  const keyed = !!sessionStorage.getItem('mmsim-api-key');
  if (has !== null && !keyed && typeof EventSource !== 'undefined') {
    const es = new EventSource(`/v1/machines/${m}/events`);
    es.onmessage = () => refresh();
    es.addEventListener('error', () => { $('feed-mode').textContent = 'event stream interrupted; the browser reconnects'; });
    for (const t of ['op', 'kswapd_wake', 'kswapd_sleep', 'reclaim', 'swap_out', 'swap_in', 'oom_kill']) es.addEventListener(t, () => refresh());
    app.events = es;
    $('feed-mode').textContent = `live: fed by the event stream GET /v1/machines/${m}/events`;
  } else if (has !== null) {
    let since = has.last_id || 0;
    $('feed-mode').textContent = `polled: GET /v1/machines/${m}/events?since=ID every 2 s (a keyed session cannot hold an event stream)`;
    app.poll = setInterval(async () => {
      if (document.visibilityState === 'hidden') return;
      try {
        const page = await optional(`/v1/machines/${m}/events?since=${since}`);
        if (page && page.items && page.items.length) { since = page.last_id; refresh(); }
      } catch { /* shown by the next operation */ }
    }, 2000);
  } else {
    $('feed-mode').textContent = 'This server has no event stream yet (GET …/events): the plots sample /proc/vmstat after every operation and every 5 s instead.';
    app.poll = setInterval(() => { if (document.visibilityState !== 'hidden') sample().catch(() => {}); }, 5000);
  }
}

// ---- compare policies ----------------------------------------------------------------------------
$('compare-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  const out = $('compare-out');
  out.replaceChildren(el('p', {}, 'building…'));
  let trace;
  try { trace = JSON.parse(f.trace.value); if (!Array.isArray(trace)) throw new Error('the trace must be a JSON list'); } catch (err) {
    out.replaceChildren(el('p', { role: 'alert', class: 'bad' }, `trace: ${err.message}`)); return;
  }
  try {
    const base = app.machine ? await get(`/v1/machines/${app.machine}`) : { config: {} };
    const history = app.machine ? (await journal()).map(record) : [];
    const cols = [];
    for (const policy of [f.a.value, f.b.value]) {
      // a clone with another page_policy: the config with it, the journal replayed
      const m = await post('/v1/machines', { name: `compare ${policy}`, config: { ...base.config, page_policy: policy } });
      if (history.length) await post(`/v1/machines/${m.id}:batch`, { ops: history, stop_on_error: false });
      const res = await post(`/v1/machines/${m.id}:batch`, { ops: trace, stop_on_error: false });
      const vm = await getJSON(`/v1/machines/${m.id}/proc/vmstat`);
      const d = await get(`/v1/machines/${m.id}/digest`);
      cols.push(el('div', { class: 'compare-col', 'data-policy': policy }, el('h3', {}, `${policy} (${m.id})`),
        el('p', {}, `digest ${d.digest.slice(0, 16)}…; pgfault ${vm.pgfault}, pgmajfault ${vm.pgmajfault}, pswpout ${vm.pswpout}, free ${vm.nr_free_pages}`),
        el('ol', {}, res.results.map((r) => el('li', { class: r.ok ? '' : 'bad' }, r.ok ? JSON.stringify(r.result) : `${r.error.code}: ${r.error.message}`)))));
    }
    out.replaceChildren(...cols);
  } catch (err) { out.replaceChildren(el('p', { role: 'alert', class: 'bad' }, describe(err))); }
});

$('api-key').value = sessionStorage.getItem('mmsim-api-key') || '';
$('api-key').addEventListener('change', (e) => {
  if (e.target.value) sessionStorage.setItem('mmsim-api-key', e.target.value);
  else sessionStorage.removeItem('mmsim-api-key');
  listMachines().catch((err) => say(describe(err)));
});

// ---- start --------------------------------------------------------------------------------------
(async () => {
  try {
    ops = forms.operations(await get('/v1/openapi.json'));
    $('op-select').replaceChildren(...ops.map((o) => el('option', { value: o.name }, o.name)));
    $('op-select').value = ops.some((o) => o.name === 'spawn') ? 'spawn' : ops[0].name;
    showOp();
    const items = await listMachines();
    if (items.length) await app.selectMachine(items[items.length - 1].id);
    else say('no machine yet: create one');
  } catch (e) { say(describe(e)); }
})();

window.mmsim = app; // for the console
