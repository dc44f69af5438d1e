/*
 * CLibc: the platform layer's only door to libc.
 *
 * Swift imports plain prototypes well; what it cannot import (variadic calls, errno, function-like
 * macros) gets a small inline wrapper here, named scep_*. Nothing above the platform layer may
 * import this module (Scripts/check-layers.sh).
 */
#ifndef SCEP_CLIBC_H
#define SCEP_CLIBC_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/timerfd.h>
#include <spawn.h>
#include <sys/random.h>

/* Each shim's functions stay out of line (SCEP_OUT_OF_LINE_BEGIN at the top of its .c file,
 * SCEP_OUT_OF_LINE_END at the end). With link-time optimisation LLVM inlined them into their Swift
 * callers, and a C function's stack canary did not survive that: the seccomp filters' builders,
 * the Landlock set-up and the ECDH shim hold arrays on the stack. */
#ifndef SCEP_OUT_OF_LINE_BEGIN
#define SCEP_OUT_OF_LINE_BEGIN _Pragma("clang attribute push (__attribute__((noinline)), apply_to = function)")
#define SCEP_OUT_OF_LINE_END _Pragma("clang attribute pop")
#endif

static inline int scep_errno(void) { return errno; }
static inline void scep_set_errno(int value) { errno = value; }

/* open(2) and fcntl(2) are variadic, which Swift cannot call. */
static inline int scep_open(const char *path, int flags, unsigned mode) {
    return open(path, flags, (mode_t)mode);
}
static inline int scep_openat(int dirfd, const char *path, int flags, unsigned mode) {
    return openat(dirfd, path, flags, (mode_t)mode);
}
static inline int scep_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }
static inline int scep_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }

/* glibc declares SOCK_* as an enum, musl as macros: one spelling for both C libraries. */
static inline int scep_sock_stream(void) { return SOCK_STREAM; }
static inline int scep_sock_dgram(void) { return SOCK_DGRAM; }
static inline int scep_sock_cloexec(void) { return SOCK_CLOEXEC; }

/* A directory entry's name, NUL-terminated; the bytes of d_name after the NUL are not ours to read. */
static inline const char *scep_dirent_name(const struct dirent *entry) { return entry->d_name; }

static inline int scep_s_isdir(unsigned mode) { return S_ISDIR(mode); }
static inline int scep_s_isreg(unsigned mode) { return S_ISREG(mode); }
static inline int scep_s_islnk(unsigned mode) { return S_ISLNK(mode); }
static inline int scep_s_ischr(unsigned mode) { return S_ISCHR(mode); }

static inline int scep_wifexited(int status) { return WIFEXITED(status); }
static inline int scep_wexitstatus(int status) { return WEXITSTATUS(status); }

/* A datagram socket connected to the local syslog daemon's socket (/dev/log), close-on-exec;
 * -1 with errno set when there is none. The agent formats syslog lines itself (Platform's
 * SyslogSocket): libc's syslog(3) would bring printf and time-zone code into the static binary. */
static inline int scep_syslog_socket(const char *path) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Signals arrive as bytes on a pipe (the self-pipe trick), so the daemon's one poll() wakes for
 * them; returns the pipe's read end, or -1. */
int scep_signals_install(void);
/* The next signal number waiting on the pipe, or 0 when none. */
int scep_signal_take(int fd);

/* Arms a CLOCK_REALTIME timerfd for an absolute wall-clock time, cancelled when the clock is set. */
static inline int scep_timerfd_arm(int fd, long long seconds) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = (time_t)seconds;
    return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, 0);
}

extern char **environ;
static inline char **scep_environ(void) { return environ; }
static inline int scep_wifsignaled(int status) { return WIFSIGNALED(status); }

/* Starts writing a file's dirty pages back to storage and returns at once: a hint, as the fsync
 * that follows guarantees durability either way (-1 with ENOSYS where the kernel lacks it). */
int scep_start_writeback(int fd);

/* Child processes (spawn.c). scep_spawn_self starts a fresh image of this binary with `channel`
 * as descriptor 3, `role` as its argument, no other descriptors and `envp` as its environment
 * (with a `runner`, that program runs `self`, this binary's path, instead);
 * scep_spawn_hook runs `command` with /bin/sh in a process group of its own. Both return the
 * child's pid, or -1. scep_wait is waitpid retried on EINTR (`nohang`: WNOHANG). */
pid_t scep_spawn_self(int channel, const char *role, char *const envp[], const char *runner, const char *self);
pid_t scep_spawn_hook(const char *command, char *const envp[]);
int scep_wait(pid_t pid, int *status, int nohang);
int scep_wifsignaled_signal(int status);

/* The network process's sandbox (sandbox.c); each returns 0, or -1 with errno set. */
void scep_sandbox_prepare(void);
int scep_sandbox_no_new_privs(void);
int scep_sandbox_not_dumpable(void);
/* RLIMIT_CORE 0 and not dumpable: no core file, no ptrace or /proc access by other users. */
int scep_forbid_core_dumps(void);
int scep_sandbox_drop_privileges(unsigned uid, unsigned gid);
/* SIGKILL when `parent` (the key process) dies, as after any change of credentials it must be
 * set again; exits at once if that parent is already gone. */
int scep_sandbox_die_with_parent(int parent);
/* The kernel's Landlock ABI version, or -1 (ENOSYS, EOPNOTSUPP: none). */
int scep_landlock_abi(void);
int scep_landlock_deny_all_files(int abi);
/* The allow-list; `self` is this process's pid, the only target tgkill/tkill may name. */
int scep_seccomp_network_filter(int self);
/* The key process's deny-list: privileged calls it never makes fail with EPERM. */
int scep_seccomp_key_process_filter(void);
/* Test builds: one call the key process's filter refuses (0 mount, 1 unshare, 2 kcmp, 3 clone
 * and 4 clone3 with a namespace flag, 5 ioctl TIOCSTI). */
int scep_probe_key_process(int which);
long scep_probe_ptrace_parent(void);
int scep_probe_mmap_exec(void);

/* The process's arguments, captured before main (Embedded Swift has no CommandLine). */
int scep_argc(void);
char **scep_argv(void);

#endif
