#include "CPlenumShims.h"
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>
#include <spandsp/private/g722.h>

uint8_t plenum_linear_to_ulaw(int linear) { return linear_to_ulaw(linear); }
int16_t plenum_ulaw_to_linear(uint8_t ulaw) { return ulaw_to_linear(ulaw); }
uint8_t plenum_linear_to_alaw(int linear) { return linear_to_alaw(linear); }
int16_t plenum_alaw_to_linear(uint8_t alaw) { return alaw_to_linear(alaw); }
size_t plenum_g722_encode_state_size(void) { return sizeof(g722_encode_state_t); }
size_t plenum_g722_decode_state_size(void) { return sizeof(g722_decode_state_t); }
size_t plenum_plc_state_size(void) { return sizeof(plc_state_t); }

void plenum_g722_encoder_init(void *state) { g722_encode_init((g722_encode_state_t *)state, 64000, 0); }
int plenum_g722_encode(void *state, uint8_t *out, const int16_t *samples, int count) {
    return g722_encode((g722_encode_state_t *)state, out, samples, count);
}
void plenum_g722_decoder_init(void *state) { g722_decode_init((g722_decode_state_t *)state, 64000, 0); }
int plenum_g722_decode(void *state, int16_t *out, const uint8_t *data, int count) {
    return g722_decode((g722_decode_state_t *)state, out, data, count);
}
void plenum_plc_init(void *state) { plc_init((plc_state_t *)state); }
void plenum_plc_rx(void *state, int16_t *samples, int count) { plc_rx((plc_state_t *)state, samples, count); }
void plenum_plc_fillin(void *state, int16_t *samples, int count) { plc_fillin((plc_state_t *)state, samples, count); }
