#!/usr/bin/env node
// tests/browser/run.mjs — the web UI in a real browser: playwright-core
// (npm) drives Debian's chromium (/usr/bin/chromium, headless) against a
// live mmsimd on a free loopback port.  Loads the UI, creates a machine,
// runs operations through the generated forms, sees the frame map and the
// VMA bar change, an API error shown as the API words it, a form refused
// before sending, the live plot grow, a step back in the history, the
// labs completed to full marks, a phone-width layout, and no script error
// in the console.  Screenshots go to build/browser/.  A browser that cannot
// start is a skip, except with CI=true, where it is a failure.
//
//     node tests/browser/run.mjs [BINARY]
//
// Ends with exactly one line "N passed, N failed".

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.resolve(process.argv[2] || path.join(ROOT, 'build', 'mmsimd'));
const SHOTS = path.join(ROOT, 'build', 'browser');
const CHROMIUM = process.env.MMSIM_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;
const require = createRequire(path.join(ROOT, 'package.json'));

let passed = 0, failed = 0;
const finish = () => { console.log(`${passed} passed, ${failed} failed`); process.exit(failed ? 1 : 0); };
function check(cond, msg) { if (!cond) throw new Error(msg); }

function startServer(dataDir) {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MMSIM_')));
    const proc = spawn(BIN, ['--listen', '127.0.0.1:0', '--data', dataDir, '--log', ''], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => { proc.kill(); reject(new Error('no listening line')); }, TIMEOUT);
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/[0-9.]+:[0-9]+)\n/);
      if (m) { clearTimeout(timer); resolve({ proc, url: m[1] }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`mmsimd exited ${code}`)); });
  });
}

let chromium;
try { ({ chromium } = require('playwright-core')); } catch (e) {
  console.log(`playwright-core is not installed (make deps): ${e.message}`);
  if (process.env.CI === 'true') failed++;
  finish();
}

const tmp = mkdtempSync(path.join(tmpdir(), 'mmsim-browser-'));
mkdirSync(SHOTS, { recursive: true });
const server = await startServer(path.join(tmp, 'data'));
let browser;
try {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (make deps installs chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
} catch (e) {
  console.log(`the browser did not start: ${e.message.split('\n')[0]}`);
  if (process.env.CI === 'true') failed++;
  else console.log('(skipped: set CI=true to make this a failure)');
  server.proc.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
  finish();
}

const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
// a refused request logs "Failed to load resource" (the UI probes optional
// routes and shows API errors on purpose); script errors are what count
page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text()); });

const counts = async () => JSON.parse((await page.getAttribute('#frame-map', 'data-counts')) || '{}');
async function runOp(name, fields, multi = {}) {
  await page.selectOption('#op-select', name);
  for (const [k, v] of Object.entries(fields)) await page.fill(`#f-${name}-${k}`, String(v));
  for (const [k, v] of Object.entries(multi)) await page.selectOption(`#f-${name}-${k}`, v);
  const before = await page.textContent('#status');
  const result = await page.textContent('#op-result');
  await page.click(`#op-form button[type=submit]`);
  // both: #status also changes when the labs list finishes loading
  await page.waitForFunction(([b, r]) => document.querySelector('#status').textContent !== b &&
    document.querySelector('#op-result').textContent !== r, [before, result]);
}

