// The protocol between the worker and a module template process (module_template.h).
//
// Over one stream socket, the template's stdin:
//   template -> worker, once:  frame kReady ("") or kError (why it could not start)
//   worker -> template:        a frame kLibrary for each library the module links, in order
//   worker -> template, once:  frame kObject (the module's ELF object)
//   template -> worker:        frame kLinked (LinkedEntries) or kError (the linker's message)
// then any number of times:
//   worker -> template:        a ReadyJobRequest
//   template -> worker:        a ReadyJobOffer: the processes of a job, started and waiting for
//                              their launch, as a socket to them and a pidfd of the first
// and the worker launches that job by sending a LaunchRequest with the job's five descriptors
// (SCM_RIGHTS, in LaunchDescriptor order) straight to the offered socket. The worker asks for
// the next job as it launches one, so the template prepares it while the job runs and is never
// on a job's path. Frames are core/frame_io.h's. A job's own data (arguments, states, input,
// even its descriptors) never passes through the template: every job forked from it would
// inherit what it held.
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
  kProgram = 1,   // reads its arguments from the channel, then runs main()
  kExecutor = 2,  // serves command jobs on the channel (command_protocol.h)
};

// The descriptors that come with a LaunchRequest, in this order. The job gets the first three as
// its standard streams and the channel as descriptor 3; its shim writes the job's wait status
// (an int) to the status pipe when the job has ended.
enum LaunchDescriptor { kStdin, kStdout, kStderr, kChannel, kStatus, kLaunchDescriptors };
// A job with files (LaunchRequest::has_staging) gets a sixth: its staging directory on the host
// (exec/job_files.h). Sandboxed, only the job's init holds it (sandbox/job_file_copy.h);
// unsandboxed, the job starts in its "work" subdirectory.
inline constexpr int kStaging = kLaunchDescriptors;
inline constexpr size_t kMaxLaunchDescriptors = kLaunchDescriptors + 1;
inline constexpr char kUnsandboxedWork[] = "work";

inline constexpr uint32_t kLaunchMagic = 0x72785466;  // "rxTf"

struct LaunchRequest {
  uint32_t magic = kLaunchMagic;
  JobKind kind = JobKind::kProgram;
  uint64_t memory_bytes = 0;  // the job's memory limit (exec/memory_limit.h); 0: none
  uint32_t has_staging = 0;   // 1: a staging directory's descriptor comes along (kStaging)
};

inline constexpr uint32_t kReadyJobMagic = 0x7278546a;  // "rxTj"

struct ReadyJobRequest {
  uint32_t magic = kReadyJobMagic;
};

// The descriptors that come with a ReadyJobOffer, in this order: where the job's LaunchRequest
// goes, and a pidfd of the job's shim (or init), which ends once the job has ended and its
// status is in the status pipe.
enum ReadyJobDescriptor { kLaunchSocket, kShimPidfd, kReadyJobDescriptors };

struct ReadyJobOffer {
  uint32_t magic = kReadyJobMagic;
  int32_t error = 0;  // errno of a failed fork; otherwise the ReadyJobDescriptors come along
};

// A program job's arguments, on its channel: a 32-bit count, then each argument as a 32-bit
// length and its bytes (host byte order: both ends are on one machine).
std::string EncodeArguments(const std::vector<std::string>& argv);
// In the job: reads them from `fd`, refusing more than `max_bytes` in all.
absl::StatusOr<std::vector<std::string>> ReadArguments(int fd, size_t max_bytes);

}  // namespace rexec::template_protocol
