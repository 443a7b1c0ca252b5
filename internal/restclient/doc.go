// Package restclient is a small typed client of the REST API a connectd
// worker serves (Kafka Connect 3.9's, plus connectd's backfill plan). The
// connectd CLI (`connectd connectors`, `connectd offsets`) is built on it.
//
// Every method makes one HTTP request and returns either the decoded answer
// or an error of one of two kinds:
//
//   - *Error: the worker answered with a status the call does not expect;
//     it carries Kafka Connect's {"error_code", "message"} body (or, for a
//     body of another shape, the status text and the start of the body).
//   - *UnreachableError: no HTTP answer at all (nothing listens at the URL,
//     the name does not resolve, the connection was refused or timed out).
//
// Anything else (an answer that is not the expected JSON) is a plain error
// naming the request. A Client is safe for concurrent use.
package restclient
