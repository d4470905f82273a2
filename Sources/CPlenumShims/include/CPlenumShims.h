// Thin C shims over the system libraries: the variadic and macro APIs that Swift cannot call
// directly (opus_encoder_ctl, spandsp's inline G.711 helpers and private state sizes, sofia-sip's
// tag lists). Prefixed `plenum_`; not public API.
#ifndef PLENUM_SHIMS_H
#define PLENUM_SHIMS_H

#include <stddef.h>
#include <stdint.h>

struct OpusEncoder;
struct OpusDecoder;

// MARK: Opus (opus_encoder_ctl / opus_decoder_ctl are variadic)
int plenum_opus_set_bitrate(struct OpusEncoder *enc, int32_t bitrate);
int plenum_opus_set_complexity(struct OpusEncoder *enc, int32_t complexity);
int plenum_opus_set_inband_fec(struct OpusEncoder *enc, int32_t enabled);
int plenum_opus_set_packet_loss_percent(struct OpusEncoder *enc, int32_t percent);
int plenum_opus_set_dtx(struct OpusEncoder *enc, int32_t enabled);
int plenum_opus_set_signal_voice(struct OpusEncoder *enc);
int plenum_opus_get_lookahead(struct OpusEncoder *enc, int32_t *samples);
int plenum_opus_encoder_reset(struct OpusEncoder *enc);
int plenum_opus_decoder_reset(struct OpusDecoder *dec);
/// Copies a whole encoder state. Valid because libopus keeps an encoder in one block addressed by
/// offsets (no interior pointers besides static mode tables), the property OPUS_RESET_STATE relies on.
void plenum_opus_encoder_copy(struct OpusEncoder *dst, const struct OpusEncoder *src, int channels);

// MARK: spandsp G.711 (header-inline) and G.722 (state size lives in a private header)
uint8_t plenum_linear_to_ulaw(int linear);
int16_t plenum_ulaw_to_linear(uint8_t ulaw);
uint8_t plenum_linear_to_alaw(int linear);
int16_t plenum_alaw_to_linear(uint8_t alaw);
size_t plenum_g722_encode_state_size(void);
size_t plenum_g722_decode_state_size(void);
size_t plenum_plc_state_size(void);
/// G.722 at 64 kbit/s on caller-owned state memory of `plenum_g722_*_state_size()` bytes, so that a
/// state can be copied (cloning an encoder keeps a stream continuous when a member changes encoder).
void plenum_g722_encoder_init(void *state);
int plenum_g722_encode(void *state, uint8_t *out, const int16_t *samples, int count);
void plenum_g722_decoder_init(void *state);
int plenum_g722_decode(void *state, int16_t *out, const uint8_t *data, int count);
/// spandsp's packet-loss concealment (pitch-period repetition with fade), for G.711 and G.722.
void plenum_plc_init(void *state);
void plenum_plc_rx(void *state, int16_t *samples, int count);
void plenum_plc_fillin(void *state, int16_t *samples, int count);

// MARK: sofia-sip (tag lists are variadic; the SIP issue adds the nua wrappers here)
const char *plenum_sofia_version(void);
/// Parses an SDP session description with sofia's parser; returns 0 when it parses, -1 otherwise.
/// `error` receives sofia's message (static storage of the parser's home, copied into `error`).
int plenum_sofia_sdp_check(const char *sdp, size_t length, char *error, size_t error_capacity);

// MARK: OpenSSL (the SSL_CTX_set_* helpers are macros)
const char *plenum_openssl_version(void);

// MARK: glibc (malloc.h is not in Swift's Glibc module)
/// Bytes the heap has handed out right now (mallinfo2: in-use blocks plus mmapped blocks).
size_t plenum_heap_bytes_in_use(void);

// MARK: The media loop's readiness: epoll (level-triggered, read only), a timerfd for the tick's
// absolute deadlines, an eventfd that wakes the loop for queued commands. Return -1 on failure.
int plenum_epoll_create(void);
int plenum_epoll_add(int epfd, int fd);
int plenum_epoll_remove(int epfd, int fd);
/// Waits up to `timeout_ms` (-1: forever) and writes the ready descriptors (at most 64) into `fds`.
int plenum_epoll_wait(int epfd, int *fds, int max, int timeout_ms);
int plenum_timerfd_create(void);
/// Arms `fd` to fire once at `deadline_ns` on CLOCK_MONOTONIC.
int plenum_timerfd_set_absolute(int fd, uint64_t deadline_ns);
int plenum_eventfd_create(void);
void plenum_eventfd_signal(int fd);
/// Reads a timerfd's or eventfd's counter (so it stops being readable).
void plenum_fd_drain_counter(int fd);
#endif
