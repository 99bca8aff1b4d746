/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/passwd and /etc/group as lib/account.c reads them. The input is a
 * passwd text, a NUL byte, then a group text; the account looked up is
 * `alice'. What is found must be what a caller can rely on: the name asked
 * for, a uid and gid other than (uint32_t)-1, an absolute home or none, its
 * primary gid first and no group twice; on failure the account is untouched.
 */
#include <stdint.h>
#include <string.h>

#include "account.h"
#include "fuzz-common.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *sep = memchr(data, '\0', size);
	size_t plen = sep ? (size_t)(sep - text) : size;
	const char *gtext = sep ? sep + 1 : "";
	size_t glen = sep ? size - plen - 1 : 0;
	static struct rp_account a, before;
	struct rp_diag d;
	int r;

	memset(&a, 0x5a, sizeof(a));
	r = rp_account_parse_passwd(text, plen, "alice", &a, &d);
	FUZZ_CHECK(r == 0 || r == RP_E_NOTFOUND || r == RP_E_MALFORMED || r == RP_E_TOOBIG);
	if (r != 0) {
		FUZZ_CHECK((unsigned char)a.name[0] == 0x5a);
		return 0;
	}
	FUZZ_CHECK(strcmp(a.name, "alice") == 0);
	FUZZ_CHECK(a.uid != UINT32_MAX && a.gid != UINT32_MAX);
	FUZZ_CHECK(a.home[0] == '\0' || a.home[0] == '/');
	FUZZ_CHECK(strlen(a.home) <= RP_ACCOUNT_HOME_MAX);
	FUZZ_CHECK(a.ngroups == 1 && a.groups[0] == a.gid);
	before = a;
	r = rp_account_parse_group(gtext, glen, &a, &d);
	FUZZ_CHECK(r == 0 || r == RP_E_MALFORMED || r == RP_E_TOOBIG);
	if (r != 0) {
		FUZZ_CHECK(memcmp(&a, &before, sizeof(a)) == 0);
		return 0;
	}
	FUZZ_CHECK(a.ngroups >= 1 && a.ngroups <= RP_ACCOUNT_GROUPS_MAX && a.groups[0] == a.gid);
	for (size_t i = 0; i < a.ngroups; i++) {
		FUZZ_CHECK(a.groups[i] != UINT32_MAX);
		for (size_t k = i + 1; k < a.ngroups; k++)
			FUZZ_CHECK(a.groups[i] != a.groups[k]);
	}
	return 0;
}
