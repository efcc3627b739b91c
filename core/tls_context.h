// kj::TlsContext from TlsOptions (include/rexec/tls_options.h): the one place where certificate,
// key and CA files become TLS, for the worker's listener and for clients alike.
//
// Trust is pinned: the system's CA store is never consulted, only the CA file given, every
// certificate in it. A worker given a CA file requires client certificates that it signed. A
// missing or unreadable file, a file without a certificate, a key that does not parse, an option
// without the one it needs: each is an InvalidArgument status naming the file or the option.
#pragma once

#include <kj/compat/tls.h>

#include "absl/status/statusor.h"
#include "rexec/tls_options.h"

namespace rexec {

enum class TlsSide { kServer, kClient };

// Null when `options` ask for no TLS: a server without a certificate, a client without a CA.
absl::StatusOr<kj::Own<kj::TlsContext>> MakeTlsContext(const TlsOptions& options, TlsSide side);

}  // namespace rexec
