// Fuzz target: what the worker does with a `run` or `upload` call (schema/rexec.capnp) before
// anything runs: read the message with the bounds the worker's RPC connections use, then the
// checks both front doors make (runtime/service/request_checks.h).
//
// Input: one selector byte (even: the parameters of `run`, odd: those of `upload`), then a
// Cap'n Proto message in the standard framing (segment table, segments), as a connection
// delivers it. A check that refuses the request throws a kj exception, which the RPC system
// returns to the caller; anything else (a crash, a sanitizer report) is a bug.
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rexec/worker.h"
#include "runtime/service/request_checks.h"
#include "schema/rexec.capnp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool is_upload = (data[0] & 1) != 0;
  ++data;
  --size;
  // A connection reads whole words; so does FlatArrayMessageReader.
  auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  std::memcpy(words.begin(), data, words.size() * sizeof(capnp::word));

  static const rexec::WorkerOptions options;
  capnp::ReaderOptions reader_options;
  // As the worker's connections (runtime/service/worker_server.cpp): an upload is the largest
  // message, its bitcode plus a little framing.
  reader_options.traversalLimitInWords = options.max_module_bytes / 8 + (1 << 20);

  kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader message(words, reader_options);
    if (is_upload) {
      auto params = message.getRoot<rexec::wire::Worker::UploadParams>();
      rexec::CheckUpload(params.getHash(), params.getBitcode(), options.max_module_bytes);
    } else {
      auto params = message.getRoot<rexec::wire::Worker::RunParams>();
      rexec::CheckJob(params.getJob(), options, /*output_in_result=*/!params.hasIo());
    }
  });
  return 0;
}
