// The web client's stylesheets and pages are whole: every rule closed, no
// merge leftovers. A rule left open swallows every rule after it (all of
// issue #17's layout once did), and no browser says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web-client');
const files = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );

test('every stylesheet closes every rule it opens', () => {
  const css = files(ROOT).filter((f) => f.endsWith('.css'));
  assert.ok(css.length > 0);
  for (const f of css) {
    const text = fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    // A stack of open blocks: an at-rule (@media...) may hold rules, a rule
    // may not (our stylesheets nest none): one opened inside a rule is a
    // rule left open above it.
    const open = [];
    let since = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch === '{') {
        const head = text.slice(since, i).trim();
        const line = text.slice(0, i).split('\n').length;
        const kind = head.startsWith('@') ? 'at' : 'rule';
        assert.ok(!(kind === 'rule' && open.at(-1)?.kind === 'rule'),
          `${f}:${line}: "${head.slice(0, 60)}" opens inside the rule from line ${open.at(-1)?.line}, left open`);
        open.push({ kind, line });
        since = i + 1;
      } else if (ch === '}') {
        assert.ok(open.length > 0, `${f}: a } closes nothing`);
        open.pop();
        since = i + 1;
      } else if (ch === ';') {
        since = i + 1;
      }
    }
    const depth = open.length;
    assert.equal(depth, 0, `${f}: ${depth} rule(s) left open, from line ${open[0]?.line}`);
  }
});

test('no merge conflict markers in the web client', () => {
  for (const f of files(ROOT).filter((x) => /\.(css|html|js|mjs)$/.test(x))) {
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(!/^(<{7}|={7}|>{7})( |$)/m.test(text), `${f}: a merge conflict marker`);
  }
});
