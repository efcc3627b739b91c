// Maps 1 GiB of shared anonymous memory and touches every page: memory that RLIMIT_DATA does not
// count. Prints what happened (exit 3 if the mapping was refused).
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
  size_t size = (size_t)1 << 30;
  char* block = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) {
    printf("mapping 1 GiB of shared memory failed\n");
    return 3;
  }
  memset(block, 1, size);
  printf("mapped and touched 1 GiB of shared memory\n");
  return 0;
}
