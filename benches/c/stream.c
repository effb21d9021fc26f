/*
 * The plain C loop mpmt's bandwidth is checked against, for every channel
 * the kernel copies: a forked reader drains the channel while the parent
 * writes chunks; the time runs from the first write until the reader has
 * read (and, touched, checked) the last byte and said so over a second
 * pipe. Bytes over that window, the median of several windows (and,
 * with STREAM_EVERY_WINDOW in the environment, first a line "windows"
 * with every window's GB/s in the order run).
 *
 *   stream <pipe|unix|seqpacket|mq> <chunk bytes> <untouched|touched> \
 *          <writer cpu> <reader cpu> [windows]
 *
 * untouched: the buffers are written once before the first window (real
 * pages, as lmbench's bw_pipe touches its buffer) and never again by
 * either side, so the kernel's copies are the transfer alone; a buffer
 * left as malloc's zero pages would be read from one 4 KiB page that
 * never leaves L1, which no real sender has. touched: the writer fills every
 * chunk and the reader sums every byte and checks it. The reader reads
 * each chunk into its own place in its buffer, as mpmt's does. seqpacket sends
 * records of at most 64 KiB and mq messages of at most msgsize_max, as
 * mpmt does; a larger chunk goes as several. Built and run by
 * `make c-baselines`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { PIPE, UNIX, SEQPACKET, MQ };

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s) != 0) {
		perror("sched_setaffinity");
		exit(2);
	}
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* The largest piece one send carries. */
static size_t piece_of(enum kind k, size_t chunk, long msgmax)
{
	if (k == SEQPACKET && chunk > 65536)
		return 65536;
	if (k == MQ && (long)chunk > msgmax)
		return (size_t)msgmax;
	return chunk;
}

static void put(enum kind k, int fd, mqd_t q, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w;
		if (k == MQ)
			w = mq_send(q, b, n, 0) == 0 ? (ssize_t)n : -1;
		else if (k == SEQPACKET)
			w = send(fd, b, n, 0);
		else
			w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		b += w;
		n -= (size_t)w;
	}
}

