/*
 * The plain C loop mpmt's creation floor and `create --method fork` are
 * checked against: fork, the child _exit(0)s, the parent blocks in
 * waitpid; pinned to CPU 0; median of 1000. Build and run with
 * `make c-baselines`.
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
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	sched_setaffinity(0, sizeof s, &s);
	enum { N = 1000, WARM = 20 };
	static double v[N];
	for (int i = 0; i < N + WARM; i++) {
		double t = now();
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		int st;
		waitpid(p, &st, 0);
		if (i >= WARM)
			v[i - WARM] = now() - t;
	}
	qsort(v, N, sizeof v[0], cmp);
	printf("fork + _exit + waitpid, one CPU: median %.1f us\n", v[N / 2] / 1000);
	return 0;
}
