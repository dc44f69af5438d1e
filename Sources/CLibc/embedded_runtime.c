/*
 * A correction to the Embedded Swift 6.3 runtime, for the shipped (Embedded, 64-bit) builds only.
 *
 * The compiler declares swift_bridgeObjectRetain as returning its argument unchanged (LLVM's
 * `returned`), so a caller may go on using the returned register as the retained value. The
 * Embedded runtime in Swift 6.3 instead returns the argument with its tag bits masked off
 * (`bridgeObjectToPlainObjectMask`). For a small string that mask clears the "small" and "ASCII"
 * bits and the low bit of its last byte: on aarch64 `caps --url ftp://example/` arrived in the
 * option parser as a large string of length ~2^47 ("ftp://exampl`/"), and the copy trapped in
 * swift_allocObject. Upstream Swift since returns the original object; this does the same.
 *
 * These strong definitions replace the runtime's weak ones at link time. The normal (non-Embedded)
 * build links the full Swift runtime, which is correct and must not be interposed, so this is
 * compiled only when SwiftPM's Embedded trait defines SCEP_EMBEDDED_RUNTIME. On 32-bit targets
 * the runtime's mask is all ones, so its retain returns the argument unchanged and is correct as
 * it is (the armv7 build keeps the runtime's own).
 *
 * The mask must stay the one the runtime's swift_bridgeObjectRelease uses, or retains and
 * releases would stop pairing up: on a toolchain upgrade, compare the two in the disassembly
 * (`Tests/Cross/run.sh` runs every string-heavy path on aarch64, where the bug showed).
 */
#include <stdint.h>

#if defined(SCEP_EMBEDDED_RUNTIME) && UINTPTR_MAX == UINT64_MAX

/* HeapObject.bridgeObjectToPlainObjectMask of the 64-bit Embedded runtime (the same on x86_64 and
 * aarch64, read from the runtime's own code). */
#define SCEP_PLAIN_OBJECT_MASK UINT64_C(0x8ffffffffffffff8)

/* The runtime's own, which ignores null and immortal/tagged pointers (top bit set). */
extern void *swift_retain_n(void *object, uint32_t count);

void *swift_bridgeObjectRetain_n(void *object, uint32_t count) {
    (void)swift_retain_n((void *)((uintptr_t)object & SCEP_PLAIN_OBJECT_MASK), count);
    return object;
}

void *swift_bridgeObjectRetain(void *object) {
    return swift_bridgeObjectRetain_n(object, 1);
}

#endif
