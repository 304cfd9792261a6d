/*
 * vmx-trap: run an unmodified program and turn its VMware backdoor instructions into calls on a
 * simulated host (docs/protocol/sim-wire.md). Linux x86-64 only.
 *
 *   vmx-trap [--host unix!PATH] [--cpuid vmware|none|pass] [--log FILE] [--stats] [-q] -- PROG ARGS...
 *
 * Why ptrace: outside VMware the backdoor instructions (`in` on port 0x5658, `rep insb/outsb` on
 * 0x5659, vmcall/vmmcall) fault in user mode (#GP, SIGSEGV). A tracer sees each fault before the
 * program does, performs the call for it and steps over the instruction, so the program behaves as
 * on VMware without being changed. Every other signal is passed on untouched, so a program's own
 * SIGSEGV/SIGILL handlers (open-vm-tools' Xen `ud2` probe) still run.
 *
 * open-vm-tools also reads CPUID (hypervisor bit, leaf 0x40000000 signature) before it dares touch
 * the backdoor, so CPUID must be faked too: cpuid.c. And it tries AF_VSOCK before the backdoor: a
 * seccomp filter installed here makes socket(AF_VSOCK) fail for the program and its descendants.
 *
 * This file: options, starting the program, the seccomp filter, the tracee table and the wait loop.
 */
#include "vmx-trap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct options opt = {.cpuid = CPUID_VMWARE, .intercept = ICPT_AUTO};
struct stats st;
FILE *logf_;
volatile sig_atomic_t term_sig;
static pid_t main_pid;

