// host.js: the host's projector screen (host.html), and the read-only
// spectator screen (host.html?watch=PIN) that shows the same views.
//
// The host creates the game from the settings the start page left in
// sessionStorage ('chainquiz.create'); afterwards {pin, token} is the
// host's seat, and a reload or a dropped network rejoins with it.

import { Client, sessions, groupSecrets, errorText, el, ProtocolError } from './protocol.js';
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
} from './ui.js';

const $ = (id) => document.getElementById(id);
const root = $('main');
const params = new URLSearchParams(window.location.search);

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
    $('live-text').textContent =
      info.status === 'open' ? 'Live' : info.status === 'stopped' ? 'Offline' : info.status === 'connecting' ? 'Connecting' : 'Reconnecting';
    renderControls();
  },
});

function view(name) {
  showView(root, name);
  renderControls();
}

function gone(title, text) {
  countdown.stop();
  $('gone-title').textContent = title;
  $('gone-text').textContent = text;
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
        gone('Nothing to watch', "Open the projector link from the host's screen: the PIN alone is not enough.");
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
    client.stop('failed');
    banner.update({ status: 'open' });
    if (H.mode === 'create') {
      try {
        sessionStorage.removeItem('chainquiz.create');
      } catch {
        /* ignore */
      }
      gone('Could not create the game', errorText(e));
    } else if (H.mode === 'watch') {
      gone('Nothing to watch', e.code === 'bad_token' ? "This watch code does not open this game: use the projector link from the host's screen." : errorText(e));
    } else {
      sessions.clear('host');
      gone('This game is no longer running', errorText(e));
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
  document.title = `Chainquiz · ${m.role === 'host' ? 'Host' : 'Watching'} · ${m.pin}`;
});

client.on('state', (st) => renderState(st));

