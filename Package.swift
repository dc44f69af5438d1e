// swift-tools-version:6.1
//
// One package, two build modes:
//   swift build / swift test                       normal Swift, for development and tests
//   swift build -c release --traits Embedded       Embedded Swift, fully static: the binary we ship
//
// The target graph is the architecture. Each arrow is the only way one layer may reach another:
//
//   scep-agent (executable) ─▶ CLI ─▶ Separation ─▶ Agent ─▶ Protocol ─▶ CMS ─▶ X509 ─▶ ASN1 ─▶ Encoding
//                                                    │          │                       └────▶ Crypto ─▶ CMbedTLS (mbedTLS)
//                                                    │          └─▶ Keystore ─▶ Platform ─▶ CLibc (libc)
//                                           CLI ─▶ TPM ─▶ Crypto, ASN1, Platform   (TPM 2.0 device keys)
//                                                    └─▶ HTTP ─▶ Platform
//
// Separation is the privilege separation: the key process (CLI, Agent, Keystore) and the
// sandboxed network process (HTTP, Protocol parsing) talk only through its messages.
//
// Encoding (byte and text formats, pure Swift) serves every layer, Platform included.
// Only Crypto imports CMbedTLS, only Platform imports CLibc; `Scripts/check-layers.sh` enforces it.
import PackageDescription

/// Three SIL optimisations that trade size for speed, left out of the shipped binary. Embedded
/// Swift specialises every generic for every type it is used with; the performance inliners then
/// copy those bodies into each caller, and closure specialisation and function-signature
/// specialisation make one more copy per closure or argument shape. Our hot paths are mbedTLS's C
/// code, so the copies buy nothing measurable (`make bench`), and they cost more than the TPM code
/// does (docs/generated/feature-cost.md). `-sil-disable-pass` matches a substring of a pass's tag
/// or ID: "PerfInliner" names exactly EarlyPerfInliner and PerfInliner ("inline" would also match
/// InlineAlwaysInlining, a mandatory pass); the other two match one pass each. Mandatory inlining,
/// generic specialisation and the Embedded diagnostics still run.
/// SCEP_AGENT_SPEED_PASSES=1 keeps them, for `make feature-cost` to measure what they would cost.
let embeddedSizePasses = Context.environment["SCEP_AGENT_SPEED_PASSES"] == "1" ? [] :
    ["PerfInliner", "closure-specialize", "function-signature-opts"].flatMap { ["-Xllvm", "-sil-disable-pass=\($0)"] }

/// Settings every Swift library target shares, so the two modes can never drift apart.
/// The stack protector is on in the shipped binary (`make hardening` measures what it costs).
let swiftSettings: [SwiftSetting] = [
    .enableExperimentalFeature("Embedded", .when(traits: ["Embedded"])),
    .unsafeFlags(["-Osize", "-Xfrontend", "-enable-stack-protector", "-Xfrontend", "-function-sections"]
                 + embeddedSizePasses, .when(traits: ["Embedded"])),
]

/// The C shims get the same protection as the Swift code (mbedTLS and the C library are built by
/// Debian's gcc, which has it on by default).
let shimHardening: [CSetting] = [.unsafeFlags(["-fstack-protector-strong"], .when(traits: ["Embedded"]))]

