package windowing

import (
	"math"
	"slices"
	"sort"
)

// Measure kinds.
const (
	kCount = iota
	kCountBy
	kDistinct
	kTopK
	kStats
	kSessions
	kFunnel
	kAlert
)

var kindNames = map[string]uint8{
	"count": kCount, "count_by": kCountBy, "distinct": kDistinct, "top_k": kTopK,
	"stats": kStats, "sessions": kSessions, "funnel": kFunnel, "alert": kAlert,
}

// otherValue is the bucket for values beyond a measure's max.values and
// for pages beyond max.interned.
const otherValue = "(other)"

// fixedScale is the fixed-point scale of sums: numbers are summed as
// integers of 1/10000, so sums are exact and independent of order for
// values with at most 4 decimals (money, milliseconds).
const fixedScale = 10000

func toFixed(v float64) int64 { return int64(math.Round(v * fixedScale)) }

// maxFunnelHits bounds the funnel events kept per user per window; an
// ordered funnel over more matching events of one user in one window
// counts only the first ones to arrive (Stats.FunnelHitsDropped).
const maxFunnelHits = 256

// measure is a compiled AggregateConfig.
type measure struct {
	name      string
	kind      uint8
	field     int // string field index (num index for stats)
	filter    []cond
	k         int
	maxValues int
	exactMax  int
	threshold int64
	steps     []cond
	user      int
	cfg       AggregateConfig
}

func (m *measure) pass(e *event) bool {
	for i := range m.filter {
		if !m.filter[i].match(e) {
			return false
		}
	}
	return true
}

// aggState is the state of one measure in one window and key (or one
// session). Methods get the measure and the windower for parameters and
// the string interner; none of them keeps the event.
type aggState interface {
	add(m *measure, e *event, w *Windower)
	merge(m *measure, o aggState, w *Windower)
	appendState(b []byte) []byte
	readState(m *measure, r *reader, w *Windower)
	values(m *measure, v map[string]any, res *Result)
}

func newAgg(m *measure) aggState {
	switch m.kind {
	case kCount:
		return &countAgg{}
	case kCountBy, kTopK:
		return &counterAgg{}
	case kDistinct:
		return &distinctAgg{}
	case kStats:
		return &statsAgg{}
	case kFunnel:
		return &funnelAgg{}
	case kAlert:
		return &alertAgg{}
	}
	return nil
}

// ---- count, alert

type countAgg struct{ n int64 }

func (a *countAgg) add(*measure, *event, *Windower) { a.n++ }
func (a *countAgg) merge(_ *measure, o aggState, _ *Windower) {
	a.n += o.(*countAgg).n
}
func (a *countAgg) appendState(b []byte) []byte { return putUvarint(b, uint64(a.n)) }
func (a *countAgg) readState(_ *measure, r *reader, _ *Windower) {
	a.n = int64(r.uvarint())
}
func (a *countAgg) values(m *measure, v map[string]any, _ *Result) { v[m.name] = a.n }

type alertAgg struct{ countAgg }

// AlertValue is the value of an alert measure.
type AlertValue struct {
	Count     int64 `json:"count"`
	Threshold int64 `json:"threshold"`
	Fired     bool  `json:"fired"`
}

func (a *alertAgg) merge(_ *measure, o aggState, _ *Windower) { a.n += o.(*alertAgg).n }
func (a *alertAgg) values(m *measure, v map[string]any, res *Result) {
	fired := a.n > m.threshold
	v[m.name] = AlertValue{Count: a.n, Threshold: m.threshold, Fired: fired}
	if fired {
		res.Alerts = append(res.Alerts, m.name)
	}
}

// ---- count_by, top_k

type counterAgg struct {
	m     map[string]int64
	other int64
}

func (a *counterAgg) add(m *measure, e *event, w *Windower) {
	v := e.str[m.field]
	if a.m == nil {
		a.m = make(map[string]int64, 8)
	}
	if p, ok := a.m[v]; ok {
		// Assigning to an existing string key stores the new key too, and
		// v may alias the caller's reused buffer: write through the
		// interned copy.
		a.m[w.intern(v)] = p + 1
		return
	}
	if len(a.m) >= m.maxValues {
		a.other++
		w.stats.ValuesOverflowed++
		return
	}
	a.m[w.intern(v)] = 1
}

