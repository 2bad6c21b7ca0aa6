// swift-tools-version:6.1
// SPDX-License-Identifier: Apache-2.0
// Vigil — a trust layer for AI coding agents on Linux endpoints.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "vigil-bench", targets: ["vigil-bench"]),
        .executable(name: "vigild", targets: ["vigild"]),
        .executable(name: "vigil-console", targets: ["vigil-console"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-http-structured-headers", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The console only: vigild and vigil link none of these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C, fenced: libbpf itself, and the one glue target that owns the BPF skeleton.
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        .target(name: "CVigilBPF", dependencies: ["CLibBPF"], exclude: ["generated/README.md"]),
        // tpm2-tss (ESAPI, the TCTI loader), and the glue that owns the TPM calls behind an opaque handle.
        .systemLibrary(name: "CTSS2", pkgConfig: "tss2-esys", providers: [.apt(["libtss2-dev"])]),
        // The module map's `link` lines reach only Swift importers, and pkg-config names tss2-esys alone.
        .target(
            name: "CVigilTPM", dependencies: ["CTSS2"],
            linkerSettings: [.linkedLibrary("tss2-esys"), .linkedLibrary("tss2-tctildr"), .linkedLibrary("tss2-mu"), .linkedLibrary("tss2-rc")]),

        // Pure Swift, no I/O beyond what each names: table-testable.
        // JSON: one value type, one string escaper, one writer with named, versioned formats (two are hashed).
        .target(name: "VigilJSON", swiftSettings: swiftSettings),
        .target(name: "VigilCore", dependencies: ["VigilJSON", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        // The local API's wire types (status, sessions, timelines, grants): no dependencies, so that
        // clients (`vigil`, later the console) decode what vigild answers without linking it.
        .target(name: "VigilAPI", swiftSettings: swiftSettings),
        // A session summarised for a person (commands as a tree, the system's own files folded), from
        // the API's timeline and conversation alone: the CLI and the console show the same thing.
        .target(name: "VigilSessionSummary", dependencies: ["VigilAPI"], swiftSettings: swiftSettings),
        // The host: device identity, OS accounts, the monotonic clock, durable file writes.
        .target(
            name: "VigilHost",
            dependencies: [.product(name: "SystemPackage", package: "swift-system"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VigilPolicy", dependencies: ["Yams", "VigilCore", "VigilJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "VigilPosture", dependencies: ["VigilCore", "VigilJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "VigilAudit",
            dependencies: ["VigilHost", "VigilJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // RFC 9421 request signatures and RFC 9530 Content-Digest, values in and out (no NIO): console and vigild share it.
        .target(
            name: "VigilSignatures",
            dependencies: [
                "VigilAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ],
            swiftSettings: swiftSettings
        ),

        // The device key a TPM holds (ECDSA P-256 through tpm2-tss), behind the request-signing and the
        // checkpoint-signing seams. No NIO: vigild, vigil and the benchmarks link it.
        .target(
            name: "VigilDevice",
            dependencies: ["CVigilTPM", "VigilAudit", "VigilHost", "VigilSignatures", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // Exports of the verified log: OCSF today, the SIEM exporters next.
        .target(name: "VigilExport", dependencies: ["VigilAudit", "VigilJSON"], swiftSettings: swiftSettings),

        // Real denial of exec and open (fanotify permission events on targeted marks), pidfd kill.
        .target(name: "VigilEnforcement", dependencies: ["VigilHost"], swiftSettings: swiftSettings),

        // The kernel sensor: loads the BPF programs and turns ring-buffer records into VigilCore events.
        .target(
            name: "VigilSensor",
            dependencies: ["CVigilBPF", "VigilCore", "VigilHost", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // The engine of `vigil run` and of the daemon: sensor + policy + enforcement + audit, joined.
        .target(
            name: "VigilRuntime",
            dependencies: [
                "VigilCore", "VigilHost", "VigilSensor", "VigilPolicy", "VigilAudit", "VigilEnforcement", "VigilPosture",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The Claude Code adapter: hook payload codecs and answers, the managed-settings drop-in, `vigil hook`.
        .target(
            name: "VigilClaude",
            dependencies: [
                "VigilAPI", "VigilCore", "VigilHost", "VigilJSON", "VigilPolicy", "VigilAudit", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Local transports on SwiftNIO: the HTTP/1.1 server glue (NIO's parser under Vigil's rules, TCP
        // loopback and Unix socket), the client over async-http-client (`http+unix://`), and who is on
        // the other end (SO_PEERCRED; TCP → socket inode → pid through NETLINK_SOCK_DIAG).
        .target(
            name: "VigilTransport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client side (async-http-client, `http+unix://`): the CLI, the benchmarks and the tests;
        // vigild does not link it (its one client, the console uplink, is VigilFleet's).
        .target(
            name: "VigilTransportClient",
            dependencies: [
                "VigilTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),

        // vigild: one sensor reader for every session, the hook endpoint, the local API.
        .target(
            name: "VigilDaemon",
            dependencies: [
                "VigilAPI", "VigilCore", "VigilHost", "VigilJSON", "VigilSensor", "VigilPolicy", "VigilAudit", "VigilPosture",
                "VigilEnforcement", "VigilRuntime", "VigilClaude", "VigilTransport", "VigilFleet", "VigilDevice",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vigild",
            dependencies: [
                "VigilDaemon", "VigilClaude", "VigilCore", "VigilHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilAPI", "VigilCore", "VigilJSON", "VigilSensor", "VigilPolicy", "VigilAudit", "VigilPosture", "VigilEnforcement", "VigilRuntime",
                "VigilClaude", "VigilTransport", "VigilTransportClient", "VigilHost", "VigilExport", "VigilFleet", "VigilDevice",
                "VigilSessionSummary",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The device side of the console: the device key, enrolment (token, TLS pin), the signed client
        // (swift-nio with NIOSSL's verification callback for the pin: async-http-client cannot take one).
        .target(
            name: "VigilFleet",
            dependencies: [
                "VigilAPI", "VigilAudit", "VigilHost", "VigilSignatures", "VigilDevice",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // The console: enrolled devices, one policy for the organisation, its own signed audit log.
        // Hummingbird, GRDB and PostgresNIO live here only, so the daemon never links them.
        .target(
            name: "VigilConsole",
            dependencies: [
                "VigilAPI", "VigilAudit", "VigilSignatures", "VigilHost", "VigilPolicy",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vigil-console",
            dependencies: [
                "VigilConsole", "VigilAPI", "VigilHost", "VigilPolicy", "VigilTransport", "VigilTransportClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "vigil-bench",
            dependencies: [
                "VigilCore", "VigilJSON", "VigilSensor", "VigilPolicy", "VigilAudit", "VigilPosture", "VigilRuntime", "VigilClaude", "VigilTransport",
                "VigilTransportClient", "VigilFleet", "VigilAPI", "VigilDevice",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test support shared by the test targets: the privilege gate (a trait), the built binaries, a listener,
        // the PostgreSQL server the console's tests use.
        .target(
            name: "VigilTestSupport", dependencies: ["VigilSensor", "VigilEnforcement"], path: "Tests/VigilTestSupport",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "VigilJSONTests", dependencies: ["VigilJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilSessionSummaryTests", dependencies: ["VigilSessionSummary", "VigilAPI"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilCoreTests", dependencies: ["VigilCore", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilHostTests", dependencies: ["VigilHost", .product(name: "Logging", package: "swift-log")], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilPolicyTests", dependencies: ["VigilPolicy", "VigilCore", "VigilJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilPostureTests", dependencies: ["VigilPosture", "VigilCore", "VigilJSON", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilEnforcementTests", dependencies: ["VigilEnforcement", "VigilPolicy", "VigilTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilRuntimeTests",
            dependencies: [
                "VigilRuntime", "VigilSensor", "VigilPolicy", "VigilAudit", "VigilCore", "VigilPosture", "VigilEnforcement", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilClaudeTests",
            dependencies: [
                "VigilClaude", "VigilAPI", "VigilJSON", "VigilPolicy", "VigilAudit", "VigilCore", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // The real Claude Code and the real vigild, driven by the scripted model (Tests/e2e): root, `make claude`.
        .testTarget(
            name: "VigilEndToEndTests",
            dependencies: ["VigilClaude", "VigilAudit", "VigilTransport", "VigilTransportClient", "VigilTestSupport"],
            swiftSettings: swiftSettings
        ),
        // Fixtures/: a log written by an earlier version, which must keep verifying.
        .testTarget(
            name: "VigilAuditTests", dependencies: ["VigilAudit", "VigilExport", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilTransportTests",
            dependencies: [
                "VigilTransport", "VigilTransportClient",
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilDaemonTests",
            dependencies: [
                "VigilDaemon", "VigilAPI", "VigilClaude", "VigilAudit", "VigilCore", "VigilHost", "VigilPolicy", "VigilTransport", "VigilTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // Oracle/: the Python http-message-signatures helper the interop tests run (`make pytools`).
        .testTarget(
            name: "VigilSignaturesTests",
            dependencies: ["VigilSignatures", "VigilAPI", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Oracle"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VigilFleetTests", dependencies: ["VigilFleet"], swiftSettings: swiftSettings),
        // The TPM key against a software TPM (swtpm) the tests start, and the file keys behind the same seams.
        .testTarget(
            name: "VigilDeviceTests",
            dependencies: [
                "VigilDevice", "VigilAudit", "VigilSignatures", "VigilAPI", "VigilHost", "VigilTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilConsoleTests",
            dependencies: [
                "VigilConsole", "VigilFleet", "VigilDevice", "VigilAPI", "VigilAudit", "VigilSignatures", "VigilTransport", "VigilTransportClient",
                "VigilPolicy", "VigilJSON", "VigilTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilSensorTests",
            dependencies: ["VigilSensor", "VigilCore", "CVigilBPF", "VigilTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
