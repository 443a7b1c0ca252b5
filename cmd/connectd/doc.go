// Command connectd is the connectd worker: it moves click events from Kafka
// to sinks exactly once, alone on a laptop with an embedded Kafka or as one
// of a fleet.
//
//	connectd run --config-dir DIR [--bootstrap-servers LIST | --embedded-kafka DIR] [--listen 127.0.0.1:8083]
//	connectd connectors list|get|create|delete|pause|resume|stop|restart|status [--url URL]
//	connectd offsets get|reset --connector NAME ... [--dry-run] [--url URL]
//	connectd top --topic T [--bootstrap-servers LIST] [--once]
//	connectd kafka --data-dir DIR [--listen 127.0.0.1:9092]
//	connectd gen --bootstrap-servers LIST [--topic T] [--max-events N] ...
//	connectd validate FILE...
//	connectd demo
//	connectd version
//
// Each subcommand takes --help. main wires the plugin registry explicitly,
// runs the pieces as one group and turns SIGINT/SIGTERM into a graceful stop
// (flush, commit) under a deadline; a second signal exits at once.
package main
