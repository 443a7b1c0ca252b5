// Package logging gives connectd's log/slog output named loggers whose
// levels change at run time, the way Kafka Connect's /admin/loggers
// endpoints change log4j levels.
//
// # Logger names
//
// Kafka Connect's logger names are Java classes and packages. connectd's
// are dotted names of its own, with the same rules: a name's ancestors are
// its dotted prefixes, and "root" is the ancestor of every logger.
//
//	root               everything not named otherwise
//	connectd.worker    the worker: connector lifecycle, task start and stop
//	connectd.kafka     the Kafka client (connector/kafka)
//	connectd.rest      the REST server (worker/rest)
//	connector.<name>   everything about one connector: its task loops, its
//	                   plugin's own logs, and the worker's lines about it
//
// A record belongs to the logger named by its attributes: "connector"
// (the connector's name, giving connector.<name>) wins over "logger" (a
// logger name), and a record with neither belongs to root. Attributes set
// with Logger.With count, as do the record's own, as long as they are not
// inside a group. The worker and the task loops already tag their lines
// with "connector"; main names the rest with Logger.With("logger", name).
//
// # Levels
//
// Levels holds the level of every logger. Setting a level on a name sets
// it on that logger and on every descendant (Kafka Connect's rule), so
// "root" sets all of them and "connector" sets every connector's. A logger
// never set follows its nearest ancestor that was, else root. Loggers come
// into being when first set, when registered, or when a record first names
// them. Level names are log4j's: TRACE, DEBUG, INFO, WARN, ERROR, FATAL,
// OFF and ALL (case-insensitive), mapped onto slog's levels (see
// ParseLevel).
//
// Handler wraps any slog.Handler and drops the records below their
// logger's level. New builds the usual pair: a text or JSON logger and its
// Levels. Nothing here is global: two Levels never interfere.
package logging
