// Package rest serves a worker's management API: Kafka Connect 3.9's REST
// API, so curl recipes, Kafka UI consoles, kcctl, Terraform providers and
// client libraries written for Kafka Connect work unchanged, plus one
// connectd extension for backfills. It is plain net/http with Go's method
// patterns; every answer is JSON (application/json) or empty.
//
//	GET    /                                    {"version", "commit", "kafka_cluster_id"}
//	GET    /health                              200 healthy; 503 starting or unhealthy
//	GET    /connectors                          names; ?expand=status, ?expand=info (repeatable): {name: {"status", "info"}}
//	POST   /connectors                          {"name", "config", "initial_state"?}: 201 + Location; 409 exists; 400 invalid
//	GET    /connectors/{name}                   {"name", "config", "tasks": [{"connector", "task"}], "type"}
//	DELETE /connectors/{name}                   204
//	GET    /connectors/{name}/config            the config
//	PUT    /connectors/{name}/config            201 created (+ Location) or 200 updated, with the connector
//	PATCH  /connectors/{name}/config            keys set to null are removed; 200
//	GET    /connectors/{name}/status            {"name", "connector": {"state", "worker_id"}, "tasks": [{"id", "state", "worker_id", "trace"?}], "type"}
//	PUT    /connectors/{name}/pause             202
//	PUT    /connectors/{name}/resume            202
//	PUT    /connectors/{name}/stop              204
//	POST   /connectors/{name}/restart           ?includeTasks=&onlyFailed=: 204 when both false, else 202 with the status
//	GET    /connectors/{name}/tasks             [{"id": {"connector", "task"}, "config"}]
//	GET    /connectors/{name}/tasks/{id}/status {"id", "state", "worker_id", "trace"?}
//	POST   /connectors/{name}/tasks/{id}/restart 204
//	GET    /connectors/{name}/topics            {name: {"topics": [...]}}
//	PUT    /connectors/{name}/topics/reset      202
//	GET    /connectors/{name}/offsets           {"offsets": [{"partition", "offset"}]} (KIP-875)
//	PATCH  /connectors/{name}/offsets           same body; STOPPED only; 200 {"message"}
//	DELETE /connectors/{name}/offsets           STOPPED only; 200 {"message"}
//	POST   /connectors/{name}/offsets/plan      connectd's extension, below
//	GET    /connector-plugins                   [{"class", "type", "version"}]; ?connectorsOnly=false adds transformations and converters
//	GET    /connector-plugins/{plugin}/config   [ConfigKeyInfo]: the plugin's keys, then the framework's
//	PUT    /connector-plugins/{plugin}/config/validate  ConfigInfos with the errors of each key
//	GET    /admin/loggers                       {logger: {"level", "last_modified"}}
//	GET    /admin/loggers/{name}                {"level", "last_modified"}; 404 unknown
//	PUT    /admin/loggers/{name}                {"level": "DEBUG"}: 200 with the loggers set
//
// Sink offsets are {"partition": {"kafka_topic": t, "kafka_partition": p},
// "offset": {"kafka_offset": o}}; source offsets are the connector's own
// partition and offset objects (the generator's: {"task", "tasks"} and
// {"position", "start_ms"}). Logger names are connectd's, not Java
// classes: root, connectd.worker, connectd.kafka, connectd.rest and
// connector.<name> (see package internal/logging).
//
// # Errors
//
// Every error is {"error_code": N, "message": "..."} with N the status:
// the worker's *worker.Error code (400 invalid config naming each key, 404
// unknown connector or task, 409 conflict), 400 for a body that is
// missing, malformed or larger than Options.MaxBodyBytes (the message
// names the problem), 404 "HTTP 404 Not Found" for an unknown path, 405
// "HTTP 405 Method Not Allowed" (with Allow) for a known path with another
// method, and 500 with the cause for anything else. A panic in a handler
// is a 500, never a crash.
//
// # connectd's extension: backfill plans
//
// POST /connectors/{name}/offsets/plan takes a worker.ResetSpec,
//
//	{"to": "earliest" | "latest" | "datetime" | "offsets" | "shift",
//	 "datetime": "2026-11-22T10:00:00Z", "offsets": [{"topic", "partition", "offset"}], "shift": -1000}
//
// and answers {"plan": [{"topic", "partition", "current", "target",
// "replay", "adjusted"}]} (worker.PlanRow): where a backfill would move
// each partition, after the sink's own adjustment. It changes nothing; a
// backfill applies the plan with PATCH /connectors/{name}/offsets while
// the connector is stopped. Kafka Connect has no such endpoint.
//
// # Where connectd differs from Kafka Connect 3.9
//
//   - A malformed JSON body is a 400 naming the problem (Kafka Connect
//     answers 500 with Jackson's message); so is an empty body, a missing
//     "config", a config value that is null, an object or an array, and an
//     unknown field in a request object.
//   - Request bodies are limited in size (Options.MaxBodyBytes).
//   - The Content-Type of a request is not checked (Kafka Connect answers
//     415 unless it is application/json).
//   - GET /health answers 503 for "unhealthy" too (Kafka Connect: 500);
//     connectd is unhealthy once the worker has stopped running.
//   - Validating an unknown connector.class reports the error on that key
//     (Kafka Connect answers 500); a plugin path and a connector.class are
//     the same plugin when the registry resolves both to it (aliases such
//     as "file"), as well as by Kafka Connect's name-suffix rule.
//   - GET and PUT .../topics of an unknown connector are 404.
//   - Task configs are the connector's config plus "task.id": connectd's
//     tasks share their connector's config.
//   - PUT /admin/loggers/{name}?scope=cluster sets this worker's loggers
//     (a standalone worker is its whole cluster) and answers 204.
//   - A ConfigKeyInfo's fields connectd has no source for are fixed:
//     "width" is "NONE", "display_name" is the key, "dependents" is [],
//     and "importance" is HIGH for required keys, MEDIUM for the plugin's
//     and LOW for the framework's.
//
// Status codes otherwise follow Kafka Connect's implementation where its
// documentation is silent: an unknown log level is a 404 ("invalid log
// level 'X'."), PUT .../topics/reset is a 202, and Location headers are
// absolute URLs, as Jersey writes them.
package rest
