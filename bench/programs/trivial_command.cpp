#include "trivial_command.h"
