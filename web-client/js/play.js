// play.js: the start page and the player's screen (index.html).
//
// A player's seat is {pin, token} in sessionStorage (and localStorage as a
// fallback): a reload or a dropped network rejoins with it by itself; a seat
// found only in localStorage (a closed tab, perhaps someone else's on a
// shared computer) is offered, never taken silently (offerResume).

import { Client, sessions, el, ProtocolError, TRY_AGAIN } from './protocol.js';
import { t, initI18n, onLangChange, ordinal, fmtNum, errorText as errorTextOf } from './i18n.js';
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
  questionImage,
  icon,
  boardHref,
  optionTexts,
} from './ui.js';
import { initLanding } from './landing.js';

const $ = (id) => document.getElementById(id);
const root = $('main');
initI18n(document.querySelector('.topbar'));

const S = {
  session: sessions.load('player', { tabOnly: true }), // {pin, token, id, nickname}
  pendingJoin: null, // {pin, nickname} until `joined`
  started: false,
  settings: {},
  phase: null,
  total: 0,
  paused: false,
  question: null, // the current `question` message
  draft: null, // {index, selected:Set, order:[]}: the answer being composed
  lastAnswer: null, // {index, text, timeMs}
  finalQuestion: null, // the question whose answer may change no more (already_answered)
  shownId: null, // the id of the last `shown` sent: its errors are not the player's
  submitting: false,
  reveal: null,
  result: null,
  players: 0, // in the game when this phone last got `state` or `question`
  recent: [], // nicknames who joined just before this player (state.recent)
  score: 0,
  ended: false,
  endedMsg: null, // the `ended` message: who else is ranked first
  summary: null, // this player's `summary`
  board: null, // the last `leaderboard`
  qtypes: {}, // question index -> qtype, for the summary (which has none)
};

function qtypesKey() {
  return `chainquiz.qtypes.${S.session?.pin || ''}`;
}
function loadQtypes() {
  try {
    S.qtypes = JSON.parse(sessionStorage.getItem(qtypesKey()) || '{}') || {};
  } catch {
    S.qtypes = {};
  }
}
function rememberQtype(q) {
  if (S.qtypes[q.index] === q.qtype) return;
  S.qtypes[q.index] = q.qtype;
  try {
    sessionStorage.setItem(qtypesKey(), JSON.stringify(S.qtypes));
  } catch {
    /* ignore */
  }
}

const banner = new ConnectionBanner($('conn'));
const liveTimer = $('live-timer');
const liveResult = $('live-result');
const announcer = new TimeAnnouncer(liveTimer);

const countdown = new Countdown({
  onTick: (r) => tick(r),
  onOpen: () => {
    setControlsEnabled(true);
    focusFirstOption();
  },
  onEnd: () => {
    setControlsEnabled(false);
    if (document.body.dataset.view === 'question') $('q-status').textContent = t('play.timeUp');
  },
});

/** An error's text: the catalogue's, with the server's limits (nickname). */
const errorText = (err) => errorTextOf(err, client.welcome?.limits);

const client = new Client({
  onOpen: () => onOpen(),
  onStatus: (info) => {
    if (S.session || S.pendingJoin) banner.update(info);
    else banner.update({ status: 'open' });
    document.body.dataset.conn = info.status;
    if (info.status === 'reconnecting' && S.session) setControlsEnabled(false);
  },
});

// ---- connection and seat ----------------------------------------------

function view(name) {
  showView(root, name);
}

function inGame() {
  return Boolean(S.session);
}

async function onOpen() {
  if (S.session) {
    try {
      await client.request('rejoin', { pin: S.session.pin, token: S.session.token });
      client.markHealthy();
    } catch (e) {
      // "Not now" keeps the seat: the next connection tries again, as after
      // a lost connection or a time-out.
      if (e instanceof ProtocolError && TRY_AGAIN.has(e.code)) client.retryLater();
      else if (e instanceof ProtocolError) seatLost(e);
    }
  } else if (S.pendingJoin) {
    await doJoin();
  }
}

/** The stored seat is no good any more: back to the start page, saying why. */
function seatLost(err) {
  const pin = S.session?.pin;
  sessions.clear('player');
  S.session = null;
  stopClient('seat lost');
  banner.update({ status: 'open' });
  if (err.code === 'kicked') {
    goneView('play.removedTitle', null, false, err);
    return;
  }
  view('landing');
  if (pin) $('join-pin').value = pin;
  $('join-error').textContent = errorText(err);
}

/** No game to be in: no socket either (the server closes sockets that stay
 * in no game, --join-deadline); the next join opens one again. */
function stopClient(reason) {
  client.stop(reason);
  S.started = false;
}

function startClient() {
  if (S.started) {
    if (client.isOpen) onOpen();
    return;
  }
  S.started = true;
  client.start();
}

