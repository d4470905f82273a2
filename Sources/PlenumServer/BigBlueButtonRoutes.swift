import Foundation
import HTTPTypes
import Hummingbird
import PlenumBridge
import PlenumMeetings

/// The API's secret and the checksum algorithms it accepts (BigBlueButton's `securitySalt` and
/// `supportedChecksumAlgorithms`).
public struct APISettings: Sendable {
    public var secret: String
    public var checksumAlgorithms: Set<ChecksumAlgorithm>
    public init(secret: String, checksumAlgorithms: Set<ChecksumAlgorithm> = Set(ChecksumAlgorithm.allCases)) {
        self.secret = secret
        self.checksumAlgorithms = checksumAlgorithms
    }
}

/// `/bigbluebutton/api/…` on the HTTP router: checksum and parameters checked here, off the media
/// loop; the meeting work done on the loop; the XML rendered here again.
enum BigBlueButtonRoutes {
    static func add(to router: Router<PlenumRequestContext>, api: APISettings, tokens: AccessTokens, loop: MediaLoop, publicURL: String) {
        router.get("/bigbluebutton/api") { _, _ in xml(BigBlueButtonAPI.versionDocument()) }
        let handler: @Sendable (Request, PlenumRequestContext) async throws -> Response = { request, context in
            let call = context.parameters.get("call") ?? ""
            let parsed = APIRequest(call: call, rawQuery: request.uri.query ?? "")
            if let error = BigBlueButtonAPI.verify(parsed, secret: api.secret, allowed: api.checksumAlgorithms) {
                return failure(error)
            }
            return await handle(parsed, tokens: tokens, loop: loop, publicURL: publicURL)
        }
        router.get("/bigbluebutton/api/:call", use: handler)
        router.post("/bigbluebutton/api/:call", use: handler)
    }

