import Foundation

/// BigBlueButton's API calls, sans-I/O: a verified `APIRequest` in, the validated parameters or a
/// BigBlueButton error (same message keys) out, and the XML documents its clients parse.
/// docs/api.md lists what is supported and how Plenum differs.
public enum BigBlueButtonAPI {
    public static let version = "2.0"

    /// The errors, with BigBlueButton's keys and messages. Where several of its checks fail at once,
    /// BigBlueButton reports one picked by its validation map's order; these are the ones it reports
    /// (docs/api.md).
    public enum Errors {
        public static let checksum = APIError("checksumError", "Checksums do not match")
        public static let missingChecksum = APIError("checksumError", "You must provide the checksum")
        public static let invalidMeetingID = APIError("validationError", "Invalid meeting ID")
        public static let meetingIDSize = APIError("sizeError", "Meeting ID must be between 2 and 256 characters")
        public static let meetingIDComma = APIError("validationError", "Meeting ID cannot contain ','")
        public static let missingMeetingID = APIError("missingParamMeetingID", "You must provide a meeting ID")
        public static let missingName = APIError("nullError", "You must provide a meeting name")
        public static let emptyName = APIError("emptyError", "You must provide a meeting name")
        public static let nameSize = APIError("sizeError", "Meeting name must be between 2 and 256 characters")
        public static let invalidPassword = APIError("invalidPassword", "Invalid password")
        public static let voiceBridge = APIError("validationError", "Voice bridge must be an integral value")
        public static let idNotUnique = APIError(
            "idNotUnique", "A meeting already exists with that meeting ID.  Please use a different meeting ID.")
        public static let nonUniqueVoiceBridge = APIError("nonUniqueVoiceBridge", "The selected voice bridge is already in use.")
        public static let missingFullName = APIError("missingParamFullName", "You must provide your name")
        public static let forciblyEnded = APIError("meetingForciblyEnded", "You can not join a meeting that has already been forcibly ended")
        public static let wrongJoinPassword = APIError("Params required", "You must enter a valid password")
        public static let noRoleOrPassword = APIError(
            "Params required", "You must either send the valid role of the user, or the password, sould the meeting has one.")
        public static let maxParticipants = APIError(
            "maxParticipantsReached", "The number of participants allowed for this meeting has been reached.")
        public static let guestDenied = APIError(
            "guestDeniedAccess", "You have been denied access to this meeting based on the meeting's guest policy")
        public static let notFound = APIError("notFound", "A meeting with that ID does not exist")
        public static let endPassword = APIError("invalidPassword", "The supplied moderator password is incorrect")
        public static let unsupportedRequest = APIError("unsupportedRequest", "This request is not supported.")
    }

    /// The checksum, which every call but the root needs. (BigBlueButton has no check for repeated
    /// parameters: the checksum covers the whole query, repeats included, and the first value counts;
    /// names are case-sensitive, so `meetingid` is simply another, unknown parameter. Plenum does the same.)
    public static func verify(_ request: APIRequest, secret: String, allowed: Set<ChecksumAlgorithm>) -> APIError? {
        switch request.verify(secret: secret, allowed: allowed) {
        case .missing: return Errors.missingChecksum
        case .mismatch: return Errors.checksum
        case .valid: return nil
        }
    }

