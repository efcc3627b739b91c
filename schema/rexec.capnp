# The wire protocol between a rexec client and a rexec worker: the one contract between the two
# sides. Every size and list length in it is bounded by the receiver (see WorkerInfo.limits); a
# message that breaks a bound is refused with an error, never trusted.
@0x85d3d3d062246fa8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rexec::wire");

const protocolVersion :UInt32 = 1;

interface Gateway {
  # The bootstrap capability. A worker listening beyond loopback requires a token; on loopback
  # an empty token is accepted. Pipelining makes login free: call methods on `worker` at once.
  login @0 (token :Text) -> (worker :Worker);
}

interface Worker {
  info @0 () -> (info :WorkerInfo);
  # What the client must compile for, and the worker's bounds.

  findMissing @1 (modules :List(Data)) -> (missing :List(Data));
  # Of the given module hashes, the ones this worker does not hold.

  upload @2 (hash :Data, bitcode :Data) -> ();
  # Stores a bitcode module, or a library a job links (Library: an archive or an object), both
  # named by the hash of their bytes and bounded by maxModuleBytes. The worker recomputes the
  # hash and refuses a mismatch. findMissing answers for both.

  run @3 (job :Job, io :JobIo) -> (result :JobResult);
  # Runs one job to completion. With `io`, output streams to it while the job runs and stdin is
  # read from it; without, stdin is empty and output comes back in `result` (bounded).

  stats @4 () -> (stats :WorkerStats);

  ping @5 () -> ();
  # Does nothing: a liveness check, and the floor any job's round trip is measured against.

  # Input files (Job.inputs), content-addressed like modules: one batched question for a whole
  # tree, then an upload of each missing file in bounded chunks.
  findMissingFiles @6 (files :List(Data)) -> (missing :List(Data));
  # Of the given file hashes (BLAKE3-256 of the contents), the ones this worker does not hold.

  uploadFile @7 (hash :Data, size :UInt64) -> (sink :FileSink);
  # Starts an upload of one file of `size` bytes. Its chunks go to `sink`; `done` checks the
  # size and the hash and stores the file. A sink dropped before `done` stores nothing.
}

interface FileSink {
  write @0 (data :Data) -> stream;
  done @1 () -> ();
}

interface JobIo {
  write @0 (stream :OutputStream, data :Data) -> stream;
  read @1 (maxBytes :UInt32) -> (data :Data);
  # The next chunk of the job's stdin; an empty chunk means end of input.
}

enum OutputStream {
  stdout @0;
  stderr @1;
}

struct WorkerInfo {
  protocolVersion @0 :UInt32;
  rexecVersion @1 :Text;
  llvmVersion @2 :Text;
  triple @3 :Text;
  dataLayout @4 :Text;
  cpu @5 :Text;
  maxModuleBytes @6 :UInt64;
  maxStateBytes @7 :UInt64;
}

struct Limits {
  # Zero means "the worker's default"; a worker clamps every value to its own maximum.
  wallTimeMs @0 :UInt32;
  memoryBytes @1 :UInt64;
  outputBytes @2 :UInt64;
}

struct Job {
  module @0 :Data;   # the BLAKE3-256 hash of the module's bitcode
  limits @1 :Limits;
  entry :union {
    program @2 :Program;
    command @3 :Command;
  }

  # Libraries (rexec-send's .a, .o and -lNAME).
  libraries @4 :List(Library);
  # Linked with the module, in this order, besides the C and C++ runtime libraries every job
  # has. The worker answers `missingModule` while it lacks a shipped one. Its linked code is
  # keyed by the module and these together.

  # Files (programs only). Each input is placed at its path in the job's working directory
  # before main() runs; after the job, each output path (a file or a directory) is copied back
  # into the result, at most maxOutputFileBytes in all (0: the worker's default).
  inputs @5 :List(InputFile);
  outputs @6 :List(Text);
  maxOutputFileBytes @7 :UInt64;
}

struct Library {
  name @0 :Text;
  # For messages: an archive's or object's file name; for `system`, NAME of -lNAME.
  union {
    archive @1 :Data;  # the hash of a static archive (.a), uploaded like a module
    object @2 :Data;   # the hash of a relocatable object (.o), uploaded like a module
    system @3 :Void;   # the worker's own libNAME.so, from its system library directories
  }
}

