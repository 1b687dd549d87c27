// plots.js — live plots over simulated time, drawn with uPlot: free pages,
// anonymous/file/LRU pages, faults and reclaim, from /proc/vmstat samples.
// Samples arrive from the SSE stream GET …/events when the server has it,
// otherwise after every operation and on a slow poll (the UI says which).

const SERIES = {
  mem: [['nr_free_pages', 'free'], ['nr_anon_pages', 'anon'], ['nr_file_pages', 'file'],
    ['nr_active_anon', 'active anon'], ['nr_inactive_anon', 'inactive anon'], ['nr_active_file', 'active file'], ['nr_inactive_file', 'inactive file']],
  faults: [['pgfault', 'faults'], ['pgmajfault', 'major faults'], ['pgalloc_dma32', 'pgalloc dma32'], ['pgfree', 'pgfree']],
  reclaim: [['pgscan_kswapd', 'kswapd scanned'], ['pgsteal_kswapd', 'kswapd reclaimed'], ['pgscan_direct', 'direct scanned'],
    ['pgsteal_direct', 'direct reclaimed'], ['pswpout', 'swapped out'], ['pswpin', 'swapped in']],
};
const COLOURS = ['#2458a6', '#d03a7a', '#36a3a3', '#e08a00', '#8e44ad', '#1e7d32', '#b3261e'];
const MAX = 2000;

export class Plots {
  constructor(boxes) {
    this.boxes = boxes;
    this.reset();
  }

  reset() {
    this.x = [];
    this.cols = Object.fromEntries(Object.entries(SERIES).map(([k, s]) => [k, s.map(() => [])]));
    for (const [k, box] of Object.entries(this.boxes)) {
      box.replaceChildren();
      if (this.plots && this.plots[k]) this.plots[k].destroy();
    }
    this.plots = {};
    if (typeof uPlot === 'undefined') return;
    const titles = { mem: 'pages', faults: 'events', reclaim: 'reclaim' };
    for (const [k, box] of Object.entries(this.boxes)) {
      const width = Math.max(300, Math.min(900, (box.parentElement.clientWidth || 900) - 10));
      this.plots[k] = new uPlot({
        title: titles[k], width, height: 200, scales: { x: { time: false } },
        series: [{ label: 'time (operation seq)' }, ...SERIES[k].map(([, label], i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5 }))],
        axes: [{ label: 'simulated time (operations)', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
          { size: 70 }],
      }, [[], ...SERIES[k].map(() => [])], box);
    }
  }

  // Fits the plots to their boxes (a tab shown after they were made hidden).
  resize() {
    for (const [k, p] of Object.entries(this.plots)) {
      const width = Math.max(300, Math.min(900, (this.boxes[k].parentElement.clientWidth || 900) - 10));
      p.setSize({ width, height: 200 });
    }
  }

  // One sample: t (simulated time), vm (the /proc/vmstat object).
  add(t, vm) {
    if (this.x.length && t <= this.x[this.x.length - 1]) {
      // a rewind: drop the samples after it
      while (this.x.length && this.x[this.x.length - 1] >= t) {
        this.x.pop();
        for (const cols of Object.values(this.cols)) cols.forEach((c) => c.pop());
      }
    }
    this.x.push(t);
    for (const [k, s] of Object.entries(SERIES)) s.forEach(([key], i) => this.cols[k][i].push(vm[key] ?? null));
    if (this.x.length > MAX) { this.x.shift(); for (const cols of Object.values(this.cols)) cols.forEach((c) => c.shift()); }
    for (const [k, p] of Object.entries(this.plots)) {
      p.setData([this.x, ...this.cols[k]]);
      this.boxes[k].dataset.points = String(this.x.length);
    }
  }
}
