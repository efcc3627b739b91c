// A static library's one function (built into libgeom.a by send_libraries_test). GEOM_BIAS
// makes a second, different build of the same library.
#ifndef GEOM_BIAS
#define GEOM_BIAS 0
#endif
int geom_area(int width, int height) { return width * height + GEOM_BIAS; }
