// Loaded with dlopen() after the symbolizer started: appears only on refresh.
__attribute__((noinline)) int sym_plugin_entry(int x) {
  volatile int acc = x;
  return acc * 3 + 1;
}
