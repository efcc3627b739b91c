#pragma once
#include <rexec/command.h>
struct Twice { int v = 0; void main() { v *= 2; } REXEC_FIELDS(v) };
REXEC_COMMAND(Twice)
