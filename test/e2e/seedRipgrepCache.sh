#!/bin/sh
# Seeds @vscode/ripgrep's download cache with Debian's rg, so code-server's postinstall works offline.
# @vscode/ripgrep's postinstall downloads rg from GitHub, which CI cannot reach; when a tarball of the
# expected name is already in its cache folder it "uses cached download" instead.
# Usage: sh seedRipgrepCache.sh [rgPackageVersion] [rgReleaseTag]   (needs: apt-get install ripgrep)
set -eu
PKGVER="${1:-1.15.11}"      # @vscode/ripgrep version pinned in code-server's lib/vscode/npm-shrinkwrap.json
TAG="${2:-v13.0.0-10}"      # the VERSION constant in @vscode/ripgrep/lib/postinstall.js
CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$PKGVER"
TARBALL="$CACHE/ripgrep-$TAG-x86_64-unknown-linux-musl.tar.gz"
RG="$(command -v rg)" || { echo "seedRipgrepCache: rg not found (apt-get install ripgrep)" >&2; exit 1; }
mkdir -p "$CACHE"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$RG" "$work/rg"
tar czf "$TARBALL" -C "$work" rg
echo "seeded $TARBALL"
