/*
 * VMware backdoor instructions for ia32, cdecl: void fn(vmw9_regs *r), pointer at 4(%esp).
 * The block holds 64-bit words; ia32 uses their low halves. ebx (the PIC register), esi, edi and
 * ebp are callee-saved and all carry arguments, so all four are saved.
 */
        .text

.macro  LOAD_ALL
        pushl   %ebx
        pushl   %esi
        pushl   %edi
        pushl   %ebp
        movl    20(%esp), %edi          /* block pointer (4 saves + return address) */
        pushl   %edi
        movl    0(%edi), %eax
        movl    8(%edi), %ebx
        movl    16(%edi), %ecx
        movl    24(%edi), %edx
        movl    32(%edi), %esi
        movl    48(%edi), %ebp
        movl    40(%edi), %edi
.endm

.macro  STORE_ALL
        xchgl   %edi, (%esp)
        movl    %eax, 0(%edi)
        movl    %ebx, 8(%edi)
        movl    %ecx, 16(%edi)
        movl    %edx, 24(%edi)
        movl    %esi, 32(%edi)
        movl    %ebp, 48(%edi)
        popl    %eax
        movl    %eax, 40(%edi)
        xorl    %eax, %eax              /* clear the high halves the block carries */
        movl    %eax, 4(%edi)
        movl    %eax, 12(%edi)
        movl    %eax, 20(%edi)
        movl    %eax, 28(%edi)
        movl    %eax, 36(%edi)
        movl    %eax, 44(%edi)
        movl    %eax, 52(%edi)
        popl    %ebp
        popl    %edi
        popl    %esi
        popl    %ebx
        ret
.endm

        .globl  vmw9_bdoor_lb
        .type   vmw9_bdoor_lb, @function
vmw9_bdoor_lb:
        LOAD_ALL
        inl     %dx, %eax
        STORE_ALL

        .globl  vmw9_bdoor_hb_out
        .type   vmw9_bdoor_hb_out, @function
vmw9_bdoor_hb_out:
        LOAD_ALL
        cld
        rep outsb
        STORE_ALL

        .globl  vmw9_bdoor_hb_in
        .type   vmw9_bdoor_hb_in, @function
vmw9_bdoor_hb_in:
        LOAD_ALL
        cld
        rep insb
        STORE_ALL

        .section .note.GNU-stack,"",@progbits
