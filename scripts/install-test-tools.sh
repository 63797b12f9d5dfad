#!/usr/bin/env bash
# Install the system tools the test suite uses (Debian packages), when they are missing.
#   promtool   (package prometheus)          alert-rule unit tests
#   chromium   (package chromium)            headless rendering of HTML reports
#   wrk        (package wrk)                 the serving benchmark's load generator
# Run as root (CI is root); otherwise print the command to run.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "error: missing test tools; hint: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || true
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
# The prometheus package starts a service on :9090 where systemd runs; tests never use it.
