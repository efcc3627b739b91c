// A job's files on the worker's side: the staging directory that carries its inputs in and its
// outputs out (the job's side of it: sandbox/job_file_copy.h).
//
// Per job, a directory beside the file store (store/file_store.h), on its filesystem:
//   sandboxed:    in/       the inputs as the job must find them, hard links into the store
//                           (read-only, the worker's): the job's init copies them into /work
//                 outputs   the output paths and the byte bound, for init
//                 out/      owned by the jobs' id outside the sandbox, where init copies the
//                           outputs to after the job
//   unsandboxed:  work/     the job's working directory: copies of the inputs (a job that runs
//                           as the worker's user could write through a link into the store)
// Its descriptor goes with the job's launch (template_protocol.h's kStaging); the directory is
// removed when the JobStaging goes.
//
// Reading the outputs back follows no link the job could have planted (openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NOFOLLOW below), takes regular files and directories
// only, and is bounded in bytes and entries.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/content_hash.h"
#include "runtime/store/file_store.h"

namespace rexec {

struct JobInput {
  std::string path;  // a checked job path (core/relative_path.h)
  ContentHash hash;
  uint64_t size = 0;
};

struct JobFileRequest {
  std::vector<JobInput> inputs;
  std::vector<std::string> outputs;  // checked job paths, none within another
  uint64_t max_output_bytes = 0;

  bool empty() const { return inputs.empty() && outputs.empty(); }
};

struct FetchedFile {
  std::string path;
  std::string data;
};

struct FetchedOutputs {
  std::vector<FetchedFile> files;
  std::vector<std::string> problems;  // one line each: a missing output, the bound reached
};

// The id sandboxed jobs have outside their user namespace, which must own out/.
struct SandboxOwner {
  uid_t uid;
  gid_t gid;
};

class JobStaging {
 public:
  // `sandboxed`: the owner of out/; none for a job that runs unsandboxed. NotFound when the store
  // lost an input since it was checked (an eviction); other errors are the disk's.
  static absl::StatusOr<std::unique_ptr<JobStaging>> Prepare(
      FileStore& store, const JobFileRequest& request, std::optional<SandboxOwner> sandboxed);
  ~JobStaging();
  JobStaging(const JobStaging&) = delete;
  JobStaging& operator=(const JobStaging&) = delete;

  int fd() const { return fd_; }

  // After the job has ended.
  FetchedOutputs CollectOutputs() const;

 private:
  JobStaging(std::string path, int fd, const JobFileRequest& request, bool sandboxed)
      : path_(std::move(path)), fd_(fd), outputs_(request.outputs),
        max_output_bytes_(request.max_output_bytes), sandboxed_(sandboxed) {}

  const std::string path_;
  const int fd_;
  const std::vector<std::string> outputs_;
  const uint64_t max_output_bytes_;
  const bool sandboxed_;
};

}  // namespace rexec
