// ui.js: pieces shared by the host, spectator and player screens.
// Every piece of user-supplied text goes in through textContent.

import { el } from './protocol.js';
import { t } from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Option styles: colour class, shape and letter, so no option is told
 * apart by colour alone. */
export const OPTION_STYLES = [
  { cls: 'opt-0', shape: 'triangle', letter: 'A', name: 'red triangle' },
  { cls: 'opt-1', shape: 'diamond', letter: 'B', name: 'blue diamond' },
  { cls: 'opt-2', shape: 'circle', letter: 'C', name: 'yellow circle' },
  { cls: 'opt-3', shape: 'square', letter: 'D', name: 'green square' },
  { cls: 'opt-4', shape: 'pentagon', letter: 'E', name: 'teal pentagon' },
  { cls: 'opt-5', shape: 'star', letter: 'F', name: 'purple star' },
];

const SHAPE_PATHS = {
  triangle: 'M12 3 L22 20 L2 20 Z',
  diamond: 'M12 2 L22 12 L12 22 L2 12 Z',
  circle: null,
  square: 'M4 4 H20 V20 H4 Z',
  pentagon: 'M12 2 L22 9.5 L18.2 21 H5.8 L2 9.5 Z',
  star: 'M12 2 L14.9 8.6 L22 9.3 L16.6 14 L18.2 21 L12 17.3 L5.8 21 L7.4 14 L2 9.3 L9.1 8.6 Z',
};

/** An SVG shape icon (decorative: the letter and text carry the meaning). */
export function shapeIcon(index, cls = 'shape') {
  const style = OPTION_STYLES[index % OPTION_STYLES.length];
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  let shape;
  if (style.shape === 'circle') {
    shape = document.createElementNS(SVG_NS, 'circle');
    shape.setAttribute('cx', '12');
    shape.setAttribute('cy', '12');
    shape.setAttribute('r', '10');
  } else {
    shape = document.createElementNS(SVG_NS, 'path');
    shape.setAttribute('d', SHAPE_PATHS[style.shape]);
  }
  shape.setAttribute('fill', 'currentColor');
  svg.append(shape);
  return svg;
}

/** The badge of an option: shape and letter. */
export function optionBadge(index) {
  const style = OPTION_STYLES[index % OPTION_STYLES.length];
  return el('span', { class: 'badge', 'aria-hidden': 'true' }, shapeIcon(index), el('span', { class: 'letter', text: style.letter }));
}

/** The label an option gets for assistive technology: "A: Red". */
export function optionLabel(index, text) {
  return `${OPTION_STYLES[index % OPTION_STYLES.length].letter}: ${text}`;
}

