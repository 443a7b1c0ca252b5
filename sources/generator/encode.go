package generator

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON encoder is written by hand for speed: it appends to the
// caller's buffer and allocates nothing. Field order is fixed.

// Field keys, with their quotes and colon.
const (
	kEventID      = `"event_id":`
	kTimestamp    = `"timestamp":`
	kUserID       = `"user_id":`
	kSessionID    = `"session_id":`
	kEventType    = `"event_type":`
	kPageURL      = `"page_url":`
	kPageCategory = `"page_category":`
	kReferrer     = `"referrer":`
	kDeviceType   = `"device_type":`
	kCountry      = `"country":`
	kDurationMS   = `"duration_ms":`
	kRevenue      = `"revenue":`
	kCurrency     = `"currency":`
	kUTMSource    = `"utm_source":`
	kUTMMedium    = `"utm_medium":`
	kUTMCampaign  = `"utm_campaign":`
	kUserAgent    = `"user_agent":`
)

// requiredKeys are the fields a missing_field event may lack.
var requiredKeys = [...]string{kEventID, kTimestamp, kUserID, kSessionID, kEventType, kPageURL}

// Wrong-type variants.
const (
	wrongDuration  = iota // duration_ms as a string
	wrongUserID           // user_id as a number
	wrongTimestamp        // timestamp as a number (epoch millis)
	wrongEventType        // event_type as a number
	numWrong
)

// Malformed variants.
const (
	malTruncated = iota
	malGarbage
	malTrailing
	numMalformed
)

// encode appends the JSON of the produced event c to dst, made bad as bad
// says; ms is the timestamp to write and dupOf the position whose id a
// duplicate reuses.
func (e *Engine) encode(dst []byte, c *produced, bad BadKind, ms, dupOf int64) []byte {
	start := len(dst)
	variant := uint64(0)
	if bad != BadNone {
		variant = hash64(e.key, uint64(c.n), saltVariant)
	}
	skip := ""
	wrong := -1
	switch bad {
	case BadMissingField:
		skip = requiredKeys[below(variant, uint64(len(requiredKeys)))]
	case BadWrongType:
		wrong = int(below(variant, numWrong))
	}
	userNum := int64(e.opt.FirstUser) + int64(c.user)
	sessHash := hash64(e.key, c.seq, saltSession)
	userHash := mix64(uint64(userNum) ^ 0x6a09e667f3bcc909) // user traits do not depend on the seed

	dst = append(dst, '{')
	if skip != kEventID {
		id := c.n
		if bad == BadDuplicateID {
			id = dupOf
		}
		dst = appendKey(dst, start, kEventID)
		dst = appendUUID(dst, e.key, uint64(id))
	}
	if skip != kTimestamp {
		dst = appendKey(dst, start, kTimestamp)
		if wrong == wrongTimestamp {
			dst = strconv.AppendInt(dst, ms, 10)
		} else {
			dst = append(dst, '"')
			dst = appendTimestamp(dst, ms)
			dst = append(dst, '"')
		}
	}
	if skip != kUserID {
		dst = appendKey(dst, start, kUserID)
		if wrong == wrongUserID {
			dst = strconv.AppendInt(dst, userNum, 10)
		} else {
			dst = append(dst, '"')
			dst = appendUserID(dst, userNum)
			dst = append(dst, '"')
		}
	}
	if skip != kSessionID {
		dst = appendKey(dst, start, kSessionID)
		dst = append(dst, '"')
		dst = appendHex(dst, sessHash, 16)
		dst = append(dst, '"')
	}
	if skip != kEventType {
		dst = appendKey(dst, start, kEventType)
		if wrong == wrongEventType {
			dst = strconv.AppendInt(dst, int64(c.typ), 10)
		} else {
			dst = appendString(dst, eventTypeNames[c.typ])
		}
	}
	if skip != kPageURL {
		dst = appendKey(dst, start, kPageURL)
		dst = e.appendPageURL(dst, c)
	}
	dst = appendKey(dst, start, kPageCategory)
	dst = appendString(dst, pageCategory(c))

	src := &trafficSources[pickCum(hash64(e.key, c.seq, saltSource), e.sourceCum)]
	dst = appendKey(dst, start, kReferrer)
	dst = appendString(dst, src.referrer)

	dev := pickCum(mix64(userHash^saltDevice), e.deviceCum)
	if below(hash64(e.key, c.seq, saltSessionDevice), 100) < 15 {
		dev = pickCum(hash64(e.key, c.seq, saltDevice), e.deviceCum) // another device, sometimes
	}
	dst = appendKey(dst, start, kDeviceType)
	dst = appendString(dst, devices[dev].name)

	ctry := &countries[pickCum(mix64(userHash^saltCountry), e.countryCum)]
	dst = appendKey(dst, start, kCountry)
	dst = appendString(dst, ctry.code)

	dst = appendKey(dst, start, kDurationMS)
	dur := duration(c.typ, hash64(e.key, uint64(c.n), saltDuration))
	if wrong == wrongDuration {
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, dur, 10)
		dst = append(dst, '"')
	} else {
		dst = strconv.AppendInt(dst, dur, 10)
	}

	if c.typ == evPurchase {
		dst = appendKey(dst, start, kRevenue)
		dst = appendMoney(dst, c.revenue*ctry.num/ctry.den, ctry.decimals)
		dst = appendKey(dst, start, kCurrency)
		dst = appendString(dst, ctry.currency)
	}

	campaign := ""
	if src.campaign {
		campaign = campaigns[below(hash64(e.key, c.seq, saltCampaign), uint64(len(campaigns)))]
	}
	dst = appendKey(dst, start, kUTMSource)
	dst = appendString(dst, src.utmSource)
	dst = appendKey(dst, start, kUTMMedium)
	dst = appendString(dst, src.utmMedium)
	dst = appendKey(dst, start, kUTMCampaign)
	dst = appendString(dst, campaign)

	agents := devices[dev].agents
	dst = appendKey(dst, start, kUserAgent)
	dst = appendString(dst, agents[pickCum(mix64(userHash^saltAgent), e.agentCum[dev])])
	dst = append(dst, '}')

	if bad == BadMalformed {
		dst = malform(dst, start, variant, hash64(e.key, uint64(c.n), saltShift))
	}
	return dst
}

