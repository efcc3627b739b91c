# Between a client and its compiler process (rexec-compile, compiler/compiler_process.h): one
# request on the process's stdin, one reply on its stdout. Both ends are the same user's
# programs, but the reply is still read with bounds: the compiler may have crashed mid-write.
@0xf92ea50f066af2a9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rexec::wire");

struct CompileRequest {
  union {
    compile :group {
      sources @0 :List(Text);
      flags @1 :List(Text);
      targetTriple @2 :Text;
      colorDiagnostics @3 :Bool;
      preambleCacheDir @5 :Text;  # empty: no precompiled preambles
    }
    inspect @4 :Data;  # bitcode built ahead of time: find its entry points
  }
}

struct CompileReply {
  diagnostics @0 :Text;    # clang's, warnings included
  inputs @1 :List(Text);   # every file the compilation read
  union {
    module @2 :CompiledModule;
    error @3 :CompileError;
  }
}

struct CompiledModule {
  bitcode @0 :Data;
  commands @1 :List(CompiledCommand);
  hasMain @2 :Bool;
}

struct CompiledCommand {
  name @0 :Text;
  descriptor @1 :Text;
}

struct CompileError {
  code @0 :UInt32;   # an absl::StatusCode
  message @1 :Text;
}