/** Replaces the children of a node. */
export function setChildren(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

/** Switches the screen's visible view: every [data-view] but one is hidden. */
export function showView(root, name) {
  for (const v of root.querySelectorAll('[data-view]')) v.hidden = v.dataset.view !== name;
  document.body.dataset.view = name;
}

/** Announces text in a live region (cleared first so repeats are read). */
export function announce(region, text) {
  if (!region) return;
  region.textContent = '';
  // A separate task, so screen readers see a change even for the same text.
  setTimeout(() => {
    region.textContent = text;
  }, 30);
}

/** The connection banner: hidden while connected; otherwise one calm,
 * steady "Reconnecting…" (a live region: its text changes only when the
 * state does, so a screen reader says it once, not at every retry). The
 * attempt count is kept in data-attempt for debugging. */
export class ConnectionBanner {
  constructor(node) {
    this.node = node;
    this.status = null;
  }

  update(info) {
    if (info) this.status = info.status;
    const n = this.node;
    const status = this.status;
    n.dataset.status = status;
    if (info) n.dataset.attempt = String(info.attempt ?? 0);
    if (status === 'open' || status === 'idle') {
      n.hidden = true;
      n.textContent = '';
      return;
    }
    n.hidden = false;
    const text = t(status === 'connecting' ? 'conn.connecting' : status === 'stopped' ? 'conn.disconnected' : 'conn.reconnecting');
    if (n.textContent !== text) n.textContent = text;
  }

  /** Again in the page's new language. */
  relabel() {
    if (this.status) this.update(null);
  }
}

/** A question's clock, from the server's remaining_ms / lead_in_ms taken
 * at the moment the message arrived. */
export class Countdown {
  constructor({ onTick, onOpen, onEnd } = {}) {
    this.onTick = onTick;
    this.onOpen = onOpen;
    this.onEnd = onEnd;
    this.timer = null;
    this.phase = 'idle';
  }

  /** msg: anything with remaining_ms, lead_in_ms, time_limit_ms (and paused). */
  set(msg, paused = false) {
    const now = performance.now();
    this.limitMs = msg.time_limit_ms || 0;
    this.leadEnd = now + (msg.lead_in_ms || 0);
    this.end = now + (msg.remaining_ms || 0);
    this.paused = paused;
    this.frozenLead = msg.lead_in_ms || 0;
    this.frozenRemaining = msg.remaining_ms || 0;
    this.phase = 'running';
    this._opened = false;
    this._ended = false;
    clearInterval(this.timer);
    this.timer = setInterval(() => this._tick(), 200);
    this._tick();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.phase = 'idle';
  }

  /** {leadMs, remainingMs, answerMs, limitMs, inLeadIn, open, over} */
  read() {
    const now = performance.now();
    const leadMs = this.paused ? this.frozenLead : Math.max(0, this.leadEnd - now);
    const remainingMs = this.paused ? this.frozenRemaining : Math.max(0, this.end - now);
    return {
      leadMs,
      remainingMs,
      limitMs: this.limitMs,
      inLeadIn: leadMs > 0,
      open: leadMs <= 0 && remainingMs > 0 && !this.paused,
      over: remainingMs <= 0,
      paused: this.paused,
    };
  }

  _tick() {
    if (this.phase !== 'running') return;
    const r = this.read();
    if (!r.inLeadIn && !this._opened && !r.paused) {
      this._opened = true;
      if (this.onOpen) this.onOpen(r);
    }
    if (this.onTick) this.onTick(r);
    if (r.over && !this._ended) {
      this._ended = true;
      if (this.onEnd) this.onEnd(r);
    }
  }
}

/** Time-left announcements for screen readers, at a few thresholds only. */
export class TimeAnnouncer {
  constructor(region) {
    this.region = region;
    this.said = new Set();
  }
  reset() {
    this.said.clear();
  }
  tick(r) {
    if (r.paused || r.inLeadIn) return;
    const s = Math.ceil(r.remainingMs / 1000);
    for (const mark of [10, 5]) {
      if (s <= mark && s > 0 && !this.said.has(mark) && r.limitMs > mark * 1000) {
        this.said.add(mark);
        announce(this.region, t('ui.secondsLeftN', { n: mark }));
      }
    }
    if (s === 0 && !this.said.has(0)) {
      this.said.add(0);
      announce(this.region, t('ui.timeUp'));
    }
  }
}

/** Formats the clock: "12" seconds (ceil). */
export function secondsLeft(ms) {
  return String(Math.ceil(ms / 1000));
}

/** A short toast for errors and notices. */
export function toast(text, kind = 'info', ms = 4000) {
  let host = document.getElementById('toasts');
  if (!host) {
    host = el('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(host);
  }
  const t = el('div', { class: `toast toast-${kind}`, text });
  host.append(t);
  setTimeout(() => t.remove(), ms);
}

/** Rank movement text and class: ▲2, ▼1, =, new. */
export function rankChange(rank, prev) {
  if (!prev) return { text: t('ui.rank.new'), cls: 'rank-new', label: t('ui.rank.newLabel') };
  const d = prev - rank;
  if (d > 0) return { text: `▲${d}`, cls: 'rank-up', label: t('ui.rank.up', { n: d }) };
  if (d < 0) return { text: `▼${-d}`, cls: 'rank-down', label: t('ui.rank.down', { n: -d }) };
  return { text: '=', cls: 'rank-same', label: t('ui.rank.same') };
}

export function qtypeLabel(qtype, select) {
  if (qtype === 'multi' && select) return t('ui.qt.multiN', { n: select });
  return ['single', 'multi', 'truefalse', 'typeanswer', 'ordering', 'poll'].includes(qtype) ? t(`ui.qt.${qtype}`) : '';
}

/** A question's option texts; true/false ones in the page's language (the
 * server sends them in English). */
export function optionTexts(q) {
  if (!q) return [];
  if (q.qtype === 'truefalse') return [t('common.true'), t('common.false')];
  return q.options || [];
}

/** An image for a question, when the page's security policy allows it
 * (same origin only); otherwise a link that opens it. */
export function questionImage(url) {
  if (!url) return null;
  let u;
  try {
    u = new URL(url, window.location.href);
  } catch {
    return null;
  }
  if (u.origin === window.location.origin) {
    return el('img', { class: 'q-image', src: u.href, alt: '' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return el('a', { class: 'q-image-link', href: u.href, target: '_blank', rel: 'noopener noreferrer', text: t('ui.openPicture') });
}

// Icons as SVG, so nothing depends on an emoji font being installed.
const ICONS = {
  check: [['path', { d: 'M4.5 12.5 9.5 17.5 19.5 6.5', stroke: 1 }]],
  cross: [['path', { d: 'M6.5 6.5 17.5 17.5M17.5 6.5 6.5 17.5', stroke: 1 }]],
  clock: [
    ['circle', { cx: 12, cy: 13, r: 8.5, stroke: 1 }],
    ['path', { d: 'M12 8.5V13l3 2M9.5 2.5h5', stroke: 1 }],
  ],
  star: [['path', { d: SHAPE_PATHS.star }]],
  partial: [
    ['circle', { cx: 12, cy: 12, r: 8.5, stroke: 1 }],
    ['path', { d: 'M12 3.5a8.5 8.5 0 0 1 0 17z' }],
  ],
  trophy: [
    ['path', { d: 'M7 3h10v6a5 5 0 0 1-10 0z' }],
    ['path', { d: 'M7 5H4v1.5A3.5 3.5 0 0 0 7.5 10M17 5h3v1.5a3.5 3.5 0 0 1-3.5 3.5', stroke: 1, sw: 1.8 }],
    ['path', { d: 'M10.8 13.5h2.4v3.5h3v3.5H7.8V17h3z' }],
  ],
  flame: [['path', { d: 'M12 2c.8 3.7 6.5 6.3 6.5 12.2a6.5 6.5 0 0 1-13 0c0-3.2 1.7-5.3 3-7 .2 2 1 3.3 2.3 3.6C10.3 8 11.2 5 12 2z' }]],
  keyboard: [
    ['rect', { x: 2, y: 6, width: 20, height: 12, rx: 2, stroke: 1, sw: 1.6 }],
    ['path', { d: 'M6 10h.01M9.5 10h.01M13 10h.01M16.5 10h.01M7 14h10', stroke: 1, sw: 2 }],
  ],
};

/** An SVG icon (decorative: say the meaning in text next to it). */
export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `${cls} icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const [tag, a] of ICONS[name] || []) {
    const n = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(a)) {
      if (k === 'stroke' || k === 'sw') continue;
      n.setAttribute(k, String(v));
    }
    if (a.stroke) {
      n.setAttribute('fill', 'none');
      n.setAttribute('stroke', 'currentColor');
      n.setAttribute('stroke-width', String(a.sw || 2.6));
      n.setAttribute('stroke-linecap', 'round');
      n.setAttribute('stroke-linejoin', 'round');
    } else {
      n.setAttribute('fill', 'currentColor');
    }
    svg.append(n);
  }
  return svg;
}

// ---- leaderboards that outlive games (leaderboard.html) -------------------------

/** A query string from {name: value} (null/'' left out), with ':' left
 * readable so shared links look like ?board=group:class-a&period=week. */
export function boardQuery(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v)).replace(/%3A/gi, ':')}`)
    .join('&');
}

/** The leaderboard page of a game's group (or, without a group, its bank). */
export function boardHref(settings, { period = 'all', me = null } = {}) {
  const s = settings || {};
  const board = s.group ? `group:${s.group}` : s.bank ? `bank:${s.bank}` : null;
  return board ? `leaderboard.html?${boardQuery({ board, period, me })}` : 'leaderboard.html';
}

/** A nickname as the server compares them (close enough to cq_text_fold):
 * white space collapsed, ASCII case and Latin accents folded. */
export function foldNickname(s) {
  return String(s)
    .trim()
    .replace(/\s+/g, ' ')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}
