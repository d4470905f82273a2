// A small SIP user agent (server side) on sofia-sip's nua, as plain C for Swift.
//
// sofia's tag lists are variadic and nua is not thread-safe, so this shim owns everything sofia:
// it runs the su_root loop on the thread that calls plenum_sip_agent_run, copies each event into a flat
// struct for the callback, and marshals commands from any thread onto that loop with su_msg.
// NUTAG_MEDIA_ENABLE(0): sofia's own offer/answer engine stays out; Plenum writes the SDP.
// Swift never includes sofia's headers (they define _GNU_SOURCE, which clashes with other C modules).
#ifndef PLENUM_SOFIA_H
#define PLENUM_SOFIA_H

#include <stddef.h>
#include <stdint.h>

typedef struct plenum_sip_agent plenum_sip_agent;

typedef enum {
    /// A new call, or a re-INVITE (`reinvite` = 1) on an existing one; `body` is its SDP (may be empty).
    PLENUM_SIP_INVITE = 1,
    /// The call is established (the ACK arrived).
    PLENUM_SIP_ACTIVE = 2,
    /// The caller cancelled before the answer.
    PLENUM_SIP_CANCELLED = 3,
    /// The caller hung up.
    PLENUM_SIP_BYE = 4,
    /// The call is gone (after any of the above, or our own hang-up); its id is never reused.
    PLENUM_SIP_TERMINATED = 5,
    /// An INFO request in the call (DTMF relay bodies: application/dtmf-relay, application/dtmf).
    PLENUM_SIP_INFO = 6,
    /// A source went on flooding past its budget: the kernel drops its packets for `status` seconds
    /// (`source_address` says which; no call).
    PLENUM_SIP_SOURCE_DROPPED = 7,
} plenum_sip_event_kind;

typedef struct {
    int kind;
    uint64_t call;
    int reinvite;
    int status;
    const char *request_user;
    const char *from_user;
    const char *from_display;
    const char *to_user;
    const char *source_address;
    const char *user_agent;
    /// 1 when the request came over TLS (top Via SIP/2.0/TLS): only then may SDP carry SRTP keys.
    int secure;
    /// The digest-authenticated user (RFC 3261 §22), when the INVITE carried valid credentials.
    const char *authenticated_user;
    const char *content_type;
    const char *body;
    size_t body_length;
} plenum_sip_event;

/// Called on the SIP thread. Copy what you need and return: no work here.
typedef void (*plenum_sip_callback)(void *context, const plenum_sip_event *event);

/// Creates an agent bound to `bind_url` (e.g. "sip:127.0.0.1:5060": UDP and TCP) and, when
/// `tls_url` is set (e.g. "sips:127.0.0.1:5061"), TLS with the certificate in `certificate_directory`
/// (agent.pem: certificate and key; cafile.pem). Call from the thread that will run it. Returns NULL
/// and fills `error` on failure.
/// With `auth_realm` and `auth_database` (a sofia auth_module password file: `user:password` lines),
/// INVITEs that carry credentials are verified (wrong ones are refused there and then) and
/// plenum_sip_challenge asks a caller for credentials.
plenum_sip_agent *plenum_sip_agent_create(const char *bind_url, const char *tls_url, const char *certificate_directory,
                                          const char *auth_realm, const char *auth_database,
                                          const char *user_agent, plenum_sip_callback callback, void *context,
                                          char *error, size_t error_capacity);
/// Thread-safe: answers the INVITE of `call` with a digest challenge (401 with WWW-Authenticate).
void plenum_sip_challenge(plenum_sip_agent *agent, uint64_t call);
/// Runs the SIP loop until plenum_sip_agent_shutdown; then frees the agent.
void plenum_sip_agent_run(plenum_sip_agent *agent);
/// Thread-safe: ends all calls and stops the loop.
void plenum_sip_agent_shutdown(plenum_sip_agent *agent);
/// Thread-safe: answers the INVITE of `call` (any status; `sdp` may be NULL).
void plenum_sip_respond(plenum_sip_agent *agent, uint64_t call, int status, const char *phrase, const char *sdp);
/// Thread-safe: hangs up (BYE when established, otherwise a final 480 response).
void plenum_sip_hangup(plenum_sip_agent *agent, uint64_t call);
/// The local port the agent listens on (after create), or 0.
int plenum_sip_agent_port(plenum_sip_agent *agent);
/// A source the request guards never limit (a SIP trunk: one address for many callers). Call after
/// create and before run, on the same thread.
void plenum_sip_agent_trust(plenum_sip_agent *agent, const char *ip);
/// Has the kernel drop every packet from `ip` to the SIP port for `seconds` (a source that floods
/// calls; the agent does the same by itself for out-of-dialog floods). Any thread.
void plenum_sip_drop_source(plenum_sip_agent *agent, const char *ip, int seconds);