async function doJoin() {
  const { pin, nickname, secret } = S.pendingJoin;
  setJoinBusy(true);
  try {
    // The join link's secret (`k`), when the game has one.
    await client.request('join', secret ? { pin, nickname, secret } : { pin, nickname });
    client.markHealthy();
  } catch (e) {
    if (!(e instanceof ProtocolError)) return; // reconnection will send it again
    S.pendingJoin = null;
    stopClient('join refused');
    setJoinBusy(false);
    banner.update({ status: 'open' });
    view('landing');
    const field = e.field === 'nickname' ? $('join-nick') : $('join-pin');
    const max = client.welcome?.limits?.nickname_max;
    $('join-error').textContent =
      e.code === 'nickname_invalid' && max && [...nickname].length > max
        ? t('err.nickname_too_long', { max })
        : errorText(e, client.welcome?.limits);
    field.focus();
    field.select?.();
  }
}

function setJoinBusy(busy) {
  const b = $('join-btn');
  b.disabled = busy;
  b.dataset.i18n = busy ? 'land.joining' : 'land.enter';
  b.textContent = t(b.dataset.i18n);
}

function onJoinRequest(pin, nickname, secret) {
  S.pendingJoin = { pin, nickname, secret };
  setJoinBusy(true);
  startClient();
}

/** title, text: catalogue keys; with `err`, the text is that error's. */
function goneView(title, text, canRetry, err = null) {
  countdown.stop();
  S.gone = { title, text, canRetry, err };
  $('gone-title').textContent = t(title);
  $('gone-text').textContent = err ? errorText(err) : t(text);
  $('gone-retry').hidden = !canRetry;
  $('me').hidden = true;
  view('gone');
}

function updateMe() {
  if (!S.session) {
    $('me').hidden = true;
    return;
  }
  $('me').hidden = false;
  $('me-name').textContent = S.session.nickname || '';
  $('me-score').textContent = String(S.score);
}

// ---- messages ------------------------------------------------------------

client.on('welcome', (m) => {
  const lim = m.limits || {};
  if (lim.nickname_max) $('join-nick').maxLength = lim.nickname_max;
});

client.on('joined', (m) => {
  if (m.role !== 'player') return;
  const nickname = m.player?.nickname ?? S.session?.nickname ?? S.pendingJoin?.nickname ?? '';
  S.session = { pin: m.pin, token: m.token, id: m.player?.id, nickname };
  sessions.save('player', S.session);
  S.pendingJoin = null;
  setJoinBusy(false);
  loadQtypes();
  updateMe();
});

client.on('state', (st) => renderState(st));

client.on('question', (q) => {
  S.phase = 'question';
  S.paused = Boolean(q.paused);
  onQuestion(q, false);
});

client.on('paused', (m) => {
  S.paused = true;
  if (S.phase === 'question' && S.question && m.index === S.question.index) countdown.set(m, true);
  $('q-paused').hidden = false;
  setControlsEnabled(false);
  announce(liveTimer, t('play.hostPaused'));
});

client.on('resumed', (m) => {
  S.paused = false;
  if (S.phase === 'question' && S.question && m.index === S.question.index) countdown.set(m, false);
  $('q-paused').hidden = true;
  setControlsEnabled(countdown.read().open);
  announce(liveTimer, t('play.goesOn'));
});

client.on('time_added', (m) => {
  if (S.phase === 'question' && S.question && m.index === S.question.index) {
    countdown.set(m, S.paused);
    announcer.reset();
    setControlsEnabled(countdown.read().open);
    toast(t('play.timeAdded'), 'info', 2500);
  }
});

client.on('reveal', (m) => {
  S.phase = 'reveal';
  S.reveal = m;
  countdown.stop();
});

client.on('result', (m) => showResult(m));

client.on('leaderboard', (m) => {
  S.phase = 'leaderboard';
  S.board = m;
  showPlayerBoard(m);
});

client.on('ended', (m) => {
  S.phase = 'ended';
  S.ended = true;
  S.endedMsg = m;
  countdown.stop();
});

client.on('summary', (m) => showEnded(m));

client.on('kicked', (m) => {
  sessions.clear('player');
  S.session = null;
  client.stop('kicked');
  banner.update({ status: 'open' });
  goneView('play.removedTitle', 'err.kicked', false);
  announce(liveResult, t('err.kicked'));
});

client.on('replaced', () => {
  client.stop('replaced');
  S.started = false;
  banner.update({ status: 'open' });
  goneView('play.replacedTitle', 'play.replacedText', true);
});

client.on('closed', () => {
  sessions.clear('player');
  const wasEnded = S.ended;
  S.session = null;
  client.stop('closed');
  banner.update({ status: 'open' });
  if (!wasEnded) goneView('common.gameClosed', 'play.closedText', false);
});

