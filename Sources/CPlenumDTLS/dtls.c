#include "CPlenumDTLS.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/srtp.h>
#include <openssl/x509v3.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <arpa/inet.h>

struct plenum_dtls_context {
    SSL_CTX *ctx;
    X509 *certificate;
    EVP_PKEY *key;
};

struct plenum_dtls {
    SSL *ssl;
    BIO *incoming;
    BIO *outgoing;
    int state;
    char error[160];
};

// Any certificate is accepted during the handshake: WebRTC authenticates the peer by the fingerprint
// signalled in SDP, checked by the caller right after (fail closed), not by a certificate authority.
static int accept_any_certificate(int preverify, X509_STORE_CTX *store) {
    (void)preverify;
    (void)store;
    return 1;
}

static void fingerprint_of(X509 *certificate, char *out, size_t capacity) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    out[0] = '\0';
    if (!X509_digest(certificate, EVP_sha256(), digest, &length)) return;
    size_t used = 0;
    for (unsigned int i = 0; i < length && used + 3 < capacity; i++)
        used += (size_t)snprintf(out + used, capacity - used, i ? ":%02X" : "%02X", digest[i]);
}

static int generate(plenum_dtls_context *context) {
    context->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!context->key) return 0;
    X509 *x = X509_new();
    if (!x) return 0;
    X509_set_version(x, 2);
    unsigned char serial[8];
    if (RAND_bytes(serial, sizeof serial) != 1) return 0;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
    X509_set_pubkey(x, context->key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Plenum", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, context->key, EVP_sha256())) {
        X509_free(x);
        return 0;
    }
    context->certificate = x;
    return 1;
}

