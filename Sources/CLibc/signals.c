/*
 * Signal delivery for the daemon: handlers only write the signal number to a non-blocking pipe
 * (async-signal-safe), and the main loop reads it after poll() says the pipe is readable.
 */
#define _GNU_SOURCE
#include "clibc.h"

SCEP_OUT_OF_LINE_BEGIN

static int signal_pipe[2] = {-1, -1};

static void scep_on_signal(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    if (signal_pipe[1] >= 0) (void)write(signal_pipe[1], &byte, 1);
    errno = saved;
}

int scep_signals_install(void) {
    if (signal_pipe[0] >= 0) return signal_pipe[0];
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = scep_on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, 0);
    sigaction(SIGINT, &action, 0);
    sigaction(SIGHUP, &action, 0);
    signal(SIGPIPE, SIG_IGN);
    return signal_pipe[0];
}

int scep_signal_take(int fd) {
    unsigned char byte = 0;
    return read(fd, &byte, 1) == 1 ? (int)byte : 0;
}

SCEP_OUT_OF_LINE_END
