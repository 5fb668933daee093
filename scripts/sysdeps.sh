#!/usr/bin/env bash
# Install the Debian packages mtaudit's tests use, if they are missing:
#   apertium + apertium-eng-spa  a real rule-based MT system (back-translation, idiom dev set)
#   chromium                     headless browser for the HTML report test (driven by Playwright)
set -euo pipefail
missing=()
command -v apertium >/dev/null 2>&1 || missing+=(apertium)
[ -d /usr/share/apertium/apertium-eng-spa ] || missing+=(apertium-eng-spa)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  echo "sysdeps: apertium, apertium-eng-spa and chromium already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "sysdeps: missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "sysdeps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
