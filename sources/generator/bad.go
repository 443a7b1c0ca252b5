package generator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// BadKind says how a generated event is deliberately bad. Invalid kinds
// (malformed, missing_field, wrong_type) are records a validator must
// reject; the others are valid events that exercise windowing (out_of_order,
// late) and deduplication (duplicate_id).
type BadKind uint8

// The kinds of bad events, BadNone first.
const (
	// BadNone is a good event.
	BadNone BadKind = iota
	// BadMalformed is not JSON: a truncated object, binary garbage, or an
	// object followed by a stray '}'.
	BadMalformed
	// BadMissingField lacks one required field (event_id, timestamp,
	// user_id, session_id, event_type or page_url).
	BadMissingField
	// BadWrongType has one field of the wrong JSON type: duration_ms as a
	// string, user_id as a number, timestamp as a number (epoch millis) or
	// event_type as a number.
	BadWrongType
	// BadOutOfOrder is valid, with a timestamp 1 to 10 minutes before its
	// place in the stream.
	BadOutOfOrder
	// BadLate is valid, with a timestamp 2 to 72 hours before its place in
	// the stream.
	BadLate
	// BadDuplicateID is valid, and reuses the event_id of one of the 1000
	// events before it, an event that carried its own id and was valid.
	// When no such event is found (at position 0, or when nearly every
	// event is bad) the event is out_of_order instead, so the bad ratio
	// holds exactly.
	BadDuplicateID
	numBadKinds
)

var badKindNames = [numBadKinds]string{
	BadNone:         "none",
	BadMalformed:    "malformed",
	BadMissingField: "missing_field",
	BadWrongType:    "wrong_type",
	BadOutOfOrder:   "out_of_order",
	BadLate:         "late",
	BadDuplicateID:  "duplicate_id",
}

// String returns the kind's name: none, malformed, missing_field,
// wrong_type, out_of_order, late or duplicate_id.
func (k BadKind) String() string {
	if k < numBadKinds {
		return badKindNames[k]
	}
	return "BadKind(" + strconv.Itoa(int(k)) + ")"
}

// Invalid reports whether a validator must reject an event of this kind.
func (k BadKind) Invalid() bool {
	return k == BadMalformed || k == BadMissingField || k == BadWrongType
}

// BadKinds lists every kind but BadNone.
func BadKinds() []BadKind {
	out := make([]BadKind, 0, numBadKinds-1)
	for k := BadNone + 1; k < numBadKinds; k++ {
		out = append(out, k)
	}
	return out
}

// ParseBadKind returns the kind named name (as String writes it), or an
// error listing the names of BadKinds.
func ParseBadKind(name string) (BadKind, error) {
	for _, k := range BadKinds() {
		if badKindNames[k] == name {
			return k, nil
		}
	}
	names := make([]string, 0, numBadKinds-1)
	for _, k := range BadKinds() {
		names = append(names, badKindNames[k])
	}
	return BadNone, fmt.Errorf("%q is not a kind of bad event; use %s", name, strings.Join(names, ", "))
}

// ParseBadKinds parses a list of kind names (surrounding spaces ignored)
// into Options.BadKindsUsed, refusing unknown and repeated names.
func ParseBadKinds(names []string) ([]BadKind, error) {
	var kinds []BadKind
	for _, name := range names {
		k, err := ParseBadKind(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		if slices.Contains(kinds, k) {
			return nil, fmt.Errorf("%q is listed twice", name)
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}
