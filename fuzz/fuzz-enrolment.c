/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrolment notes (lib/enroll.h), as a breached server logs them: the
 * text's parse round-trips, and the fold of the entry into a directory
 * holding the seed corpus's token (fuzz/corpus/enrolment/note.txt was
 * signed by it) adds at most one record, of that token's groups, counted
 * once, never past its maximum, and always moves the entry count.
 */
#include <stdint.h>
#include <string.h>

#include "enroll.h"
#include "fuzz-common.h"

static const char state_text[] =
	"rampart/directory-state/v1\norg acme\nversion 1\n"
	"head sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
	"device-group web\n"
	"token f3c6820b4f3cd56ea5291cf81036c213 key 6eRSe1a+0G/VAWAGxjdmfpGsAbJrST8GalxyD8GC0KE= "
	"expires 2026-12-03T18:54:48Z max 3 groups web tags fleet\n"
	"enrolled 60c34fbba8b3b3a8163ee0ea5c7f236b\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_dir_state s;
	struct rp_enrolment e, back;
	struct rp_diag d;
	bool folded;
	size_t len;
	char *text;

	if (rp_enrolment_parse_text((const char *)data, size, &e, &d) == 0) {
		FUZZ_CHECK((text = rp_enrolment_format(&e, &len)) != NULL);
		FUZZ_CHECK(rp_enrolment_parse_text(text, len, &back, NULL) == 0);
		FUZZ_CHECK(len == size && memcmp(text, data, size) == 0);
		free(text);
	}
	FUZZ_CHECK(rp_dir_state_parse(state_text, sizeof(state_text) - 1, &s, NULL) == 0);
	int judged = rp_dir_enrol_judge(&s, data, size, &e, &d);
	FUZZ_CHECK(rp_dir_enrol_fold(&s, data, size, &folded, NULL, &d) == 0);
	FUZZ_CHECK(folded == (judged == 0) && s.entries == 2);
	const struct rp_dir_token *t = rp_dir_token_get(&s.dir, "f3c6820b4f3cd56ea5291cf81036c213");
	FUZZ_CHECK(t && t->nenrolled == (folded ? 2u : 1u) && t->nenrolled <= t->max);
	FUZZ_CHECK(s.dir.ndevices == (folded ? 1u : 0u));
	if (folded) {
		const struct rp_dir_device *v = s.dir.devices[0];
		FUZZ_CHECK(v->ngroups == 1 && !strcmp(v->groups[0], "web") && v->ntags == 1);
		/* the same entry again adds nothing */
		FUZZ_CHECK(rp_dir_enrol_fold(&s, data, size, &folded, NULL, &d) == 0 && !folded);
		FUZZ_CHECK(s.dir.ndevices == 1 && t->nenrolled == 2);
	}
	rp_dir_state_release(&s);
	return 0;
}
