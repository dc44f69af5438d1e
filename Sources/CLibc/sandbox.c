/*
 * The network process's sandbox, written out here rather than taken from libseccomp, so the
 * binary stays static and small: no_new_privs, a non-dumpable process, Landlock with no
 * filesystem access, and a seccomp-BPF allow-list of the system calls the network side makes.
 *
 * The constants of the kernel's interfaces are spelt out below instead of taken from
 * <linux/seccomp.h>, <linux/filter.h> and <linux/landlock.h>: they are stable ABI, and the tiny
 * build compiles against musl's headers alone. System call numbers come from <sys/syscall.h>,
 * which every C library here provides for its architecture.
 */
#define _GNU_SOURCE
#include "clibc.h"

#include <time.h>

#include <stddef.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

SCEP_OUT_OF_LINE_BEGIN

#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif

/* What the C library would otherwise do lazily, with a file open, after the sandbox forbids it:
 * glibc loads /etc/localtime on the first gmtime_r (mbedTLS calls it to check certificate dates).
 * musl's gmtime_r opens nothing and the agent never asks for local time, so the musl build leaves
 * this out, and with it musl's time-zone code (4 KB of the tiny build). */
void scep_sandbox_prepare(void) {
#ifdef __GLIBC__
    time_t epoch = 0;
    struct tm parts;
    gmtime_r(&epoch, &parts);
    localtime_r(&epoch, &parts);
#endif
}

int scep_sandbox_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int scep_sandbox_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

int scep_forbid_core_dumps(void) {
    struct rlimit none = { 0, 0 };
    int limited = setrlimit(RLIMIT_CORE, &none);
    return scep_sandbox_not_dumpable() == 0 && limited == 0 ? 0 : -1;
}

int scep_sandbox_drop_privileges(unsigned uid, unsigned gid) {
    if (setgroups(0, 0) != 0) return -1;
    if (setresgid(gid, gid, gid) != 0) return -1;
    if (setresuid(uid, uid, uid) != 0) return -1;
    /* Proof that it holds: root can no longer be regained. */
    if (uid != 0 && setresuid(0, 0, 0) == 0) { errno = EPERM; return -1; }
    return 0;
}