client.on('lobby', (m) => {
  for (const p of m.joined || []) H.players.set(p.id, { ...p });
  for (const l of m.left || []) {
    const p = H.players.get(l.id);
    H.players.delete(l.id);
    if (p && l.kicked) announce(liveMain, `${p.nickname} was removed`);
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
  summary: (n) => (n === 0 ? 'Everyone has answered' : `Not answered yet: ${n}`),
  away: ' (away)',
  more: (n) => `and ${n} more`,
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
    el('li', { class: p.connected ? 'presenter-name' : 'presenter-name is-away', dataset: { id: String(p.id) } }, p.nickname, p.connected ? '' : PRESENTER_TEXT.away),
  );
  if (m.more > 0) items.push(el('li', { class: 'presenter-more', text: PRESENTER_TEXT.more(m.more) }));
  $('presenter-list').replaceChildren(...items);
}

client.on('paused', (m) => {
  H.paused = true;
  if (H.phase === 'question') countdown.set(m, true);
  $('hq-paused').hidden = false;
  renderControls();
  announce(liveMain, 'Paused');
});

client.on('resumed', (m) => {
  H.paused = false;
  if (H.phase === 'question') countdown.set(m, false);
  $('hq-paused').hidden = true;
  renderControls();
  announce(liveMain, 'Resumed');
});

client.on('time_added', (m) => {
  if (H.phase === 'question') {
    countdown.set(m, H.paused);
    announcer.reset();
  }
  announce(liveMain, 'Time added');
});

client.on('reveal', (r) => {
  H.phase = 'reveal';
  renderReveal(r);
});

client.on('leaderboard', (lb) => {
  H.phase = 'leaderboard';
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
    gone('Game closed', 'Nobody was in this game for a while, so it closed. Create a new one when your class is ready.');
  else if (H.phase !== 'ended') gone('Game closed', 'This game has closed.');
});

// Server notices for the host (e.g. redis_down / redis_ok: results storage).
client.on('warning', (m) => {
  const box = $('host-warning');
  const ok = typeof m.code === 'string' && m.code.endsWith('_ok');
  box.textContent = m.message || m.code || '';
  box.hidden = ok || !box.textContent;
  if (ok && m.message) toast(m.message, 'info', 5000);
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
  noAddress:
    'Phones cannot open "localhost", and this computer has no network address to offer: connect it to the class network, or start the server with --public-url.',
  localOnly:
    'Phones cannot join: the server listens on this computer only (--bind). Start it with --bind 0.0.0.0, or with --public-url.',
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
  $('pin-big').setAttribute('aria-label', `Game PIN ${H.pin.split('').join(' ')}`);
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
    .then(() => toast(`${p.nickname} was removed`, 'info', 2500))
    .catch((e) => toast(errorText(e), 'error'));
}

function playerChip(p, withScore) {
  const li = el(
    'li',
    { class: `player-chip${p.connected ? '' : ' is-away'}`, 'data-id': p.id },
    el('span', { class: 'conn-dot', title: p.connected ? 'connected' : 'away', 'aria-hidden': 'true' }),
    el('span', { class: 'player-name', text: p.nickname }),
    withScore ? el('span', { class: 'player-score', text: String(p.score ?? 0) }) : null,
    p.connected ? null : el('span', { class: 'sr-only', text: ' (away)' }),
  );
  if (isHost()) {
    const b = el('button', { type: 'button', class: 'kick-btn', 'aria-label': `Remove ${p.nickname}`, title: 'Remove this player' }, '✕');
    b.addEventListener('click', () => kick(p));
    li.append(b);
  }
  return li;
}

function renderPlayers() {
  const list = [...H.players.values()].sort((a, b) => a.id - b.id);
  const n = list.length;
  $('lobby-count').textContent = String(n);
  $('lobby-count-word').textContent = n === 1 ? 'player' : 'players';
  $('lobby-empty').hidden = n > 0;
  $('lobby-players').replaceChildren(...list.map((p) => playerChip(p, false)));
  $('players-btn-count').textContent = String(n);
  $('panel-count').textContent = String(n);
  const byScore = [...list].sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || a.id - b.id);
  $('panel-list').replaceChildren(...byScore.map((p) => playerChip(p, true)));
  $('start-btn').disabled = n === 0 || !isHost();
  const lock = $('lock-btn');
  lock.textContent = H.locked ? 'Unlock game' : 'Lock game';
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
  $('hq-count').textContent = `Question ${q.index + 1} of ${q.total}`;
  $('hq-type').textContent = qtypeLabel(q.qtype, q.select) + (q.points === 2 ? ' · double points' : q.points === 0 && q.qtype !== 'poll' ? ' · no points' : '');
  $('hq-prompt').textContent = q.prompt;
  $('hq-image').replaceChildren(...[questionImage(q.image)].filter(Boolean));
  $('hq-paused').hidden = !H.paused;
  const opts = $('hq-options');
  opts.dataset.qtype = q.qtype;
  if (q.qtype === 'typeanswer') {
    opts.replaceChildren(el('div', { class: 'type-placeholder' }, icon('keyboard', 'icon type-icon'), el('span', { text: 'Type your answer on your device' })));
  } else if (q.qtype === 'ordering') {
    opts.replaceChildren(
      el('p', { class: 'order-note', text: 'Put these in the right order on your device:' }),
      el(
        'ul',
        { class: `host-opt-grid opt-count-${q.options.length}`, 'aria-label': 'Items to order' },
        ...q.options.map((text, i) => el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}`, 'aria-label': optionLabel(i, text) }, optionBadge(i), el('span', { class: 'opt-text', text }))),
      ),
    );
  } else {
    opts.replaceChildren(
      el(
        'ul',
        { class: `host-opt-grid opt-count-${q.options.length}`, 'aria-label': 'Answers' },
        ...q.options.map((text, i) =>
          el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}`, 'aria-label': optionLabel(i, text) }, optionBadge(i), el('span', { class: 'opt-text', text })),
        ),
      ),
    );
  }
  countdown.set(q, H.paused);
  renderAnswered();
  view('question');
  announce(liveMain, `Question ${q.index + 1} of ${q.total}: ${q.prompt}`);
}

