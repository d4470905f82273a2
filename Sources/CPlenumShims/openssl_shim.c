#include "CPlenumShims.h"
#include <openssl/crypto.h>

const char *plenum_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
