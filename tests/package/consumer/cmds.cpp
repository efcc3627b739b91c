#include "cmds.h"
