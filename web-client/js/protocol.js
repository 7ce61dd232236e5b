// protocol.js: the one WebSocket client of Chainquiz, shared by every screen.
//
// One JSON object per text frame, subprotocol chainquiz.v1, path /ws.
// - send(type, fields) adds an automatic correlation `id`;
// - request(type, fields) also returns a promise settled by the server's
//   reply carrying that id (rejected with a ProtocolError on `error`);
// - on(type, fn) dispatches server messages by `type` ('*' gets them all);
// - the connection reconnects by itself with exponential back-off and
//   jitter; the `onOpen` hook runs after every (re)connection so a screen
//   can rejoin with its stored token. The back-off is skipped when the
//   browser says the network is back (`online`) or the tab is shown again
//   (`visibilitychange`): a phone whose Wi-Fi returns rejoins at once
//   instead of waiting out a retry of up to 10 s.

export const SUBPROTOCOL = 'chainquiz.v1';
export const WS_PATH = '/ws';

/** The WebSocket URL of the page's own server. */
export function wsUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${WS_PATH}`;
}

/** An `error` message from the server, as an Error. */
export class ProtocolError extends Error {
  constructor(msg) {
    super(msg.message || msg.code || 'error');
    this.name = 'ProtocolError';
    this.code = msg.code || 'internal';
    this.field = msg.field || null;
    this.msg = msg;
  }
}

/** Errors that say "not now" (the server's storage is catching up, or this
 * seat came back too often): a rejoin that gets one keeps its seat and
 * tries again after the back-off. */
export const TRY_AGAIN = new Set(['storage_full', 'rate_limited', 'server_busy']);

/** The connection went away before the reply came. */
export class ConnectionLost extends Error {
  constructor() {
    super('the connection to the server was lost');
    this.name = 'ConnectionLost';
    this.code = 'connection_lost';
  }
}

const DEFAULTS = {
  baseDelayMs: 500, // first retry
  maxDelayMs: 10000, // back-off ceiling
  heartbeatMs: 15000, // app-level ping while idle
  heartbeatTimeoutMs: 10000, // no pong in this time: the link is dead
  probeMs: 2500, // after `online` or the tab coming back: no reply to a ping in this time, reconnect
  requestTimeoutMs: 15000,
};

export class Client {
  /**
   * @param {object} opts
   * @param {string} [opts.url]
   * @param {(client: Client) => void} [opts.onOpen] runs after each connection opens
   * @param {(status: object) => void} [opts.onStatus] connection state changes
   */
  constructor(opts = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.url = opts.url || wsUrl();
    this.ws = null;
    this.status = 'idle'; // idle | connecting | open | reconnecting | stopped
    this.attempt = 0;
    this.seq = 0;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.handlers = new Map(); // type -> Set<fn>
    this.retryTimer = null;
    this.retryAt = 0; // when the pending retry is due (ms since the epoch)
    this.heartbeatTimer = null;
    this.lastRx = 0;
    this.welcome = null;
    this.stopped = false;
    this.probeTimer = null;
    this._onOnline = () => this.reconnectNow();
    this._onOffline = () => this._drop();
    this._onVisible = () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    };
  }

  /** Subscribes to a server message type ('*': every message). Returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  /** Opens the connection (and keeps it open until stop()). */
  start() {
    this.stopped = false;
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    document.addEventListener('visibilitychange', this._onVisible);
    this._connect();
  }

  /** Closes for good: no reconnection. */
  stop(reason = 'stopped') {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this._stopHeartbeat();
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    clearTimeout(this.probeTimer);
    this.probeTimer = null;
    document.removeEventListener('visibilitychange', this._onVisible);
    if (this.ws) {
      try {
        this.ws.close(1000, reason);
      } catch {
        /* already closing */
      }
    }
    this._failPending();
    this._setStatus('stopped');
  }

  /** The network came back or the tab is visible again: a connection
   * waiting out its back-off retries now; an open one is asked for a pong
   * and replaced at once if none comes (a socket that died unnoticed while
   * the phone was off the network or asleep). */
  reconnectNow() {
    if (this.stopped || this.status === 'idle') return;
    if (this.isOpen) {
      this._probe();
      return;
    }
    clearTimeout(this.retryTimer);
    this._connect();
  }

  _probe() {
    if (this.probeTimer !== null) return;
    const ws = this.ws;
    const at = Date.now();
    this.send('ping');
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.ws === ws && this.lastRx < at && !this.stopped) {
        this._drop();
        clearTimeout(this.retryTimer);
        this._connect();
      }
    }, this.opts.probeMs);
  }

  /** The server cannot take us back just now (a TRY_AGAIN error): this
   * socket goes, and the next one tries again after the back-off. */
  retryLater() {
    this._drop('try again later');
  }

  /** Gives the socket up (the browser went offline, or it stopped
   * answering) and waits out the back-off as after a close. */
  _drop(reason = 'network lost') {
    const ws = this.ws;
    if (this.stopped || !ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this.ws = null;
    try {
      ws.close(4001, reason);
    } catch {
      /* ignore */
    }
    this._stopHeartbeat();
    this._failPending();
    this._dispatch({ type: 'disconnected', code: 4001, reason });
    this._scheduleRetry();
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a message; returns its id, or null when not connected. */
  send(type, fields = {}) {
    if (!this.isOpen) return null;
    const id = `c${++this.seq}`;
    this.ws.send(JSON.stringify({ type, ...fields, id }));
    return id;
  }

  /** Sends and waits for the reply with the same id. */
  request(type, fields = {}, timeoutMs = this.opts.requestTimeoutMs) {
    return new Promise((resolve, reject) => {
      const id = this.send(type, fields);
      if (id === null) {
        reject(new ConnectionLost());
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const e = new Error(`no reply to ${type}`);
        e.code = 'timeout';
        reject(e);
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  // ---- internals ----------------------------------------------------------

  _setStatus(status, extra = {}) {
    this.status = status;
    const info = { status, attempt: this.attempt, ...extra };
    if (this.opts.onStatus) this.opts.onStatus(info);
  }

  _connect() {
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
      try {
        this.ws.close();
      } catch {
        /* ignore */
      }
    }
    this._setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting', { delayMs: 0 });
    let ws;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch (e) {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastRx = Date.now();
      this._setStatus('open');
      this._startHeartbeat();
      if (this.opts.onOpen) this.opts.onOpen(this);
    };
    ws.onmessage = (ev) => this._receive(ev.data);
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._stopHeartbeat();
      this._failPending();
      this._dispatch({ type: 'disconnected', code: ev.code, reason: ev.reason });
      if (!this.stopped) this._scheduleRetry();
    };
  }

  _scheduleRetry() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** this.attempt);
    const delayMs = Math.round(exp * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.retryAt = Date.now() + delayMs;
    this._setStatus('reconnecting', { delayMs, retryAt: this.retryAt });
    this.retryTimer = setTimeout(() => this._connect(), delayMs);
  }

  /** Called by the screen once it is back in its game: back-off starts over. */
  markHealthy() {
    this.attempt = 0;
  }

  _receive(data) {
    this.lastRx = Date.now();
    if (typeof data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    if (msg.type === 'welcome') this.welcome = msg;
    let handled = false;
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'error') p.reject(new ProtocolError(msg));
      else p.resolve(msg);
      handled = true;
    }
    this._dispatch(msg, handled);
  }

  _dispatch(msg, handled = false) {
    for (const key of [msg.type, '*']) {
      const set = this.handlers.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(msg, { handled });
        } catch (e) {
          console.error(`handler for ${msg.type} failed`, e);
        }
      }
    }
  }

  _failPending() {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ConnectionLost());
    }
    this.pending.clear();
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (!this.isOpen) return;
      const idle = Date.now() - this.lastRx;
      if (idle > this.opts.heartbeatMs + this.opts.heartbeatTimeoutMs) {
        // Nothing at all came back, not even our pong: the link is dead.
        this.ws.close(4000, 'heartbeat timeout');
        return;
      }
      if (idle >= this.opts.heartbeatMs) this.send('ping');
    }, Math.max(1000, Math.floor(this.opts.heartbeatMs / 3)));
  }

  _stopHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}

// ---- helpers shared by the screens --------------------------------------

const SESSION_PREFIX = 'chainquiz.';

/** Group secrets (PROTOCOL.md, create_game): the first game of a group label
 * gets the group's secret, which every later game of that label must send.
 * Kept per label in localStorage, like the host token, and shown to the
 * host so a teacher can type it on another device. */
export const groupSecrets = {
  get(label) {
    try {
      return localStorage.getItem(`${SESSION_PREFIX}group:${label}`) || null;
    } catch {
      return null;
    }
  },
  save(label, secret) {
    try {
      localStorage.setItem(`${SESSION_PREFIX}group:${label}`, secret);
    } catch {
      /* private mode: the host still sees it on screen */
    }
  },
};

/** Stored game sessions: sessionStorage for this tab (survives reloads),
 * localStorage as the fallback after the tab was closed. */
export const sessions = {
  save(kind, data) {
    const s = JSON.stringify({ ...data, savedAt: Date.now() });
    try {
      sessionStorage.setItem(SESSION_PREFIX + kind, s);
      localStorage.setItem(SESSION_PREFIX + kind, s);
    } catch {
      /* private mode: the game still works, without resume */
    }
  },
  load(kind, { tabOnly = false } = {}) {
    try {
      const s =
        sessionStorage.getItem(SESSION_PREFIX + kind) ??
        (tabOnly ? null : localStorage.getItem(SESSION_PREFIX + kind));
      return s ? JSON.parse(s) : null;
    } catch {
      return null;
    }
  },
  clear(kind) {
    try {
      sessionStorage.removeItem(SESSION_PREFIX + kind);
      localStorage.removeItem(SESSION_PREFIX + kind);
    } catch {
      /* ignore */
    }
  },
};

// Texts for error codes (the server's message is the fallback) and ranks
// are in the message catalogue.
export { errorText, ordinal } from './i18n.js';

/** Creates an element; `text` always goes in as textContent (never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
