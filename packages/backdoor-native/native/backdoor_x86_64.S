/*
 * VMware backdoor instructions for x86-64, System V ABI (Linux, FreeBSD).
 * void fn(vmw9_regs *r): r in %rdi. Offsets: ax 0, bx 8, cx 16, dx 24, si 32, di 40, bp 48.
 * rbx and rbp are callee-saved and carry backdoor arguments, so they are saved on the stack; the
 * block pointer itself is parked on the stack because every general register is an argument.
 * No red-zone use: we push before touching anything and call nothing.
 */
        .text

.macro  LOAD_ALL
        pushq   %rbx
        pushq   %rbp
        pushq   %rdi                    /* the block pointer, reloaded after the call */
        movq    0(%rdi), %rax
        movq    8(%rdi), %rbx
        movq    16(%rdi), %rcx
        movq    24(%rdi), %rdx
        movq    32(%rdi), %rsi
        movq    48(%rdi), %rbp
        movq    40(%rdi), %rdi          /* last: it overwrites the pointer */
.endm

.macro  STORE_ALL
        xchgq   %rdi, (%rsp)            /* answer's rdi to the stack, block pointer back */
        movq    %rax, 0(%rdi)
        movq    %rbx, 8(%rdi)
        movq    %rcx, 16(%rdi)
        movq    %rdx, 24(%rdi)
        movq    %rsi, 32(%rdi)
        movq    %rbp, 48(%rdi)
        popq    %rax
        movq    %rax, 40(%rdi)
        popq    %rbp
        popq    %rbx
        ret
.endm

        .globl  vmw9_bdoor_lb
        .type   vmw9_bdoor_lb, @function
vmw9_bdoor_lb:
        LOAD_ALL
        inl     %dx, %eax
        STORE_ALL
        .size   vmw9_bdoor_lb, .-vmw9_bdoor_lb

        .globl  vmw9_bdoor_hb_out
        .type   vmw9_bdoor_hb_out, @function
vmw9_bdoor_hb_out:
        LOAD_ALL
        cld
        rep outsb
        STORE_ALL
        .size   vmw9_bdoor_hb_out, .-vmw9_bdoor_hb_out

        .globl  vmw9_bdoor_hb_in
        .type   vmw9_bdoor_hb_in, @function
vmw9_bdoor_hb_in:
        LOAD_ALL
        cld
        rep insb
        STORE_ALL
        .size   vmw9_bdoor_hb_in, .-vmw9_bdoor_hb_in

        .section .note.GNU-stack,"",@progbits
