#!/usr/bin/env bash
# Install what `mlp up` and the services tests run, when it is missing (fast when present):
#   PostgreSQL             Debian package postgresql (initdb, postgres)
#   Prometheus, promtool   Debian package prometheus
#   Alertmanager           Debian package prometheus-alertmanager
#   Node.js + npm          Debian packages nodejs npm (only if node is missing)
#   Azurite                npm ci (package.json + package-lock.json, into ./node_modules)
# SeaweedFS, fake-gcs-server and the Python clients come from the lock files (wheels).
# Run as root for apt-get (CI is root); otherwise it prints the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 \
  || need+=(prometheus-alertmanager)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing services; hint: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  # Where systemd runs, these packages start their own daemons on the default ports;
  # `mlp up` never uses those (its ports are different), so they can be left alone.
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
# Azurite: reinstall only when the lock file changed since the last `npm ci`.
if [ ! -x node_modules/.bin/azurite-blob ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
