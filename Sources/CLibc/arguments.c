/*
 * Embedded Swift has no CommandLine, and SwiftPM points the ELF entry at the Swift module's own
 * main, so the arguments are captured here. glibc passes (argc, argv, envp) to ELF constructors;
 * other C libraries (musl) do not, so there the platform layer falls back to /proc/self/cmdline.
 */
#include "clibc.h"

SCEP_OUT_OF_LINE_BEGIN

static int captured_argc = -1;
static char **captured_argv = 0;

#if defined(__GLIBC__)
__attribute__((constructor))
static void scep_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}
#endif

int scep_argc(void) { return captured_argc; }
char **scep_argv(void) { return captured_argv; }

SCEP_OUT_OF_LINE_END
