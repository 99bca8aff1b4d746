/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/sql, the SQLite helpers of rampartd and rampart-witness: like the
 * rest of lib/ they never write to stderr; every failure leaves on the
 * handle what was being done, the SQL and SQLite's message, for the
 * daemon to log with its own context. Each test runs with stderr
 * redirected to a file that must stay empty.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "sql/sql.h"

static const char *const MIGRATIONS[] = {
	"CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);",
	"ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT '';",
};

struct fixture {
	char dir[64];
	char path[96];
	int saved_stderr;
	char err_path[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rampart-test-sql.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	snprintf(f->err_path, sizeof(f->err_path), "%s/stderr", f->dir);
	fflush(stderr);
	f->saved_stderr = dup(2);
	fd = open(f->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || f->saved_stderr < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char p[128];
	int quiet;

	fflush(stderr);
	quiet = stat(f->err_path, &st) == 0 && st.st_size == 0;
	dup2(f->saved_stderr, 2);
	close(f->saved_stderr);
	if (!quiet)
		fprintf(stderr, "lib/sql wrote to stderr (%s)\n", f->err_path);
	const char *names[] = {"db", "db-wal", "db-shm", "stderr"};
	for (size_t i = 0; quiet && i < N_ELEMS(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	if (quiet)
		rmdir(f->dir);
	free(f);
	return quiet ? 0 : -1;
}

static struct rp_sql *open_db(const char *path, int n, int *from)
{
	struct rp_sql *h = NULL;
	struct rp_diag d = {""};

	assert_int_equal(rp_sql_open(&h, path, true, MIGRATIONS, n, from, &d), 0);
	assert_non_null(h);
	assert_string_equal(rp_sql_errmsg(h), "");
	return h;
}

static void sql_migrations_applied_and_counted(void **state)
{
	struct fixture *f = *state;
	struct rp_sql *h;
	int from = -1;

	h = open_db(f->path, 1, &from);
	assert_int_equal(from, 0);
	rp_sql_close(h);
	h = open_db(f->path, 2, &from);
	assert_int_equal(from, 1);
	assert_int_equal(rp_sql_exec(h, "INSERT INTO t (k, v, note) VALUES (?, ?, ?)", "tit", "a",
				     (int64_t)1, "x"),
			 0);
	assert_int_equal(rp_sql_changes(h), 1);
	rp_sql_close(h);
	h = open_db(f->path, 2, &from);
	assert_int_equal(from, 2);
	rp_sql_close(h);
	rp_sql_close(NULL);
}

static void sql_open_failures_say_why(void **state)
{
	struct fixture *f = *state;
	struct rp_sql *h = (struct rp_sql *)1;
	struct rp_diag d = {""};
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/none/db", f->dir);
	assert_int_equal(rp_sql_open(&h, missing, true, MIGRATIONS, 2, NULL, &d), RP_E_DB);
	assert_ptr_equal(h, (struct rp_sql *)1);
	assert_diag_has(&d, "opening database");
	assert_diag_has(&d, missing);
	/* Without create, a database that is not there is not made. */
	assert_int_equal(rp_sql_open(&h, f->path, false, MIGRATIONS, 2, NULL, &d), RP_E_DB);
	/* A schema newer than this program's migrations is refused. */
	rp_sql_close(open_db(f->path, 2, NULL));
	assert_int_equal(rp_sql_open(&h, f->path, false, MIGRATIONS, 1, NULL, &d), RP_E_DB);
	assert_diag_has(&d, "preparing database");
	assert_diag_has(&d, "schema version 2 is newer than this program's (1)");
}

static void sql_failed_migration_says_which(void **state)
{
	static const char *const bad[] = {"CREATE TABLE t (k TEXT);", "CREATE TABLE t (k TEXT);"};
	struct fixture *f = *state;
	struct rp_sql *h = NULL;
	struct rp_diag d = {""};

	assert_int_equal(rp_sql_open(&h, f->path, true, bad, 2, NULL, &d), RP_E_DB);
	assert_diag_has(&d, "migration 2 failed: table t already exists");
	assert_null(h);
}

static void sql_failures_leave_their_message(void **state)
{
	struct fixture *f = *state;
	struct rp_sql *h = open_db(f->path, 2, NULL);
	sqlite3_stmt *st;

	/* A statement that does not prepare: the SQL and SQLite's message. */
	assert_int_equal(rp_sql_exec(h, "SELECT x FROM nowhere", ""), RP_E_DB);
	assert_non_null(strstr(rp_sql_errmsg(h), "preparing `SELECT x FROM nowhere'"));
	assert_non_null(strstr(rp_sql_errmsg(h), "': no such table: nowhere"));
	rp_sql_clear(h);
	assert_string_equal(rp_sql_errmsg(h), "");
	/* A constraint is RP_E_EXISTS, an answer rather than a failure: no message. */
	assert_int_equal(rp_sql_exec(h, "INSERT INTO t (k, v) VALUES ('a', 1)", ""), 0);
	assert_int_equal(rp_sql_exec(h, "INSERT INTO t (k, v) VALUES ('a', 2)", ""), RP_E_EXISTS);
	assert_string_equal(rp_sql_errmsg(h), "");
	/* A bad bind format. */
	assert_null(rp_sql_prep(h, "SELECT v FROM t WHERE k = ?", "x", "a"));
	assert_non_null(strstr(rp_sql_errmsg(h), "binding `SELECT v FROM t WHERE k = ?'"));
	rp_sql_clear(h);
	/* A step that fails at run time (NOT NULL). */
	st = rp_sql_prep(h, "INSERT INTO t (k, v) VALUES ('b', NULL)", "");
	assert_non_null(st);
	assert_int_equal(rp_sql_step(h, st), RP_E_DB);
	assert_non_null(strstr(rp_sql_errmsg(h), "`INSERT INTO t (k, v) VALUES ('b', NULL)'"));
	assert_non_null(strstr(rp_sql_errmsg(h), "NOT NULL constraint failed: t.v"));
	sqlite3_finalize(st);
	assert_int_equal(rp_sql_step(h, NULL), RP_E_DB);
	rp_sql_close(h);
}

static void sql_transactions(void **state)
{
	struct fixture *f = *state;
	struct rp_sql *h = open_db(f->path, 2, NULL), *other = open_db(f->path, 2, NULL);
	sqlite3_stmt *st;

	assert_int_equal(rp_sql_begin(h), 0);
	assert_int_equal(rp_sql_exec(h, "INSERT INTO t (k, v) VALUES ('r', 1)", ""), 0);
	assert_int_equal(rp_sql_finish(h, RP_E_INVAL), RP_E_INVAL); /* rolled back */
	assert_int_equal(rp_sql_begin(h), 0);
	assert_int_equal(rp_sql_exec(h, "INSERT INTO t (k, v) VALUES ('c', 1)", ""), 0);
	/* A second writer waits for the busy timeout, then says why it could not begin. */
	sqlite3_busy_timeout(other->db, 10);
	assert_int_equal(rp_sql_begin(other), RP_E_DB);
	assert_non_null(strstr(rp_sql_errmsg(other), "starting a transaction: database is locked"));
	assert_int_equal(rp_sql_finish(h, 0), 0);
	st = rp_sql_prep(h, "SELECT count(*) FROM t WHERE k = ?", "t", "r");
	assert_int_equal(rp_sql_step(h, st), 1);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	st = rp_sql_prep(h, "SELECT k FROM t WHERE k = ?", "t", "c");
	assert_int_equal(rp_sql_step(h, st), 1);
	assert_string_equal(rp_sql_text(st, 0), "c");
	assert_int_equal(rp_sql_step(h, st), 0);
	sqlite3_finalize(st);
	rp_sql_close(other);
	rp_sql_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sql_migrations_applied_and_counted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sql_open_failures_say_why, setup, teardown),
		cmocka_unit_test_setup_teardown(sql_failed_migration_says_which, setup, teardown),
		cmocka_unit_test_setup_teardown(sql_failures_leave_their_message, setup, teardown),
		cmocka_unit_test_setup_teardown(sql_transactions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
