// Package clickevent is the click event schema the store sinks share:
// which fields an event has, their types, and a decoder from an event's
// JSON into typed values, so ClickHouse columns, Parquet columns and
// Iceberg columns agree on one definition.
//
// The known fields are the generator's (sources/generator) and the
// validate transform's: event_id, timestamp, user_id, session_id,
// event_type, page_url, page_category, referrer, device_type, country,
// duration_ms, revenue, currency, utm_source, utm_medium, utm_campaign and
// user_agent. Fields outside the schema are not dropped: the decoder keeps
// them, in input order, as one JSON object (Event.Extra) that sinks store in
// an _extra column. A known field whose value does not fit its type is an
// error that names the field, the value and the type wanted (*FieldError);
// sinks send such a record to the dead-letter topic with that message.
//
// A Decoder reuses its parser and is for one goroutine.
package clickevent
