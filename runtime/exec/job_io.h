// Where a running job's output goes and its input comes from.
//
// Either a client's capability (output streamed while the job runs, stdin read on demand) or a
// buffer returned with the result. The executor only sees this interface, not Cap'n Proto.
#pragma once

#include <kj/array.h>
#include <kj/async.h>

#include <string>

namespace rexec {

enum class OutputKind { kStdout, kStderr };

class JobIo {
 public:
  virtual ~JobIo() noexcept(false) = default;
  // Resolves when the sink can take more (flow control).
  virtual kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) = 0;
  // The next chunk of stdin, at most `max_bytes`; an empty array means end of input.
  virtual kj::Promise<kj::Array<kj::byte>> Read(size_t max_bytes) = 0;
};

// Collects output in memory and has no input: for jobs whose results come back whole.
class BufferedJobIo final : public JobIo {
 public:
  kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) override {
    (kind == OutputKind::kStdout ? stdout_ : stderr_)
        .append(reinterpret_cast<const char*>(data.begin()), data.size());
    return kj::READY_NOW;
  }
  kj::Promise<kj::Array<kj::byte>> Read(size_t) override { return kj::Array<kj::byte>(); }

  std::string& stdout_text() { return stdout_; }
  std::string& stderr_text() { return stderr_; }

 private:
  std::string stdout_;
  std::string stderr_;
};

}  // namespace rexec
