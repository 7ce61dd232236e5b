#!/bin/sh
# Runs the browser end-to-end tests (see README.md); ctest's browser_e2e
# (every file but layout.test.mjs and screens.test.mjs), browser_layout and
# browser_screens (those files, given as an argument) call this with CHAINQUIZ_BIN set to the built server. With
# arguments, only those test files (e.g. tests/browser/i18n.test.mjs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
cd "$root"
if [ "$#" -gt 0 ]; then
  exec node --test "$@"
fi
# shellcheck disable=SC2046 # file names without spaces
exec node --test $(ls tests/browser/*.test.mjs | grep -Ev '/(layout|screens)\.test\.mjs$')
