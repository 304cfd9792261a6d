/*
 * The backdoor instructions, one function per call kind. Each takes the whole register block
 * (x86 names; on arm64 x0..x6 carry the same roles) and returns the host's answer in place.
 * Layout: seven 64-bit words ax, bx, cx, dx, si, di, bp: the order open-vm-tools' Backdoor_proto_hb
 * uses (lib/include/backdoor_types.h), so an HB call needs no reshuffling.
 */
#ifndef VMW9_BACKDOOR_H
#define VMW9_BACKDOOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmw9_regs {
  uint64_t ax, bx, cx, dx, si, di, bp;
} vmw9_regs;

/* `in eax, dx` (x86) or the MDCCSR_EL0 trap with x7 describing that IN (arm64). */
void vmw9_bdoor_lb(vmw9_regs *r);
/* `cld; rep outsb`: guest→host, rsi = source, rcx = count. */
void vmw9_bdoor_hb_out(vmw9_regs *r);
/* `cld; rep insb`: host→guest, rdi = destination, rcx = count. */
void vmw9_bdoor_hb_in(vmw9_regs *r);

/* Result of a probe made in a short-lived child process. */
typedef struct vmw9_probe_result {
  int ok;        /* 1: the call returned and its registers are in *r */
  int signal;    /* the signal that killed the child (SIGSEGV, SIGILL, …), else 0 */
  int timed_out; /* the child did not answer in time and was killed */
  int error;     /* errno of a failed fork/pipe, else 0 */
} vmw9_probe_result;

/*
 * Makes one low-bandwidth call in a forked child, so that a fault (no backdoor, no I/O privilege,
 * a restricted backdoor) kills only the child. Never faults the caller.
 */
vmw9_probe_result vmw9_probe_lb(vmw9_regs *r, int timeout_ms);

/* CPUID (x86 only; returns 0 elsewhere). */
int vmw9_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

#ifdef __cplusplus
}
#endif

#endif
