/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_vkey keys[2];
	static int ready;
	struct rp_note *n;
	bool ok[2];

	if (!ready) {
		const char *a = "alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3";
		const char *b = "bob.example+cf055346+AaCapfR6Z1mAL/lV+NwtKhSlyZ0jvpf4ZBJ/+Tg0VaTw";
		if (sodium_init() < 0 || rp_vkey_parse(a, strlen(a), &keys[0], NULL) < 0 ||
		    rp_vkey_parse(b, strlen(b), &keys[1], NULL) < 0)
			__builtin_trap();
		ready = 1;
	}
	struct rp_vkey scratch;
	rp_vkey_parse((const char *)data, size, &scratch, NULL);
	if (rp_note_parse((const char *)data, size, &n, NULL) == 0) {
		rp_note_verify(n, keys, 2, ok, NULL);
		rp_note_free(n);
	}
	return 0;
}