int scep_sandbox_die_with_parent(int parent) {
    /* Set at spawn, but a change of credentials clears it: set it again, then make sure the
     * parent did not die in between (the child would have been reparented). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -1;
    if (getppid() != parent) _exit(0);
    return 0;
}

/* ---- Landlock (Linux 5.13+) ---------------------------------------------------------------- */

struct scep_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

#define SCEP_LANDLOCK_CREATE_RULESET_VERSION 1u
#define SCEP_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET 1u
#define SCEP_LANDLOCK_SCOPE_SIGNAL 2u

int scep_landlock_abi(void) {
#ifdef SYS_landlock_create_ruleset
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, SCEP_LANDLOCK_CREATE_RULESET_VERSION);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* Every filesystem access the kernel's ABI version `abi` knows is handled, and no rule grants
 * any: the process can no longer open, create, remove, execute or truncate anything. From ABI 6
 * it can neither signal processes outside its domain nor reach abstract unix sockets. Network
 * access is left alone: the process exists to connect to the SCEP server. */
int scep_landlock_deny_all_files(int abi) {
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
    struct scep_landlock_ruleset_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.handled_access_fs = (1ull << 13) - 1;     /* ABI 1: execute ... make_sym */
    if (abi >= 2) attributes.handled_access_fs |= 1ull << 13;  /* refer */
    if (abi >= 3) attributes.handled_access_fs |= 1ull << 14;  /* truncate */
    if (abi >= 5) attributes.handled_access_fs |= 1ull << 15;  /* ioctl_dev */
    size_t size = offsetof(struct scep_landlock_ruleset_attr, handled_access_net);
    if (abi >= 6) {
        attributes.scoped = SCEP_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | SCEP_LANDLOCK_SCOPE_SIGNAL;
        size = sizeof attributes;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attributes, size, 0);
    if (ruleset < 0) return -1;
    int result = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
    int saved = errno;
    close(ruleset);
    errno = saved;
    return result;
#else
    (void)abi;
    errno = ENOSYS;
    return -1;
#endif
}

/* ---- seccomp-BPF ------------------------------------------------------------------------- */

struct scep_sock_filter { uint16_t code; uint8_t jt; uint8_t jf; uint32_t k; };
struct scep_sock_fprog { unsigned short len; struct scep_sock_filter *filter; };

#define BPF_LD_W_ABS 0x20   /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K 0x15      /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_JSET_K 0x45     /* BPF_JMP | BPF_JSET | BPF_K */
#define BPF_JGE_K 0x35      /* BPF_JMP | BPF_JGE | BPF_K */
#define BPF_RET_K 0x06      /* BPF_RET | BPF_K */

#define SECCOMP_SET_MODE_FILTER_ 1
#define SECCOMP_RET_KILL_PROCESS_ 0x80000000u
#define SECCOMP_RET_ALLOW_ 0x7fff0000u

/* struct seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args[6] at 16. Arguments
 * are read by their low 32 bits, which is where a little-endian machine keeps them. */
#define DATA_NR 0
#define DATA_ARCH 4
#define DATA_ARG(n) (16 + 8 * (n))

#if defined(__x86_64__)
#define SCEP_AUDIT_ARCH 0xc000003eu
#elif defined(__aarch64__)
#define SCEP_AUDIT_ARCH 0xc00000b7u
#elif defined(__arm__)
#define SCEP_AUDIT_ARCH 0x40000028u
#else
#error "no seccomp architecture for this target"
#endif

/* What the network process calls once it is sandboxed: sockets (Internet ones only), poll, the
 * clock, memory (never executable), signals' return path, and exit. No open, no exec, no
 * ptrace, no fork. */
static const long allowed[] = {
    SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close,
    SYS_connect, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_setsockopt, SYS_getsockopt,
    SYS_getsockname, SYS_getpeername, SYS_shutdown, SYS_fcntl,
#ifdef SYS_fcntl64
    SYS_fcntl64,
#endif
#ifdef SYS_poll
    SYS_poll,
#endif
    SYS_ppoll,
#ifdef SYS_ppoll_time64
    SYS_ppoll_time64,
#endif
    SYS_clock_gettime, SYS_gettimeofday, SYS_clock_nanosleep, SYS_nanosleep,
#ifdef SYS_clock_gettime64
    SYS_clock_gettime64,
#endif
#ifdef SYS_clock_nanosleep_time64
    SYS_clock_nanosleep_time64,
#endif
    SYS_getrandom, SYS_brk, SYS_munmap, SYS_mremap, SYS_madvise,
    SYS_futex,
#ifdef SYS_futex_time64
    SYS_futex_time64,
#endif
    SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall, SYS_getpid, SYS_gettid,
    SYS_exit, SYS_exit_group,
#ifdef SYS_send
    SYS_send, /* 32-bit ARM's glibc sends and receives with these, not sendto/recvfrom */
#endif
#ifdef SYS_recv
    SYS_recv,
#endif
};

/* Signals only to itself (abort(3) raises SIGABRT with tgkill on glibc, tkill on musl): arg 0,
 * the target, must be this process; it can signal nothing else, the key process least of all. */
static const long self_signal[] = {
    SYS_tgkill,
#ifdef SYS_tkill
    SYS_tkill,
#endif
};

/* Calls allowed only when their protection argument (arg 2) asks for no execution. */
static const long memory_mapping[] = {
#ifdef SYS_mmap2
    SYS_mmap2,
#endif
#ifdef SYS_mmap
    SYS_mmap,
#endif
    SYS_mprotect,
};

/* A filter program being written: instructions appended in order, and an overflow remembered
 * rather than checked at every step (install refuses it). */
struct bpf_builder {
    struct scep_sock_filter *program;
    int count;
    int capacity;
};

static void emit(struct bpf_builder *b, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
    if (b->count < b->capacity) {
        b->program[b->count].code = code;
        b->program[b->count].jt = jt;
        b->program[b->count].jf = jf;
        b->program[b->count].k = k;
    }
    b->count++;
}

/* Every filter's opening: a call from another architecture (x32, or the 32-bit entry on a
 * 64-bit kernel) could alias numbers, so it gets `refusal`; then the call's number is loaded. */
static void emit_architecture_check(struct bpf_builder *b, uint32_t refusal) {
    emit(b, BPF_LD_W_ABS, 0, 0, DATA_ARCH);
    emit(b, BPF_JEQ_K, 1, 0, SCEP_AUDIT_ARCH);
    emit(b, BPF_RET_K, 0, 0, refusal);
    emit(b, BPF_LD_W_ABS, 0, 0, DATA_NR);
#if defined(__x86_64__)
    emit(b, BPF_JGE_K, 0, 1, 0x40000000u); /* the x32 ABI's numbers */
    emit(b, BPF_RET_K, 0, 0, refusal);
#endif
}

/* One call decided by one of its arguments: if the call is `nr`, argument `argument` is loaded and
 * tested (`test`: BPF_JEQ_K or BPF_JSET_K against `value`), and the call gets `when_true` or
 * `when_false`. Both ways return, so any other call jumps past with its number still loaded. */
static void emit_argument_rule(struct bpf_builder *b, uint32_t nr, uint32_t argument, uint16_t test,
                               uint32_t value, uint32_t when_true, uint32_t when_false) {
    emit(b, BPF_JEQ_K, 0, 4, nr);
    emit(b, BPF_LD_W_ABS, 0, 0, DATA_ARG(argument));
    emit(b, test, 0, 1, value);
    emit(b, BPF_RET_K, 0, 0, when_true);
    emit(b, BPF_RET_K, 0, 0, when_false);
}

static int install(const struct bpf_builder *b) {
    if (b->count > b->capacity) { errno = E2BIG; return -1; }
    struct scep_sock_fprog fprog = { (unsigned short)b->count, b->program };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER_, 0, &fprog);
}

