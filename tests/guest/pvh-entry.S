/* pvh-entry: the PVH test guest's entry. The monitor enters pvh_start in 32-bit protected mode
 * with %ebx = hvm_start_info (the Xen PVH ABI); we switch to long mode on static identity page
 * tables (0-1 GiB, and 3-4 GiB for the devices) and call pvh_main(start_info). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz */
	.long 4				/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	mov %ebx, %edi			/* first argument of pvh_main */
	lgdt gdt_ptr
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx		/* EFER */
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	ljmp $0x08, $long_mode

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	lea stack_top(%rip), %rsp
	call pvh_main
1:	hlt
	jmp 1b

	.section .data
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt

	.balign 4096
pml4:	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:	.quad pd + 0x3
	.fill 2, 8, 0
	.quad pd_mmio + 0x3		/* 3-4 GiB: the virtio-mmio windows */
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 512
	.quad (i << 21) | 0x83
	.set i, i + 1
	.endr
pd_mmio:
	.set i, 0
	.rept 512
	.quad (0xc0000000 + (i << 21)) | 0x93	/* present, writable, 2 MiB, cache disabled */
	.set i, i + 1
	.endr
stack:	.fill 4096, 1, 0
stack_top:
