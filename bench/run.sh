#!/usr/bin/env bash
# Benchmark: confab-server (chat log in memory, and durable in SQLite) against the Node socket.io
# reference server, same run, alternating.
#   bash bench/run.sh                 # every scenario, 3 servers, 3 repeats (~8 min on 2 cores: 7 min 44 s on 2026-12-02)
#   bash bench/run.sh --quick         # one short repeat (~1.5 min), to check that everything works
#   bash bench/run.sh --only fanout,saturation --repeats 5 --duration 10
#   bash bench/run.sh --servers confab,node --out /tmp/table.md
# Clusters: 3 confab-server nodes on one Redis against 3 Node socket.io processes on
# @socket.io/redis-adapter, a private redis-server per run (Debian's redis-server package):
#   bash bench/run.sh cluster         # saturation and fan-out over 3 nodes, 3 repeats (~2.5 min)
#   bash bench/run.sh cluster --quick --servers node-cluster
# The chat under attack (confab-server only, no Node needed; docs/PERFORMANCE.md):
#   bash bench/run.sh attack          # every attack once, 8 s each (~1.5 min)
#   bash bench/run.sh attack --only typing,flood --repeats 3 --out /tmp/attack.md
# Builds release binaries first (respects CARGO_TARGET_DIR; default target/ in the repo).
set -euo pipefail
cd "$(dirname "$0")/.."

# 10 000 idle connections: the generator and the servers (which inherit the limit) need many fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

command=compare
case "${1:-}" in
    attack | cluster)
        command=$1
        shift
        ;;
esac
modules=()
case "$command" in
    compare) modules=(socket.io) ;;
    cluster) modules=(socket.io @socket.io/redis-adapter redis) ;;
esac
for module in "${modules[@]}"; do
    if [ ! -d "node_modules/$module" ]; then
        echo "node_modules/$module is missing: run 'npm ci' (or 'npm install') first" >&2
        exit 1
    fi
done
if [ "$command" = cluster ] && ! command -v redis-server >/dev/null; then
    echo "redis-server is missing: install Debian's package (apt-get install -y redis-server; scripts/setup.sh does)" >&2
    exit 1
fi

cargo build --release --quiet -p confab-server -p confab-bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/confab-bench" "$command" "$@"
