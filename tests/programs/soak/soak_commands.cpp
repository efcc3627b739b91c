// The module a worker receives: the commands' code, from the header the soak test includes.
#include "soak_commands.h"
