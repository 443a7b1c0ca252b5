// Package validate is the ValidateClickEvent transform: it rejects records
// that are not clickstream events, with a reason that names the field and
// the problem, so they go to the dead-letter topic instead of a sink.
//
// An event must be one JSON object in valid UTF-8 with each key at most
// once among the checked fields, and:
//
//   - every field of required.fields present (by default event_id,
//     timestamp, user_id, session_id, event_type and page_url), each a
//     non-empty string unless it is also in number.fields;
//   - every field of number.fields (by default duration_ms and revenue) a
//     JSON number when present (null is not a number);
//   - timestamp, when present, a strict RFC 3339 date-time such as
//     2026-11-22T10:00:00.123Z or 2026-11-22T11:00:00+01:00 (upper-case T
//     and Z, two-digit fields in range, the day within its month, no leap
//     second): stricter than time.Parse, which also takes one-digit hours,
//     a comma before the fraction and offsets such as +24:00;
//   - event_type, when present, one of allowed.event.types (by default
//     page_view, click, search, add_to_cart, purchase).
//
// The first problem found is reported, in that order, as
// `missing required field "user_id"` or
// `field "duration_ms": expected a number, got string "abc"`.
//
// The transform parses with a reused fastjson.Parser and allocates nothing
// for a valid event; like every transform it runs on one goroutine.
package validate