client.on('error', (m, { handled }) => {
  if (handled) return;
  // too_many_connections: this socket made room for a newer one from the same
  // address before it joined; the reconnection that follows sends the join again.
  if (m.code === 'rate_limited' || m.code === 'too_many_connections') return;
  // A `shown` that crossed the question's close gets wrong_phase after the
  // reveal: nothing the player did or can do.
  if (m.id !== undefined && m.id === S.shownId) return;
  toast(errorText(m), 'error');
});

// ---- state -----------------------------------------------------------------

function renderState(st) {
  S.phase = st.phase;
  S.total = st.total;
  S.settings = st.settings || {};
  S.players = st.players;
  S.recent = (st.recent || []).slice(-8);
  S.paused = Boolean(st.paused);
  if (st.you) {
    S.score = st.you.score;
    if (S.session) {
      S.session.nickname = st.you.nickname;
      S.session.id = st.you.id;
    }
  }
  updateMe();
  switch (st.phase) {
    case 'lobby':
      renderLobby();
      break;
    case 'question':
      onQuestion(st.question, Boolean(st.you?.answered));
      break;
    case 'reveal':
      S.question = st.question;
      S.reveal = st.reveal;
      countdown.stop();
      // No result: this player joined after the question closed; wait
      // for the next one on the lobby screen.
      if (st.you?.result) showResult(st.you.result);
      else renderLobby();
      break;
    case 'leaderboard':
      S.question = st.question;
      S.reveal = st.reveal;
      countdown.stop();
      if (st.you?.result) S.result = st.you.result;
      if (st.leaderboard) {
        S.board = st.leaderboard;
        showPlayerBoard(st.leaderboard);
      }
      break;
    case 'ended':
      S.ended = true;
      if (st.ended) S.endedMsg = st.ended;
      countdown.stop();
      if (st.you?.summary) showEnded(st.you.summary);
      break;
    default:
      break;
  }
}

function renderLobby() {
  countdown.stop();
  $('lobby-nick').textContent = S.session?.nickname || '';
  // Players get no live roster (the big screen shows it): the count and
  // names are those of the moment this player joined.
  const others = Math.max(0, (S.players || 0) - 1);
  $('lobby-count').textContent = others === 0 ? t('play.first') : t('play.joinedWith', { n: others });
  const list = $('lobby-recent');
  list.replaceChildren(...S.recent.map((name) => el('li', { class: 'name-chip', text: name })));
  view('lobby');
}

// ---- questions ---------------------------------------------------------------

/** The question's head line and picture (again after a language switch). */
function questionHead(q) {
  $('q-count').textContent = t('common.questionOf', { n: q.index + 1, total: q.total });
  $('q-type').textContent = qtypeLabel(q.qtype, q.select) + (q.points === 2 ? ` · ${t('common.doublePoints')}` : '');
  $('q-image').replaceChildren(...[questionImage(q.image)].filter(Boolean));
}

function onQuestion(q, answered) {
  if (!q) return;
  S.question = q;
  rememberQtype(q);
  S.reveal = null;
  S.result = null;
  if (typeof q.players === 'number') S.players = q.players;
  S.submitting = false;
  // A draft (ticked options, an order) survives a reconnect to the same question.
  if (!S.draft || S.draft.index !== q.index) {
    S.draft = { index: q.index, selected: new Set(), order: q.options.map((_, i) => i), text: '' };
    if (!S.lastAnswer || S.lastAnswer.index !== q.index) S.lastAnswer = null;
  }
  announcer.reset();
  questionHead(q);
  $('q-prompt').textContent = q.prompt;
  $('q-status').textContent = '';
  $('q-paused').hidden = !S.paused;
  countdown.set(q, S.paused);
  if (answered) {
    S.lastAnswer = S.lastAnswer && S.lastAnswer.index === q.index ? S.lastAnswer : { index: q.index, text: '', timeMs: null };
    showAnswered();
    return;
  }
  buildAnswerUI(q);
  view('question');
  setControlsEnabled(countdown.read().open);
  announce(liveResult, t('play.announceQuestion', { n: q.index + 1, prompt: q.prompt }));
  // Report the moment the question is on screen, for fair timing: the DOM
  // is built, and the server caps how much this may shift the clock.
  S.shownId = client.send('shown', { question: q.index });
  if (countdown.read().open) focusFirstOption();
}

function tick(r) {
  const num = r.inLeadIn ? '' : secondsLeft(r.remainingMs);
  $('q-timer-num').textContent = r.inLeadIn ? secondsLeft(r.limitMs) : num;
  $('answered-timer').textContent = r.inLeadIn ? '' : num;
  const frac = r.limitMs > 0 ? Math.min(1, r.remainingMs / r.limitMs) : 0;
  $('q-timebar').style.setProperty('--frac', r.inLeadIn ? '1' : frac.toFixed(3));
  $('q-timer').classList.toggle('timer-low', !r.inLeadIn && r.remainingMs <= 5000);
  $('q-leadin').hidden = !r.inLeadIn;
  $('q-answer').classList.toggle('is-waiting', r.inLeadIn);
  if (r.inLeadIn) $('q-leadin-num').textContent = secondsLeft(r.leadMs);
  if (!r.inLeadIn && !r.paused) announcer.tick(r);
  if (document.body.dataset.view === 'answered') {
    $('change-btn').hidden = !mayChange(r.open);
  }
}

