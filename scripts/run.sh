#!/usr/bin/env bash
# Sets up what is missing and launches Confab.
#   scripts/run.sh            the desktop app
#   scripts/run.sh server …   the headless chat server (flags: see `--help`)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = server ]; then
  shift
  command -v cargo >/dev/null || { echo "Rust is missing: install it from rustup first"; exit 1; }
  exec cargo run --quiet --release -p confab-server -- "$@"
fi
bash scripts/setup.sh app
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): the desktop app needs a graphical session."
  echo "On a headless host, run the chat server instead: scripts/run.sh server"
  exit 1
fi
exec cargo run --quiet -p confab
