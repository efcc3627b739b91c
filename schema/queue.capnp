# What travels through Redis in queue mode. Each job is one entry of the queue's job stream, and
# each reply (an output chunk, or the final result) one entry of the client's reply stream; both
# carry a single field `d` holding one of the messages below. Anything else found in a stream is
# garbage: skipped, logged and acknowledged. Every size is bounded by the reader, as on the wire.
@0xc4f1a6e2b7d93a51;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rexec::wire");

using Rexec = import "rexec.capnp";

const queueFormatVersion :UInt32 = 1;

struct QueuedJob {
  version @0 :UInt32;       # queueFormatVersion
  id @1 :Text;              # unique per submission; a client delivers each job's result once
  client @2 :Text;          # the submitting client: its reply stream and liveness key derive from it
  deadlineMs @3 :UInt64;    # Unix time (ms) after which no worker may start the job
  job @4 :Rexec.Job;
  stdin @5 :Data;           # a program's whole standard input, read up front (bounded)
  streamOutput @6 :Bool;    # output as chunks while the job runs (else inside the result)
}

struct QueueReply {
  jobId @0 :Text;
  worker @1 :Text;          # the consumer that ran it: a change means the job was restarted
  union {
    output @2 :OutputChunk;
    result @3 :Rexec.JobResult;
    started @4 :Void;       # sent once a job has run a while (fast jobs only send their result)
  }
}

struct OutputChunk {
  stream @0 :Rexec.OutputStream;
  data @1 :Data;
}
