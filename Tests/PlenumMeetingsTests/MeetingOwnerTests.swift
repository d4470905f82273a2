import PlenumMeetings
import Testing

/// The owner's side of the store protocol, driven by hand: writes are started and finished by the
/// test, so what waits for what is visible without tasks or sockets.
@Suite struct MeetingOwnerTests {
    /// An owner whose writes wait until the test finishes them.
    final class Harness {
        let owner: MeetingOwner
        var writes: [(String, MeetingRecord?)] = []
        var performed: [MeetingEffect] = []
        var now: Millis = 1_000

        init() {
            owner = MeetingOwner(registry: MeetingRegistry(), now: { 0 })
            owner.now = { [unowned self] in self.now }
            owner.startWrite = { [unowned self] id, record in self.writes.append((id, record)) }
            owner.perform = { [unowned self] _, effects in self.performed += effects }
        }

        func create() -> Result<MeetingRegistry.Creation, APIError>? {
            var outcome: Result<MeetingRegistry.Creation, APIError>?
            guard let settings = try? BigBlueButtonAPI.createSettings(
                APIRequest(call: "create", rawQuery: "name=Class&meetingID=m1&voiceBridge=71000"), freeVoiceBridge: { "71000" }).get()
            else { return nil }
            owner.create(settings, roles: TestMeeting.roles) { outcome = $0 }
            return outcome
        }

        func submit(_ command: MeetingCommand) -> () -> Result<Void, SignalError>? {
            var outcome: Result<Void, SignalError>?
            owner.submit("m1", command) { outcome = $0 }
            return { outcome }
        }
    }

    @Test func aCommandTakesEffectOnlyAfterItsWriteSucceeded() {
        let h = Harness()
        #expect(h.create() == nil, "the creation waits for its first record")
        #expect(h.writes.count == 1 && h.owner.isWriting("m1"))
        let entered = h.submit(.browserEntered(memberID: 1, userID: "t", name: "T", role: .moderator, listenOnly: false, room: "71000"))
        #expect(entered() == nil && h.writes.count == 1, "it waits behind the creation")
        h.owner.written("m1", ok: true)
        #expect(h.writes.count == 2 && h.writes[1].1?.attendees.map(\.userID) == ["t"], "its change is written next")
        #expect(h.performed.isEmpty && h.owner.registry.machine("m1")?.attendees.isEmpty == true, "not before the write")
        h.owner.written("m1", ok: true)
        #expect(entered().map { (try? $0.get()) != nil } == true)
        #expect(h.performed.contains(.welcome(memberID: 1)) && h.owner.registry.machine("m1")?.attendees.count == 1)
    }

    @Test func aFailedWriteRefusesTheCommandAndChangesNothing() {
        let h = Harness()
        _ = h.create()
        h.owner.written("m1", ok: true)
        _ = h.submit(.browserEntered(memberID: 1, userID: "t", name: "T", role: .moderator, listenOnly: false, room: "71000"))
        h.owner.written("m1", ok: true)
        let locking = h.submit(.request(from: 1, .lock(microphone: true, publicChat: nil, privateChat: nil)))
        let chat = h.submit(.request(from: 1, .chat(text: "queued", to: nil)))
        h.owner.written("m1", ok: false)
        #expect(locking()?.code == .storeUnavailable)
        #expect(h.owner.registry.machine("m1")?.lock.disableMicrophone == false, "the lock did not change")
        #expect(chat().map { (try? $0.get()) != nil } == true, "chat is not kept in the store: it needs no write")
        h.performed = []
        let lockAgain = h.submit(.request(from: 1, .lock(microphone: true, publicChat: nil, privateChat: nil)))
        h.owner.written("m1", ok: true)
        #expect(lockAgain().map { (try? $0.get()) != nil } == true && h.performed.contains(.send(.lock(.init(microphone: true)), to: [1])))
    }

    @Test func aCreationThatCannotBeWrittenIsGoneAndItsNumberFree() {
        let h = Harness()
        var outcome: Result<MeetingRegistry.Creation, APIError>?
        if let settings = try? BigBlueButtonAPI.createSettings(
            APIRequest(call: "create", rawQuery: "name=Class&meetingID=m1&voiceBridge=71000"), freeVoiceBridge: { "71000" }).get() {
            h.owner.create(settings, roles: TestMeeting.roles) { outcome = $0 }
        }
        h.owner.written("m1", ok: false)
        #expect(outcome == .failure(MeetingOwner.storeUnavailable))
        #expect(h.owner.registry.machine("m1") == nil && h.owner.registry.isFree("71000"))
    }

    @Test func anEndingIsWrittenAsADeletionAndTicksWithNothingToDoWriteNothing() {
        let h = Harness()
        _ = h.create()
        h.owner.written("m1", ok: true)
        for _ in 0..<10 { _ = h.submit(.tick) }
        #expect(h.writes.count == 1, "idle ticks write nothing")
        let end = h.submit(.end(.api))
        #expect(h.writes.count == 2 && h.writes[1].1 == nil)
        h.owner.written("m1", ok: true)
        #expect(end().map { (try? $0.get()) != nil } == true && h.owner.registry.machine("m1") == nil)
        #expect(h.submit(.tick)()?.code == .meetingEnded)
    }

    @Test func effectsThatCauseCommandsRunThemAfterwardInOrder() {
        let h = Harness()
        h.owner.startWrite = { [unowned h] id, _ in h.owner.written(id, ok: true) }  // a store that answers at once
        _ = h.create()
        var order: [String] = []
        h.owner.perform = { [unowned h] _, effects in
            for effect in effects {
                order.append("\(effect)")
                // The bridge reports a removed phone's leg leaving while the removal is carried out.
                if case .disconnect(let id) = effect { h.owner.submit("m1", .left(memberID: id)) { _ in order.append("left") } }
            }
        }
        _ = h.submit(.browserEntered(memberID: 1, userID: "t", name: "T", role: .moderator, listenOnly: false, room: "71000"))
        _ = h.submit(.phoneEntered(memberID: 2, name: "P", room: "71000"))
        order = []
        _ = h.submit(.request(from: 1, .remove(target: 2)))
        #expect(order == ["disconnect(memberID: 2)", "left"], "the news waits for the removal to finish")
    }
}

extension LockSettings {
    init(microphone: Bool) {
        self.init()
        disableMicrophone = microphone
    }
}

extension Result where Success == Void, Failure == SignalError {
    var code: SignalError.Code? {
        if case .failure(let error) = self { error.code } else { nil }
    }
}
