#!/usr/bin/env bash
# Runs the whole Confab test suite: Rust (server, app client, benchmark smoke), the official JS and
# Python socket.io clients against the real server, and the desktop app end to end in the real webview.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export CONFAB_SERVER_BIN="$CARGO_TARGET_DIR/debug/confab-server"
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "Rust: formatting (rustfmt.toml)"
cargo fmt --all --check

step "Rust: build and test the workspace"
cargo build --workspace --locked
cargo test --workspace --locked

step "Rust: the patched engineioxide's own unit tests (its byte budgets; vendor/README.md)"
# Outside the workspace, so it resolves on its own: a copy of the workspace's lock pins the same
# versions (cargo drops the entries it does not need, hence no --locked), then the copy goes.
cp Cargo.lock vendor/engineioxide/Cargo.lock
trap 'rm -f vendor/engineioxide/Cargo.lock' EXIT
(cd vendor/engineioxide && cargo test --lib)
rm -f vendor/engineioxide/Cargo.lock

step "Rust: clippy, warnings are errors"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "UI model and protocol rules (node --test)"
npm run --silent test:ui

step "JS socket.io-client against the server"
npm run --silent test:js

step "Browser join page in headless Chromium"
node --test --test-concurrency=1 tests/browser/

if [ -f tests/python/requirements.txt ]; then
  step "python-socketio against the server"
  .venv/bin/python -m pytest -q tests/python
fi

step "Password vault against a real Secret Service (gnome-keyring) and without one"
tests/keyring/run.sh

step "Discovery across two hosts (network namespaces + veth)"
tests/netns/discovery.sh

if [ -x tests/e2e/run.sh ]; then
  step "Desktop app end to end (Xvfb + tauri-driver + WebKitWebDriver)"
  CONFAB_APP_BIN="$CARGO_TARGET_DIR/debug/confab" tests/e2e/run.sh
fi
step "Installable package: build the .deb, install it, start the installed app"
tests/deb/run.sh

step "all tests passed"
