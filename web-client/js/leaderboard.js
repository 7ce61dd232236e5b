// leaderboard.js: the boards that outlive games (leaderboard.html), from
// GET /api/leaderboard (see protocol/HTTP.md).
//
// The page's state lives in its query string, so a board can be bookmarked
// or put on a projector:  leaderboard.html?board=group:class-a&period=week
//   board   bank:BANK_ID or group:LABEL (default: the first bank)
//   period  all (default) or week
//   me      a nickname: that player's neighbourhood ("find me")
//   live    1: refresh every 30 s
//
// Every name comes from players: it goes in through textContent only.

import { el } from './protocol.js';
import { t, lang, initI18n, onLangChange, ordinal } from './i18n.js';
import { boardQuery, foldNickname } from './ui.js';

const $ = (id) => document.getElementById(id);
const TOP = 10;
const LIVE_MS = 30_000;
const RETRY_503_MS = 10_000;
const MAX_LABEL = 40;

const L = {
  banks: null, // [{id, title}] from /api/banks, or null while loading / on error
  kind: 'group', // group | bank
  group: '',
  bank: '',
  period: 'all', // all | week
  me: '',
  live: false,
  seq: 0, // the latest request; older answers are dropped
  abort: null,
  shownKey: null, // board|period whose rows are on screen
  liveTimer: null,
  retryTimer: null,
  last: null, // the last good answer
  renders: 0,
};

// ---- state <-> query string -------------------------------------------------

function readUrl() {
  const q = new URLSearchParams(window.location.search);
  const m = /^(bank|group):(.+)$/s.exec((q.get('board') || '').trim());
  if (m) {
    L.kind = m[1];
    if (m[1] === 'bank') L.bank = m[2];
    else L.group = m[2].slice(0, 200);
  } else {
    L.kind = 'bank'; // the first bank once the list is in
  }
  L.period = q.get('period') === 'week' ? 'week' : 'all';
  L.me = (q.get('me') || '').trim().slice(0, 64);
  L.live = q.get('live') === '1';
}

function board() {
  if (L.kind === 'group') return L.group ? `group:${L.group}` : null;
  return L.bank ? `bank:${L.bank}` : null;
}

function writeUrl() {
  const b = board();
  if (!b) return;
  const query = boardQuery({ board: b, period: L.period, me: L.me || null, live: L.live ? '1' : null });
  const url = `${window.location.pathname}?${query}`;
  if (url !== `${window.location.pathname}${window.location.search}`) history.replaceState(null, '', url);
}

// ---- form --------------------------------------------------------------------

function syncForm() {
  $('kind-group').checked = L.kind === 'group';
  $('kind-bank').checked = L.kind === 'bank';
  $('group-field').hidden = L.kind !== 'group';
  $('bank-field').hidden = L.kind !== 'bank';
  $('lb-group').value = L.group;
  if (L.bank) $('lb-bank').value = L.bank;
  $('period-all').checked = L.period === 'all';
  $('period-week').checked = L.period === 'week';
  $('lb-live').checked = L.live;
  $('me-nick').value = L.me;
  $('me-clear').hidden = !L.me;
}

function renderBankOptions() {
  const sel = $('lb-bank');
  const opts = [];
  if (L.banks === null) {
    opts.push(el('option', { value: '', text: t('lb.banksFailed') }));
  } else {
    for (const b of L.banks) opts.push(el('option', { value: b.id, text: b.title && b.title !== b.id ? `${b.title} (${b.id})` : b.id }));
    if (!L.banks.length) opts.push(el('option', { value: '', text: t('lb.noBanks') }));
  }
  // A bank from a bookmarked link that this server no longer has: keep it.
  if (L.bank && !(L.banks || []).some((b) => b.id === L.bank)) opts.unshift(el('option', { value: L.bank, text: L.bank }));
  sel.replaceChildren(...opts);
  if (L.bank) sel.value = L.bank;
}

