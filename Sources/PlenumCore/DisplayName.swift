/// The one clean-up for every name a person or a phone supplies (a join's name, a moderator's rename, a
/// SIP display name, a breakout room's name) before anybody else sees it.
public enum DisplayName {
    public static let maxLength = 64

    /// Without control characters (NUL, BEL, line breaks) and format characters (the bidirectional
    /// overrides such as U+202E that make a name read backwards, zero-width joiners and spaces, which
    /// make two names look alike), surrounding quotation marks (SIP's quoted display names,
    /// RFC 3261 §25.1) and white space, at most `maxLength` characters; nil when nothing is left.
    public static func clean(_ raw: String) -> String? {
        let kept = raw.unicodeScalars.filter { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: false
            default: true
            }
        }
        var text = String(String.UnicodeScalarView(kept)).trimmingWhitespace()
        if text.count >= 2, text.first == "\"", text.last == "\"" {
            text = String(text.dropFirst().dropLast()).replacingEscapedQuotes().trimmingWhitespace()
        }
        let limited = String(text.prefix(maxLength)).trimmingWhitespace()
        return limited.isEmpty ? nil : limited
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// `\"` and `\\` inside a SIP quoted string (RFC 3261 §25.1 quoted-pair).
    fileprivate func replacingEscapedQuotes() -> String {
        var out = ""
        var escaped = false
        for character in self {
            if escaped {
                out.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}
