// The module of count_lines.h: rexec-send count_lines.cpp --input data.txt --output report
#include "count_lines.h"
