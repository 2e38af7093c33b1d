#!/usr/bin/env bash
# Start-up time and memory of the Confab app beside a bare Tauri window (tests/e2e/bare-app), both
# debug builds, measured the same way under Xvfb:
#   window: process start → the top-level X window exists (xwininfo);
#   painted: process start → the screen shows content (non-uniform screenshot of the root window);
#   memory: 4 s after start, PSS and RSS of the app process plus all its descendants (the WebKit
#   web and network processes), from /proc/PID/smaps_rollup. PSS counts shared pages once.
# Usage: tests/e2e/measure.sh [runs]   (env: CONFAB_APP_BIN, CARGO_TARGET_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
target=${CARGO_TARGET_DIR:-$PWD/target}
app=$(realpath -m "${CONFAB_APP_BIN:-$target/debug/confab}")
bare=$target/debug/bare-tauri
if [ ! -x "$bare" ]; then
  [ -f tests/e2e/bare-app/Cargo.lock ] || cp Cargo.lock tests/e2e/bare-app/Cargo.lock
  cargo build --quiet --manifest-path tests/e2e/bare-app/Cargo.toml
fi
for tool in Xvfb xwininfo import convert; do command -v $tool >/dev/null || { echo "measure: $tool missing"; exit 1; }; done

work=$(mktemp -d /tmp/confab-measure.XXXXXX)
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1 XDG_CONFIG_HOME="$work/config"

descendants() { local p; for p in $(ps -o pid= --ppid "$1"); do echo "$p"; descendants "$p"; done; }
kib() { awk -v k="$1" '$1 == k":" { s += $2 } END { print s + 0 }' "${@:2}" 2>/dev/null; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

measure() {
  local label=$1 bin=$2 title=$3 run start pid window painted files pss rss procs
  for run in $(seq "$runs"); do
    start=$(now_ms)
    "$bin" >/dev/null 2>&1 &
    pid=$!
    window=""; painted=""
    for _ in $(seq 300); do
      if [ -z "$window" ] && xwininfo -root -tree 2>/dev/null | grep -q "\"$title"; then window=$(( $(now_ms) - start )); fi
      if [ -n "$window" ]; then
        import -window root "$work/shot.png" 2>/dev/null
        if [ "$(convert "$work/shot.png" -format '%[fx:standard_deviation > 0.01]' info:)" = 1 ]; then painted=$(( $(now_ms) - start )); break; fi
      fi
      sleep 0.02
    done
    sleep 4
    procs="$pid $(descendants "$pid" | tr '\n' ' ')"
    files=$(for p in $procs; do echo "/proc/$p/smaps_rollup"; done)
    pss=$(kib Pss $files); rss=$(kib Rss $files)
    printf '%-12s run %d: window %5s ms, painted %5s ms, PSS %4d MiB, RSS %4d MiB (%d processes: %s)\n' \
      "$label" "$run" "${window:-?}" "${painted:-?}" $((pss / 1024)) $((rss / 1024)) "$(echo $procs | wc -w)" \
      "$(for p in $procs; do printf '%s %d MiB, ' "$(cat /proc/$p/comm 2>/dev/null)" $(( $(kib Pss /proc/$p/smaps_rollup) / 1024 )); done)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    sleep 1
  done
}

measure "bare Tauri" "$bare" "bare"
measure "Confab" "$app" "Confab"
