#!/usr/bin/env bash
# Configures and builds rexec into build/ (Ninja, ccache, RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${REXEC_BUILD_DIR:-build}"
# Two jobs: each translation unit that includes LLVM or clang headers takes about 1 GB.
JOBS="${REXEC_BUILD_JOBS:-2}"

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