function focusFirstOption() {
  if (document.body.dataset.view !== 'question') return;
  const area = $('q-answer');
  if (area.contains(document.activeElement)) return;
  const first = area.querySelector('.opt:not([disabled]), input:not([disabled]), .order-item');
  if (first) first.focus({ preventScroll: true });
}

function setControlsEnabled(on) {
  const enabled = on && !S.submitting && !S.paused && client.isOpen;
  for (const c of $('q-answer').querySelectorAll('button, input')) {
    if (c.dataset.keep === '1') continue;
    c.disabled = !enabled;
  }
  if (enabled) updateSubmitState();
}

function optionButton(i, text, extra = {}) {
  const style = OPTION_STYLES[i % OPTION_STYLES.length];
  return el(
    'button',
    {
      type: 'button',
      class: `opt ${style.cls}`,
      'data-index': i,
      'aria-keyshortcuts': String(i + 1),
      ...extra,
    },
    optionBadge(i),
    // The name is the visible text, after the letter ("A: Red").
    el('span', { class: 'sr-only', text: optionLabel(i, '') }),
    el('span', { class: 'opt-text', text }),
  );
}

function buildAnswerUI(q) {
  const area = $('q-answer');
  area.replaceChildren();
  area.dataset.qtype = q.qtype;
  const n = q.options.length;
  const options = optionTexts(q);
  switch (q.qtype) {
    case 'single':
    case 'poll':
    case 'truefalse': {
      const grid = el('div', { class: `opt-grid opt-count-${n}`, role: 'group', 'aria-label': t('common.answers') });
      options.forEach((text, i) => {
        const b = optionButton(i, text);
        b.addEventListener('click', () => {
          const answer = q.qtype === 'truefalse' ? i === 0 : i;
          submitAnswer(answer, optionLabel(i, text));
        });
        grid.append(b);
      });
      area.append(grid, el('p', { class: 'kbd-hint', text: t('play.keysPick', { n }) }));
      break;
    }
    case 'multi': {
      const grid = el('div', { class: `opt-grid opt-count-${n}`, role: 'group', 'aria-label': t('play.answersMulti') });
      options.forEach((text, i) => {
        const b = optionButton(i, text, { 'aria-pressed': String(S.draft.selected.has(i)) });
        b.classList.add('opt-toggle');
        b.append(el('span', { class: 'opt-check', 'aria-hidden': 'true', text: '✓' }));
        b.addEventListener('click', () => toggleMulti(i));
        grid.append(b);
      });
      const submit = el('button', { type: 'button', class: 'btn btn-dark btn-xl btn-submit', id: 'submit-answer' }, t('play.submit'));
      submit.addEventListener('click', () => submitMulti());
      area.append(grid, el('div', { class: 'submit-row' }, submit), el('p', { class: 'kbd-hint', text: t('play.keysTick', { n }) }));
      break;
    }
    case 'typeanswer': {
      const max = client.welcome?.limits?.answer_text_max || 60;
      const input = el('input', {
        class: 'input input-answer',
        id: 'type-answer',
        maxlength: max,
        autocomplete: 'off',
        autocapitalize: 'off',
        spellcheck: 'false',
        'aria-label': t('play.yourAnswer'),
        placeholder: t('ui.qt.typeanswer'),
        enterkeyhint: 'send',
      });
      input.value = S.draft.text || '';
      input.addEventListener('input', () => {
        S.draft.text = input.value;
        updateSubmitState();
      });
      const submit = el('button', { type: 'submit', class: 'btn btn-dark btn-xl btn-submit', id: 'submit-answer' }, t('play.submit'));
      const form = el('form', { class: 'type-form', novalidate: true }, input, submit);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const v = input.value.trim();
        if (!v) {
          $('q-status').textContent = t('play.typeFirst');
          input.focus();
          return;
        }
        submitAnswer(v, `“${v}”`);
      });
      area.append(form);
      break;
    }
    case 'ordering': {
      const help = el('p', { class: 'kbd-hint', id: 'order-help', text: t('play.orderHelp') });
      const list = el('ol', { class: 'order-list', id: 'order-list', 'aria-describedby': 'order-help' });
      const submit = el('button', { type: 'button', class: 'btn btn-dark btn-xl btn-submit', id: 'submit-answer' }, t('play.submitOrder'));
      submit.addEventListener('click', () => submitOrder());
      area.append(list, el('div', { class: 'submit-row' }, submit), help);
      renderOrderList();
      break;
    }
    default:
      area.append(el('p', { class: 'big-msg', text: t('play.unsupported') }));
  }
  updateSubmitState();
}

