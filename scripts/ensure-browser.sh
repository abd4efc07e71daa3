#!/usr/bin/env bash
# Make sure Debian's Chromium is installed: the admin's browser tests drive it with Playwright
# (never Playwright's own browser download). Idempotent.
set -euo pipefail

CHROMIUM=${SPINDLE_CHROMIUM:-/usr/bin/chromium}
say() { printf 'browser: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if [ -x "$CHROMIUM" ]; then
  say "Chromium at $CHROMIUM"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  say "cannot install Chromium: no apt-get here; install it yourself (or set SPINDLE_CHROMIUM)"; exit 1
fi
say "installing chromium with apt-get"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
say "Chromium at $CHROMIUM"
