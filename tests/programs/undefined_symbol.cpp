// Compiles, but the worker cannot link it: nothing defines this function.
extern "C" int rexec_test_function_defined_nowhere(int);

int main() { return rexec_test_function_defined_nowhere(3); }