// malform turns the object in dst[start:] into bytes that are not JSON.
func malform(dst []byte, start int, variant, x uint64) []byte {
	switch below(variant, numMalformed) {
	case malTruncated:
		// Any strict prefix of one object is not JSON: its braces never
		// balance before the last byte. Keep 1 to len-1 bytes.
		l := uint64(len(dst) - start)
		return dst[:start+1+int(below(x, l-1))]
	case malGarbage:
		// Binary noise; the leading 0xff is neither UTF-8 nor JSON.
		dst = append(dst[:start], 0xff, 0xfe)
		for i := range 8 {
			dst = append(dst, byte(x>>(8*i)))
		}
		return dst
	default: // malTrailing
		return append(dst, '}')
	}
}

// appendKey appends a field key, after a comma unless it is the first
// field of the object that starts at start.
func appendKey(dst []byte, start int, key string) []byte {
	if len(dst) > start+1 {
		dst = append(dst, ',')
	}
	return append(dst, key...)
}

func (e *Engine) appendPageURL(dst []byte, c *produced) []byte {
	dst = append(dst, '"')
	dst = append(dst, siteURL...)
	switch c.pageKind {
	case pgBrowse:
		dst = appendEscaped(dst, browsePages[c.page].path)
	case pgProduct:
		dst = append(dst, "/p/"...)
		dst = appendEscaped(dst, categories[int(c.page)%len(categories)])
		dst = append(dst, '/')
		dst = strconv.AppendInt(dst, int64(firstProductID+c.page), 10)
	case pgSearch:
		dst = append(dst, "/search?q="...)
		dst = appendEscaped(dst, searchTerms[c.page])
	case pgCheckout:
		dst = append(dst, "/checkout"...)
	case pgConfirmation:
		dst = append(dst, "/checkout/confirmation"...)
	}
	return append(dst, '"')
}

