import CPlenumSofia
import Foundation
import Synchronization

/// An event from the SIP stack, copied off sofia's thread.
public struct SIPEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invite, active, cancelled, bye, terminated, info
        /// A flooding source is dropped by the kernel for `status` seconds (no call).
        case sourceDropped
    }
    public var kind: Kind
    public var call: UInt64
    public var isReinvite = false
    public var status = 0
    public var requestUser = ""
    public var fromUser = ""
    public var fromDisplay = ""
    public var toUser = ""
    public var sourceAddress = ""
    public var userAgent = ""
    /// The request came over TLS.
    public var isSecure = false
    /// The digest-authenticated user, when the INVITE carried valid credentials.
    public var authenticatedUser: String?
    public var contentType = ""
    public var body = ""

    public init(kind: Kind, call: UInt64) {
        self.kind = kind
        self.call = call
    }
}

/// The SIP user agent: sofia-sip's nua on a thread of its own (one su_root per profile). Its callbacks
/// only copy the event and hand it to `handler`; commands are marshalled onto sofia's thread by the shim.
public final class SIPAgent: Sendable {
    public typealias Handler = @Sendable (SIPEvent) -> Void

    private final class Context: @unchecked Sendable {
        let handler: Handler
        init(handler: @escaping Handler) { self.handler = handler }
    }

    /// sofia's agent pointer; the shim's command functions are the thread-safe part of its API.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private let agent: Mutex<Handle?>
    private let context: Context
    public let bindURL: String

    public enum Failure: Error, CustomStringConvertible {
        case cannotStart(String)
        public var description: String {
            switch self { case .cannotStart(let why): "SIP: \(why)" }
        }
    }

    /// Starts listening on `bindURL` (e.g. `sip:127.0.0.1:5060`, `sip:0.0.0.0:5060;transport=tcp`).
    public init(
        bindURL: String, tlsURL: String? = nil, certificateDirectory: String? = nil, authenticationRealm: String? = nil,
        passwordFile: String? = nil, userAgent: String = "Plenum", trustedSources: [String] = [],
        handler: @escaping Handler
    ) throws {
        self.bindURL = bindURL
        context = Context(handler: handler)
        agent = Mutex(nil)
        let started = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Handle, Failure>?>(nil)
        let context = self.context
        let thread = Thread {
            let contextPointer = Unmanaged.passUnretained(context).toOpaque()
            var error = [CChar](repeating: 0, count: 256)
            guard let created = plenum_sip_agent_create(
                bindURL, tlsURL, certificateDirectory, authenticationRealm, passwordFile, userAgent, sipCallback,
                contextPointer, &error, error.count)
            else {
                let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                result.withLock { $0 = .failure(.cannotStart(message)) }
                started.signal()
                return
            }
            for source in trustedSources { plenum_sip_agent_trust(created, source) }
            result.withLock { $0 = .success(Handle(pointer: created)) }
            started.signal()
            plenum_sip_agent_run(created)
        }
        thread.name = "sip"
        thread.start()
        started.wait()
        switch result.withLock({ $0 }) {
        case .success(let created)?: agent.withLock { $0 = created }
        case .failure(let failure)?: throw failure
        case nil: throw Failure.cannotStart("no result")
        }
    }

    /// Answers (or refuses) a call's INVITE; `sdp` goes in the body.
    public func respond(to call: UInt64, status: Int, phrase: String, sdp: String? = nil) {
        agent.withLock { agent in
            guard let agent else { return }
            plenum_sip_respond(agent.pointer, call, Int32(status), phrase, sdp)
        }
    }

    /// Asks the caller for digest credentials (401); the phone retries with a new INVITE.
    public func challenge(_ call: UInt64) {
        agent.withLock { agent in
            guard let agent else { return }
            plenum_sip_challenge(agent.pointer, call)
        }
    }

    public func hangup(_ call: UInt64) {
        agent.withLock { agent in
            guard let agent else { return }
            plenum_sip_hangup(agent.pointer, call)
        }
    }

    /// Has the kernel drop everything `source` sends to the SIP port for `seconds` (trusted sources
    /// excepted).
    public func drop(source: String, seconds: Int) {
        agent.withLock { agent in
            guard let agent else { return }
            plenum_sip_drop_source(agent.pointer, source, Int32(seconds))
        }
    }

    public func shutdown() {
        agent.withLock { agent in
            guard let current = agent else { return }
            plenum_sip_agent_shutdown(current.pointer)
            agent = nil
        }
    }

    fileprivate static func deliver(_ raw: UnsafePointer<plenum_sip_event>, context: UnsafeMutableRawPointer) {
        guard let event = event(raw) else { return }
        Unmanaged<Context>.fromOpaque(context).takeUnretainedValue().handler(event)
    }

    /// What the agent would hand the call manager for `message` (one SIP request): sofia's parser and
    /// the same copy into a `SIPEvent` (for fuzzing that path).
    public static func parse(message: UnsafeRawBufferPointer) -> SIPEvent? {
        final class Box { var event: SIPEvent? }
        let box = Box()
        let status = plenum_sip_parse_message(
            message.baseAddress?.assumingMemoryBound(to: CChar.self), message.count,
            { context, raw in
                guard let context, let raw else { return }
                Unmanaged<Box>.fromOpaque(context).takeUnretainedValue().event = SIPAgent.event(raw)
            }, Unmanaged.passUnretained(box).toOpaque())
        return status == 0 ? box.event : nil
    }

    fileprivate static func event(_ raw: UnsafePointer<plenum_sip_event>) -> SIPEvent? {
        let e = raw.pointee
        let kind: SIPEvent.Kind
        switch e.kind {
        case Int32(PLENUM_SIP_INVITE.rawValue): kind = .invite
        case Int32(PLENUM_SIP_ACTIVE.rawValue): kind = .active
        case Int32(PLENUM_SIP_CANCELLED.rawValue): kind = .cancelled
        case Int32(PLENUM_SIP_BYE.rawValue): kind = .bye
        case Int32(PLENUM_SIP_TERMINATED.rawValue): kind = .terminated
        case Int32(PLENUM_SIP_INFO.rawValue): kind = .info
        case Int32(PLENUM_SIP_SOURCE_DROPPED.rawValue): kind = .sourceDropped
        default: return nil
        }
        var event = SIPEvent(kind: kind, call: e.call)
        event.isReinvite = e.reinvite != 0
        event.status = Int(e.status)
        event.requestUser = string(e.request_user)
        event.fromUser = string(e.from_user)
        event.fromDisplay = string(e.from_display)
        event.toUser = string(e.to_user)
        event.sourceAddress = string(e.source_address)
        event.userAgent = string(e.user_agent)
        event.isSecure = e.secure != 0
        if e.authenticated_user != nil { event.authenticatedUser = string(e.authenticated_user) }
        event.contentType = string(e.content_type)
        if let body = e.body, e.body_length > 0, e.body_length <= 64 * 1024 {
            event.body = String(decoding: UnsafeRawBufferPointer(start: body, count: e.body_length), as: UTF8.self)
        }
        return event
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }
}

private func sipCallback(_ context: UnsafeMutableRawPointer?, _ event: UnsafePointer<plenum_sip_event>?) {
    guard let context, let event else { return }
    SIPAgent.deliver(event, context: context)
}
