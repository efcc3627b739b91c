// An object's one function (built into helpers.o by send_libraries_test).
int helper_twice(int x) { return 2 * x; }
