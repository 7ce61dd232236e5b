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
// A list with data-fit-more (e.g. "+{n} more") that does not fit even at
// its minimum shows as many of its items as fit and, last, that text.
//
// It also marks answer grids whose texts are long (`.opt-grid.is-long`:
// one column on a phone, so words are never split inside).
//
// When it runs (no other script needs to call it): on the animation frame
// after a change, in document order (a prompt before the options below it,
// whose room depends on the prompt), and only for the boxes the change may
// concern, since every probe of a box lays out the page (the host's screen
// gets several updates a second during a question):
// - new content in a box (a mutation inside it; countdowns do not count),
//   or a picture in it loaded or failed (it takes room from what was fitted
//   around it; a slow network or a busy phone brings it after the fit):
//   that box;
// - a box whose size is not the one its last fit left it at (a column
//   beside it grew; not the resize notices of its own fit): that box;
// - a view switched, or something in it shown or hidden (`hidden`): that
//   view's boxes; the window or `main` resized, the fonts loaded: every box;
// - a box whose fit changed its size: the boxes after it in its view (their
//   room may have grown without their own size changing); and a box that a
//   later box's fit resized (options above an explanation that grew): again,
//   on the next frame.
// A box fitted at 1 whose content and size have not changed since is
// skipped (it is laid out as it was, so it still fits). Otherwise a box is
// searched from its last answer at this window size when its content is the
// same or similar: the step above that answer, then the answer (two probes
// when nothing moved), then outward in doubling steps, then halving; other
// boxes get the whole bisection, as always. Where what fits at some --fit
// also fits at any smaller one (CQ_FIT_CHECK below found no exception in the
// browser tests), both find the same one of the bisection's 128 steps, set
// to the very same number.
//
// What it costs is counted on every page, always (a few additions and two
// clock readings per run):
// window.__cqFit = { fits, boxes, probes, ms, skips }: fits are the runs (one
// per animation frame that had something to do), boxes the boxes fitted,
// probes the layouts it forces (a read of the layout after it changed it:
// each overflow test, each min-px reading, a box's size read after its fit),
// ms the time the runs took (performance.now(), layouts included), skips the
// boxes skipped. tests/browser/harness.mjs prints them for every page
// when CQ_FIT_STATS is set (docs/performance.md). With window.__cqFitCheck
// set before this module runs (the harness's CQ_FIT_CHECK), each search
// that starts from an answer is repeated as the whole bisection (a
// difference goes to __cqFit.mismatches, the bisection's answer is kept),
// and window.__cqFitVerify() fits every shown box from scratch and returns
// where that differs from what was shown.

const LONG_TEXT = 28; // characters of an option that make its grid one column
const LONG_WORD = 12; // or a word of this many letters

// --fit takes the values of a bisection of [min, 1] in 7 halvings: steps 0
// (min) to TOP (1); -1 stands for "does not fit even at min".
const HALVINGS = 7;
const TOP = 1 << HALVINGS;

const stats = { fits: 0, boxes: 0, probes: 0, ms: 0, skips: 0 };
window.__cqFit = stats;
const CHECK = window.__cqFitCheck === true;
if (CHECK) stats.mismatches = [];

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

/** The --fit of step i for a box whose minimum is `min`: the very number
 * the bisection reaches there (each step has one path of halvings), so a
 * search that does not start at the top still sets the bisection's values. */
function stepValue(min, i) {
  let lo = 0;
  let hi = TOP;
  let flo = min;
  let fhi = 1;
  if (i <= lo) return flo;
  if (i >= hi) return fhi;
  for (;;) {
    const mid = (lo + hi) / 2;
    const fmid = (flo + fhi) / 2;
    if (i === mid) return fmid;
    if (i < mid) {
      hi = mid;
      fhi = fmid;
    } else {
      lo = mid;
      flo = fmid;
    }
  }
}

function setStep(box, min, i) {
  box.style.setProperty('--fit', i === TOP ? '1' : stepValue(min, i).toFixed(4));
}

/** The bisection: the largest step i at which fits(i) (which sets that step
 * and probes it), or -1. */
