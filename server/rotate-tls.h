/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `rampartd rotate tls' (server/rotate-tls.c). */
int rotate_tls_main(int argc, char *argv[]);