    /// `create`'s meetingID: present, 2–256 characters, no comma, no edge spaces or control characters.
    public static func createMeetingID(_ request: APIRequest) -> Result<String, APIError> {
        guard let id = request.value("meetingID") else { return .failure(Errors.invalidMeetingID) }
        guard (2...256).contains(id.count) else { return .failure(Errors.meetingIDSize) }
        guard !id.contains(",") else { return .failure(Errors.meetingIDComma) }
        guard id == id.trimmingCharacters(in: .whitespaces), !id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return .failure(Errors.invalidMeetingID) }
        return .success(id)
    }

    /// `create`'s parameters with BigBlueButton's defaults; `voiceBridge` is asked for only when the
    /// call names none.
    public static func createSettings(_ request: APIRequest, freeVoiceBridge: () -> String?) -> Result<MeetingSettings, APIError> {
        guard let name = request.value("name") else { return .failure(Errors.missingName) }
        let cleanName = String(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).trimmingCharacters(in: .whitespaces)
        guard !cleanName.isEmpty else { return .failure(Errors.emptyName) }
        guard (2...256).contains(cleanName.count) else { return .failure(Errors.nameSize) }
        let id: String
        switch createMeetingID(request) {
        case .failure(let error): return .failure(error)
        case .success(let value): id = value
        }
        func bool(_ name: String) -> Bool { request.value(name)?.lowercased() == "true" }
        func int(_ name: String) -> Int { Int(request.value(name) ?? "") ?? 0 }
        func password(_ name: String) -> Result<String, APIError> {
            guard let given = request.value(name), !given.isEmpty else { return .success(randomPassword()) }
            return (2...64).contains(given.count) ? .success(given) : .failure(Errors.invalidPassword)
        }
        let voiceBridge: String
        if let given = request.value("voiceBridge"), !given.isEmpty {
            guard given.count <= 18, Int(given) != nil, given.allSatisfy(\.isASCII) else { return .failure(Errors.voiceBridge) }
            voiceBridge = given
        } else if let free = freeVoiceBridge() {
            voiceBridge = free
        } else {
            return .failure(Errors.nonUniqueVoiceBridge)
        }
        let attendeePassword: String
        let moderatorPassword: String
        switch (password("attendeePW"), password("moderatorPW")) {
        case (.success(let a), .success(let m)): (attendeePassword, moderatorPassword) = (a, m)
        default: return .failure(Errors.invalidPassword)
        }
        // BigBlueButton does not check the value either; an unknown one denies like ALWAYS_DENY.
        let guestPolicy = request.value("guestPolicy").map { GuestPolicy(rawValue: $0.uppercased()) ?? .alwaysDeny } ?? .alwaysAccept
        var lock = LockSettings()
        lock.disableMicrophone = bool("lockSettingsDisableMic")
        lock.disablePublicChat = bool("lockSettingsDisablePublicChat")
        lock.disablePrivateChat = bool("lockSettingsDisablePrivateChat")
        lock.hideUserList = bool("lockSettingsHideUserList")
        lock.disableCamera = bool("lockSettingsDisableCam")
        lock.hideViewersCameras = bool("webcamsOnlyForModerator")
        let metadata = request.metadata
        // Plenum's own parameter: the language phone callers hear (BigBlueButton has none).
        let language = request.value("language").map { $0.lowercased() }
        guard language == nil || ["en", "de"].contains(language ?? "") else {
            return .failure(APIError("validationError", "Language must be en or de"))
        }
        var settings = MeetingSettings(
            meetingID: id, name: cleanName, attendeePassword: attendeePassword, moderatorPassword: moderatorPassword,
            welcome: request.value("welcome") ?? "", dialNumber: request.value("dialNumber") ?? "", voiceBridge: voiceBridge,
            maxParticipants: max(0, int("maxParticipants")), duration: max(0, int("duration")), guestPolicy: guestPolicy,
            lock: lock, muteOnStart: bool("muteOnStart"), logoutURL: request.value("logoutURL") ?? "",
            metadata: Dictionary(metadata, uniquingKeysWith: { a, _ in a }), metadataOrder: metadata.map(\.0))
        settings.language = language
        settings.meetingCameraCap = max(0, int("meetingCameraCap"))
        if let cap = request.value("userCameraCap").flatMap({ Int($0) }) { settings.userCameraCap = max(0, cap) }
        settings.disabledFeatures = Set((request.value("disabledFeatures") ?? "").split(separator: ",").compactMap {
            Feature(rawValue: $0.trimmingCharacters(in: .whitespaces))
        })
        return .success(settings)
    }

    /// Whether a `create` for an existing meeting is the same meeting again (BigBlueButton: both
    /// passwords equal, or none sent) or a clash (`idNotUnique`).
    public static func isSameMeetingAgain(_ request: APIRequest, existing: MeetingSettings) -> Bool {
        let attendee = request.value("attendeePW").flatMap { $0.isEmpty ? nil : $0 }
        let moderator = request.value("moderatorPW").flatMap { $0.isEmpty ? nil : $0 }
        if attendee == nil, moderator == nil { return true }
        return attendee == existing.attendeePassword && moderator == existing.moderatorPassword
    }

    /// 8 random letters and digits, as BigBlueButton makes missing passwords.
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<8).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    /// The role a `join` asks for: `role` (MODERATOR, VIEWER, or a configured role's name, any case)
    /// wins over `password` (BigBlueButton's older scheme); an unknown role name falls back to the
    /// password, as BigBlueButton ignores it.
    public static func joinRole(_ request: APIRequest, meeting: MeetingSettings, roles: RoleBook) -> Result<Role, APIError> {
        if let name = request.value("role"), let role = roles.role(named: name) { return .success(role) }
        guard let password = request.value("password"), !password.isEmpty else { return .failure(Errors.noRoleOrPassword) }
        if password == meeting.moderatorPassword { return .success(roles.moderator) }
        if password == meeting.attendeePassword { return .success(.viewer) }
        return .failure(Errors.wrongJoinPassword)
    }

    /// The web client's language a `join` asks for: BigBlueButton's `userdata-bbb_override_default_locale`
    /// ("de", "de_DE", "de-AT" …), if the client has it (English, German); nil lets the page choose.
    public static func clientLanguage(_ request: APIRequest) -> String? {
        guard let locale = request.value("userdata-bbb_override_default_locale")?.lowercased() else { return nil }
        let language = String(locale.prefix { $0.isLetter })
        return ["en", "de"].contains(language) ? language : nil
    }

    /// Where a `join` that fails validation sends the browser (BigBlueButton redirects even with
    /// redirect=false): `errorRedirectUrl`, else `logoutURL`, else the server's page, with
    /// `errors=[{"key":…,"message":…}]` added.
    public static func joinErrorLocation(_ request: APIRequest, error: APIError, defaultURL: String) -> String {
        let base = [request.value("errorRedirectUrl"), request.value("logoutURL")].compactMap { $0 }.first { !$0.isEmpty } ?? defaultURL
        let json = "[{\"key\":\"\(jsonEscape(error.key))\",\"message\":\"\(jsonEscape(error.message))\"}]"
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#\"")
        let encoded = json.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        return base + (base.contains("?") ? "&" : "?") + "errors=" + encoded
    }

    static func jsonEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    // MARK: Responses

    public static func versionDocument() -> String {
        XMLWriter.response(success: true) { w in
            w.element("version", version)
            w.element("apiVersion", version)
            w.element("bbbVersion", "")
            w.element("implementation", "Plenum")
        }
    }

    public static func createResponse(_ meeting: MeetingSnapshot, duplicate: Bool) -> String {
        XMLWriter.response(success: true) { w in
            w.element("meetingID", meeting.settings.meetingID)
            w.element("internalMeetingID", meeting.internalID)
            w.element("parentMeetingID", "bbb-none")
            w.element("attendeePW", meeting.settings.attendeePassword)
            w.element("moderatorPW", meeting.settings.moderatorPassword)
            w.element("createTime", meeting.createTime)
            w.element("voiceBridge", meeting.settings.voiceBridge)
            w.element("dialNumber", meeting.settings.dialNumber)
            w.element("createDate", httpDate(meeting.createTime))
            w.element("hasUserJoined", meeting.hasUserJoined)
            w.element("duration", meeting.settings.duration)
            w.element("hasBeenForciblyEnded", meeting.forciblyEnded)
            if duplicate {
                w.element("messageKey", "duplicateWarning")
                w.element("message", "This conference was already in existence and may currently be in progress.")
            } else {
                w.element("messageKey", "")
                w.element("message", "")
            }
        }
    }

    public static func joinResponse(meetingID: String, userID: String, token: String, url: String) -> String {
        XMLWriter.response(success: true) { w in
            w.element("messageKey", "successfullyJoined")
            w.element("message", "You have joined successfully.")
            w.element("meeting_id", meetingID)
            w.element("user_id", userID)
            w.element("auth_token", token)
            w.element("session_token", token)
            w.element("guestStatus", "ALLOW")
            w.element("url", url)
        }
    }

    public static func endResponse() -> String {
        XMLWriter.response(success: true) { w in
            w.element("messageKey", "sentEndMeetingRequest")
            w.element(
                "message",
                "A request to end the meeting was sent.  Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.")
        }
    }

    public static func isMeetingRunningResponse(_ running: Bool) -> String {
        XMLWriter.response(success: true) { w in w.element("running", running) }
    }

    public static func meetingInfoResponse(_ meeting: MeetingSnapshot) -> String {
        XMLWriter.response(success: true) { w in writeMeeting(meeting, into: &w) }
    }

    public static func meetingsResponse(_ meetings: [MeetingSnapshot]) -> String {
        XMLWriter.response(success: true) { w in
            if meetings.isEmpty {
                w.empty("meetings")
                w.element("messageKey", "noMeetings")
                w.element("message", "no meetings were found on this server")
            } else {
                w.group("meetings") { w in
                    for meeting in meetings { w.group("meeting") { w in writeMeeting(meeting, into: &w) } }
                }
            }
        }
    }

    static func writeMeeting(_ m: MeetingSnapshot, into w: inout XMLWriter) {
        w.element("meetingName", m.settings.name)
        w.element("meetingID", m.settings.meetingID)
        w.element("internalMeetingID", m.internalID)
        w.element("createTime", m.createTime)
        w.element("createDate", httpDate(m.createTime))
        w.element("voiceBridge", m.settings.voiceBridge)
        w.element("dialNumber", m.settings.dialNumber)
        w.element("attendeePW", m.settings.attendeePassword)
        w.element("moderatorPW", m.settings.moderatorPassword)
        w.element("running", m.running)
        w.element("duration", m.settings.duration)
        w.element("hasUserJoined", m.hasUserJoined)
        w.element("recording", false)
        w.element("hasBeenForciblyEnded", m.forciblyEnded)
        w.element("startTime", m.startTime)
        w.element("endTime", m.endTime)
        w.element("participantCount", m.participantCount)
        w.element("listenerCount", m.listenerCount)
        w.element("voiceParticipantCount", m.voiceParticipantCount)
        w.element("videoCount", m.videoCount)
        w.element("maxUsers", m.settings.maxParticipants)
        w.element("moderatorCount", m.moderatorCount)
        w.group("attendees") { w in
            for a in m.attendees {
                w.group("attendee") { w in
                    w.element("userID", a.userID)
                    w.element("fullName", a.fullName)
                    w.element("role", a.kind == .phone ? "DIAL-IN-USER" : a.role)
                    w.element("isPresenter", a.isPresenter)
                    w.element("isListeningOnly", a.listenOnly)
                    w.element("hasJoinedVoice", a.hasJoinedVoice)
                    w.element("hasVideo", a.cameras > 0)
                    w.element("clientType", a.kind == .phone ? "DIAL-IN" : "HTML5")
                }
            }
        }
        w.group("metadata") { w in
            for key in m.settings.metadataOrder {
                w.element(XMLWriter.elementName(key), m.settings.metadata[key] ?? "")
            }
        }
        w.element("isBreakout", m.settings.parentMeetingID != nil)
        if let parent = m.settings.parentMeetingID {
            w.element("parentMeetingID", parent)
            w.element("sequence", m.settings.sequence)
            w.element("freeJoin", false)
        }
        if !m.breakoutRooms.isEmpty {
            w.group("breakoutRooms") { w in
                for room in m.breakoutRooms { w.element("breakout", room) }
            }
        }
    }

    static func httpDate(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM dd HH:mm:ss zzz yyyy"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
