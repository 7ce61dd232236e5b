// harness.mjs: the pieces a browser test file needs: the real server on a
// free port with a private data folder (it starts its own Redis), Debian's
// Chromium, and "actors" (one browser context each) whose dialogs, page
// errors and CSP reports are collected. Not a test file itself.
//
// Each test file starts its own server and writes to its own artifacts
// folder, so `node --test` may run the files in parallel.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const BIN = path.resolve(REPO, process.env.CHAINQUIZ_BIN || 'build/chainquiz');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const XSS = '<img src=x onerror=alert(1)>';

/** Generous: a slow shared 2-core machine runs several browser contexts. */
export const STEP = 20_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts build/chainquiz (or $CHAINQUIZ_BIN) with the test content and a
 * fresh data folder; resolves once /healthz and /readyz (Redis) answer.
 * @returns {Promise<{base: string, log: () => string, stop: () => Promise<void>}>}
 */
export async function startServer(extraArgs = []) {
  assert.ok(fs.existsSync(BIN), `no server binary at ${BIN}: build it, or set CHAINQUIZ_BIN`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cq-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(
    BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--content', 'tests/fixtures/content', '--data-dir', dataDir, '--web-root', 'web-client', ...extraArgs],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const kill = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  process.once('exit', kill); // also when the test runner itself is interrupted

  const stop = async () => {
    try {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        let timeout;
        const timer = new Promise((r) => (timeout = setTimeout(() => r('timeout'), 8000)));
        const how = await Promise.race([exited, timer]);
        clearTimeout(timeout); // else it holds the test file's process open for 8 s
        if (how === 'timeout') {
          proc.kill('SIGKILL');
          await exited;
        }
      }
    } finally {
      process.removeListener('exit', kill);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };

  // Healthy first (the process runs), then ready (Redis answers: the
  // leaderboards and results need it).
  const deadline = Date.now() + 30_000;
  let last = null;
  for (const probe of ['/healthz', '/readyz']) {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await stop();
        throw new Error(`the server exited early (${proc.exitCode ?? proc.signalCode}):\n${log}`);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the server did not become ready (${probe}): ${last?.message}\n${log}`);
      }
      try {
        const res = await fetch(base + probe);
        if (res.ok) break;
        last = new Error(`HTTP ${res.status}`);
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  return { base, log: () => log, stop };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 60_000,
  });
}

/* Every message a page receives from the server goes, one line each, to
 * $CQ_WIRE_LOG_DIR/browser-PID.jsonl when that is set: ctest's
 * server_messages_agree validates them against protocol/schema/server/. */
const WIRE_LOG = process.env.CQ_WIRE_LOG_DIR
  ? path.join(process.env.CQ_WIRE_LOG_DIR, `browser-${process.pid}.jsonl`)
  : null;
function logWire(frame) {
  if (WIRE_LOG && typeof frame.payload === 'string' && !frame.payload.includes('\n'))
    fs.appendFileSync(WIRE_LOG, frame.payload + '\n');
}

/* CQ_FIT_STATS=1: every actor's pages print js/fit.js's counters
 * (window.__cqFit) when its context is closed, one `fit-stats` line each.
 * CQ_FIT_CHECK=1 (implies it): js/fit.js compares each fit it starts from an
 * earlier answer with the whole bisection (the counters' `mismatches`), and
 * settle() asserts that every shown box is what fitting it from scratch
 * gives (window.__cqFitVerify). */
const FIT_CHECK = !!process.env.CQ_FIT_CHECK;
const FIT_STATS = FIT_CHECK || !!process.env.CQ_FIT_STATS;

/** A browser context and page, with dialogs, page errors and CSP reports
 * collected. The browser's language is English unless `options` (more
 * Playwright context options) says otherwise, e.g. { locale: 'de-DE' }. */
export async function actor(browser, name, viewport, options = {}) {
  const context = await browser.newContext({ locale: 'en-US', ...options, viewport, deviceScaleFactor: 1, reducedMotion: 'reduce', acceptDownloads: true });
  context.setDefaultTimeout(STEP);
  const a = { name, context, page: null, dialogs: [], errors: [], csp: [] };
  const watch = (page) => {
    page.on('dialog', async (d) => {
      a.dialogs.push(d.message());
      await d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => a.errors.push(String(e)));
    page.on('websocket', (ws) => ws.on('framereceived', logWire));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) a.csp.push(m.text());
    });
  };
  context.on('page', watch); // pages it opens later (target=_blank) too
  if (FIT_CHECK) await context.addInitScript(() => (window.__cqFitCheck = true));
  a.page = await context.newPage();
  if (FIT_STATS) {
    // What js/fit.js did on each of the actor's pages, read as the context closes.
    const close = context.close.bind(context);
    context.close = async (...args) => {
      for (const p of context.pages()) {
        const s = await p.evaluate(() => window.__cqFit ?? null).catch(() => null);
        if (s) console.log(`fit-stats ${path.basename(process.argv[1] || '')} ${name} ${new URL(p.url()).pathname} ${JSON.stringify(s)}`);
      }
      return close(...args);
    };
  }
  return a;
}

/** Screenshot options for the pictures kept in artifacts/ (for people, not
 * compared by any test): JPEG takes a fifth of PNG's time at 1920x1080. */
export const SHOT = { type: 'jpeg', quality: 85 };

/** Screenshots numbered in order, into `dir`. */
export function shooter(dir) {
  let n = 0;
  return async (a, label, page = a.page) => {
    n++;
    await page.screenshot({ path: path.join(dir, `${String(n).padStart(2, '0')}-${label}-${a.name}.jpg`), fullPage: false, ...SHOT });
  };
}

/** The frames until no fitted box changed its style or class and neither the
 * window, main nor a box was resized: n > 0, or -n when it was still
 * changing after `max` frames. (fitfuzz.mjs waits with it too.) */
export function settleFrames(page, max = 600) {
  return page.evaluate(
    (max) =>
      new Promise((resolve) => {
        let changed = true;
        let n = 0;
        const mo = new MutationObserver((records) => {
          for (const r of records) if (r.target.closest?.('[data-fit]')) changed = true;
        });
        mo.observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ['style', 'class'] });
        // What makes the routine run again: a box or main resized, the window resized.
        const ro = new ResizeObserver(() => (changed = true));
        for (const e of document.querySelectorAll('main, [data-fit]')) ro.observe(e);
        const resized = () => (changed = true);
        window.addEventListener('resize', resized);
        const frame = () =>
          requestAnimationFrame(() => {
            n++;
            if ((!changed && n >= 2) || n >= max) {
              mo.disconnect();
              ro.disconnect();
              window.removeEventListener('resize', resized);
              resolve(changed ? -n : n);
            } else {
              changed = false;
              frame();
            }
          });
        frame();
      }),
    max,
  );
}

/**
 * Resolves once the page's fitted text (web-client/js/fit.js, which runs on
 * the animation frame after a resize, a view switch or new content, and
 * again when its own change resized a box) has settled: after at least two
 * frames, the first frame before which no [data-fit] box or anything inside
 * one changed its style or class, and neither the window, main nor a box
 * was resized. Frames, not a fixed delay.
 */
export async function settle(page) {
  const frames = await settleFrames(page);
  assert.ok(frames > 0, `the page's fitted text did not settle in ${-frames} frames`);
  if (FIT_CHECK) {
    const wrong = await page.evaluate(() => window.__cqFitVerify?.() ?? []);
    assert.deepEqual(wrong, [], 'every box as fitting it from scratch makes it');
  }
}

/** Waits for the page's view; a page being navigated has no body for a moment
 * (a predicate that throws ends the wait at once, as a failure). */
export const viewIs = (page, name) => page.waitForFunction((v) => document.body?.dataset.view === v, name, { timeout: STEP });

export async function text(page, sel) {
  return (await page.locator(sel).textContent())?.trim() ?? '';
}

/** Asserts that nothing ran that should not have, on every page of each actor. */
export async function assertClean(actors) {
  for (const a of actors) {
    assert.deepEqual(a.dialogs, [], `${a.name}: no dialog fired`);
    assert.deepEqual(a.errors, [], `${a.name}: no page errors`);
    assert.deepEqual(a.csp, [], `${a.name}: no Content-Security-Policy violations`);
    for (const p of a.context.pages()) {
      assert.equal(await p.locator('img[src="x"]').count(), 0, `${a.name}: no injected image`);
    }
  }
}

/**
 * For a test file: starts the server (with `extraArgs`) and Chromium before
 * its tests, after `prepare()` (e.g. clearing its artifacts folder), and
 * stops both after them, leaving the server's log in `artifacts`. The
 * returned object's `base` (the server's URL) and `browser` are set once
 * the tests run.
 */
export function useServerAndBrowser({ artifacts, extraArgs = [], prepare = () => {} }) {
  const env = { server: null, browser: null, base: '' };
  before(async () => {
    prepare();
    env.server = await startServer(extraArgs);
    env.base = env.server.base;
    env.browser = await launchBrowser();
  });
  after(async () => {
    try {
      if (env.browser) await env.browser.close();
    } finally {
      if (env.server) {
        await env.server.stop();
        fs.writeFileSync(path.join(artifacts, 'server.log'), env.server.log());
      }
    }
  });
  return env;
}
