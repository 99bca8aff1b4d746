/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state files under a server that repeats itself or writes
 * hostile text (agent/state.c, agent/alert.c): the executed record stays
 * bounded, loads whatever its size, survives a torn last line; alerts.log
 * is one escaped line per alert, rate-limited per statement and, under a
 * flood of new ids, per code, and rotated; security.log keeps the alerts
 * about the log and the root of trust through any flood. Each test runs
 * on a fresh state directory in /tmp.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "state.h"

static char dir[64];

static char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_text(const char *name, const char *text, size_t n)
{
	FILE *f = fopen(path_of(name), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *name, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	if (rp_read_file(path_of(name), 256u << 20, &buf, &len) != 0)
		return NULL;
	if (ret_len)
		*ret_len = len;
	return buf;
}

static size_t count_lines(const char *name)
{
	char *t = read_text(name, NULL);
	size_t n = 0;
	for (char *p = t; p && *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

/* An enrolled state directory: agent.conf, device.key, a policy signed by 2 of 3. */
static int setup(void **state)
{
	struct agent_conf c = {0};
	struct rp_skey k;
	char *pol, *note, *key;
	(void)state;

	snprintf(dir, sizeof(dir), "/tmp/rampart-agent-state.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	pol = policy_text(2, 2, 1, 2, 4102444800);
	note = sign_by(pol, strlen(pol), ((int[]){0, 1, -1}));
	write_text("policy.note", note, strlen(note));
	free(pol);
	free(note);
	test_skey("device", 7, &k);
	rp_device_id(k.pub, c.device);
	key = rp_skey_format(&k);
	write_text("device.key", key, strlen(key));
	free(key);
	if (chmod(path_of("device.key"), 0600) != 0) /* the agent refuses a key open to others */
		return -1;
	snprintf(c.server, sizeof(c.server), "https://127.0.0.1:1");
	snprintf(c.pin, sizeof(c.pin), "sha256:%064d", 0);
	snprintf(c.org, sizeof(c.org), "acme");
	return agent_conf_write(dir, &c);
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void load(struct agent *a)
{
	struct rp_diag d = {""};
	if (agent_load(a, dir, &d) != 0)
		fail_msg("agent_load: %s", d.msg);
}

/* The statement id number i. */
static const char *sid(unsigned i)
{
	static char id[RP_ID_HEX + 1];
	snprintf(id, sizeof(id), "%032x", i);
	return id;
}

/*
 * Attack (or a crash): a line the agent was writing when it died has no
 * '\n'; the next record appended to it became part of that line and was
 * lost, so a command that started was no longer known to have started.
 */
static void torn_line_does_not_swallow_next_record(void **s)
{
	struct agent a;
	char line[200], *t;
	int n;
	(void)s;
	n = snprintf(line, sizeof(line), "%s started 1795000000\n%s refu", sid(1), sid(2));
	write_text("executed", line, (size_t)n);
	load(&a);
	assert_int_equal(agent_mark_get(&a, sid(1)), MARK_STARTED);
	assert_int_equal(agent_mark_get(&a, sid(2)), MARK_NONE);
	assert_int_equal(agent_mark_set(&a, sid(3), MARK_STARTED), 0);
	agent_release(&a);
	load(&a);
	assert_int_equal(agent_mark_get(&a, sid(1)), MARK_STARTED);
	assert_int_equal(agent_mark_get(&a, sid(3)), MARK_STARTED);
	agent_release(&a);
	t = read_text("executed", NULL);
	assert_non_null(t);
	assert_int_equal(count_lines("executed"), 2);
	assert_null(strstr(t, "refu"));
	free(t);
	unlink(path_of("executed"));
}

/* Attack: the same refused statement on every poll wrote a line every time. */
static void same_refusal_recorded_once(void **s)
{
	struct agent a;
	(void)s;
	load(&a);
	for (int i = 0; i < 100; i++)
		assert_int_equal(agent_mark_set(&a, sid(9), MARK_REFUSED), 0);
	agent_release(&a);
	assert_int_equal(count_lines("executed"), 1);
	unlink(path_of("executed"));
}

/*
 * Attack: a file grown past any cap (here 70 MiB of refusals, as a server
 * refused on every poll for months could make it) stopped the agent from
 * starting at all (a 64 MiB cap on reading it whole). It loads, in bounded
 * memory, and is compacted; started and reported records are all kept.
 */
static void grown_executed_still_loads(void **s)
{
	struct agent a;
	FILE *f = fopen(path_of("executed"), "w");
	size_t size = 0, len;
	unsigned i;
	char *t;
	(void)s;
	assert_non_null(f);
	for (i = 0; i < 100; i++)
		fprintf(f, "%s started 1795000000\n", sid(0x80000000u + i));
	for (i = 0; size < (70u << 20); i++) {
		fprintf(f, "%s refused 1795000001\n", sid(i));
		size += RP_ID_HEX + 20;
		if (i % 50000 == 0)
			for (unsigned k = 0; k < 100; k++)
				fprintf(f, "%s %s 1795000002\n", sid(0x80000000u + k),
					i == 0 ? "started" : "reported");
	}
	assert_int_equal(fclose(f), 0);
	load(&a);
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(agent_mark_get(&a, sid(0x80000000u + k)), MARK_REPORTED);
	assert_int_equal(agent_mark_get(&a, sid(i - 1)), MARK_REFUSED); /* the newest refusal */
	assert_int_equal(agent_mark_get(&a, sid(0)), MARK_NONE);        /* the oldest: dropped */
	assert_true(a.nrecs <= 100 + RP_EXECUTED_REFUSED_KEEP);
	agent_release(&a);
	t = read_text("executed", &len);
	assert_non_null(t);
	assert_true(len <= (100 + RP_EXECUTED_REFUSED_KEEP) * RP_EXECUTED_LINE_MAX);
	assert_int_equal(count_lines("executed"), 100 + RP_EXECUTED_REFUSED_KEEP);
	free(t);
	/* And it loads again as it was written. */
	load(&a);
	assert_int_equal(agent_mark_get(&a, sid(0x80000000u + 99)), MARK_REPORTED);
	agent_release(&a);
	unlink(path_of("executed"));
}

/* Distinct refusals while running: the file stays within its keep, run records whole. */
static void compaction_while_running(void **s)
{
	struct agent a;
	(void)s;
	load(&a);
	a.refused_keep = 8;
	a.compact_min = 0;
	assert_int_equal(agent_mark_set(&a, sid(1000), MARK_STARTED), 0);
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(agent_mark_set(&a, sid(i), MARK_REFUSED), 0);
	assert_int_equal(agent_mark_set(&a, sid(1000), MARK_REPORTED), 0);
	assert_true(count_lines("executed") <= 2 * 8 + 3);
	agent_release(&a);
	load(&a);
	assert_int_equal(agent_mark_get(&a, sid(1000)), MARK_REPORTED);
	assert_int_equal(agent_mark_get(&a, sid(199)), MARK_REFUSED);
	assert_int_equal(agent_mark_get(&a, sid(0)), MARK_NONE);
	agent_release(&a);
	unlink(path_of("executed"));
}

/*
 * Attack: the server logs a junk statement under the id of a command that
 * already ran here, so that its refusal replaces the run's record; floods
 * refusals until that record is trimmed; then delivers the genuine
 * statement again at a new log index. The run's record must hold.
 */
static void refusal_never_erases_a_run(void **s)
{
	struct agent a;
	(void)s;
	load(&a);
	a.refused_keep = 2;
	a.compact_min = 0;
	assert_int_equal(agent_mark_set(&a, sid(7), MARK_STARTED), 0);
	assert_int_equal(agent_mark_set(&a, sid(7), MARK_REPORTED), 0);
	assert_int_equal(agent_mark_set(&a, sid(7), MARK_REFUSED), 0);
	assert_int_equal(agent_mark_get(&a, sid(7)), MARK_REPORTED);
	for (unsigned i = 100; i < 140; i++)
		assert_int_equal(agent_mark_set(&a, sid(i), MARK_REFUSED), 0);
	assert_int_equal(agent_records_compact(&a), 0);
	assert_int_equal(agent_seen(&a, sid(7)), 1);
	/* a started one is not turned back either */
	assert_int_equal(agent_mark_set(&a, sid(8), MARK_STARTED), 0);
	assert_int_equal(agent_mark_set(&a, sid(8), MARK_REFUSED), 0);
	assert_int_equal(agent_mark_get(&a, sid(8)), MARK_STARTED);
	agent_release(&a);
	load(&a);
	assert_int_equal(agent_mark_get(&a, sid(7)), MARK_REPORTED);
	assert_int_equal(agent_seen(&a, sid(7)), 1);
	assert_int_equal(agent_mark_get(&a, sid(8)), MARK_STARTED);
	agent_release(&a);
	unlink(path_of("executed"));
}

/*
 * Attack: the server logs a junk statement under the id of a genuine
 * command not yet delivered. Its refusal must not make the genuine one a
 * "replay": refused ids are not seen, and may still start.
 */
static void refusal_does_not_block_the_genuine_statement(void **s)
{
	struct agent a;
	(void)s;
	load(&a);
	assert_int_equal(agent_mark_set(&a, sid(9), MARK_REFUSED), 0);
	assert_int_equal(agent_seen(&a, sid(9)), 0);
	assert_int_equal(agent_mark_set(&a, sid(9), MARK_STARTED), 0);
	assert_int_equal(agent_seen(&a, sid(9)), 1);
	agent_release(&a);
	unlink(path_of("executed"));
}

static void assert_one_clean_line_each(const char *name)
{
	char *t = read_text(name, NULL);
	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p != '\n' && ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f))
			fail_msg("%s holds byte 0x%02x", name, (unsigned char)*p);
	/* Every line is "<time> <code> <id or -> ...", none started by the server. */
	for (char *l = t; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, "2", 1) != 0 || l[4] != '-' || l[19] != 'Z' || l[20] != ' ')
			fail_msg("%s has a line that is not an alert: %.60s", name, l);
		if (strncmp(l, "1999-", 5) == 0)
			fail_msg("forged line in %s", name);
	}
	free(t);
}

/*
 * Attack: a reason built from the server's text forges a line of its own
 * ("\n1999-... freeze ..."), moves the cursor or clears the screen of
 * whoever tails the log (ESC), or reverses what follows (U+202E).
 */
static void hostile_reason_cannot_forge_a_line(void **s)
{
	static const char hostile[] = "no checkpoint: x\n1999-01-01T00:00:00Z freeze - forged\r"
				      "\x1b[2J\x1b]0;title\x07\xe2\x80\xae evil";
	struct agent a;
	(void)s;
	load(&a);
	agent_alert_log(&a, sid(5), "malformed", hostile);
	agent_alert_log(&a, "", "freeze", hostile);
	agent_release(&a);
	assert_int_equal(count_lines("alerts.log"), 2);
	assert_one_clean_line_each("alerts.log");
	unlink(path_of("alerts.log"));
}

/* Attack: the same alert on every poll: one line per window, then one count. */
static void alerts_rate_limited(void **s)
{
	struct agent_alert_note notes[4];
	struct agent a;
	int64_t t0 = 1795000000;
	char *t;
	(void)s;
	load(&a);
	assert_int_equal(agent_alert(&a, t0, sid(1), "no-quorum", "r", notes), 1);
	assert_string_equal(notes[0].code, "no-quorum");
	for (int i = 1; i < 50; i++)
		assert_int_equal(agent_alert(&a, t0 + i, sid(1), "no-quorum", "r", notes), 0);
	/* Another statement, or another code, is another alert. */
	assert_int_equal(agent_alert(&a, t0 + 1, sid(2), "no-quorum", "r", notes), 1);
	assert_int_equal(agent_alert(&a, t0 + 1, sid(1), "replay", "r", notes), 1);
	assert_int_equal(count_lines("alerts.log"), 3);
	/* Not yet closed at the last second of the window; closed at its end. */
	assert_int_equal(agent_alert_flush(&a, t0 + a.alert_window - 1, notes, 4), 0);
	assert_int_equal(agent_alert_flush(&a, t0 + a.alert_window + 1, notes, 4), 1);
	assert_string_equal(notes[0].id, sid(1));
	assert_non_null(strstr(notes[0].reason, "49 more alerts like this"));
	assert_int_equal(count_lines("alerts.log"), 4);
	/* After the window the same alert is written again. */
	assert_int_equal(agent_alert(&a, t0 + a.alert_window + 2, sid(1), "no-quorum", "r", notes),
			 1);
	/* Suppressed again, then the next alert after the window carries the count. */
	assert_int_equal(agent_alert(&a, t0 + a.alert_window + 3, sid(1), "no-quorum", "r", notes),
			 0);
	assert_int_equal(
		agent_alert(&a, t0 + 2 * a.alert_window + 2, sid(1), "no-quorum", "r", notes), 2);
	assert_non_null(strstr(notes[0].reason, "1 more alerts like this"));
	assert_string_equal(notes[1].reason, "r");
	agent_release(&a);
	t = read_text("alerts.log", NULL);
	assert_non_null(strstr(t, "49 more alerts like this were suppressed"));
	free(t);
	assert_one_clean_line_each("alerts.log");
	unlink(path_of("alerts.log"));
}

/* The code of alert i: RP_ALERT_CODE_KEYS statements per code. */
static const char *code_of(unsigned i)
{
	static char c[16];
	snprintf(c, sizeof(c), "c%u", i / RP_ALERT_CODE_KEYS);
	return c;
}

/* More keys than windows: the oldest closes early, its count not lost. */
static void alert_windows_evicted_oldest_first(void **s)
{
	struct agent_alert_note notes[2];
	struct agent a;
	int64_t t0 = 1795000000;
	(void)s;
	load(&a);
	assert_int_equal(agent_alert(&a, t0, sid(0), code_of(0), "r", notes), 1);
	assert_int_equal(agent_alert(&a, t0 + 1, sid(0), code_of(0), "r", notes), 0);
	for (unsigned i = 1; i < RP_ALERT_KEYS_MAX; i++)
		assert_int_equal(agent_alert(&a, t0 + 2, sid(i), code_of(i), "r", notes), 1);
	assert_int_equal(agent_alert(&a, t0 + 3, sid(1000), code_of(1000), "r", notes), 2);
	assert_string_equal(notes[0].id, sid(0));
	assert_non_null(strstr(notes[0].reason, "1 more"));
	assert_string_equal(notes[1].id, sid(1000));
	assert_int_equal(a.nalerts, RP_ALERT_KEYS_MAX);
	agent_release(&a);
	unlink(path_of("alerts.log"));
}

/* Whether file name (or name.1, the rotated one) holds text. */
static bool log_holds(const char *name, const char *text)
{
	char old[64];
	char *t = read_text(name, NULL);
	bool found = t && strstr(t, text);
	free(t);
	snprintf(old, sizeof(old), "%s.1", name);
	t = read_text(old, NULL);
	found = found || (t && strstr(t, text));
	free(t);
	return found;
}

static void unlink_logs(void)
{
	static const char *const names[] = {"alerts.log", "alerts.log.1", "security.log",
					    "security.log.1"};
	for (size_t i = 0; i < N_ELEMS(names); i++)
		unlink(path_of(names[i]));
}

/*
 * Attack: a breached server logs junk statements, each with a new id, and
 * delivers one per poll. Each new id opened a rate-limit key of its own
 * (code and statement), so each wrote a line: the flood rotated the
 * agent's alert history away within days. Past RP_ALERT_CODE_KEYS
 * statements in a window the code is the key: one line per window, and a
 * count naming how many statements were suppressed.
 */
static void junk_ids_bounded_per_window(void **s)
{
	struct agent_alert_note notes[4];
	struct agent a;
	int64_t t0 = 1795000000, now = t0;
	unsigned windows = 3, per = 1000, reported = 0;
	char *t;
	(void)s;
	load(&a);
	for (unsigned i = 0; i < windows * per; i++) {
		now = t0 + (int64_t)i * a.alert_window / per;
		reported += (unsigned)agent_alert(&a, now, sid(i), "no-quorum", "junk", notes);
		reported += (unsigned)agent_alert_flush(&a, now, notes, 4); /* the run loop's */
	}
	while (agent_alert_flush(&a, now + 100 * a.alert_window, notes, 4) > 0)
		reported++;
	agent_release(&a);
	/* One line per window, the first RP_ALERT_CODE_KEYS statements, the counts. */
	assert_true(count_lines("alerts.log") <= RP_ALERT_CODE_KEYS + 2 * windows);
	assert_int_equal(count_lines("alerts.log"), reported);
	t = read_text("alerts.log", NULL);
	assert_non_null(strstr(t, "more alerts with this code, for at least "));
	assert_non_null(strstr(t, " distinct statements, were suppressed"));
	free(t);
	assert_one_clean_line_each("alerts.log");
	unlink_logs();
}

/* A few statements refused with one code are still each an alert of their own. */
static void few_ids_each_alerted(void **s)
{
	struct agent_alert_note notes[2];
	struct agent a;
	int64_t t0 = 1795000000;
	(void)s;
	load(&a);
	for (unsigned i = 0; i < RP_ALERT_CODE_KEYS; i++)
		assert_int_equal(agent_alert(&a, t0, sid(i), "no-quorum", "r", notes), 1);
	assert_int_equal(agent_alert(&a, t0, sid(99), "no-quorum", "r", notes), 0);
	/* another code is counted on its own */
	assert_int_equal(agent_alert(&a, t0, sid(99), "bad-signature", "r", notes), 1);
	agent_release(&a);
	assert_int_equal(count_lines("alerts.log"), RP_ALERT_CODE_KEYS + 1);
	unlink_logs();
}

/*
 * Attack: after a fork the server floods the agent with 100k junk alerts
 * (new ids, many codes, for more than a day) so that alerts.log and
 * alerts.log.1 rotate the log-fork alert away. It is in security.log,
 * which only security alerts fill, themselves rate-limited per code.
 */
static void security_alert_survives_junk_flood(void **s)
{
	static const char *const junk[] = {"no-quorum",    "bad-signature", "malformed",
					   "not-a-target", "expired",       "not-in-log"};
	struct agent_alert_note notes[4];
	struct agent a;
	int64_t t0 = 1795000000, now = t0;
	(void)s;
	load(&a);
	a.alerts_max = 4096;
	assert_int_equal(
		agent_alert(&a, t0, "", "log-fork", "checkpoint forks from log.state", notes), 1);
	for (unsigned i = 0; i < 100000; i++) {
		now = t0 + 1 + i;
		agent_alert(&a, now, sid(i), junk[i % N_ELEMS(junk)], "junk statement", notes);
		agent_alert_flush(&a, now, notes, 4);
	}
	agent_release(&a);
	/* The flood did rotate alerts.log: the fork is no longer there... */
	assert_false(log_holds("alerts.log", "log-fork"));
	/* ...but security.log still has it, and only security alerts. */
	assert_true(log_holds("security.log", "log-fork"));
	assert_true(log_holds("security.log", "not-in-log"));
	assert_false(log_holds("security.log", "no-quorum"));
	assert_one_clean_line_each("security.log");
	unlink_logs();
}

/* The codes of agent/run.c refusal_code() about the log and the root of trust, and no other. */
static void security_codes(void **s)
{
	static const char *const yes[] = {"not-in-log",      "log-proof",       "log-rollback",
					  "log-fork",        "witness-quorum",  "stale-checkpoint",
					  "bad-checkpoint",  "freeze",          "policy-expired",
					  "policy-expiring", "network-process", "log-retired",
					  "log-withheld",    "directory-fork",  "directory-chain"};
	static const char *const no[] = {"wrong-org",        "no-quorum", "bad-signature",
					 "no-signature",     "expired",   "not-yet-valid",
					 "not-a-target",     "replay",    "payload-mismatch",
					 "unknown-kind",     "malformed", "log-fork ",
					 "directory-refused"};
	(void)s;
	for (size_t i = 0; i < N_ELEMS(yes); i++)
		if (!agent_alert_security(yes[i]))
			fail_msg("%s is not a security alert", yes[i]);
	for (size_t i = 0; i < N_ELEMS(no); i++)
		if (agent_alert_security(no[i]))
			fail_msg("%s is a security alert", no[i]);
}

/* alerts.log is rotated to alerts.log.1, so the two together stay within twice the cap. */
static void alerts_log_rotated(void **s)
{
	struct agent a;
	struct stat st, st1;
	(void)s;
	load(&a);
	a.alerts_max = 4096;
	for (unsigned i = 0; i < 500; i++)
		agent_alert_log(&a, sid(i), "no-quorum", "statement was refused");
	agent_release(&a);
	assert_int_equal(stat(path_of("alerts.log"), &st), 0);
	assert_int_equal(stat(path_of("alerts.log.1"), &st1), 0);
	assert_true(st.st_size <= 4096 && st1.st_size <= 4096);
	assert_one_clean_line_each("alerts.log");
	assert_one_clean_line_each("alerts.log.1");
	unlink(path_of("alerts.log"));
	unlink(path_of("alerts.log.1"));
}

static void record_lines(void **s)
{
	struct agent_record r;
	char line[RP_EXECUTED_LINE_MAX];
	char ok[80];
	(void)s;
	snprintf(ok, sizeof(ok), "%s reported 1795000000", sid(3));
	assert_int_equal(agent_record_parse(ok, strlen(ok), &r), 0);
	assert_int_equal(r.mark, MARK_REPORTED);
	assert_int_equal(r.t, 1795000000);
	assert_int_equal(agent_record_format(&r, line, sizeof(line)), (int)strlen(ok) + 1);
	assert_memory_equal(line, ok, strlen(ok));
	static const char *const bad[] = {
		"00000000000000000000000000000003 reported",
		"00000000000000000000000000000003 reported 01",
		"00000000000000000000000000000003 none 1",
		"00000000000000000000000000000003 reported x",
		"0000000000000000000000000000000G reported 1",
		"00000000000000000000000000000003  reported 1",
		"00000000000000000000000000000003 reported 1 ",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		if (agent_record_parse(bad[i], strlen(bad[i]), &r) != RP_E_MALFORMED)
			fail_msg("accepted `%s'", bad[i]);
}

/* ---- log.state's origin after a log key rotation ---- */

#define LOG2_NAME  "example.com/rampart/acme/2"
#define STATE_ROOT "XNNQiKrPMbNLMvZ2JYqe8WsB5g8hnmmB+6gSHLfbLYU="
#define LOG_STATE7 "size 7\nroot " STATE_ROOT "\nnewest 1795617747\nlast-index 5\n"

/* Root policy version 2 naming the next log's key, signed by alice and bob: policy.v2.note. */
static void write_policy_v2_log2(void)
{
	struct rp_vkey v = {{0}};
	struct rp_skey k;
	char line[256], *key, *t, *u, *w, *note;

	test_skey(LOG2_NAME, 0x58, &k);
	memcpy(v.name, k.name, sizeof(v.name));
	v.id = k.id;
	v.type = RP_KEY_ED25519;
	memcpy(v.pub, k.pub, sizeof(v.pub));
	key = rp_vkey_format(&v);
	assert_non_null(key);
	snprintf(line, sizeof(line), "\nlog %s\n", key);
	t = policy_text(2, 2, 1, 2, 4102444800);
	u = replace(t, "\nversion 1\n", "\nversion 2\n");
	w = replace(u,
		    "\nlog " TEST_LOG_NAME
		    "+d85341b6+AcaCJjfH0xDsV2J74AuiWdJTdJ9Kr2REcM/75To19zJC\n",
		    line);
	note = sign_by(w, strlen(w), ((int[]){0, 1, -1}));
	write_text("policy.v2.note", note, strlen(note));
	free(note);
	free(w);
	free(u);
	free(t);
	free(key);
}

static void assert_file_is(const char *name, const char *want)
{
	char *t = read_text(name, NULL);
	assert_non_null(t);
	assert_string_equal(t, want);
	free(t);
}

/*
 * log.state of another log than the one this device reads (a stop between
 * the move's scan.state and log.state writes): started afresh for this
 * log, the newest cosignature time kept, and written so.
 */
static void log_state_of_another_log_starts_afresh(void **s)
{
	struct agent a;
	uint8_t zero[RP_HASH_LEN] = {0};
	(void)s;

	write_text("log.state", LOG_STATE7 "origin example.com/rampart/acme/0\n",
		   strlen(LOG_STATE7 "origin example.com/rampart/acme/0\n"));
	load(&a);
	assert_int_equal(a.log.size, 0);
	assert_int_equal(a.log.last_index, -1);
	assert_int_equal(a.log.newest, 1795617747);
	assert_memory_equal(a.log.root, zero, RP_HASH_LEN);
	assert_string_equal(a.log.origin, TEST_LOG_NAME);
	agent_release(&a);
	assert_file_is("log.state", "size 0\nroot AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
				    "newest 1795617747\nlast-index -1\norigin " TEST_LOG_NAME "\n");
	/* And loads as that from then on. */
	load(&a);
	assert_int_equal(a.log.size, 0);
	assert_string_equal(a.log.origin, TEST_LOG_NAME);
	agent_release(&a);
	unlink(path_of("log.state"));
}

/* log.state of this log, or from before origins were written: kept as it is. */
static void log_state_of_this_log_is_kept(void **s)
{
	static const char *const texts[] = {LOG_STATE7 "origin " TEST_LOG_NAME "\n", LOG_STATE7};
	struct agent a;
	(void)s;

	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		write_text("log.state", texts[i], strlen(texts[i]));
		load(&a);
		assert_int_equal(a.log.size, 7);
		assert_int_equal(a.log.last_index, 5);
		assert_string_equal(a.log.origin, i == 0 ? TEST_LOG_NAME : "");
		agent_release(&a);
		assert_file_is("log.state", texts[i]);
	}
	/* A damaged origin line: the agent refuses to start. */
	{
		struct rp_diag d = {""};
		const char *bad = LOG_STATE7 "origin a b\n";
		write_text("log.state", bad, strlen(bad));
		assert_int_equal(agent_load(&a, dir, &d), RP_E_MALFORMED);
		assert_diag_has(&d, "log.state");
		/* policy.note was loaded before log.state and the walk never
		 * started: agent_release frees it all the same (LSan checks) */
		agent_release(&a);
	}
	unlink(path_of("log.state"));
}

/*
 * While scan.state says retired, the log read is still the old one (the
 * version before the newest judges it): its log.state is kept. Once the
 * walk moved (scan.state under version 2 alone), the old log's log.state
 * is started afresh for the new log.
 */
static void retired_log_keeps_its_log_state_until_the_move(void **s)
{
	const char *retired = "scanned 0\npolicy 1 0\npolicy 2 6\nretired\n";
	const char *moved = "scanned 0\npolicy 2 0\n";
	const char *state = LOG_STATE7 "origin " TEST_LOG_NAME "\n";
	struct agent a;
	(void)s;

	write_policy_v2_log2();
	write_text("scan.state", retired, strlen(retired));
	write_text("log.state", state, strlen(state));
	load(&a);
	assert_true(a.scan.retired);
	assert_int_equal(a.policy->version, 2);
	assert_string_equal(a.policy->wp.log.name, LOG2_NAME);
	assert_int_equal(agent_log_policy(&a)->version, 1);
	assert_string_equal(agent_log_policy(&a)->wp.log.name, TEST_LOG_NAME);
	assert_int_equal(a.log.size, 7);
	assert_int_equal(a.log.last_index, 5);
	agent_release(&a);
	assert_file_is("log.state", state);
	/* Moved: scan.state written, log.state not yet. */
	write_text("scan.state", moved, strlen(moved));
	load(&a);
	assert_false(a.scan.retired);
	assert_ptr_equal(agent_log_policy(&a), a.policy);
	assert_int_equal(a.log.size, 0);
	assert_int_equal(a.log.last_index, -1);
	assert_string_equal(a.log.origin, LOG2_NAME);
	agent_release(&a);
	assert_file_is("log.state", "size 0\nroot AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
				    "newest 1795617747\nlast-index -1\norigin " LOG2_NAME "\n");
	unlink(path_of("log.state"));
	unlink(path_of("scan.state"));
	unlink(path_of("policy.v2.note"));
}

/*
 * An agent from before log key rotation kept version 2, which names another
 * log key, as an ordinary rotation (no `retired'), and its log.state has no
 * origin, or the old log's: at start it finds it still reads the old log.
 */
static void pre_rotation_agent_finds_its_log_retired(void **s)
{
	const char *plain = "scanned 0\npolicy 1 0\npolicy 2 6\n";
	const char *states[] = {LOG_STATE7, LOG_STATE7 "origin " TEST_LOG_NAME "\n"};
	struct agent a;
	(void)s;

	write_policy_v2_log2();
	for (size_t i = 0; i < 2; i++) {
		write_text("scan.state", plain, strlen(plain));
		write_text("log.state", states[i], strlen(states[i]));
		load(&a);
		assert_true(a.scan.retired);
		assert_int_equal(agent_log_policy(&a)->version, 1);
		assert_int_equal(a.log.size, 7); /* the old log's state, kept */
		agent_release(&a);
		assert_file_is("scan.state", "scanned 0\npolicy 1 0\npolicy 2 6\nretired\n");
	}
	/* Already reading log 2 (origin says so): not retired. */
	{
		const char *st = LOG_STATE7 "origin " LOG2_NAME "\n";
		write_text("scan.state", plain, strlen(plain));
		write_text("log.state", st, strlen(st));
		load(&a);
		assert_false(a.scan.retired);
		agent_release(&a);
		assert_file_is("scan.state", plain);
	}
	unlink(path_of("log.state"));
	unlink(path_of("scan.state"));
	unlink(path_of("policy.v2.note"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(torn_line_does_not_swallow_next_record),
		cmocka_unit_test(same_refusal_recorded_once),
		cmocka_unit_test(grown_executed_still_loads),
		cmocka_unit_test(compaction_while_running),
		cmocka_unit_test(refusal_never_erases_a_run),
		cmocka_unit_test(refusal_does_not_block_the_genuine_statement),
		cmocka_unit_test(hostile_reason_cannot_forge_a_line),
		cmocka_unit_test(alerts_rate_limited),
		cmocka_unit_test(alert_windows_evicted_oldest_first),
		cmocka_unit_test(alerts_log_rotated),
		cmocka_unit_test(junk_ids_bounded_per_window),
		cmocka_unit_test(few_ids_each_alerted),
		cmocka_unit_test(security_alert_survives_junk_flood),
		cmocka_unit_test(security_codes),
		cmocka_unit_test(record_lines),
		cmocka_unit_test(log_state_of_another_log_starts_afresh),
		cmocka_unit_test(log_state_of_this_log_is_kept),
		cmocka_unit_test(retired_log_keeps_its_log_state_until_the_move),
		cmocka_unit_test(pre_rotation_agent_finds_its_log_retired),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("agent-state", tests, setup, teardown);
}
