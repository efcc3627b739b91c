// The client's side of a running program's standard streams: output the worker streams is
// written to local file descriptors as it arrives; stdin is read from one when the worker asks.
#pragma once

#include <memory>

#include "client/fd_reader.h"
#include "rexec/client.h"
#include "schema/rexec.capnp.h"

namespace rexec {

// True when reading `fd` could only ever give the end of input: none (-1), or /dev/null.
bool HasNoInput(int fd);

class StreamJobIo final : public wire::JobIo::Server {
 public:
  explicit StreamJobIo(ProgramStreams streams);

  kj::Promise<void> write(WriteContext context) override;
  kj::Promise<void> read(ReadContext context) override;

 private:
  ProgramStreams streams_;
  std::unique_ptr<FdReader> stdin_;
};

}  // namespace rexec
