#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sofia_features.h>
// Note: sofia's su_configure.h defines _GNU_SOURCE, so glibc headers parse differently here than in
// other C modules; a Swift file must not import CSofiaSIP together with COpenSSL. Swift code reaches
// sofia through CPlenumShims.
