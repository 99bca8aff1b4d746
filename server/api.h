/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* rampartd's HTTP API (docs/api.md): routes, their body caps, authentication, handlers. */

#include "server.h"

/* Sets up s->httpd with the API's routes and the connection limits lim. */
int api_init(struct server *s, const struct rp_httpd_limits *lim);
