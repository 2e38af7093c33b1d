#!/usr/bin/env bash
# The release .deb of the desktop app: built in its size-first profile (Cargo.toml
# [profile.app-release]: symbols stripped, opt-level "s", LTO), then repacked with xz, which Tauri's
# bundler does not offer for .deb (it writes gzip; dpkg and apt read xz, Debian's own default).
# Prints the package's path and size. Test it installed: CONFAB_DEB=<path> bash tests/deb/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
[ -d node_modules/@tauri-apps/cli ] || npm ci --no-audit --no-fund
npx --no-install tauri build --bundles deb --ci -- --profile app-release
deb=$(ls -t "$target"/app-release/bundle/deb/*.deb | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/package"
dpkg-deb --root-owner-group -Zxz -z9 -b "$work/package" "$work/repacked.deb" >/dev/null
mv "$work/repacked.deb" "$deb"
echo "$deb: $(stat -c %s "$deb") bytes"