function updateSubmitState() {
  const q = S.question;
  const submit = $('submit-answer');
  if (!q || !submit) return;
  const open = countdown.read().open && !S.submitting && !S.paused && client.isOpen;
  if (q.qtype === 'multi') {
    const k = S.draft.selected.size;
    submit.disabled = !open || k === 0;
    submit.textContent = k ? t('play.submitPicked', { n: k }) : q.select ? t('ui.qt.multiN', { n: q.select }) : t('play.pickAtLeastOne');
  } else if (q.qtype === 'typeanswer') {
    submit.disabled = !open || !(S.draft.text || '').trim();
  } else {
    submit.disabled = !open;
  }
}

function toggleMulti(i) {
  if (!countdown.read().open || S.submitting) return;
  const sel = S.draft.selected;
  if (sel.has(i)) sel.delete(i);
  else sel.add(i);
  const b = $('q-answer').querySelector(`.opt[data-index="${i}"]`);
  if (b) b.setAttribute('aria-pressed', String(sel.has(i)));
  updateSubmitState();
}

function submitMulti() {
  const q = S.question;
  const picked = [...S.draft.selected].sort((a, b) => a - b);
  if (!picked.length) {
    $('q-status').textContent = t('play.pickAtLeastOneAnswer');
    return;
  }
  submitAnswer(picked, picked.map((i) => optionLabel(i, q.options[i])).join(', '));
}

function renderOrderList(focusIndex = null) {
  const q = S.question;
  const list = $('order-list');
  if (!list) return;
  const order = S.draft.order;
  list.replaceChildren();
  order.forEach((opt, pos) => {
    const text = q.options[opt];
    const up = el('button', { type: 'button', class: 'move-btn', 'aria-label': t('play.moveUp', { text }), disabled: pos === 0 }, '▲');
    const down = el('button', { type: 'button', class: 'move-btn', 'aria-label': t('play.moveDown', { text }), disabled: pos === order.length - 1 }, '▼');
    up.dataset.keep = pos === 0 ? '1' : '';
    down.dataset.keep = pos === order.length - 1 ? '1' : '';
    up.addEventListener('click', () => moveItem(pos, -1, 'up'));
    down.addEventListener('click', () => moveItem(pos, 1, 'down'));
    const li = el(
      'li',
      {
        class: `order-item ${OPTION_STYLES[opt % OPTION_STYLES.length].cls}`,
        tabindex: '0',
        'data-option': opt,
        'aria-label': t('play.position', { pos: pos + 1, n: order.length, text }),
      },
      el('span', { class: 'order-pos', 'aria-hidden': 'true', text: String(pos + 1) }),
      optionBadge(opt),
      el('span', { class: 'opt-text', text }),
      el('span', { class: 'move-btns' }, up, down),
    );
    li.addEventListener('keydown', (e) => orderKey(e, pos));
    list.append(li);
  });
  if (focusIndex !== null) list.children[focusIndex]?.focus();
  setControlsEnabled(countdown.read().open);
}

function moveItem(pos, delta, how) {
  if (!countdown.read().open || S.submitting) return;
  const order = S.draft.order;
  const to = pos + delta;
  if (to < 0 || to >= order.length) return;
  [order[pos], order[to]] = [order[to], order[pos]];
  const text = S.question.options[order[to]];
  renderOrderList(to);
  // Keep the focus on the same button so repeated presses keep moving it.
  const li = $('order-list').children[to];
  if (how === 'up' || how === 'down') {
    const b = li?.querySelectorAll('.move-btn')[how === 'up' ? 0 : 1];
    if (b && !b.disabled) b.focus();
    else li?.focus();
  }
  announce(liveTimer, t('play.movedTo', { text, pos: to + 1, n: order.length }));
}

function orderKey(e, pos) {
  const list = $('order-list');
  if (e.target !== e.currentTarget) return; // the item's own buttons
  if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    e.preventDefault();
    e.stopPropagation();
    const delta = e.key === 'ArrowUp' ? -1 : 1;
    if (e.shiftKey || e.altKey || e.ctrlKey) {
      moveItem(pos, delta, 'key');
      list.children[pos + delta]?.focus();
    } else {
      list.children[pos + delta]?.focus();
    }
  }
}

