/*
 * vmx-trap: shared declarations. See main.c for the overall design and README.md for usage.
 */
#ifndef VMX_TRAP_H
#define VMX_TRAP_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/user.h>

#define BDOOR_MAGIC 0x564D5868u /* "VMXh" */
#define BDOOR_PORT 0x5658       /* low bandwidth: in eax,dx */
#define BDOORHB_PORT 0x5659     /* high bandwidth: rep insb / rep outsb */

/* Exit status for the launcher's own failures (bad usage, no host), as timeout(1) and env(1) do. */
#define EXIT_LAUNCHER 125

enum cpuid_mode { CPUID_VMWARE, CPUID_NONE, CPUID_PASS };
/* How CPUID is intercepted: chosen at start (see cpuid.c), or forced with --intercept. */
enum intercept { ICPT_AUTO, ICPT_OFF, ICPT_FAULT, ICPT_PATCH };

struct options {
  const char *host;
  enum cpuid_mode cpuid;
  enum intercept intercept;
  int stats;
  int quiet;
};
extern struct options opt;

struct stats {
  unsigned long lb, hb_out, hb_in, hcall; /* emulated backdoor traps by kind */
  unsigned long host_faults;              /* calls the host refused (status 1/2): SIGSEGV delivered */
  unsigned long cpuid;                    /* emulated CPUID instructions */
  unsigned long passed;                   /* signals passed through unchanged */
  unsigned long map_stops;                /* mmap/mprotect(PROT_EXEC) stops (patch mode) */
  unsigned long sites;                    /* CPUID sites patched */
  double bd_us;                           /* launcher time spent on emulated backdoor traps */
};
extern struct stats st;

struct inject;
struct mm; /* per-address-space record of patched CPUID sites (cpuid.c) */

/* One traced thread. */
struct tracee {
  pid_t tid;
  struct tracee *next; /* hash chain */
  struct mm *mm;
  int expect_stop;     /* its initial SIGSTOP is still to come, and must be swallowed */
  int orphan;          /* it stopped before its parent's fork/clone event named it: not resumed yet */
  int in_map_call;     /* resumed with PTRACE_SYSCALL to see a traced mmap/mprotect complete */
  int pending_sig;     /* a signal that arrived while we injected a syscall, to deliver on resume */
  struct inject *inj;  /* a syscall being injected (cpuid.c): its stops belong to cpuid_inject_stop */
};

/* main.c */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern FILE *logf_;
extern volatile sig_atomic_t term_sig;
int peek_bytes(pid_t tid, uint64_t addr, uint8_t *buf, size_t n); /* returns bytes read */

/* backdoor.c */
void host_connect(const char *addr);
/* Emulates a backdoor instruction at a SIGSEGV/SIGILL stop. Returns -1 when the stop is not a
 * backdoor call (pass the signal on), else the signal to resume with (0, or SIGSEGV when the host
 * refused the call). */
int backdoor_trap(struct tracee *t, int sig, const siginfo_t *si, struct user_regs_struct *r);

/* cpuid.c */
enum intercept cpuid_choose(void);
extern enum intercept icpt;
struct mm *mm_new(void);
struct mm *mm_ref(struct mm *m);
struct mm *mm_copy(const struct mm *m);
void mm_put(struct mm *m);
/* At the exec stop: patch the new image, or start arming CPUID faulting (which resumes the tracee
 * itself: returns 1 then), else 0. */
int cpuid_on_exec(struct tracee *t);
void cpuid_on_map(struct tracee *t);    /* patch executable mappings added since the last look */
/* A stop of a tracee with t->inj set: finishes the injection or steps again. */
void cpuid_inject_stop(struct tracee *t, int sig);
/* Emulates CPUID at a SIGTRAP (patched site) or SIGSEGV (faulting) stop: -1 if not ours, else 0. */
int cpuid_trap(struct tracee *t, int sig, const siginfo_t *si, struct user_regs_struct *r);

#endif
