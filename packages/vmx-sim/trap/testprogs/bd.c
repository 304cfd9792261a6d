/*
 * Test tracee for vmx-trap: makes VMware backdoor calls the way open-vm-tools does (no ioperm, so
 * outside VMware each one faults) and prints what came back. One subcommand per test case:
 *   lb [CMD [EBX]]   one `in eax,dx` on 0x5658 (default GETVERSION); also in ax,dx / in al,dx
 *   hb TEXT          HB out of TEXT (rep outsb on 0x5659), then HB in of as many bytes (rep insb)
 *   hcall            LB GETVERSION through vmcall and vmmcall (whichever traps on this CPU)
 *   hcall-hb TEXT    HB out/in through vmcall, then vmmcall
 *   fault CMD        an LB call the host refuses: expect our own SIGSEGV handler to run
 *   signals          faults that are not backdoor calls must reach our own handlers unchanged
 *   threads          two threads and a fork child each make a call
 *   vsock            socket(AF_VSOCK) must fail with EAFNOSUPPORT, here and in a child
 *   bench N          N GETVERSION calls; prints microseconds per call
 *   fake-cpuid-fault what CPUID faulting looks like to a tracer (SIGSEGV, SI_KERNEL, rip at 0F A2),
 *                    made without the CPU feature: only for vmx-trap --intercept fault
 *   exit N | kill SIG
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x564D5868u

struct regs {
  uint64_t ax, bx, cx, dx, si, di;
};

static void lb(struct regs *r) {
  __asm__ volatile("inl %%dx, %%eax"
                   : "+a"(r->ax), "+b"(r->bx), "+c"(r->cx), "+d"(r->dx), "+S"(r->si), "+D"(r->di)
                   :
                   : "memory");
}

static struct regs getversion(uint32_t ebx) {
  /* The upper half of rsi is not part of the call: it must come back as it went in. */
  struct regs r = {MAGIC, ebx, 0xFFFF000Au, 0x5658, 0x1234567800000007ull, 0};
  lb(&r);
  return r;
}

static void print_regs(const char *what, const struct regs *r) {
  printf("%s: eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x rsi=%016llx\n", what, (uint32_t)r->ax,
         (uint32_t)r->bx, (uint32_t)r->cx, (uint32_t)r->dx, (uint32_t)r->si, (uint32_t)r->di,
         (unsigned long long)r->si);
}

static sigjmp_buf jb;
static volatile sig_atomic_t caught_sig, caught_code;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  caught_sig = sig;
  caught_code = si->si_code;
  if (sig != SIGTRAP) siglongjmp(jb, 1); /* int3 resumes after itself */
}
static void catch_faults(void) {
  struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGTRAP, &sa, NULL);
}
static void report(const char *what) {
  if (caught_sig) printf("%s: caught %s si_code=%d\n", what, sigabbrev_np(caught_sig), (int)caught_code);
  else printf("%s: no signal\n", what);
  caught_sig = 0;
}

static void hcall(const char *name, int vmmcall) {
  struct regs r = {MAGIC, ~MAGIC, 10, 0, 0, 0}; /* dx.lo = flags: LB */
  caught_sig = 0;
  if (!sigsetjmp(jb, 1)) {
    if (vmmcall)
      __asm__ volatile("vmmcall" : "+a"(r.ax), "+b"(r.bx), "+c"(r.cx), "+d"(r.dx), "+S"(r.si), "+D"(r.di)::"memory");
    else
      __asm__ volatile("vmcall" : "+a"(r.ax), "+b"(r.bx), "+c"(r.cx), "+d"(r.dx), "+S"(r.si), "+D"(r.di)::"memory");
    printf("%s: eax=%08x ebx=%08x ecx=%08x edx=%08x rax=%016llx\n", name, (uint32_t)r.ax, (uint32_t)r.bx,
           (uint32_t)r.cx, (uint32_t)r.dx, (unsigned long long)r.ax);
  } else {
    report(name);
  }
}

