/// What a participant may do. Every action a browser or a phone asks for is checked against the
/// sender's role in its own meeting (issue 6).
public enum Permission: String, CaseIterable, Sendable, Codable, Hashable {
    case unmuteSelf, shareCamera, chat, chatPrivately
    case muteOthers, remove, promote, rename, lockSettings, admitGuests, endMeeting, moderateChat
    case manageBreakouts, uploadPresentation
    /// Make somebody the presenter (the one who shows slides and shares the whiteboard's pen).
    case assignPresenter
    /// Unmute somebody else: off for every role unless the operator allows it (BigBlueButton's
    /// allowModsToUnmuteUsers, also off by default: nobody's microphone is opened by another).
    case unmuteOthers
}

/// A named set of permissions. `viewer` and `moderator` are built in; the configuration adds custom
/// ones (`"roles": {"assistant": ["unmuteSelf", "chat", "muteOthers"]}`).
public struct Role: Sendable, Equatable, Hashable {
    public var name: String
    public var permissions: Set<Permission>
    /// Moderators are exempt from "mute all" and viewer locks, and count as moderators in getMeetingInfo.
    public var isModerator: Bool

    public init(name: String, permissions: Set<Permission>, isModerator: Bool = false) {
        self.name = name
        self.permissions = permissions
        self.isModerator = isModerator
    }

    public static let viewer = Role(name: "viewer", permissions: [.unmuteSelf, .shareCamera, .chat, .chatPrivately])
    public static let moderator = Role(
        name: "moderator", permissions: Set(Permission.allCases).subtracting([.unmuteOthers]), isModerator: true)

    public func may(_ permission: Permission) -> Bool { permissions.contains(permission) }
}

/// The roles a server knows: the built-in two and the configured ones (by lowercased name).
public struct RoleBook: Sendable {
    public private(set) var roles: [String: Role]

    public init(custom: [String: [Permission]] = [:], moderatorsMayUnmute: Bool = false) {
        var moderator = Role.moderator
        if moderatorsMayUnmute { moderator.permissions.insert(.unmuteOthers) }
        var roles = ["viewer": Role.viewer, "moderator": moderator]
        for (name, permissions) in custom {
            let key = name.lowercased()
            guard roles[key] == nil else { continue }  // the built-in ones keep their meaning
            roles[key] = Role(name: key, permissions: Set(permissions), isModerator: false)
        }
        self.roles = roles
    }

    public func role(named name: String) -> Role? { roles[name.lowercased()] }

    /// The moderator role as this server has it.
    public var moderator: Role { roles["moderator"] ?? .moderator }
}
