#!/bin/sh
# Runs the browser end-to-end tests (see README.md): all of them, or only the
# files it is given (e.g. tests/browser/i18n.test.mjs). ctest runs each file
# as its own test (browser_e2e, browser_layout, ...) with CHAINQUIZ_BIN set
# to the built server. --deps only installs playwright-core and axe-core
# when they are missing (ctest's browser_deps, before the others).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
[ "${1:-}" = --deps ] && exit 0
cd "$root"
if [ "$#" -gt 0 ]; then
  exec node --test "$@"
fi
exec node --test tests/browser/
