import Foundation

/// What a dialled number does: readable rules, one file per context (`dialplans/<context>.json`),
/// tried in order; the first rule whose conditions all match runs its actions. Documented in
/// docs/dialplans.md.
public struct Dialplan: Sendable {
    public struct Context: Codable, Sendable {
        public var context: String
        public var rules: [Rule]
    }

    public struct Rule: Codable, Sendable {
        public var name: String
        /// Regular expression that must match the whole dialled number; its groups become $1, $2, ...
        public var destination: String
        /// Optional regular expressions on the caller's number and on the source IP address.
        public var caller: String?
        public var source: String?
        public var actions: [Action]
    }

    public struct Action: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            /// Answer the call (200 OK with our SDP); needed before `play` and `collect`.
            case answer
            /// Ring (180 Ringing) for `seconds` before going on; the caller may still cancel.
            case ring
            /// Play a prompt or tone by name (`conf-welcome`, `tones/beep` as `beep`) and wait for its end.
            case play
            /// Collect digits into a variable, with a prompt, a bad-input prompt and limited attempts.
            case collect
            /// Join a room (by number; `${room}` or `$1` expand); asks for the room's PIN when it has one.
            case join
            /// An echo test (FreeSWITCH's 9196, BigBlueButton's before joining): the caller alone in a
            /// private room, hearing itself a second late; caller controls work, `#` hangs up.
            case echo
            /// Set the caller's display name in the room (variables expand).
            case setName
            /// End the call: before the answer with a SIP status (`status`, default 480), after it with BYE.
            case hangup
        }
        public var action: Kind
        public var sound: String?
        public var room: String?
        public var name: String?
        public var status: Int?
        public var seconds: Int?
        // collect
        public var into: String?
        public var prompt: String?
        public var badPrompt: String?
        public var minDigits: Int?
        public var maxDigits: Int?
        public var terminator: String?
        public var timeoutSeconds: Int?
        public var maxAttempts: Int?
        /// `room`: the digits must name a room in the directory.
        public var validate: String?

        public init(_ action: Kind) { self.action = action }
    }

    public struct Match: Sendable {
        public var rule: Rule
        public var variables: [String: String]
    }

    public enum LoadError: Error, CustomStringConvertible {
        case file(String, String)
        public var description: String {
            switch self { case .file(let path, let why): "dialplan \(path): \(why)" }
        }
    }

    public var contexts: [String: Context]

    public init(contexts: [Context]) throws {
        for context in contexts {
            for rule in context.rules {
                for pattern in [rule.destination, rule.caller, rule.source].compactMap({ $0 }) {
                    _ = try NSRegularExpression(pattern: pattern)
                }
            }
        }
        self.contexts = Dictionary(contexts.map { ($0.context, $0) }, uniquingKeysWith: { a, b in
            Context(context: a.context, rules: a.rules + b.rules)
        })
    }

    /// Loads every `*.json` in `folder`.
    public static func load(folder: URL) throws -> Dialplan {
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        var contexts: [Context] = []
        for file in files.filter({ $0.pathExtension == "json" }).sorted(by: { $0.path < $1.path }) {
            do {
                contexts.append(try JSONDecoder().decode(Context.self, from: Data(contentsOf: file)))
            } catch {
                throw LoadError.file(file.lastPathComponent, "\(error)")
            }
        }
        do {
            return try Dialplan(contexts: contexts)
        } catch {
            throw LoadError.file(folder.path, "bad regular expression: \(error)")
        }
    }

    /// The first rule of `context` matching the call.
    public func match(context: String, destination: String, caller: String, source: String) -> Match? {
        guard let rules = contexts[context]?.rules else { return nil }
        for rule in rules {
            guard let groups = Self.fullMatch(rule.destination, destination) else { continue }
            if let pattern = rule.caller, Self.fullMatch(pattern, caller) == nil { continue }
            if let pattern = rule.source, Self.fullMatch(pattern, source) == nil { continue }
            var variables = ["destination": destination, "caller": caller, "callerLast4": String(caller.suffix(4))]
            for (i, group) in groups.enumerated() { variables["\(i + 1)"] = group }
            return Match(rule: rule, variables: variables)
        }
        return nil
    }

    static func fullMatch(_ pattern: String, _ text: String) -> [String]? {
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        guard let match = regex.firstMatch(in: text, range: range) else { return nil }
        return (1..<max(1, match.numberOfRanges)).map { i in
            Range(match.range(at: i), in: text).map { String(text[$0]) } ?? ""
        }
    }

    /// `$1`, `${name}` expanded from `variables`.
    public static func expand(_ template: String, _ variables: [String: String]) -> String {
        var result = template
        for (key, value) in variables.sorted(by: { $0.key.count > $1.key.count }) {
            result = result.replacingOccurrences(of: "${\(key)}", with: value)
            if Int(key) != nil { result = result.replacingOccurrences(of: "$\(key)", with: value) }
        }
        return result
    }
}

