// Package jsonscan holds the byte-level JSON scanning shared by the code
// that reads every record's JSON on the hot path: the JSON converter's
// check (connector) and the click event decoder (connector/clickevent).
// It has no state and allocates nothing.
package jsonscan
