/*
 * chdb-host runs ClickHouse as a server from libchdb.so, the embedded
 * ClickHouse library of the npm package @chdb/lib-linux-x64-gnu. It passes
 * its arguments to chdb_query_cmdline, ClickHouse's own command line
 * (--path, --tcp_port, --http_port, --multiquery, --query ...), so a query
 * that starts the listeners and then sleeps keeps a real ClickHouse server
 * answering on the native and HTTP ports until the process is signalled.
 * The tests (internal/testservers) and `make demo` start it; it is not
 * part of the connectd binary.
 */
#include <stdio.h>

struct chdb_result;
extern struct chdb_result *chdb_query_cmdline(int argc, char *argv[]);
extern const char *chdb_result_error(struct chdb_result *result);
extern void chdb_destroy_query_result(struct chdb_result *result);

int main(int argc, char *argv[]) {
	struct chdb_result *r = chdb_query_cmdline(argc, argv);
	if (r == NULL) {
		fprintf(stderr, "chdb-host: chdb_query_cmdline returned no result\n");
		return 1;
	}
	const char *err = chdb_result_error(r);
	if (err != NULL && err[0] != '\0') {
		fprintf(stderr, "chdb-host: %s\n", err);
		return 1;
	}
	chdb_destroy_query_result(r);
	return 0;
}
