#!/bin/bash
# Installs what the editor end-to-end tests need: Debian chromium/libkrb5-dev/ripgrep and this folder's
# npm packages (code-server 4.100.3, playwright-core). Idempotent: each step is skipped when done.
# Runs as root on Debian 12 with Node 20; reaches only the npm registry and Debian's mirrors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
t0=$SECONDS
lap() { echo "[setup +$((SECONDS - t0))s] $*"; }

# 1. Debian packages. chromium drives the workbench; libkrb5-dev has the headers code-server's
#    kerberos module compiles against; ripgrep stands in for the rg binary @vscode/ripgrep downloads.
if ! command -v chromium >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1 || ! command -v rg >/dev/null; then
  lap "apt-get install chromium libkrb5-dev ripgrep"
  # Other jobs on the machine may hold the dpkg lock (another test suite installing chromium): wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    chromium libkrb5-dev ripgrep
  lap "apt done"
else
  lap "apt packages present"
fi

# 2. code-server's nested install runs @vscode/ripgrep's postinstall, which downloads from GitHub.
sh "$HERE/seedRipgrepCache.sh" 1.15.11 v13.0.0-10

# 3. npm packages, from the lockfile.
#    npm_config_unsafe_perm: code-server's postinstall refuses to run as root without it.
#    npm_config_yes: node-pty's postinstall runs `npx node-gyp`, cancelled when ~/.npmrc says yes=false.
#    npm_config_nodedir=/usr: compile native modules against the installed Node headers (no download).
if [ -x node_modules/.bin/code-server ] && [ -d node_modules/code-server/lib/vscode/node_modules ] \
   && [ -d node_modules/playwright-core ]; then
  lap "node_modules present ($(node -p "'code-server ' + require('./node_modules/code-server/package.json').version"))"
else
  lap "npm ci (code-server builds native modules: 70-100 s)"
  export npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  test -d node_modules/code-server/lib/vscode/node_modules \
    || { echo "setup: code-server's postinstall did not install lib/vscode/node_modules" >&2; exit 1; }
  lap "npm done"
fi
lap "e2e setup complete"
