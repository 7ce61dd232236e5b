// fit.js: text that scales down to fit its box (the projector, and the
// phone's question screen).
//
// A box marked `data-fit` has a size the layout gives it (a flex or grid
// share, or a max-height) and hides what overflows. Its text sizes in
// app.css are multiplied by the custom property --fit (1 when unset); this
// routine lowers --fit on the box, by bisection, until neither the box nor
// any of its descendants that match the attribute's value (a selector, e.g.
// data-fit=".host-opt": tiles that clip their own text) overflows, or
// --fit reaches the box's data-fit-min (0.3 unless given). A box may also
// name a smallest readable size in px (data-fit-min-px, e.g. 14 on the
// phone): --fit never goes below what keeps the texts matching
// data-fit-min-px-of (default: the items) at that size. When the box does not fit even at its minimum, it gets the class
// `fit-overflow` (app.css then lets its page scroll instead of cutting).
//
// Boxes are fitted in document order (a prompt before the options below
// it, whose room depends on the prompt) whenever the view, the content of a
// box, or the window's size changes. No other script needs to call it.
//
// A list with data-fit-more (e.g. "+{n} more") that does not fit even at
// its minimum shows as many of its items as fit and, last, that text.
//
// It also marks answer grids whose texts are long (`.opt-grid.is-long`:
// one column on a phone, so words are never split inside).
//
// What it costs is counted on every page, always (a few integer additions):
// window.__cqFit = { fits, boxes, probes, ms }: fits are the runs of the
// routine (one per animation frame that had something to do), boxes the boxes
// fitted, probes the forced layouts (a read of the layout after this routine
// changed it: each overflow test and min-px reading, a box's visibility read
// after the last box's fit), ms the time its runs took (performance.now(),
// layouts included). tests/browser/harness.mjs prints them for every page
// when CQ_FIT_STATS is set (docs/performance.md).

const LONG_TEXT = 28; // characters of an option that make its grid one column
const LONG_WORD = 12; // or a word of this many letters

const stats = { fits: 0, boxes: 0, probes: 0, ms: 0 };
window.__cqFit = stats;

function overflows(node) {
  return node.scrollHeight > node.clientHeight + 1 || node.scrollWidth > node.clientWidth + 1;
}

function tooBig(box, items) {
  stats.probes++;
  if (overflows(box)) return true;
  for (const it of items) if (overflows(it)) return true;
  return false;
}

function markLongGrids(box) {
  const grids = box.matches('.chart') ? [box] : [];
  for (const grid of [...grids, ...box.querySelectorAll('.opt-grid, .host-opt-grid')]) {
    const long = [...grid.querySelectorAll('.opt-text')].some((t) => {
      const s = t.textContent || '';
      return s.length > LONG_TEXT || s.split(/\s+/).some((w) => w.length >= LONG_WORD);
    });
    grid.classList.toggle('is-long', long);
  }
}

/** A list box with data-fit-more ("+{n} more"): the children after the
 * last one that fits are hidden (class fit-cut) and one more item says how
 * many. Undone at the start of every fit. */
function uncut(box) {
  for (const c of box.querySelectorAll(':scope > .fit-cut')) c.classList.remove('fit-cut');
  const more = box.querySelector(':scope > .fit-more');
  if (more) more.classList.add('fit-cut');
}

function cutToFit(box, items) {
  const kids = [...box.children].filter((c) => !c.classList.contains('fit-more'));
  let more = box.querySelector(':scope > .fit-more');
  if (!more) {
    more = document.createElement(box.tagName === 'UL' || box.tagName === 'OL' ? 'li' : 'div');
    more.className = `fit-more ${box.dataset.fitMoreClass || ''}`.trim();
    box.append(more);
  }
  more.classList.remove('fit-cut');
  const show = (k) => {
    kids.forEach((c, i) => c.classList.toggle('fit-cut', i >= k));
    const text = (box.dataset.fitMore || '+{n}').replace('{n}', String(kids.length - k));
    if (more.textContent !== text) more.textContent = text;
  };
  let lo = 0;
  let hi = kids.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    show(mid);
    if (tooBig(box, items)) hi = mid - 1;
    else lo = mid;
  }
  show(lo);
}

/** Fits one box: the largest --fit in [min, 1] (to 1/64) that makes it fit. */
export function fitBox(box) {
  stats.boxes++;
  markLongGrids(box);
  const sel = box.dataset.fit;
  box.classList.remove('fit-overflow');
  if (box.dataset.fitMore !== undefined) uncut(box);
  box.style.setProperty('--fit', '1');
  const items = sel ? [...box.querySelectorAll(sel)] : [];
  let min = Number(box.dataset.fitMin) || 0.3;
  const minPx = Number(box.dataset.fitMinPx) || 0;
  if (minPx) {
    stats.probes++; // offsetParent lays out the page at --fit 1
    // The smallest of the texts named by data-fit-min-px-of (default: the items).
    const refs = box.dataset.fitMinPxOf ? [...box.querySelectorAll(box.dataset.fitMinPxOf)] : items;
    const sizes = refs.filter((r) => r.offsetParent !== null).map((r) => parseFloat(getComputedStyle(r).fontSize)).filter((x) => x > 0);
    if (sizes.length) min = Math.min(1, Math.max(min, minPx / Math.min(...sizes)));
  }
  if (!tooBig(box, items)) return 1;
  box.style.setProperty('--fit', min.toFixed(4));
  if (tooBig(box, items)) {
    if (box.dataset.fitMore !== undefined) cutToFit(box, items);
    else box.classList.add('fit-overflow');
    return min;
  }
  let lo = min;
  let hi = 1;
  for (let i = 0; i < 7; i++) {
    const mid = (lo + hi) / 2;
    box.style.setProperty('--fit', mid.toFixed(4));
    if (tooBig(box, items)) hi = mid;
    else lo = mid;
  }
  box.style.setProperty('--fit', lo.toFixed(4));
  return lo;
}

/** Fits every visible box of the page, in document order. */
export function fitAll(root = document) {
  stats.fits++;
  let wrote = false;
  for (const box of root.querySelectorAll('[data-fit]')) {
    if (wrote) stats.probes++; // offsetParent after the last box's final --fit
    wrote = false;
    if (box.offsetParent === null && getComputedStyle(box).position !== 'fixed') continue; // not shown
    fitBox(box);
    wrote = true;
  }
}

let queued = false;
function fitSoon() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    const t0 = performance.now();
    fitAll();
    stats.ms += performance.now() - t0;
  });
}

function start() {
  const main = document.querySelector('main') || document.body;
  // The window, the room the page gives main (a control band shown, a
  // banner) or a box's own size (a column beside it grew) changed.
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(fitSoon);
    ro.observe(main);
    for (const box of document.querySelectorAll('[data-fit]')) ro.observe(box);
  }
  window.addEventListener('resize', fitSoon);
  // A view was switched, or a box got new content (a countdown elsewhere
  // does not count).
  new MutationObserver((records) => {
    for (const r of records) {
      const t = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!t) continue;
      if (r.type === 'attributes') {
        if (r.oldValue === t.getAttribute(r.attributeName)) continue; // set again, unchanged
        fitSoon();
        return;
      }
      if (t.closest('[role="timer"], .timebar, .leadin')) continue; // countdowns
      if (t.closest('.fit-more')) continue; // this routine's own "+N more"
      if (t.closest('[data-fit]') || t.querySelector?.('[data-fit]')) {
        fitSoon();
        return;
      }
    }
  }).observe(main, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true, attributeFilter: ['hidden'] });
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitSoon);
  fitSoon();
}

start();