plenum_dtls_context *plenum_dtls_context_create(const char *certificate_pem, const char *key_pem, char *fingerprint,
                                                size_t fingerprint_capacity, char *error, size_t error_capacity) {
    plenum_dtls_context *context = calloc(1, sizeof *context);
    if (!context) return NULL;
    if (certificate_pem && key_pem) {
        BIO *c = BIO_new_mem_buf(certificate_pem, -1), *k = BIO_new_mem_buf(key_pem, -1);
        context->certificate = c ? PEM_read_bio_X509(c, NULL, NULL, NULL) : NULL;
        context->key = k ? PEM_read_bio_PrivateKey(k, NULL, NULL, NULL) : NULL;
        BIO_free(c);
        BIO_free(k);
    } else if (!generate(context)) {
        context->certificate = NULL;
    }
    context->ctx = SSL_CTX_new(DTLS_method());
    if (!context->certificate || !context->key || !context->ctx ||
        SSL_CTX_use_certificate(context->ctx, context->certificate) != 1 ||
        SSL_CTX_use_PrivateKey(context->ctx, context->key) != 1 ||
        SSL_CTX_set_tlsext_use_srtp(context->ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0) {
        snprintf(error, error_capacity, "DTLS context: %s", ERR_reason_error_string(ERR_get_error()));
        plenum_dtls_context_free(context);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(context->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_verify(context->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
    SSL_CTX_set_options(context->ctx, SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_read_ahead(context->ctx, 1);
    fingerprint_of(context->certificate, fingerprint, fingerprint_capacity);
    return context;
}

void plenum_dtls_context_free(plenum_dtls_context *context) {
    if (!context) return;
    SSL_CTX_free(context->ctx);
    X509_free(context->certificate);
    EVP_PKEY_free(context->key);
    free(context);
}

char *plenum_dtls_context_pem(plenum_dtls_context *context, int which) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return NULL;
    int ok = which == 0 ? PEM_write_bio_X509(bio, context->certificate)
                        : PEM_write_bio_PrivateKey(bio, context->key, NULL, NULL, 0, NULL, NULL);
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    char *copy = ok && length > 0 ? malloc((size_t)length + 1) : NULL;
    if (copy) {
        memcpy(copy, data, (size_t)length);
        copy[length] = '\0';
    }
    BIO_free(bio);
    return copy;
}

plenum_dtls *plenum_dtls_new(plenum_dtls_context *context, int is_server) {
    plenum_dtls *dtls = calloc(1, sizeof *dtls);
    if (!dtls) return NULL;
    dtls->ssl = SSL_new(context->ctx);
    dtls->incoming = BIO_new(BIO_s_mem());
    dtls->outgoing = BIO_new(BIO_s_mem());
    if (!dtls->ssl || !dtls->incoming || !dtls->outgoing) {
        plenum_dtls_free(dtls);
        return NULL;
    }
    BIO_set_mem_eof_return(dtls->incoming, -1);
    BIO_set_mem_eof_return(dtls->outgoing, -1);
    SSL_set_bio(dtls->ssl, dtls->incoming, dtls->outgoing);
    SSL_set_mtu(dtls->ssl, 1200);
    DTLS_set_link_mtu(dtls->ssl, 1200);
    if (is_server)
        SSL_set_accept_state(dtls->ssl);
    else
        SSL_set_connect_state(dtls->ssl);
    return dtls;
}

void plenum_dtls_free(plenum_dtls *dtls) {
    if (!dtls) return;
    if (dtls->ssl)
        SSL_free(dtls->ssl);  // frees both BIOs
    else {
        BIO_free(dtls->incoming);
        BIO_free(dtls->outgoing);
    }
    free(dtls);
}

static int advance(plenum_dtls *dtls) {
    if (dtls->state != PLENUM_DTLS_HANDSHAKING) return dtls->state;
    int result = SSL_do_handshake(dtls->ssl);
    if (result == 1) {
        dtls->state = PLENUM_DTLS_CONNECTED;
    } else {
        int error = SSL_get_error(dtls->ssl, result);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
            unsigned long code = ERR_get_error();
            snprintf(dtls->error, sizeof dtls->error, "%s", code ? ERR_reason_error_string(code) : "handshake failed");
            dtls->state = PLENUM_DTLS_FAILED;
        }
    }
    ERR_clear_error();
    return dtls->state;
}

int plenum_dtls_start(plenum_dtls *dtls) { return advance(dtls); }

int plenum_dtls_receive(plenum_dtls *dtls, const uint8_t *data, size_t length) {
    if (length == 0 || length > 65535 || BIO_write(dtls->incoming, data, (int)length) <= 0) return dtls->state;
    if (dtls->state == PLENUM_DTLS_CONNECTED) {
        // Application data is not used by DTLS-SRTP; read to process alerts (close_notify).
        unsigned char sink[2048];
        int n = SSL_read(dtls->ssl, sink, sizeof sink);
        if (n <= 0 && SSL_get_error(dtls->ssl, n) == SSL_ERROR_ZERO_RETURN) dtls->state = PLENUM_DTLS_FAILED;
        ERR_clear_error();
        return dtls->state;
    }
    return advance(dtls);
}

size_t plenum_dtls_next_datagram(plenum_dtls *dtls, uint8_t *out, size_t capacity) {
    size_t pending = BIO_ctrl_pending(dtls->outgoing);
    if (pending == 0 || pending > capacity) return 0;
    int n = BIO_read(dtls->outgoing, out, (int)pending);
    return n > 0 ? (size_t)n : 0;
}

long plenum_dtls_timeout_ms(plenum_dtls *dtls) {
    struct timeval tv;
    if (DTLSv1_get_timeout(dtls->ssl, &tv) != 1) return -1;
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int plenum_dtls_on_timeout(plenum_dtls *dtls) {
    DTLSv1_handle_timeout(dtls->ssl);
    return advance(dtls);
}

int plenum_dtls_peer_fingerprint(plenum_dtls *dtls, char *out, size_t capacity) {
    X509 *peer = SSL_get1_peer_certificate(dtls->ssl);
    if (!peer) return -1;
    fingerprint_of(peer, out, capacity);
    X509_free(peer);
    return out[0] ? 0 : -1;
}

int plenum_dtls_srtp_keys(plenum_dtls *dtls, uint16_t *profile, uint8_t *local, uint8_t *remote, size_t capacity) {
    SRTP_PROTECTION_PROFILE *selected = SSL_get_selected_srtp_profile(dtls->ssl);
    if (!selected || dtls->state != PLENUM_DTLS_CONNECTED) return -1;
    size_t key = 16, salt;
    if (selected->id == SRTP_AEAD_AES_128_GCM)
        salt = 12;
    else if (selected->id == SRTP_AES128_CM_SHA1_80)
        salt = 14;
    else
        return -1;
    if (key + salt > capacity) return -1;
    // RFC 5764 §4.2: client key, server key, client salt, server salt.
    unsigned char material[2 * (16 + 14)];
    if (SSL_export_keying_material(dtls->ssl, material, 2 * (key + salt), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
        return -1;
    const unsigned char *client_key = material, *server_key = material + key;
    const unsigned char *client_salt = material + 2 * key, *server_salt = material + 2 * key + salt;
    int is_server = SSL_is_server(dtls->ssl);
    memcpy(local, is_server ? server_key : client_key, key);
    memcpy(local + key, is_server ? server_salt : client_salt, salt);
    memcpy(remote, is_server ? client_key : server_key, key);
    memcpy(remote + key, is_server ? client_salt : server_salt, salt);
    *profile = (uint16_t)selected->id;
    OPENSSL_cleanse(material, sizeof material);
    return (int)(key + salt);
}

const char *plenum_dtls_error(plenum_dtls *dtls) { return dtls->error; }

// A self-signed certificate for the HTTPS server (issue 5) when none is configured: ECDSA P-256,
// subjectAltName with every host (IP: for addresses, DNS: otherwise; RFC 5280 §4.2.1.6), a year.
// Browsers still warn about it; the operator accepts it once or, better, configures a real one.
int plenum_https_self_signed(const char *hosts_csv, char **certificate_pem, char **key_pem) {
    *certificate_pem = NULL;
    *key_pem = NULL;
    plenum_dtls_context scratch = {0};
    if (!generate(&scratch)) return -1;
    X509 *x = scratch.certificate;
    // Rebuild the name and the extensions for the hosts.
    char san[1024] = "";
    char first[256] = "Plenum";
    size_t used = 0;
    const char *cursor = hosts_csv;
    int index = 0;
    while (cursor && *cursor) {
        const char *comma = strchr(cursor, ',');
        size_t length = comma ? (size_t)(comma - cursor) : strlen(cursor);
        if (length > 0 && length < 200) {
            char host[256];
            memcpy(host, cursor, length);
            host[length] = '\0';
            unsigned char probe[16];
            int is_ip = inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1;
            int n = snprintf(san + used, sizeof san - used, "%s%s:%s", used ? "," : "", is_ip ? "IP" : "DNS", host);
            if (n < 0 || (size_t)n >= sizeof san - used) break;
            used += (size_t)n;
            if (index++ == 0) snprintf(first, sizeof first, "%s", host);
        }
        cursor = comma ? comma + 1 : NULL;
    }
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)first, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Plenum (self-signed)", -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_NAME_free(name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    int ok = 1;
    if (used) {
        X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        ok = extension && X509_add_ext(x, extension, -1);
        X509_EXTENSION_free(extension);
    }
    X509_EXTENSION *usage = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "serverAuth");
    ok = ok && usage && X509_add_ext(x, usage, -1);
    X509_EXTENSION_free(usage);
    ok = ok && X509_sign(x, scratch.key, EVP_sha256());
    if (ok) {
        *certificate_pem = plenum_dtls_context_pem(&scratch, 0);
        *key_pem = plenum_dtls_context_pem(&scratch, 1);
    }
    X509_free(scratch.certificate);
    EVP_PKEY_free(scratch.key);
    return ok && *certificate_pem && *key_pem ? 0 : -1;
}

int plenum_sha256(const uint8_t *data, size_t length, uint8_t *digest) {
    return SHA256(data, length, digest) ? 0 : -1;
}

int plenum_hmac_sha256(const uint8_t *key, size_t key_length, const uint8_t *data, size_t length, uint8_t *mac) {
    unsigned int out = 0;
    return HMAC(EVP_sha256(), key, (int)key_length, data, length, mac, &out) && out == 32 ? 0 : -1;
}

int plenum_secrets_equal(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length) {
    return a_length == b_length && CRYPTO_memcmp(a, b, a_length) == 0;
}

int plenum_digest(const char *name, const uint8_t *data, size_t length, uint8_t *out) {
    const EVP_MD *md = EVP_get_digestbyname(name);
    unsigned int written = 0;
    if (!md || EVP_MD_get_size(md) > 64) return -1;
    return EVP_Digest(data, length, out, &written, md, NULL) ? (int)written : -1;
}
