/*
 * VMware backdoor on arm64 (VMware Fusion on Apple silicon). There is no I/O port: the guest
 * describes the x86 instruction it "performs" in x7 and traps with `mrs xzr, mdccsr_el0`.
 * x7 = 0x86 << 32 | encoding, where encoding bits are: 1:0 size (2 = 4 bytes), 2 DIR (1 = IN),
 * 3 WITH (port in dx), 4 STR (string instruction). x0..x6 carry eax..ebp.
 * Source: open-vm-tools lib/backdoor/backdoorGcc64_arm64.c and lib/include/backdoor_def.h
 * (X86_IO_MAGIC, X86_IO_W7_*), docs/protocol/backdoor.md §5.
 */
#include "backdoor.h"

#if defined(__aarch64__)

#define X86_IO_MAGIC 0x86ull
#define W7_SIZE_4 0x2ull
#define W7_DIR 0x4ull
#define W7_WITH 0x8ull
#define W7_STR 0x10ull

static inline void trap(vmw9_regs *r, uint64_t w7) {
  register uint64_t x0 __asm__("x0") = r->ax;
  register uint64_t x1 __asm__("x1") = r->bx;
  register uint64_t x2 __asm__("x2") = r->cx;
  register uint64_t x3 __asm__("x3") = r->dx;
  register uint64_t x4 __asm__("x4") = r->si;
  register uint64_t x5 __asm__("x5") = r->di;
  register uint64_t x6 __asm__("x6") = r->bp;
  register uint64_t x7 __asm__("x7") = (X86_IO_MAGIC << 32) | w7;
  __asm__ __volatile__("mrs xzr, mdccsr_el0"
                       : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6)
                       : "r"(x7)
                       : "memory");
  r->ax = x0;
  r->bx = x1;
  r->cx = x2;
  r->dx = x3;
  r->si = x4;
  r->di = x5;
  r->bp = x6;
}

extern "C" void vmw9_bdoor_lb(vmw9_regs *r) { trap(r, W7_WITH | W7_DIR | W7_SIZE_4); }
extern "C" void vmw9_bdoor_hb_out(vmw9_regs *r) { trap(r, W7_STR | W7_WITH); }
extern "C" void vmw9_bdoor_hb_in(vmw9_regs *r) { trap(r, W7_STR | W7_WITH | W7_DIR); }

#endif
