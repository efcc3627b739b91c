; Valid IR that code generation cannot lower: rdrand on a CPU model without the feature makes
; instruction selection end the process with "LLVM ERROR: Cannot select".
; Assembled with: llvm-as-19 codegen_fatal_error.ll -o codegen_fatal_error.bc
target triple = "x86_64-pc-linux-gnu"

define i32 @main() {
  %r = call { i32, i32 } @llvm.x86.rdrand.32()
  %v = extractvalue { i32, i32 } %r, 0
  ret i32 %v
}

declare { i32, i32 } @llvm.x86.rdrand.32()