func (a *counterAgg) merge(m *measure, o aggState, w *Windower) {
	ob := o.(*counterAgg)
	for _, k := range sortedKeys(ob.m) {
		if a.m == nil {
			a.m = make(map[string]int64, len(ob.m))
		}
		if _, ok := a.m[k]; ok || len(a.m) < m.maxValues {
			a.m[k] += ob.m[k]
		} else {
			a.other += ob.m[k]
		}
	}
	a.other += ob.other
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (a *counterAgg) appendState(b []byte) []byte {
	b = putUvarint(b, uint64(a.other))
	b = putUvarint(b, uint64(len(a.m)))
	for _, k := range sortedKeys(a.m) {
		b = putString(b, k)
		b = putUvarint(b, uint64(a.m[k]))
	}
	return b
}

func (a *counterAgg) readState(_ *measure, r *reader, w *Windower) {
	a.other = int64(r.uvarint())
	n := r.count(2)
	if n > 0 {
		a.m = make(map[string]int64, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		k := w.intern(r.string())
		a.m[k] = int64(r.uvarint())
	}
}

// TopEntry is one value of a top_k measure with its count.
type TopEntry struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

func (a *counterAgg) values(m *measure, v map[string]any, _ *Result) {
	if m.kind == kCountBy {
		out := make(map[string]int64, len(a.m)+1)
		for k, n := range a.m {
			out[k] = n
		}
		if a.other > 0 {
			out[otherValue] += a.other
		}
		v[m.name] = out
		return
	}
	top := make([]TopEntry, 0, len(a.m))
	for k, n := range a.m {
		top = append(top, TopEntry{k, n})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].Count != top[j].Count {
			return top[i].Count > top[j].Count
		}
		return top[i].Value < top[j].Value
	})
	if len(top) > m.k {
		top = top[:m.k]
	}
	v[m.name] = top
}

// ---- distinct

type distinctAgg struct{ d distinct }

func (a *distinctAgg) add(m *measure, e *event, _ *Windower) {
	if s := e.str[m.field]; s != "" {
		a.d.add(hash64(s), m.exactMax)
	}
}
func (a *distinctAgg) merge(m *measure, o aggState, _ *Windower) {
	a.d.merge(&o.(*distinctAgg).d, m.exactMax)
}
func (a *distinctAgg) appendState(b []byte) []byte {
	if a.d.regs != nil {
		b = append(b, 1)
		return append(b, a.d.regs...)
	}
	b = append(b, 0)
	hs := a.d.hashes()
	b = putUvarint(b, uint64(len(hs)))
	prev := uint64(0)
	for _, h := range hs { // sorted: delta-encode
		b = putUvarint(b, h-prev)
		prev = h
	}
	return b
}
func (a *distinctAgg) readState(m *measure, r *reader, _ *Windower) {
	if r.byte() == 1 {
		regs := r.bytes(hllM)
		if r.err == nil {
			a.d.regs = slices.Clone(regs)
		}
		return
	}
	n := r.count(1)
	prev := uint64(0)
	for i := 0; i < n && r.err == nil; i++ {
		prev += r.uvarint()
		a.d.add(prev, math.MaxInt) // restore exactly what was there
	}
}
func (a *distinctAgg) values(m *measure, v map[string]any, _ *Result) {
	v[m.name] = a.d.estimate()
}

// ---- stats

type statsAgg struct {
	n        int64
	sum      int64 // fixed point
	min, max float64
	q        quantiles
}

func (a *statsAgg) add(m *measure, e *event, _ *Windower) {
	if !e.hasNum[m.field] {
		return
	}
	a.addValue(e.num[m.field])
}

func (a *statsAgg) addValue(x float64) {
	if a.n == 0 || x < a.min {
		a.min = x
	}
	if a.n == 0 || x > a.max {
		a.max = x
	}
	a.n++
	a.sum += toFixed(x)
	a.q.add(x)
}

func (a *statsAgg) merge(_ *measure, o aggState, _ *Windower) {
	ob := o.(*statsAgg)
	if ob.n == 0 {
		return
	}
	if a.n == 0 || ob.min < a.min {
		a.min = ob.min
	}
	if a.n == 0 || ob.max > a.max {
		a.max = ob.max
	}
	a.n += ob.n
	a.sum += ob.sum
	a.q.merge(&ob.q)
}

func (a *statsAgg) appendState(b []byte) []byte {
	b = putUvarint(b, uint64(a.n))
	b = putVarint(b, a.sum)
	b = putFloat(b, a.min)
	b = putFloat(b, a.max)
	if !a.q.sk {
		b = append(b, 0)
		b = putUvarint(b, uint64(len(a.q.exact)))
		for _, x := range a.q.exact {
			b = putFloat(b, x)
		}
		return b
	}
	b = append(b, 1)
	b = putUvarint(b, a.q.n)
	b = putUvarint(b, a.q.zero)
	for _, bk := range []*buckets{&a.q.pos, &a.q.neg} {
		b = putVarint(b, int64(bk.off))
		b = putUvarint(b, uint64(len(bk.counts)))
		for _, c := range bk.counts {
			b = putUvarint(b, uint64(c))
		}
	}
	return b
}

func (a *statsAgg) readState(_ *measure, r *reader, _ *Windower) {
	a.n = int64(r.uvarint())
	a.sum = r.varint()
	a.min = r.float()
	a.max = r.float()
	if r.byte() == 0 {
		n := r.count(8)
		for i := 0; i < n && r.err == nil; i++ {
			a.q.exact = append(a.q.exact, r.float())
		}
		a.q.n = uint64(len(a.q.exact))
		return
	}
	a.q.sk = true
	a.q.n = r.uvarint()
	a.q.zero = r.uvarint()
	for _, bk := range []*buckets{&a.q.pos, &a.q.neg} {
		bk.off = int32(r.varint())
		n := r.count(1)
		for i := 0; i < n && r.err == nil; i++ {
			bk.counts = append(bk.counts, uint32(r.uvarint()))
		}
	}
}

