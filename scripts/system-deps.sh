#!/usr/bin/env bash
# System packages the test suite uses where it can: HypoPG for the Debian
# PostgreSQL 15 (when those binaries exist) and Chromium for the report's browser test.
# Needs root and apt-get; without them it says so and carries on.
set -uo pipefail
want=()
if [ -x /usr/lib/postgresql/15/bin/postgres ] && [ ! -e /usr/share/postgresql/15/extension/hypopg.control ]; then
  want+=(postgresql-15-hypopg)
fi
if [ "${PGTUNE_HX_BROWSER_TESTS:-1}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  want+=(chromium)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: not root or no apt-get; skipping system packages: ${want[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || echo "note: apt-get update failed" >&2
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${want[*]}" >&2
exit 0
