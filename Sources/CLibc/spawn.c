/*
 * Starting child processes. Between fork and exec only async-signal-safe calls are made, which
 * is why this is C: the child of a fork must not allocate or take locks.
 */
#define _GNU_SOURCE
#include "clibc.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

SCEP_OUT_OF_LINE_BEGIN

/* Signals back to their defaults and none blocked: a child starts clean whatever the agent
 * had set (it ignores SIGPIPE, and handles SIGTERM, SIGINT and SIGHUP). */
static void reset_signals(void) {
    struct sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD };
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) sigaction(handled[i], &defaults, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
}

/* Every descriptor from `first` up is closed. */
static void close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0u, 0) == 0) return;
#endif
    for (int fd = first; fd < 4096; fd++) close(fd);
}

pid_t scep_spawn_self(int channel, const char *role, char *const envp[], const char *runner, const char *self) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* The network process never outlives the key process that serves it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    reset_signals();
    if (channel == 3) {
        if (fcntl(3, F_SETFD, 0) != 0) _exit(127);
    } else if (dup2(channel, 3) != 3) {
        _exit(127);
    }
    /* No terminal, journal or pipe of the agent's: what it says goes through the channel. */
    int null = open("/dev/null", O_RDWR); /* closed below with the rest, unless it is 0-2 */
    if (null < 0) _exit(127);
    for (int fd = 0; fd <= 2; fd++) if (dup2(null, fd) != fd) _exit(127);
    close_from(4);
    /* A fresh image of this very binary: the child shares no memory with the agent that holds
     * the keys, and gets only the environment it is given. Under an emulator (qemu-user without
     * binfmt_misc, in the cross tests) the emulator runs it. */
    if (runner) {
        char *argv[] = { (char *)runner, (char *)self, (char *)role, 0 };
        execve(runner, argv, envp);
    } else {
        char *argv[] = { (char *)"scep-agent", (char *)role, 0 };
        execve("/proc/self/exe", argv, envp);
    }
    _exit(127);
}

pid_t scep_spawn_hook(const char *command, char *const envp[]) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* Its own process group, so a timeout ends the hook and everything it started. */
    setpgid(0, 0);
    reset_signals();
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0 && null != 0) { dup2(null, 0); close(null); }
    close_from(3);
    char *argv[] = { (char *)"sh", (char *)"-c", (char *)command, 0 };
    execve("/bin/sh", argv, envp);
    _exit(127);
}

int scep_wait(pid_t pid, int *status, int nohang) {
    for (;;) {
        pid_t result = waitpid(pid, status, nohang ? WNOHANG : 0);
        if (result >= 0 || errno != EINTR) return (int)result;
    }
}

int scep_wifsignaled_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

SCEP_OUT_OF_LINE_END
