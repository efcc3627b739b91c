; Inline assembly the asm parser rejects: LLVM reports it as an error diagnostic, which without
; a handler calls exit(1) in whatever process runs code generation.
; Assembled with: llvm-as-19 bad_inline_asm.ll -o bad_inline_asm.bc
target triple = "x86_64-pc-linux-gnu"

define i32 @main() {
  %r = call i32 asm sideeffect "bogusinstr $0", "=r"()
  ret i32 %r
}
