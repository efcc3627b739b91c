// Returns a distinctive exit code.
int main() { return 42; }
