// Loaded by heapscan_findings with dlopen(RTLD_GLOBAL): a module with its own TLS, so that the
// loader grows the global scope and the threads' DTVs for it.
thread_local long t_module_counter = 0;

extern "C" __attribute__((visibility("default"))) long heapscan_module_touch() {
    return ++t_module_counter;
}