int scep_seccomp_network_filter(int self) {
    struct scep_sock_filter program[160];
    struct bpf_builder b = { program, 0, (int)(sizeof program / sizeof program[0]) };
    size_t allowed_count = sizeof allowed / sizeof allowed[0];
    size_t mapping_count = sizeof memory_mapping / sizeof memory_mapping[0];
    size_t signal_count = sizeof self_signal / sizeof self_signal[0];

    emit_architecture_check(&b, SECCOMP_RET_KILL_PROCESS_);
    for (size_t i = 0; i < allowed_count; i++) {
        emit(&b, BPF_JEQ_K, 0, 1, (uint32_t)allowed[i]);
        emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW_);
    }
    /* socket(domain, ...): AF_INET and AF_INET6 only; no unix, netlink or packet sockets. */
    emit(&b, BPF_JEQ_K, 0, 5, (uint32_t)SYS_socket);
    emit(&b, BPF_LD_W_ABS, 0, 0, DATA_ARG(0));
    emit(&b, BPF_JEQ_K, 1, 0, AF_INET);
    emit(&b, BPF_JEQ_K, 0, 1, AF_INET6);
    emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW_);
    emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS_);
    /* tgkill and tkill aimed at this process only. */
    for (size_t i = 0; i < signal_count; i++)
        emit_argument_rule(&b, (uint32_t)self_signal[i], 0, BPF_JEQ_K, (uint32_t)self,
                           SECCOMP_RET_ALLOW_, SECCOMP_RET_KILL_PROCESS_);
    /* mmap and mprotect without PROT_EXEC: no new executable memory. */
    for (size_t i = 0; i < mapping_count; i++)
        emit_argument_rule(&b, (uint32_t)memory_mapping[i], 2, BPF_JSET_K, PROT_EXEC,
                           SECCOMP_RET_KILL_PROCESS_, SECCOMP_RET_ALLOW_);
    emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS_);
    return install(&b);
}

/* ---- the key process's filter -------------------------------------------------------------
 *
 * The key process reads files, forks, execs its network process and talks to a TPM: too much
 * for an allow-list that could never break a field device. What it gets is a deny-list of the
 * calls that would turn a compromised agent into a compromised system, none of which it makes:
 * mounts and namespaces, modules and kexec, ptrace and cross-process memory, BPF and perf,
 * keyrings, the clock and the host name, swap, reboot, io_uring. Each fails with EPERM, so a
 * list that met an unexpected caller would show as an error, never as a killed daemon.
 *
 * It also carries an init system's seccomp profile to where the init system cannot: OpenWrt's
 * procd installs a service's profile through an LD_PRELOAD library, which a static binary never
 * loads. */
/* Numbers from 403 on are the same on every architecture (Linux 5.1 and later), and a C library
 * older than the kernel may not name them: the filter names them anyway. */
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#define SYS_io_uring_enter 426
#define SYS_io_uring_register 427
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#define SYS_fspick 433
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

static const long key_process_denied[] = {
    SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_setns, SYS_unshare,
    SYS_move_mount, SYS_open_tree, SYS_open_tree_attr, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
    SYS_mount_setattr,
    SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load,
#ifdef SYS_kexec_file_load
    SYS_kexec_file_load,
#endif
    SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_quotactl, SYS_quotactl_fd,
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_process_madvise, SYS_kcmp, SYS_pidfd_getfd,
    SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_fanotify_init,
    SYS_keyctl, SYS_add_key, SYS_request_key,
    SYS_open_by_handle_at, SYS_name_to_handle_at,
    SYS_settimeofday, SYS_clock_settime, SYS_adjtimex, SYS_clock_adjtime,
#ifdef SYS_clock_settime64
    SYS_clock_settime64,
#endif
#ifdef SYS_clock_adjtime64
    SYS_clock_adjtime64,
#endif
    SYS_sethostname, SYS_setdomainname, SYS_syslog, SYS_vhangup,
#ifdef SYS_iopl
    SYS_iopl, SYS_ioperm,
#endif
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
};

