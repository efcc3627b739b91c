// helper_twice again, needing a symbol nothing defines: linking it must fail that job cleanly.
extern int rexec_defined_nowhere(int x);
int helper_twice(int x) { return rexec_defined_nowhere(x) * 2; }
