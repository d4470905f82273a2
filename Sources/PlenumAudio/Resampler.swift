import CSpeexDSP

/// A mono resampler (speexdsp). Fixed in/out rates, allocated once; `process` does not allocate.
public final class Resampler {
    public let inputRate: Int
    public let outputRate: Int
    private let state: OpaquePointer

    /// Quality 5 is speexdsp's VoIP default: transparent for speech, a few hundred ns per frame.
    public init?(from inputRate: Int, to outputRate: Int, quality: Int32 = 5) {
        var error: Int32 = 0
        guard let state = speex_resampler_init(1, UInt32(inputRate), UInt32(outputRate), quality, &error),
            error == 0
        else { return nil }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.state = state
    }

    deinit { speex_resampler_destroy(state) }

    /// Converts `input` into `output`; returns the number of output samples written.
    @discardableResult
    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let inBase = input.baseAddress, let outBase = output.baseAddress else { return 0 }
        var inCount = UInt32(input.count)
        var outCount = UInt32(output.count)
        speex_resampler_process_int(state, 0, inBase, &inCount, outBase, &outCount)
        return Int(outCount)
    }

    /// Brings the filter memory to the state it would have after `history` (the last input another
    /// resampler of the same rates saw), so a stream can move between resamplers without a click.
    public func prime(with history: UnsafeBufferPointer<Int16>, scratch: UnsafeMutableBufferPointer<Int16>) {
        speex_resampler_reset_mem(state)
        process(history, into: scratch)
    }
}
