/*
 * iopriv PROG [ARGS...]
 *
 * Grants the calling process access to the VMware backdoor I/O ports and then
 * execs PROG. Under QEMU (TCG) an `in eax,dx` on port 0x5658 from CPL3 raises
 * #GP unless the TSS I/O bitmap allows it. `in eax,dx` is a 4-byte access, so
 * ports 0x5658..0x565B must all be enabled: ioperm(0x5658, 2, 1) is NOT enough.
 * The permission survives execve, fork and chroot, so wrapping `chroot` (or the
 * tool itself) is enough. Needs root (CAP_SYS_RAWIO) and CONFIG_X86_IOPL_IOPERM.
 *
 * Built with `gcc -O2 -static` so it runs in the busybox initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: iopriv PROG [ARGS...]\n");
        return 2;
    }
    if (ioperm(0x5658, 4, 1) != 0) {
        /* 126 = "found but could not run", the shell convention. */
        fprintf(stderr,
                "iopriv: ioperm(0x5658, 4, 1) failed: %s "
                "(needs root/CAP_SYS_RAWIO and a kernel with CONFIG_X86_IOPL_IOPERM)\n",
                strerror(errno));
        return 126;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "iopriv: cannot exec %s: %s\n", argv[1], strerror(errno));
    return 127;
}