function submitOrder() {
  const q = S.question;
  const order = [...S.draft.order];
  submitAnswer(order, order.map((i) => q.options[i]).join(' → '));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function submitAnswer(answer, text) {
  const q = S.question;
  if (!q || S.submitting) return;
  const r = countdown.read();
  if (r.paused) {
    $('q-status').textContent = t('err.paused');
    return;
  }
  if (!r.open) {
    $('q-status').textContent = r.inLeadIn ? t('play.waitOpen') : t('play.timeUp');
    return;
  }
  if (!client.isOpen) {
    $('q-status').textContent = t('play.notConnected');
    return;
  }
  S.submitting = true;
  setControlsEnabled(false);
  $('q-status').textContent = t('play.sending');
  // The server opens each player's window late by the time their `shown`
  // took to arrive, so an answer given the instant the lead-in ends here can
  // be refused as not_open although this screen showed the question open.
  // It is retried a few times rather than lost (reported as a server issue).
  for (let attempt = 0; ; attempt++) {
    try {
      const ack = await client.request('answer', { question: q.index, answer });
      S.submitting = false;
      S.lastAnswer = { index: q.index, text, timeMs: ack.time_ms };
      showAnswered();
      return;
    } catch (e) {
      if (e.code === 'not_open' && attempt < 8 && S.question === q && countdown.read().open && client.isOpen) {
        await sleep(150);
        continue;
      }
      S.submitting = false;
      if (S.question !== q) return;
      if (e.code === 'already_answered') {
        // With change_answer on, the server takes 20 changes: the answer
        // shown last is final.
        S.finalQuestion = q;
        S.lastAnswer = S.lastAnswer || { index: q.index, text: '', timeMs: null };
        showAnswered();
        return;
      }
      $('q-status').textContent = errorText(e);
      if (e.code === 'too_late') {
        setControlsEnabled(false);
        return;
      }
      setControlsEnabled(countdown.read().open);
      return;
    }
  }
}

function mayChange(open) {
  return Boolean(S.settings.change_answer && open && S.question !== S.finalQuestion);
}

function showAnswered() {
  const a = S.lastAnswer;
  let detail = a && a.text ? t('play.youAnswered', { answer: a.text }) : t('play.answerIn');
  if (a && typeof a.timeMs === 'number') {
    detail += ` ${t('play.answerTime', { s: fmtNum(a.timeMs / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) })}`;
  }
  $('answered-detail').textContent = detail;
  renderProgress();
  $('change-btn').hidden = !mayChange(countdown.read().open);
  view('answered');
  announce(liveResult, t('play.answerReceived'));
}

// No live answer count on phones (the big screen has it): the number of
// players comes with the question.
function renderProgress() {
  const others = Math.max(0, (S.players || 0) - 1);
  $('answered-progress').textContent = others === 0 ? '' : t('play.waitingOthers', { n: others });
}

$('change-btn').addEventListener('click', () => {
  if (!S.question || !countdown.read().open) return;
  buildAnswerUI(S.question);
  view('question');
  setControlsEnabled(true);
  focusFirstOption();
});

// ---- results -------------------------------------------------------------------

function correctText() {
  const q = S.question;
  const r = S.reveal;
  if (!q || !r || r.index !== q.index) return '';
  switch (r.qtype) {
    case 'single':
    case 'multi':
      return Array.isArray(r.correct) ? r.correct.map((i) => optionLabel(i, q.options[i] ?? '?')).join(', ') : '';
    case 'truefalse':
      return r.correct ? t('common.true') : t('common.false');
    case 'typeanswer':
      return Array.isArray(r.correct) ? r.correct.join(' / ') : '';
    case 'ordering':
      return Array.isArray(r.correct) ? r.correct.map((i) => q.options[i] ?? '?').join(' → ') : '';
    default:
      return '';
  }
}

function showResult(m) {
  S.result = m;
  S.score = m.score;
  updateMe();
  countdown.stop();
  const sec = root.querySelector('[data-view="result"]');
  const isPoll = (S.reveal?.qtype || S.question?.qtype) === 'poll';
  let title;
  let kind;
  let ic;
  if (isPoll) {
    title = t(m.answered ? 'play.res.voted' : 'play.res.noVote');
    kind = 'neutral';
    ic = 'star';
  } else if (!m.answered) {
    title = t('play.res.timeUp');
    kind = 'wrong';
    ic = 'clock';
  } else if (m.correct) {
    title = t('play.res.correct');
    kind = 'correct';
    ic = 'check';
  } else if (m.points > 0) {
    title = t('play.res.partial');
    kind = 'partial';
    ic = 'partial';
  } else {
    title = t('play.res.wrong');
    kind = 'wrong';
    ic = 'cross';
  }
  sec.dataset.result = kind;
  $('result-icon').replaceChildren(icon(ic));
  $('result-title').textContent = title;
  const pts = (m.points || 0) + (m.bonus || 0);
  $('result-points').textContent = isPoll ? t('play.pollNoPoints') : t('play.plusPoints', { n: pts }) + (m.bonus ? ` ${t('play.inclBonus', { n: m.bonus })}` : '');
  $('result-points').dataset.points = String(pts);
  $('result-streak').replaceChildren(...(m.streak >= 2 && !isPoll ? [icon('flame', 'icon icon-inline'), t('play.streak', { n: m.streak })] : []));
  const ct = correctText();
  $('result-correct').textContent = !isPoll && ct && !m.correct ? t('play.rightAnswer', { answer: ct }) : '';
  const total = t('common.points', { n: m.score });
  $('result-rank').textContent = m.rank && m.score > 0 ? `${t('play.rankOf', { rank: ordinal(m.rank), players: m.players })} · ${total}` : total;
  view('result');
  announce(liveResult, `${title}. ${isPoll ? '' : `${t('common.points', { n: pts })}.`} ${m.rank ? t('play.announceRank', { rank: ordinal(m.rank), players: m.players }) : ''}`);
}

function showPlayerBoard(lb) {
  countdown.stop();
  const me = S.session?.id;
  const row = (lb.top || []).find((r) => r.id === me);
  const rank = row?.rank || S.result?.rank || 0;
  const score = row?.score ?? S.result?.score ?? S.score;
  S.score = score;
  updateMe();
  $('pl-eyebrow').textContent = t('common.afterQuestion', { n: lb.index + 1, total: lb.total });
  // No place to boast of with 0 points; a shared place says so.
  const tied = (lb.top || []).some((r) => r.rank === rank && r.id !== me);
  $('pl-title').textContent = rank && score > 0 ? t(tied ? 'play.youreTied' : 'play.youreRank', { rank: ordinal(rank) }) : t('play.standings');
  $('pl-score').textContent = t('common.points', { n: score });
  const board = $('pl-board');
  board.replaceChildren(
    ...(lb.top || []).slice(0, 5).map((r) =>
      el(
        'li',
        { class: `mini-row${r.id === me ? ' is-me' : ''}` },
        el('span', { class: 'mini-rank', text: String(r.rank) }),
        el('span', { class: 'mini-name', text: r.nickname }),
        el('span', { class: 'mini-score', text: String(r.score) }),
      ),
    ),
  );
  view('leaderboard');
  announce(liveResult, rank ? t('play.announceBoard', { rank: ordinal(rank), points: t('common.points', { n: score }) }) : t('common.points', { n: score }));
}

/** The end screen's title. Rank 1 is "You won!" only when nobody else has
 * it (the `ended` podium lists every row ranked 1-3) and it is worth
 * something: with every score at 0 nobody won. */
function endTitle(sm) {
  if (!sm.rank) return t('play.thanks');
  // Anyone else of my rank among the rows the end sent (podium: ranks 1-3,
  // top: the first ten) means a tie, at any rank.
  const rows = [...(S.endedMsg?.podium || []), ...(S.endedMsg?.top || [])];
  const me = S.session?.id;
  const tied = rows.some((r) => r.rank === sm.rank && r.id !== me);
  if (sm.rank === 1) {
    if (sm.score === 0) return t('play.noScores');
    return tied ? t('play.tiedFirst') : t('play.won');
  }
  return tied ? t('play.tiedRank', { rank: ordinal(sm.rank) }) : t('play.finished', { rank: ordinal(sm.rank) });
}

function showEnded(sm) {
  S.ended = true;
  S.summary = sm;
  S.score = sm.score;
  updateMe();
  countdown.stop();
  const title = endTitle(sm);
  // No medal for a first place nobody earned (every score 0).
  const medal = sm.rank >= 1 && sm.rank <= 3 && sm.score > 0;
  $('end-title').textContent = title;
  $('end-medal').replaceChildren(...(medal ? [icon('trophy')] : []));
  $('end-medal').dataset.rank = String(sm.rank || 0);
  $('end-medal').hidden = !medal;
  $('end-score').textContent = `${t('common.points', { n: sm.score })} · ${t('common.players', { n: sm.players })}`;
  // The board that outlives the game: this group's (or this bank's), around me.
  $('end-board').href = boardHref(S.settings, { me: S.session?.nickname || null });
  $('end-board').dataset.i18n = S.settings.group ? 'play.seeGroupBoard' : 'play.seeBoard';
  $('end-board').textContent = t($('end-board').dataset.i18n);
  const body = $('end-summary').tBodies[0];
  body.replaceChildren(
    ...(sm.questions || []).map((q) => {
      let res;
      let cls;
      const poll = S.qtypes[q.index] === 'poll';
      if (q.skipped) [res, cls] = [t('play.sum.skipped'), 'res-skip'];
      else if (poll) [res, cls] = [t(q.answered ? 'play.sum.voted' : 'play.sum.noVote'), 'res-none'];
      else if (!q.answered) [res, cls] = [t('play.sum.noAnswer'), 'res-none'];
      else if (q.correct) [res, cls] = [t('play.sum.right'), 'res-right'];
      else if (q.points > 0) [res, cls] = [t('play.sum.partly'), 'res-partial'];
      else [res, cls] = [t('play.sum.wrong'), 'res-wrong'];
      return el(
        'tr',
        { class: cls },
        el('td', { class: 'num', text: String(q.index + 1) }),
        el('td', { class: 'sum-prompt' }, el('span', { class: 'sum-prompt-text', text: q.prompt })),
        el('td', { class: 'sum-res', text: res }),
        el('td', { class: 'num', text: String(q.points) }),
      );
    }),
  );
  view('ended');
  announce(liveResult, t('play.announceEnd', { title, points: t('common.points', { n: sm.score }) }));
}

// ---- keyboard ------------------------------------------------------------------

document.addEventListener('keydown', (e) => {
  if (document.body.dataset.view !== 'question') return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const q = S.question;
  if (!q) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement) return;
  const area = $('q-answer');
  if (/^[1-6]$/.test(e.key)) {
    const i = Number(e.key) - 1;
    if (i >= q.options.length) return;
    e.preventDefault();
    if (q.qtype === 'multi') toggleMulti(i);
    else if (q.qtype === 'ordering') $('order-list')?.children[i]?.focus();
    else area.querySelector(`.opt[data-index="${i}"]:not([disabled])`)?.click();
    return;
  }
  if (e.key === 'Enter' && (q.qtype === 'multi' || q.qtype === 'ordering')) {
    if (t instanceof HTMLButtonElement && t.classList.contains('move-btn')) return;
    e.preventDefault();
    if (q.qtype === 'multi') submitMulti();
    else submitOrder();
    return;
  }
  if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(e.key) && q.qtype !== 'ordering') {
    const opts = [...area.querySelectorAll('.opt')];
    if (!opts.length) return;
    const i = opts.indexOf(document.activeElement);
    const cols = Math.max(1, opts.filter((o) => o.offsetTop === opts[0].offsetTop).length);
    let j = i < 0 ? 0 : i;
    if (i >= 0) {
      if (e.key === 'ArrowLeft') j = i - 1;
      else if (e.key === 'ArrowRight') j = i + 1;
      else if (e.key === 'ArrowUp') j = i - cols;
      else j = i + cols;
    }
    if (j >= 0 && j < opts.length) {
      e.preventDefault();
      opts[j].focus();
    }
  }
});

