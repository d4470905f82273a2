#include "CPlenumSofia.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SU_ROOT_MAGIC_T struct plenum_sip_agent
#define NUA_MAGIC_T struct plenum_sip_agent
#define NUA_HMAGIC_T struct plenum_call
#define SU_MSG_ARG_T struct plenum_command

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/auth_module.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/su_time.h>
#include <sofia-sip/su_wait.h>
#include <malloc.h>
#include <strings.h>
#include <time.h>

struct plenum_call {
    uint64_t id;
    nua_handle_t *nh;
    int answered;
    struct plenum_call *next;
};

/// One slot of the out-of-dialog request guard: a token bucket per source address. A fixed table, so a
/// flood from many addresses overwrites slots instead of growing memory (issue 11).
enum { GUARD_SLOTS = 4096, TRUSTED_MAX = 64 };
struct guard_slot {
    char ip[46];
    double tokens;
    su_time_t last;
    /// Requests refused since the bucket was last full: a source that keeps going after its budget
    /// is spent is flooding, and the kernel drops it for a while (sofia would keep a transaction for
    /// every refusal).
    int refused;
};

/// Refusals after which a source is dropped in the kernel, and for how long.
enum { FLOOD_REFUSALS = 20, FLOOD_DROP_SECONDS = 60 };

struct plenum_sip_agent {
    su_home_t home[1];
    su_root_t *root;
    nua_t *nua;
    plenum_sip_callback callback;
    void *context;
    struct plenum_call *calls;
    uint64_t next_id;
    int port;
    int shutting_down;
    auth_mod_t *auth;
    su_timer_t *trim_timer;
    plenum_drop_list *drops;
    char trusted[TRUSTED_MAX][46];
    int trusted_count;
    struct guard_slot guard[GUARD_SLOTS];
};

static double monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/// After a flood of requests, sofia has freed its finished transactions (64*T1 later) but glibc keeps
/// the pages: hand them back every 10 s, so the process shrinks again once the flood is over. Dropped
/// sources whose time is up are released at the same beat.
static void housekeeping(su_root_magic_t *agent, su_timer_t *timer, su_timer_arg_t *arg) {
    (void)timer;
    (void)arg;
    malloc_trim(0);
    if (agent->drops) plenum_drop_list_expire(agent->drops, monotonic_seconds());
}

enum { COMMAND_RESPOND = 1, COMMAND_HANGUP = 2, COMMAND_SHUTDOWN = 3, COMMAND_CHALLENGE = 4, COMMAND_DROP = 5 };

/// 401 with WWW-Authenticate: a user agent server's challenge (RFC 3261 §22.2).
static auth_challenger_t const server_challenger = {401, "Unauthorized", sip_www_authenticate_class,
                                                    sip_authentication_info_class};

struct plenum_command {
    int kind;
    uint64_t call;
    int status;
    char phrase[64];
    int has_sdp;
    char sdp[];
};

/// The address a request came from, as text ("" when unknown).
static void request_source(nua_t *nua, char *ip, size_t size) {
    ip[0] = 0;
    msg_t *request = nua_current_request(nua);
    su_addrinfo_t *ai = request ? msg_addrinfo(request) : NULL;
    if (ai && ai->ai_addr) {
        su_sockaddr_t *su = (su_sockaddr_t *)ai->ai_addr;
        su_inet_ntop(su->su_family, SU_ADDR(su), ip, size);
    }
}

static void emit_dropped(plenum_sip_agent *agent, const char *ip, int seconds);

static void drop_source(plenum_sip_agent *agent, const char *ip, int seconds) {
    if (agent->drops == NULL || plenum_drop_list_drop(agent->drops, ip, monotonic_seconds() + seconds) != 0) return;
    emit_dropped(agent, ip, seconds);
}

static int is_trusted(plenum_sip_agent *agent, const char *ip) {
    for (int i = 0; i < agent->trusted_count; i++)
        if (strcmp(agent->trusted[i], ip) == 0) return 1;
    return 0;
}

