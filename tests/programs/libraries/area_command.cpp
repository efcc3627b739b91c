// A command class whose main() calls into a shipped archive (libgeom.a).
#include <rexec/command.h>

extern "C" int geom_area(int width, int height);

struct Area {
  int width = 0;
  int height = 0;
  int area = 0;
  int main() {
    area = geom_area(width, height);
    return 0;
  }
  REXEC_FIELDS(width, height, area)
};
REXEC_COMMAND(Area)
