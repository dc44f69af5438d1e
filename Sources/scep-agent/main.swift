import CLI
import Platform

// Everything lives in the library so tests can drive it; this file only connects it to the process.
let arguments = Array(processArguments().dropFirst())
if arguments == [networkProcessRole] { exitProcess(networkProcessMain()) }
exitProcess(runMain(arguments).rawValue)
