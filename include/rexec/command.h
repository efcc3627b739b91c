// PLACEHOLDER (to be replaced by the full command header): only the C ABI between a worker and
// a command entry, so the worker side builds.
#pragma once
#include <stddef.h>
extern "C" {
typedef struct rexec_command_call {
  const unsigned char* state_in;
  size_t state_in_size;
  void* context;
  void (*state_out)(void* context, const unsigned char* data, size_t size);
  void (*failure)(void* context, int kind, const char* type_name, const char* message);
} rexec_command_call;
enum { REXEC_FAILURE_BAD_STATE = 1, REXEC_FAILURE_EXCEPTION = 2 };
}
