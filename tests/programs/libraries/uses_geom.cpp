// Links geom_area from a static archive: rexec-send uses_geom.cpp libgeom.a (or -L DIR -lgeom).
#include <cstdio>

extern "C" int geom_area(int width, int height);

int main() {
  std::printf("area %d\n", geom_area(6, 7));
  return 0;
}
