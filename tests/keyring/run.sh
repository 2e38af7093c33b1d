#!/usr/bin/env bash
# The password vault against a real Secret Service: gnome-keyring, unlocked, in a private D-Bus
# session; then the same vault with no Secret Service at all, which must say "unavailable".
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test -q -p confab-secrets --test secret_service --no-run
dbus-run-session -- bash -c '
  set -euo pipefail
  eval "$(printf "test-password" | gnome-keyring-daemon --unlock --components=secrets)"
  cargo test -q -p confab-secrets --test secret_service -- --ignored --exact passwords_round_trip_through_the_real_secret_service
'
DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus \
  cargo test -q -p confab-secrets --test secret_service -- --ignored --exact without_a_secret_service_the_vault_says_unavailable
