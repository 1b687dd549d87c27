// machine.js — the Machine view: zones against their watermarks, the buddy
// free lists, the physical frame map, LRU lists, slab caches and vmstat.

import { el, table, get, getJSON, optional } from './api.js';

const TYPES = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic'];
const TYPE_COLOURS = ['#b3261e', '#4a7fd0', '#e08a00', '#8e44ad'];

export function renderZones(box, zones) {
  box.replaceChildren(...zones.filter((z) => z.populated).map((z) => {
    const pct = (n) => `${Math.min(100, (100 * n) / Math.max(1, z.managed)).toFixed(2)}%`;
    const w = z.watermarks;
    return el('div', { class: 'zone', 'data-zone': z.zone },
      el('div', { class: 'zone-label' }, `node ${z.node} ${z.zone}: ${z.free} free of ${z.managed} managed pages — min ${w.min}, low ${w.low}, high ${w.high}`),
      el('div', { class: 'zone-bar', role: 'img', 'aria-label': `${z.zone}: ${z.free} free pages; watermarks min ${w.min} low ${w.low} high ${w.high}` },
        el('div', { class: 'zone-free', style: `width:${pct(z.free)}` }),
        el('div', { class: 'wm min', style: `left:${pct(w.min)}`, title: `min ${w.min}` }),
        el('div', { class: 'wm low', style: `left:${pct(w.low)}`, title: `low ${w.low}` }),
        el('div', { class: 'wm high', style: `left:${pct(w.high)}`, title: `high ${w.high}` })));
  }), el('div', { class: 'legend' }, el('span', { class: 'sw', style: 'background:#7cc47f' }), 'free pages',
    el('span', { class: 'sw', style: 'background:#b3261e' }), 'min', el('span', { class: 'sw', style: 'background:#e08a00' }), 'low',
    el('span', { class: 'sw', style: 'background:#2458a6' }), 'high'));
}

// One stacked bar per order (height: log2 of the block count), coloured by migrate type.
export function renderBuddy(box, zones) {
  const NS = 'http://www.w3.org/2000/svg';
  const svgEl = (t, a) => { const e = document.createElementNS(NS, t); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); return e; };
  box.replaceChildren(...zones.filter((z) => z.populated).map((z) => {
    const W = 22, H = 90;
    const svg = svgEl('svg', { width: 11 * W + 10, height: H + 30, role: 'img', 'aria-label': `free blocks of ${z.zone} by order` });
    z.free_area.forEach((area, order) => {
      let y = H;
      TYPES.forEach((t, i) => {
        const n = area[t] || 0;
        if (!n) return;
        const h = Math.max(3, 12 * Math.log2(n + 1));
        y -= h;
        const r = svgEl('rect', { x: order * W + 4, y, width: W - 4, height: h, fill: TYPE_COLOURS[i] });
        const title = svgEl('title', {});
        title.textContent = `order ${order} ${t}: ${n} blocks (${n << order} pages)`;
        r.append(title);
        svg.append(r);
      });
      const total = TYPES.reduce((s, t) => s + (area[t] || 0), 0);
      const c = svgEl('text', { x: order * W + 6, y: H + 12, 'font-size': 10 });
      c.textContent = String(total);
      const o = svgEl('text', { x: order * W + 8, y: H + 25, 'font-size': 9, fill: '#666' });
      o.textContent = String(order);
      svg.append(c, o);
    });
    return el('div', { class: 'buddy-zone' }, el('div', { class: 'zone-label' }, `node ${z.node} ${z.zone} (count / order)`), svg);
  }), el('div', { class: 'legend' }, TYPES.map((t, i) => [el('span', { class: 'sw', style: `background:${TYPE_COLOURS[i]}` }), t])));
}

// Frame-map colours by state character (api/frames.c); free blocks by order.
const COLOURS = {
  '.': '#ffffff', r: '#555555', p: '#9fd8c8', k: '#f08c00', '+': '#f7c27a', s: '#8e44ad', t: '#8b5a2b',
  z: '#f2d600', a: '#4a7fd0', c: '#d03a7a', w: '#9b7fd0', f: '#36a3a3', u: '#2c2c2c', '?': '#000000',
};
const PRIORITY = 'cawftsk+zupr?.'; // a group of frames shows its most telling state
function freeColour(order) { const l = 88 - order * 4; return `hsl(120, 45%, ${l}%)`; }

