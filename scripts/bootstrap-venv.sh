#!/usr/bin/env bash
# Create .venv with uv inside it, on a fresh Debian machine with Python 3.11.
# Debian ships venv support in a separate package (python3-venv); install it when missing.
set -euo pipefail
venv="${1:-.venv}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
  done
fi
[ -n "$python" ] || { echo "error: Python 3.11 not found; hint: apt-get install -y python3 python3-venv" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "error: $python is $("$python" --version 2>&1); mlplatform needs Python >= 3.11" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing python3-venv (Debian keeps venv in its own package)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
      "$python" -m venv "$venv"
    else
      echo "error: cannot create a virtualenv; hint: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
  fi
fi
[ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install -q --disable-pip-version-check "uv==0.13.9"
