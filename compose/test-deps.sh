#!/usr/bin/env bash
# What the test suite needs beyond Go, PostgreSQL and the module proxy, made
# ready on this machine (each step is skipped when already done):
#   - Debian's chromium package, which the portal's browser tests drive
#     headless (chromedp; no browser is downloaded), and curl, which the
#     README's internal API walkthrough uses (cmd/creditnode's internal_curl);
#   - a Vault 1.21.0 binary built from source into the cache
#     (compose/vault-dev.sh build, ≈11 minutes the first time on 2 cores).
# Run as root on Debian (apt-get); the README's test command runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || ! command -v curl >/dev/null; then
	echo "test-deps: installing Debian's chromium and curl for the browser and walkthrough tests" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q chromium curl
fi
compose/vault-dev.sh build