void warnx_(const char *fmt, ...) {
  if (opt.quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("vmx-trap: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("vmx-trap: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(EXIT_LAUNCHER);
}

void tlog(const char *fmt, ...) {
  if (!logf_) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(logf_, fmt, ap);
  fputc('\n', logf_);
  va_end(ap);
}

/* Reads up to n bytes of tracee memory a word at a time (PEEKDATA also reads execute-only or
 * unreadable-by-process_vm_readv text). Stops at the first unmapped word. */
int peek_bytes(pid_t tid, uint64_t addr, uint8_t *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    errno = 0;
    long w = ptrace(PTRACE_PEEKDATA, tid, (void *)(addr + got), 0);
    if (errno) break;
    size_t k = n - got < sizeof w ? n - got : sizeof w;
    memcpy(buf + got, &w, k);
    got += k;
  }
  return (int)got;
}

/* ---- tracee table: a small hash on the thread id ---- */

#define NBUCKET 256
static struct tracee *bucket[NBUCKET];
static int ntracees;

static struct tracee *find(pid_t tid) {
  for (struct tracee *t = bucket[tid % NBUCKET]; t; t = t->next)
    if (t->tid == tid) return t;
  return NULL;
}

static struct tracee *add(pid_t tid) {
  struct tracee *t = calloc(1, sizeof *t);
  if (!t) die("out of memory");
  t->tid = tid;
  t->next = bucket[tid % NBUCKET];
  bucket[tid % NBUCKET] = t;
  ntracees++;
  return t;
}

static void drop(pid_t tid) {
  for (struct tracee **p = &bucket[tid % NBUCKET]; *p; p = &(*p)->next) {
    if ((*p)->tid != tid) continue;
    struct tracee *t = *p;
    *p = t->next;
    if (t->mm) mm_put(t->mm);
    free(t->inj);
    free(t);
    ntracees--;
    return;
  }
}

static void resume(struct tracee *t, int sig) {
  /* ESRCH here means the thread was killed meanwhile (e.g. exit_group); its exit comes next. */
  ptrace(t->in_map_call ? PTRACE_SYSCALL : PTRACE_CONT, t->tid, 0, (void *)(long)sig);
}

/* ---- seccomp filter, installed in the child before exec ---- */

/* A tiny BPF assembler with forward labels, so the jump offsets are not counted by hand. */
enum { L_NEXT = 0, L_ALLOW = 1, L_DENY, L_TRACE, L_I386, L_MMAP, L_PROT, L_PROTX, L_COUNT };
struct bpf_ins {
  uint16_t code;
  uint32_t k;
  int jt, jf; /* labels */
};

static void install_filter(int trace_exec_maps) {
  struct bpf_ins p[40];
  int n = 0, at[L_COUNT] = {0};
#define OP(c, kk, t_, f_) (p[n++] = (struct bpf_ins){(c), (kk), (t_), (f_)})
#define LD(off) OP(BPF_LD | BPF_W | BPF_ABS, (off), L_NEXT, L_NEXT)
#define JEQ(v, t_, f_) OP(BPF_JMP | BPF_JEQ | BPF_K, (v), (t_), (f_))
#define JSET(v, t_, f_) OP(BPF_JMP | BPF_JSET | BPF_K, (v), (t_), (f_))
#define RET(v) OP(BPF_RET | BPF_K, (v), L_NEXT, L_NEXT)
#define LABEL(l) (at[l] = n)
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i)) /* little endian: low half */
  LD(offsetof(struct seccomp_data, arch));
  JEQ(AUDIT_ARCH_X86_64, L_NEXT, L_I386);
  LD(offsetof(struct seccomp_data, nr));
  /* x32 syscalls (bit 30) are left alone: nothing here runs x32 code. */
  OP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, L_ALLOW, L_NEXT);
  JEQ(SYS_socket, L_NEXT, trace_exec_maps ? L_MMAP : L_ALLOW);
  LD(ARG_LO(0));
  /* The machine may have its own vsock device: open-vm-tools must never reach it, and must fall
   * back to the backdoor as on a VM without vsock. */
  JEQ(AF_VSOCK, L_DENY, L_ALLOW);
  if (trace_exec_maps) {
    /* Executable file mappings need their CPUID sites patched (cpuid.c); anonymous ones do not. */
    LABEL(L_MMAP);
    JEQ(SYS_mmap, L_NEXT, L_PROT);
    LD(ARG_LO(3));
    JSET(MAP_ANONYMOUS, L_ALLOW, L_NEXT);
    LD(ARG_LO(2));
    JSET(PROT_EXEC, L_TRACE, L_ALLOW);
    LABEL(L_PROT);
    JEQ(SYS_mprotect, L_PROTX, L_NEXT);
    JEQ(SYS_pkey_mprotect, L_NEXT, L_ALLOW);
    LABEL(L_PROTX);
    LD(ARG_LO(2));
    JSET(PROT_EXEC, L_TRACE, L_ALLOW);
  }
  /* 32-bit programs: only the direct socket(2) (nr 359) can be checked; socketcall(2) passes its
   * arguments in memory. */
  LABEL(L_I386);
  JEQ(AUDIT_ARCH_I386, L_NEXT, L_ALLOW);
  LD(offsetof(struct seccomp_data, nr));
  JEQ(359, L_NEXT, L_ALLOW);
  LD(ARG_LO(0));
  JEQ(AF_VSOCK, L_DENY, L_ALLOW);
  LABEL(L_ALLOW);
  RET(SECCOMP_RET_ALLOW);
  LABEL(L_DENY);
  RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT);
  LABEL(L_TRACE);
  RET(SECCOMP_RET_TRACE);

  struct sock_filter f[40];
  for (int i = 0; i < n; i++) {
    int jt = p[i].jt, jf = p[i].jf; /* labels are forward only, so offsets are >= 0 */
    f[i] = (struct sock_filter){p[i].code, (uint8_t)(jt ? at[jt] - i - 1 : 0),
                                (uint8_t)(jf ? at[jf] - i - 1 : 0), p[i].k};
  }
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
    fprintf(stderr, "vmx-trap: cannot install the seccomp filter: %s\n", strerror(errno));
    _exit(EXIT_LAUNCHER);
  }
}

/* ---- signals sent to the launcher ---- */

static void on_term(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  term_sig = sig;
  /* A terminal's ^C or hangup (sent by the kernel) already reached the program if it is still in
   * our process group. Anything else (kill, the node shim) is meant for the program: pass it on so
   * it can shut down cleanly (vmtoolsd closes its channels) and its exit status becomes ours. */
  if (main_pid > 0 && (si->si_code != SI_KERNEL || getpgid(main_pid) != getpgrp())) kill(main_pid, sig);
}

/* ---- events ---- */

/* A fork/vfork/clone event: the parent `t` made `child`. Fork children get a copy of the patched
 * CPUID sites (their memory is a copy), threads and vfork children share them. kcmp tells for sure
 * (a clone without CLONE_VM can still be reported as a clone event); the event kind is the fallback. */
static void on_new_child(struct tracee *t, int event) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg);
  pid_t c = (pid_t)msg;
  long same = syscall(SYS_kcmp, t->tid, c, KCMP_VM, 0, 0);
  int share = same == 0 || (same < 0 && event != PTRACE_EVENT_FORK);
  struct tracee *ct = find(c);
  if (!ct) {
    ct = add(c);
    ct->expect_stop = 1;
  }
  if (ct->mm) mm_put(ct->mm);
  ct->mm = t->mm ? (share ? mm_ref(t->mm) : mm_copy(t->mm)) : NULL;
  if (ct->orphan) { /* it already stopped with its initial SIGSTOP: swallow that now */
    ct->orphan = 0;
    resume(ct, 0);
  }
}