function renderAnswered() {
  const p = H.progress;
  const q = H.question;
  const answered = p && q && p.index === q.index ? p.answered : 0;
  const of = p && q && p.index === q.index ? (p.connected ?? p.players) : [...H.players.values()].filter((x) => x.connected).length;
  $('hq-answered').textContent = String(answered);
  $('hq-answered-word').textContent = `of ${of} answered`;
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
  const options = q ? q.options : r.qtype === 'truefalse' ? ['True', 'False'] : [];
  $('hr-count').textContent = `Question ${r.index + 1} of ${H.total || q?.total || ''}`;
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
        const text = options[i] ?? `Option ${OPTION_STYLES[i % 6].letter}`;
        labels.push(`${optionLabel(i, text)}: ${count}${ok ? ' (correct)' : ''}`);
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
    labels.push(`Accepted answers: ${acc.join(', ')}`);
    chart.replaceChildren(
      el('div', { class: 'accepted' }, el('p', { class: 'accepted-label', text: acc.length > 1 ? 'Accepted answers' : 'The answer' }), el('ul', { class: 'accepted-list' }, ...acc.map((a) => el('li', { text: a })))),
    );
  } else if (r.qtype === 'ordering') {
    const order = Array.isArray(r.correct) ? r.correct : [];
    labels.push(`Right order: ${order.map((i) => options[i]).join(', ')}`);
    chart.replaceChildren(
      el('p', { class: 'accepted-label', text: 'The right order' }),
      el('ol', { class: 'host-order is-solution' }, ...order.map((i) => el('li', { class: `host-opt ${OPTION_STYLES[i % 6].cls}` }, optionBadge(i), el('span', { class: 'opt-text', text: options[i] ?? '?' })))),
    );
  } else {
    chart.replaceChildren();
  }
  chart.setAttribute('aria-label', labels.join('; ') || 'Results');
  $('hr-stats').textContent =
    r.qtype === 'poll'
      ? `${r.answered} of ${r.players} voted`
      : `${r.correct_count} of ${r.players} got it right · ${r.answered} answered`;
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
    r.streak >= 2 ? el('span', { class: 'board-streak', title: `streak ${r.streak}` }, icon('flame', 'icon icon-inline'), el('span', { 'aria-hidden': 'true', text: String(r.streak) }), el('span', { class: 'sr-only', text: `streak ${r.streak}` })) : null,
    el('span', { class: 'board-score', text: String(r.score) }),
  );
}

function renderLeaderboard(lb) {
  if (!lb) return;
  countdown.stop();
  H.index = lb.index;
  H.total = lb.total;
  $('hl-sub').textContent = `After question ${lb.index + 1} of ${lb.total} · ${lb.players} ${lb.players === 1 ? 'player' : 'players'}`;
  $('hl-list').replaceChildren(...(lb.top || []).map((r) => boardRow(r, true)));
  renderPlayers();
  view('leaderboard');
  const top = lb.top && lb.top[0];
  announce(liveMain, top ? `Leaderboard. First: ${top.nickname} with ${top.score} points` : 'Leaderboard');
}

function renderEnded(e) {
  if (!e) return;
  countdown.stop();
  const podium = $('podium');
  const byRank = [...(e.podium || [])];
  // Display order: 2nd, 1st, 3rd. The server sends every row ranked 1-3, so
  // players tied for the third step share it (names listed together).
  const third = byRank.length > 3
    ? { ...byRank[2], nickname: byRank.slice(2).map((r) => r.nickname).join(', ') }
    : byRank[2];
  const order = [byRank[1], byRank[0], third];
  const places = ['second', 'first', 'third'];
  podium.replaceChildren(
    ...order.map((r, k) => {
      if (!r) return el('div', { class: `podium-col podium-${places[k]} is-empty`, 'aria-hidden': 'true' });
      return el(
        'div',
        { class: `podium-col podium-${places[k]}`, 'data-id': r.id },
        el('span', { class: 'podium-name', text: r.nickname }),
        el('span', { class: 'podium-score', text: `${r.score} pts` }),
        el('div', { class: 'podium-block' }, el('span', { class: 'podium-place', text: String(r.rank) })),
      );
    }),
  );
  $('he-list').replaceChildren(...(e.top || []).map((r) => boardRow(r, false)));
  $('controls').hidden = true;
  renderResults();
  view('ended');
  const w = byRank[0];
  announce(liveMain, w ? `Game over. The winner is ${w.nickname} with ${w.score} points` : 'Game over');
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
    return { ok: false, status: 0, error: 'the server could not be reached' };
  }
}