/// Source addresses whose datagrams the kernel drops on a set of sockets (a classic BPF socket filter,
/// rebuilt when the list changes). At most 256 addresses (IPv6 ones by their /64); when full, the one released soonest makes
/// room. Times are seconds on any monotonic clock the caller chooses. Not thread-safe.
typedef struct plenum_drop_list plenum_drop_list;
plenum_drop_list *plenum_drop_list_create(void);
void plenum_drop_list_destroy(plenum_drop_list *list);
/// Filters `fd` (a UDP socket) by the list from now on. 0, or -1 when the filter cannot be attached.
int plenum_drop_list_add_socket(plenum_drop_list *list, int fd);
/// Adds every UDP socket of this process bound to `port`; returns how many.
int plenum_drop_list_add_sockets_bound_to(plenum_drop_list *list, int port);
/// Drops `ip` (IPv4 or IPv6 text) until `until`. 0, or -1 for an address that does not parse.
int plenum_drop_list_drop(plenum_drop_list *list, const char *ip, double until);
/// Releases the addresses whose time is up at `now`.
void plenum_drop_list_expire(plenum_drop_list *list, double now);
int plenum_drop_list_count(const plenum_drop_list *list);
/// Parses one SIP request with sofia's parser and calls `callback` with the fields the agent hands to
/// Swift (kind INVITE, no call), as the live agent would: the entry point for fuzzing that hand-off.
/// Returns -1 for a message sofia refuses.
int plenum_sip_parse_message(const char *data, size_t length, plenum_sip_callback callback, void *context);

#endif

// MARK: SDP (RFC 4566) through sofia's parser

#define PLENUM_SDP_MAX_FORMATS 16

typedef struct {
    int payload_type;
    char encoding[32];
    int clock_rate;
    int channels;
    char parameters[128];  // fmtp
} plenum_sdp_format;

typedef enum { PLENUM_SDP_SENDRECV = 0, PLENUM_SDP_SENDONLY = 1, PLENUM_SDP_RECVONLY = 2, PLENUM_SDP_INACTIVE = 3 } plenum_sdp_direction;

typedef struct {
    char address[64];  // connection address of the audio stream (media-level c= or session-level)
    int port;          // 0: the stream is refused/disabled
    int ptime;
    int direction;
    char protocol[32];  // "RTP/AVP", "RTP/SAVP", ...
    int format_count;
    plenum_sdp_format formats[PLENUM_SDP_MAX_FORMATS];
    char crypto[512];  // the a=crypto lines' values (RFC 4568), one per line, if any
    // WebRTC (media level, falling back to session level): ICE, DTLS and the audio-level extension.
    char ice_ufrag[64];
    char ice_pwd[160];
    char fingerprint[200];  // "sha-256 AB:CD:…"
    char setup[16];         // actpass, active, passive
    char mid[32];
    int rtcp_mux;
    int audio_level_extension;  // extmap id of urn:ietf:params:rtp-hdrext:ssrc-audio-level, or 0
} plenum_sdp_audio;

/// One line of an SDP as sofia parsed it, for `plenum_sdp_walk`: `media` is -1 at the session level,
/// else the media description's index. A media line comes with `name` NULL and `value`
/// "<kind> <port> <proto> <fmt> <fmt>…" (port 0 when rejected); then its attributes, with the
/// direction sofia folded into its mode given back as an attribute ("sendrecv", …), and rtpmaps and
/// fmtps sofia consumed (known transports) given back too. Pointers live during the call only.
typedef void (*plenum_sdp_visit)(void *context, int media, const char *name, const char *value);

/// Parses `sdp` with sofia and visits the session's attributes and each media description in order.
/// Returns 0, or -1 with `error` filled (not SDP, a malformed media line).
int plenum_sdp_walk(const char *sdp, size_t length, plenum_sdp_visit visit, void *context, char *error, size_t error_capacity);

/// Parses `sdp` and describes its first audio stream. Returns 0, or -1 with `error` filled (not SDP,
/// no audio stream, no connection address).
int plenum_sdp_parse_audio(const char *sdp, size_t length, plenum_sdp_audio *audio, char *error, size_t error_capacity);
