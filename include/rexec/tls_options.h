// TLS between rexec clients and a worker's listener (Cap'n Proto's kj-tls, OpenSSL underneath).
// All files are PEM. One struct serves both ends, read from each end's point of view:
//
//   worker (WorkerOptions::tls): `certificate_file` and `key_file` are the worker's identity and
//     turn TLS on. `ca_file`, if set, makes client certificates mandatory: only a client whose
//     certificate that CA signed gets past the handshake (mutual TLS).
//   client (ClientOptions::tls): `ca_file` turns TLS on and is all that is trusted: the worker's
//     certificate must be signed by a certificate in that file (the system's CA store is not
//     consulted) and must name the host dialed (for an address such as 127.0.0.1: as its common
//     name, or as a DNS name in its subjectAltName; kj 0.9.2 checks names as DNS names).
//     `certificate_file` and `key_file` are an optional client certificate.
//
// TLS covers the Cap'n Proto listener only: the Redis queue and the --metrics listener are not TLS.
#pragma once

#include <string>

namespace rexec {

struct TlsOptions {
  std::string certificate_file;  // certificate (chain: leaf first) presented to the other end
  std::string key_file;          // its private key, unencrypted
  std::string ca_file;           // the CA certificate(s) the other end's certificate must chain to
};

}  // namespace rexec
