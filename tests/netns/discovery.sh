#!/usr/bin/env bash
# Discovery across two hosts: two network namespaces joined by a veth pair. Host A runs
# `confab-server --advertise`; host B must find it with `confab-server discover` and reach it.
# Needs root (ip netns). Test hosts use addresses of our own namespaces only.
set -euo pipefail
bin=${CONFAB_SERVER_BIN:?set CONFAB_SERVER_BIN to the confab-server binary}
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "netns discovery: needs root and iproute2"; exit 1
fi
tag=cf$$
a=${tag}a b=${tag}b
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add "${tag}va" type veth peer name "${tag}vb"
ip link set "${tag}va" netns "$a"
ip link set "${tag}vb" netns "$b"
ip -n "$a" addr add 10.231.0.1/24 dev "${tag}va"
ip -n "$b" addr add 10.231.0.2/24 dev "${tag}vb"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "${tag}va" up
ip -n "$b" link set "${tag}vb" up

log=$(mktemp)
ip netns exec "$a" "$bin" --ephemeral --port 7979 --advertise --chat-name "Across the wire" >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q "Advertised" "$log" && break; sleep 0.1; done

found=""
for attempt in 1 2 3; do
  found=$(ip netns exec "$b" "$bin" discover --seconds 4)
  grep -q "http://10.231.0.1:7979" <<<"$found" && break
done
echo "$found"
grep -q $'http://10.231.0.1:7979\tAcross the wire\thosted by' <<<"$found" \
  || { echo "FAIL: host B did not find host A's chat"; cat "$log"; exit 1; }
health=$(ip netns exec "$b" curl -fsS --max-time 5 http://10.231.0.1:7979/health)
# Another host learns that the chat is up, not how many are in it (counts are for this machine only).
[ "$health" = '{"status":"ok"}' ] || { echo "FAIL: health from another host: $health"; exit 1; }
echo "1 passed, 0 failed"
