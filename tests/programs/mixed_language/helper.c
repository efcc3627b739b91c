/* The C half of a mixed program: `class` is an ordinary name in C. */
int c_helper(int x) {
  int class = x;
  return class * 2;
}
