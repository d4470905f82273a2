/// A small XML writer for the API's responses: elements in order, text escaped (never raw input).
public struct XMLWriter: Sendable {
    public private(set) var text = ""

    public init() {}

    public mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    public mutating func open(_ name: String) { text += "<\(name)>" }
    public mutating func close(_ name: String) { text += "</\(name)>" }
    public mutating func empty(_ name: String) { text += "<\(name)/>" }

    public mutating func group(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }

    /// A whole API response: `<response><returncode>…</returncode>…</response>`.
    public static func response(success: Bool, _ body: (inout XMLWriter) -> Void = { _ in }) -> String {
        var writer = XMLWriter()
        writer.group("response") { w in
            w.element("returncode", success ? "SUCCESS" : "FAILED")
            body(&w)
        }
        return writer.text
    }

    public static func failure(_ key: String, _ message: String) -> String {
        response(success: false) { w in
            w.element("messageKey", key)
            w.element("message", message)
        }
    }

    /// BigBlueButton's other error shape (it uses it for a voice-bridge clash).
    public static func failures(_ errors: [(key: String, message: String)]) -> String {
        response(success: false) { w in
            w.group("errors") { w in
                for error in errors {
                    w.group("error") { w in
                        w.element("key", error.key)
                        w.element("message", error.message)
                    }
                }
            }
        }
    }

    /// Element names for metadata come from callers: only name characters survive.
    public static func elementName(_ raw: String) -> String {
        let cleaned = raw.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        guard let first = cleaned.first, first.isLetter || first == "_" else { return "_" + cleaned }
        return cleaned
    }

    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters even escaped.
                if scalar.value < 0x20, scalar != "\t", scalar != "\n", scalar != "\r" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
