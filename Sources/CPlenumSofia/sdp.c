#include "CPlenumSofia.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

/// RFC 8866 §9 token-char: what the fields of an m= line are made of.
static int is_token_char(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c != 0 && strchr("!#$%&'*+-.^_`{|}~", c) != NULL);
}

/// Whether every line is `<type>=…` and every m= line is well formed: `m=<media> <port>[/<count>] <proto> <fmt> …` with tokens for
/// media and formats, digits for the port, and tokens joined by "/" for the transport (RFC 8866
/// §5.14). sofia's parser (1.12.11) never returns on some malformed ones — a non-token byte after a
/// "/" in the transport ("RTP/\xc3\xa4", "UDP/TLS/RTP)/SAVPF"), or a non-token format after an unknown
/// transport ("X/Y \"") — so one such SDP in an INVITE or a browser's offer would stop the media loop
/// for good (found by fuzzing, issue 11). Such SDP is refused before sofia sees it.
static int media_lines_are_well_formed(const char *text, size_t length) {
    size_t i = 0;
    while (i < length) {
        // Lines end at CR or LF, either alone (sofia accepts both).
        size_t end = i;
        while (end < length && text[end] != '\n' && text[end] != '\r') end++;
        size_t line_end = end;
        // Every line is <type>=<value>, the type one lower-case letter, no white space before it
        // (RFC 8866 §5); sofia also takes " m=…" as a media line, so nothing else is let through.
        if (line_end > i && (line_end - i < 2 || text[i] < 'a' || text[i] > 'z' || text[i + 1] != '=')) return 0;
        if (line_end - i >= 2 && text[i] == 'm' && text[i + 1] == '=') {
            int field = 0;
            size_t p = i + 2;
            while (p < line_end) {
                size_t start = p;
                while (p < line_end && text[p] != ' ') p++;
                if (p == start) return 0;  // an empty field (two spaces)
                for (size_t k = start; k < p; k++) {
                    unsigned char c = (unsigned char)text[k];
                    int ok = field == 1 ? ((c >= '0' && c <= '9') || c == '/')
                           : field == 2 ? (is_token_char(c) || (c == '/' && k > start && k + 1 < p && text[k - 1] != '/'))
                           : is_token_char(c);
                    if (!ok) return 0;
                }
                field++;
                if (p < line_end) p++;  // the space
            }
            if (field < 4) return 0;
        }
        i = end + 1;
    }
    return 1;
}

/// sofia's parse of `text`, after the media-line check above; NULL with `error` filled. `*parser` is
/// for `sdp_parser_free` (NULL when sofia never saw the text).
static sdp_session_t *parse_checked(su_home_t *home, const char *text, size_t length, sdp_parser_t **parser, char *error,
                                    size_t error_capacity) {
    *parser = NULL;
    if (!media_lines_are_well_formed(text, length)) {
        snprintf(error, error_capacity, "malformed SDP: a media line (m=) that is not media, port, transport and formats");
        return NULL;
    }
    *parser = sdp_parse(home, text, (issize_t)length, 0);
    sdp_session_t *session = sdp_session(*parser);
    if (session == NULL) {
        const char *message = sdp_parsing_error(*parser);
        snprintf(error, error_capacity, "malformed SDP: %s", message ? message : "unknown error");
    }
    return session;
}

typedef int (*session_reader)(sdp_session_t *session, void *context, char *error, size_t error_capacity);

/// Parses `text` and hands the session to `read` (0, or -1 with `error` filled); sofia's memory goes after.
static int read_session(const char *text, size_t length, session_reader read, void *context, char *error, size_t error_capacity) {
    su_home_t *home = su_home_new(sizeof(su_home_t));
    if (home == NULL) return -1;
    sdp_parser_t *parser;
    sdp_session_t *session = parse_checked(home, text, length, &parser, error, error_capacity);
    int result = session ? read(session, context, error, error_capacity) : -1;
    if (parser) sdp_parser_free(parser);
    su_home_unref(home);
    return result;
}