/// Whether `ip` may send one more out-of-dialog request now: `burst` at once, `per_second` after that.
/// A source that goes on after its budget is spent is dropped in the kernel for a while.
static int guard_allow(plenum_sip_agent *agent, const char *ip, double per_second, double burst) {
    if (is_trusted(agent, ip)) return 1;
    uint32_t h = 2166136261u;  // FNV-1a
    for (const char *p = ip; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    struct guard_slot *slot = &agent->guard[h % GUARD_SLOTS];
    su_time_t now = su_now();
    if (strcmp(slot->ip, ip) != 0) {
        snprintf(slot->ip, sizeof slot->ip, "%s", ip);
        slot->tokens = burst;
        slot->last = now;
        slot->refused = 0;
    }
    slot->tokens += su_time_diff(now, slot->last) * per_second;
    slot->last = now;
    if (slot->tokens >= burst) {
        slot->tokens = burst;
        slot->refused = 0;
    }
    if (slot->tokens < 1) {
        if (++slot->refused >= FLOOD_REFUSALS) {
            slot->refused = 0;
            drop_source(agent, ip, FLOOD_DROP_SECONDS);
        }
        return 0;
    }
    slot->tokens -= 1;
    return 1;
}

/// In-dialog requests (our BYE, session-timer refreshes) go to the address the INVITE came from, not
/// to the caller's Contact: a Contact with a host name would make sofia resolve it, and an unreachable
/// resolver spins the SIP thread and stops all calls (issue 11). The Request-URI stays the Contact;
/// only the next hop is pinned, as a proxy (NUTAG_PROXY per handle, which nta uses for every request
/// of the handle without a DNS lookup when its host is numeric).
static void pin_route_to_source(nua_t *nua, nua_handle_t *nh, sip_t const *sip) {
    msg_t *request = nua_current_request(nua);
    su_addrinfo_t *ai = request ? msg_addrinfo(request) : NULL;
    if (ai == NULL || ai->ai_addr == NULL) return;
    su_sockaddr_t *su = (su_sockaddr_t *)ai->ai_addr;
    char ip[64], target[128];
    if (su_inet_ntop(su->su_family, SU_ADDR(su), ip, sizeof ip) == NULL) return;
    const char *transport = sip && sip->sip_via ? sip_via_transport(sip->sip_via) : "UDP";
    const char *name = strcasecmp(transport, "TLS") == 0 ? "tls" : strcasecmp(transport, "TCP") == 0 ? "tcp" : "udp";
    int n = snprintf(target, sizeof target, su->su_family == AF_INET6 ? "sip:[%s]:%u;transport=%s" : "sip:%s:%u;transport=%s",
                     ip, (unsigned)ntohs(su->su_port), name);
    if (n > 0 && (size_t)n < sizeof target) nua_set_hparams(nh, NUTAG_PROXY(target), TAG_END());
}

/// RFC 4028 session timers, when the caller can take part: it refreshes (it supports "timer"), or we
/// refresh with UPDATE (it allows UPDATE). A session nobody refreshes ends with a BYE from nua. Callers
/// with neither get no timer: nua's refresh would be a re-INVITE without SDP, which our media-less nua
/// cannot answer properly; the RTP inactivity timeout ends their abandoned calls instead.
static void set_session_timer(nua_handle_t *nh, sip_t const *sip) {
    int peer_timer = sip_has_feature(sip->sip_supported, "timer");
    int peer_update = sip->sip_allow && sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE");
    nua_set_hparams(nh, NUTAG_SESSION_TIMER(peer_timer || peer_update ? 1800 : 0), TAG_END());
}

static struct plenum_call *find_call(plenum_sip_agent *agent, uint64_t id) {
    for (struct plenum_call *c = agent->calls; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static void forget_call(plenum_sip_agent *agent, struct plenum_call *call) {
    struct plenum_call **link = &agent->calls;
    while (*link && *link != call) link = &(*link)->next;
    if (*link) *link = call->next;
    nua_handle_bind(call->nh, NULL);
    nua_handle_destroy(call->nh);
    free(call);
}

/// The fields Plenum reads from a request, pointing into `sip` (valid while it lives).
static void fill_event(plenum_sip_event *event, sip_t const *sip) {
    if (sip->sip_request && sip->sip_request->rq_url) event->request_user = sip->sip_request->rq_url->url_user;
    if (sip->sip_from) {
        event->from_user = sip->sip_from->a_url->url_user;
        event->from_display = sip->sip_from->a_display;
    }
    if (sip->sip_to) event->to_user = sip->sip_to->a_url->url_user;
    if (sip->sip_user_agent) event->user_agent = sip->sip_user_agent->g_string;
    if (sip->sip_via && sip->sip_via->v_protocol) event->secure = strcasecmp(sip->sip_via->v_protocol, "SIP/2.0/TLS") == 0;
    if (sip->sip_content_type) event->content_type = sip->sip_content_type->c_type;
    if (sip->sip_payload) {
        event->body = sip->sip_payload->pl_data;
        event->body_length = sip->sip_payload->pl_len;
    }
}

int plenum_sip_parse_message(const char *data, size_t length, plenum_sip_callback callback, void *context) {
    msg_t *msg = msg_make(sip_default_mclass(), 0, data, (isize_t)length);
    sip_t const *sip = msg ? sip_object(msg) : NULL;
    if (sip == NULL || sip->sip_error || sip->sip_request == NULL) {
        if (msg) msg_destroy(msg);
        return -1;
    }
    plenum_sip_event event;
    memset(&event, 0, sizeof event);
    event.kind = PLENUM_SIP_INVITE;
    fill_event(&event, sip);
    callback(context, &event);
    msg_destroy(msg);
    return 0;
}

static void emit(plenum_sip_agent *agent, int kind, struct plenum_call *call, int status, sip_t const *sip,
                 int reinvite, const char *authenticated_user) {
    plenum_sip_event event;
    memset(&event, 0, sizeof event);
    event.kind = kind;
    event.call = call ? call->id : 0;
    event.status = status;
    event.reinvite = reinvite;
    event.authenticated_user = authenticated_user;
    char source[64] = "";
    if (sip) {
        fill_event(&event, sip);
        msg_t *request = nua_current_request(agent->nua);
        su_addrinfo_t *ai = request ? msg_addrinfo(request) : NULL;
        if (ai && ai->ai_addr) {
            su_sockaddr_t *su = (su_sockaddr_t *)ai->ai_addr;
            su_inet_ntop(su->su_family, SU_ADDR(su), source, sizeof source);
            event.source_address = source;
        }
    }
    agent->callback(agent->context, &event);
}

static void emit_dropped(plenum_sip_agent *agent, const char *ip, int seconds) {
    plenum_sip_event event;
    memset(&event, 0, sizeof event);
    event.kind = PLENUM_SIP_SOURCE_DROPPED;
    event.status = seconds;
    event.source_address = ip;
    agent->callback(agent->context, &event);
}

static void on_event(nua_event_t event, int status, char const *phrase, nua_t *nua, plenum_sip_agent *agent,
                     nua_handle_t *nh, struct plenum_call *call, sip_t const *sip, tagi_t tags[]) {
    (void)phrase;
    (void)nua;
    switch (event) {
    case nua_i_invite:
        if (call == NULL) {
            char user[128] = "";
            if (agent->auth && sip->sip_authorization) {
                // Credentials present: verify them now; wrong ones never reach the application.
                auth_status_t *as = auth_status_new(agent->home);
                if (as == NULL) {
                    nua_respond(nh, 500, "Server Internal Error", TAG_END());
                    nua_handle_destroy(nh);
                    return;
                }
                as->as_method = sip->sip_request->rq_method_name;
                as->as_source = msg_addrinfo(nua_current_request(nua));
                as->as_user_uri = sip->sip_from ? sip->sip_from->a_url : NULL;
                if (sip->sip_payload) {
                    as->as_body = sip->sip_payload->pl_data;
                    as->as_bodylen = sip->sip_payload->pl_len;
                }
                auth_mod_check(agent->auth, as, (sip_t *)sip, auth_server);
                if (as->as_status != 0) {
                    nua_respond(nh, as->as_status, as->as_phrase, SIPTAG_HEADER((sip_header_t *)as->as_response),
                                TAG_END());
                    nua_handle_destroy(nh);
                    auth_status_unref(as);
                    return;
                }
                snprintf(user, sizeof user, "%s", as->as_user ? as->as_user : "");
                auth_status_unref(as);
            }
            if (agent->shutting_down) {
                nua_respond(nh, 503, "Service Unavailable", TAG_END());
                nua_handle_destroy(nh);
                return;
            }
            call = calloc(1, sizeof *call);
            if (call == NULL) {
                nua_respond(nh, 500, "Server Internal Error", TAG_END());
                nua_handle_destroy(nh);
                return;
            }
            call->id = ++agent->next_id;
            call->nh = nh;
            call->next = agent->calls;
            agent->calls = call;
            nua_handle_bind(nh, call);
            pin_route_to_source(nua, nh, sip);
            set_session_timer(nh, sip);
            emit(agent, PLENUM_SIP_INVITE, call, 0, sip, 0, user[0] ? user : NULL);
        } else {
            emit(agent, PLENUM_SIP_INVITE, call, 0, sip, 1, NULL);
        }
        break;
    case nua_i_cancel:
        if (call) emit(agent, PLENUM_SIP_CANCELLED, call, 0, sip, 0, NULL);
        break;
    case nua_i_bye:
        if (call) emit(agent, PLENUM_SIP_BYE, call, 0, sip, 0, NULL);
        break;
    case nua_i_info:
        if (call)
            emit(agent, PLENUM_SIP_INFO, call, 0, sip, 0, NULL);
        else
            nua_handle_destroy(nh);  // out of any dialog: nua answered it; the handle is ours to free
        break;
    case nua_i_options: {
        // Keep-alives and scanners alike: answered, limited per source (a flood is refused, not
        // served); every out-of-dialog request gets a handle of its own that must be destroyed here,
        // or each one leaks (issue 11: memory followed an OPTIONS flood).
        char ip[64];
        request_source(nua, ip, sizeof ip);
        if (call != NULL || guard_allow(agent, ip, 5, 20))
            nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
        else
            nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua), TAG_END());
        if (call == NULL) nua_handle_destroy(nh);
        break;
    }
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (call == NULL) break;
        if (state == nua_callstate_ready && !call->answered) {
            call->answered = 1;
            emit(agent, PLENUM_SIP_ACTIVE, call, 0, NULL, 0, NULL);
        } else if (state == nua_callstate_terminated) {
            emit(agent, PLENUM_SIP_TERMINATED, call, status, NULL, 0, NULL);
            forget_call(agent, call);
        }
        break;
    }
    case nua_i_register:
    case nua_i_refer:
    case nua_i_message:
    case nua_i_subscribe:
    case nua_i_publish:
    case nua_i_method: {
        // Plenum makes no calls, takes no registrations and keeps no subscriptions: refuse (issue 3,
        // "Safety"), within the same per-source budget as OPTIONS.
        char ip[64];
        request_source(nua, ip, sizeof ip);
        if (call != NULL || guard_allow(agent, ip, 5, 20)) {
            if (event == nua_i_register)
                nua_respond(nh, 403, "Registration Not Offered", NUTAG_WITH_THIS(nua), TAG_END());
            else
                nua_respond(nh, SIP_405_METHOD_NOT_ALLOWED, NUTAG_WITH_THIS(nua), TAG_END());
        } else
            nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua), TAG_END());
        if (call == NULL) nua_handle_destroy(nh);
        break;
    }
    case nua_r_shutdown:
        if (status >= 200) su_root_break(agent->root);
        break;
    default:
        break;
    }
}

