/* SPDX-License-Identifier: Apache-2.0 */
#include "rp_err.h"

const char *rp_strerror(int r)
{
	switch (r) {
#define RP_ERR_CASE(name, val, text) \
	case (val): return (text);
		RP_ERRORS(RP_ERR_CASE)
#undef RP_ERR_CASE
	}
	return "unknown error";
}
