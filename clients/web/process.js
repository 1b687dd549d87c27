// process.js — the Process view: the VMAs as a bar over the address space,
// a VMA's pages (copy-on-write sharing highlighted) and page-table walks.

import { el, get, getJSON, table } from './api.js';

const PAGE = 4096n;
const MAX_PAGES = 64; // pages listed per VMA (each is one walk)

export async function renderProcess(ui, machine, pid, frames) {
  const [p, maps] = await Promise.all([get(`/v1/machines/${machine}/processes/${pid}`),
    getJSON(`/v1/machines/${machine}/processes/${pid}/maps`)]);
  ui.info.replaceChildren(el('p', {}, `pid ${p.pid} "${p.name}", parent ${p.ppid || '-'}, cpu ${p.cpu}: `,
    `rss ${p.rss} pages, ${p.min_flt} minor / ${p.maj_flt} major faults, ${p.map_count} VMAs, VmSize ${p.vm_size >> 10} kB`));
  const vmas = maps.items;
  const total = vmas.reduce((s, v) => s + Math.sqrt(Number((BigInt(v.end) - BigInt(v.start)) / PAGE)), 0) || 1;
  const kids = [];
  vmas.forEach((v, i) => {
    if (i > 0 && vmas[i - 1].end !== v.start) kids.push(el('div', { class: 'gap', title: `unmapped ${vmas[i - 1].end}-${v.start}` }));
    const pages = Number((BigInt(v.end) - BigInt(v.start)) / PAGE);
    const file = v.inode !== 0 || (v.name && !v.name.startsWith('['));
    const shared = v.perms[3] === 's';
    const b = el('button', {
      type: 'button', class: `vma${file ? ' file' : ''}${shared ? ' shared' : ''}`, 'aria-pressed': 'false',
      style: `flex: ${Math.sqrt(pages) / total} 0 0`, 'data-start': v.start, 'data-end': v.end,
      title: `${v.start}-${v.end} ${v.perms} ${pages} pages ${v.name || (file ? 'file' : 'anonymous')}`,
      onclick: () => { for (const x of ui.bar.querySelectorAll('.vma')) x.setAttribute('aria-pressed', String(x === b)); showVma(ui, machine, pid, v, frames); },
    }, `${v.perms} ${pages}p ${v.name || ''}`);
    kids.push(b);
  });
  ui.bar.replaceChildren(...kids);
  if (!vmas.length) ui.bar.append(el('p', {}, 'no VMAs: mmap something'));
  // copy-on-write marks: a VMA any of whose first pages is shared
  for (const b of ui.bar.querySelectorAll('.vma')) {
    walkPages(machine, pid, b.dataset.start, b.dataset.end, 16).then((rows) => {
      if (rows.some((r) => r.pfn !== null && frames.states[r.pfn] === 'c')) b.classList.add('cow');
    }).catch(() => {});
  }
  return p;
}

async function walkPages(machine, pid, start, end, max) {
  const rows = [];
  for (let a = BigInt(start), i = 0; a < BigInt(end) && i < max; a += PAGE, i++) {
    const w = await get(`/v1/machines/${machine}/processes/${pid}/pagetable?addr=0x${a.toString(16)}`);
    rows.push({ addr: `0x${a.toString(16)}`, mapped: w.mapped, pfn: w.mapped ? w.pfn : null, walk: w });
  }
  return rows;
}

async function showVma(ui, machine, pid, v, frames) {
  ui.detail.replaceChildren(el('p', {}, `VMA ${v.start}-${v.end} ${v.perms} ${v.name || ''}: loading pages…`));
  const rows = await walkPages(machine, pid, v.start, v.end, MAX_PAGES);
  const out = [];
  for (const r of rows) {
    const st = r.pfn === null ? '' : frames.states[r.pfn] || '';
    const what = { z: 'zero page', a: 'anonymous', c: 'shared copy-on-write', w: 'swap cache', f: 'page cache' }[st] || st;
    let sharers = '';
    if (st === 'c' || st === 'f') {
      const d = await get(`/v1/machines/${machine}/frames/${r.pfn}`);
      sharers = d.rmap.filter((m) => m.pid !== pid).map((m) => `pid ${m.pid}`).join(', ');
    }
    const tr = el('tr', { class: st === 'c' ? 'page-cow' : '' }, [r.addr, r.mapped ? 'yes' : 'no', r.pfn ?? '-', what, sharers]
      .map((c) => el('td', {}, c)));
    tr.addEventListener('click', () => { ui.walkForm.elements.addr.value = r.addr; showWalk(ui, machine, pid, r.addr); });
    out.push(tr);
  }
  ui.detail.replaceChildren(el('p', {}, `VMA ${v.start}-${v.end} ${v.perms} ${v.name || '(anonymous)'} — first ${rows.length} pages (click one for its walk):`),
    el('table', { class: 'pages' }, el('thead', {}, el('tr', {}, ['address', 'present', 'pfn', 'frame', 'shared with'].map((h) => el('th', {}, h)))), el('tbody', {}, out)));
}

export async function showWalk(ui, machine, pid, addr) {
  const w = await get(`/v1/machines/${machine}/processes/${pid}/pagetable?addr=${encodeURIComponent(addr)}`);
  const names = { 4: 'PGD', 3: 'PUD', 2: 'PMD', 1: 'PTE' };
  ui.walk.textContent = `${w.addr}: ${w.mapped ? `present, pfn ${w.pfn} (phys ${w.phys})` : 'not present'}\n` +
    w.walk.map((s) => `  ${(names[s.level] || `L${s.level}`).padEnd(4)} table pfn ${String(s.table_pfn).padStart(6)} index ${String(s.index).padStart(3)} entry ${s.entry}`).join('\n');
}

export { table };
