// landing.js: the start page's tabs and its host and watch forms.
// Joining is the player screen's business (play.js) and comes in as a callback.

import { el, sessions, groupSecrets } from './protocol.js';
import { t, onLangChange } from './i18n.js';

const PIN_RE = /^[0-9]{6}$/;

/** Keeps only the digits of a PIN field (people type "123 456"). */
function digitsOnly(input) {
  input.addEventListener('input', () => {
    const d = input.value.replace(/\D+/g, '').slice(0, 6);
    if (d !== input.value) input.value = d;
  });
}

function initTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus = true) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (e) => {
      let j = null;
      if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
      else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = tabs.length - 1;
      if (j !== null) {
        e.preventDefault();
        select(tabs[j]);
      }
    });
  });
  return { select: (id) => select(document.getElementById(id), false) };
}

// ---- host form ---------------------------------------------------------

let banks = [];

function selectedBank() {
  const r = document.querySelector('input[name="bank"]:checked');
  return banks.find((b) => b.id === r?.value) || null;
}

function renderTags() {
  const bank = selectedBank();
  const list = document.getElementById('tag-list');
  list.replaceChildren();
  if (!bank) return;
  const tags = Object.entries(bank.tags || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [tag, count] of tags) {
    const id = `tag-${tag.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
    list.append(
      el(
        'label',
        { class: 'chip', for: id },
        el('input', { type: 'checkbox', id, name: 'tag', value: tag }),
        el('span', { text: tag }),
        el('span', { class: 'chip-count', text: String(count) }),
      ),
    );
  }
  document.getElementById('tags-fieldset').hidden = tags.length === 0;
  updateTagHint();
}

function checkedTags() {
  return [...document.querySelectorAll('input[name="tag"]:checked')].map((i) => i.value);
}

function updateTagHint() {
  const bank = selectedBank();
  const hint = document.getElementById('tag-hint');
  if (!bank) {
    hint.textContent = '';
    return;
  }
  const tags = checkedTags();
  if (!tags.length) {
    hint.textContent = t('land.allQuestions', { n: bank.questions });
    return;
  }
  const upTo = Math.min(bank.questions, tags.reduce((n, tag) => n + (bank.tags[tag] || 0), 0));
  hint.textContent = t(tags.length === 1 ? 'land.upToOneTopic' : 'land.upToTopics', { n: upTo });
  if (tags.length > 8) hint.textContent += ` ${t('land.max8')}`;
}

function renderBanks() {
  const list = document.getElementById('bank-list');
  list.replaceChildren();
  if (!banks.length) {
    list.append(el('p', { class: 'muted', 'data-i18n': 'land.noBanks', text: t('land.noBanks') }));
    return;
  }
  banks.forEach((b, i) => {
    const id = `bank-${i}`;
    const types = Object.entries(b.types || {})
      .map(([type, n]) => `${n} ${t(`land.qt.${type}`)}`)
      .join(' · ');
    list.append(
      el(
        'label',
        { class: 'bank-card', for: id },
        el('input', { type: 'radio', name: 'bank', id, value: b.id, checked: i === 0 }),
        el(
          'span',
          { class: 'bank-body' },
          el('strong', { class: 'bank-title', text: b.title || b.id }),
          b.description ? el('span', { class: 'bank-desc', text: b.description }) : null,
          el('span', { class: 'bank-meta', text: `${t('land.questionsN', { n: b.questions })}${types ? ` — ${types}` : ''}` }),
        ),
      ),
    );
  });
  renderTags();
}

async function loadBanks() {
  const list = document.getElementById('bank-list');
  try {
    const res = await fetch('/api/banks', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    banks = await res.json();
    if (!Array.isArray(banks)) banks = [];
    renderBanks();
  } catch (e) {
    list.replaceChildren(el('p', { class: 'form-error', text: t('land.banksFailed', { why: e.message }) }));
  }
}

function intField(id) {
  const v = document.getElementById(id).value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : NaN;
}

/** The create_game message from the form, or an error text. */
function readHostForm() {
  const bank = selectedBank();
  if (!bank) return { error: t('land.chooseBank') };
  const msg = { bank: bank.id };
  const tags = checkedTags();
  if (tags.length > 8) return { error: t('land.max8') };
  if (tags.length) msg.tags = tags;
  const count = intField('opt-count');
  if (count !== null) {
    if (!(count >= 1 && count <= 500)) return { error: t('land.countRange') };
    msg.count = count;
  }
  msg.shuffle = document.getElementById('opt-shuffle').checked;
  msg.scoring = document.querySelector('input[name="scoring"]:checked')?.value || 'speed';
  msg.streak = document.getElementById('opt-streak').checked;
  msg.partial_credit = document.getElementById('opt-partial').checked;
  if (document.querySelector('input[name="timer"]:checked')?.value === 'fixed') {
    const t = intField('opt-time');
    if (!(t >= 1 && t <= 240)) return { error: t('land.timeRange') };
    msg.time_limit = t;
  }
  const lead = intField('opt-lead');
  if (lead !== null) {
    if (!(lead >= 0 && lead <= 30)) return { error: t('land.leadRange') };
    msg.lead_in = lead;
  }
  msg.auto_advance = document.getElementById('opt-auto').checked;
  msg.late_join = document.getElementById('opt-late').checked;
  msg.change_answer = document.getElementById('opt-change').checked;
  // The server makes a secret that the join link and QR code carry beside
  // the PIN: a PIN guessed or read off the projector is not enough.
  if (document.getElementById('opt-secret').checked) msg.join_secret = true;
  const group = document.getElementById('opt-group').value.trim();
  if (group) {
    msg.group = group;
    // The group's boards take games only from its creator: send the
    // secret typed here, else the one this browser kept for the label.
    const typed = document.getElementById('opt-group-secret').value.trim();
    if (typed && !/^[A-Za-z0-9_-]{1,64}$/.test(typed)) return { error: t('land.secretChars') };
    const secret = typed || groupSecrets.get(group);
    if (secret) msg.group_secret = secret;
  }
  return { msg };
}

function initHostForm() {
  const form = document.getElementById('host-form');
  document.getElementById('bank-list').addEventListener('change', renderTags);
  document.getElementById('tag-list').addEventListener('change', updateTagHint);
  for (const r of document.querySelectorAll('input[name="timer"]')) {
    r.addEventListener('change', () => {
      document.getElementById('opt-time').disabled =
        document.querySelector('input[name="timer"]:checked').value !== 'fixed';
    });
  }
  const streak = document.getElementById('opt-streak');
  for (const r of document.querySelectorAll('input[name="scoring"]')) {
    r.addEventListener('change', () => {
      // Streak bonuses only exist in the speed preset.
      streak.disabled = document.querySelector('input[name="scoring"]:checked').value !== 'speed';
    });
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const err = document.getElementById('host-error');
    const { msg, error } = readHostForm();
    if (error) {
      err.textContent = error;
      return;
    }
    err.textContent = '';
    // The host screen creates the game; an old host session must not win.
    sessions.clear('host');
    try {
      sessionStorage.setItem('chainquiz.create', JSON.stringify(msg));
    } catch {
      err.textContent = t('land.noStorage');
      return;
    }
    window.location.href = 'host.html';
  });
  loadBanks();
}

/** The join secret of a link `/?pin=NNNNNN&k=SECRET`, for its own PIN only. */
const SECRET_RE = /^[A-Za-z0-9_-]{1,64}$/;
function linkSecret(params, pin) {
  const k = params.get('k') || '';
  return SECRET_RE.test(k) && (params.get('pin') || '').replace(/\D+/g, '') === pin ? k : null;
}

function initWatchForm(params) {
  const form = document.getElementById('watch-form');
  const pin = document.getElementById('watch-pin');
  digitsOnly(pin);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const err = document.getElementById('watch-error');
    if (!PIN_RE.test(pin.value)) {
      err.textContent = t('land.pin6');
      pin.focus();
      return;
    }
    const key = document.getElementById('watch-key').value.trim().replace(/^.*#key=/, '');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(key)) {
      err.textContent = t('land.pasteLink');
      document.getElementById('watch-key').focus();
      return;
    }
    window.location.href = `host.html?watch=${encodeURIComponent(pin.value)}#key=${encodeURIComponent(key)}`;
  });
}

