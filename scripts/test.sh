#!/usr/bin/env bash
# From a fresh Debian 12 machine: installs what is missing, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh
cd "${REXEC_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j 2
