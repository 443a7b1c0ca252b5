package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// slowPlain is SkipPlain one byte at a time: the reference.
func slowPlain(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func TestSkipPlain(t *testing.T) {
	for _, s := range []string{"", "abc", `abcdefgh"`, `abcdefghijklmno\p`, "abcdefghij\x1fk", "\x7f\x80\xff\xfe\"", "é日本語é日本語\"",
		`01234567"9`, "0123456\x00", strings.Repeat("x", 63) + `"`, "\x20\x21\x1f"} {
		for i := 0; i <= len(s); i++ {
			if got, want := SkipPlain([]byte(s), i), slowPlain([]byte(s), i); got != want {
				t.Errorf("SkipPlain(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
}

func FuzzSkipPlain(f *testing.F) {
	f.Add([]byte(`abcdefgh"ij\`), 0)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		if got, want := SkipPlain(b, i), slowPlain(b, i); got != want {
			t.Fatalf("SkipPlain(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

// TestNumber checks Number against encoding/json: a token Number accepts
// whole is a valid JSON number and the other way round.
func TestNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "-12", "1.5", "1.", ".5", "01", "1e5", "1E+5", "1e-5", "1e", "1e+", "-", "--1",
		"1.5e3", "0.0", "00", "12345678901234567890", "1.2.3", "+1", "0x10"} {
		end, float, ok := Number([]byte(s), 0)
		whole := ok && end == len(s)
		if want := json.Valid([]byte(s)); whole != want {
			t.Errorf("Number(%q) = %d, %v, %v; encoding/json says valid=%v", s, end, float, ok, want)
		}
		if whole && float != strings.ContainsAny(s, ".eE") {
			t.Errorf("Number(%q) float = %v", s, float)
		}
	}
}
