// What the worker checks in a request from outside before anything runs: the module hash of a
// findMissing, run or queued job, an upload (size, and that the bitcode matches its hash), and a
// Job (entry, argument count, state size, limits clamped to the worker's maxima, its libraries:
// how many, their hashes, and names that can only name a file in a library directory).
//
// A job's files are checked too: bounded counts and sizes, paths that stay below the working
// directory (core/relative_path.h), no duplicates, no input below another that is a file, no
// output within another.
//
// Both front doors (worker_service.h, queue_consumer.h via job_runner.h) call these, and so do
// the fuzz targets in fuzz/, so what is fuzzed is exactly what the worker runs. Each check
// throws a kj exception with a clear message for a request that breaks it (the RPC front door
// reports it to the caller).
#pragma once

#include <capnp/common.h>

#include <string>
#include <vector>

#include "rexec/content_hash.h"
#include "rexec/worker.h"
#include "runtime/exec/job_files.h"
#include "runtime/exec/program_executor.h"
#include "runtime/jit/link_request.h"
#include "schema/rexec.capnp.h"

namespace rexec {

// The most input files one job may have.
inline constexpr size_t kMaxJobInputs = 100'000;

// The 32 bytes of a module hash.
ContentHash RequireModuleHash(capnp::Data::Reader hash);

// An upload of `bitcode` under `hash`: the hash's length, the module's size and that the
// bitcode hashes to it. Returns the hash.
ContentHash CheckUpload(capnp::Data::Reader hash, capnp::Data::Reader bitcode,
                        uint64_t max_module_bytes);

// A Job as the worker checked it: what running it needs, copied out of the message.
struct CheckedJob {
  ContentHash module;
  JobLimits limits;
  bool is_program = false;
  std::vector<std::string> argv;  // a program's, argv[0] first
  std::string command_name;       // a command's
  std::string state;              // a command's
  // Without the runtime libraries (-lm, ...), which every job has; a system library's path is
  // not resolved yet.
  std::vector<LinkedLibrary> libraries;
  JobFileRequest files;           // the job's inputs and outputs
};

// `output_in_result`: the job has no JobIo, so its output comes back inside the result and is
// bounded by options.max_buffered_output_bytes too.
CheckedJob CheckJob(wire::Job::Reader job, const WorkerOptions& options, bool output_in_result);

}  // namespace rexec
