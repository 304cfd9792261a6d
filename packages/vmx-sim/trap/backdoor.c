/*
 * vmx-trap: decoding the faulting backdoor instruction and performing it on the simulated host over
 * the socket (docs/protocol/sim-wire.md).
 *
 * Emulated (anything else is passed on as the signal it raised):
 *   in eax,dx / in ax,dx / in al,dx with dx = 0x5658      -> op 1 (LB)
 *   rep outsb with dx = 0x5659                           -> op 2 (HB out), rcx bytes at rsi
 *   rep insb  with dx = 0x5659                           -> op 3 (HB in),  written at rdi
 *   vmcall (0F 01 C1) / vmmcall (0F 01 D9), eax = VMXh   -> op 1/2/3 by dx bit0 (HB) and bit1 (write)
 * vmcall/vmmcall are only catchable where the CPU makes them fault in user mode (vmcall on AMD,
 * vmmcall on Intel, both under QEMU TCG); that is why the faked CPUID never advertises them.
 */
#include "vmx-trap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PAYLOAD (16u << 20) /* docs/protocol/sim-wire.md §2: larger requests are refused */

static int host_fd = -1;
static const char *host_addr;

static void host_lost(const char *what) __attribute__((noreturn));
static void host_lost(const char *what) {
  /* Without the host the program cannot go on; we exit and PTRACE_O_EXITKILL takes it with us. */
  if (term_sig) {
    fprintf(stderr, "vmx-trap: stopped by signal %d while waiting for the host\n", (int)term_sig);
    exit(128 + term_sig);
  }
  fprintf(stderr, "vmx-trap: lost the host at %s (%s); killing the program\n", host_addr, what);
  exit(EXIT_LAUNCHER);
}

static void write_all(const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    /* MSG_NOSIGNAL: ignoring SIGPIPE instead would be inherited by the program across exec. */
    ssize_t k = send(host_fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR && !term_sig) continue;
    if (k <= 0) host_lost(k < 0 ? strerror(errno) : "closed");
    p += k;
    n -= (size_t)k;
  }
}

