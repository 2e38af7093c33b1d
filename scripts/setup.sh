#!/usr/bin/env bash
# Installs what Confab needs on a Debian/Ubuntu machine, skipping what is already there.
#   scripts/setup.sh app    system libraries to build and run the desktop app, npm packages
#   scripts/setup.sh test   all of the above plus the test tools (Xvfb, WebKitWebDriver, tauri-driver,
#                           Secret Service, Chromium, python-socketio)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; exit 1
  fi
}

# Debian packages: the Tauri/WebKitGTK build and runtime libraries (see shared notes).
app_packages=(build-essential pkg-config curl wget file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev)
test_packages=(xvfb xauth x11-utils webkit2gtk-driver imagemagick dbus dbus-x11 gnome-keyring
  libsecret-tools chromium iproute2 python3-venv procps redis-server faketime xdotool)

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      --no-install-recommends "${missing[@]}"
  fi
}

command -v cargo >/dev/null || { log "Rust is missing: install it from rustup first"; exit 1; }
command -v npm >/dev/null || install_packages nodejs npm

install_packages "${app_packages[@]}"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-fund --no-audit --loglevel=error
fi

if [ "$mode" = test ]; then
  install_packages "${test_packages[@]}"
  if ! command -v tauri-driver >/dev/null; then
    log "installing tauri-driver (a few minutes, once)"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
  if [ -f tests/python/requirements.txt ]; then
    if [ ! -x .venv/bin/python ] || [ tests/python/requirements.txt -nt .venv/.installed ]; then
      log "python venv for the python-socketio tests"
      python3 -m venv .venv
      .venv/bin/pip install -q -r tests/python/requirements.txt
      touch .venv/.installed
    fi
  fi
fi
log "ready"