struct InputFile {
  path @0 :Text;        # relative, '/'-separated; no '..', no empty or '.' components
  hash @1 :Data;        # uploaded before (findMissingFiles, uploadFile)
  size @2 :UInt64;
}

struct OutputFile {
  path @0 :Text;        # relative to the job's working directory
  data @1 :Data;
}

struct Program {
  # A plain `int main(int, char**)`, run in a fresh process.
  name @0 :Text;          # argv[0]
  args @1 :List(Text);    # argv[1..]
  noInput @2 :Bool;
  # The client has no stdin to give (none, or /dev/null): the job's stdin is at its end from the
  # start, and the worker never asks the JobIo for any.
}

struct Command {
  # A REXEC_COMMAND class: the state goes in, T::main() runs, the state comes back.
  name @0 :Text;
  state @1 :Data;
}

struct JobResult {
  outcome :union {
    exited @0 :Int32;              # the program's exit code (or the command's main() result)
    signaled @1 :Int32;            # killed by this signal number
    timedOut @2 :UInt32;           # exceeded its wall-time limit, in milliseconds
    outputLimitExceeded @3 :UInt64;# killed for writing more than this many bytes
    missingModule @4 :Void;        # the worker lacks the module: upload it and run again
    failed @5 :Failure;            # rexec could not run the job
    exception @6 :CommandException;# an exception escaped a command's main()
  }
  state @7 :Data;        # a command's state after main()
  stdout @8 :Data;       # output, when the job ran without JobIo
  stderr @9 :Data;
  timings @10 :StageTimings;

  outputs @11 :List(OutputFile);   # Job.outputs as found after the job; directories expanded
  outputProblems @12 :List(Text);  # one line per output that could not be returned
}

struct Failure {
  stage @0 :Stage;
  message @1 :Text;
  enum Stage {
    request @0;   # the job itself is malformed (unknown entry, bad state, bounds)
    compile @1;   # bitcode could not be read or compiled to machine code
    link @2;      # the JIT link failed (e.g. an undefined symbol)
    start @3;     # the child process could not be started
    internal @4;
    library @5;   # a -lNAME the job links is not on this worker ("library not found: -lNAME")
  }
}

struct CommandException {
  type @0 :Text;
  what @1 :Text;
}

struct StageTimings {
  # Microseconds spent on the worker for this job.
  compileUs @0 :UInt64;  # bitcode to machine code (0 on a cache hit)
  linkUs @1 :UInt64;     # JIT link (0 when already linked)
  runUs @2 :UInt64;      # from start of the child to its end
  compileCached @3 :Bool;
  linkCached @4 :Bool;
}

struct WorkerStats {
  modules @0 :UInt64;
  moduleBytes @1 :UInt64;
  objectCacheHits @2 :UInt64;
  objectCacheMisses @3 :UInt64;
  objectCacheBytes @4 :UInt64;
  objectCacheEntries @5 :UInt64;
  compileUs @6 :UInt64;
  linkUs @7 :UInt64;
  jobsRun @8 :UInt64;
  jobsFailed @9 :UInt64;
  linkedModules @10 :UInt64;
  moduleDiskBytes @11 :UInt64;
  objectDiskBytes @12 :UInt64;
  diskEvictions @13 :UInt64;
  corruptFilesRemoved @14 :UInt64;
  workers @15 :UInt64;           # 1 for one worker; through a queue, the live workers summed
  queueJobs @16 :UInt64;         # jobs taken from a queue and answered
  queueGarbage @17 :UInt64;      # queue entries that were not rexec jobs (skipped)
  queueExpired @18 :UInt64;      # not started: past their deadline, or their client was gone
  queueReclaimed @19 :UInt64;    # taken over from a worker that stopped answering
  queueDeadLettered @20 :UInt64; # given up after too many deliveries
  fileMissingChecks @21 :UInt64; # findMissingFiles calls answered
  fileUploadBytes @22 :UInt64;   # input file bytes received (stored or not)
  files @23 :UInt64;             # input files held
  fileBytes @24 :UInt64;
}