static int on_exec(struct tracee *t) {
  /* An exec from a non-leader thread takes over the leader's id; the old id is gone. */
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former);
  if ((pid_t)former != t->tid && find((pid_t)former)) drop((pid_t)former);
  if (t->mm) mm_put(t->mm);
  t->mm = mm_new(); /* a fresh address space: nothing patched yet */
  return cpuid_on_exec(t);
}

static void on_signal(struct tracee *t, int sig) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) < 0) {
    /* A group-stop (SIGSTOP/SIGTSTP already delivered). Without PTRACE_SEIZE the tracee cannot be
     * left stopped and still be traced, so it is resumed, as strace does. */
    resume(t, 0);
    return;
  }
  int out = -1, backdoor = 0;
  /* Only faults raised by the CPU (si_code > 0) are candidates: the same signal sent with kill()
   * must reach the program as it is. */
  if ((sig == SIGSEGV || sig == SIGILL || sig == SIGTRAP) && si.si_code > 0) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0) {
      out = cpuid_trap(t, sig, &si, &r);
      if (out < 0 && sig != SIGTRAP) {
        out = backdoor_trap(t, sig, &si, &r);
        backdoor = out >= 0;
      }
    }
  }
  if (out < 0) {
    st.passed++;
    if (logf_) {
      struct user_regs_struct r;
      uint8_t b[8] = {0};
      int got = ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0 ? peek_bytes(t->tid, r.rip, b, 8) : 0;
      const char *name = sigabbrev_np(sig);
      tlog("%d pass SIG%s si_code=%d rip=%#llx code=%02x %02x %02x %02x%s", t->tid, name ? name : "RT",
           si.si_code, got ? r.rip : 0ULL, b[0], b[1], b[2], b[3], got ? "" : " (unreadable)");
    }
    out = sig;
  }
  resume(t, out);
  if (backdoor) {
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st.bd_us += (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
  }
}

static int wait_loop(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) return EXIT_LAUNCHER; /* cannot happen before the main tracee's exit */
      die("waitpid: %s", strerror(errno));
    }
    struct tracee *t = find(pid);
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (pid == main_pid) /* Its remaining descendants die with us (PTRACE_O_EXITKILL). */
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      drop(pid);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status), event = status >> 16;
    if (!t) {
      /* A new child's first stop can come before its parent's fork/clone event: keep it stopped
       * until that event tells us whose memory it has. */
      t = add(pid);
      t->orphan = 1;
      continue;
    }
    if (t->inj) {
      cpuid_inject_stop(t, sig);
      continue;
    }
    if (t->expect_stop && sig == SIGSTOP && !event) {
      t->expect_stop = 0;
      resume(t, 0);
      continue;
    }
    if (sig == SIGTRAP && event) {
      switch (event) {
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE:
        on_new_child(t, event);
        break;
      case PTRACE_EVENT_EXEC:
        if (on_exec(t)) continue; /* an injected syscall is under way */
        break;
      case PTRACE_EVENT_SECCOMP:
        /* An executable mmap/mprotect (patch mode): let it complete, then look (below). */
        t->in_map_call = 1;
        st.map_stops++;
        resume(t, 0);
        continue;
      }
      int ps = t->pending_sig;
      t->pending_sig = 0;
      resume(t, ps);
      continue;
    }
    if (sig == (SIGTRAP | 0x80)) { /* syscall stop: the traced mapping call has returned */
      if (t->in_map_call) {
        t->in_map_call = 0;
        cpuid_on_map(t);
      }
      resume(t, 0);
      continue;
    }
    on_signal(t, sig);
  }
}

/* The value of option `name` at argv[*i], given as "--name VALUE" or "--name=VALUE"; NULL if
 * argv[*i] is another option. */
static const char *optval(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != 0) return NULL;
  if (*i + 1 >= argc) die("%s needs a value", name);
  return argv[++*i];
}

static void usage(FILE *f) {
  fputs("usage: vmx-trap [--host unix!PATH] [--cpuid vmware|none|pass] [--log FILE] [--stats] [-q]\n"
        "                [--intercept auto|fault|patch] -- PROG [ARGS...]\n"
        "       vmx-trap --probe   (print how CPUID would be intercepted here)\n"
        "Runs PROG, turning its VMware backdoor instructions into calls on the simulated host at\n"
        "--host (default $VMW9_HOST). Exit status: PROG's, 128+N if it was killed by signal N,\n"
        "125 if vmx-trap itself failed.\n",
        f);
}

