/// What the default log may say about a person's address: never the address itself (privacy by
/// default, GDPR data minimisation), only a tag that is the same for the same address within this
/// process, so an operator can see that one source keeps failing or was banned. Swift's `Hasher` is
/// seeded at random per process, so the tag cannot be turned back into an address by trying the
/// (small) IPv4 space with a known hash.
public enum LogPrivacy {
    public static func tag(_ address: String) -> String {
        var hasher = Hasher()
        hasher.combine("plenum-source")
        hasher.combine(address)
        return "src-" + String(UInt32(truncatingIfNeeded: hasher.finalize()), radix: 16)
    }
}