static void read_all(void *buf, size_t n) {
  char *p = buf;
  while (n) {
    ssize_t k = read(host_fd, p, n);
    /* A host may "never answer" on purpose (a stuck vCPU); only a signal to us ends the wait. */
    if (k < 0 && errno == EINTR && !term_sig) continue;
    if (k <= 0) host_lost(k < 0 ? strerror(errno) : "connection closed");
    p += k;
    n -= (size_t)k;
  }
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* x86-64: already little-endian */
static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

void host_connect(const char *addr) {
  host_addr = addr;
  if (strncmp(addr, "unix!", 5) != 0)
    fprintf(stderr, "vmx-trap: unsupported host address '%s' (only unix!PATH)\n", addr), exit(EXIT_LAUNCHER);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(addr + 5) >= sizeof sa.sun_path)
    fprintf(stderr, "vmx-trap: host socket path too long: %s\n", addr + 5), exit(EXIT_LAUNCHER);
  strcpy(sa.sun_path, addr + 5);
  host_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (host_fd < 0 || connect(host_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    fprintf(stderr, "vmx-trap: cannot connect to the host at %s: %s (is the simulator listening there?)\n",
            addr, strerror(errno));
    exit(EXIT_LAUNCHER);
  }
  uint8_t hello[16] = "VMW9SIM";
  hello[8] = 1; /* version 1, flags 0 */
  put32(hello + 12, (uint32_t)getpid());
  write_all(hello, sizeof hello);
  uint8_t reply[16];
  read_all(reply, sizeof reply);
  if (memcmp(reply, "VMW9SIM", 8) != 0 || reply[8] != 1 || reply[9] != 0) {
    fprintf(stderr, "vmx-trap: %s is not a vmx-sim host speaking wire version 1\n", addr);
    exit(EXIT_LAUNCHER);
  }
}

/* One call: request out, response back. Returns the status; data and ndata receive the payload
 * (HB IN bytes, or an error message for status 2), malloc'ed. */
static int host_call(int op, int flags, pid_t tid, const uint32_t in[7], const uint8_t *payload,
                     uint32_t count, uint32_t out[7], uint32_t *out_count, uint8_t **data, uint32_t *ndata) {
  uint8_t h[44];
  /* docs/protocol/sim-wire.md §2: 40 bytes follow the length field, then the payload (the
   * response's figure, §3, is 36 + payload). */
  put32(h, 40 + (op == 2 ? count : 0));
  h[4] = (uint8_t)op;
  h[5] = (uint8_t)flags;
  h[6] = h[7] = 0;
  put32(h + 8, (uint32_t)tid);
  for (int i = 0; i < 7; i++) put32(h + 12 + 4 * i, in[i]);
  put32(h + 40, op == 1 ? 0 : count);
  write_all(h, sizeof h);
  if (op == 2 && count) write_all(payload, count);

  uint8_t r[40];
  read_all(r, sizeof r);
  uint32_t len = get32(r);
  if (len < 36 || len > 36 + MAX_PAYLOAD) host_lost("bad response length");
  for (int i = 0; i < 7; i++) out[i] = get32(r + 8 + 4 * i);
  *out_count = get32(r + 36);
  *ndata = len - 36;
  *data = NULL;
  if (*ndata) {
    *data = malloc(*ndata);
    if (!*data) host_lost("out of memory");
    read_all(*data, *ndata);
  }
  return r[4];
}

enum kind { K_LB, K_HB_OUT, K_HB_IN };

/* The call fails as the real instruction would, with a #GP: SIGSEGV. A trapped hypercall raised
 * SIGILL (under TCG), so its siginfo is replaced to match. */
static int gp_fault(struct tracee *t, int sig) {
  if (sig != SIGSEGV) {
    siginfo_t gp = {.si_signo = SIGSEGV, .si_code = SI_KERNEL};
    ptrace(PTRACE_SETSIGINFO, t->tid, 0, &gp);
  }
  return SIGSEGV;
}

/* Sets a 64-bit register from the host's 32-bit value. Where the host left the value as it was,
 * the whole register is kept: callers' upper halves (a frame pointer in rbp, say) must survive a
 * call that does not touch them. Where it changed, the value is zero-extended. */
static void set_reg(unsigned long long *reg, uint32_t sent, uint32_t got) {
  if (got != sent) *reg = got;
}

int backdoor_trap(struct tracee *t, int sig, const siginfo_t *si, struct user_regs_struct *r) {
  (void)si;
  /* One word holds every backdoor instruction with its usual prefixes; read more only when the
   * prefixes run past it (each word read is a ptrace call, and this runs on every trap). */
  uint8_t c[16];
  int n = peek_bytes(t->tid, r->rip, c, 8), i, opsize16, addr32, rep;
again:
  i = opsize16 = addr32 = rep = 0;
  /* Legacy prefixes, then REX (which must come last to count). */
  for (; i < n; i++) {
    uint8_t b = c[i];
    if (b == 0x66) opsize16 = 1;
    else if (b == 0x67) addr32 = 1;
    else if (b == 0xF3 || b == 0xF2) rep = 1; /* repne acts as rep for ins/outs */
    else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65) continue;
    else break;
  }
  if (i < n && (c[i] & 0xF0) == 0x40) i++; /* REX: no 64-bit form of in/ins/outs exists */
  if (i + 3 > n && n == 8) {
    n = peek_bytes(t->tid, r->rip, c, sizeof c);
    if (n > 8) goto again;
  }
  if (i >= n) return -1;

  uint32_t dx = (uint32_t)r->rdx & 0xFFFF, eax = (uint32_t)r->rax;
  enum kind k;
  int len, hcall = 0, width = 4;
  if ((c[i] == 0xED || c[i] == 0xEC) && dx == BDOOR_PORT) {
    k = K_LB;
    width = c[i] == 0xEC ? 1 : opsize16 ? 2 : 4;
    len = i + 1;
  } else if ((c[i] == 0x6E || c[i] == 0x6C) && rep && dx == BDOORHB_PORT) {
    /* A backwards copy (EFLAGS.DF) is not a backdoor pattern (callers do cld): leave it alone. */
    if (r->eflags & 0x400) return -1;
    k = c[i] == 0x6E ? K_HB_OUT : K_HB_IN;
    len = i + 1;
  } else if (i + 2 < n && c[i] == 0x0F && c[i + 1] == 0x01 && (c[i + 2] == 0xC1 || c[i + 2] == 0xD9) &&
             eax == BDOOR_MAGIC) {
    /* dx.lo holds flags here, not a port: bit0 = HB, bit1 = guest->host. */
    hcall = 1;
    k = !(r->rdx & 1) ? K_LB : (r->rdx & 2) ? K_HB_OUT : K_HB_IN;
    len = i + 3;
  } else {
    return -1;
  }
  if (sig != SIGSEGV && !hcall) return -1; /* in/ins/outs only ever raise #GP */

  uint32_t in[7] = {(uint32_t)r->rax, (uint32_t)r->rbx, (uint32_t)r->rcx, (uint32_t)r->rdx,
                    (uint32_t)r->rsi, (uint32_t)r->rdi, (uint32_t)r->rbp};
  if (hcall) /* the host sees the port form (docs/protocol/sim-wire.md §2, flag bit 0, tells it what it was) */
    in[3] = (in[3] & 0xFFFF0000u) | (k == K_LB ? BDOOR_PORT : BDOORHB_PORT);
  uint64_t count = 0, buf = 0;
  uint8_t *payload = NULL;
  if (k != K_LB) {
    count = addr32 ? (uint32_t)r->rcx : r->rcx;
    buf = k == K_HB_OUT ? r->rsi : r->rdi;
    if (addr32) buf = (uint32_t)buf;
    if (count > MAX_PAYLOAD) {
      warnx_("tid %d: HB transfer of %llu bytes is over the 16 MiB limit; delivering SIGSEGV", t->tid,
             (unsigned long long)count);
      return gp_fault(t, sig);
    }
  }
  if (k == K_HB_OUT && count) {
    payload = malloc(count);
    struct iovec l = {payload, count}, rv = {(void *)buf, count};
    if (!payload || process_vm_readv(t->tid, &l, 1, &rv, 1, 0) != (ssize_t)count) {
      free(payload);
      return gp_fault(t, sig); /* an unreadable buffer: the instruction itself would fault */
    }
  }

  uint32_t out[7], out_count, ndata;
  uint8_t *data;
  int status = host_call(k == K_LB ? 1 : k == K_HB_OUT ? 2 : 3, hcall, t->tid, in, payload, (uint32_t)count,
                         out, &out_count, &data, &ndata);
  free(payload);
  static const char *kname[] = {"lb", "hb-out", "hb-in"};
  const char *insn = hcall ? (c[i + 2] == 0xC1 ? "vmcall" : "vmmcall")
                     : k == K_LB ? (width == 4 ? "in eax,dx" : width == 2 ? "in ax,dx" : "in al,dx")
                     : k == K_HB_OUT ? "rep outsb" : "rep insb";
  if (status != 0) {
    if (status == 2 && ndata) warnx_("host error: %.*s", (int)ndata, (char *)data);
    tlog("%d %s %s rip=%#llx eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x -> %s", t->tid,
         kname[k], insn, r->rip, in[0], in[1], in[2], in[3], in[4], in[5], in[6],
         status == 1 ? "fault" : "error");
    free(data);
    st.host_faults++;
    return gp_fault(t, sig);
  }
  uint32_t moved = 0;
  if (k == K_HB_IN) {
    moved = out_count < ndata ? out_count : ndata;
    if (moved > count) moved = (uint32_t)count;
    struct iovec l = {data, moved}, rv = {(void *)buf, moved};
    if (moved && process_vm_writev(t->tid, &l, 1, &rv, 1, 0) != (ssize_t)moved) {
      free(data);
      return gp_fault(t, sig);
    }
  }
  free(data);

  /* in eax zero-extends like any 32-bit write; in al/ax keep the rest of rax. */
  uint64_t keep = width == 4 ? 0 : width == 2 ? ~0xFFFFull : ~0xFFull;
  r->rax = (r->rax & keep) | (out[0] & ~keep);
  set_reg(&r->rbx, in[1], out[1]);
  set_reg(&r->rcx, in[2], out[2]);
  set_reg(&r->rdx, in[3], out[3]); /* unchanged: a hypercall keeps its flags in dx */
  set_reg(&r->rsi, in[4], out[4]);
  set_reg(&r->rdi, in[5], out[5]);
  set_reg(&r->rbp, in[6], out[6]);
  if (k != K_LB) { /* as a completed rep string instruction leaves them */
    r->rcx = 0;
    if (k == K_HB_OUT) r->rsi = buf + count;
    else r->rdi = buf + count;
  }
  r->rip += (unsigned)len;
  ptrace(PTRACE_SETREGS, t->tid, 0, r);
  if (hcall) st.hcall++;
  else if (k == K_LB) st.lb++;
  else if (k == K_HB_OUT) st.hb_out++;
  else st.hb_in++;
  tlog("%d %s %s rip=%#llx eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x -> eax=%08x "
       "ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x bytes=%llu",
       t->tid, kname[k], insn, r->rip - len, in[0], in[1], in[2], in[3], in[4], in[5], in[6], out[0], out[1],
       out[2], out[3], out[4], out[5], out[6], (unsigned long long)(k == K_HB_IN ? moved : count));
  return 0;
}