static void run_command(plenum_sip_agent *agent, su_msg_r msg, struct plenum_command *command) {
    (void)msg;
    if (command->kind == COMMAND_DROP) {
        if (!is_trusted(agent, command->phrase)) drop_source(agent, command->phrase, command->status);
        return;
    }
    if (command->kind == COMMAND_SHUTDOWN) {
        if (!agent->shutting_down) {
            agent->shutting_down = 1;
            nua_shutdown(agent->nua);
        }
        return;
    }
    struct plenum_call *call = find_call(agent, command->call);
    if (call == NULL) return;  // already gone: a late command is harmless
    if (command->kind == COMMAND_RESPOND) {
        if (command->has_sdp)
            nua_respond(call->nh, command->status, command->phrase, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(command->sdp), TAG_END());
        else
            nua_respond(call->nh, command->status, command->phrase, TAG_END());
    } else if (command->kind == COMMAND_CHALLENGE) {
        auth_status_t *as = agent->auth ? auth_status_new(agent->home) : NULL;
        if (as == NULL) {
            nua_respond(call->nh, SIP_403_FORBIDDEN, TAG_END());
            return;
        }
        as->as_method = "INVITE";
        auth_mod_challenge(agent->auth, as, &server_challenger);
        nua_respond(call->nh, as->as_status ? as->as_status : 401, as->as_phrase ? as->as_phrase : "Unauthorized",
                    SIPTAG_HEADER((sip_header_t *)as->as_response), TAG_END());
        auth_status_unref(as);
    } else if (command->kind == COMMAND_HANGUP) {
        if (call->answered)
            nua_bye(call->nh, TAG_END());
        else
            nua_respond(call->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END());
    }
}

