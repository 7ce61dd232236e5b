// host.js: the host's projector screen (host.html), and the read-only
// spectator screen (host.html?watch=PIN) that shows the same views.
//
// The host creates the game from the settings the start page left in
// sessionStorage ('chainquiz.create'); afterwards {pin, token} is the
// host's seat, and a reload or a dropped network rejoins with it.

import { Client, sessions, groupSecrets, el, ProtocolError, TRY_AGAIN } from './protocol.js';
import { t, initI18n, onLangChange, fmtList, errorText } from './i18n.js';
import {
  OPTION_STYLES,
  optionBadge,
  optionLabel,
  showView,
  announce,
  ConnectionBanner,
  Countdown,
  TimeAnnouncer,
  secondsLeft,
  toast,
  qtypeLabel,
  rankChange,
  questionImage,
  icon,
  boardHref,
  optionTexts,
} from './ui.js';

const $ = (id) => document.getElementById(id);
const root = $('main');
const params = new URLSearchParams(window.location.search);
initI18n(document.querySelector('.topbar .bar-right') || document.querySelector('.topbar'));

function takePendingCreate() {
  try {
    const s = sessionStorage.getItem('chainquiz.create');
    return s ? JSON.parse(s) : null;
  } catch {
    return null;
  }
}

const watchPin = /^[0-9]{6}$/.test(params.get('watch') || '') ? params.get('watch') : null;
// The game's watch token travels in the fragment (#key=...) of the host's
// projector link: never sent in a request line, a log or a Referer.
const watchKey = (() => {
  const k = new URLSearchParams(window.location.hash.slice(1)).get('key') || '';
  return /^[A-Za-z0-9_-]{1,64}$/.test(k) ? k : null;
})();
// A game's join secret: from a watch link's `k`, or the host's `joined`.
const watchSecret = /^[A-Za-z0-9_-]{1,64}$/.test(params.get('k') || '') ? params.get('k') : null;
const H = {
  mode: watchPin ? 'watch' : null, // watch | create | rejoin
  role: watchPin ? 'spectator' : 'host',
  pin: watchPin,
  secret: watchSecret, // the join link and QR code carry it beside the PIN
  pendingCreate: watchPin ? null : takePendingCreate(),
  session: null,
  players: new Map(), // id -> {id, nickname, connected, score}
  phase: null,
  settings: {},
  total: 0,
  index: -1,
  locked: false,
  paused: false,
  question: null,
  reveal: null,
  progress: null,
  endArmed: null,
  gameId: null, // the stored result's id (host's `joined`, and `ended`)
  watchToken: null, // host only: what the projector link carries
  results: null, // the results download: see renderResults()
  unanswered: null, // host only: the last `unanswered` (presenter panel)
  publicUrl: null, // `joined.public_url`: the join link's base when the operator set one
  lanUrls: [], // `joined.lan_urls`: this machine's LAN bases, for a page opened as localhost
  localOnly: false, // `joined.local_only`: the server listens on loopback only
  leaderboard: null, // the last `leaderboard`, `ended` and host warning, for a language switch
  ended: null,
  warning: null,
  gone: null,
};
// A host seat kept in this tab (sessionStorage: a reload) is taken back at
// once; one only in localStorage (a tab that was closed, maybe someone else's
// on a shared computer) is offered first: see offerResume().
let offered = null;
if (!watchPin) {
  if (H.pendingCreate) H.mode = 'create';
  else {
    H.session = sessions.load('host', { tabOnly: true });
    if (H.session && H.session.pin && H.session.token) {
      H.mode = 'rejoin';
      H.pin = H.session.pin;
      if (typeof H.session.game_id === 'string') H.gameId = H.session.game_id;
    } else {
      H.session = null;
      const old = sessions.load('host');
      if (old && old.pin && old.token) offered = old;
    }
  }
}
const isHost = () => H.role === 'host';

const banner = new ConnectionBanner($('conn'));
const liveTimer = $('live-timer');
const liveMain = $('live-main');
const announcer = new TimeAnnouncer(liveTimer);

const countdown = new Countdown({
  onTick: (r) => tick(r),
  onOpen: () => renderControls(),
  onEnd: () => {
    $('hq-timer-num').textContent = '0';
    renderControls();
  },
});

const client = new Client({
  onOpen: () => onOpen(),
  onStatus: (info) => {
    banner.update(info);
    const dot = $('live-dot');
    dot.dataset.status = info.status;
    liveText(info.status);
    renderControls();
  },
});

function liveText(status) {
  const key = ['open', 'stopped', 'connecting'].includes(status) ? `host.live.${status}` : 'host.live.reconnecting';
  $('live-text').dataset.i18n = key;
  $('live-text').textContent = t(key);
}

function view(name) {
  showView(root, name);
  renderControls();
}

/** title, text: catalogue keys; with `err`, the text is that error's. */
function gone(title, text, err = null) {
  countdown.stop();
  H.gone = { title, text, err };
  $('gone-title').textContent = t(title);
  $('gone-text').textContent = err ? errorText(err) : t(text);
  $('controls').hidden = true;
  view('gone');
}

// ---- connection ---------------------------------------------------------------

