// swift-tools-version:6.0
// Plenum: a self-hosted web-conferencing server around an audio conference bridge.
// Layering (see docs/architecture.md): C system libraries and shims → PlenumAudio (no I/O) →
// PlenumBridge (conferences, mixer tick) → protocol targets (SIP, WebRTC; later issues) → plenum.
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Plenum",
    products: [
        .executable(name: "plenum", targets: ["plenum"]),
        .executable(name: "plenum-bench", targets: ["plenum-bench"]),
        .executable(name: "plenum-load", targets: ["plenum-load"]),
        .executable(name: "plenum-fuzz", targets: ["plenum-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // MARK: System libraries (Debian -dev packages, found through pkg-config)
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
        .systemLibrary(name: "CSpanDSP", pkgConfig: "spandsp", providers: [.apt(["libspandsp-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSofiaSIP", pkgConfig: "sofia-sip-ua", providers: [.apt(["libsofia-sip-ua-dev"])]),
        // The SIP user agent on sofia-sip's nua, in C (tag lists are variadic; nua is single-threaded).
        .target(name: "CPlenumSofia", dependencies: ["CSofiaSIP"]),
        // DTLS-SRTP on OpenSSL with memory BIOs (macros and variadic key generation wrapped in C).
        .target(name: "CPlenumDTLS", dependencies: ["COpenSSL"]),
        // Variadic and macro APIs wrapped in C.
        .target(name: "CPlenumShims", dependencies: ["COpus", "CSpanDSP", "CSofiaSIP", "COpenSSL"]),
        // Per-thread allocation counts for plenum-bench (it replaces malloc: never link it elsewhere).
        .target(name: "CAllocationCounter"),

        // MARK: Plenum modules
        .target(
            name: "PlenumAudio",
            dependencies: ["COpus", "CSpeexDSP", "CPlenumShims"],
            swiftSettings: swiftSettings
        ),
        // What every layer shares and nothing else: display-name clean-up, the rate limiter.
        .target(name: "PlenumCore", swiftSettings: swiftSettings),
        .target(
            name: "PlenumBridge",
            dependencies: ["PlenumAudio", "PlenumCore", "CPlenumShims", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumRTP",
            dependencies: ["CSRTP"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumICE",
            dependencies: ["COpenSSL", "CZlib", "CPlenumDTLS"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumWebRTC",
            dependencies: ["CPlenumDTLS", "PlenumICE", "PlenumRTP", "PlenumMedia", "PlenumSDP"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumMedia",
            dependencies: ["PlenumBridge", "PlenumRTP"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumSDP",
            dependencies: ["CPlenumSofia", "PlenumAudio", "PlenumRTP"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumSIP",
            dependencies: ["CPlenumSofia", "CPlenumDTLS", "PlenumSDP", "PlenumMedia", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The control plane, sans-I/O: meetings as plain-value state machines (roles, locks, chat, the
        // waiting room, breakout rooms) with typed commands, effects and messages; the
        // BigBlueButton-compatible API.
        .target(
            name: "PlenumMeetings",
            dependencies: ["CPlenumDTLS", "PlenumCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlenumServer",
            dependencies: [
                "PlenumSIP", "PlenumWebRTC", "PlenumMeetings", "CPlenumDTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Every network-facing parser behind one entry point each: libFuzzer drives them from Fuzz/,
        // the test suite replays the kept corpus.
        .target(
            name: "PlenumFuzzTargets",
            dependencies: ["PlenumSIP", "PlenumSDP", "PlenumICE", "PlenumRTP", "PlenumMeetings", "PlenumServer"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "plenum-fuzz", dependencies: ["PlenumFuzzTargets"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "plenum",
            dependencies: [
                "PlenumBridge", "PlenumSIP", "PlenumServer", "PlenumWebRTC", "PlenumMeetings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "plenum-bench",
            dependencies: [
                "PlenumBridge", "CPlenumShims", "PlenumMedia", "PlenumRTP", "PlenumServer", "PlenumMeetings", "PlenumWebRTC",
                "CAllocationCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "plenum-load",
            dependencies: [
                "PlenumAudio", "PlenumMedia", "PlenumRTP", "PlenumICE", "PlenumSDP", "PlenumWebRTC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(
            name: "PlenumMeetingsTests",
            dependencies: ["PlenumMeetings", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlenumFuzzTargetsTests", dependencies: ["PlenumFuzzTargets"],
            exclude: ["Corpus"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PlenumServerTests",
            dependencies: [
                "PlenumServer", "PlenumMeetings", "PlenumWebRTC", "PlenumBridge",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SystemLibrariesTests",
            dependencies: ["COpus", "CSpeexDSP", "CSRTP", "COpenSSL", "CPlenumShims"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PlenumAudioTests", dependencies: ["PlenumAudio"], swiftSettings: swiftSettings),
        .testTarget(name: "PlenumBridgeTests", dependencies: ["PlenumBridge"], swiftSettings: swiftSettings),
        .testTarget(name: "PlenumRTPTests", dependencies: ["PlenumRTP"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PlenumSIPTests", dependencies: ["PlenumSIP", "PlenumSDP", "PlenumMedia", "PlenumBridge"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PlenumWebRTCTests", dependencies: ["PlenumWebRTC", "PlenumSDP", "PlenumICE", "PlenumMedia", "PlenumRTP"],
            exclude: ["Offers"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PlenumICETests", dependencies: ["PlenumICE"], exclude: ["make-stun-vectors.py"],
            swiftSettings: swiftSettings),
    ]
)