static void hcall_hb(const char *name, int vmmcall, const char *text) {
  size_t n = strlen(text);
  char back[256] = {0};
  for (volatile int dir = 0; dir < 2; dir++) {
    /* out: dx = HB|WRITE (3), rsi = buffer; in: dx = HB (1), rdi = buffer */
    struct regs r = {MAGIC, 0x10000, n, dir == 0 ? 3 : 1, dir == 0 ? (uint64_t)text : 0,
                     dir == 0 ? 0 : (uint64_t)back};
    caught_sig = 0;
    if (!sigsetjmp(jb, 1)) {
      if (vmmcall)
        __asm__ volatile("vmmcall" : "+a"(r.ax), "+b"(r.bx), "+c"(r.cx), "+d"(r.dx), "+S"(r.si), "+D"(r.di)::"memory");
      else
        __asm__ volatile("vmcall" : "+a"(r.ax), "+b"(r.bx), "+c"(r.cx), "+d"(r.dx), "+S"(r.si), "+D"(r.di)::"memory");
      if (dir == 1) printf("%s: ebx=%08x back=\"%s\"\n", name, (uint32_t)r.bx, back);
    } else {
      report(name);
      return;
    }
  }
}

static void *thread_main(void *arg) {
  struct regs r = getversion((uint32_t)(uintptr_t)arg);
  char what[32];
  snprintf(what, sizeof what, "thread%d", (int)(uintptr_t)arg);
  print_regs(what, &r);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *cmd = argc > 1 ? argv[1] : "lb";
  if (!strcmp(cmd, "lb")) {
    uint32_t c = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 10;
    uint32_t b = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : ~MAGIC;
    struct regs r = {MAGIC, b, c, 0x5658, 0x1234567800000007ull, 0};
    lb(&r);
    print_regs("lb", &r);
    uint64_t ax = MAGIC, bx = ~MAGIC, cx = 10, dx = 0x5658;
    __asm__ volatile("inw %%dx, %%ax" : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx)::"memory");
    printf("in ax: ax=%04x ebx=%08x\n", (unsigned)(ax & 0xFFFF), (uint32_t)bx);
    ax = 0xFFFFFFFF00000000ull | MAGIC, bx = ~MAGIC, cx = 10, dx = 0x5658;
    __asm__ volatile("inb %%dx, %%al" : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx)::"memory");
    printf("in al: rax=%016llx\n", (unsigned long long)ax); /* only al changes */
  } else if (!strcmp(cmd, "hb") && argc > 2) {
    const char *text = argv[2];
    size_t n = strlen(text);
    uint64_t ax = MAGIC, bx = 0x10000, cx = n, dx = 0x5659, si = (uint64_t)text, di = 0xC0FFEE;
    __asm__ volatile("cld; rep outsb" : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx), "+S"(si), "+D"(di)::"memory");
    printf("out: ebx=%08x rcx=%llu rsi-advance=%lld\n", (uint32_t)bx, (unsigned long long)cx,
           (long long)(si - (uint64_t)text));
    char *back = calloc(1, n + 1);
    ax = MAGIC, bx = 0x10000, cx = n, dx = 0x5659, si = 0xC0FFEE, di = (uint64_t)back;
    __asm__ volatile("cld; rep insb" : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx), "+S"(si), "+D"(di)::"memory");
    printf("in: ebx=%08x rcx=%llu rdi-advance=%lld back=\"%s\"\n", (uint32_t)bx, (unsigned long long)cx,
           (long long)(di - (uint64_t)back), back);
  } else if (!strcmp(cmd, "hcall")) {
    catch_faults();
    hcall("vmcall", 0);
    hcall("vmmcall", 1);
  } else if (!strcmp(cmd, "hcall-hb") && argc > 2) {
    catch_faults();
    hcall_hb("vmcall", 0, argv[2]);
    hcall_hb("vmmcall", 1, argv[2]);
  } else if (!strcmp(cmd, "fault") && argc > 2) {
    catch_faults();
    if (!sigsetjmp(jb, 1)) {
      struct regs r = {MAGIC, 0, (uint32_t)strtoul(argv[2], NULL, 0), 0x5658, 0, 0};
      lb(&r);
      print_regs("fault", &r);
    } else {
      report("fault");
    }
  } else if (!strcmp(cmd, "signals")) {
    catch_faults();
    if (!sigsetjmp(jb, 1)) {
      uint64_t ax = MAGIC, dx = 0x1234;
      __asm__ volatile("inl %%dx, %%eax" : "+a"(ax), "+d"(dx)::"memory");
    }
    report("in 0x1234");
    if (!sigsetjmp(jb, 1)) __asm__ volatile("ud2");
    report("ud2");
    __asm__ volatile("int3");
    report("int3");
    if (!sigsetjmp(jb, 1)) kill(getpid(), SIGSEGV);
    report("kill SIGSEGV");
    if (!sigsetjmp(jb, 1)) { /* an `in` on the backdoor port with the wrong direction flag */
      uint64_t ax = MAGIC, cx = 1, dx = 0x5659, si = 0;
      __asm__ volatile("std; rep outsb; cld" : "+a"(ax), "+c"(cx), "+d"(dx), "+S"(si)::"memory");
    }
    __asm__ volatile("cld");
    report("std rep outsb");
  } else if (!strcmp(cmd, "threads")) {
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_main, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pid_t c = fork();
    if (c == 0) {
      struct regs r = getversion(100);
      print_regs("child", &r);
      pthread_t t3;
      pthread_create(&t3, NULL, thread_main, (void *)(uintptr_t)3);
      pthread_join(t3, NULL);
      _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    struct regs r = getversion(0);
    print_regs("main", &r);
    printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  } else if (!strcmp(cmd, "vsock")) {
    int fd = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
    printf("vsock: %s\n", fd < 0 ? strerrorname_np(errno) : "opened");
    pid_t c = fork();
    if (c == 0) {
      fd = socket(40, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      printf("child vsock: %s\n", fd < 0 ? strerrorname_np(errno) : "opened");
      _exit(0);
    }
    waitpid(c, NULL, 0);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("unix: %s\n", fd < 0 ? strerrorname_np(errno) : "opened");
  } else if (!strcmp(cmd, "bench") && argc > 2) {
    long n = strtol(argv[2], NULL, 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint32_t bad = 0;
    for (long i = 0; i < n; i++) bad += getversion(~MAGIC).bx != MAGIC;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3;
    printf("bench: %ld calls, %u bad, %.2f us per call\n", n, bad, us / (double)n);
  } else if (!strcmp(cmd, "fake-cpuid-fault")) {
    /* A signal queued to ourselves is delivered on the syscall's return, so the tracer sees the
     * stop with rip at the `cpuid` right after it, and leaf = rax = the syscall's result, 0. Only
     * the kernel may send SI_KERNEL to others, but a process may queue it to itself. */
    siginfo_t info = {.si_signo = SIGSEGV, .si_code = SI_KERNEL};
    long pid = getpid(), tid = gettid(); /* before r10 is loaded: calls clobber it */
    register long r10 __asm__("r10") = (long)&info;
    uint64_t ax = SYS_rt_tgsigqueueinfo, bx, cx, dx = SIGSEGV;
    __asm__ volatile("syscall\n\tcpuid"
                     : "+a"(ax), "=b"(bx), "=c"(cx), "+d"(dx)
                     : "D"(pid), "S"(tid), "r"(r10)
                     : "memory", "r11");
    char vendor[13] = {0};
    memcpy(vendor, &bx, 4);
    memcpy(vendor + 4, &dx, 4);
    memcpy(vendor + 8, &cx, 4);
    printf("survived: vendor=%s\n", vendor);
  } else if (!strcmp(cmd, "exit") && argc > 2) {
    exit(atoi(argv[2]));
  } else if (!strcmp(cmd, "kill") && argc > 2) {
    signal(atoi(argv[2]), SIG_DFL);
    raise(atoi(argv[2]));
    return 99;
  } else {
    fprintf(stderr, "bd: unknown command %s\n", cmd);
    return 2;
  }
  return 0;
}