/**
 * Sets the start page up.
 * @param {object} o
 * @param {(pin: string, nickname: string, secret: string | null) => void} o.onJoin
 */
export function initLanding({ onJoin }) {
  const tabs = initTabs();
  const params = new URLSearchParams(window.location.search);
  const pinInput = document.getElementById('join-pin');
  const nickInput = document.getElementById('join-nick');
  digitsOnly(pinInput);
  const qpin = (params.get('pin') || '').replace(/\D+/g, '');
  if (PIN_RE.test(qpin)) {
    pinInput.value = qpin;
    document.getElementById('watch-pin').value = qpin;
  }
  if (params.has('host')) tabs.select('tab-host');
  else if (params.has('watch')) tabs.select('tab-watch');

  document.getElementById('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const err = document.getElementById('join-error');
    const pin = pinInput.value.trim();
    const nick = nickInput.value.trim();
    if (!PIN_RE.test(pin)) {
      err.textContent = t('land.pin6');
      pinInput.focus();
      return;
    }
    if (!nick) {
      err.textContent = t('land.chooseNick');
      nickInput.focus();
      return;
    }
    err.textContent = '';
    onJoin(pin, nick, linkSecret(params, pin));
  });
  initHostForm();
  initWatchForm(params);
  // A language switch: the bank list and the topic hint again, keeping
  // what was ticked.
  onLangChange(() => {
    if (!banks.length) return; // "Loading…" or "no banks": data-i18n
    const bank = selectedBank()?.id;
    const tags = checkedTags();
    renderBanks();
    const r = [...document.querySelectorAll('input[name="bank"]')].find((i) => i.value === bank);
    if (r) {
      r.checked = true;
      renderTags();
    }
    for (const i of document.querySelectorAll('input[name="tag"]')) i.checked = tags.includes(i.value);
    updateTagHint();
  });
  return {
    focus() {
      const first = pinInput.value ? nickInput : pinInput;
      if (!document.getElementById('panel-join').hidden) first.focus();
    },
  };
}
