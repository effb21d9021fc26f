/*
 * The plain C loop mpmt's transfer-only pipe bandwidth is checked against:
 * a forked reader drains a pipe while the parent writes untouched 64 KiB
 * buffers, both pinned to CPU 0 (as lmbench's bw_pipe, but on one CPU).
 * Build and run with `make c-baselines`.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const size_t sz = 65536;
	long n = argc > 1 ? atol(argv[1]) : 200000;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	sched_setaffinity(0, sizeof s, &s);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	char *buf = malloc(sz);
	pid_t c = fork();
	if (c == 0) {
		close(p[1]);
		while (read(p[0], buf, sz) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	for (int w = 0; w < 1000; w++)
		if (write(p[1], buf, sz) < 0)
			return 1;
	double t = now();
	for (long i = 0; i < n; i++) {
		size_t off = 0;
		while (off < sz) {
			ssize_t r = write(p[1], buf + off, sz - off);
			if (r < 0)
				return 1;
			off += r;
		}
	}
	double d = now() - t;
	close(p[1]);
	waitpid(c, 0, 0);
	printf("pipe stream, untouched 64 KiB buffers, one CPU: %.2f GB/s\n", n * sz / d / 1e9);
	return 0;
}
