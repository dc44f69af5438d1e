import CLI
import Platform

// Everything lives in the library so tests can drive it; this file only connects it to the process.
exitProcess(runMain(Array(processArguments().dropFirst())).rawValue)
