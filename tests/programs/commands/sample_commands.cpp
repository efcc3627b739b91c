// The module a worker receives: the commands' code, from the header the host program includes.
#include "sample_commands.h"