// ---- start -----------------------------------------------------------------------

$('leave-btn').addEventListener('click', async () => {
  try {
    await client.request('leave', {}, 5000);
  } catch {
    /* leaving anyway */
  }
  const pin = S.session?.pin;
  sessions.clear('player');
  S.session = null;
  client.stop('left');
  window.location.href = pin ? `./?pin=${pin}` : './';
});

$('gone-retry').addEventListener('click', () => {
  if (!S.session) return;
  view('connecting');
  connectingText('play.rejoining');
  S.started = false;
  startClient();
});

$('end-home').addEventListener('click', () => {
  sessions.clear('player');
  client.stop('home');
});

$('tick-circle').replaceChildren(icon('check'));

const landing = initLanding({ onJoin: onJoinRequest });

function resumeText() {
  const old = S.resumeOffer;
  if (!old) return;
  $('resume-text').textContent = old.nickname ? t('play.resumeAs', { nick: old.nickname, pin: old.pin }) : t('play.resumeIn', { pin: old.pin });
}

/** The connecting screen's text, by catalogue key. */
function connectingText(key) {
  const p = $('connecting-text');
  p.dataset.i18n = key;
  p.textContent = t(key);
}

// A language switch: the static texts are filled again by i18n.js; what
// this page built is built again from the state it keeps.
onLangChange(() => {
  banner.relabel();
  updateMe();
  resumeText();
  const v = document.body.dataset.view;
  if (S.gone && v === 'gone') goneView(S.gone.title, S.gone.text, S.gone.canRetry, S.gone.err);
  else if (v === 'lobby') renderLobby();
  else if (v === 'question' && S.question) {
    questionHead(S.question);
    buildAnswerUI(S.question);
    setControlsEnabled(countdown.read().open);
  } else if (v === 'answered') showAnswered();
  else if (v === 'result' && S.result) showResult(S.result);
  else if (v === 'leaderboard' && S.board) showPlayerBoard(S.board);
  else if (v === 'ended' && S.summary) showEnded(S.summary);
});

// A seat from a tab that was closed: offer it, don't take it silently.
function offerResume() {
  const old = sessions.load('player');
  if (!old || !old.pin || !old.token) return;
  if (Date.now() - (old.savedAt || 0) > 2 * 3600 * 1000) {
    sessions.clear('player');
    return;
  }
  $('resume').hidden = false;
  S.resumeOffer = old;
  resumeText();
  $('resume-btn').addEventListener('click', () => {
    S.session = old;
    sessions.save('player', old);
    $('resume').hidden = true;
    view('connecting');
    connectingText('play.rejoining');
    startClient();
  });
  $('resume-forget').addEventListener('click', () => {
    sessions.clear('player');
    $('resume').hidden = true;
  });
}

if (S.session && S.session.pin && S.session.token) {
  loadQtypes();
  connectingText('play.rejoining');
  view('connecting');
  updateMe();
  startClient();
} else {
  S.session = null;
  view('landing');
  offerResume();
  landing.focus();
}

// For the tests and for curious people: the current screen's state.
window.chainquiz = { state: S, client };
