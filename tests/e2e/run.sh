#!/usr/bin/env bash
# End-to-end test of the desktop app in the real webview: Xvfb + tauri-driver + WebKitWebDriver.
# Builds nothing: give it the app and server binaries (defaults: the debug builds of the target dir).
#   CONFAB_APP_BIN     the app   (default ${CARGO_TARGET_DIR:-target}/debug/confab)
#   CONFAB_SERVER_BIN  the server (default ${CARGO_TARGET_DIR:-target}/debug/confab-server)
# Screenshots go to tests/e2e/screenshots/. Exits non-zero when a test fails.
# Arguments (optional): test files to run instead of all of tests/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
export CONFAB_APP_BIN=$(realpath -m "${CONFAB_APP_BIN:-$target/debug/confab}")
export CONFAB_SERVER_BIN=$(realpath -m "${CONFAB_SERVER_BIN:-$target/debug/confab-server}")
for bin in "$CONFAB_APP_BIN" "$CONFAB_SERVER_BIN"; do
  [ -x "$bin" ] || { echo "e2e: $bin is missing: build it first (cargo build -p confab -p confab-server)"; exit 1; }
done
command -v tauri-driver >/dev/null || { echo "e2e: tauri-driver is missing: cargo install tauri-driver --version '^2' --locked"; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "e2e: WebKitWebDriver is missing: apt-get install webkit2gtk-driver"; exit 1; }
command -v Xvfb >/dev/null || { echo "e2e: Xvfb is missing: apt-get install xvfb"; exit 1; }
[ -d node_modules/selenium-webdriver ] || npm ci --no-audit --no-fund

# Saved passwords need a Secret Service: run in a private D-Bus session with gnome-keyring unlocked
# (never the user's own keyring). Missing tools are an error, not a reason to skip those tests.
for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is missing: apt-get install dbus gnome-keyring libsecret-tools"; exit 1; }
done
if [ -z "${CONFAB_E2E_IN_DBUS:-}" ]; then
  export CONFAB_E2E_IN_DBUS=1
  exec dbus-run-session -- bash "$root/tests/e2e/run.sh" "$@"
fi
work=$(mktemp -d /tmp/confab-e2e.XXXXXX)
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $status -ne 0 ]; then
    echo "e2e: failed; logs:"; for f in "$work"/*.log; do echo "--- $f"; tail -n 40 "$f"; done
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT INT TERM

if [ -n "${CONFAB_E2E_IN_DBUS:-}" ]; then
  # The keyring files go to the throwaway dir too.
  export XDG_DATA_HOME="$work/data"
  mkdir -p "$XDG_DATA_HOME"
  eval "$(printf 'e2e-keyring' | gnome-keyring-daemon --unlock --components=secrets)"
  export CONFAB_E2E_KEYRING=1
fi

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# A private X display (Xvfb picks a free number and writes it to fd 3).
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "e2e: Xvfb did not start"; exit 1; }
export DISPLAY=":$(cat "$work/display")"

# The app must not touch the user's settings: a throwaway config dir.
export XDG_CONFIG_HOME="$work/config" CONFAB_CONFIG_DIR="$work/config/confab"
# The desktop's Downloads folder (xdg-user-dirs), where the save dialog opens (files.test.mjs).
export E2E_DOWNLOADS="$work/downloads"
mkdir -p "$XDG_CONFIG_HOME" "$E2E_DOWNLOADS"
printf 'XDG_DOWNLOAD_DIR="%s"\n' "$E2E_DOWNLOADS" >"$XDG_CONFIG_HOME/user-dirs.dirs"
# Software rendering is what a headless X server offers; avoids blank windows on some setups.
export WEBKIT_DISABLE_DMABUF_RENDERER=1
# The system browser of these tests: a link the app opens (the opener plugin runs xdg-open) is written
# to $E2E_OPENED instead of starting a browser on the test display (view.test.mjs checks it).
mkdir -p "$work/bin"
export E2E_OPENED="$work/opened-urls"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\n' "$E2E_OPENED" >"$work/bin/xdg-open"
chmod +x "$work/bin/xdg-open"
export PATH="$work/bin:$PATH"

driver_port=$(free_port); native_port=$(free_port)
tauri-driver --port "$driver_port" --native-port "$native_port" >"$work/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$driver_port/status" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$driver_port/status" >/dev/null || { echo "e2e: tauri-driver did not start"; exit 1; }

export WEBDRIVER_URL="http://127.0.0.1:$driver_port" E2E_WORK="$work"
mkdir -p tests/e2e/screenshots
node --test --test-concurrency=1 --test-reporter=spec "${@:-tests/e2e/}"
