/*
 * A tiny executable over the same backdoor code as the addon, for architectures where no Node
 * runs here (arm64 under qemu-user): it runs the safe probe (GETVERSION) and prints the outcome.
 * Output: `probe ok eax=… ebx=… ecx=…` or `probe fault signal=N` or `probe timeout`.
 */
#include <stdio.h>

#include "backdoor.h"

int main(void) {
  vmw9_regs r = {0x564D5868u, 0xA9B2A797u, 0xFFFF000Au, 0x5658u, 0, 0, 0};
  vmw9_probe_result res = vmw9_probe_lb(&r, 5000);
  if (res.ok) {
    printf("probe ok eax=%08x ebx=%08x ecx=%08x\n", (unsigned)r.ax, (unsigned)r.bx, (unsigned)r.cx);
    return 0;
  }
  if (res.timed_out) {
    printf("probe timeout\n");
    return 2;
  }
  printf("probe fault signal=%d errno=%d\n", res.signal, res.error);
  return 1;
}
