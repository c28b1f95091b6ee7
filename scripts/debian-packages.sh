#!/usr/bin/env bash
# Install the Debian packages named as arguments that this machine lacks (e.g. chromium for the
# browser tests, haproxy for `make class`). As root, or with sudo that needs no password, it
# installs them; otherwise it stops with the one command to run. Used by `make test`,
# `make class` and CI, so a fresh Debian machine needs nothing typed first.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "cnnviz needs Debian packages this machine lacks; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing from Debian: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