int main(int argc, char **argv) {
  const char *logpath = NULL;
  int probe = 0, i;
  opt.host = getenv("VMW9_HOST");
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (!strcmp(a, "--")) {
      i++;
      break;
    } else if (a[0] != '-') {
      break;
    } else if ((v = optval(argc, argv, &i, "--host"))) {
      opt.host = v;
    } else if ((v = optval(argc, argv, &i, "--cpuid"))) {
      if (!strcmp(v, "vmware")) opt.cpuid = CPUID_VMWARE;
      else if (!strcmp(v, "none")) opt.cpuid = CPUID_NONE;
      else if (!strcmp(v, "pass")) opt.cpuid = CPUID_PASS;
      else die("--cpuid must be vmware, none or pass, not '%s'", v);
    } else if ((v = optval(argc, argv, &i, "--intercept"))) {
      if (!strcmp(v, "auto")) opt.intercept = ICPT_AUTO;
      else if (!strcmp(v, "fault")) opt.intercept = ICPT_FAULT;
      else if (!strcmp(v, "patch")) opt.intercept = ICPT_PATCH;
      else die("--intercept must be auto, fault or patch, not '%s'", v);
    } else if ((v = optval(argc, argv, &i, "--log"))) {
      logpath = v;
    } else if (!strcmp(a, "--stats")) {
      opt.stats = 1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      opt.quiet = 1;
    } else if (!strcmp(a, "--probe")) {
      probe = 1;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      die("unknown option %s", a);
    }
  }
  if (probe) {
    enum intercept m = cpuid_choose();
    printf("cpuid-intercept: %s\n", m == ICPT_FAULT ? "fault" : m == ICPT_PATCH ? "patch" : "off");
    return 0;
  }
  if (i >= argc) {
    usage(stderr);
    return EXIT_LAUNCHER;
  }
  if (!opt.host || !*opt.host) die("no host: pass --host unix!PATH or set VMW9_HOST");
  if (logpath) {
    logf_ = !strcmp(logpath, "-") ? stderr : fopen(logpath, "ae");
    if (!logf_) die("cannot open log %s: %s", logpath, strerror(errno));
    setvbuf(logf_, NULL, _IOLBF, 0);
  }
  icpt = cpuid_choose();
  host_connect(opt.host); /* before starting anything, so a missing host is one clear error */

  struct sigaction sa = {.sa_sigaction = on_term, .sa_flags = SA_SIGINFO}; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
      fprintf(stderr, "vmx-trap: ptrace(TRACEME): %s\n", strerror(errno));
      _exit(EXIT_LAUNCHER);
    }
    install_filter(icpt == ICPT_PATCH);
    raise(SIGSTOP); /* wait for the tracer to set its options */
    execvp(argv[i], argv + i);
    int e = errno;
    fprintf(stderr, "vmx-trap: cannot run %s: %s\n", argv[i], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  main_pid = pid;
  int status;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!WIFSTOPPED(status)) die("the program did not start (status %#x)", status);
  long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC |
              PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD;
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)opts) < 0) {
    kill(pid, SIGKILL);
    die("ptrace(SETOPTIONS): %s", strerror(errno));
  }
  add(pid); /* no mm until its exec: it is still a copy of us */
  ptrace(PTRACE_CONT, pid, 0, 0);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int code = wait_loop();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (opt.stats) {
    unsigned long bd = st.lb + st.hb_out + st.hb_in + st.hcall;
    fprintf(stderr,
            "vmx-trap: %lu traps: lb=%lu hb-out=%lu hb-in=%lu hcall=%lu cpuid=%lu host-faults=%lu "
            "passed=%lu; cpuid intercept=%s sites=%lu map-stops=%lu; %.3f s\n",
            bd + st.host_faults + st.cpuid + st.passed, st.lb, st.hb_out, st.hb_in, st.hcall, st.cpuid,
            st.host_faults, st.passed,
            icpt == ICPT_FAULT ? "fault" : icpt == ICPT_PATCH ? "patch" : "off", st.sites, st.map_stops,
            (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    bd += st.host_faults;
    fprintf(stderr, "vmx-trap: %lu backdoor calls, mean %.1f us per call in the launcher\n", bd,
            bd ? st.bd_us / bd : 0.0);
  }
  if (logf_ && logf_ != stderr) fclose(logf_);
  return code;
}
