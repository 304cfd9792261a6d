/*
 * Test tracee for vmx-trap's CPUID handling. Prints, for CPUID executed in each kind of place:
 *   main    this executable (patched at the exec stop, or faulting)
 *   lib     a library ld.so maps at start (patched at its mmap)
 *   dlopen  a library loaded later
 * one line "WHERE hv=<CPUID.1:ECX[31]> sig=<leaf 0x40000000 signature> [max=.. l10=..]".
 *   cpuid [fork|spawn|child]: fork also reports from a fork child (sharing the patched pages) and
 *   has it exec itself; spawn uses posix_spawn (vfork + exec).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
#ifndef STATIC
void lib_report(const char *who);
#endif

static void main_report(const char *who) {
  unsigned a, b, c, d, hv, max;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  hv = c >> 31;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
  char sig[13] = {0};
  memcpy(sig, &b, 4);
  memcpy(sig + 4, &c, 4);
  memcpy(sig + 8, &d, 4);
  max = a;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000010), "c"(0));
  printf("%s hv=%u sig=%s max=%#x l10ecx=%#x\n", who, hv, sig, max, c);
}

static void all(const char *prefix, const char *self) {
  char who[64];
  snprintf(who, sizeof who, "%smain", prefix);
  main_report(who);
#ifndef STATIC
  snprintf(who, sizeof who, "%slib", prefix);
  lib_report(who);
  /* the dlopen'ed library sits next to this executable */
  char path[4096];
  snprintf(path, sizeof path, "%s", self);
  char *slash = strrchr(path, '/');
  snprintf(slash ? slash + 1 : path, sizeof path - (slash ? (size_t)(slash + 1 - path) : 0), "libvmxcpuiddl.so");
  void *h = dlopen(path, RTLD_NOW);
  void (*f)(const char *) = h ? (void (*)(const char *))dlsym(h, "lib_report") : NULL;
  snprintf(who, sizeof who, "%sdlopen", prefix);
  if (f) f(who);
  else printf("%s: %s\n", who, dlerror());
#else
  (void)self;
#endif
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  const char *mode = argc > 1 ? argv[1] : "";
  all(!strcmp(mode, "child") ? "exec-" : "", self);
  if (!strcmp(mode, "fork")) {
    pid_t c = fork();
    if (c == 0) {
      all("fork-", self);
      execl(self, self, "child", (char *)NULL);
      _exit(127);
    }
    waitpid(c, NULL, 0);
  } else if (!strcmp(mode, "spawn")) {
    pid_t c;
    char *args[] = {self, "child", NULL};
    if (posix_spawn(&c, self, NULL, NULL, args, environ) == 0) waitpid(c, NULL, 0);
  }
  return 0;
}