#define SECCOMP_RET_ERRNO_ 0x00050000u
/* clone's flags that make a namespace: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
#define SCEP_CLONE_NAMESPACES 0x7E020000u
/* ioctl(TIOCSTI): typing into a terminal the agent may have inherited. */
#define SCEP_TIOCSTI 0x5412u

int scep_seccomp_key_process_filter(void) {
    enum { count = sizeof key_process_denied / sizeof key_process_denied[0] };
    struct scep_sock_filter program[2 * count + 24];
    struct bpf_builder b = { program, 0, (int)(sizeof program / sizeof program[0]) };
    uint32_t refused = SECCOMP_RET_ERRNO_ | EPERM;

    emit_architecture_check(&b, refused);
    for (size_t i = 0; i < count; i++) {
        emit(&b, BPF_JEQ_K, 0, 1, (uint32_t)key_process_denied[i]);
        emit(&b, BPF_RET_K, 0, 0, refused);
    }
    /* clone3 passes its flags in memory, out of a filter's reach: ENOSYS, on which the C
     * libraries fall back to clone, whose flags are argument 0 on every architecture here. */
    emit(&b, BPF_JEQ_K, 0, 1, (uint32_t)SYS_clone3);
    emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO_ | ENOSYS);
    /* clone (fork is one) unless it asks for a namespace. */
    emit_argument_rule(&b, (uint32_t)SYS_clone, 0, BPF_JSET_K, SCEP_CLONE_NAMESPACES, refused, SECCOMP_RET_ALLOW_);
    /* ioctl, unless it is TIOCSTI (the request is argument 1; its low 32 bits are the number). */
    emit_argument_rule(&b, (uint32_t)SYS_ioctl, 1, BPF_JEQ_K, SCEP_TIOCSTI, refused, SECCOMP_RET_ALLOW_);
    emit(&b, BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW_);
    return install(&b);
}

/* Test builds' key-process probes (SCEP_SANDBOX_PROBES): calls the filter refuses, each
 * harmless when it is not there (a tmpfs on a path that does not exist, a namespace for this
 * process alone or for a child that exits at once). Returns 0, or -1 with errno set. */
/* A probe's clone: the child exits at once, the parent waits for it. */
static int reap_probe_child(long pid) {
    if (pid == 0) _exit(0);
    if (pid < 0) return -1;
    waitpid((pid_t)pid, 0, 0);
    return 0;
}

int scep_probe_key_process(int which) {
    switch (which) {
    case 0: return mount("none", "/nonexistent-scep-agent-probe", "tmpfs", 0, 0);
    case 1: return unshare(CLONE_NEWUTS);
    case 2: return (int)syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0);
    case 3: return reap_probe_child(syscall(SYS_clone, (unsigned long)(CLONE_NEWUTS | SIGCHLD), 0, 0, 0, 0));
    case 4: {
        uint64_t args[8] = { CLONE_NEWUTS, 0, 0, 0, SIGCHLD, 0, 0, 0 };
        return reap_probe_child(syscall(SYS_clone3, args, sizeof args));
    }
    case 5: {
        /* TIOCSTI on /dev/null, never a terminal: without the filter it fails with ENOTTY. */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        char byte = 'x';
        int result = ioctl(fd, SCEP_TIOCSTI, &byte);
        int saved = errno;
        close(fd);
        errno = saved;
        return result;
    }
    default: errno = EINVAL; return -1;
    }
}

/* Test builds' ptrace probe (SCEP_SANDBOX_PROBES): attach to the parent, the key process. */
long scep_probe_ptrace_parent(void) {
    return ptrace(PTRACE_ATTACH, getppid(), 0, 0);
}

/* Test builds' executable-memory probe (SCEP_SANDBOX_PROBES): the network process's filter
 * allows mmap only without PROT_EXEC. Returns 0 when the mapping was made. */
int scep_probe_mmap_exec(void) {
    void *page = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return -1;
    munmap(page, 4096);
    return 0;
}

SCEP_OUT_OF_LINE_END
