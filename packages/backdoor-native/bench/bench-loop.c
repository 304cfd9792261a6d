/*
 * The peer of the addon benchmark: a plain C loop doing the same `in eax, dx` GETVERSION call
 * the addon makes, N times, in the same guest. Prints `calls=N ns=T`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  struct timespec t0, t1;
  uint32_t sink = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    uint32_t a = 0x564D5868, b = ~0x564D5868u, c = 0xFFFF000A, d = 0x5658, s = 0, di = 0;
    __asm__ __volatile__("inl %%dx, %%eax" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(s), "+D"(di)::"memory");
    sink += a;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("calls=%ld ns=%lld version=%u\n", n, ns, sink / (uint32_t)(n ? n : 1));
  return 0;
}