/// Reads the first audio stream of `session` into `context` (a plenum_sdp_audio).
static int read_audio(sdp_session_t *session, void *context, char *error, size_t error_capacity) {
    plenum_sdp_audio *audio = context;
    sdp_media_t *media = session->sdp_media;
    while (media && media->m_type != sdp_media_audio) media = media->m_next;
    if (media == NULL) {
        snprintf(error, error_capacity, "no audio stream in SDP");
        return -1;
    }
    sdp_connection_t *connection = media->m_connections ? media->m_connections : session->sdp_connection;
    if (connection == NULL || connection->c_address == NULL) {
        snprintf(error, error_capacity, "no connection address for the audio stream");
        return -1;
    }
    snprintf(audio->address, sizeof audio->address, "%s", connection->c_address);
    // A port beyond 65535 (RFC 8866 §5.14) is an error, not a port to clamp or wrap.
    if (!media->m_rejected && media->m_port > 65535) {
        snprintf(error, error_capacity, "port %lu out of range", (unsigned long)media->m_port);
        return -1;
    }
    audio->port = media->m_rejected ? 0 : (int)media->m_port;
    snprintf(audio->protocol, sizeof audio->protocol, "%s", media->m_proto_name ? media->m_proto_name : "");
    switch (media->m_mode) {
    case sdp_sendonly: audio->direction = PLENUM_SDP_SENDONLY; break;
    case sdp_recvonly: audio->direction = PLENUM_SDP_RECVONLY; break;
    case sdp_inactive: audio->direction = PLENUM_SDP_INACTIVE; break;
    default: audio->direction = PLENUM_SDP_SENDRECV; break;
    }
    for (sdp_rtpmap_t *map = media->m_rtpmaps; map && audio->format_count < PLENUM_SDP_MAX_FORMATS; map = map->rm_next) {
        plenum_sdp_format *format = &audio->formats[audio->format_count++];
        format->payload_type = (int)map->rm_pt;
        snprintf(format->encoding, sizeof format->encoding, "%s", map->rm_encoding ? map->rm_encoding : "");
        format->clock_rate = (int)map->rm_rate;
        format->channels = map->rm_params ? atoi(map->rm_params) : 1;
        snprintf(format->parameters, sizeof format->parameters, "%s", map->rm_fmtp ? map->rm_fmtp : "");
    }
    // sofia reads rtpmaps only for the transports it knows (RTP/AVP, RTP/SAVP); WebRTC's
    // UDP/TLS/RTP/SAVPF leaves them as plain attributes, so read them from there.
    if (audio->format_count == 0) {
        for (sdp_attribute_t *a = media->m_attributes; a && audio->format_count < PLENUM_SDP_MAX_FORMATS; a = a->a_next) {
            if (!a->a_name || !a->a_value || strcasecmp(a->a_name, "rtpmap") != 0) continue;
            plenum_sdp_format *format = &audio->formats[audio->format_count];
            int pt = -1, rate = 0, channels = 1;
            char encoding[32] = "";
            if (sscanf(a->a_value, "%d %31[^/]/%d/%d", &pt, encoding, &rate, &channels) < 3 || pt < 0 || pt > 127) continue;
            format->payload_type = pt;
            snprintf(format->encoding, sizeof format->encoding, "%s", encoding);
            format->clock_rate = rate;
            format->channels = channels;
            for (sdp_attribute_t *f = media->m_attributes; f; f = f->a_next) {
                if (f->a_name && f->a_value && strcasecmp(f->a_name, "fmtp") == 0 && atoi(f->a_value) == pt) {
                    const char *space = strchr(f->a_value, ' ');
                    snprintf(format->parameters, sizeof format->parameters, "%s", space ? space + 1 : "");
                }
            }
            audio->format_count++;
        }
    }
    // Session-level attributes first; media-level ones below override them.
    for (sdp_attribute_t *a = session->sdp_attributes; a; a = a->a_next) {
        if (!a->a_name || !a->a_value) continue;
        if (strcasecmp(a->a_name, "ice-ufrag") == 0) snprintf(audio->ice_ufrag, sizeof audio->ice_ufrag, "%s", a->a_value);
        if (strcasecmp(a->a_name, "ice-pwd") == 0) snprintf(audio->ice_pwd, sizeof audio->ice_pwd, "%s", a->a_value);
        if (strcasecmp(a->a_name, "fingerprint") == 0 && strncasecmp(a->a_value, "sha-256 ", 8) == 0)
            snprintf(audio->fingerprint, sizeof audio->fingerprint, "%s", a->a_value);
        if (strcasecmp(a->a_name, "setup") == 0) snprintf(audio->setup, sizeof audio->setup, "%s", a->a_value);
    }
    for (sdp_attribute_t *a = media->m_attributes; a; a = a->a_next) {
        if (!a->a_name) continue;
        const char *v = a->a_value ? a->a_value : "";
        if (strcasecmp(a->a_name, "ice-ufrag") == 0) snprintf(audio->ice_ufrag, sizeof audio->ice_ufrag, "%s", v);
        if (strcasecmp(a->a_name, "ice-pwd") == 0) snprintf(audio->ice_pwd, sizeof audio->ice_pwd, "%s", v);
        // Several a=fingerprint lines may come (sha-256, sha-384, …): keep the SHA-256 one we check.
        if (strcasecmp(a->a_name, "fingerprint") == 0 && strncasecmp(v, "sha-256 ", 8) == 0)
            snprintf(audio->fingerprint, sizeof audio->fingerprint, "%s", v);
        if (strcasecmp(a->a_name, "setup") == 0) snprintf(audio->setup, sizeof audio->setup, "%s", v);
        if (strcasecmp(a->a_name, "mid") == 0) snprintf(audio->mid, sizeof audio->mid, "%s", v);
        if (strcasecmp(a->a_name, "rtcp-mux") == 0) audio->rtcp_mux = 1;
        if (strcasecmp(a->a_name, "extmap") == 0 && strstr(v, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
            audio->audio_level_extension = atoi(v);
    }
    for (sdp_attribute_t *a = media->m_attributes; a; a = a->a_next) {
        if (a->a_name && strcasecmp(a->a_name, "ptime") == 0 && a->a_value) audio->ptime = atoi(a->a_value);
        if (a->a_name && strcasecmp(a->a_name, "crypto") == 0 && a->a_value) {
            size_t used = strlen(audio->crypto);
            snprintf(audio->crypto + used, sizeof audio->crypto - used, "%s%s", used ? "\n" : "", a->a_value);
        }
    }
    return 0;
}

int plenum_sdp_parse_audio(const char *text, size_t length, plenum_sdp_audio *audio, char *error, size_t error_capacity) {
    memset(audio, 0, sizeof *audio);
    return read_session(text, length, read_audio, audio, error, error_capacity);
}

static const char *mode_name(unsigned mode) {
    switch (mode) {
    case sdp_sendonly: return "sendonly";
    case sdp_recvonly: return "recvonly";
    case sdp_inactive: return "inactive";
    default: return "sendrecv";
    }
}

struct walk { plenum_sdp_visit visit; void *context; };

/// Visits `session`'s lines (see plenum_sdp_walk).
static int read_lines(sdp_session_t *session, void *context, char *error, size_t error_capacity) {
    plenum_sdp_visit visit = ((struct walk *)context)->visit;
    context = ((struct walk *)context)->context;
    for (sdp_attribute_t *a = session->sdp_attributes; a; a = a->a_next) {
        if (a->a_name) visit(context, -1, a->a_name, a->a_value ? a->a_value : "");
    }
    int index = 0;
    char line[1024];
    for (sdp_media_t *media = session->sdp_media; media; media = media->m_next, index++) {
        if (!media->m_rejected && media->m_port > 65535) {
            snprintf(error, error_capacity, "port %lu out of range", (unsigned long)media->m_port);
            return -1;
        }
        int used = snprintf(line, sizeof line, "%s %lu %s", media->m_type_name ? media->m_type_name : "-",
                            media->m_rejected ? 0UL : (unsigned long)media->m_port, media->m_proto_name ? media->m_proto_name : "-");
        if (media->m_format) {
            for (sdp_list_t *f = media->m_format; f && used < (int)sizeof line - 8; f = f->l_next) {
                used += snprintf(line + used, sizeof line - used, " %s", f->l_text ? f->l_text : "");
            }
        } else {
            for (sdp_rtpmap_t *map = media->m_rtpmaps; map && used < (int)sizeof line - 8; map = map->rm_next) {
                used += snprintf(line + used, sizeof line - used, " %u", (unsigned)map->rm_pt);
            }
        }
        visit(context, index, NULL, line);
        visit(context, index, mode_name(media->m_mode), "");
        // Known transports: sofia took the rtpmaps and fmtps out of the attributes.
        char value[512];
        for (sdp_rtpmap_t *map = media->m_rtpmaps; map; map = map->rm_next) {
            snprintf(value, sizeof value, "%u %s/%lu%s%s", (unsigned)map->rm_pt, map->rm_encoding ? map->rm_encoding : "",
                     map->rm_rate, map->rm_params ? "/" : "", map->rm_params ? map->rm_params : "");
            visit(context, index, "rtpmap", value);
            if (map->rm_fmtp) {
                snprintf(value, sizeof value, "%u %s", (unsigned)map->rm_pt, map->rm_fmtp);
                visit(context, index, "fmtp", value);
            }
        }
        for (sdp_attribute_t *a = media->m_attributes; a; a = a->a_next) {
            if (a->a_name) visit(context, index, a->a_name, a->a_value ? a->a_value : "");
        }
    }
    return 0;
}

int plenum_sdp_walk(const char *text, size_t length, plenum_sdp_visit visit, void *context, char *error, size_t error_capacity) {
    struct walk walk = { visit, context };
    return read_session(text, length, read_lines, &walk, error, error_capacity);
}
