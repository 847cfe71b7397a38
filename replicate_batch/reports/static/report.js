(() => {
const D = JSON.parse(document.getElementById('data').textContent);
const grid = document.getElementById('grid'), body = document.getElementById('rows');
const sortBy = document.getElementById('sort'), failedOnly = document.getElementById('failed-only');
const lowOnly = document.getElementById('low-only');  // only when the run has scorers
const FIRST = 50, CHUNK = 250, LONG = 600, LINES = 12, PREVIEW = 400;
const E = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
const esc = s => String(s).replace(/[&<>"']/g, c => E[c]);
const secs = w => w == null ? '–' : (w < 10 ? w.toFixed(2) : w.toFixed(1)) + ' s';
const isLong = t => t.length > LONG || t.split('\n').length > LINES;
const preview = t => t.slice(0, PREVIEW).split('\n').slice(0, LINES - 4).join('\n') + ' …';
const fullText = key => key[0] === 'j' ? D.jobs[+key.slice(1)].o
  : D.rows[+key.slice(1).split('.')[0]].i[+key.split('.')[1]][1];

function text(t, key, pre) {
  const tag = pre ? 'pre' : 'div', long = isLong(t);
  const shown = long ? preview(t) : t;
  let h = `<${tag} class="text${long ? ' collapsed' : ''}">${esc(shown)}</${tag}>`;
  if (long) h += `<button class="more" data-full="${key}">show all ${t.length} characters</button>`;
  return h;
}

// A file that could run script is never linked: opened from file:// (where browsers ignore `download`)
// its script would run with this page's access. An SVG is shown as an <img>, which runs none; other
// such files are named, with a link to their folder (media_kind in report.py says which are which).
const folderOf = h => h.slice(0, h.lastIndexOf('/') + 1) || '.';
const named = (h, n) => `<span class="active" title="not opened from this page: it could run script">`
  + `${n}</span> <a class="muted" href="${folderOf(h)}">folder</a>`;

function file([href, name, kind]) {
  const h = esc(href), n = esc(name);
  if (kind === 'image') return `<a href="${h}" target="_blank"><img class="thumb output" loading="lazy"`
    + ` src="${h}" alt="${n}"></a>`;
  if (kind === 'svg') return `<img class="thumb output" loading="lazy" src="${h}" alt="${n}" title="${n}">`;
  // A player is made on the first click: thousands of media controls would make the page slow.
  if (kind === 'audio' || kind === 'video') return `<div class="player"><button class="play"`
    + ` data-kind="${kind}" data-src="${h}">▶ play ${kind}</button>`
    + ` <a class="muted" href="${h}">${n}</a></div>`;
  if (kind === 'active') return named(h, n);
  return `<a class="file" href="${h}">${n}</a>`;
}

// Scores: a job's `sc` holds its score cells in D.scorers' order, `sn` its notes (each list ends at its
// last non-empty cell, and is left out when all are empty); D.applies[m] the indices (into D.scorers) of
// the scorers that apply to model m. A score that is empty or not a number is unscored: it counts 0 in the
// mean, as failed and canceled jobs do.
const APPLIES = D.applies.map(list => new Set(list));
const cellAt = (cells, s) => (cells && cells[s]) || '';
function scoreOf(k, s) {
  const c = cellAt(D.jobs[k].sc, s), v = c !== '' ? Number(c) : NaN;
  return Number.isFinite(v) ? v : NaN;
}
// A job that scored below 1: under a scorer that applies to its model, a score below 1 or none (so a
// failed, canceled or unscored job): the jobs that pull a mean down (reports/below_one.py says the same).
const LOW = new Uint8Array(D.jobs.length);
D.rows.forEach(R => R.c.forEach((cell, m) => cell.forEach(k => {
  for (const s of APPLIES[m]) if (!(scoreOf(k, s) >= 1)) LOW[k] = 1;
})));

// A scorer's badge: its name and score (– when unscored), its note on hover.
function badge([name, value, note]) {
  const kind = value === '' ? 'none' : +value >= 1 ? 'full' : +value <= 0 ? 'zero' : 'part';
  const title = note ? ` title="${esc(note)}"` : value === '' ? ' title="unscored: counts 0 in the mean"' : '';
  return ` <span class="badge ${kind}"${title}>${esc(name)} ${value === '' ? '–' : esc(value)}</span>`;
}

// A badge per scorer that applies to the job's model (or gave it a score or note), in column order.
function badges(k, m) {
  const j = D.jobs[k];
  return D.scorers.map((name, s) => [name, cellAt(j.sc, s), cellAt(j.sn, s)])
    .filter(([, value, note], s) => value || note || APPLIES[m].has(s)).map(badge);
}

function job(k, m) {
  const j = D.jobs[k];
  let h = `<div class="job ${esc(j.s)}${LOW[k] ? ' low' : ''}" data-job="${esc(j.id)}"><div class="head">`
    + `<span class="status">${esc(j.s)}</span> · <span class="wall">${secs(j.w)}</span>`;
  if (j.p != null) h += ` · model ${secs(j.p)}`;
  if (j.a > 1) h += ` · ${j.a} attempts`;
  if (j.m) h += ` · <span class="tag">${esc(j.m)}</span>`;
  h += badges(k, m).join('') + '</div>';
  if (j.e) h += `<div class="error">${esc(j.e)}</div>`;
  if (j.f.length) h += `<div class="media">${j.f.map(file).join('')}</div>`;
  if (j.o) h += text(j.o, 'j' + k, j.j);
  return h + '</div>';
}

function input([name, value, kind, src], r, n) {
  let v;
  if (kind === 'image' || kind === 'svg') {
    const s = esc(typeof src === 'number' ? D.assets[src] : src);
    const img = `<img class="thumb input-image" loading="lazy" src="${s}" alt="${esc(value)}">`;
    v = (kind === 'image' ? `<a href="${s}" target="_blank">${img}</a>` : img)
      + `<span class="muted">${esc(value)}</span>`;
  } else if (kind === 'url' || kind === 'file') {
    v = `<a href="${esc(src)}">${esc(value)}</a>`;
  } else if (kind === 'active') {
    v = named(esc(src), esc(value));
  } else v = text(value, `i${r}.${n}`, false);
  return `<div class="input ${kind}"><b>${esc(name)}</b> ${v}</div>`;
}

function row(r) {
  const R = D.rows[r], all = R.c.flat();
  const ok = all.every(k => D.jobs[k].s === 'succeeded'), low = all.some(k => LOW[k]);
  let h = `<div class="gridrow ${ok ? 'all-ok' : 'has-failed'} ${low ? 'has-low' : 'no-low'}" role="row">`
    + '<div class="inputs" role="rowheader">'
    + `<div class="rowid">${esc(R.l)}</div>` + R.t.map(t => `<span class="tag">${esc(t)}</span>`).join('')
    + R.i.map((x, n) => input(x, r, n)).join('') + '</div>';
  R.c.forEach((cell, m) => { h += `<div role="cell">${cell.map(k => job(k, m)).join('')}</div>`; });
  return h + '</div>';
}

function slowest(R, m) {
  let best = null;
  for (const cell of m === '' ? R.c : [R.c[+m]])
    for (const k of cell) { const w = D.jobs[k].w; if (w != null && (best == null || w > best)) best = w; }
  return best;
}

// A row's mean score under one scorer, over its jobs the scorer applies to (of model m, or of every
// model when m is ''), unscored ones counting 0; null when it applies to none of them.
function meanScore(R, s, m) {
  let sum = 0, n = 0;
  R.c.forEach((cell, i) => {
    if ((m !== '' && i !== +m) || !APPLIES[i].has(s)) return;
    for (const k of cell) { const v = scoreOf(k, s); sum += Number.isNaN(v) ? 0 : v; n++; }
  });
  return n ? sum / n : null;
}

// Sort options: `input`; `slow`, `fast` or `slow:<model>` (wall time); `low:<scorer>`, `high:<scorer>`
// or `low:<scorer>:<model>` (score). Rows without a key go last; ties keep input order.
function order() {
  const idx = D.rows.map((_, i) => i), [how, a, b] = sortBy.value.split(':');
  if (how === 'input') return idx;
  const byScore = how === 'low' || how === 'high';
  const key = idx.map(i => byScore ? meanScore(D.rows[i], +a, b ?? '') : slowest(D.rows[i], a ?? ''));
  const sign = how === 'slow' || how === 'high' ? -1 : 1;
  return idx.sort((a, b) => {
    const x = key[a], y = key[b];
    if (x == null || y == null) return x == null ? (y == null ? a - b : 1) : -1;
    return sign * (x - y) || a - b;
  });
}

let generation = 0;
function render() {
  const mine = ++generation, idx = order();
  body.innerHTML = '';
  document.body.dataset.rendered = 'partial';
  let at = 0;
  const step = () => {
    if (mine !== generation) return;
    const end = at + (at ? CHUNK : FIRST);
    body.insertAdjacentHTML('beforeend', idx.slice(at, end).map(row).join(''));
    if (at === 0) performance.mark('grid-first-rows');
    at = end;
    if (at < idx.length) setTimeout(step, 0);
    else { document.body.dataset.rendered = 'complete'; performance.mark('grid-complete'); }
  };
  step();
}

body.addEventListener('click', e => {
  const play = e.target.closest('button.play');
  if (play) {
    const media = document.createElement(play.dataset.kind);
    Object.assign(media, {controls: true, src: play.dataset.src});
    play.replaceWith(media);
    media.play().catch(() => {});  // no sound device, say: the controls are still there
    return;
  }
  const b = e.target.closest('button.more');
  if (!b) return;
  const t = fullText(b.dataset.full), box = b.previousElementSibling;
  const open = box.classList.toggle('collapsed') === false;
  box.textContent = open ? t : preview(t);
  b.textContent = open ? 'show less' : `show all ${t.length} characters`;
});
// The filters only hide (report.css): with both checked, the jobs of either are shown (their union).
failedOnly.addEventListener('change', () => grid.classList.toggle('failed-only', failedOnly.checked));
lowOnly?.addEventListener('change', () => grid.classList.toggle('low-only', lowOnly.checked));
sortBy.addEventListener('change', render);
render();
})();
