/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_err.h"

void rp_diagf(struct rp_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

void rp_quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0, i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			/* Doubled, so that a literal "\x0a" cannot pass for an escaped byte. */
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < n && outlen > 4) {
		/* Truncated: "..." right after what was written, inside out. */
		if (o > outlen - 4)
			o = outlen - 4;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void rp_sb_init(struct rp_sb *sb, size_t max)
{
	memset(sb, 0, sizeof(*sb));
	sb->max = max;
}

void rp_sb_release(struct rp_sb *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

static bool sb_reserve(struct rp_sb *sb, size_t more)
{
	size_t need;
	char *p;

	if (sb->err)
		return false;
	if (more > sb->max || sb->len > sb->max - more) {
		sb->err = RP_E_TOOBIG;
		return false;
	}
	need = sb->len + more + 1;
	if (need <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	/* Never more than the maximum allows: a body at its cap costs its cap, not twice. */
	if (cap > sb->max + 1)
		cap = sb->max + 1;
	p = realloc(sb->s, cap);
	if (!p) {
		sb->err = RP_E_NOMEM;
		return false;
	}
	sb->s = p;
	sb->cap = cap;
	return true;
}

void rp_sb_put(struct rp_sb *sb, const void *p, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	if (n)
		memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void rp_sb_puts(struct rp_sb *sb, const char *s)
{
	rp_sb_put(sb, s, strlen(s));
}

void rp_sb_shell_word(struct rp_sb *sb, const char *s)
{
	rp_sb_puts(sb, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			rp_sb_puts(sb, "'\\''");
		else
			rp_sb_put(sb, p, 1);
	}
	rp_sb_puts(sb, "'");
}

void rp_sb_printf(struct rp_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->err = RP_E_INVAL;
		return;
	}
	if (!sb_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *rp_sb_take(struct rp_sb *sb, size_t *ret_len)
{
	char *s;

	if (sb->err) {
		rp_sb_release(sb);
		return NULL;
	}
	if (!sb->s) {
		if (!sb_reserve(sb, 0))
			return NULL;
		sb->s[0] = '\0'; /* nothing was put: still a string */
	}
	s = sb->s;
	if (ret_len)
		*ret_len = sb->len;
	memset(sb, 0, sizeof(*sb));
	return s;
}

int rp_cursor_line(struct rp_cursor *c, const char **ret_line, size_t *ret_len)
{
	const char *nl;

	if (c->n == 0)
		return 0;
	nl = memchr(c->p, '\n', c->n);
	if (!nl)
		return -1;
	*ret_line = c->p;
	*ret_len = (size_t)(nl - c->p);
	c->n -= *ret_len + 1;
	c->p = nl + 1;
	return 1;
}

bool rp_split_word(const char *line, size_t len, const char **ret_word, size_t *ret_wlen,
		   const char **ret_rest, size_t *ret_rlen)
{
	const char *sp = memchr(line, ' ', len);

	if (!sp)
		return false;
	*ret_word = line;
	*ret_wlen = (size_t)(sp - line);
	*ret_rest = sp + 1;
	*ret_rlen = len - *ret_wlen - 1;
	return true;
}

bool rp_memeq(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);
	return alen == n && memcmp(a, lit, n) == 0;
}

int rp_expect_field(struct rp_cursor *c, const char *what, const char *name, const char **ret_val,
		    size_t *ret_vlen, struct rp_diag *d)
{
	const char *line, *w;
	size_t len, wlen;
	char q[64];

	if (rp_cursor_line(c, &line, &len) != 1) {
		rp_diagf(d, "%s: missing field `%s'", what, name);
		return RP_E_MALFORMED;
	}
	if (!rp_split_word(line, len, &w, &wlen, ret_val, ret_vlen) || !rp_memeq(w, wlen, name)) {
		rp_quote(q, sizeof(q), line, len);
		rp_diagf(d, "%s: expected field `%s', found `%s'", what, name, q);
		return RP_E_MALFORMED;
	}
	return 0;
}

int rp_percent_encode(const char *s, bool (*plain)(unsigned char c, size_t i), char *out,
		      size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (k + 3 >= cap) {
			if (cap)
				out[0] = '\0';
			return -1;
		}
		if (plain(c, i)) {
			out[k++] = (char)c;
		} else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	if (k >= cap)
		return -1;
	out[k] = '\0';
	return (int)k;
}

int rp_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
	if (hexlen != 2 * outlen)
		return RP_E_MALFORMED;
	for (size_t i = 0; i < hexlen; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return RP_E_MALFORMED; /* lowercase only: one spelling */
	}
	if (sodium_hex2bin(out, outlen, hex, hexlen, NULL, NULL, NULL) != 0)
		return RP_E_MALFORMED;
	return 0;
}

void rp_hex_encode(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int rp_b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax, size_t *ret_len)
{
	size_t len = 0;
	const char *end = NULL;

	if (n % 4 != 0)
		return RP_E_MALFORMED;
	if (sodium_base642bin(out, outmax, s, n, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n)
		return RP_E_MALFORMED;
	/* Reject non-canonical encodings: re-encode and compare. */
	char *re = rp_b64_encode(out, len);
	if (!re)
		return RP_E_NOMEM;
	bool same = strlen(re) == n && memcmp(re, s, n) == 0;
	free(re);
	if (!same)
		return RP_E_MALFORMED;
	*ret_len = len;
	return 0;
}

char *rp_b64_encode(const uint8_t *in, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (!s)
		return NULL;
	sodium_bin2base64(s, len, in, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int rp_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return RP_E_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RP_E_MALFORMED;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return RP_E_MALFORMED;
		v = v * 10 + d;
	}
	if (v > max)
		return RP_E_MALFORMED;
	*ret = v;
	return 0;
}

static int days_from_civil(int64_t y, unsigned m, unsigned d, int64_t *ret)
{
	/* Howard Hinnant's algorithm: proleptic Gregorian, no timezone. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*ret = era * 146097 + (int64_t)doe - 719468;
	return 0;
}

int rp_time_parse(const char *s, size_t n, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	unsigned v[6];
	int64_t days;

	if (n != sizeof(shape) - 1)
		return RP_E_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return RP_E_MALFORMED;
	}
#define D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0'))
	v[0] = D2(0) * 100 + D2(2);
	v[1] = D2(5);
	v[2] = D2(8);
	v[3] = D2(11);
	v[4] = D2(14);
	v[5] = D2(17);
#undef D2
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] ||
	    v[3] > 23 || v[4] > 59 || v[5] > 59)
		return RP_E_MALFORMED;
	bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
	if (v[1] == 2 && v[2] == 29 && !leap)
		return RP_E_MALFORMED;
	days_from_civil(v[0], v[1], v[2], &days);
	*ret = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
	return 0;
}

void rp_time_format(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t rp_now(void)
{
	return (int64_t)time(NULL);
}

int64_t rp_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rp_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void rp_sha256(const void *p, size_t n, uint8_t out[32])
{
	crypto_hash_sha256(out, p, n);
}

void rp_sha256_text(const void *p, size_t n, char out[72])
{
	uint8_t h[32];

	rp_sha256(p, n, h);
	memcpy(out, "sha256:", 7);
	rp_hex_encode(h, 32, out + 7);
}

int rp_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return rp_read_file_flags(path, max, 0, ret, ret_len, NULL);
}

/* The checks of flags, on what fd is: the file that will be read. */
static int file_check(const char *path, const struct stat *st, unsigned flags, struct rp_diag *d)
{
	if (!S_ISREG(st->st_mode)) {
		rp_diagf(d, "%s is not a regular file", path);
		return RP_E_UNSAFE;
	}
	if (!(flags & RP_FILE_PRIVATE))
		return 0;
	if (st->st_uid != geteuid()) {
		rp_diagf(d, "%s belongs to uid %u, not to this process (uid %u)", path,
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return RP_E_UNSAFE;
	}
	if (st->st_mode & 077) {
		rp_diagf(d, "%s is open to others (mode %03o); chmod 600 it", path,
			 (unsigned)(st->st_mode & 0777));
		return RP_E_UNSAFE;
	}
	return 0;
}

int rp_read_file_flags(const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len,
		       struct rp_diag *d)
{
	return rp_read_file_at(AT_FDCWD, path, max, flags, ret, ret_len, NULL, d);
}

int rp_read_file_at(int dfd, const char *path, size_t max, unsigned flags, char **ret,
		    size_t *ret_len, struct stat *ret_st, struct rp_diag *d)
{
	int oflags = O_RDONLY | O_CLOEXEC, fd, r;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	if (flags & RP_FILE_PRIVATE)
		flags |= RP_FILE_NOFOLLOW;
	if (flags & RP_FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW | O_NONBLOCK;
	fd = openat(dfd, path, oflags);
	if (fd < 0) {
		if (errno == ELOOP && (flags & RP_FILE_NOFOLLOW)) {
			rp_diagf(d, "%s is a symbolic link", path);
			return RP_E_UNSAFE;
		}
		rp_diagf(d, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? RP_E_NOTFOUND : RP_E_IO;
	}
	if (fstat(fd, &st) != 0) {
		rp_diagf(d, "%s: %s", path, strerror(errno));
		r = RP_E_IO;
		goto out;
	}
	if (flags && (r = file_check(path, &st, flags, d)) < 0)
		goto out;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rp_diagf(d, "%s is %llu bytes, more than %zu", path, (unsigned long long)st.st_size,
			 max);
		r = RP_E_TOOBIG;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		rp_diagf(d, "%s: out of memory", path);
		r = RP_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, buf + len, max + 1 - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rp_diagf(d, "%s: %s", path, strerror(errno));
			r = RP_E_IO;
			goto out;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max) {
			rp_diagf(d, "%s is more than %zu bytes", path, max);
			r = RP_E_TOOBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	if (ret_st)
		*ret_st = st;
	buf = NULL;
	r = 0;
out:
	if (buf)
		sodium_memzero(buf, len); /* it may hold part of a key */
	free(buf);
	close(fd);
	return r;
}

/*
 * Opens path's directory and returns its last component in base. The
 * temporary file, the rename and the fsync all go through this one
 * descriptor, so they concern one directory even if its path is swapped.
 */
static int dir_open(const char *path, char base[NAME_MAX + 1], int *ret_dfd)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *b = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0, blen = strlen(b);
	int dfd;

	if (blen == 0 || blen > NAME_MAX || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) {
		errno = EINVAL;
		return RP_E_INVAL;
	}
	if (dlen >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return RP_E_TOOBIG;
	}
	if (!slash)
		memcpy(dir, ".", 2);
	else if (dlen == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return RP_E_IO;
	memcpy(base, b, blen + 1);
	*ret_dfd = dfd;
	return 0;
}

int rp_file_create_at(int dfd, const char *name, const void *p, size_t n, int mode, long uid,
		      long gid)
{
	const char *c = p;
	int fd, e;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? RP_E_EXISTS : RP_E_IO;
	if ((uid >= 0 || gid >= 0) && fchown(fd, (uid_t)uid, (gid_t)gid) != 0)
		goto fail;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		c += k;
		n -= (size_t)k;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, name, 0);
	errno = e;
	return RP_E_IO;
}

/*
 * Writes a whole new file in dfd under a unique name (returned in tmp),
 * mode exactly mode, fsynced. On failure nothing is left behind.
 */
static int temp_write(int dfd, const char *base, const void *p, size_t n, int mode,
		      char tmp[NAME_MAX + 1])
{
	/* Unpredictable and fresh: O_EXCL refuses anything already there. */
	for (int tries = 0; tries < 8; tries++) {
		char rnd[17];
		int r;

		rp_random_hex(rnd, 8);
		snprintf(tmp, NAME_MAX + 1, ".%.200s.%s.tmp", base, rnd);
		if ((r = rp_file_create_at(dfd, tmp, p, n, mode, -1, -1)) != RP_E_EXISTS)
			return r;
	}
	return RP_E_IO;
}

static int write_file(const char *path, const void *p, size_t n, int mode, bool replace)
{
	char base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	int dfd = -1, r, e;

	if ((r = dir_open(path, base, &dfd)) < 0)
		return r;
	if ((r = temp_write(dfd, base, p, n, mode, tmp)) < 0)
		goto out;
	if (replace) {
		if (renameat(dfd, tmp, dfd, base) != 0) {
			r = RP_E_IO;
			goto unlink;
		}
	} else {
		/* link() publishes the whole file, and only where nothing is. */
		if (linkat(dfd, tmp, dfd, base, 0) != 0) {
			r = errno == EEXIST ? RP_E_EXISTS : RP_E_IO;
			goto unlink;
		}
		unlinkat(dfd, tmp, 0);
	}
	r = fsync(dfd) != 0 ? RP_E_IO : 0;
	goto out;
unlink:
	e = errno;
	unlinkat(dfd, tmp, 0);
	errno = e;
out:
	e = errno;
	close(dfd);
	errno = e;
	return r;
}

int rp_write_file_atomic(const char *path, const void *p, size_t n, int mode)
{
	return write_file(path, p, n, mode, true);
}

int rp_write_file_new(const char *path, const void *p, size_t n, int mode)
{
	return write_file(path, p, n, mode, false);
}

/*
 * Cuts what follows the last '\n' of the first *end bytes of fd (a line a
 * crash left half written), so that an append starts a line of its own.
 */
static int cut_torn_tail(int fd, off_t *end)
{
	char buf[4096];
	off_t pos = *end;

	if (pos == 0)
		return 0;
	if (pread(fd, buf, 1, pos - 1) != 1)
		return RP_E_IO;
	if (buf[0] == '\n')
		return 0;
	while (pos > 0) {
		size_t k = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		if (pread(fd, buf, k, pos - (off_t)k) != (ssize_t)k)
			return RP_E_IO;
		for (size_t i = k; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				pos = pos - (off_t)k + (off_t)i;
				goto found;
			}
		}
		pos -= (off_t)k;
	}
found:
	if (ftruncate(fd, pos) != 0)
		return RP_E_IO;
	*end = pos;
	return 0;
}

int rp_append_line(const char *path, const char *line, size_t n, int mode, uint64_t *ret_size)
{
	struct stat st;
	off_t end;
	int fd, r = RP_E_IO;

	if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		return RP_E_INVAL;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return RP_E_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	end = st.st_size;
	if ((r = cut_torn_tail(fd, &end)) < 0)
		goto out;
	r = RP_E_IO;
	for (size_t off = 0; off < n;) {
		ssize_t k = write(fd, line + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		off += (size_t)k;
	}
	if (fsync(fd) != 0)
		goto out;
	if (ret_size)
		*ret_size = (uint64_t)end + n;
	r = 0;
out:
	close(fd);
	return r;
}

void rp_random_hex(char *out, size_t nbytes)
{
	uint8_t b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	randombytes_buf(b, nbytes);
	rp_hex_encode(b, nbytes, out);
}

int rp_pin_parse_n(const char *text, size_t n, uint8_t ret[32], struct rp_diag *d)
{
	uint8_t pin[32];

	if (n != 71 || strncmp(text, "sha256:", 7) != 0 ||
	    rp_hex_decode(text + 7, 64, pin, 32) != 0) {
		char q[80];
		rp_quote(q, sizeof(q), text, n);
		rp_diagf(d, "pin `%s' is not sha256:<64 lowercase hex>", q);
		return RP_E_INVAL;
	}
	memcpy(ret, pin, 32);
	return 0;
}

int rp_pin_parse(const char *text, uint8_t ret[32], struct rp_diag *d)
{
	return rp_pin_parse_n(text, strlen(text), ret, d);
}

void rp_prom_label(struct rp_sb *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			rp_sb_printf(sb, "\\%c", *v);
		else if (*v == '\n')
			rp_sb_puts(sb, "\\n");
		else if ((unsigned char)*v >= 0x20 && *v != 0x7f)
			rp_sb_put(sb, v, 1);
	}
}

bool rp_log_to_journal(void)
{
	static int cached = -1;
	const char *js, *colon;
	uint64_t dev, ino;
	struct stat st;

	if (cached < 0) {
		js = getenv("JOURNAL_STREAM");
		colon = js ? strchr(js, ':') : NULL;
		cached = colon && rp_parse_u64(js, (size_t)(colon - js), UINT64_MAX, &dev) == 0 &&
			 rp_parse_u64(colon + 1, strlen(colon + 1), UINT64_MAX, &ino) == 0 &&
			 fstat(2, &st) == 0 && (uint64_t)st.st_dev == dev &&
			 (uint64_t)st.st_ino == ino;
	}
	return cached;
}

const char *rp_log_prio(int prio)
{
	static const char p[8][4] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};

	return rp_log_to_journal() && prio >= 0 && prio < 8 ? p[prio] : "";
}
