// Frames between the worker and a command executor process, over its two channel pipes.
//
// An executor is a long-lived child that holds one linked module and runs its commands one job
// at a time, so a command job costs one message each way instead of a fork. Requests go on the
// executor's channel in, responses on its channel out (jit/template_protocol.h). The executor runs
// user code, so the worker treats every response as untrusted: sizes are bounded, and anything
// malformed ends that executor.
//
//   request:  RequestHeader, command name, state
//   response: ResponseHeader, state, exception type, exception message
//
// A job's output does not travel here: it goes to the executor's stdout and stderr pipes, which
// the worker streams while the job runs (OutputPump).
#pragma once

#include <cstdint>

namespace rexec::command_protocol {

inline constexpr uint32_t kRequestMagic = 0x72785271;   // "rxRq"
inline constexpr uint32_t kResponseMagic = 0x72785273;  // "rxRs"

struct RequestHeader {
  uint32_t magic = kRequestMagic;
  uint32_t name_bytes = 0;
  uint64_t state_bytes = 0;
  uint64_t memory_bytes = 0;  // 0: unlimited
};

enum class Status : uint32_t {
  kOk = 0,              // main() returned; `code` is its result and `state` the new state
  kBadState = 1,        // the state could not be decoded; `message` says why
  kException = 2,       // main() threw: `type` and `message`
  kUnknownCommand = 3,  // no REXEC_COMMAND of that name in the module
};

// ResponseHeader::flags.
// The job left threads or processes running: the worker must retire this executor.
inline constexpr uint32_t kRetireExecutor = 1;
// The job's stdout or stderr pipe still held output when the executor answered: the worker
// reads them until empty. Without it, the worker has read all of the job's output already.
inline constexpr uint32_t kOutputLeft = 2;

struct ResponseHeader {
  uint32_t magic = kResponseMagic;
  Status status = Status::kOk;
  int32_t code = 0;
  uint32_t flags = 0;
  uint64_t state_bytes = 0;
  uint64_t type_bytes = 0;
  uint64_t message_bytes = 0;
};

}  // namespace rexec::command_protocol
