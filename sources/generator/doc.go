// Package generator produces a deterministic, realistic clickstream: the
// Engine that simulates it, and the generator source connector (Plugin)
// that writes it to Kafka.
//
// # The stream
//
// Events are JSON objects keyed by user_id:
//
//	{"event_id":"<uuid v4>","timestamp":"2026-11-22T10:00:00.123Z","user_id":"user-42",
//	 "session_id":"<16 hex>","event_type":"page_view","page_url":"https://shop.example.com/p/shoes/10012",
//	 "page_category":"shoes","referrer":"https://www.google.com/","device_type":"mobile","country":"US",
//	 "duration_ms":5120,"utm_source":"","utm_medium":"","utm_campaign":"","user_agent":"Mozilla/5.0 …"}
//
// with "revenue" and "currency" after duration_ms on purchases only. Users
// visit in sessions more than SessionGap apart; a session walks a funnel
// (browse → product → add_to_cart → checkout → purchase, with searches and
// clicks, and an exit at every step); pages and search terms follow Zipf's
// law; traffic sources, devices and countries are skewed as on a real shop.
// Event time is derived, never read from a clock: event n is stamped
// Start + n/EventsPerSecond.
//
// # Determinism and resume
//
// Equal Options give byte-identical events on every platform: the engine
// uses its own integer-only random generators, and event ids are UUIDs drawn
// from them, not from crypto/rand. The position is the number of events
// produced; Skip(n) replays to position n without encoding, so a restarted
// source continues exactly after its last committed event.
//
// # Bad records
//
// Options.BadRecordRatio makes a fraction of the events deliberately bad,
// each of a BadKind that Meta reports, so a test can run the same engine and
// know which events a validator must reject (malformed, missing_field,
// wrong_type) and which are valid but out of order, late or duplicated.
//
// # The connector
//
// Source implements connector.Source. With tasks.max > 1 each task runs its
// own stream (Options.ForTask) in its own source partition. Poll paces
// itself with the wall clock to events.per.second, honouring ctx.
package generator
