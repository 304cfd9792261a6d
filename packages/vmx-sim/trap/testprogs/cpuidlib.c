/* A shared library with its own CPUID instruction: patched when ld.so maps it (or dlopen does). */
#include <stdio.h>

void lib_report(const char *who) {
  unsigned a, b, c, d, hv;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  hv = c >> 31;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
  char sig[13] = {0};
  __builtin_memcpy(sig, &b, 4);
  __builtin_memcpy(sig + 4, &c, 4);
  __builtin_memcpy(sig + 8, &d, 4);
  printf("%s hv=%u sig=%s\n", who, hv, sig);
}