func pageCategory(c *produced) string {
	switch c.pageKind {
	case pgBrowse:
		return browsePages[c.page].category
	case pgProduct:
		return categories[int(c.page)%len(categories)]
	case pgSearch:
		return "search"
	default:
		return "checkout"
	}
}

// duration draws a duration_ms for an event of type t from x.
func duration(t eventType, x uint64) int64 {
	buckets := durations[t]
	r := below(x, 1000)
	for _, b := range buckets {
		if r < b.weight {
			span := uint64(b.hi - b.lo)
			return b.lo + int64(below(mix64(x), span))
		}
		r -= b.weight
	}
	last := buckets[len(buckets)-1]
	return last.lo
}

// appendUserID appends "user-<n>".
func appendUserID(dst []byte, n int64) []byte {
	dst = append(dst, "user-"...)
	return strconv.AppendInt(dst, n, 10)
}

const hexDigits = "0123456789abcdef"

// appendHex appends the low digits*4 bits of x as lowercase hex.
func appendHex(dst []byte, x uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(x>>(4*uint(i)))&0xf])
	}
	return dst
}

// appendUUID appends, quoted, the version 4 UUID of event n: 122 bits
// drawn from the stream's key and n, with the version and variant bits set
// as RFC 9562 says.
func appendUUID(dst []byte, key, n uint64) []byte {
	hi := hash64(key, n, saltIDHigh)
	lo := hash64(key, n, saltIDLow)
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	dst = append(dst, '"')
	dst = appendHex(dst, hi>>32, 8)
	dst = append(dst, '-')
	dst = appendHex(dst, hi>>16, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, hi, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, lo>>48, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, lo, 12)
	return append(dst, '"')
}

// appendMoney appends minor units as a JSON number with decimals digits
// after the point (2: 12999 → 129.99; 0: 19800 → 19800).
func appendMoney(dst []byte, minor int64, decimals int) []byte {
	if decimals == 0 {
		return strconv.AppendInt(dst, minor, 10)
	}
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	dst = strconv.AppendInt(dst, minor/scale, 10)
	dst = append(dst, '.')
	frac := minor % scale
	for s := scale / 10; s > 0; s /= 10 {
		dst = append(dst, byte('0'+frac/s%10))
	}
	return dst
}

// msPerDay and the largest time appendTimestamp formats itself
// (10000-01-01T00:00:00Z); other times go through package time.
const (
	msPerDay  = 86_400_000
	maxFastMs = 253402300800000
)

// appendTimestamp appends the RFC3339 form of a Unix time in milliseconds,
// in UTC with exactly three fractional digits: 2026-11-22T10:00:00.123Z.
func appendTimestamp(dst []byte, ms int64) []byte {
	if ms < 0 || ms >= maxFastMs {
		return time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	}
	days, rem := ms/msPerDay, ms%msPerDay
	y, m, d := civil(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, rem/3_600_000)
	dst = append(dst, ':')
	dst = append2(dst, rem/60_000%60)
	dst = append(dst, ':')
	dst = append2(dst, rem/1000%60)
	dst = append(dst, '.')
	f := rem % 1000
	dst = append(dst, byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	return append(dst, 'Z')
}

// civil converts days since 1970-01-01 (not negative) to a Gregorian date
// (Howard Hinnant's days_from_civil, inverted).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func append4(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string: quotes,
// backslashes and control characters are escaped, U+2028 and U+2029 too
// (as encoding/json does), and invalid UTF-8 becomes U+FFFD.
func appendEscaped(dst []byte, s string) []byte {
	done := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time (the usual case).
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			done = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			done = i
			continue
		}
		i += size
	}
	return append(dst, s[done:]...)
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word.
func load8(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plain8 reports whether none of the eight bytes of x needs escaping or
// UTF-8 decoding: none is below 0x20, a quote, a backslash or above 0x7f.
// It may answer false for plain bytes, never true for others.
func plain8(x uint64) bool {
	lt20 := (x - ones*0x20) &^ x
	quote := x ^ (ones * '"')
	quote = (quote - ones) &^ quote
	bslash := x ^ (ones * '\\')
	bslash = (bslash - ones) &^ bslash
	return (lt20|quote|bslash|x)&high == 0
}
