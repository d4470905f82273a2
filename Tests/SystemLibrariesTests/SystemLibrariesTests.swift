import COpenSSL
import COpus
import CPlenumShims
import CSRTP
import CSpeexDSP
import Testing

/// Every system library the later issues build on links and answers: a broken -dev package shows
/// here, not in the middle of the SIP or WebRTC work.
@Suite struct SystemLibrariesTests {
    @Test func opusReportsItsVersion() {
        let version = String(cString: opus_get_version_string())
        #expect(version.hasPrefix("libopus"))
    }

    @Test func speexResamplerInitialises() {
        var error: Int32 = 0
        let state = speex_resampler_init(1, 8000, 48000, 5, &error)
        #expect(state != nil && error == 0)
        speex_resampler_destroy(state)
    }

    /// (srtp_init belongs to PlenumRTP's SRTPSession alone: libsrtp refuses a second call in one process.)
    @Test func srtpLinks() {
        #expect(String(cString: srtp_get_version_string()).contains("2."))
    }

    @Test func openSSLVersionIsThree() {
        #expect(String(cString: plenum_openssl_version()).hasPrefix("OpenSSL 3"))
    }

    @Test func sofiaParsesSDPAndRejectsGarbage() {
        let good = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
        var error = [CChar](repeating: 0, count: 256)
        #expect(plenum_sofia_sdp_check(good, good.utf8.count, &error, error.count) == 0)
        let bad = "v=0\r\nthis is not sdp\r\n"
        #expect(plenum_sofia_sdp_check(bad, bad.utf8.count, &error, error.count) == -1)
        #expect(String(cString: plenum_sofia_version()).hasPrefix("1.12"))
    }

    @Test func spanDSPG722StatesHaveSizes() {
        #expect(plenum_g722_encode_state_size() > 0)
        #expect(plenum_ulaw_to_linear(plenum_linear_to_ulaw(1000)) != 0)
    }
}
