#include "CPlenumShims.h"
#include <opus/opus.h>
#include <string.h>

int plenum_opus_set_bitrate(OpusEncoder *enc, int32_t v) { return opus_encoder_ctl(enc, OPUS_SET_BITRATE(v)); }
int plenum_opus_set_complexity(OpusEncoder *enc, int32_t v) { return opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(v)); }
int plenum_opus_set_inband_fec(OpusEncoder *enc, int32_t v) { return opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(v)); }
int plenum_opus_set_packet_loss_percent(OpusEncoder *enc, int32_t v) {
    return opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(v));
}
int plenum_opus_set_dtx(OpusEncoder *enc, int32_t v) { return opus_encoder_ctl(enc, OPUS_SET_DTX(v)); }
int plenum_opus_set_signal_voice(OpusEncoder *enc) { return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)); }
int plenum_opus_get_lookahead(OpusEncoder *enc, int32_t *samples) {
    opus_int32 v = 0;
    int r = opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&v));
    *samples = v;
    return r;
}
int plenum_opus_encoder_reset(OpusEncoder *enc) { return opus_encoder_ctl(enc, OPUS_RESET_STATE); }
int plenum_opus_decoder_reset(OpusDecoder *dec) { return opus_decoder_ctl(dec, OPUS_RESET_STATE); }
void plenum_opus_encoder_copy(OpusEncoder *dst, const OpusEncoder *src, int channels) {
    memcpy(dst, src, (size_t)opus_encoder_get_size(channels));
}
