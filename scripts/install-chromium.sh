#!/usr/bin/env bash
# The browser the report tests open the HTML report in: Debian's chromium package, installed
# when missing (idempotent; needs root, as on CI). Playwright drives it (no browser download).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium: chromium is missing; run as root, or: sudo apt-get install chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