async function loadBanks() {
  try {
    const res = await fetch('/api/banks', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const list = await res.json();
    L.banks = Array.isArray(list) ? list.filter((b) => b && typeof b.id === 'string') : [];
  } catch {
    L.banks = null;
  }
  if (L.kind === 'bank' && !L.bank && L.banks && L.banks.length) L.bank = L.banks[0].id;
  renderBankOptions();
}

function bankTitle(id) {
  const b = (L.banks || []).find((x) => x.id === id);
  return b && b.title ? b.title : id;
}

/** Reads the form into L; returns an error text, or ''. */
function readForm() {
  L.kind = $('kind-bank').checked ? 'bank' : 'group';
  L.period = $('period-week').checked ? 'week' : 'all';
  L.live = $('lb-live').checked;
  if (L.kind === 'group') {
    const g = $('lb-group').value.trim().replace(/\s+/g, ' ');
    if (!g) return t('lb.typeGroup');
    if ([...g].length > MAX_LABEL) return t('lb.groupMax', { n: MAX_LABEL });
    L.group = g;
  } else {
    const b = $('lb-bank').value;
    if (!b) return t('land.chooseBank');
    L.bank = b;
  }
  return '';
}

function apply({ announce = true } = {}) {
  const err = readForm();
  $('lb-form-error').textContent = err;
  $('group-field').hidden = L.kind !== 'group';
  $('bank-field').hidden = L.kind !== 'bank';
  if (err) return false;
  writeUrl();
  load({ announce });
  armLive();
  return true;
}

// ---- loading -------------------------------------------------------------------

function apiUrl() {
  return `/api/leaderboard?${boardQuery({ board: board(), period: L.period, top: String(TOP), around: L.me || null })}`;
}

function setStatus(node, text, kind = 'info') {
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = !text;
}

function periodText(period) {
  if (L.period !== 'week') return t('lb.allTime');
  const m = /^(\d{4})-W(\d{2})$/.exec(period || '');
  return m ? t('lb.thisWeekN', { year: m[1], week: m[2] }) : t('lb.thisWeek');
}

/** A period inside a sentence: lower case, except German nouns. */
function inline(text) {
  return lang() === 'de' ? text : text.charAt(0).toLowerCase() + text.slice(1);
}

function boardTitle() {
  return L.kind === 'group' ? t('lb.groupTitle', { group: L.group }) : bankTitle(L.bank);
}

function docTitle() {
  if (!board()) return;
  const board_ = L.kind === 'group' ? L.group : bankTitle(L.bank);
  document.title = t('lb.docBoard', { board: board_, period: inline(t(L.period === 'week' ? 'lb.thisWeek' : 'lb.allTime')) });
}

async function load({ announce = false, quiet = false } = {}) {
  const b = board();
  if (!b) return;
  clearTimeout(L.retryTimer);
  if (L.abort) L.abort.abort();
  const ctl = new AbortController();
  L.abort = ctl;
  const seq = ++L.seq;
  const key = `${b}|${L.period}`;
  const sameBoard = L.shownKey === key;
  docTitle();
  $('lb-title').textContent = boardTitle();
  $('lb-board').setAttribute('aria-busy', 'true');
  $('lb-retry').hidden = true;
  if (!sameBoard) {
    $('lb-meta').textContent = periodText(null);
    $('lb-table').hidden = true;
    $('lb-rows').replaceChildren();
    $('me-table').hidden = true;
    setStatus($('me-status'), '');
  }
  if (!quiet || !sameBoard) setStatus($('lb-status'), t('lb.loading'), 'busy');

  let res;
  let body = null;
  try {
    res = await fetch(apiUrl(), { headers: { accept: 'application/json' }, signal: ctl.signal, cache: 'no-store' });
    body = await res.json().catch(() => null);
  } catch (e) {
    if (seq !== L.seq) return;
    $('lb-board').removeAttribute('aria-busy');
    failed(sameBoard, t('lb.unreachable'));
    return;
  }
  if (seq !== L.seq) return;
  $('lb-board').removeAttribute('aria-busy');
  if (res.status === 503) {
    failed(sameBoard, t('lb.storageDown'), true);
    return;
  }
  if (!res.ok || !body || !Array.isArray(body.top)) {
    const why = body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    failed(sameBoard, res.status === 400 ? t('lb.refused', { why }) : t('lb.failed', { why }));
    return;
  }
  L.last = body;
  L.shownKey = key;
  render(body, announce);
}

function failed(keepRows, text, retrySoon = false) {
  setStatus($('lb-status'), keepRows && L.last ? t('lb.couldNotRefresh', { text }) : text, 'error');
  $('lb-retry').hidden = false;
  if ($('me-status').dataset.kind === 'busy') setStatus($('me-status'), t('lb.lookupFailed'), 'error');
  if (!keepRows) {
    $('lb-table').hidden = true;
    $('lb-refresh').hidden = true;
  }
  if (retrySoon) L.retryTimer = setTimeout(() => load({ quiet: true }), RETRY_503_MS);
}

/** Tells screen readers what changed (the table itself is not live). */
function say(text) {
  const r = $('lb-announce');
  r.textContent = '';
  setTimeout(() => {
    r.textContent = text;
  }, 30);
}

// ---- rendering ---------------------------------------------------------------------

/** rank -> the players (folded nicknames) with it; a row can be in both lists. */
function playersByRank(rows) {
  const m = new Map();
  for (const r of rows) {
    if (!m.has(r.rank)) m.set(r.rank, new Set());
    m.get(r.rank).add(foldNickname(r.nickname));
  }
  return m;
}

function row(r, { tied, me }) {
  const isMe = me && foldNickname(r.nickname) === me;
  const rank = el(
    'td',
    { class: 'lb-rank' },
    el('span', { class: 'rank-num', text: String(r.rank) }),
    tied ? el('span', { class: 'tie-mark', 'aria-hidden': 'true', title: t('lb.shared'), text: '=' }) : null,
    tied ? el('span', { class: 'sr-only', text: ` ${t('lb.tied')}` }) : null,
  );
  return el(
    'tr',
    {
      class: `lb-row${r.rank <= 3 ? ` medal-${r.rank}` : ''}${isMe ? ' is-me' : ''}${tied ? ' is-tie' : ''}`,
      'data-rank': String(r.rank),
      'aria-current': isMe ? 'true' : null,
    },
    rank,
    // title: the whole name when a long one is cut short (an attribute, not markup).
    el('td', { class: 'lb-name', title: r.nickname }, el('span', { class: 'lb-name-text', text: r.nickname }), isMe ? el('span', { class: 'me-tag', text: t('lb.you') }) : null),
    el('td', { class: 'lb-score num', text: String(r.score) }),
  );
}

function render(body, announce) {
  const top = body.top.filter((r) => r && typeof r.nickname === 'string');
  const around = (Array.isArray(body.around) ? body.around : []).filter((r) => r && typeof r.nickname === 'string');
  const total = Number(body.total) || 0;
  const me = L.me ? foldNickname(L.me) : '';
  // A rank is shared when the server gives it to more than one player.
  const byRank = playersByRank([...top, ...around]);
  const tied = (r) => byRank.get(r.rank).size > 1;

  const period = periodText(body.period);
  const players = t('common.players', { n: total });
  $('lb-meta').textContent = !total ? period : total > top.length ? t('lb.topOf', { period, n: top.length, players }) : `${period} · ${players}`;
  $('lb-caption').textContent = t('lb.caption', { board: boardTitle(), period: inline(period) });
  $('lb-refresh').hidden = false;
  $('lb-retry').hidden = true;

  if (!top.length) {
    $('lb-table').hidden = true;
    $('lb-rows').replaceChildren();
    setStatus($('lb-status'), t(`lb.empty${L.kind === 'group' ? 'Group' : 'Bank'}${L.period === 'week' ? 'Week' : ''}`), 'empty');
  } else {
    $('lb-rows').replaceChildren(...top.map((r) => row(r, { tied: tied(r), me })));
    $('lb-table').hidden = false;
    setStatus($('lb-status'), '');
  }
  if (announce) {
    const first = top[0];
    say(
      first
        ? t('lb.announce', { board: boardTitle(), period: inline(period), players, name: first.nickname, points: t('common.points', { n: first.score }) })
        : $('lb-status').textContent,
    );
  }

  // Find me.
  if (!L.me) {
    $('me-table').hidden = true;
    $('me-rows').replaceChildren();
    setStatus($('me-status'), '');
  } else {
    const mine = around.find((r) => foldNickname(r.nickname) === me);
    if (!mine) {
      $('me-table').hidden = true;
      $('me-rows').replaceChildren();
      setStatus($('me-status'), t(L.period === 'week' ? 'lb.notFoundWeek' : 'lb.notFound', { name: L.me }), 'empty');
    } else {
      $('me-rows').replaceChildren(...around.map((r) => row(r, { tied: tied(r), me })));
      $('me-caption').textContent = t('lb.aroundName', { name: mine.nickname });
      $('me-table').hidden = false;
      setStatus(
        $('me-status'),
        t(tied(mine) ? 'lb.foundTied' : 'lb.found', { name: mine.nickname, rank: ordinal(mine.rank), total, points: t('common.points', { n: mine.score }) }),
        'found',
      );
    }
  }
  $('lb-board').dataset.loaded = String(++L.renders); // for tests: a fresh answer is on screen
}

// ---- auto-refresh --------------------------------------------------------------------

function armLive() {
  clearInterval(L.liveTimer);
  L.liveTimer = null;
  if (!L.live) return;
  L.liveTimer = setInterval(() => {
    if (document.visibilityState === 'visible') load({ quiet: true });
  }, LIVE_MS);
}

// ---- wiring ------------------------------------------------------------------------------

function init() {
  initI18n(document.querySelector('.topbar'));
  // A language switch: the board and its lines again, from the last answer.
  onLangChange(() => {
    renderBankOptions();
    docTitle();
    if (board()) $('lb-title').textContent = boardTitle();
    if (L.last && L.shownKey) render(L.last, false);
  });
  readUrl();
  syncForm();
  renderBankOptions();

  $('lb-form').addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  for (const r of document.querySelectorAll('input[name="kind"]')) {
    r.addEventListener('change', () => {
      $('group-field').hidden = !$('kind-group').checked;
      $('bank-field').hidden = !$('kind-bank').checked;
      $('lb-form-error').textContent = '';
      // A bank choice is complete at once; a group label needs typing.
      if ($('kind-bank').checked && $('lb-bank').value) apply();
      else if ($('kind-group').checked) $('lb-group').focus();
    });
  }
  $('lb-bank').addEventListener('change', () => apply());
  for (const r of document.querySelectorAll('input[name="period"]')) {
    r.addEventListener('change', () => {
      if (board() || $('lb-group').value.trim()) apply();
    });
  }
  $('lb-live').addEventListener('change', () => {
    L.live = $('lb-live').checked;
    writeUrl();
    armLive();
  });
  $('lb-refresh').addEventListener('click', () => load({ announce: true }));
  $('lb-retry').addEventListener('click', () => load({ announce: true }));

  $('me-form').addEventListener('submit', (e) => {
    e.preventDefault();
    L.me = $('me-nick').value.trim().replace(/\s+/g, ' ');
    $('me-clear').hidden = !L.me;
    if (!L.me) {
      setStatus($('me-status'), t('lb.typeNick'), 'error');
      $('me-table').hidden = true;
      writeUrl();
      return;
    }
    if (!board()) {
      setStatus($('me-status'), t('lb.chooseBoard'), 'error');
      return;
    }
    writeUrl();
    setStatus($('me-status'), t('lb.looking'), 'busy');
    load({ quiet: true });
  });
  $('me-clear').addEventListener('click', () => {
    L.me = '';
    $('me-nick').value = '';
    $('me-clear').hidden = true;
    $('me-table').hidden = true;
    $('me-rows').replaceChildren();
    setStatus($('me-status'), '');
    for (const tr of document.querySelectorAll('#lb-rows .is-me')) {
      tr.classList.remove('is-me');
      tr.removeAttribute('aria-current');
      tr.querySelector('.me-tag')?.remove();
    }
    writeUrl();
    $('me-nick').focus();
  });
  document.addEventListener('visibilitychange', () => {
    if (L.live && document.visibilityState === 'visible' && board()) load({ quiet: true });
  });

  // A group's board needs no bank list: show it at once.
  if (L.kind === 'group' && board()) {
    writeUrl();
    load();
    armLive();
  }
  const ready = loadBanks().then(() => {
    // The visitor may have chosen a board while the banks were loading:
    // then leave the form and the board alone.
    if (L.seq > 0) return;
    syncForm();
    if (board()) {
      writeUrl();
      load();
      armLive();
    } else if (L.kind === 'group') {
      setStatus($('lb-status'), t('lb.typeGroupOrBank'), 'info');
    } else {
      setStatus($('lb-status'), t(L.banks === null ? 'lb.banksFailedLong' : 'lb.noBanksYet'), L.banks === null ? 'error' : 'empty');
    }
  });
  window.chainquiz = { state: L, ready, reload: () => load({ quiet: true }) };
}

init();