let package = Package(
    name: "scep-agent",
    products: [
        .executable(name: "scep-agent", targets: ["scep-agent"]),
    ],
    traits: [
        .trait(name: "Embedded",
               description: "Build as Embedded Swift and link fully statically: the shipped binary."),
    ],
    targets: [
        // C shims: the only doors to libc and mbedTLS.
        .target(name: "CLibc", path: "Sources/CLibc",
                // embedded_runtime.c corrects the Embedded runtime; the normal build must not see it.
                cSettings: [.define("SCEP_EMBEDDED_RUNTIME", .when(traits: ["Embedded"]))] + shimHardening,
                linkerSettings: [.linkedLibrary("m")]),
        .target(name: "CMbedTLS", path: "Sources/CMbedTLS", cSettings: shimHardening,
                linkerSettings: [.linkedLibrary("mbedtls"), .linkedLibrary("mbedx509"),
                                 .linkedLibrary("mbedcrypto")]),

        // Layers, bottom up.
        .target(name: "Platform", dependencies: ["CLibc", "Encoding"], path: "Sources/Platform",
                swiftSettings: swiftSettings),
        .target(name: "Encoding", path: "Sources/Encoding", swiftSettings: swiftSettings),
        .target(name: "ASN1", dependencies: ["Encoding"], path: "Sources/ASN1",
                swiftSettings: swiftSettings),
        .target(name: "Crypto", dependencies: ["CMbedTLS", "Encoding"], path: "Sources/Crypto",
                swiftSettings: swiftSettings),
        .target(name: "X509", dependencies: ["ASN1", "Crypto", "Encoding"], path: "Sources/X509",
                swiftSettings: swiftSettings),
        .target(name: "CMS", dependencies: ["X509", "ASN1", "Crypto", "Encoding"], path: "Sources/CMS",
                swiftSettings: swiftSettings),
        .target(name: "HTTP", dependencies: ["Platform", "Crypto", "Encoding"], path: "Sources/HTTP",
                swiftSettings: swiftSettings),
        .target(name: "Protocol", dependencies: ["CMS", "X509", "ASN1", "Crypto", "Encoding"],
                path: "Sources/Protocol", swiftSettings: swiftSettings),
        .target(name: "Keystore", dependencies: ["Platform", "Crypto", "X509", "ASN1", "Encoding"],
                path: "Sources/Keystore", swiftSettings: swiftSettings),
        // TPM 2.0 device keys: the command marshalling in our own code, no TSS library.
        .target(name: "TPM", dependencies: ["Crypto", "ASN1", "Platform", "Encoding"],
                path: "Sources/TPM", swiftSettings: swiftSettings),
        .target(name: "Agent", dependencies: ["Protocol", "Keystore", "CMS", "X509", "ASN1", "Crypto", "Platform", "Encoding"],
                path: "Sources/Agent", swiftSettings: swiftSettings),
        // The privilege separation: the network process (sandboxed, holds no key) and the key
        // process's server for its requests, over one socketpair.
        //
        // Normal mode: calls on the concrete SCEPClient<HTTPTransport> instantiated its metadata
        // from a mangled name, and the Swift 6.3 runtime then failed to find HTTPTransport's
        // conformance ("subject type x does not conform to protocol SCEPTransport"): `caps` and
        // `getca` crashed. Direct metadata accessors avoid the lookup. Embedded builds have no
        // runtime metadata and never had the problem.
        .target(name: "Separation",
                dependencies: ["Agent", "Protocol", "HTTP", "CMS", "X509", "ASN1", "Crypto", "Platform", "Encoding"],
                path: "Sources/Separation",
                swiftSettings: swiftSettings + [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]),
        // The same runtime failure for the daemon: `run` (Daemon<SystemHost>, instantiated here)
        // crashed in normal mode until CLI had direct accessors too. Tests/Smoke/debug-build.sh.
        .target(name: "CLI",
                dependencies: ["Separation", "Agent", "Protocol", "HTTP", "Keystore", "TPM", "CMS", "X509", "ASN1", "Crypto", "Platform", "Encoding"],
                path: "Sources/CLI",
                swiftSettings: swiftSettings + [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]),
        .executableTarget(
            name: "scep-agent", dependencies: ["CLI", "Platform"], path: "Sources/scep-agent",
            swiftSettings: swiftSettings,
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-static",
                                           "-Xlinker", "--gc-sections", "-Xlinker", "--icf=all"],
                                          .when(traits: ["Embedded"]))]),

        .target(name: "TestSupport", dependencies: ["Protocol", "CMS", "X509", "ASN1", "Crypto", "Encoding"],
                path: "Tests/TestSupport"),
        .executableTarget(name: "scep-test-responder", dependencies: ["TestSupport", "Protocol", "Encoding", "Crypto", "X509"],
                          path: "Tests/Responder"),
        .executableTarget(name: "scep-fleet-sim", dependencies: ["Agent"], path: "Tests/FleetSim"),
        // The fuzz targets without libFuzzer: each corpus input once, for the ARM builds under
        // qemu-user (Embedded Swift has no libFuzzer or sanitizers). Tests/Fuzz/fuzz.sh links
        // FuzzTargets.swift with libFuzzer instead.
        .executableTarget(name: "scep-fuzz-replay",
                          dependencies: ["CLI", "Separation", "Agent", "Keystore", "TPM", "Protocol", "HTTP", "CMS", "X509", "ASN1",
                                         "Crypto", "Platform", "Encoding", "CLibc"],
                          path: "Tests/Fuzz", exclude: ["corpus", "fuzz.sh", "replay-arm.sh", "capture-seeds.sh", "record-proxy.py", "capture-tpm-seed.py"],
                          swiftSettings: swiftSettings,
                          linkerSettings: [.unsafeFlags(["-Xclang-linker", "-static", "-Xlinker", "--gc-sections"],
                                                        .when(traits: ["Embedded"]))]),
        .testTarget(name: "EncodingTests", dependencies: ["Encoding"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "ASN1Tests", dependencies: ["ASN1"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto", "CMbedTLS"]),
        .testTarget(name: "X509Tests", dependencies: ["X509", "ASN1", "Crypto", "TestSupport"]),
        .testTarget(name: "ProtocolTests", dependencies: ["Protocol", "CMS", "X509", "ASN1", "Crypto", "Encoding", "TestSupport"]),
        .testTarget(name: "KeystoreTests", dependencies: ["Keystore", "X509", "ASN1", "Crypto", "Platform", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Keystore", "Protocol", "X509", "ASN1", "Crypto", "Platform", "TestSupport"]),
        .testTarget(name: "CMSTests", dependencies: ["CMS", "X509", "ASN1", "Crypto", "TestSupport"]),
        .testTarget(name: "TPMTests", dependencies: ["TPM", "Crypto", "Platform", "Encoding", "ASN1"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "Agent", "Platform", "X509", "ASN1"]),
        .testTarget(name: "SeparationTests",
                    dependencies: ["Separation", "Agent", "Keystore", "Protocol", "HTTP", "X509", "ASN1", "Crypto", "Platform", "TestSupport"]),
    ]
)
