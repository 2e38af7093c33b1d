#!/usr/bin/env bash
# The installable package: build the .deb (debug profile, reusing the test build; or CONFAB_DEB), install it with
# apt as a user would, check the desktop entry, icon and binary, start the installed app under Xvfb
# and see its window, then remove the package again.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}
out=tests/deb/screenshots
mkdir -p "$out"

# CONFAB_DEB: test that package instead (the release one of scripts/package.sh).
if [ -n "${CONFAB_DEB:-}" ]; then
  deb=$CONFAB_DEB
else
  npx --no-install tauri build --debug --bundles deb --ci
  deb=$(ls -t "$target"/debug/bundle/deb/*.deb | head -1)
fi
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\|Installed-Size\):/  &/p'
[ "$(dpkg-deb --field "$deb" Package)" = confab ] || { echo "FAIL: package name"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$(realpath "$deb")" >/dev/null
trap 'as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q confab >/dev/null 2>&1 || true' EXIT

fail() { echo "FAIL: $*"; exit 1; }
[ -x /usr/bin/confab ] || fail "/usr/bin/confab missing"
desktop=/usr/share/applications/Confab.desktop
[ -f "$desktop" ] || desktop=$(ls /usr/share/applications/*onfab*.desktop | head -1)
grep -qx "Name=Confab" "$desktop" || fail "desktop entry name: $(grep ^Name= "$desktop")"
# %U: a confab:// link opened from a browser or xdg-open reaches the app (without it the bundler's
# entry started the app without the link).
grep -qx "Exec=confab %U" "$desktop" || fail "desktop entry exec: $(grep ^Exec= "$desktop")"
grep -qx "MimeType=x-scheme-handler/confab" "$desktop" || fail "confab:// not registered: $(grep ^MimeType= "$desktop")"
dpkg-deb --field "$deb" Depends | grep -q "fonts-noto-color-emoji" || fail "no emoji font dependency"
fc-list | grep -q "Noto Color Emoji" || fail "the emoji font the package depends on is not installed"
grep -q "^Categories=.*Network" "$desktop" || fail "desktop entry category: $(grep ^Categories= "$desktop")"
icon=$(sed -n 's/^Icon=//p' "$desktop")
ls /usr/share/icons/hicolor/*/apps/"$icon".png >/dev/null || fail "icon $icon not installed"

# Start the installed app on a private X display and wait for its window.
display=:$(( 90 + RANDOM % 9 ))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() {
  kill "${app:-}" "$xvfb" 2>/dev/null || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q confab >/dev/null 2>&1 || true
}
trap cleanup EXIT
config=$(mktemp -d)
started=$(date +%s%N)
DISPLAY=$display CONFAB_CONFIG_DIR=$config WEBKIT_DISABLE_DMABUF_RENDERER=1 /usr/bin/confab >/dev/null 2>&1 &
app=$!
for _ in $(seq 100); do
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q '"Confab"'; then break; fi
  kill -0 "$app" 2>/dev/null || fail "the installed app exited"
  sleep 0.1
done
DISPLAY=$display xwininfo -root -tree | grep -q '"Confab"' || fail "no Confab window within 10 s"
echo "window up after $(( ($(date +%s%N) - started) / 1000000 )) ms"
sleep 1 # let the page paint for the screenshot a person looks at
DISPLAY=$display import -window root "$out/installed-app.png"
echo "1 passed, 0 failed"
