package clickevent

import (
	"math"
	"strconv"

	"github.com/connectd/connectd/internal/jsonscan"
)

// decodeFast decodes the common shape of an event in one pass over its
// bytes, with no parse tree: one JSON object with no escapes in keys or
// string values, known fields each once, strings where strings belong,
// integers for duration_ms, numbers for revenue, timestamps of the form
// parseUTCMillis reads, and unknown fields with scalar values (kept in
// Extra as written). It reports false, with ev in any state, for anything
// else (nulls in known fields, objects or arrays in unknown ones, escapes,
// malformed input, values of the wrong kind), and Decode then decodes the
// value the general way, which also words the errors. So the fast path
// decides nothing on its own: on what it accepts it must agree with the
// general path exactly, which FuzzFastPathAgrees checks.
func (d *Decoder) decodeFast(b []byte, ev *Event) bool {
	*ev = Event{}
	i := jsonscan.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return jsonscan.SkipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := jsonscan.SkipPlain(b, i+1)
		if end >= len(b) || b[end] != '"' {
			return false
		}
		key := b[i : end+1] // with its quotes
		i = jsonscan.SkipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = jsonscan.SkipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		if i = d.fastField(b, i, key, ev); i < 0 {
			return false
		}
		i = jsonscan.SkipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipWS(b, i+1)
		case '}':
			if jsonscan.SkipWS(b, i+1) != len(b) {
				return false
			}
			if ev.Extra != nil {
				ev.Extra = append(ev.Extra, '}')
			}
			return true
		default:
			return false
		}
	}
}

// fastField reads the value at b[i] of the field whose quoted key is key
// into ev, and returns the index after it, or -1 where decodeFast gives
// up (see there).
func (d *Decoder) fastField(b []byte, i int, key []byte, ev *Event) int {
	f := fieldIndexBytes(key[1 : len(key)-1])
	if f < 0 {
		// An unknown field goes to Extra as it is, when it is a scalar
		// written the way the general path writes it back: a string with
		// no escapes, a number, true, false or null.
		end := scalarEnd(b, i)
		if end < 0 {
			return -1
		}
		if ev.Extra == nil {
			ev.Extra = append(make([]byte, 0, 64), '{')
		} else {
			ev.Extra = append(ev.Extra, ',')
		}
		ev.Extra = append(append(append(ev.Extra, key...), ':'), b[i:end]...)
		return end
	}
	if ev.Present.Has(f) {
		return -1
	}
	ev.Present |= 1 << uint(f)
	switch f {
	case FieldDurationMS, FieldRevenue:
		end, float, ok := jsonscan.Number(b, i)
		if !ok {
			return -1
		}
		if f == FieldRevenue {
			x, err := strconv.ParseFloat(string(b[i:end]), 64)
			if err != nil || math.IsInf(x, 0) {
				return -1
			}
			ev.Revenue = x
			return end
		}
		// At most 18 digits: no overflow to check.
		if float || end-i > 18 {
			return -1
		}
		n, err := strconv.ParseInt(string(b[i:end]), 10, 64)
		if err != nil {
			return -1
		}
		ev.DurationMS = n
		return end
	}
	if b[i] != '"' {
		return -1
	}
	end := jsonscan.SkipPlain(b, i+1)
	if end >= len(b) || b[end] != '"' {
		return -1
	}
	val := b[i+1 : end]
	if f != FieldTimestamp {
		ev.Strings[f] = d.str(f, val)
		return end + 1
	}
	t, ok := parseUTCMillis(val)
	if !ok {
		return -1
	}
	ev.Time = t
	return end + 1
}

// scalarEnd returns the end of the JSON scalar at b[i] when it is a
// string with no escapes, a number, true, false or null, and -1 for
// anything else.
func scalarEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end := jsonscan.SkipPlain(b, i+1)
		if end >= len(b) || b[end] != '"' {
			return -1
		}
		return end + 1
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
				return i + len(lit)
			}
		}
		return -1
	}
	end, _, ok := jsonscan.Number(b, i)
	if !ok {
		return -1
	}
	return end
}
