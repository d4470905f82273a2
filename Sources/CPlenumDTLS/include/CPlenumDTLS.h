// DTLS 1.2 for DTLS-SRTP (RFC 5764) on OpenSSL with memory BIOs: sans-I/O, datagrams in and out.
// In C because OpenSSL's DTLS controls, key generation and BIO helpers are macros or variadic.
#ifndef PLENUM_DTLS_H
#define PLENUM_DTLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct plenum_dtls_context plenum_dtls_context;
typedef struct plenum_dtls plenum_dtls;

/// A context with an ECDSA P-256 certificate: loaded from PEM when given, otherwise generated (then
/// `plenum_dtls_context_pem` gives it for the caller to persist). `fingerprint` receives
/// "AB:CD:…" (SHA-256, RFC 8122), for a=fingerprint.
plenum_dtls_context *plenum_dtls_context_create(const char *certificate_pem, const char *key_pem, char *fingerprint,
                                                size_t fingerprint_capacity, char *error, size_t error_capacity);
void plenum_dtls_context_free(plenum_dtls_context *context);
/// The certificate (which 0) or the private key (which 1) as PEM; the caller frees it with free().
char *plenum_dtls_context_pem(plenum_dtls_context *context, int which);

/// A DTLS endpoint: server (passive, the bridge) or client (active; tests and load tools).
plenum_dtls *plenum_dtls_new(plenum_dtls_context *context, int is_server);
void plenum_dtls_free(plenum_dtls *dtls);

enum { PLENUM_DTLS_HANDSHAKING = 0, PLENUM_DTLS_CONNECTED = 1, PLENUM_DTLS_FAILED = -1 };

/// Starts the handshake (client) or does nothing (server); then check for datagrams to send.
int plenum_dtls_start(plenum_dtls *dtls);
/// A received DTLS datagram. Returns the state after it.
int plenum_dtls_receive(plenum_dtls *dtls, const uint8_t *data, size_t length);
/// The next datagram to send (everything pending), or 0 when there is none.
size_t plenum_dtls_next_datagram(plenum_dtls *dtls, uint8_t *out, size_t capacity);
/// Milliseconds until a retransmission is due (-1: no timer). Call plenum_dtls_on_timeout when it fires.
long plenum_dtls_timeout_ms(plenum_dtls *dtls);
int plenum_dtls_on_timeout(plenum_dtls *dtls);
/// The peer certificate's SHA-256 fingerprint ("AB:CD:…"); 0 on success.
int plenum_dtls_peer_fingerprint(plenum_dtls *dtls, char *out, size_t capacity);
/// After the handshake: the negotiated SRTP profile (RFC 5764 §4.1.2 id) and the keying material for
/// our sending and our receiving direction (master key || master salt each); returns the length of one.
int plenum_dtls_srtp_keys(plenum_dtls *dtls, uint16_t *profile, uint8_t *local, uint8_t *remote, size_t capacity);
/// A self-signed ECDSA certificate for HTTPS naming `hosts_csv` ("10.0.0.5,conf.example.org") in its
/// subjectAltName; both PEMs are malloc'd for the caller to free(). 0 on success.
int plenum_https_self_signed(const char *hosts_csv, char **certificate_pem, char **key_pem);
/// SHA-256 of `data` into 32 bytes; 0 on success.
int plenum_sha256(const uint8_t *data, size_t length, uint8_t *digest);
/// The digest named `name` ("SHA1", "SHA256", "SHA384", "SHA512") of `data` into `out` (64 bytes of
/// room); returns its length, or -1.
int plenum_digest(const char *name, const uint8_t *data, size_t length, uint8_t *out);
/// HMAC-SHA-256 (RFC 2104) into 32 bytes; 0 on success.
int plenum_hmac_sha256(const uint8_t *key, size_t key_length, const uint8_t *data, size_t length, uint8_t *mac);
/// 1 when `a` and `b` are equal, in time independent of their contents (OpenSSL's CRYPTO_memcmp): the
/// one comparison of secrets in Plenum (MACs, checksums, PINs, session handles). Only the lengths may
/// show in the time taken.
int plenum_secrets_equal(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length);
/// The last OpenSSL error, for logs.
const char *plenum_dtls_error(plenum_dtls *dtls);

#endif
