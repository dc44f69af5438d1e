/*
 * Starting writeback without waiting for it, so that several new files reach the disk as one
 * batch: the keystore writes a generation's files, starts each one's writeback, and only then
 * fsyncs them; by the time it waits on the first, the others are already on their way.
 * sync_file_range(2) is Linux's, hence _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include "clibc.h"

SCEP_OUT_OF_LINE_BEGIN

int scep_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

SCEP_OUT_OF_LINE_END