export class FrameMap {
  constructor(canvas, info, legend, scale, onInspect) {
    Object.assign(this, { canvas, info, legend, scale, onInspect, states: '', cell: 4, fpc: 1, cols: 1 });
    canvas.addEventListener('mousemove', (e) => this.hover(e));
    canvas.addEventListener('click', (e) => this.hover(e, true));
    // keyboard: arrows move a cursor cell by cell (rows with up/down)
    canvas.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -this.cols, ArrowDown: this.cols }[e.key];
      if (step === undefined || !this.states.length) return;
      e.preventDefault();
      const cell = Math.min(Math.max(0, Math.floor((this.cursor || 0) / this.fpc) + step), Math.ceil(this.states.length / this.fpc) - 1);
      this.cursor = cell * this.fpc;
      this.draw();
      this.onInspect(this.cursor);
    });
  }

  async load(machine) {
    const first = await get(`/v1/machines/${machine}/frames?start=0&count=65536`);
    let states = first.states;
    const limit = Math.min(first.nr_pfns, 1 << 20);
    for (let start = states.length; start < limit; start += 65536) {
      states += (await get(`/v1/machines/${machine}/frames?start=${start}&count=65536`)).states;
    }
    this.machine = machine;
    this.total = first.nr_pfns;
    this.states = states;
    this.legendMap = first.legend;
    this.draw();
  }

  draw() {
    const n = this.states.length;
    const width = Math.min(960, Math.max(320, this.canvas.parentElement.clientWidth - 4));
    this.cols = Math.max(1, Math.floor(width / this.cell));
    this.fpc = 1;
    while (Math.ceil(n / this.fpc / this.cols) * this.cell > 480) this.fpc *= 2;
    const rows = Math.ceil(n / this.fpc / this.cols);
    const c = this.canvas;
    c.width = this.cols * this.cell;
    c.height = Math.max(this.cell, rows * this.cell);
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    const counts = {};
    let order = 0;
    for (let i = 0, cellIdx = 0; i < n; i += this.fpc, cellIdx++) {
      let best = null, bestRank = 99, freeOrder = -1;
      for (let j = i; j < Math.min(n, i + this.fpc); j++) {
        const ch = this.states[j];
        counts[ch] = (counts[ch] || 0) + 1;
        if (ch >= 'A' && ch <= 'K') order = ch.charCodeAt(0) - 65;
        if ((ch >= 'A' && ch <= 'K') || ch === '-') { freeOrder = Math.max(freeOrder, order); continue; }
        const rank = PRIORITY.indexOf(ch);
        if (rank >= 0 && rank < bestRank) { best = ch; bestRank = rank; }
      }
      g.fillStyle = best && (best !== '.' || freeOrder < 0) ? COLOURS[best] : freeColour(Math.max(0, freeOrder));
      g.fillRect((cellIdx % this.cols) * this.cell, Math.floor(cellIdx / this.cols) * this.cell,
        this.cell - (this.cell > 3 ? 1 : 0), this.cell - (this.cell > 3 ? 1 : 0));
    }
    if (this.cursor !== undefined && this.cursor < n) {
      const cell = Math.floor(this.cursor / this.fpc);
      g.strokeStyle = '#000';
      g.lineWidth = 1;
      g.strokeRect((cell % this.cols) * this.cell + 0.5, Math.floor(cell / this.cols) * this.cell + 0.5, this.cell, this.cell);
    }
    c.dataset.counts = JSON.stringify(counts);
    this.scale.textContent = `${n < this.total ? `the first ${n} of ${this.total}` : n} frames, ${this.fpc} frame${this.fpc > 1 ? 's' : ''} per cell`;
    const L = this.legendMap || {};
    this.legend.replaceChildren(
      el('span', {}, el('span', { class: 'sw', style: `background:${freeColour(0)}` }), 'free (order 0) … ',
        el('span', { class: 'sw', style: `background:${freeColour(10)}` }), 'free (order 10)'),
      ...Object.keys(COLOURS).filter((k) => L[k]).map((k) => el('span', {},
        el('span', { class: 'sw', style: `background:${COLOURS[k]}` }), `${L[k]} (${counts[k] || 0})`)));
  }

  hover(e, sticky) {
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / this.cell), row = Math.floor((e.clientY - r.top) / this.cell);
    const pfn = (row * this.cols + col) * this.fpc;
    if (col >= this.cols || pfn >= this.states.length || pfn === this.lastPfn) return;
    this.lastPfn = pfn;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onInspect(pfn), sticky ? 0 : 120);
  }
}

export async function describeFrame(machine, pfn) {
  const d = await get(`/v1/machines/${machine}/frames/${pfn}`);
  const lines = [`pfn ${d.pfn} (${d.zone}, node ${d.node}, ${d.migratetype}) state '${d.state}'`,
    `flags: ${d.flags.join(', ') || '-'}`, `refcount ${d.refcount}  mapcount ${d.mapcount}  mapping ${d.mapping}  index ${d.index}`];
  if (d.free_block) lines.push(`inside the free block at pfn ${d.free_block.head}, order ${d.free_block.order}`);
  if (d.order !== undefined) lines.push(`order ${d.order}`);
  lines.push(d.rmap && d.rmap.length ? `reverse mappings:\n${d.rmap.map((m) => `  pid ${m.pid} at ${m.addr} (VMA ${m.vma_start}-${m.vma_end}) ${m.writable ? 'writable' : 'read-only'}`).join('\n')}` : 'reverse mappings: none');
  return lines.join('\n');
}

export async function renderLRU(box, machine) {
  const lru = await optional(`/v1/machines/${machine}/lru`);
  if (!lru) {
    box.replaceChildren(el('p', {}, 'LRU lists: this server has no GET …/lru yet (it comes with page reclaim).'));
    return false;
  }
  const rows = [];
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'number') rows.push([prefix + k, v]);
      else if (v && typeof v === 'object') walk(v, `${prefix}${k}.`);
    }
  };
  walk(lru, '');
  box.replaceChildren(table(['list', 'pages'], rows.slice(0, 200)));
  return true;
}

export async function renderSlabs(box, machine, filter) {
  const caches = await getJSON(`/v1/machines/${machine}/proc/slabinfo`);
  const list = (Array.isArray(caches) ? caches : caches.items || []).filter((c) => !filter || c.name.includes(filter));
  list.sort((a, b) => b.num_objs - a.num_objs || a.name.localeCompare(b.name));
  box.replaceChildren(table(['cache', 'active', 'objects', 'objsize', 'per slab', 'pages/slab', 'slabs'],
    list.map((c) => [c.name, c.active_objs, c.num_objs, c.size, c.objects_per_slab, c.pages_per_slab, c.slabs])));
}

export function renderVmstat(box, vm) {
  box.replaceChildren(table(['counter', 'value'], Object.entries(vm).filter(([, v]) => v !== 0)));
}