/* Reads one piece of at most n bytes; returns its length. */
static size_t get(enum kind k, int fd, mqd_t q, char *b, size_t n, size_t cap)
{
	for (;;) {
		ssize_t r;
		if (k == MQ)
			r = mq_receive(q, b, cap, NULL);
		else
			r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read");
		return (size_t)r;
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s pipe|unix|seqpacket|mq CHUNK untouched|touched WCPU RCPU [WINDOWS]\n", argv[0]);
		return 2;
	}
	enum kind k = !strcmp(argv[1], "pipe") ? PIPE
		    : !strcmp(argv[1], "unix") ? UNIX
		    : !strcmp(argv[1], "seqpacket") ? SEQPACKET
		    : !strcmp(argv[1], "mq") ? MQ : (enum kind)-1;
	if ((int)k < 0) {
		fprintf(stderr, "unknown channel %s\n", argv[1]);
		return 2;
	}
	size_t chunk = strtoul(argv[2], NULL, 10);
	int touched = !strcmp(argv[3], "touched");
	int wcpu = atoi(argv[4]), rcpu = atoi(argv[5]);
	int windows = argc > 6 ? atoi(argv[6]) : 7;
	long msgmax = 8192;
	FILE *f = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &msgmax) != 1)
			msgmax = 8192;
		fclose(f);
	}
	size_t piece = piece_of(k, chunk, msgmax);
	/* At least 64 MiB and 2000 chunks a window: the channel's buffer
	 * (a pipe's 64 KiB, a socket's ~200 KiB) is a small part of it. */
	long chunks = (long)((64ul << 20) / chunk);
	if (chunks < 2000)
		chunks = 2000;

	int fds[2] = { -1, -1 };
	mqd_t q = (mqd_t)-1;
	if (k == PIPE) {
		if (pipe(fds) != 0)
			die("pipe");
	} else if (k == UNIX || k == SEQPACKET) {
		if (socketpair(AF_UNIX, k == UNIX ? SOCK_STREAM : SOCK_SEQPACKET, 0, fds) != 0)
			die("socketpair");
	} else {
		char name[64];
		snprintf(name, sizeof name, "/mpmt-c-stream-%d", getpid());
		struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = (long)piece };
		q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		if (q == (mqd_t)-1)
			die("mq_open");
		mq_unlink(name);
	}
	int ack[2];
	if (pipe(ack) != 0)
		die("pipe");
	/* A piece's worth more: an mq receive needs room for a whole
	 * message wherever in the chunk it lands. On a page, as mpmt's
	 * buffers are: the copy's speed depends on where in a page the
	 * buffer starts, and malloc puts a large one 16 bytes in. */
	char *buf = NULL;
	if (posix_memalign((void **)&buf, 4096, chunk + piece) != 0)
		die("malloc");
	/* Real pages on both sides (the reader's are its own after fork once
	 * it writes them). Only the chunk: the page after it stays unwritten,
	 * so it is not a page the child shares copy-on-write. Written before
	 * the fork, the C loop's mq 4 KiB receive on one CPU read 4.10-4.13
	 * GB/s against 4.36-4.44 (the kernel's copy into a buffer that ends
	 * on a page is slower when the next page is mapped but not writable;
	 * mpmt's buffers end in a guard page for the same reason). */
	memset(buf, 0x5a, chunk);
	size_t total = (size_t)chunks * chunk;

	pid_t c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		pin(rcpu);
		int rfd = k == PIPE ? fds[0] : fds[1];
		for (int w = 0; w < windows; w++) {
			size_t got = 0;
			uint64_t sum = 0;
			while (got < total) {
				/* Into the chunk's own place in the buffer, up to
				 * its end, as a receiver of whole messages reads
				 * (and mpmt does): reading every piece to the
				 * buffer's start kept the destination in the
				 * first 64-208 KiB, hot in L2, and read 1 MiB
				 * chunks 15-20 % faster than any real reader. */
				size_t off = got % chunk;
				size_t want = total - got < piece ? total - got : piece;
				if (want > chunk - off)
					want = chunk - off;
				char *dst = buf + off;
				size_t n = get(k, rfd, q, dst, want, piece);
				got += n;
				/* Touched, each chunk is read whole once it is all in,
				 * as mpmt's receiver verifies a message once it has
				 * it: summing each piece as it lands read a 1 MiB
				 * chunk across CPUs from L1 instead of L3, while the
				 * writer went on (1.5x mpmt's touched unix-socket,
				 * 2026-12-03). As mpmt's touch: 64-bit words, then
				 * the tail. */
				if (touched && got % chunk == 0) {
					size_t i = 0;
					for (; i + 8 <= chunk; i += 8) {
						uint64_t x;
						memcpy(&x, buf + i, 8);
						sum += x;
					}
					for (; i < chunk; i++)
						sum += (unsigned char)buf[i] * 0x0101010101010101ull;
				}
			}
			/* Every byte the writer sent was (w + 1) & 0xff: each word
			 * (and each tail byte, spread as one) adds that byte
			 * repeated, total / 8 times (wrapping). */
			uint64_t word = (uint64_t)((w + 1) & 0xff) * 0x0101010101010101ull;
			if (touched && sum != word * (uint64_t)(total / 8)) {
				fprintf(stderr, "window %d: wrong bytes\n", w);
				_exit(3);
			}
			char one = 1;
			if (write(ack[1], &one, 1) != 1)
				_exit(4);
		}
		_exit(0);
	}
	pin(wcpu);
	int wfd = k == PIPE ? fds[1] : fds[0];
	double *gbs = calloc((size_t)windows, sizeof *gbs);
	for (int w = 0; w < windows; w++) {
		double t0 = now();
		for (long i = 0; i < chunks; i++) {
			if (touched)
				memset(buf, (w + 1) & 0xff, chunk);
			for (size_t off = 0; off < chunk; off += piece)
				put(k, wfd, q, buf + off, chunk - off < piece ? chunk - off : piece);
		}
		char one;
		if (read(ack[0], &one, 1) != 1)
			die("ack");
		gbs[w] = total / (now() - t0) / 1e9;
	}
	int st = 0;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "reader failed (status %d)\n", st);
		return 3;
	}
	/* With STREAM_EVERY_WINDOW set, first every window's GB/s in the
	 * order run, for a caller that pools several runs. */
	if (getenv("STREAM_EVERY_WINDOW")) {
		printf("windows");
		for (int w = 0; w < windows; w++)
			printf(" %.4f", gbs[w]);
		printf("\n");
	}
	for (int i = 1; i < windows; i++)
		for (int j = i; j > 0 && gbs[j - 1] > gbs[j]; j--) {
			double t = gbs[j];
			gbs[j] = gbs[j - 1];
			gbs[j - 1] = t;
		}
	printf("%s %zu %s cpu%d->cpu%d: %.2f GB/s median of %d windows of %zu MiB (%.2f to %.2f)\n",
	       argv[1], chunk, touched ? "touched" : "untouched", wcpu, rcpu,
	       gbs[windows / 2], windows, total >> 20, gbs[0], gbs[windows - 1]);
	return 0;
}