async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
    await page.screenshot({ path: path.join(SHOTS, `fail-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
  }
}

await test('the UI loads', async () => {
  await page.goto(server.url + '/');
  check((await page.title()).includes('mmsim'), 'title');
  await page.waitForFunction(() => document.querySelectorAll('#op-select option').length > 10);
  const names = await page.$$eval('#op-select option', (o) => o.map((x) => x.value));
  for (const op of ['mmap', 'touch', 'fork', 'kmalloc', 'allocPages', 'spawn']) check(names.includes(op), `form for ${op}`);
});

await test('create a machine', async () => {
  await page.fill('#new-machine input[name=memory]', '64M');
  await page.click('#new-machine button[type=submit]');
  await page.waitForFunction(() => /^created m-/.test(document.querySelector('#status').textContent));
  await page.waitForFunction(() => document.querySelector('#frame-map').dataset.counts);
  check((await page.$$('#zones .zone')).length === 2, 'two zones drawn (DMA, DMA32)');
  check((await page.$$('#buddy svg rect')).length > 0, 'buddy free lists drawn');
  check(!(await page.textContent('main')).includes('[object'), 'no object rendered as text');
  await page.screenshot({ path: path.join(SHOTS, 'machine.png'), fullPage: true });
});

await test('operations through the forms change the VMA bar and the frame map', async () => {
  await runOp('spawn', { name: 'demo' });
  await page.click('[data-tab=process]');
  await page.waitForSelector('#vma-bar p');
  await runOp('mmap', { pid: 1, length: '64K', prot: 'rw-' }, { flags: ['MAP_PRIVATE', 'MAP_ANONYMOUS'] });
  check((await page.textContent('#op-result')).includes('"addr":"0x7ffff7fef000"'), 'mmap answered its address');
  await page.waitForFunction(() => document.querySelectorAll('#vma-bar .vma').length === 1);
  const anonBefore = (await counts()).a || 0;
  await runOp('touch', { pid: 1, addr: '0x7ffff7fef000', length: '32K' }, { access: 'write' });
  await page.waitForFunction((n) => (JSON.parse(document.querySelector('#frame-map').dataset.counts).a || 0) === n + 8, anonBefore);
  await runOp('fork', { pid: 1 });
  await page.waitForFunction(() => (JSON.parse(document.querySelector('#frame-map').dataset.counts).c || 0) === 8);
  await page.click('#vma-bar .vma');
  await page.waitForSelector('#vma-detail tr.page-cow');
  check((await page.textContent('#vma-detail')).includes('pid 2'), 'COW pages name the child');
  await page.fill('#walk-form input[name=addr]', '0x7ffff7fef000');
  await page.click('#walk-form button');
  await page.waitForFunction(() => /PTE/.test(document.querySelector('#walk').textContent));
  await page.screenshot({ path: path.join(SHOTS, 'process.png'), fullPage: true });
});

await test('hovering the frame map shows a descriptor with its reverse mappings', async () => {
  await page.click('[data-tab=machine]');
  await page.fill('#pfn-inspect', String(await page.evaluate(() => window.mmsim && 0)));
  const pfn = await page.evaluate(async () => {
    const m = window.mmsim.machine;
    const w = await (await fetch(`/v1/machines/${m}/processes/1/pagetable?addr=0x7ffff7fef000`)).json();
    return w.pfn;
  });
  await page.fill('#pfn-inspect', String(pfn));
  await page.press('#pfn-inspect', 'Enter');
  await page.waitForFunction(() => /reverse mappings:\n/.test(document.querySelector('#frame-info').textContent));
  const info = await page.textContent('#frame-info');
  check(info.includes('pid 1') && info.includes('pid 2'), 'both processes map the COW page');
  const box = await page.$('#frame-map');
  const b = await box.boundingBox();
  await page.mouse.move(b.x + 2, b.y + 2);
  await page.waitForFunction(() => /^pfn 0 /.test(document.querySelector('#frame-info').textContent));
});

await test('an API error is shown as the API words it', async () => {
  await page.selectOption('#op-select', 'mmap');
  await page.fill('#f-mmap-pid', '1');
  await page.fill('#f-mmap-length', '0');
  await page.fill('#f-mmap-prot', 'rw-');
  await page.selectOption('#f-mmap-flags', ['MAP_PRIVATE', 'MAP_ANONYMOUS']);
  await page.click('#op-form button[type=submit]');
  await page.waitForFunction(() => /EINVAL \(422\)/.test(document.querySelector('#op-error').textContent));
  check((await page.textContent('#op-error')).includes('mmap'), 'the message names the operation');
});

await test('a form is validated before sending', async () => {
  const seq = await page.evaluate(() => window.mmsim.seq);
  await page.fill('#f-mmap-prot', 'rwz');
  await page.click('#op-form button[type=submit]');
  await page.waitForFunction(() => /not sent: prot/.test(document.querySelector('#op-error').textContent));
  check((await page.getAttribute('#f-mmap-prot', 'aria-invalid')) === 'true', 'the field is marked');
  check(await page.evaluate(() => window.mmsim.seq) === seq, 'nothing was sent');
});

await test('the live plot grows after an operation', async () => {
  await page.click('[data-tab=plots]');
  await page.waitForFunction(() => Number(document.querySelector('#plot-mem').dataset.points || 0) >= 1);
  const n = Number(await page.getAttribute('#plot-mem', 'data-points'));
  check(/event stream/.test(await page.textContent('#feed-mode')), 'the feed says where samples come from');
  await runOp('kmalloc', { size: 4096 }, { gfp: ['GFP_KERNEL'] });
  await page.waitForFunction((k) => Number(document.querySelector('#plot-mem').dataset.points) > k, n);
  check((await page.$$('#plot-mem canvas')).length > 0, 'uPlot drew a canvas');
  await page.screenshot({ path: path.join(SHOTS, 'plots.png'), fullPage: true });
});

await test('step back in the history', async () => {
  const seq = await page.evaluate(() => window.mmsim.seq);
  await page.click('#step-back');
  await page.waitForFunction(() => document.querySelector('#history-msg').textContent !== '');
  const msg = await page.textContent('#history-msg');
  if (/^stepped back/.test(msg)) {
    await page.waitForFunction((s) => window.mmsim.seq === s - 1, seq);
    await page.click('#step-forward');
    await page.waitForFunction((s) => window.mmsim.seq === s, seq);
  } else {
    // this server has no :rewind yet: the UI must say so, state unchanged
    check(/not available.*rewind/.test(msg), `message: ${msg}`);
    check(await page.evaluate(() => window.mmsim.seq) === seq, 'state unchanged');
  }
});

await test('compare two page policies side by side', async () => {
  await page.click('[data-tab=compare]');
  await page.click('#compare-form button');
  await page.waitForFunction(() => document.querySelectorAll('#compare-out .compare-col').length === 2);
  const cols = await page.$$eval('#compare-out .compare-col', (c) => c.map((x) => x.dataset.policy));
  check(cols.join() === 'fifo,lru', `policies ${cols}`);
  check((await page.$$('#compare-out li.bad')).length === 0, 'the trace ran on both');
});

await test('a lab to full marks through the UI', async () => {
  await page.click('[data-tab=labs]');
  await page.click('[data-lab=buddy-split-merge]');
  await page.click('#lab-start');
  await page.waitForFunction(() => /your machine: m-/.test(document.querySelector('#lab-machine').textContent));
  await page.waitForFunction(() => document.querySelector('#machine-select').value === window.mmsim.machine && window.mmsim.seq === 0);
  await runOp('allocPages', { order: 3 }, { gfp: ['GFP_KERNEL'] });
  check((await page.textContent('#op-result')).includes('"pfn":5120'), 'the block');
  await runOp('freePages', { pfn: 5120, order: 3 });
  await page.fill('#ans-split_order', '10');
  await page.fill('#ans-buddy_pfn', '5128');
  await page.click('#lab-answers button[type=submit]');
  await page.waitForSelector('#lab-score');
  check((await page.textContent('#lab-score')) === '4 / 4', `score ${await page.textContent('#lab-score')}`);
  await page.screenshot({ path: path.join(SHOTS, 'lab.png'), fullPage: true });
});

await test('keyboard only: tabs and forms are reachable', async () => {
  await page.focus('[data-tab=machine]');
  await page.keyboard.press('Enter');
  check(!(await page.isHidden('#tab-machine')), 'Enter on a tab opens it');
  await page.focus('#op-select');
  await page.keyboard.press('Tab');
  const active = await page.evaluate(() => document.activeElement && document.activeElement.closest('#op-form') !== null);
  check(active, 'Tab moves from the operation list into its form');
  await page.mouse.move(0, 0); // no hover competing with the keyboard
  await page.focus('#frame-map');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => /^pfn \d+ /.test(document.querySelector('#frame-info').textContent));
  const at = Number((await page.textContent('#frame-info')).match(/^pfn (\d+)/)[1]);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((n) => document.querySelector('#frame-info').textContent.startsWith(`pfn ${n + 1} `), at);
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction((n) => document.querySelector('#frame-info').textContent.startsWith('pfn ') &&
    Number(document.querySelector('#frame-info').textContent.match(/^pfn (\d+)/)[1]) > n + 1, at);
});

await test('readable on a phone width', async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.click('[data-tab=machine]');
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(over <= 1, `the page is ${over}px wider than the screen`);
  await page.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
});

await test('no script errors in the console', async () => {
  check(consoleErrors.length === 0, consoleErrors.join(' | '));
});

await browser.close();
server.proc.kill('SIGTERM');
await new Promise((r) => server.proc.on('exit', r));
rmSync(tmp, { recursive: true, force: true });
finish();
