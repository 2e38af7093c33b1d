#!/usr/bin/env bash
# Benchmark: confab-server against the Node socket.io reference server, same run, alternating.
#   bash bench/run.sh                 # every scenario, 3 repeats (~5 min on 2 cores: 305 s on 2026-12-02)
#   bash bench/run.sh --quick         # one short repeat (~1.5 min), to check that everything works
#   bash bench/run.sh --only fanout,saturation --repeats 5 --duration 10
#   bash bench/run.sh --out /tmp/table.md
# The chat under attack (confab-server only, no Node needed; docs/PERFORMANCE.md):
#   bash bench/run.sh attack          # every attack once, 8 s each (~1.5 min)
#   bash bench/run.sh attack --only typing,flood --repeats 3 --out /tmp/attack.md
# Builds release binaries first (respects CARGO_TARGET_DIR; default target/ in the repo).
set -euo pipefail
cd "$(dirname "$0")/.."

# 10 000 idle connections: the generator and the servers (which inherit the limit) need many fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

command=compare
if [ "${1:-}" = attack ]; then
    command=attack
    shift
elif [ ! -d node_modules/socket.io ]; then
    echo "node_modules/socket.io is missing: run 'npm ci' (or 'npm install') first" >&2
    exit 1
fi

cargo build --release --quiet -p confab-server -p confab-bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/confab-bench" "$command" "$@"