    static func handle(_ call: APIRequest, tokens: AccessTokens, loop: MediaLoop, publicURL: String) async -> Response {
        typealias Errors = BigBlueButtonAPI.Errors
        switch call.call {
        case "create":
            let result = await loop.run(replying: { (context, reply: @escaping @Sendable (Result<MeetingManager.Created, APIError>) -> Void) in
                guard let meetings = context.hook(MeetingManager.self) else { return reply(.failure(Errors.unsupportedRequest)) }
                // create is idempotent: the same meeting again gets the running one, before any number is taken.
                if case .success(let id) = BigBlueButtonAPI.createMeetingID(call), let existing = meetings.snapshot(of: id) {
                    guard BigBlueButtonAPI.isSameMeetingAgain(call, existing: existing.settings) else { return reply(.failure(Errors.idNotUnique)) }
                    return reply(.success(.existing(existing)))
                }
                switch BigBlueButtonAPI.createSettings(call, freeVoiceBridge: { meetings.registry.freeVoiceBridge() }) {
                case .failure(let error): reply(.failure(error))
                case .success(let settings): meetings.create(settings, reply: reply)
                }
            })
            switch result {
            case .failure(let error) where error == Errors.nonUniqueVoiceBridge:
                return xml(XMLWriter.failures([(error.key, error.message)]))
            case .failure(let error): return failure(error)
            case .success(.created(let meeting)): return xml(BigBlueButtonAPI.createResponse(meeting, duplicate: false))
            case .success(.existing(let meeting)): return xml(BigBlueButtonAPI.createResponse(meeting, duplicate: true))
            }
        case "join":
            let redirect = call.value("redirect")?.lowercased() != "false"
            // Validation errors always redirect (as BigBlueButton does); later ones follow `redirect`.
            func refuse(_ error: APIError, always: Bool) -> Response {
                guard always || redirect else { return failure(error) }
                return Response(status: .found, headers: [
                    .location: BigBlueButtonAPI.joinErrorLocation(call, error: error, defaultURL: "/"), .cacheControl: "no-store",
                ])
            }
            let fullName = DisplayName.clean(call.value("fullName") ?? "") ?? ""
            let id = call.value("meetingID") ?? ""
            let outcome = await loop.run { context -> Result<(MeetingSnapshot, Role), APIError> in
                guard let meetings = context.hook(MeetingManager.self), let meeting = meetings.snapshot(of: id) else {
                    return .failure(Errors.forciblyEnded)
                }
                return BigBlueButtonAPI.joinRole(call, meeting: meeting.settings, roles: meetings.roles).map { (meeting, $0) }
            }
            let meeting: MeetingSnapshot
            let role: Role
            switch outcome {
            case .failure(let error) where error == Errors.forciblyEnded: return refuse(error, always: true)
            case .failure(let error): return failure(error)
            case .success(let value): (meeting, role) = value
            }
            guard !fullName.isEmpty else { return refuse(Errors.missingFullName, always: true) }
            if meeting.settings.maxParticipants > 0, meeting.participantCount >= meeting.settings.maxParticipants {
                return refuse(Errors.maxParticipants, always: false)
            }
            if meeting.settings.guestPolicy == .alwaysDeny, !role.isModerator { return refuse(Errors.guestDenied, always: false) }
            let userID = call.value("userID").flatMap { $0.isEmpty ? nil : String($0.prefix(128)) } ?? "w_\(AccessTokens.randomText(9).lowercased())"
            let grant = AccessGrant(
                room: meeting.settings.voiceBridge, expires: Int(Date().timeIntervalSince1970) + AccessTokens.lifetime,
                meeting: meeting.settings.meetingID, instance: meeting.instance, user: userID, role: role.name, name: fullName)
            let token = tokens.issue(grant)
            // The page's language travels with the link (BigBlueButton's override of the client's locale).
            let language = BigBlueButtonAPI.clientLanguage(call).map { "&lang=\($0)" } ?? ""
            if !redirect {
                let base = publicURL.hasSuffix("/") ? publicURL : publicURL + "/"
                return xml(BigBlueButtonAPI.joinResponse(
                    meetingID: meeting.internalID, userID: userID, token: token, url: "\(base)?token=\(token)\(language)"))
            }
            // Relative, so the browser stays on the scheme and host it used (HTTPS, or a proxy's).
            return Response(status: .found, headers: [.location: "/?token=\(token)\(language)", .cacheControl: "no-store"])
        case "end":
            let id = call.value("meetingID") ?? ""
            let result = await loop.run(replying: { (context, reply: @escaping @Sendable (APIError?) -> Void) in
                guard let meetings = context.hook(MeetingManager.self), let meeting = meetings.snapshot(of: id) else {
                    return reply(Errors.endPassword)  // what BigBlueButton reports for an unknown meeting
                }
                if let password = call.value("password"), !password.isEmpty, password != meeting.settings.moderatorPassword {
                    return reply(Errors.endPassword)
                }
                meetings.end(id, reason: .api) { result in
                    if case .failure(let error) = result, error.code == .storeUnavailable { reply(MeetingOwner.storeUnavailable) } else { reply(nil) }
                }
            })
            return result.map(failure) ?? xml(BigBlueButtonAPI.endResponse())
        case "isMeetingRunning":
            guard let id = call.value("meetingID"), !id.isEmpty else { return failure(Errors.missingMeetingID) }
            let running = await loop.run { context in context.hook(MeetingManager.self)?.snapshot(of: id)?.running ?? false }
            return xml(BigBlueButtonAPI.isMeetingRunningResponse(running))
        case "getMeetingInfo":
            let id = call.value("meetingID") ?? ""
            guard let meeting = await loop.run({ context in context.hook(MeetingManager.self)?.snapshot(of: id) }) else {
                return failure(Errors.notFound)
            }
            return xml(BigBlueButtonAPI.meetingInfoResponse(meeting))
        case "getMeetings":
            let meetings = await loop.run { context in context.hook(MeetingManager.self)?.snapshots ?? [] }
            return xml(BigBlueButtonAPI.meetingsResponse(meetings))
        default:
            return failure(Errors.unsupportedRequest)
        }
    }

    static func xml(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/xml;charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func failure(_ error: APIError) -> Response { xml(XMLWriter.failure(error.key, error.message)) }
}
