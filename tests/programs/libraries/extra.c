// Bitcode made elsewhere (clang -c -emit-llvm extra.c -o extra.bc), linked in as a source.
int extra_offset(void) { return 7; }
