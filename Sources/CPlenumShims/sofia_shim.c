#include "CPlenumShims.h"
#include <string.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sofia_features.h>

const char *plenum_sofia_version(void) { return SOFIA_SIP_VERSION; }

int plenum_sofia_sdp_check(const char *sdp, size_t length, char *error, size_t error_capacity) {
    su_home_t *home = su_home_new(sizeof(su_home_t));
    if (home == NULL) return -1;
    sdp_parser_t *parser = sdp_parse(home, sdp, (issize_t)length, sdp_f_strict);
    int result = sdp_session(parser) != NULL ? 0 : -1;
    if (result != 0 && error != NULL && error_capacity > 0) {
        const char *message = sdp_parsing_error(parser);
        strncpy(error, message ? message : "unknown SDP error", error_capacity - 1);
        error[error_capacity - 1] = '\0';
    }
    sdp_parser_free(parser);
    su_home_unref(home);
    return result;
}
