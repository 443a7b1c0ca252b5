package connector

import (
	"fmt"

	"github.com/connectd/connectd/internal/jsonscan"
)

// validateJSON reports whether b is one well-formed JSON value, with the
// byte position and cause of the first problem. It is the JSON converter's
// check: a hand-written scanner several times faster than json.Valid,
// because it runs on every record of every JSON connector. Like
// encoding/json it accepts invalid UTF-8 inside strings.
func validateJSON(b []byte) error {
	s := jsonScanner{b: b}
	s.ws()
	if err := s.value(0); err != nil {
		return err
	}
	s.ws()
	if s.i != len(b) {
		return s.errf("unexpected %q after the JSON value", b[s.i])
	}
	return nil
}

type jsonScanner struct {
	b []byte
	i int
}

const maxJSONDepth = 512

func (s *jsonScanner) errf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.errf("unexpected end of input")
	}
	if depth > maxJSONDepth {
		return s.errf("nested deeper than %d", maxJSONDepth)
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	default:
		return s.errf("unexpected %q", c)
	}
}

func (s *jsonScanner) lit(w string) error {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return s.errf("expected %s", w)
	}
	s.i += len(w)
	return nil
}

func (s *jsonScanner) object(depth int) error {
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errf("expected a string key")
		}
		if err := s.str(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf("expected ':' after an object key")
		}
		s.i++
		s.ws()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errf("unexpected end of input in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errf("expected ',' or '}' in an object, got %q", s.b[s.i])
		}
	}
}

func (s *jsonScanner) array(depth int) error {
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errf("unexpected end of input in an array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errf("expected ',' or ']' in an array, got %q", s.b[s.i])
		}
	}
}

func (s *jsonScanner) str() error {
	b := s.b
	i := s.i + 1 // after the opening quote
	for {
		i = jsonscan.SkipPlain(b, i)
		if i >= len(b) {
			s.i = i
			return s.errf("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			i++
			if i >= len(b) {
				s.i = i
				return s.errf("unexpected end of input in a string escape")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					s.i = i
					return s.errf("short \\u escape")
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						s.i = i
						return s.errf("bad \\u escape")
					}
				}
				i += 5
			default:
				s.i = i
				return s.errf("bad escape \\%c", b[i])
			}
		default: // a control character
			s.i = i
			return s.errf("control character in a string")
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *jsonScanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *jsonScanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return s.errf("expected a digit")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.errf("expected a digit after '.'")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.errf("expected a digit in the exponent")
		}
	}
	return nil
}