static void send_command(plenum_sip_agent *agent, int kind, uint64_t call, int status, const char *phrase,
                         const char *sdp) {
    size_t sdp_length = sdp ? strlen(sdp) : 0;
    su_msg_r msg = SU_MSG_R_INIT;
    if (su_msg_create(msg, su_root_task(agent->root), su_task_null, run_command,
                      sizeof(struct plenum_command) + sdp_length + 1) != 0)
        return;
    struct plenum_command *command = su_msg_data(msg);
    command->kind = kind;
    command->call = call;
    command->status = status;
    snprintf(command->phrase, sizeof command->phrase, "%s", phrase ? phrase : "");
    command->has_sdp = sdp != NULL;
    if (sdp) memcpy(command->sdp, sdp, sdp_length + 1);
    su_msg_send(msg);
}

plenum_sip_agent *plenum_sip_agent_create(const char *bind_url, const char *tls_url, const char *certificate_directory,
                                          const char *auth_realm, const char *auth_database,
                                          const char *user_agent, plenum_sip_callback callback, void *context,
                                          char *error, size_t error_capacity) {
    if (su_init() != 0) {
        snprintf(error, error_capacity, "su_init failed");
        return NULL;
    }
    su_log_set_level(NULL, 0);
    plenum_sip_agent *agent = calloc(1, sizeof *agent);
    if (agent == NULL) return NULL;
    su_home_init(agent->home);
    agent->callback = callback;
    agent->context = context;
    agent->root = su_root_create(agent);
    if (agent->root == NULL) {
        snprintf(error, error_capacity, "su_root_create failed");
        free(agent);
        return NULL;
    }
    su_root_threading(agent->root, 1);
    agent->nua = nua_create(agent->root, on_event, agent, NUTAG_URL(bind_url),
                            TAG_IF(tls_url != NULL, NUTAG_SIPS_URL(tls_url)),
                            TAG_IF(certificate_directory != NULL, TPTAG_CERTIFICATE(certificate_directory)),
                            NUTAG_MEDIA_ENABLE(0),
                            NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_ENABLEMESSAGE(0), NUTAG_ENABLEINVITE(1),
                            // SIPTAG_ALLOW_STR replaces nua's default Allow set (NUTAG_ALLOW only adds to it);
                            // methods outside it get 405 from nua before any usage (REFER's implicit
                            // subscription and its NOTIFYs) is created. REGISTER is listed only so that
                            // it reaches on_event (else nua answers it unseen, and a REGISTER flood
                            // would escape the per-source guard): it is refused there with 403.
                            SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER"),
                            // A message larger than this is refused by the parser (issue 3: size caps).
                            NTATAG_MAXSIZE(64 * 1024), SIPTAG_USER_AGENT_STR(user_agent),
                            // OPTIONS reach on_event, where they are limited per source.
                            NUTAG_APPL_METHOD("OPTIONS"), NUTAG_APPL_METHOD("REGISTER"),
                            // Floods (issue 11): at most 256 INVITEs waiting for our answer (beyond, a
                            // stateless 503); finished transactions kept 8 s instead of 32 (64*T1;
                            // retransmissions of a request still meet their answer), which bounds what
                            // a flood of refused requests holds; a 4 MiB receive buffer for bursts.
                            NTATAG_MAX_PROCEEDING(256), NTATAG_SIP_T1X64(8000), TPTAG_UDP_RMEM(4 * 1024 * 1024),
                            // Responses go to the source port even without ;rport (RFC 3581).
                            NTATAG_SERVER_RPORT(2), NUTAG_MIN_SE(90), NUTAG_UPDATE_REFRESH(1), TAG_END());
    if (agent->nua == NULL) {
        snprintf(error, error_capacity, "cannot listen on %s", bind_url);
        su_root_destroy(agent->root);
        free(agent);
        return NULL;
    }
    if (auth_realm && auth_database) {
        agent->auth = auth_mod_create(agent->root, AUTHTAG_METHOD("Digest"), AUTHTAG_REALM(auth_realm),
                                      AUTHTAG_DB(auth_database), AUTHTAG_QOP("auth"), AUTHTAG_ALGORITHM("MD5"),
                                      TAG_END());
        if (agent->auth == NULL) {
            snprintf(error, error_capacity, "cannot read the password file %s", auth_database);
            nua_destroy(agent->nua);
            su_root_destroy(agent->root);
            free(agent);
            return NULL;
        }
    }
    agent->trim_timer = su_timer_create(su_root_task(agent->root), 10000);
    if (agent->trim_timer) su_timer_set_interval(agent->trim_timer, housekeeping, NULL, 10000);
    const char *colon = strrchr(bind_url, ':');
    agent->port = colon ? atoi(colon + 1) : 5060;
    // The UDP sockets nua bound: flooding sources are dropped there, before sofia sees them.
    agent->drops = plenum_drop_list_create();
    if (agent->drops && plenum_drop_list_add_sockets_bound_to(agent->drops, agent->port) == 0) {
        plenum_drop_list_destroy(agent->drops);
        agent->drops = NULL;
    }
    return agent;
}

