import ArgumentParser

/// End-to-end load against a running `plenum serve`: N phones over SIP/RTP, or N browsers over the
/// signalling and DTLS-SRTP. A tool of its own (apart from `plenum-bench`) because its WebSocket client
/// brings SwiftNIO and TLS, which the in-process benchmarks and the allocation check do not need.
@main
struct PlenumLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum-load", abstract: "End-to-end load benchmarks against the Plenum server.",
        subcommands: [SIPLoad.self, WebRTCLoad.self, VideoLoad.self])
}
