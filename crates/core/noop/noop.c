/*
 * mpmt-noop: the smallest exec target. Linked static with no C runtime,
 * so the kernel jumps straight to _start, which calls exit_group(0): no
 * loader, no libc start-up, no Rust runtime. The create workload execs it
 * to show exec apart from loading and start-up (mpmt-worker --noop).
 * Built by crates/core/build.rs and embedded into mpmt.
 */
void _start(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall\n\tud2");
#elif defined(__aarch64__)
	__asm__ volatile("mov x8, #94\n\tmov x0, #0\n\tsvc #0\n\tbrk #0");
#else
#error "mpmt-noop has an entry point for x86_64 and aarch64 only"
#endif
	for (;;) {
	}
}