void plenum_sip_agent_run(plenum_sip_agent *agent) {
    su_root_run(agent->root);
    for (struct plenum_call *c = agent->calls, *next; c; c = next) {
        next = c->next;
        nua_handle_destroy(c->nh);
        free(c);
    }
    if (agent->trim_timer) su_timer_destroy(agent->trim_timer);
    if (agent->drops) plenum_drop_list_destroy(agent->drops);
    nua_destroy(agent->nua);
    if (agent->auth) auth_mod_unref(agent->auth);
    su_root_destroy(agent->root);
    su_home_deinit(agent->home);
    free(agent);
    su_deinit();
}

void plenum_sip_agent_shutdown(plenum_sip_agent *agent) { send_command(agent, COMMAND_SHUTDOWN, 0, 0, NULL, NULL); }

void plenum_sip_respond(plenum_sip_agent *agent, uint64_t call, int status, const char *phrase, const char *sdp) {
    send_command(agent, COMMAND_RESPOND, call, status, phrase, sdp);
}

void plenum_sip_challenge(plenum_sip_agent *agent, uint64_t call) {
    send_command(agent, COMMAND_CHALLENGE, call, 0, NULL, NULL);
}

void plenum_sip_hangup(plenum_sip_agent *agent, uint64_t call) {
    send_command(agent, COMMAND_HANGUP, call, 0, NULL, NULL);
}

int plenum_sip_agent_port(plenum_sip_agent *agent) { return agent->port; }

void plenum_sip_agent_trust(plenum_sip_agent *agent, const char *ip) {
    if (agent->trusted_count < TRUSTED_MAX)
        snprintf(agent->trusted[agent->trusted_count++], sizeof agent->trusted[0], "%s", ip);
}

void plenum_sip_drop_source(plenum_sip_agent *agent, const char *ip, int seconds) {
    send_command(agent, COMMAND_DROP, 0, seconds, ip, NULL);
}
