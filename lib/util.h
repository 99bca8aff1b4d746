/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * A diagnostic that says what was rejected and why. Parsers fill it in
 * (when non-NULL) next to returning an RP_E_* code.
 */
struct rp_diag {
	char msg[256];
};
void rp_diagf(struct rp_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Quote at most n bytes of untrusted text into out: printable ASCII as it
 * is, a backslash doubled, every other byte (controls, ESC, DEL, each byte
 * of a UTF-8 character such as a bidi override) as \xHH. The result is one
 * line with no control byte that reads back unambiguously; cut with "..."
 * when out is too small. The one escaping function for untrusted text in
 * diagnostics and logs (the agent's alerts.log and stderr use it).
 */
void rp_quote(char *out, size_t outlen, const char *s, size_t n);

/*
 * A growable string with a hard maximum. Any failure (allocation or the
 * maximum) is sticky in ->err, so callers check once at the end.
 */
struct rp_sb {
	char *s;
	size_t len, cap, max;
	int err;
};
void rp_sb_init(struct rp_sb *sb, size_t max);
void rp_sb_release(struct rp_sb *sb);
void rp_sb_put(struct rp_sb *sb, const void *p, size_t n);
void rp_sb_puts(struct rp_sb *sb, const char *s);
/* s as one single-quoted POSIX shell word (each ' written '\'', the rest as it is). */
void rp_sb_shell_word(struct rp_sb *sb, const char *s);
void rp_sb_printf(struct rp_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A Prometheus label value: \\, " and newline escaped, other control bytes dropped. */
void rp_prom_label(struct rp_sb *sb, const char *v);
/* Hands the NUL-terminated string to the caller; returns NULL on error. */
char *rp_sb_take(struct rp_sb *sb, size_t *ret_len);

/* Line cursor over (pointer, length); every line must end in '\n'. */
struct rp_cursor {
	const char *p;
	size_t n;
};
/* Returns 1 and the line without its '\n', 0 at the end, -1 if unterminated. */
int rp_cursor_line(struct rp_cursor *c, const char **ret_line, size_t *ret_len);

/* Splits "key rest" at the first space. Returns false when there is none. */
bool rp_split_word(const char *line, size_t len, const char **ret_word, size_t *ret_wlen,
		   const char **ret_rest, size_t *ret_rlen);
bool rp_memeq(const char *a, size_t alen, const char *lit);
/*
 * The next line must be "<name> <value>": returns 0 and the value, or
 * RP_E_MALFORMED with a diagnostic "<what>: missing field `name'" or
 * "<what>: expected field `name', found `<line>'".
 */
int rp_expect_field(struct rp_cursor *c, const char *what, const char *name, const char **ret_val,
		    size_t *ret_vlen, struct rp_diag *d);

int rp_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);
/*
 * s percent-encoded into out (NUL-terminated): every byte for which
 * plain(byte, its index) is false becomes %XX (upper-case hex). The length
 * written, or -1 when it does not fit in cap (out is then "").
 */
int rp_percent_encode(const char *s, bool (*plain)(unsigned char c, size_t i), char *out,
		      size_t cap);
void rp_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);
/* Strict standard base64 with padding; returns decoded length or < 0. */
int rp_b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax, size_t *ret_len);
/* Returns a malloc'd NUL-terminated string. */
char *rp_b64_encode(const uint8_t *in, size_t n);

/* Decimal unsigned integer, no sign, no leading zeros (but "0"). */
int rp_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *ret);

/* RFC 3339 in the one form Rampart writes: YYYY-MM-DDTHH:MM:SSZ. */
int rp_time_parse(const char *s, size_t n, int64_t *ret);
void rp_time_format(int64_t t, char out[21]);
int64_t rp_now(void);
/* Milliseconds of CLOCK_MONOTONIC, for deadlines; a sleep that EINTR does not cut short. */
int64_t rp_mono_ms(void);
void rp_sleep_ms(long ms);

/* SHA-256 through libsodium. */
void rp_sha256(const void *p, size_t n, uint8_t out[32]);
/* "sha256:<hex>" form, out holds 72 bytes. */
void rp_sha256_text(const void *p, size_t n, char out[72]);

/*
 * Files. Every check is made on the open file descriptor, never on the
 * path before opening it: a check on a path says nothing about the file
 * a later open() gets, when someone can swap it in between.
 *
 * rp_read_file reads at most max bytes (RP_E_TOOBIG beyond) and follows
 * symbolic links: it is for paths a person names (a --script FILE, a
 * policy to sign, /etc/os-release, which is a link on Debian) and for
 * files in the CLI's config directory, which belongs to the user who runs
 * it (dotfile managers link those). Anything readable may be read: a
 * pipe, /dev/stdin.
 */
