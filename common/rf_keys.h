/* rf_keys.h -- the fleet's key hierarchy and PSK identities (pure: no uv,
 * no sockets; OpenSSL's HKDF).
 *
 *   fleet master (32 random bytes, replayd only)
 *     -> role key  = HKDF-SHA256(master, info = "replayfleet v2 ROLE/ID")
 *        (one per agent and per replayctl user; the agent's --key-file)
 *     -> pair key  = HKDF-SHA256(intercept key, info = "replayfleet v2 pair/COPYID")
 *        (copy agent COPYID -> that intercept; the controller sends it to the
 *        copy agent in the Assignment, the intercept derives it itself)
 *
 * A TLS 1.3 PSK identity is "ROLE/ID": the server derives the key for the
 * claimed identity, so an id can only be used by the holder of its key. */
#ifndef RF_KEYS_H
#define RF_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define RF_KEY_LEN      32
#define RF_ID_MAXLEN    63                   /* agent ids (RD_ID_MAX - 1) */
#define RF_IDENT_MAXLEN (10 + RF_ID_MAXLEN)  /* "intercept/" + id */

typedef enum { RF_KROLE_NONE = 0, RF_KROLE_COPY, RF_KROLE_INTERCEPT, RF_KROLE_ADMIN } rf_krole_t;

/* "copy" | "intercept" | "admin" <-> rf_krole_t; NONE / NULL when unknown. */
rf_krole_t  rf_krole_parse(const char *s);
const char *rf_krole_name(rf_krole_t r);

/* An id is 1..63 bytes of [A-Za-z0-9._-] (no '/', no control bytes: it is
 * logged and used in file and identity names). 1 = valid. */
int rf_id_valid(const char *id, size_t len);

/* "ROLE/ID" -> role and id (NUL-terminated into id[RF_ID_MAXLEN + 1]).
 * `len` bytes of `s`, not NUL-terminated (it comes off the wire).
 * 0, or RF_EPARSE for any other shape. */
int rf_ident_parse(const char *s, size_t len, rf_krole_t *role, char *id);
/* "ROLE/ID" into out (>= RF_IDENT_MAXLEN + 1). RF_EPARSE on a bad id. */
int rf_ident_format(char *out, size_t outlen, rf_krole_t role, const char *id);

/* HKDF-SHA256(ikm, salt = none, info = "replayfleet v2 " label) -> 32 bytes.
 * 0 or -1 (OpenSSL failure). */
int rf_key_derive(uint8_t out[RF_KEY_LEN], const uint8_t *ikm, size_t ikm_len, const char *label);
/* The role key of ROLE/ID under the fleet master. */
int rf_key_role(uint8_t out[RF_KEY_LEN], const uint8_t *master, size_t master_len,
                rf_krole_t role, const char *id);
/* The copy->intercept pair key from the intercept's own key. */
int rf_key_pair(uint8_t out[RF_KEY_LEN], const uint8_t *icpt_key, size_t icpt_key_len,
                const char *copy_id);

/* Lower-case hex. out has 2 * n + 1 bytes. */
void rf_hex_encode(char *out, const uint8_t *in, size_t n);
/* Exactly 2 * n hex digits -> n bytes. 0 or RF_EPARSE. */
int  rf_hex_decode(uint8_t *out, size_t n, const char *in, size_t inlen);

#endif
