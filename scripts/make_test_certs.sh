#!/usr/bin/env bash
# Makes throwaway TLS material for tests and trials in OUTDIR (created if missing), valid for two
# days, with Debian's openssl:
#   ca.pem, ca.key                 a CA that signs the two certificates below
#   server.pem, server.key         a worker's certificate for 127.0.0.1 (IP SAN and common name)
#   client.pem, client.key         a client certificate (for rexec-worker --tls-client-ca ca.pem)
#   other-ca.pem                   an unrelated CA, trusted by nothing above
#   other-client.pem, other-client.key   a client certificate signed by that other CA
# Keys are unencrypted P-256 keys: fast to make, and never meant to protect anything real.
#
#   scripts/make_test_certs.sh /tmp/certs
#   rexec-worker --tls-cert /tmp/certs/server.pem --tls-key /tmp/certs/server.key
#   rexec-send --worker 127.0.0.1:7070 --tls-ca /tmp/certs/ca.pem hello.cpp
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out="$1"
mkdir -p "$out"
cd "$out"

days=2
key_options=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

# A self-signed CA: NAME, SUBJECT.
make_ca() {
  openssl req -x509 "${key_options[@]}" -days "$days" -subj "/CN=$2" \
    -keyout "$1.key" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# A leaf certificate: NAME, SUBJECT, SIGNING CA, extensions.
make_leaf() {
  local extensions
  extensions="$(mktemp)"
  printf '%s\n' "$4" >"$extensions"
  openssl req -new "${key_options[@]}" -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile "$extensions" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$extensions"
}

make_ca ca "rexec test CA"
make_ca other-ca "rexec unrelated test CA"
# kj's TLS (Cap'n Proto 0.9.2) checks the name a client dials as a DNS name, which for an address
# falls back to the common name as long as no DNS name is in the SAN; the IP SAN is what other TLS
# clients check.
make_leaf server 127.0.0.1 ca "$(printf '%s\n' \
  'subjectAltName=IP:127.0.0.1' \
  'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=serverAuth')"
make_leaf client "rexec test client" ca "$(printf '%s\n' \
  'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=clientAuth')"
make_leaf other-client "rexec unrelated test client" other-ca "$(printf '%s\n' \
  'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=clientAuth')"
rm -f other-ca.key
