/*
 * The plain C loop mpmt's false-sharing figures are checked against: two
 * threads pinned to CPUs 0 and 1, each adding 1 to its own counter 10^7
 * times with a volatile load and store (as mpmt's loop), the counters
 * 8 bytes apart (one cache line) or 128 bytes apart; ns per increment
 * over both threads' increments (the writers stamp their own start and
 * end: main shares the two CPUs with them and would time late), median
 * of 21. Build and run with `make c-baselines`.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { K = 10000000, RUNS = 21 };

static _Alignas(128) unsigned char slots[512];
static pthread_barrier_t start;

struct arg {
	int cpu;
	volatile uint64_t *c;
	double start, end;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *writer(void *p)
{
	struct arg *a = p;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(a->cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof s, &s);
	pthread_barrier_wait(&start);
	a->start = now();
	for (long i = 0; i < K; i++)
		*a->c = *a->c + 1;
	a->end = now();
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double run(int stride)
{
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		struct arg a[2] = {{0, (volatile uint64_t *)slots, 0, 0},
				   {1, (volatile uint64_t *)(slots + stride), 0, 0}};
		*a[0].c = *a[1].c = 0;
		pthread_t t[2];
		pthread_barrier_init(&start, NULL, 3);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, writer, &a[i]);
		pthread_barrier_wait(&start);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		double t0 = a[0].start < a[1].start ? a[0].start : a[1].start;
		double t1 = a[0].end > a[1].end ? a[0].end : a[1].end;
		v[r] = (t1 - t0) / (2.0 * K);
		pthread_barrier_destroy(&start);
		if (*a[0].c != K || *a[1].c != K) {
			fprintf(stderr, "lost an increment\n");
			exit(1);
		}
	}
	qsort(v, RUNS, sizeof v[0], cmp);
	return v[RUNS / 2];
}

int main(void)
{
	double packed = run(8), padded = run(128);
	printf("false sharing, 2 threads on CPUs 0 and 1: packed %.2f ns, padded %.2f ns per increment (%.1fx)\n",
	       packed, padded, packed / padded);
	return 0;
}
