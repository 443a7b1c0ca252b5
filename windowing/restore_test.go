package windowing

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// stream is a reproducible list of inputs with disorder and late events
// over several partitions.
type stream struct {
	ts    []int64
	part  []int32
	evs   []*ev
	users int
}

func makeStream(seed uint64, n, users int, stepMs, disorderMs int64) stream {
	s := newSynth(seed, users, msOf("2026-03-01T00:00:00Z"))
	r := rand.New(rand.NewPCG(seed, 7))
	var st stream
	st.users = users
	for i := 0; i < n; i++ {
		e, t := s.next(stepMs)
		c := &ev{s: map[string]string{}, n: map[string]float64{}}
		for k, v := range e.s {
			c.s[k] = v
		}
		for k, v := range e.n {
			c.n[k] = v
		}
		if r.IntN(10) == 0 {
			t -= r.Int64N(disorderMs + 1)
		}
		st.ts = append(st.ts, t)
		st.part = append(st.part, int32(r.IntN(3)))
		st.evs = append(st.evs, c)
	}
	return st
}

// runStream feeds the stream, taking results after every event and the
// changes every txn events; at each restart index it rebuilds the
// windower from the changelog. It returns the results and the snapshot.
func runStream(t testing.TB, mkw func() *Windower, st stream, txn int, restarts []int) ([]string, []Record) {
	w := mkw()
	var log []Record
	var out []string
	offs := map[int32]int64{}
	take := func() {
		for _, r := range w.TakeResults(nil) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	for i := range st.ts {
		if slices.Contains(restarts, i) {
			take()
			log = w.Changes(log)
			w = mkw()
			for _, rec := range log {
				if err := w.Load(rec); err != nil {
					t.Fatalf("load %q: %v", rec.Key, err)
				}
			}
		}
		p := st.part[i]
		w.Add(Input{TimeMs: st.ts[i], Partition: p, Offset: offs[p], Fields: st.evs[i]})
		offs[p]++
		if i%97 == 0 {
			w.Tick(int64(i) * 10) // a fake clock: idle detection stays deterministic
		}
		take()
		if i%txn == 0 {
			log = w.Changes(log)
		}
	}
	take()
	return out, w.Snapshot(nil)
}

func metricWindower(t testing.TB, typ string) func() *Windower {
	return func() *Windower {
		cfg := baseConfig()
		cfg.Type = typ
		cfg.MaxOutOfOrder = 20 * time.Second
		cfg.Grace = 5 * time.Second
		cfg.AllowedLateness = time.Minute
		cfg.IdleTimeout = 500 * time.Millisecond
		switch typ {
		case "tumbling":
			cfg.Size = time.Minute
			cfg.GroupBy = []string{"device_type"}
		case "hopping":
			cfg.Size, cfg.Advance = 2*time.Minute, 30*time.Second
		case "session":
			cfg.GroupBy = []string{"user_id"}
			cfg.SessionGap = 40 * time.Second
		}
		users := aggDefaults("unique_users", "distinct")
		users.Field, users.ExactMax = "user_id", 50
		byType := aggDefaults("by_event_type", "count_by")
		byType.Field = "event_type"
		top := aggDefaults("top_pages", "top_k")
		top.Field, top.K = "page_url", 3
		dur := aggDefaults("duration_ms", "stats")
		dur.Field = "duration_ms"
		fun := aggDefaults("checkout", "funnel")
		fun.Steps = []string{"event_type=page_view", "event_type=add_to_cart", "event_type=purchase"}
		aggs := []AggregateConfig{aggDefaults("count", "count"), users, byType, top, dur, fun}
		if typ == "session" {
			aggs = append(aggs, aggDefaults("session", "sessions"))
		}
		return mustNew(t, cfg, aggs...)
	}
}

func TestRestoreEqualsUninterrupted(t *testing.T) {
	for _, typ := range []string{"tumbling", "hopping", "session"} {
		t.Run(typ, func(t *testing.T) {
			st := makeStream(42, 20000, 300, 50, 90_000)
			mkw := metricWindower(t, typ)
			want, wantSnap := runStream(t, mkw, st, 50, nil)
			got, gotSnap := runStream(t, mkw, st, 50, []int{1, 777, 5000, 5001, 12345, 19999})
			if len(want) == 0 {
				t.Fatal("no results")
			}
			if !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("result %d of %d/%d differs:\n got %s\nwant %s", i, len(got), len(want), got[i], want[i])
					}
				}
				t.Fatalf("%d results, want %d", len(got), len(want))
			}
			if !recordsEqual(gotSnap, wantSnap) {
				t.Fatal("final snapshots differ")
			}
			t.Logf("%s: %d results, %d state records", typ, len(want), len(wantSnap))
		})
	}
}

