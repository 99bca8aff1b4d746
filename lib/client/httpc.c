int rp_httpc_placeholder(void); int rp_httpc_placeholder(void) { return 0; }