async function onOpen() {
  try {
    if (H.mode === 'watch') {
      if (!watchKey) {
        client.stop('failed');
        banner.update({ status: 'open' });
        gone('host.nothingToWatch', 'host.needLink');
        return;
      }
      await client.request('watch', H.secret ? { pin: H.pin, token: watchKey, secret: H.secret } : { pin: H.pin, token: watchKey });
    } else if (H.mode === 'create') {
      const reply = await client.request('create_game', H.pendingCreate);
      const group = H.pendingCreate.group;
      // A typed secret that worked is kept too, for this device's next games.
      const secret = reply.group_secret || H.pendingCreate.group_secret;
      if (group && secret) groupSecrets.save(group, secret);
      H.pendingCreate = null;
      try {
        sessionStorage.removeItem('chainquiz.create');
      } catch {
        /* ignore */
      }
      H.mode = 'rejoin';
      H.session = { pin: reply.pin, token: reply.token, game_id: reply.game_id || H.gameId };
    } else if (H.mode === 'rejoin') {
      await client.request('rejoin', { pin: H.session.pin, token: H.session.token });
    }
    client.markHealthy();
  } catch (e) {
    if (!(e instanceof ProtocolError)) return; // the next connection tries again
    if (H.mode !== 'create' && TRY_AGAIN.has(e.code)) {
      client.retryLater(); // "not now": the seat is kept, the next connection tries again
      return;
    }
    client.stop('failed');
    banner.update({ status: 'open' });
    if (H.mode === 'create') {
      try {
        sessionStorage.removeItem('chainquiz.create');
      } catch {
        /* ignore */
      }
      gone('host.createFailed', null, e);
    } else if (H.mode === 'watch') {
      if (e.code === 'bad_token') gone('host.nothingToWatch', 'host.badWatch');
      else gone('host.nothingToWatch', null, e);
    } else {
      sessions.clear('host');
      gone('host.notRunning', null, e);
    }
  }
}

// ---- messages -------------------------------------------------------------------

