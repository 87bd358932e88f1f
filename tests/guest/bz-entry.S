/* bz-entry: the protected-mode payload of the bzImage-shaped test guest, loaded at 1 MiB. The
 * monitor enters at +0x200 (the 64-bit entry) in long mode with %rsi = boot_params, on its own
 * page tables and GDT. The 32-bit entry at +0 is never used. */
	.section .text.entry, "ax"
	.code64
	.globl bz_start
bz_start:
	ud2
	.org 0x200
startup_64:
	mov %rsi, %rdi			/* first argument of bz_main */
	lea stack_top(%rip), %rsp
	call bz_main
1:	hlt
	jmp 1b

	.section .data
	.balign 16
stack:	.fill 4096, 1, 0
stack_top:
