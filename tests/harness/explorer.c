/*
 * docker-explorer: the probe that runs inside test containers.
 *
 * It mimics the helper CodeCrafters' "build your own Docker" tester puts in its
 * images: each subcommand asks the container one question (what is my pid?
 * what is in this directory?) and prints only the answer, so a test can compare
 * stdout, stderr and the exit status byte for byte. Built with
 * `musl-gcc -static -Os`, it needs nothing from the image it runs in.
 *
 *   echo X         X on stdout          echo_stderr X   X on stderr
 *   exit N         exit status N        ls PATH         entries, sorted
 *   mypid          getpid(2)            env NAME        $NAME (exit 1 if unset)
 *   cwd            getcwd(3)            hostname        gethostname(2)
 *   ids            "UID EUID": real and effective user IDs (a setuid copy shows both)
 *   syscall NR [ARG...]   syscall(2) by number (arguments in C's notation: 0x…):
 *                  "ok", or the errno's name as strerror(3) gives it (exit 1)
 *   getppid N      N calls of getppid(2): nanoseconds per call (a seccomp filter's cost)
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int visible(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Byte order, like `LC_ALL=C ls`: the answer must not depend on a locale. */
static int bytewise(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int ls(const char *path)
{
	struct dirent **names;
	int n = scandir(path, &names, visible, bytewise);
	if (n < 0) {
		const char *why = errno == ENOENT ? "No such file or directory" : strerror(errno);
		fprintf(stderr, "ls: %s: %s\n", path, why);
		return 2;
	}
	for (int i = 0; i < n; i++)
		printf("%s\n", names[i]->d_name);
	return 0;
}

/* Print what a libc call returned, or why it failed. */
static int answer(const char *value, const char *call)
{
	if (!value) {
		perror(call);
		return 1;
	}
	return printf("%s\n", value) < 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : NULL;
	char buf[PATH_MAX];

	if (!strcmp(cmd, "echo") && arg)
		return printf("%s\n", arg) < 0;
	if (!strcmp(cmd, "echo_stderr") && arg)
		return fprintf(stderr, "%s\n", arg) < 0;
	if (!strcmp(cmd, "exit") && arg)
		return atoi(arg);
	if (!strcmp(cmd, "ls") && arg)
		return ls(arg);
	if (!strcmp(cmd, "mypid"))
		return printf("%d\n", (int)getpid()) < 0;
	if (!strcmp(cmd, "env") && arg) {
		const char *value = getenv(arg);
		return value ? printf("%s\n", value) < 0 : 1;
	}
	if (!strcmp(cmd, "cwd"))
		return answer(getcwd(buf, sizeof buf) ? buf : NULL, "getcwd");
	if (!strcmp(cmd, "ids"))
		return printf("%d %d\n", (int)getuid(), (int)geteuid()) < 0;
	if (!strcmp(cmd, "hostname"))
		return answer(gethostname(buf, sizeof buf) == 0 ? buf : NULL, "gethostname");

	if (!strcmp(cmd, "syscall") && arg) {
		long a[6] = {0};
		for (int i = 0; i < 6 && i + 3 < argc; i++)
			a[i] = (long)strtoull(argv[i + 3], NULL, 0);
		long rc = syscall(strtol(arg, NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
		return rc < 0 ? puts(strerror(errno)), 1 : puts("ok") < 0;
	}
	if (!strcmp(cmd, "getppid") && arg) {
		struct timespec t0, t1;
		long n = atol(arg);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
		return printf("%.1f\n", ns / (n > 0 ? n : 1)) < 0;
	}

	fputs("usage: docker-explorer echo|echo_stderr|exit|ls|env ARG | mypid|cwd|hostname|ids\n"
	      "       docker-explorer syscall NR [ARG...] | getppid N\n", stderr);
	return 2;
}
