package sinktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
)

// Harness connects the suite to one sink and its store. New and Read are
// required; the rest have defaults. The suite calls the functions from the
// test goroutine only, never concurrently, and passes the running subtest's
// t: fail it (t.Fatal) when the store cannot be reached.
type Harness struct {
	// New returns a new, unopened instance of the sink, against the same
	// store as every other instance of the run: the suite uses several
	// instances one after another (a restarted or reassigned task) and
	// sometimes two at once on different partitions (a rebalance).
	New func(t *testing.T) connector.Sink

	// Read returns every record the store durably holds, in any order.
	// Records of topics the running subtest did not write are ignored, so
	// Read may return the whole store. A record stored twice must be
	// returned twice: that is what the suite looks for. Read must see at
	// once what Flush made durable (refresh an Elasticsearch index first,
	// query a ReplacingMergeTree with FINAL): the suite reads after every
	// Flush to check the offsets it reported.
	Read func(t *testing.T) []Stored

	// BadRecord returns the i-th (i = 0, 1, …) record the sink must reject
	// as the record's fault, with a *connector.BatchError from Write. The
	// suite overwrites its Topic, Partition and Offset. Nil means the sink
	// accepts any value, and the bad-records subtest is skipped.
	BadRecord func(i int) connector.Record

	// Value returns the value of the record at offset of tp. It must be
	// deterministic, as Kafka is: a replay delivers the same bytes. Nil
	// means DefaultValue, a valid click event.
	Value func(tp connector.TopicPartition, offset int64) []byte

	// SameValue reports whether a value read back (got) stands for the
	// value written (want). Nil means bytes.Equal. A store that re-encodes
	// values can use SameJSON; one that keeps no values, IgnoreValue.
	SameValue func(want, got []byte) bool

	// TopicPrefix starts every topic name the suite uses; "sinktest" when
	// empty. Use lowercase letters, digits and '-' for stores that restrict
	// names.
	TopicPrefix string

	// FlushTimeout is how long the suite keeps calling Flush for written
	// records to become durable before it fails the subtest; 30s when zero.
	FlushTimeout time.Duration
}

// Stored is one record as the store holds it, identified by where it came
// from in Kafka.
type Stored struct {
	Topic     string
	Partition int32
	Offset    int64
	// Value is the stored value, or nil when the store does not keep it
	// (then set Harness.SameValue to IgnoreValue).
	Value []byte
}

// TP returns the record's topic-partition.
func (s Stored) TP() connector.TopicPartition {
	return connector.TopicPartition{Topic: s.Topic, Partition: s.Partition}
}

// Run runs the conformance suite against the sink h describes, one subtest
// (t.Run) per property, in this order: basic, open_contract,
// flush_reports_only_durable, rewrite_after_retry, idempotent_replay,
// crash_between_write_and_commit, resume_inside_flushed_range,
// reset_offsets (skipped unless the sink is a connector.OffsetResetter),
// revoke_and_reassign, bad_records (skipped when h.BadRecord is nil),
// many_small_batches and close_then_stop. Each subtest's comment in
// cases.go says what it drives and checks. Besides its own checks, every
// Flush of every subtest is checked: it may only report partitions the
// instance opened, never move an offset back, never report past what was
// written, never report progress for a partition after Close, and every
// record below a reported offset must be in Read exactly once with its
// value. Run fails t at once when New or Read is missing.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Read == nil {
		t.Fatal("sinktest: Harness.New and Harness.Read are required")
	}
	if h.Value == nil {
		h.Value = DefaultValue
	}
	if h.SameValue == nil {
		h.SameValue = bytes.Equal
	}
	if h.TopicPrefix == "" {
		h.TopicPrefix = "sinktest"
	}
	if h.FlushTimeout <= 0 {
		h.FlushTimeout = 30 * time.Second
	}
	// A run id keeps topics of this run apart from those of earlier runs
	// against a store that outlives the test.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	run = run[len(run)-6:]
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, &h, h.TopicPrefix+"-"+run+"-"+strings.ReplaceAll(c.name, "_", "-"))
			c.run(e)
		})
	}
}

// EventTime returns the event time DefaultValue gives the record at offset
// of tp: deterministic, with millisecond precision, spread over partitions.
func EventTime(tp connector.TopicPartition, offset int64) time.Time {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return epoch.Add(time.Duration(tp.Partition)*time.Hour + time.Duration(offset)*1234*time.Millisecond)
}

// EventID returns the event_id DefaultValue gives the record at offset of
// tp: a UUID-shaped string derived from topic, partition and offset, so it
// is unique per record and equal across replays.
func EventID(tp connector.TopicPartition, offset int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", tp.Topic, tp.Partition, offset))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x80 // version 8: custom
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// DefaultValue returns a valid click event as JSON for the record at offset
// of tp: a unique event_id (EventID), an RFC3339 timestamp with
// milliseconds (EventTime), and user, session, page and device fields.
func DefaultValue(tp connector.TopicPartition, offset int64) []byte {
	eventTypes := [...]string{"page_view", "click", "scroll", "add_to_cart", "purchase"}
	devices := [...]string{"desktop", "mobile", "tablet"}
	countries := [...]string{"DE", "US", "FR", "BR", "JP", "IN"}
	n := int(offset) + int(tp.Partition)*7
	ev := struct {
		EventID   string `json:"event_id"`
		EventType string `json:"event_type"`
		Timestamp string `json:"timestamp"`
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
		URL       string `json:"url"`
		Referrer  string `json:"referrer"`
		Device    string `json:"device"`
		Country   string `json:"country"`
		Duration  int    `json:"duration_ms"`
	}{
		EventID:   EventID(tp, offset),
		EventType: eventTypes[n%len(eventTypes)],
		Timestamp: EventTime(tp, offset).Format("2006-01-02T15:04:05.000Z07:00"),
		UserID:    "user-" + strconv.Itoa(n%97),
		SessionID: "session-" + strconv.Itoa(n%97) + "-" + strconv.Itoa(n/50),
		URL:       "https://shop.example.com/p/" + strconv.Itoa(n%31),
		Referrer:  "https://search.example.org/?q=" + strconv.Itoa(n%13),
		Device:    devices[n%len(devices)],
		Country:   countries[n%len(countries)],
		Duration:  (n * 37) % 30000,
	}
	b, err := json.Marshal(ev)
	if err != nil { // unreachable: the struct has only strings and ints
		return nil
	}
	return b
}

// SameJSON reports whether want and got are equal JSON documents, ignoring
// object key order and whitespace. It is a SameValue for stores that keep
// values re-encoded.
func SameJSON(want, got []byte) bool {
	var a, b any
	da := json.NewDecoder(bytes.NewReader(want))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(got))
	db.UseNumber()
	if da.Decode(&a) != nil || db.Decode(&b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// IgnoreValue accepts any stored value. It is a SameValue for stores that
// do not keep the value.
func IgnoreValue(want, got []byte) bool { return true }