function bisect(fits) {
  if (fits(TOP)) return TOP;
  if (!fits(0)) return -1;
  let lo = 0;
  let hi = TOP;
  while (hi - lo > 1) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The largest i in (lo, hi) at which fits(i), or lo, searched from a
 * previous answer p (lo <= p < hi): the step above p, then p (an unchanged
 * answer costs two probes and leaves p's layout), then outward in doubling
 * steps, then halving. lo is taken to fit and hi not, unprobed. */
function searchFrom(p, fits, lo, hi) {
  const test = (i) => {
    if (fits(i)) {
      lo = i;
      return true;
    }
    hi = i;
    return false;
  };
  if (p + 1 < hi && test(p + 1)) {
    for (let d = 1; hi - lo > 1 && test(Math.min(lo + d, hi - 1)); d *= 2);
  } else if (p > lo && !test(p)) {
    for (let d = 1; hi - lo > 1 && !test(Math.max(hi - d, lo + 1)); d *= 2);
  }
  while (hi - lo > 1) test(Math.floor((lo + hi) / 2));
  return lo;
}

/** A list box with data-fit-more ("+{n} more"): the children after the
 * last one that fits are hidden (class fit-cut) and one more item says how
 * many. Undone at the start of every fit. */
function uncut(box) {
  for (const c of box.querySelectorAll(':scope > .fit-cut')) c.classList.remove('fit-cut');
  const more = box.querySelector(':scope > .fit-more');
  if (more) more.classList.add('fit-cut');
}

/** Shows as many children as fit (searched from `prior`, the last count,
 * when given); returns that count. */
function cutToFit(box, items, prior) {
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
  let shown = -1;
  const fits = (k) => {
    show(k);
    shown = k;
    return !tooBig(box, items);
  };
  let n;
  if (prior !== undefined && kids.length > 1) {
    n = searchFrom(Math.min(prior, kids.length - 1), fits, 0, kids.length);
  } else {
    let lo = 0;
    let hi = kids.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    n = lo;
  }
  if (shown !== n) show(n);
  return { n, clean: shown === n };
}

/**
 * Fits one box: the largest --fit in [min, 1] (to 1/128 of it) that makes it
 * fit. `prior` (the last answer for this box, { min, step, cut }) starts the
 * search there. Returns { min, step, cut, clean }, clean when the layout
 * left is the last one probed.
 */
export function fitBox(box, prior = null) {
  stats.boxes++;
  markLongGrids(box);
  const sel = box.dataset.fit;
  box.classList.remove('fit-overflow');
  const more = box.dataset.fitMore !== undefined;
  if (more) uncut(box);
  const items = sel ? [...box.querySelectorAll(sel)] : [];
  let min = Number(box.dataset.fitMin) || 0.3;
  const minPx = Number(box.dataset.fitMinPx) || 0;
  if (minPx) {
    box.style.setProperty('--fit', '1');
    stats.probes++; // offsetParent lays out the page at --fit 1
    // The smallest of the texts named by data-fit-min-px-of (default: the items).
    const refs = box.dataset.fitMinPxOf ? [...box.querySelectorAll(box.dataset.fitMinPxOf)] : items;
    const sizes = refs.filter((r) => r.offsetParent !== null).map((r) => parseFloat(getComputedStyle(r).fontSize)).filter((x) => x > 0);
    if (sizes.length) min = Math.min(1, Math.max(min, minPx / Math.min(...sizes)));
  }
  if (prior && prior.min !== min) prior = null; // other steps
  let last = null;
  const fits = (i) => {
    setStep(box, min, i);
    last = i;
    return !tooBig(box, items);
  };
  const step = prior ? searchFrom(prior.step, fits, -1, TOP + 1) : bisect(fits);
  if (step >= 0) {
    if (last !== step) setStep(box, min, step);
    return { min, step, cut: undefined, clean: last === step };
  }
  if (last !== 0) setStep(box, min, 0);
  if (more) {
    const { n, clean } = cutToFit(box, items, prior?.cut);
    return { min, step, cut: n, clean };
  }
  box.classList.add('fit-overflow');
  return { min, step, cut: undefined, clean: false };
}

/** What a box shows of its fit: --fit, fit-overflow, the children cut. */
function shownFit(box) {
  return `${box.style.getPropertyValue('--fit')}${box.classList.contains('fit-overflow') ? ' overflow' : ''}${box.dataset.fitMore !== undefined ? ` cut ${box.querySelectorAll(':scope > .fit-cut:not(.fit-more)').length}` : ''}`;
}

function shown(box) {
  return box.offsetParent !== null || getComputedStyle(box).position === 'fixed';
}

// ---- when to fit ---------------------------------------------------------------------

/** Per box: `version`, counted up by every change inside it; `size`, its
 * border box when its last fit ended; `answers`, its last answer at each
 * window size, with the content it was found for. */
const memory = new WeakMap();
function mem(box) {
  let m = memory.get(box);
  if (!m) memory.set(box, (m = { version: 0, size: null, answers: new Map() }));
  return m;
}
const ANSWERS_KEPT = 6; // window sizes per box

const pending = new Set(); // boxes to fit
let everything = false; // every box
let fontsLoaded = false; // every box, none skipped (text measures anew)
let queued = false;
let main = null;
let mainSize = null; // main's border box when the last run ended (with what it did)

const sameSize = (a, b) => !!a && !!b && Math.abs(a.w - b.w) < 0.01 && Math.abs(a.h - b.h) < 0.01;
const sizeOf = (node) => {
  const r = node.getBoundingClientRect();
  return { w: r.width, h: r.height };
};

/** Content like the one an answer was found for: the same, or about as
 * long and as many elements (a player more in the lobby, new standings). */
function similar(a, m, text, elements) {
  if (a.version === m.version) return true;
  return Math.abs(text - a.text) <= 0.2 * Math.max(a.text, 40) && Math.abs(elements - a.elements) <= Math.max(4, 0.1 * a.elements);
}

function soon() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(run);
}

/** The boxes of the view `node` is in (or every box, outside the views). */
function markView(node) {
  const view = node.closest('[data-view]');
  if (!view) {
    everything = true;
    return;
  }
  if (view.matches('[data-fit]')) pending.add(view);
  for (const b of view.querySelectorAll('[data-fit]')) pending.add(b);
}

function noteMutations(records) {
  for (const r of records) {
    const t = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (!t) continue;
    const box = t.closest('[data-fit]');
    if (r.type === 'attributes') {
      if (r.oldValue === t.getAttribute(r.attributeName)) continue; // set again, unchanged
      if (box) mem(box).version++;
      // A view was switched, or something in one shown or hidden.
      if (r.attributeName === 'hidden') markView(t);
      continue;
    }
    if (box) mem(box).version++;
    if (t.closest('[role="timer"], .timebar, .leadin')) continue; // countdowns
    if (t.closest('.fit-more')) continue; // this routine's own "+N more"
    if (box) pending.add(box);
    else for (const b of t.querySelectorAll('[data-fit]')) pending.add(b); // boxes put in
  }
}

/** Fits the boxes concerned by what changed since the last run, in document order. */
function run() {
  queued = false;
  noteMutations(observer.takeRecords());
  if (!everything && !pending.size) return;
  stats.fits++;
  const t0 = performance.now();
  // main's room changed since the last run (a banner, a band, the header),
  // not by that run's own fits: its notice may come only after this run.
  if (!sameSize(sizeOf(main), mainSize)) everything = true;
  const key = `${innerWidth}x${innerHeight}`;
  let grown = null; // the view in which a fit changed a box's size: its later boxes too
  const seen = []; // the boxes fitted or skipped
  for (const box of document.querySelectorAll('[data-fit]')) {
    const view = box.closest('[data-view]');
    if (!everything && !pending.has(box) && !(grown && view === grown)) continue;
    // (The layout is current here: the last box's size was read after its fit.)
    if (!shown(box)) continue;
    const m = mem(box);
    let prior = m.answers.get(key) || null;
    // Fitted at 1, and since then neither its content nor its size changed:
    // what it holds is laid out as it was, so it still fits.
    if (!fontsLoaded && prior && prior.step === TOP && prior.version === m.version && sameSize(sizeOf(box), m.size)) {
      stats.skips++;
      seen.push(box);
      continue;
    }
    const text = (box.textContent || '').length;
    const elements = box.getElementsByTagName('*').length;
    if (prior && !similar(prior, m, text, elements)) prior = null;
    let a = fitBox(box, prior);
    if (CHECK && prior) {
      const ref = fitBox(box);
      if (ref.step !== a.step || ref.cut !== a.cut) stats.mismatches.push(`${box.id || box.className}: from ${prior.step}/${prior.cut} found ${a.step}/${a.cut}, the bisection ${ref.step}/${ref.cut}`);
      a = ref;
    }
    if (!a.clean) stats.probes++; // the size below, after the last change
    const after = sizeOf(box);
    // The boxes after it were fitted with it at its last fit's size.
    if (!sameSize(m.size, after)) grown = view;
    m.size = after;
    seen.push(box);
    m.answers.delete(key); // (kept in the order last used)
    m.answers.set(key, { min: a.min, step: a.step, cut: a.cut, version: m.version, text, elements });
    if (m.answers.size > ANSWERS_KEPT) m.answers.delete(m.answers.keys().next().value);
  }
  pending.clear();
  everything = false;
  fontsLoaded = false;
  // A box whose size a later box's fit changed (the options above an
  // explanation that grew): fitted again on the next frame. (Its resize
  // notice may never come: the size it had before this run may be the
  // one it has now.)
  for (const box of seen) if (!sameSize(sizeOf(box), mem(box).size)) pending.add(box);
  if (pending.size) soon();
  mainSize = sizeOf(main);
  observer.takeRecords(); // this run's own changes are not new content
  stats.ms += performance.now() - t0;
}

/** Fits every shown box of the page now (it happens by itself on the next
 * animation frame after a change). */
export function fitAll() {
  everything = true;
  run();
}

let observer = null;

function start() {
  main = document.querySelector('main') || document.body;
  // A box's own size (a column beside it grew), or the room the page gives
  // main (a control band shown, a banner); not the sizes the fit itself left.
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver((entries) => {
      for (const e of entries) {
        const b = e.borderBoxSize?.[0];
        const size = b ? { w: b.inlineSize, h: b.blockSize } : sizeOf(e.target);
        if (e.target === main) {
          if (!sameSize(size, mainSize)) everything = true;
        } else if (!sameSize(size, mem(e.target).size)) pending.add(e.target);
      }
      if (everything || pending.size) soon();
    });
    ro.observe(main, { box: 'border-box' });
    for (const box of document.querySelectorAll('[data-fit]')) ro.observe(box, { box: 'border-box' });
  }
  window.addEventListener('resize', () => {
    everything = true;
    soon();
  });
  // A picture that arrives after its box was fitted (a slow network, a busy
  // phone) takes room from what was fitted around it, with no change to the
  // box's content or size: fitted again. `load` and `error` do not bubble,
  // hence the capture.
  const pictured = (e) => {
    if (e.target?.tagName !== 'IMG') return;
    const box = e.target.closest('[data-fit]');
    if (box) {
      mem(box).version++;
      pending.add(box);
    } else markView(e.target);
    soon();
  };
  main.addEventListener('load', pictured, true);
  main.addEventListener('error', pictured, true);
  // A view was switched, or a box got new content. Every attribute counts
  // as a change of the box it is in (for the answer kept); only `hidden`
  // makes a fit by itself, as before.
  observer = new MutationObserver((records) => {
    noteMutations(records);
    if (everything || pending.size) soon();
  });
  observer.observe(main, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true });
  if (document.fonts && document.fonts.ready)
    document.fonts.ready.then(() => {
      everything = true;
      fontsLoaded = true;
      soon();
    });
  if (CHECK) window.__cqFitVerify = verify;
  everything = true;
  soon();
}

/** CHECK: every shown box fitted from scratch; where that differs from what
 * was shown. (Left fitted from scratch.) */
function verify() {
  const out = [];
  for (const box of document.querySelectorAll('[data-fit]')) {
    if (!shown(box)) continue;
    const was = shownFit(box);
    fitBox(box);
    const now = shownFit(box);
    if (now !== was) out.push(`${box.id || box.className} at ${innerWidth}x${innerHeight}: shown ${was}, from scratch ${now}`);
  }
  observer.takeRecords();
  return out;
}

start();