func (a *statsAgg) values(m *measure, v map[string]any, _ *Result) {
	v["count_"+m.name] = a.n
	v["sum_"+m.name] = float64(a.sum) / fixedScale
	if a.n == 0 {
		return
	}
	v["avg_"+m.name] = float64(a.sum) / fixedScale / float64(a.n)
	v["min_"+m.name] = a.min
	v["max_"+m.name] = a.max
	v["p50_"+m.name] = a.q.quantile(0.50)
	v["p95_"+m.name] = a.q.quantile(0.95)
}

// ---- funnel

type funnelHit struct {
	t    int64
	mask uint32
}

type funnelAgg struct {
	users map[string][]funnelHit
}

func (a *funnelAgg) add(m *measure, e *event, w *Windower) {
	var mask uint32
	for i := range m.steps {
		if m.steps[i].match(e) {
			mask |= 1 << i
		}
	}
	u := e.str[m.user]
	if mask == 0 || u == "" {
		return
	}
	if a.users == nil {
		a.users = make(map[string][]funnelHit)
	}
	u = w.intern(u) // the map keeps the key of every assignment: never the caller's bytes
	hits := a.users[u]
	if len(hits) >= maxFunnelHits {
		w.stats.FunnelHitsDropped++
		return
	}
	a.users[u] = insertHit(hits, funnelHit{e.ts, mask})
}

// insertHit keeps hits sorted by time, equal times in arrival order.
func insertHit(hits []funnelHit, h funnelHit) []funnelHit {
	i := len(hits)
	for i > 0 && hits[i-1].t > h.t {
		i--
	}
	return slices.Insert(hits, i, h)
}

func (a *funnelAgg) merge(_ *measure, o aggState, w *Windower) {
	ob := o.(*funnelAgg)
	for _, u := range sortedKeys(ob.users) {
		if a.users == nil {
			a.users = make(map[string][]funnelHit)
		}
		hits := a.users[u]
		for _, h := range ob.users[u] {
			if len(hits) >= maxFunnelHits {
				w.stats.FunnelHitsDropped++
				break
			}
			hits = insertHit(hits, h)
		}
		a.users[u] = hits
	}
}

func (a *funnelAgg) appendState(b []byte) []byte {
	b = putUvarint(b, uint64(len(a.users)))
	for _, u := range sortedKeys(a.users) {
		b = putString(b, u)
		hits := a.users[u]
		b = putUvarint(b, uint64(len(hits)))
		prev := int64(0)
		for _, h := range hits {
			b = putVarint(b, h.t-prev)
			prev = h.t
			b = putUvarint(b, uint64(h.mask))
		}
	}
	return b
}

func (a *funnelAgg) readState(_ *measure, r *reader, w *Windower) {
	n := r.count(2)
	if n > 0 {
		a.users = make(map[string][]funnelHit, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		u := w.intern(r.string())
		k := r.count(2)
		hits := make([]funnelHit, 0, k)
		prev := int64(0)
		for j := 0; j < k && r.err == nil; j++ {
			prev += r.varint()
			hits = append(hits, funnelHit{prev, uint32(r.uvarint())})
		}
		a.users[u] = hits
	}
}

// FunnelStep is one step of a funnel value: how many users reached it in
// order, its share of the users of the first step, and of the step before.
type FunnelStep struct {
	Step       string  `json:"step"`
	Users      int64   `json:"users"`
	Conversion float64 `json:"conversion"`
	FromPrev   float64 `json:"from_previous"`
}

// FunnelValue is the value of a funnel measure.
type FunnelValue struct {
	Steps      []FunnelStep `json:"steps"`
	Conversion float64      `json:"conversion"`
}

// reached returns how far in order the hits get: walking them by time, an
// event advances the user by at most one step, when it matches the next.
func reached(hits []funnelHit, steps int) int {
	cur := 0
	for _, h := range hits {
		if cur < steps && h.mask&(1<<cur) != 0 {
			cur++
		}
	}
	return cur
}

func (a *funnelAgg) values(m *measure, v map[string]any, _ *Result) {
	counts := make([]int64, len(m.steps))
	for _, hits := range a.users {
		r := reached(hits, len(m.steps))
		for i := 0; i < r; i++ {
			counts[i]++
		}
	}
	fv := FunnelValue{Steps: make([]FunnelStep, len(m.steps))}
	for i := range m.steps {
		s := FunnelStep{Step: m.steps[i].String(), Users: counts[i]}
		if counts[0] > 0 {
			s.Conversion = float64(counts[i]) / float64(counts[0])
		}
		if i == 0 {
			s.FromPrev = 1
			if counts[0] == 0 {
				s.FromPrev = 0
			}
		} else if counts[i-1] > 0 {
			s.FromPrev = float64(counts[i]) / float64(counts[i-1])
		}
		fv.Steps[i] = s
	}
	fv.Conversion = fv.Steps[len(fv.Steps)-1].Conversion
	v[m.name] = fv
}
