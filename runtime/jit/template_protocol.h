// The protocol between the worker and a module template process (module_template.h).
//
// Over one stream socket, the template's stdin:
//   template -> worker, once:  frame kReady ("") or kError (why it could not start)
//   worker -> template:        a frame kLibrary for each library the module links, in order
//   worker -> template, once:  frame kObject (the module's ELF object)
//   template -> worker:        frame kLinked (LinkedEntries) or kError (the linker's message)
// then any number of times:
//   worker -> template:        a ReadyJobRequest
//   template -> worker:        a ReadyJobOffer with the ReadyJobDescriptors: the processes of a
//                              job (its init or shim, and the job's own), started, their
//                              standard streams and channel made, waiting for their launch
// and the worker launches that job by sending a LaunchRequest straight to the job's process on
// the offered launch socket. The template prepares jobs between jobs and is never on a job's
// path. Frames are core/frame_io.h's. A job's own data (arguments, states, input) never passes
// through the template: every job forked from it would inherit what it held.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/jit/link_request.h"

namespace rexec::template_protocol {

enum FrameKind : uint8_t { kReady = 1, kObject = 2, kLinked = 3, kError = 4, kLibrary = 5 };

// A kLibrary frame's payload: the kind (one byte), the name's length (32 bits, host order), the
// name, then the contents.
std::string EncodeLibrary(const LibraryInput& library);
absl::StatusOr<LibraryInput> DecodeLibrary(std::string_view bytes);

// What the linked module offers: a main() to run as a program, and its commands.
struct LinkedEntries {
  bool has_main = false;
  std::vector<std::string> commands;

  std::string Encode() const;
  static absl::StatusOr<LinkedEntries> Decode(std::string_view bytes);
};

enum class JobKind : uint32_t {
  kProgram = 1,   // reads its arguments from kJobChannelIn, then runs main()
  kExecutor = 2,  // serves command jobs on its channel (command_protocol.h)
};

inline constexpr uint32_t kReadyJobMagic = 0x7278546a;  // "rxTj"

struct ReadyJobRequest {
  uint32_t magic = kReadyJobMagic;
};

// A launched job's descriptors beyond its standard streams: its channel, two pipes. From the
// worker comes a program's arguments or an executor's commands; to the worker go an executor's
// answers (a program closes it). Pipes, not one socket: a stream socket wakes its peer each
// time it reads from it (the peer may write again), a pipe only when it was full, so each
// command costs each side one wake-up, not two.
inline constexpr int kJobChannelIn = 3;
inline constexpr int kJobChannelOut = 4;

// The descriptors that come with a ReadyJobOffer, in this order: the worker's ends of a ready
// job's plumbing. The job's process holds the other ends of its streams and channel, as
// descriptors 0-4; its init (or shim) holds the other end of the status pipe.
enum ReadyJobDescriptor {
  kLaunchSocket,  // to the job's process: where its LaunchRequest goes
  kInitSocket,    // to its init (sandboxed): where a staging directory goes (kStagingMagic)
  kShimPidfd,     // of its init or shim: SIGTERM to it ends the job and all it started
  kStdinWrite,
  kStdoutRead,
  kStderrRead,
  kChannelWrite,  // to the job's kJobChannelIn; non-blocking
  kChannelRead,   // from the job's kJobChannelOut
  kStatusRead,    // the job's wait status (an int) comes here once it has ended
  kReadyJobDescriptors
};

// A job with files (LaunchRequest::has_staging) comes with its staging directory on the host
// (exec/job_files.h). Sandboxed, only the job's init may hold it (sandbox/job_file_copy.h): it
// goes to the init socket first, with a StagingNote, and init tells the job once the inputs are
// in place. Unsandboxed, it comes with the LaunchRequest, and the job starts in its "work"
// subdirectory.
inline constexpr char kUnsandboxedWork[] = "work";

inline constexpr uint32_t kLaunchMagic = 0x72785466;  // "rxTf"

struct LaunchRequest {
  uint32_t magic = kLaunchMagic;
  JobKind kind = JobKind::kProgram;
  uint64_t memory_bytes = 0;  // the job's memory limit (exec/memory_limit.h); 0: none
  uint32_t has_staging = 0;   // 1: the job has a staging directory (see above)
};

inline constexpr uint32_t kStagingMagic = 0x72785453;  // "rxTS"

struct StagingNote {
  uint32_t magic = kStagingMagic;
};

struct ReadyJobOffer {
  uint32_t magic = kReadyJobMagic;
  int32_t error = 0;  // errno of a failed fork; otherwise the ReadyJobDescriptors come along
};

// A program job's arguments, on kJobChannelIn: a 32-bit count, then each argument as a 32-bit
// length and its bytes (host byte order: both ends are on one machine).
std::string EncodeArguments(const std::vector<std::string>& argv);
// In the job: reads them from `fd`, refusing more than `max_bytes` in all.
absl::StatusOr<std::vector<std::string>> ReadArguments(int fd, size_t max_bytes);

}  // namespace rexec::template_protocol