client.on('joined', (m) => {
  H.role = m.role;
  H.pin = m.pin;
  document.body.classList.toggle('is-spectator', m.role === 'spectator');
  $('role-tag').hidden = m.role !== 'spectator';
  if (typeof m.game_id === 'string' && m.game_id) H.gameId = m.game_id;
  if (typeof m.watch_token === 'string' && m.watch_token) H.watchToken = m.watch_token;
  // The game's join secret, for the join link and QR code this screen shows:
  // the host and a spectator (who proved the watch token) are both given it.
  if (typeof m.secret === 'string') H.secret = m.secret;
  else if (m.role === 'host') H.secret = null;
  H.publicUrl = typeof m.public_url === 'string' && /^https?:\/\//.test(m.public_url) ? m.public_url : null;
  H.lanUrls = Array.isArray(m.lan_urls) ? m.lan_urls.filter((u) => typeof u === 'string' && /^https?:\/\//.test(u)) : [];
  H.localOnly = m.local_only === true;
  if (m.role === 'host') {
    H.session = { pin: m.pin, token: m.token, game_id: H.gameId };
    sessions.save('host', H.session);
  }
  if (H.phase === 'ended') renderResults();
  docTitle();
});

function docTitle() {
  if (H.pin && H.phase) document.title = t(H.role === 'host' ? 'host.docHost' : 'host.docWatch', { pin: H.pin });
  else document.title = t('host.docTitle');
}

client.on('state', (st) => renderState(st));

client.on('lobby', (m) => {
  for (const p of m.joined || []) H.players.set(p.id, { ...p });
  for (const l of m.left || []) {
    const p = H.players.get(l.id);
    H.players.delete(l.id);
    if (p && l.kicked) announce(liveMain, t('host.removed', { name: p.nickname }));
  }
  for (const s of m.status || []) {
    const p = H.players.get(s.id);
    if (p) p.connected = s.connected;
  }
  renderPlayers();
});

client.on('locked', (m) => {
  H.locked = m.locked;
  renderPlayers();
});

client.on('question', (q) => {
  H.phase = 'question';
  H.paused = Boolean(q.paused);
  H.progress = null;
  renderQuestion(q);
  renderPresenter();
});

client.on('progress', (m) => {
  H.progress = m;
  renderAnswered();
});

// ---- presenter panel: who has not answered yet (host only; issue 17, item 6) ----
// A collapsed band below the options on the host's own screen, never over the
// question; the server sends `unanswered` to hosts only.
const PRESENTER_TEXT = {
  summary: (n) => (n === 0 ? t('host.presenter.all') : t('host.presenter.count', { n })),
  away: () => t('host.presenter.away'),
  more: (n) => t('host.presenter.more', { n }),
};

client.on('unanswered', (m) => {
  if (!isHost() || !Array.isArray(m.players)) return;
  H.unanswered = m;
  renderPresenter();
});

function renderPresenter() {
  const box = $('presenter');
  const m = H.unanswered;
  box.hidden = !isHost() || H.phase !== 'question' || !m || m.index !== H.index;
  if (box.hidden) return;
  $('presenter-summary').textContent = PRESENTER_TEXT.summary(m.count);
  const items = m.players.map((p) =>
    el('li', { class: p.connected ? 'presenter-name' : 'presenter-name is-away', dataset: { id: String(p.id) } }, p.nickname, p.connected ? '' : PRESENTER_TEXT.away()),
  );
  if (m.more > 0) items.push(el('li', { class: 'presenter-more', text: PRESENTER_TEXT.more(m.more) }));
  $('presenter-list').replaceChildren(...items);
}

client.on('paused', (m) => {
  H.paused = true;
  if (H.phase === 'question') countdown.set(m, true);
  $('hq-paused').hidden = false;
  renderControls();
  announce(liveMain, t('host.paused'));
});

client.on('resumed', (m) => {
  H.paused = false;
  if (H.phase === 'question') countdown.set(m, false);
  $('hq-paused').hidden = true;
  renderControls();
  announce(liveMain, t('host.resumed'));
});

client.on('time_added', (m) => {
  if (H.phase === 'question') {
    countdown.set(m, H.paused);
    announcer.reset();
  }
  announce(liveMain, t('host.timeAdded'));
});

client.on('reveal', (r) => {
  H.phase = 'reveal';
  renderReveal(r);
});

client.on('leaderboard', (lb) => {
  H.phase = 'leaderboard';
  H.leaderboard = lb;
  renderLeaderboard(lb);
});

client.on('ended', (e) => {
  H.phase = 'ended';
  if (typeof e.game_id === 'string' && e.game_id) H.gameId = e.game_id;
  renderEnded(e);
});

client.on('closed', () => {
  client.stop('closed');
  if (isHost()) sessions.clear('host');
  banner.update({ status: 'open' });
  if (H.phase === 'lobby' && H.players.size === 0)
    gone('common.gameClosed', 'host.closedEmpty');
  else if (H.phase !== 'ended') gone('common.gameClosed', 'host.closed');
});

// Server notices for the host (e.g. redis_down / redis_ok: results storage).
function warningText(m) {
  return typeof m.code === 'string' && m.code in { redis_down: 1, redis_ok: 1 } ? t(`host.warn.${m.code}`) : m.message || m.code || '';
}

client.on('warning', (m) => {
  const box = $('host-warning');
  const ok = typeof m.code === 'string' && m.code.endsWith('_ok');
  H.warning = m;
  box.textContent = warningText(m);
  box.hidden = ok || !box.textContent;
  if (ok && box.textContent) toast(warningText(m), 'info', 5000);
  // Storage is back: the result is written now; look again if we gave up.
  if (ok && H.phase === 'ended' && H.results && !H.results.ready) {
    H.results = null;
    renderResults();
  }
});

client.on('error', (m, { handled }) => {
  // too_many_connections: closed before it got in; the reconnection retries.
  if (!handled && m.code !== 'rate_limited' && m.code !== 'too_many_connections') toast(errorText(m), 'error');
});

// ---- state -----------------------------------------------------------------------

function fmtPin(pin) {
  return pin ? `${pin.slice(0, 3)} ${pin.slice(3)}` : '';
}

function renderState(st) {
  if (typeof st.game_id === 'string' && st.game_id) H.gameId = st.game_id;
  H.phase = st.phase;
  H.pin = st.pin;
  H.total = st.total;
  H.index = st.index;
  H.locked = st.locked;
  H.paused = st.paused;
  H.settings = st.settings || {};
  if (st.leaderboard) H.leaderboard = st.leaderboard;
  docTitle();
  if (Array.isArray(st.list)) {
    H.players.clear();
    for (const p of st.list) H.players.set(p.id, { ...p });
  }
  $('bar-bank').textContent = H.settings.bank_title || '';
  $('bar-group').textContent = H.settings.group || '';
  $('bar-group').hidden = !H.settings.group;
  // Collapsed: the lobby is on the projector, and the secret is the teacher's.
  const secret = isHost() && H.settings.group ? groupSecrets.get(H.settings.group) : null;
  $('group-secret').hidden = !secret;
  $('group-secret-label').textContent = H.settings.group || '';
  $('group-secret-value').textContent = secret || '';
  $('bar-pin-num').textContent = fmtPin(st.pin);
  $('players-btn').hidden = false;
  renderJoinPanel();
  renderPlayers();
  switch (st.phase) {
    case 'lobby':
      countdown.stop();
      view('lobby');
      break;
    case 'question':
      renderQuestion(st.question);
      break;
    case 'reveal':
      H.question = st.question;
      renderReveal(st.reveal);
      break;
    case 'leaderboard':
      H.question = st.question;
      H.reveal = st.reveal;
      renderLeaderboard(st.leaderboard);
      break;
    case 'ended':
      renderEnded(st.ended);
      break;
    default:
      break;
  }
}

/** `&k=SECRET` when the game has a join secret, else nothing. */
function secretArg() {
  return H.secret ? `&k=${encodeURIComponent(H.secret)}` : '';
}

// Texts of the join link's warning (issue 17, item 2).
const JOIN_TEXT = {
  get noAddress() {
    return t('host.join.noAddress');
  },
  get localOnly() {
    return t('host.join.localOnly');
  },
};

/** A page opened as localhost, 127.x.y.z or [::1]: phones cannot use its address. */
function isLoopbackHost(name) {
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The join link's base: --public-url, else this page's own address, unless that
 * is a loopback one: then the server's first LAN address; null when none. */
function joinBase() {
  if (H.publicUrl) return H.publicUrl;
  if (!isLoopbackHost(window.location.hostname)) return `${window.location.protocol}//${window.location.host}`;
  return H.lanUrls[0] || null;
}

function joinUrl() {
  const base = joinBase() || `${window.location.protocol}//${window.location.host}`;
  return `${base}/?pin=${H.pin}${secretArg()}`;
}

function watchUrl() {
  return `${window.location.protocol}//${window.location.host}/host.html?watch=${H.pin}#key=${encodeURIComponent(H.watchToken)}`;
}

function renderJoinPanel() {
  if (!H.pin) return;
  const base = joinBase();
  $('join-host').textContent = (base || window.location.host).replace(/^https?:\/\//, '');
  const warn = $('join-warning');
  warn.textContent = base ? '' : H.localOnly ? JOIN_TEXT.localOnly : JOIN_TEXT.noAddress;
  warn.hidden = !!base;
  $('pin-big').textContent = fmtPin(H.pin);
  $('pin-big').setAttribute('aria-label', t('host.pinAria', { pin: H.pin.split('').join(' ') }));
  const qr = $('qr');
  const src = `/api/qr.svg?pin=${encodeURIComponent(H.pin)}${secretArg()}`;
  if (qr.getAttribute('src') !== src) qr.src = src;
  const link = $('join-link');
  link.href = joinUrl();
  link.textContent = joinUrl();
  const watch = $('watch-link');
  watch.hidden = !H.watchToken;
  if (H.watchToken) watch.href = watchUrl();
}

// ---- players ---------------------------------------------------------------------

function kick(p) {
  if (!isHost()) return;
  client
    .request('kick', { player: p.id })
    .then(() => toast(t('host.removed', { name: p.nickname }), 'info', 2500))
    .catch((e) => toast(errorText(e), 'error'));
}

function playerChip(p, withScore) {
  const li = el(
    'li',
    { class: `player-chip${p.connected ? '' : ' is-away'}`, 'data-id': p.id },
    el('span', { class: 'conn-dot', title: t(p.connected ? 'host.connected' : 'host.away'), 'aria-hidden': 'true' }),
    el('span', { class: 'player-name', text: p.nickname }),
    withScore ? el('span', { class: 'player-score', text: String(p.score ?? 0) }) : null,
    p.connected ? null : el('span', { class: 'sr-only', text: ` ${t('host.awaySr')}` }),
  );
  if (isHost()) {
    const b = el('button', { type: 'button', class: 'kick-btn', 'aria-label': t('host.removeName', { name: p.nickname }), title: t('host.removePlayer') }, '✕');
    b.addEventListener('click', () => kick(p));
    li.append(b);
  }
  return li;
}

function renderPlayers() {
  const list = [...H.players.values()].sort((a, b) => a.id - b.id);
  const n = list.length;
  $('lobby-count').textContent = String(n);
  $('lobby-count-word').textContent = t('host.playersWord', { n });
  $('lobby-empty').hidden = n > 0;
  // Beyond what fits at a readable size, js/fit.js shows "+N more".
  $('lobby-players').dataset.fitMore = t('host.morePlayers', { n: '{n}' });
  $('lobby-players').replaceChildren(...list.map((p) => playerChip(p, false)));
  $('players-btn-count').textContent = String(n);
  $('panel-count').textContent = String(n);
  const byScore = [...list].sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || a.id - b.id);
  $('panel-list').replaceChildren(...byScore.map((p) => playerChip(p, true)));
  $('start-btn').disabled = n === 0 || !isHost();
  const lock = $('lock-btn');
  lock.textContent = t(H.locked ? 'host.unlock' : 'host.lock');
  lock.setAttribute('aria-pressed', String(H.locked));
  $('lock-note').hidden = !H.locked;
  renderAnswered();
}

// ---- question -----------------------------------------------------------------------

function renderQuestion(q) {
  if (!q) return;
  H.question = q;
  H.index = q.index;
  H.total = q.total;
  H.reveal = null;
  announcer.reset();
  $('hq-count').textContent = t('common.questionOf', { n: q.index + 1, total: q.total });
  $('hq-type').textContent =
    qtypeLabel(q.qtype, q.select) + (q.points === 2 ? ` · ${t('common.doublePoints')}` : q.points === 0 && q.qtype !== 'poll' ? ` · ${t('common.noPoints')}` : '');
  $('hq-prompt').textContent = q.prompt;
  $('hq-image').replaceChildren(...[questionImage(q.image)].filter(Boolean));
  $('hq-paused').hidden = !H.paused;
  const opts = $('hq-options');
  const options = optionTexts(q);
  opts.dataset.qtype = q.qtype;
  if (q.qtype === 'typeanswer') {
    opts.replaceChildren(el('div', { class: 'type-placeholder' }, icon('keyboard', 'icon type-icon'), el('span', { text: t('host.typeOnDevice') })));
  } else if (q.qtype === 'ordering') {
    opts.replaceChildren(
      el('p', { class: 'order-note', text: t('host.orderOnDevice') }),
      el(
        'ul',
        { class: `host-opt-grid opt-count-${q.options.length}`, 'aria-label': t('host.itemsToOrder') },
        ...options.map((text, i) => el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}`, 'aria-label': optionLabel(i, text) }, optionBadge(i), el('span', { class: 'opt-text', text }))),
      ),
    );
  } else {
    opts.replaceChildren(
      el(
        'ul',
        { class: `host-opt-grid opt-count-${q.options.length}`, 'aria-label': t('common.answers') },
        ...options.map((text, i) =>
          el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}`, 'aria-label': optionLabel(i, text) }, optionBadge(i), el('span', { class: 'opt-text', text })),
        ),
      ),
    );
  }
  countdown.set(q, H.paused);
  renderAnswered();
  view('question');
  announce(liveMain, t('host.announceQuestion', { n: q.index + 1, total: q.total, prompt: q.prompt }));
}

function renderAnswered() {
  const p = H.progress;
  const q = H.question;
  const answered = p && q && p.index === q.index ? p.answered : 0;
  const of = p && q && p.index === q.index ? (p.connected ?? p.players) : [...H.players.values()].filter((x) => x.connected).length;
  $('hq-answered').textContent = String(answered);
  $('hq-answered-word').textContent = t('host.ofAnswered', { n: of });
}

function tick(r) {
  $('hq-leadin').hidden = !r.inLeadIn;
  $('hq-timer').hidden = r.inLeadIn;
  $('hq-options').classList.toggle('is-waiting', r.inLeadIn);
  if (r.inLeadIn) $('hq-leadin-num').textContent = secondsLeft(r.leadMs);
  $('hq-timer-num').textContent = secondsLeft(r.remainingMs);
  $('hq-timer').classList.toggle('timer-low', !r.inLeadIn && r.remainingMs <= 5000);
  const frac = r.limitMs > 0 ? Math.min(1, r.remainingMs / r.limitMs) : 0;
  $('hq-timebar').style.setProperty('--frac', r.inLeadIn ? '1' : frac.toFixed(3));
  if (!r.inLeadIn) announcer.tick(r);
}

// ---- reveal ------------------------------------------------------------------------

function correctSet(r) {
  if (r.qtype === 'single' || r.qtype === 'multi') return new Set(Array.isArray(r.correct) ? r.correct : []);
  if (r.qtype === 'truefalse') return new Set([r.correct ? 0 : 1]);
  return new Set();
}

