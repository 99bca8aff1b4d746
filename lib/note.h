/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * C2SP signed-note v1.0.0 with Ed25519 (key type 0x01), key texts identical
 * to Go's golang.org/x/mod/sumdb/note:
 *   verifier  name+hexid+base64(0x01||pubkey)
 *   signer    PRIVATE+KEY+name+hexid+base64(0x01||seed)
 * key id = first 4 bytes (big endian) of SHA-256(name || 0x0A || type || pubkey).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

#define RP_KEY_ED25519     0x01
#define RP_KEY_COSIGNATURE 0x04

struct rp_vkey {
	char name[RP_NOTE_NAME_MAX + 1];
	uint32_t id;
	uint8_t type;
	uint8_t pub[32];
};

struct rp_skey {
	char name[RP_NOTE_NAME_MAX + 1];
	uint32_t id;
	uint8_t seed[32];
	uint8_t sk[64]; /* libsodium's expanded secret key */
	uint8_t pub[32];
};

/* Longest decoded signature kept: 4-byte key id + 8-byte time + 64 bytes. */
#define RP_NOTE_SIG_BYTES_MAX 128

struct rp_note_sig {
	char name[RP_NOTE_NAME_MAX + 1];
	uint32_t id;
	uint8_t sig[RP_NOTE_SIG_BYTES_MAX]; /* after the 4-byte key id */
	size_t sig_len;
	const char *line; /* the whole line in note->msg, with its '\n' */
	size_t line_len;
};

struct rp_note {
	char *msg; /* the whole note, NUL-terminated copy */
	size_t msg_len;
	size_t text_len; /* text is msg[0..text_len), ends in '\n' */
	size_t nsigs;
	struct rp_note_sig sigs[RP_NOTE_SIGS_MAX];
};

bool rp_key_name_valid(const char *name, size_t n);
uint32_t rp_key_id(const char *name, size_t namelen, uint8_t type, const uint8_t pub[32]);

int rp_vkey_parse(const char *s, size_t n, struct rp_vkey *ret, struct rp_diag *d);
/* The same key: name, id, type and public key (not the struct's padding). */
bool rp_vkey_equal(const struct rp_vkey *a, const struct rp_vkey *b);
/* malloc'd text. */
char *rp_vkey_format(const struct rp_vkey *k);
int rp_skey_parse(const char *s, size_t n, struct rp_skey *ret, struct rp_diag *d);
char *rp_skey_format(const struct rp_skey *k);
int rp_skey_generate(const char *name, struct rp_skey *ret);
void rp_skey_vkey(const struct rp_skey *sk, struct rp_vkey *ret);
void rp_skey_wipe(struct rp_skey *k);

/* Parses the note's shape only; nothing is verified. */
int rp_note_parse(const char *msg, size_t n, struct rp_note **ret, struct rp_diag *d);
void rp_note_free(struct rp_note *note);

/*
 * Go's note.Open rules: a signature by a known key that does not verify is
 * an error (RP_E_BADSIG); signatures by unknown keys are ignored; repeated
 * signatures by one key count once. ret_ok[i] is set for every key i that
 * verified. RP_E_NOSIG when none did. Only Ed25519 (0x01) keys are used.
 */
int rp_note_verify(const struct rp_note *note, const struct rp_vkey *keys, size_t nkeys,
		   bool *ret_ok, struct rp_diag *d);

/* True when signature line s names key k (its name, key id and type 0x01). */
bool rp_note_sig_names(const struct rp_note_sig *s, const struct rp_vkey *k);
/* True when signature line i names key k and its signature verifies. */
bool rp_note_sig_valid(const struct rp_note *note, size_t i, const struct rp_vkey *k);

/* Returns a malloc'd signature line "— name base64\n" over text. */
char *rp_note_sign_line(const char *text, size_t len, const struct rp_skey *k);

/*
 * Signs text (which must be a valid note text) and returns the whole note;
 * when existing is non-NULL its signature lines are kept first.
 */
int rp_note_sign(const char *text, size_t len, const struct rp_note *existing,
		 const struct rp_skey *k, char **ret, size_t *ret_len);
/*
 * The same with any signer (lib/signer.h: a key file, an ssh-agent), whose
 * signature is verified before it goes into the note; d says what failed.
 */
struct rp_signer;
int rp_note_sign_by(const char *text, size_t len, const struct rp_note *existing,
		    const struct rp_signer *s, char **ret, size_t *ret_len, struct rp_diag *d);

/*
 * Returns the note with text a and the union of both notes' signature
 * lines (a's first, identical lines once). RP_E_INVAL if the texts differ.
 */
int rp_note_merge(const struct rp_note *a, const struct rp_note *b, char **ret, size_t *ret_len);
/* True when the text is acceptable as a note text. */
bool rp_note_text_valid(const char *text, size_t len, struct rp_diag *d);

/*
 * The note with only the signature lines i for which keep[i] (in their
 * order), malloc'd. RP_E_NOSIG when none is kept.
 */
int rp_note_keep(const struct rp_note *note, const bool keep[], char **ret, size_t *ret_len);