func recordsEqual(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func TestLoadRejectsOtherConfig(t *testing.T) {
	a := metricWindower(t, "tumbling")()
	a.Add(Input{TimeMs: 1, Fields: mk("device_type=x")})
	recs := a.Changes(nil)
	cfg := countCfg("tumbling", 2*time.Minute, 0)
	b := mustNew(t, cfg, aggDefaults("count", "count"))
	var err error
	for _, r := range recs {
		if err = b.Load(r); err != nil {
			break
		}
	}
	if err != ErrStateMismatch {
		t.Fatalf("got %v", err)
	}
	if err := b.Load(Record{Key: []byte("W1234567890"), Value: []byte{stateFormat, 1}}); err == nil {
		t.Fatal("corrupt record accepted")
	}
}

func TestChangesTrackOnlyDirtyAndTombstones(t *testing.T) {
	cfg := countCfg("tumbling", time.Minute, 0)
	cfg.GroupBy = []string{"page_url"}
	w := mustNew(t, cfg, aggDefaults("count", "count"))
	w.Add(Input{TimeMs: msOf("2026-03-01T10:00:00Z"), Offset: 0, Fields: mk("page_url=/a")})
	w.Add(Input{TimeMs: msOf("2026-03-01T10:00:01Z"), Offset: 1, Fields: mk("page_url=/b")})
	ch := w.Changes(nil)
	if kinds(ch) != "G P W W" {
		t.Fatalf("%s", kinds(ch))
	}
	w.Add(Input{TimeMs: msOf("2026-03-01T10:00:02Z"), Offset: 2, Fields: mk("page_url=/a")})
	if ch = w.Changes(nil); kinds(ch) != "G P W" {
		t.Fatalf("%s", kinds(ch))
	}
	w.Add(Input{TimeMs: msOf("2026-03-01T10:01:00Z"), Offset: 3, Fields: mk("page_url=/a")}) // closes and purges 10:00
	if ch = w.Changes(nil); kinds(ch) != "W- W- G P W" {
		t.Fatalf("%s", kinds(ch))
	}
	if len(w.Changes(nil)) != 0 {
		t.Fatal("nothing changed")
	}
}

func kinds(rs []Record) string {
	var s []string
	for _, r := range rs {
		k := string(r.Key[:1])
		if r.Value == nil {
			k += "-"
		}
		s = append(s, k)
	}
	return fmt.Sprint(s)[1 : len(fmt.Sprint(s))-1]
}

// ---- fuzz tests of the invariants

// FuzzHoppingAssignment: every event lands in exactly size/advance
// windows, each of which contains it.
func FuzzHoppingAssignment(f *testing.F) {
	f.Add(int64(600_000), int64(300_000), int64(0), int64(1_772_000_000_123))
	f.Add(int64(60_000), int64(60_000), int64(30_000), int64(-5))
	f.Add(int64(7), int64(1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, size, adv, off, ts int64) {
		if adv <= 0 || size <= 0 || adv > 1<<40 || size > 1<<40 || size%adv != 0 || size/adv > 200 || off < 0 || off >= adv ||
			ts < -1<<50 || ts > 1<<50 {
			t.Skip()
		}
		cfg := baseConfig()
		cfg.Type, cfg.Size, cfg.Advance, cfg.Offset = "hopping", time.Duration(size)*time.Millisecond,
			time.Duration(adv)*time.Millisecond, time.Duration(off)*time.Millisecond
		cfg.MaxOutOfOrder = time.Duration(size) * time.Millisecond * 2
		w := mustNew(t, cfg, aggDefaults("count", "count"))
		o := w.Add(Input{TimeMs: ts, Offset: -1, Fields: mk()})
		if o.Verdict != Accepted || int64(o.Windows) != size/adv || len(w.order) != int(size/adv) {
			t.Fatalf("size %d adv %d off %d ts %d: %+v, %d windows", size, adv, off, ts, o, len(w.order))
		}
		for _, win := range w.order {
			if ts < win.start || ts >= win.end || win.end-win.start != size || floorMod(win.start-off, adv) != 0 {
				t.Fatalf("window [%d,%d) for ts %d", win.start, win.end, ts)
			}
		}
	})
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// decodeFuzzEvents turns bytes into (user, time) pairs: 3 bytes each.
func decodeFuzzEvents(data []byte) (users []string, ts []int64) {
	base := msOf("2026-03-01T00:00:00Z")
	for len(data) >= 3 {
		users = append(users, fmt.Sprintf("u%d", data[0]%4))
		ts = append(ts, base+int64(binary.LittleEndian.Uint16(data[1:3]))*1000)
		data = data[3:]
	}
	return
}

// FuzzSessionMerge: with every event on time (large out-of-order bound),
// the final sessions of each user never overlap, cover every event once,
// and equal the sessions computed directly from the sorted times.
func FuzzSessionMerge(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 100, 0, 0, 50, 0, 1, 10, 0, 0, 0, 20})
	f.Add([]byte{1, 0, 10, 1, 0, 40, 1, 0, 20, 1, 0, 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		users, ts := decodeFuzzEvents(data)
		if len(ts) == 0 || len(ts) > 500 {
			t.Skip()
		}
		const gap = 600_000
		cfg := baseConfig()
		cfg.Type, cfg.GroupBy, cfg.SessionGap = "session", []string{"user_id"}, gap*time.Millisecond
		cfg.MaxOutOfOrder = 100 * time.Hour
		cfg.AllowedLateness = time.Hour
		w := mustNew(t, cfg, aggDefaults("count", "count"))
		var results []Result
		for i := range ts {
			w.Add(Input{TimeMs: ts[i], Offset: -1, Fields: mk("user_id=" + users[i])})
			results = w.TakeResults(results)
		}
		w.Add(Input{TimeMs: msOf("2027-01-01T00:00:00Z"), Offset: -1, Fields: mk("user_id=zz")})
		results = w.TakeResults(results)
		// Latest version per id, retractions removed.
		latest := map[string]Result{}
		for _, r := range results {
			if old, ok := latest[r.ID]; ok && old.Version >= r.Version {
				t.Fatalf("version did not grow for %s", r.ID)
			}
			latest[r.ID] = r
		}
		got := map[string][][3]int64{}
		for _, r := range latest {
			if !r.Retract {
				u := r.Key["user_id"]
				got[u] = append(got[u], [3]int64{r.WindowStart, r.WindowEnd, r.Values["count"].(int64)})
			}
		}
		want := map[string][][3]int64{}
		byUser := map[string][]int64{}
		for i, u := range users {
			byUser[u] = append(byUser[u], ts[i])
		}
		for u, tt := range byUser {
			slices.Sort(tt)
			start, last, n := tt[0], tt[0], int64(1)
			for _, x := range tt[1:] {
				if x-last >= gap {
					want[u] = append(want[u], [3]int64{start, last + gap, n})
					start, n = x, 0
				}
				last = x
				n++
			}
			want[u] = append(want[u], [3]int64{start, last + gap, n})
		}
		for u := range got {
			sort.Slice(got[u], func(i, j int) bool { return got[u][i][0] < got[u][j][0] })
			for i := 1; i < len(got[u]); i++ {
				if got[u][i][0] < got[u][i-1][1] {
					t.Fatalf("user %s: sessions overlap: %v", u, got[u])
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("sessions\n got %v\nwant %v", got, want)
		}
	})
}

// FuzzRestore: stopping at any point, restoring from the changelog and
// continuing gives the same results and state as an uninterrupted run.
func FuzzRestore(f *testing.F) {
	f.Add(uint64(1), uint16(10), uint8(0))
	f.Add(uint64(99), uint16(333), uint8(1))
	f.Add(uint64(7), uint16(0), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, at uint16, typ uint8) {
		types := []string{"tumbling", "hopping", "session"}
		st := makeStream(seed, 600, 20, 300, 120_000)
		mkw := metricWindower(t, types[int(typ)%3])
		want, wantSnap := runStream(t, mkw, st, 7, nil)
		got, gotSnap := runStream(t, mkw, st, 7, []int{int(at) % 600, (int(at)*7 + 13) % 600})
		if !slices.Equal(got, want) || !recordsEqual(gotSnap, wantSnap) {
			t.Fatalf("restore at %d differs: %d vs %d results", at, len(got), len(want))
		}
	})
}
