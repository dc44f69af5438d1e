// scep-fuzz-replay: every input named on the command line through one fuzz target, once, without
// libFuzzer. The ARM builds are Embedded Swift, which has neither libFuzzer nor the sanitizers;
// replaying the corpus under qemu-user still puts every parser's 32-bit arithmetic in front of
// the inputs the fuzzer found (Tests/Cross/run.sh). A crash or a trap fails the run.
//
//   SCEP_FUZZ_TARGET=der SCEP_FUZZ_FIXTURES=Tests/Fuzz/corpus/fixtures scep-fuzz-replay FILE...
import Platform

/// Replays each file; returns how many.
func replay(_ paths: ArraySlice<String>) -> Int {
    for path in paths {
        guard let input = try? readFile(path, limit: 1 << 20) else {
            print("scep-fuzz-replay: cannot read \(path)")
            exitProcess(2)
        }
        _ = input.withUnsafeBufferPointer { fuzzOne($0.baseAddress, $0.count) }
    }
    return paths.count
}

print("replayed \(replay(processArguments().dropFirst())) inputs")
