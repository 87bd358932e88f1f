/* trampoline: the last hop into a container's program (built freestanding: no libc).
 *
 * The runtime copies this tiny static program into a sealed memfd and execs it as the very
 * last step of a container's init; it then execs the container's program. So while the
 * container's program is being loaded, /proc/self/exe names the sealed trampoline, never the
 * runtime's binary, and a "#!/proc/self/exe" program cannot reach the runtime (CVE-2019-5736).
 *
 * argv: [PATH, ARGV0, ARGS...]: execve(PATH, &argv[1], envp). Exit status 127 if that fails.
 */
#include <asm/unistd.h>

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noreturn, used)) void trampoline_main(long *sp);

__attribute__((noreturn, used)) void trampoline_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;

	if (argc >= 2)
		sys3(__NR_execve, (long)argv[0], (long)(argv + 1), (long)envp);
	for (;;)
		sys3(__NR_exit_group, 127, 0, 0);
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call trampoline_main\n");