/** Text for a failed fetch; `final` once the retries are over. */
function resultsProblem(r, final) {
  if (r.status === 403) return 'This screen cannot download the results: the host key was not accepted.';
  // The server answers a wrong host key like a game it does not know (404).
  if (r.status === 404) return final ? 'The results are not saved yet (or this screen\'s host key was not accepted). Try again in a moment.' : 'Saving the results…';
  if (r.status === 503) return final ? 'Result storage is unavailable right now. Try again in a moment: nothing is lost.' : 'Result storage is unavailable; retrying…';
  if (r.status === 0) return final ? 'Could not reach the server. Try again in a moment.' : 'Could not reach the server; retrying…';
  return `The results could not be downloaded (${r.error}).`;
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
  resultsStatus('Preparing the download…', 'busy');
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
    resultsStatus(`Downloaded ${name}.`, 'ok');
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
      resultsStatus('The results are saved: download them for your records.', 'ok');
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
const REPORT_TEXT = {
  title: 'Question report',
  question: 'Question',
  correct: 'Right',
  answers: 'Answers',
  time: 'Mean time',
  skipped: 'skipped',
  notAsked: 'not asked',
  noScore: 'poll',
  seconds: (ms) => `${(ms / 1000).toFixed(1)} s`,
};

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
  link.textContent = s.group ? `Leaderboard of “${s.group}”` : s.bank ? 'Leaderboard of this bank' : 'Leaderboards';
  const canDownload = isHost() && Boolean(H.gameId && H.session?.token);
  $('dl-csv').hidden = !canDownload;
  $('dl-json').hidden = !canDownload;
  if (!canDownload) {
    resultsStatus('');
    return;
  }
  if (H.results && H.results.gameId === H.gameId) return; // already checking
  H.results = { gameId: H.gameId, gen: ++resultsGen, ready: false };
  resultsStatus('Saving the results…', 'busy');
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
      return 'Show results';
    case 'reveal':
      return 'Leaderboard';
    case 'leaderboard':
      return H.index + 1 >= H.total ? 'Final results' : 'Next question';
    default:
      return 'Next';
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
  pause.textContent = H.paused ? 'Resume' : 'Pause';
  pause.classList.toggle('is-active', H.paused);
  $('ctl-add').hidden = H.phase !== 'question';
  $('ctl-skip').hidden = H.phase !== 'question';
  const next = $('ctl-next');
  next.textContent = nextLabel();
  for (const b of bar.querySelectorAll('button')) b.disabled = !open;
  next.disabled = !open || H.paused;
  $('ctl-add').disabled = !open;
  const end = $('ctl-end');
  end.textContent = H.endArmed ? 'Really end?' : 'End game';
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
  $('connecting-text').textContent = H.mode === 'create' ? 'Creating your game…' : H.mode === 'watch' ? 'Joining as a spectator…' : 'Reconnecting to your game…';
  view('connecting');
  client.start();
}

/** "Continue hosting game PIN?": nothing is sent until Continue. */
function offerResume(old) {
  $('live-dot').dataset.status = 'stopped';
  $('live-text').textContent = 'Offline';
  $('resume-title').textContent = `Continue hosting game ${old.pin}?`;
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

if (H.mode) {
  startHosting();
} else if (offered) {
  offerResume(offered);
} else {
  gone('No game here', 'Create a game from the start page, or watch one with its PIN.');
  $('live-dot').dataset.status = 'stopped';
  $('live-text').textContent = 'Offline';
}

window.chainquiz = { state: H, client };
