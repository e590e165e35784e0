/* The module of tls_dynamic: a TLS block too large for glibc's static TLS surplus, so that
   dlopen() makes the loader allocate it dynamically (through malloc, pointed to by the DTV). */
__thread void* t_big_tls[(1 << 20) / sizeof(void*)];

void** keep_in_tls(void* p) {
    t_big_tls[0] = p;
    return &t_big_tls[0];
}
