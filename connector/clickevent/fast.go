package clickevent

import (
	"math"
	"strconv"

	"github.com/connectd/connectd/internal/jsonscan"
)

// decodeFast decodes the common shape of an event in one pass over its
// bytes, with no parse tree: one JSON object whose keys are all known
// fields, each once, with no escapes in keys or string values, strings
// where strings belong, integers for duration_ms, numbers for revenue,
// and timestamps of the form parseUTCMillis reads. It reports false, with
// ev in any state, for anything else (unknown fields, nulls, escapes,
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
		f := fieldIndexBytes(b[i+1 : end])
		if f < 0 || ev.Present.Has(f) {
			return false
		}
		i = jsonscan.SkipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = jsonscan.SkipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		switch f {
		case FieldDurationMS, FieldRevenue:
			end, float, ok := jsonscan.Number(b, i)
			if !ok {
				return false
			}
			if f == FieldDurationMS {
				// At most 18 digits: no overflow to check.
				if float || end-i > 18 {
					return false
				}
				n, err := strconv.ParseInt(string(b[i:end]), 10, 64)
				if err != nil {
					return false
				}
				ev.DurationMS = n
			} else {
				x, err := strconv.ParseFloat(string(b[i:end]), 64)
				if err != nil || math.IsInf(x, 0) {
					return false
				}
				ev.Revenue = x
			}
			i = end
		default:
			if b[i] != '"' {
				return false
			}
			end := jsonscan.SkipPlain(b, i+1)
			if end >= len(b) || b[end] != '"' {
				return false
			}
			val := b[i+1 : end]
			if f == FieldTimestamp {
				t, ok := parseUTCMillis(val)
				if !ok {
					return false
				}
				ev.Time = t
			} else {
				ev.Strings[f] = d.str(f, val)
			}
			i = end + 1
		}
		ev.Present |= 1 << uint(f)
		i = jsonscan.SkipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipWS(b, i+1)
		case '}':
			return jsonscan.SkipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}
