// The command module: built to bitcode at build time by rexec_add_commands (see CMakeLists.txt).
#include "commands.h"