int rp_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * What rp_read_file_flags refuses, with RP_E_UNSAFE and a diagnostic:
 * RP_FILE_NOFOLLOW: a symbolic link as the last component, and anything
 *   but a regular file (opened O_NONBLOCK, so a FIFO planted there cannot
 *   block the reader). For a daemon's own state, in a directory only it
 *   writes: it never makes links there, so a link is someone else's.
 *   The agent's state files use it.
 * RP_FILE_PRIVATE: RP_FILE_NOFOLLOW, and a file not owned by this
 *   process's effective uid or open to its group or others (any of the
 *   077 mode bits). For secret keys: rampart-witness's witness.key and
 *   the agent's device.key.
 */
#define RP_FILE_NOFOLLOW 0x1u
#define RP_FILE_PRIVATE  0x2u
/*
 * rp_read_file with the checks of flags made on the opened file. d (may be
 * NULL) says what was wrong, naming path; every failure fills it.
 */
int rp_read_file_flags(const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len,
		       struct rp_diag *d);
/*
 * The same, for path relative to the directory dfd (AT_FDCWD: as
 * rp_read_file_flags), with the opened file's stat in *ret_st (may be
 * NULL): for a tree walked by directory descriptors (agent/converge.c).
 */
struct stat;
int rp_read_file_at(int dfd, const char *path, size_t max, unsigned flags, char **ret,
		    size_t *ret_len, struct stat *ret_st, struct rp_diag *d);

/*
 * Replaces path with the n bytes at p, mode exactly mode (umask ignored),
 * so that a reader or a crash sees the old content or the new, never a
 * mix: writes a new file under a unique random name in path's directory
 * (O_CREAT|O_EXCL|O_NOFOLLOW, so nothing planted there is followed or
 * reused), fsyncs it, renames it over path, fsyncs the directory. Two
 * writers at once each write their own temporary file, and the last
 * rename wins. A symbolic link at path is replaced, never followed. On
 * failure the temporary file is removed and errno says why (RP_E_IO); if
 * only the directory's fsync failed, path may already hold the new bytes.
 * A crash between the create and the rename leaves a `.<name>.<hex>.tmp'
 * file behind, which nothing reads.
 */
int rp_write_file_atomic(const char *path, const void *p, size_t n, int mode);
/*
 * The same, but never replaces anything: RP_E_EXISTS if path exists (a
 * dangling link included). The file appears whole or not at all. For
 * files that must be created once, like a secret key.
 */
int rp_write_file_new(const char *path, const void *p, size_t n, int mode);
/*
 * A new file name in the directory dfd (never an existing one, never
 * through a link: O_EXCL, O_NOFOLLOW) holding the n bytes at p, mode
 * exactly mode, owned by uid:gid (-1 and -1: the caller's), fsynced and
 * closed; RP_E_EXISTS if name exists, else RP_E_IO with errno, and nothing
 * left behind. The building block of the functions above, for a caller
 * that renames it itself (agent/converge.c: /etc/passwd+).
 */
int rp_file_create_at(int dfd, const char *name, const void *p, size_t n, int mode, long uid,
		      long gid);

/*
 * Appends one line (n bytes, ending in its only '\n') to path, created with
 * mode, and fsyncs it. A line a crash left half written at the end of the
 * file (no '\n') is cut first, so the new line never glues onto it and is
 * never lost with it. *ret_size (may be NULL): the file's size after.
 * RP_E_INVAL for a line that is not one line; symlinks are not followed.
 */
int rp_append_line(const char *path, const char *line, size_t n, int mode, uint64_t *ret_size);

/* Random hex identifier of nbytes bytes (2*nbytes chars + NUL). */
void rp_random_hex(char *out, size_t nbytes);

/*
 * A server key pin, "sha256:<64 lowercase hex>" (SHA-256 of the key's
 * SubjectPublicKeyInfo): RP_E_INVAL with d naming the text otherwise.
 */
int rp_pin_parse(const char *text, uint8_t ret[32], struct rp_diag *d);
int rp_pin_parse_n(const char *text, size_t n, uint8_t ret[32], struct rp_diag *d);

/*
 * The daemons' log lines under journald: true when stderr is the
 * journal's stream (systemd.exec(5): JOURNAL_STREAM=<dev>:<ino> of fd 2),
 * and then rp_log_prio(p) is the sd-daemon(3) prefix "<p>" that gives the
 * line its priority (a syslog LOG_* level); "" otherwise, where a
 * prefix would only be noise. Lines without one are info
 * (SyslogLevel=info).
 */
bool rp_log_to_journal(void);
const char *rp_log_prio(int prio);
