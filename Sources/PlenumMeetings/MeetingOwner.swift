/// The serial owner of the meetings in one registry: each meeting takes one command at a time, to its
/// end, and a command takes effect only once its change is written to the store (issue 12). While a
/// meeting's write is in flight, or its effects are being carried out (a conference reports a member
/// that left during a hang-up), that meeting's next commands wait in its queue; other meetings go on.
///
/// Sans-I/O: the environment says how to write (`startWrite`, which must call `written(_:ok:)` back on
/// this owner's executor), how to carry out effects (`perform`) and what time it is (`now`). The server
/// runs it on the media loop with the store's writes in tasks; tests drive it by hand.
public final class MeetingOwner {
    public typealias Reply = (Result<Void, SignalError>) -> Void
    public typealias CreateReply = (Result<MeetingRegistry.Creation, APIError>) -> Void

    public let registry: MeetingRegistry
    /// Carries out a meeting's effects (messages, media commands).
    public var perform: (_ meetingID: String, _ effects: [MeetingEffect]) -> Void = { _, _ in }
    /// Starts writing a meeting's record (nil: delete it); `written` must follow, on this owner's executor.
    public var startWrite: (_ meetingID: String, _ record: MeetingRecord?) -> Void
    public var now: () -> Millis

    private enum Waiting {
        case creation(CreateReply)
        case command(MeetingMachine, [MeetingEffect], Reply?)
    }
    private var inFlight: [String: Waiting] = [:]
    private var queued: [String: [(MeetingCommand, Reply?)]] = [:]
    private var performing: Set<String> = []

    public static let storeUnavailable = APIError("storeUnavailable", "The meeting store is unavailable; try again.")

    public init(registry: MeetingRegistry, now: @escaping () -> Millis,
                startWrite: ((_ meetingID: String, _ record: MeetingRecord?) -> Void)? = nil) {
        self.registry = registry
        self.now = now
        self.startWrite = { _, _ in }
        // Without a store every write succeeds at once.
        self.startWrite = startWrite ?? { [unowned self] id, _ in self.written(id, ok: true) }
    }

    /// Whether meeting `id` has a write in flight (its commands wait).
    public func isWriting(_ id: String) -> Bool { inFlight[id] != nil }

    /// Creates a meeting; it exists (and holds its numbers) at once, and is kept only if its first
    /// record is written.
    public func create(_ settings: MeetingSettings, roles: RoleBook, timeouts: (noShow: Millis, empty: Millis)? = nil,
                       reply: @escaping CreateReply) {
        switch registry.create(settings, roles: roles, now: now(), timeouts: timeouts) {
        case .failure(let error): reply(.failure(error))
        case .success(.existing): reply(.success(.existing))
        case .success(.created):
            let id = settings.meetingID
            inFlight[id] = .creation(reply)
            startWrite(id, registry.machine(id)?.record)
        }
    }

    /// Runs `command` on meeting `id` when its turn comes; `reply` tells how it went.
    public func submit(_ id: String, _ command: MeetingCommand, reply: Reply? = nil) {
        guard inFlight[id] == nil, !performing.contains(id) else {
            queued[id, default: []].append((command, reply))
            return
        }
        process(id, command, reply)
    }

    /// The store finished writing meeting `id`'s record.
    public func written(_ id: String, ok: Bool) {
        guard let waiting = inFlight.removeValue(forKey: id) else { return }
        switch waiting {
        case .creation(let reply):
            if ok {
                reply(.success(.created))
            } else {
                registry.remove(id)
                reply(.failure(Self.storeUnavailable))
            }
        case .command(let machine, let effects, let reply):
            if ok { commit(id, machine, effects, reply) } else { reply?(.failure(.storeUnavailable)) }
        }
        drain(id)
    }

    private func process(_ id: String, _ command: MeetingCommand, _ reply: Reply?) {
        guard let before = registry.machines[id] else {
            reply?(.failure(.meetingEnded))
            return
        }
        var machine = before
        switch machine.handle(command, now: now(), isNumberFree: { [registry] in registry.isFree($0) }) {
        case .failure(let error):
            reply?(.failure(error))
            drain(id)
        case .success(let effects):
            // A tick that has nothing to do changes nothing durable (the clock's own bookkeeping is
            // not kept): it costs no record per meeting and second.
            if case .tick = command, effects.isEmpty {
                commit(id, machine, effects, reply)
                return
            }
            let record = machine.record
            if record == before.record {
                commit(id, machine, effects, reply)
            } else {
                inFlight[id] = .command(machine, effects, reply)
                startWrite(id, record)
            }
        }
    }

    private func commit(_ id: String, _ machine: MeetingMachine, _ effects: [MeetingEffect], _ reply: Reply?) {
        registry.commit(id, machine, effects: effects)
        performing.insert(id)
        perform(id, effects)
        performing.remove(id)
        reply?(.success(()))
        drain(id)
    }

    private func drain(_ id: String) {
        while inFlight[id] == nil, !performing.contains(id), var waiting = queued[id], !waiting.isEmpty {
            let (command, reply) = waiting.removeFirst()
            queued[id] = waiting.isEmpty ? nil : waiting
            process(id, command, reply)
        }
    }
}
