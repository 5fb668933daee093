#!/usr/bin/env bash
# Install the Debian packages mtaudit's full test suite uses, if they are missing:
# apertium + the English-Spanish pair (a real rule-based MT system, for back-translation
# and the idiom dev set).
set -euo pipefail
packages=(apertium apertium-eng-spa)
missing=()
command -v apertium >/dev/null 2>&1 || missing+=(apertium)
[ -d /usr/share/apertium/apertium-eng-spa ] || missing+=(apertium-eng-spa)
if [ ${#missing[@]} -eq 0 ]; then
  echo "sysdeps: ${packages[*]} already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "sysdeps: missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi
echo "sysdeps: installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
