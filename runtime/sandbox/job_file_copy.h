// Moving a job's files across the sandbox's wall, done by the job's init (sandbox_entry.h), which
// alone holds a descriptor of the job's staging directory on the host (exec/job_files.h made it):
//
//   staging/in/       the inputs, as the tree the job must find in /work (read-only links)
//   staging/outputs   what to fetch back: "<max bytes>\n" then one job path per line
//   staging/out/      where init copies the outputs to (owned by the jobs' id outside)
//
// Before the job starts, init copies in/ into /work, so the inputs count against the job's sized
// scratch space; then it closes nothing the job could reach: the job never holds the staging
// descriptor, and init is not dumpable. After the job has ended (every process of it killed),
// init copies each output path from /work into out/: regular files and directories only, no
// link followed (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), at most <max bytes> + 1 bytes and
// kMaxOutputEntries + 1 entries in all, so that the worker, which checks what it reads again,
// can tell "over the bound" from "exactly at it". A path that is missing, a link or a special
// file is skipped: the worker then reports it missing.
//
// Async-signal-safe (no allocation): both run between fork() and the job.
#pragma once

#include <cstdint>

namespace rexec {

inline constexpr char kStagedInputs[] = "in";
inline constexpr char kStagedOutputs[] = "out";
inline constexpr char kOutputList[] = "outputs";
inline constexpr uint64_t kMaxOutputEntries = 10000;  // files and directories fetched back
inline constexpr uint64_t kMaxOutputListBytes = 60 << 10;

// nullptr on success, else the step that failed (errno says why).
const char* CopyInputsIn(int staging_fd, int work_fd);
// Copies what it can; never fails the job (what is missing the worker reports).
void CopyOutputsOut(int staging_fd, int work_fd);

}  // namespace rexec
