// labs.js — the Labs tab: the lab list, a lab's concept and tasks, :start
// (its machine becomes the current one), answers and graded attempts.

import { el, get, post, ApiError } from './api.js';

export async function renderLabs(ui, app) {
  const { items } = await get('/v1/labs');
  ui.list.replaceChildren(...items.map((l) => el('li', {},
    el('button', { type: 'button', 'data-lab': l.id, onclick: () => showLab(ui, app, l.id) }, `${l.title} (${l.max} points)`))));
  if (!items.length) ui.list.append(el('li', {}, 'no labs are installed on this server'));
}

async function showLab(ui, app, id) {
  const lab = await get(`/v1/labs/${id}`);
  const keys = [...new Set(lab.tasks.flatMap((t) => t.answers))];
  const answers = el('form', { id: 'lab-answers' });
  const result = el('div', { id: 'lab-result', 'aria-live': 'polite' });
  const error = el('div', { role: 'alert', class: 'bad' });
  const machineNote = el('p', { id: 'lab-machine' }, app.labMachine[id] ? `your machine: ${app.labMachine[id]}` : 'not started yet');
  for (const t of lab.tasks) {
    for (const k of t.answers) {
      if (answers.elements[k]) continue;
      answers.append(el('div', { class: 'field' }, el('label', { for: `ans-${k}` }, `${k} (task ${t.id})`), el('input', { id: `ans-${k}`, name: k, size: 24 })));
    }
  }
  answers.append(el('button', { type: 'submit' }, 'Submit attempt'));
  answers.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const given = {};
    for (const k of keys) { const v = answers.elements[k].value.trim(); if (v !== '') given[k] = v; }
    const body = { answers: given };
    if (app.labMachine[id]) body.machine = app.labMachine[id];
    try {
      const g = await post(`/v1/labs/${id}/attempts`, body);
      result.replaceChildren(el('p', { id: 'lab-score' }, `${g.score} / ${g.max}`),
        el('ul', {}, g.tasks.map((t) => el('li', { class: t.ok ? 'ok' : 'bad' }, `${t.ok ? '✓' : '✗'} ${t.id}: ${t.feedback}`))));
    } catch (err) { error.textContent = err instanceof ApiError ? err.describe() : String(err); }
  });
  const start = el('button', { type: 'button', id: 'lab-start', onclick: async () => {
    error.textContent = '';
    try {
      const s = await post(`/v1/labs/${id}:start`, {});
      app.labMachine[id] = s.machine;
      machineNote.textContent = `your machine: ${s.machine} (setup answered ${JSON.stringify(s.setup)})`;
      await app.selectMachine(s.machine);
    } catch (err) { error.textContent = err instanceof ApiError ? err.describe() : String(err); }
  } }, 'Start this lab (new machine)');
  ui.detail.replaceChildren(el('h2', {}, lab.title), el('p', {}, lab.concept),
    el('p', {}, `config ${JSON.stringify(lab.config)}; setup: ${lab.setup.length ? lab.setup.map((r) => r.op).join(', ') : 'none'}`),
    start, machineNote,
    el('ol', {}, lab.tasks.map((t) => el('li', {}, `${t.prompt} `, el('small', {}, `(${t.points} point${t.points > 1 ? 's' : ''}, graded from the ${t.graded_from}${t.answers.length ? `; answer: ${t.answers.join(', ')}` : ''})`)))),
    el('p', {}, 'Run the operations with the forms on the right (they act on the current machine), then submit.'),
    answers, error, result);
}
