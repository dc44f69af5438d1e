import CLI
import Platform

// Everything lives in the library so tests can drive it; this file only connects it to the process.
// First of all, for every role: no core file and no ptrace by other users, as this process will
// hold keys and the challenge.
Sandbox.forbidCoreDumps()
let arguments = Array(processArguments().dropFirst())
if arguments == [networkProcessRole] { exitProcess(networkProcessMain()) }
exitProcess(runMain(arguments).rawValue)