function renderReveal(r) {
  if (!r) return;
  countdown.stop();
  H.reveal = r;
  const q = H.question && H.question.index === r.index ? H.question : null;
  const options = r.qtype === 'truefalse' ? optionTexts({ qtype: 'truefalse' }) : q ? q.options : [];
  $('hr-count').textContent = t('common.questionOf', { n: r.index + 1, total: H.total || q?.total || '' });
  $('hr-type').textContent = qtypeLabel(r.qtype, q?.select);
  $('hr-prompt').textContent = q ? q.prompt : '';
  const chart = $('hr-chart');
  chart.dataset.qtype = r.qtype;
  const good = correctSet(r);
  const labels = [];
  if (r.counts && r.counts.length) {
    const max = Math.max(1, ...r.counts);
    chart.replaceChildren(
      ...r.counts.map((count, i) => {
        const ok = good.has(i);
        const text = options[i] ?? t('host.optionLetter', { letter: OPTION_STYLES[i % 6].letter });
        labels.push(`${optionLabel(i, text)}: ${count}${ok ? ` ${t('host.correctMark')}` : ''}`);
        const bar = el('div', { class: 'bar' }, el('span', { class: 'bar-count', text: String(count) }));
        bar.style.setProperty('--h', (count / max).toFixed(3));
        return el(
          'div',
          { class: `bar-col ${OPTION_STYLES[i % 6].cls}${r.qtype === 'poll' ? '' : ok ? ' is-correct' : ' is-wrong'}`, 'data-index': i },
          el('div', { class: 'bar-track' }, bar),
          el('div', { class: 'bar-label' }, optionBadge(i), el('span', { class: 'opt-text', text }), ok ? el('span', { class: 'bar-tick', 'aria-hidden': 'true', text: '✓' }) : null),
        );
      }),
    );
  } else if (r.qtype === 'typeanswer') {
    const acc = Array.isArray(r.correct) ? r.correct : [];
    labels.push(t('host.acceptedList', { list: acc.join(', ') }));
    chart.replaceChildren(
      el('div', { class: 'accepted' }, el('p', { class: 'accepted-label', text: t(acc.length > 1 ? 'host.accepted' : 'host.theAnswer') }), el('ul', { class: 'accepted-list' }, ...acc.map((a) => el('li', { text: a })))),
    );
  } else if (r.qtype === 'ordering') {
    const order = Array.isArray(r.correct) ? r.correct : [];
    labels.push(t('host.rightOrderList', { list: order.map((i) => options[i]).join(', ') }));
    chart.replaceChildren(
      el('p', { class: 'accepted-label', text: t('host.rightOrder') }),
      el('ol', { class: 'host-order is-solution' }, ...order.map((i) => el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}` }, optionBadge(i), el('span', { class: 'opt-text', text: options[i] ?? '?' })))),
    );
  } else {
    chart.replaceChildren();
  }
  chart.setAttribute('aria-label', labels.join('; ') || t('host.results'));
  $('hr-stats').textContent =
    r.qtype === 'poll'
      ? t('host.voted', { n: r.answered, total: r.players })
      : t('host.gotIt', { n: r.correct_count, total: r.players, answered: r.answered });
  $('hr-explanation').textContent = r.explanation || '';
  $('hr-explanation-box').hidden = !r.explanation;
  view('reveal');
  announce(liveMain, $('hr-stats').textContent);
}

// ---- leaderboard and podium ------------------------------------------------------------

function boardRow(r, withChange) {
  const ch = rankChange(r.rank, r.prev_rank);
  const p = H.players.get(r.id);
  if (p) p.score = r.score;
  return el(
    'li',
    { class: 'board-row', 'data-id': r.id },
    el('span', { class: 'board-rank', text: String(r.rank) }),
    withChange ? el('span', { class: `board-change ${ch.cls}`, title: ch.label }, el('span', { 'aria-hidden': 'true', text: ch.text }), el('span', { class: 'sr-only', text: ch.label })) : null,
    el('span', { class: 'board-name', text: r.nickname }),
    r.streak >= 2
      ? el(
          'span',
          { class: 'board-streak', title: t('host.streak', { n: r.streak }) },
          icon('flame', 'icon icon-inline'),
          el('span', { 'aria-hidden': 'true', text: String(r.streak) }),
          el('span', { class: 'sr-only', text: t('host.streak', { n: r.streak }) }),
        )
      : null,
    el('span', { class: 'board-score', text: String(r.score) }),
  );
}

function renderLeaderboard(lb) {
  if (!lb) return;
  countdown.stop();
  H.index = lb.index;
  H.total = lb.total;
  $('hl-sub').textContent = `${t('common.afterQuestion', { n: lb.index + 1, total: lb.total })} · ${t('common.players', { n: lb.players })}`;
  $('hl-list').replaceChildren(...(lb.top || []).map((r) => boardRow(r, true)));
  renderPlayers();
  view('leaderboard');
  const top = lb.top && lb.top[0];
  announce(liveMain, top ? t('host.announceBoard', { name: top.nickname, points: t('common.points', { n: top.score }) }) : t('common.leaderboard'));
}

function renderEnded(e) {
  if (!e) return;
  H.ended = e;
  countdown.stop();
  const podium = $('podium');
  const byRank = [...(e.podium || [])];
  // Nobody scored: no winner, no podium, and the board says so.
  const noScores = byRank.length > 0 && byRank.every((r) => r.score === 0);
  $('podium').hidden = noScores;
  $('he-title').dataset.i18n = noScores ? 'host.noScores' : 'host.podium';
  $('he-title').textContent = t($('he-title').dataset.i18n);
  // Display order: 2nd, 1st, 3rd. The server sends every row ranked 1-3, so
  // players tied for the third step share it (names listed together).
  const third = byRank.length > 3
    ? { ...byRank[2], nickname: byRank.slice(2).map((r) => r.nickname).join(', ') }
    : byRank[2];
  const order = [byRank[1], byRank[0], third];
  const places = ['second', 'first', 'third'];
  const STEPS = { 1: 'first', 2: 'second', 3: 'third' };
  podium.replaceChildren(
    ...order.map((r, k) => {
      if (!r) return el('div', { class: `podium-col podium-${places[k]} is-empty`, 'aria-hidden': 'true' });
      return el(
        'div',
        // The step shows the rank, not the position: players tied for first
        // both stand on the first (highest) step.
        { class: `podium-col podium-${STEPS[r.rank] || places[k]}`, 'data-id': r.id },
        el('span', { class: 'podium-name', text: r.nickname }),
        el('span', { class: 'podium-score', text: t('host.pts', { n: r.score }) }),
        el('div', { class: 'podium-block' }, el('span', { class: 'podium-place', text: String(r.rank) })),
      );
    }),
  );
  $('he-list').replaceChildren(...(e.top || []).map((r) => boardRow(r, false)));
  $('controls').hidden = true;
  renderResults();
  view('ended');
  const w = byRank[0];
  const firsts = byRank.filter((r) => r.rank === 1);
  let said = t('common.gameOver');
  if (noScores) said = t('host.announceNoScores');
  else if (firsts.length > 1) said = t('host.announceTie', { points: t('common.points', { n: w.score }), names: fmtList(firsts.map((r) => r.nickname)) });
  else if (w) said = t('host.announceWinner', { name: w.nickname, points: t('common.points', { n: w.score }) });
  announce(liveMain, said);
}

// ---- results download and the leaderboard link (podium) ------------------------------------
//
// The result record is written to Redis when the game ends, asynchronously:
// GET /api/results may answer 404 (not written yet) or 503 (storage away)
// for a moment. The podium checks in the background until it is there, and
// a download retries by itself before telling the host to try again. The
// host token goes in an Authorization header, never in a URL the projector
// could show.

const RESULT_CHECKS_MS = [400, 800, 1500, 2500, 4000, 6000, 8000, 10000, 15000, 20000]; // ~68 s
const DOWNLOAD_RETRIES_MS = [1000, 2500, 5000];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let resultsGen = 0; // a newer background check stops the older ones

function resultsStatus(text, kind = 'info') {
  const p = $('results-status');
  p.textContent = text;
  p.dataset.kind = kind;
  p.hidden = !text;
}

/** One GET /api/results: {ok, status, blob, error}. */
async function fetchResults(format) {
  const url = `/api/results?game=${encodeURIComponent(H.gameId)}&format=${format}`;
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${H.session.token}` }, cache: 'no-store' });
    if (res.ok) return { ok: true, status: res.status, blob: await res.blob() };
    const body = await res.json().catch(() => null);
    return { ok: false, status: res.status, error: body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}` };
  } catch (e) {
    return { ok: false, status: 0, error: t('host.res.unreachable') };
  }
}

/** Text for a failed fetch; `final` once the retries are over. */
function resultsProblem(r, final) {
  if (r.status === 403) return t('host.res.forbidden');
  // The server answers a wrong host key like a game it does not know (404).
  if (r.status === 404) return t(final ? 'host.res.notSaved' : 'host.res.saving');
  if (r.status === 503) return t(final ? 'host.res.storageDown' : 'host.res.storageRetry');
  if (r.status === 0) return t(final ? 'host.res.noServer' : 'host.res.noServerRetry');
  return t('host.res.failed', { why: r.error });
}
const retryable = (r) => r.status === 404 || r.status === 503 || r.status === 0;

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function download(format) {
  const btn = $(format === 'csv' ? 'dl-csv' : 'dl-json');
  if (!H.gameId || !H.session?.token || btn.getAttribute('aria-busy') === 'true') return;
  btn.setAttribute('aria-busy', 'true');
  resultsStatus(t('host.res.preparing'), 'busy');
  try {
    let r = await fetchResults(format);
    for (let i = 0; !r.ok && retryable(r) && i < DOWNLOAD_RETRIES_MS.length; i++) {
      resultsStatus(resultsProblem(r, false), 'busy');
      await sleep(DOWNLOAD_RETRIES_MS[i]);
      r = await fetchResults(format);
    }
    if (!r.ok) {
      resultsStatus(resultsProblem(r, true), 'error');
      return;
    }
    const name = `chainquiz-${H.gameId}.${format}`;
    saveBlob(r.blob, name);
    if (H.results) H.results.ready = true;
    resultsStatus(t('host.res.downloaded', { name }), 'ok');
  } finally {
    btn.removeAttribute('aria-busy');
  }
}

/** Waits in the background until the stored result is there. */
async function checkResults(gen) {
  for (let i = 0; i <= RESULT_CHECKS_MS.length; i++) {
    if (gen !== H.results?.gen || H.results.ready) return;
    const r = await fetchResults('json');
    if (gen !== H.results?.gen || H.results.ready) return;
    if (r.ok) {
      H.results.ready = true;
      resultsStatus(t('host.res.saved'), 'ok');
      renderReport(await r.blob.text().then(JSON.parse).catch(() => null));
      return;
    }
    const final = !retryable(r) || i === RESULT_CHECKS_MS.length;
    // A download in progress says its own thing.
    if ($('dl-csv').getAttribute('aria-busy') !== 'true' && $('dl-json').getAttribute('aria-busy') !== 'true') {
      resultsStatus(resultsProblem(r, final), final ? 'error' : 'busy');
    }
    if (final) return;
    await sleep(RESULT_CHECKS_MS[i]);
  }
}

// The per-question report (GET /api/results, `questions[].report`), below the
// podium on the host's screen only (issue 17, item 7). Its texts:
const REPORT_TEXT = Object.defineProperties(
  { seconds: (ms) => t('host.report.seconds', { s: (ms / 1000).toFixed(1) }) },
  Object.fromEntries(
    ['title', 'question', 'correct', 'answers', 'time', 'skipped', 'notAsked', ['noScore', 'poll']].map((k) => {
      const [name, key] = Array.isArray(k) ? k : [k, k];
      return [name, { get: () => t(`host.report.${key}`), enumerable: true }];
    }),
  ),
);

function renderReport(rec) {
  const box = $('report');
  const qs = rec && Array.isArray(rec.questions) ? rec.questions : null;
  box.hidden = !qs || !isHost();
  if (box.hidden) return;
  const th = (t) => el('th', { scope: 'col', text: t });
  const rows = qs.map((q, i) => {
    const r = q.report || {};
    const opts = Array.isArray(q.options) ? q.options : [];
    const counts = Array.isArray(r.counts) ? r.counts : [];
    const right = !q.asked ? REPORT_TEXT.notAsked : q.skipped ? REPORT_TEXT.skipped : r.percent_correct === null || r.percent_correct === undefined ? REPORT_TEXT.noScore : `${r.percent_correct}%`;
    const answers = counts.length
      ? counts.map((n, k) => `${String.fromCharCode(65 + k)} ${opts[k] ?? ''}: ${n}`).join(' · ')
      : `${r.answered ?? 0} / ${r.players ?? 0}`;
    return el(
      'tr',
      { dataset: { index: String(i) } },
      el('th', { scope: 'row', text: `${i + 1}. ${q.prompt || ''}` }),
      el('td', { class: 'report-right', text: right }),
      el('td', { class: 'report-answers', text: answers }),
      el('td', { class: 'report-time', text: typeof r.mean_time_ms === 'number' ? REPORT_TEXT.seconds(r.mean_time_ms) : '–' }),
    );
  });
  box.replaceChildren(
    el('summary', { text: REPORT_TEXT.title }),
    el('table', { class: 'report-table' }, el('thead', {}, el('tr', {}, th(REPORT_TEXT.question), th(REPORT_TEXT.correct), th(REPORT_TEXT.answers), th(REPORT_TEXT.time))), el('tbody', {}, rows)),
  );
}

function renderResults() {
  const s = H.settings || {};
  const link = $('board-link');
  link.href = boardHref(s);
  link.textContent = s.group ? t('host.boardGroup', { group: s.group }) : s.bank ? t('host.boardBank') : t('common.leaderboards');
  const canDownload = isHost() && Boolean(H.gameId && H.session?.token);
  $('dl-csv').hidden = !canDownload;
  $('dl-json').hidden = !canDownload;
  if (!canDownload) {
    resultsStatus('');
    return;
  }
  if (H.results && H.results.gameId === H.gameId) return; // already checking
  H.results = { gameId: H.gameId, gen: ++resultsGen, ready: false };
  resultsStatus(t('host.res.saving'), 'busy');
  checkResults(H.results.gen);
}

$('dl-csv').addEventListener('click', () => download('csv'));
$('dl-json').addEventListener('click', () => download('json'));

// ---- host controls ----------------------------------------------------------------------

function cmd(type, fields = {}) {
  if (!isHost()) return;
  client.request(type, fields).catch((e) => toast(errorText(e), 'error'));
}

function nextLabel() {
  switch (H.phase) {
    case 'question':
      return t('host.next.reveal');
    case 'reveal':
      return t('host.next.board');
    case 'leaderboard':
      return t(H.index + 1 >= H.total ? 'host.next.final' : 'host.next.question');
    default:
      return t('host.next');
  }
}

function renderControls() {
  const bar = $('controls');
  const inGame = ['question', 'reveal', 'leaderboard'].includes(H.phase);
  bar.hidden = !isHost() || !inGame;
  document.body.classList.toggle('has-controls', !bar.hidden);
  if (bar.hidden) return;
  const open = client.isOpen;
  const pause = $('ctl-pause');
  const canPause = H.phase === 'question' || H.settings.auto_advance;
  pause.hidden = !canPause && !H.paused;
  pause.textContent = t(H.paused ? 'host.resume' : 'host.pause');
  pause.classList.toggle('is-active', H.paused);
  $('ctl-add').hidden = H.phase !== 'question';
  $('ctl-skip').hidden = H.phase !== 'question';
  const next = $('ctl-next');
  next.textContent = nextLabel();
  for (const b of bar.querySelectorAll('button')) b.disabled = !open;
  next.disabled = !open || H.paused;
  $('ctl-add').disabled = !open;
  const end = $('ctl-end');
  end.textContent = t(H.endArmed ? 'host.reallyEnd' : 'host.end');
  end.classList.toggle('is-armed', Boolean(H.endArmed));
}

$('ctl-next').addEventListener('click', () => cmd('next'));
$('ctl-pause').addEventListener('click', () => cmd(H.paused ? 'resume' : 'pause'));
$('ctl-add').addEventListener('click', () => cmd('add_time', { seconds: 10 }));
$('ctl-skip').addEventListener('click', () => cmd('skip'));
$('ctl-end').addEventListener('click', () => {
  // Two steps, without a blocking dialog.
  if (!H.endArmed) {
    H.endArmed = setTimeout(() => {
      H.endArmed = null;
      renderControls();
    }, 4000);
    renderControls();
    return;
  }
  clearTimeout(H.endArmed);
  H.endArmed = null;
  renderControls();
  cmd('end');
});
$('start-btn').addEventListener('click', () => cmd('start'));
$('lock-btn').addEventListener('click', () => cmd('lock', { locked: !H.locked }));

const panel = $('players-panel');
function setPanel(open) {
  panel.hidden = !open;
  $('players-btn').setAttribute('aria-expanded', String(open));
  if (open) $('panel-close').focus();
}
$('players-btn').addEventListener('click', () => setPanel(panel.hidden));
$('panel-close').addEventListener('click', () => {
  setPanel(false);
  $('players-btn').focus();
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !panel.hidden) {
    setPanel(false);
    $('players-btn').focus();
    return;
  }
  if (!isHost() || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement) return;
  const k = e.key.toLowerCase();
  if (k === 'n' || e.key === 'ArrowRight') {
    e.preventDefault();
    if (H.phase === 'lobby') {
      if (!$('start-btn').disabled) cmd('start');
    } else if (['question', 'reveal', 'leaderboard'].includes(H.phase) && !H.paused) cmd('next');
  } else if (k === 'p' && ['question', 'reveal', 'leaderboard'].includes(H.phase)) {
    e.preventDefault();
    cmd(H.paused ? 'resume' : 'pause');
  } else if (k === 't' && H.phase === 'question') {
    e.preventDefault();
    cmd('add_time', { seconds: 10 });
  }
});

// ---- start ---------------------------------------------------------------------------------

function startHosting() {
  if (watchPin) {
    document.body.classList.add('is-spectator');
    $('role-tag').hidden = false;
  }
  const ct = $('connecting-text');
  ct.dataset.i18n = H.mode === 'create' ? 'host.creating' : H.mode === 'watch' ? 'host.joiningSpectator' : 'host.reconnectingGame';
  ct.textContent = t(ct.dataset.i18n);
  view('connecting');
  client.start();
}

/** "Continue hosting game PIN?": nothing is sent until Continue. */
function offerResume(old) {
  $('live-dot').dataset.status = 'stopped';
  liveText('stopped');
  H.resumeOffer = old;
  $('resume-title').textContent = t('host.resumeTitle', { pin: old.pin });
  view('resume');
  $('resume-continue').addEventListener('click', () => {
    H.session = old;
    sessions.save('host', old); // this tab has it now: a reload asks no more
    H.mode = 'rejoin';
    H.pin = old.pin;
    if (typeof old.game_id === 'string') H.gameId = old.game_id;
    startHosting();
  });
  $('resume-fresh').addEventListener('click', () => {
    sessions.clear('host');
    window.location.href = './?host';
  });
  $('resume-continue').focus();
}

// A language switch: the static texts are filled again by i18n.js; what
// this page built is built again from the state it keeps.
onLangChange(() => {
  banner.relabel();
  docTitle();
  renderPlayers();
  renderJoinPanel();
  renderControls();
  if (H.warning) $('host-warning').textContent = warningText(H.warning);
  if (H.resumeOffer) $('resume-title').textContent = t('host.resumeTitle', { pin: H.resumeOffer.pin });
  const v = document.body.dataset.view;
  if (v === 'gone' && H.gone) gone(H.gone.title, H.gone.text, H.gone.err);
  else if (v === 'question' && H.question) {
    const c = countdown.read();
    renderQuestion(H.question);
    // renderQuestion restarts the clock from the message: keep the real one.
    countdown.set({ time_limit_ms: c.limitMs, lead_in_ms: c.leadMs, remaining_ms: c.remainingMs }, H.paused);
  } else if (v === 'reveal' && H.reveal) renderReveal(H.reveal);
  else if (v === 'leaderboard' && H.leaderboard) renderLeaderboard(H.leaderboard);
  else if (v === 'ended' && H.ended) {
    renderEnded(H.ended);
    if (H.results?.ready) resultsStatus(t('host.res.saved'), 'ok');
  }
});

if (H.mode) {
  startHosting();
} else if (offered) {
  offerResume(offered);
} else {
  gone('host.noGame', 'host.noGameText');
  $('live-dot').dataset.status = 'stopped';
  liveText('stopped');
}

window.chainquiz = { state: H, client };
