#!/usr/bin/env bash
# Installs the Debian 12 packages rexec needs to build, test and run. Safe to run again: it only
# calls apt-get when a package is missing.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache pkg-config g++
  llvm-19-dev libclang-cpp19-dev libclang-19-dev clang-19 lld-19 zlib1g-dev libzstd-dev
  libclang-rt-19-dev
  libmimalloc-dev  # rexec-compile's allocator: clang's -O2 runs ~5% faster on it
  capnproto libcapnp-dev
  libabsl-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server libhiredis-dev
  libseccomp-dev
  openssl  # throwaway TLS certificates for the tests (scripts/make_test_certs.sh)
  libssl-dev  # libssl.a/libcrypto.a: the tools link OpenSSL (under kj-tls) statically
  python3-cloudpickle python3-redis
  procps  # pgrep, for bench/run and bench/command_placement (not in a minimal Debian image)
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  # Debian's redis-server package starts a system-wide Redis on port 6379; rexec's tests and
  # benchmarks start private ones on free ports and need none of it.
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    $sudo service redis-server stop >/dev/null 2>&1 || true
  fi
else
  echo "setup: all packages present"
fi
