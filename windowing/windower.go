package windowing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Fields gives the windower an event's fields by name. The caller
// implements it over its own parsed form (a fastjson value, a struct).
// The strings returned need only stay valid until Add returns: the
// windower copies what it keeps, so an implementation may return strings
// that alias a reused parse buffer. A field that is absent, null or of
// another type reports false; an absent string field reads as "".
type Fields interface {
	Str(name string) (string, bool)
	Num(name string) (float64, bool)
}

// Input is one event as the caller hands it to Add: its event time (in
// Unix milliseconds, read by the caller from Config.TimestampField), the
// input partition and offset it came from, and its fields.
type Input struct {
	TimeMs    int64
	Partition int32
	Offset    int64 // < 0: not checked for duplicates
	Fields    Fields
}

// Verdict says what Add did with an event.
type Verdict uint8

const (
	// Accepted: the event was added to every window it belongs to.
	Accepted Verdict = iota
	// Rejected: the event was added to no window; Reason says why. The
	// caller writes it to the late-records (or overflow) output.
	Rejected
	// Partial: a hopping event was added to some of its windows but was
	// too late for (or refused by) others; Reason says why. The caller
	// should route it to the late output too, marked partial.
	Partial
	// Duplicate: the offset is not above the last one applied for its
	// partition (a replay of input the state already holds); nothing done.
	Duplicate
)

// String implements fmt.Stringer.
func (v Verdict) String() string {
	switch v {
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	case Partial:
		return "partial"
	case Duplicate:
		return "duplicate"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Reason says why an event (or part of it) was not added.
type Reason uint8

const (
	// ReasonNone: nothing was refused.
	ReasonNone Reason = iota
	// ReasonTooLate: the event's window was closed longer ago than
	// allowed.lateness.ms (its state is gone).
	ReasonTooLate
	// ReasonWindowLimit: the event's window was closed early (or could not
	// be opened) because max.windows windows were open.
	ReasonWindowLimit
	// ReasonKeyLimit: the event's group key is new and max.keys keys are
	// already held.
	ReasonKeyLimit
)

// String implements fmt.Stringer.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonTooLate:
		return "too_late"
	case ReasonWindowLimit:
		return "window_limit"
	case ReasonKeyLimit:
		return "key_limit"
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Outcome is what Add did with one event.
type Outcome struct {
	Verdict Verdict
	Reason  Reason // the first reason a window refused the event
	Windows int    // windows (or sessions) the event was added to
	Refused int    // windows that refused it
}

// Stats are the windower's counters, for the connector's logs and metrics.
type Stats struct {
	Events            int64 // events accepted into at least one window
	Late              int64 // events refused entirely as too late
	PartlyLate        int64 // hopping events refused by some of their windows
	Duplicates        int64 // events skipped as already applied (offset)
	KeyLimited        int64 // window×key additions refused by max.keys
	WindowLimited     int64 // window additions refused by max.windows
	WindowsEvicted    int64 // windows closed early by max.windows
	Results           int64 // results emitted (all versions)
	Reemitted         int64 // results emitted with version > 1
	Retracted         int64 // session results retracted by a merge or extension
	ValuesOverflowed  int64 // count_by/top_k values counted as (other)
	PagesOverflowed   int64 // session pages recorded as (other)
	FunnelHitsDropped int64 // funnel events beyond the per-user bound
	OpenWindows       int   // windows held (open or kept for lateness)
	Cells             int   // window×key states held
	SessionKeys       int   // session keys held
	Sessions          int   // sessions held (open or kept for lateness)
	Watermark         int64 // the overall watermark (math.MinInt64 before any)
}

// event is the windower's scratch copy of the fields of the event at hand.
type event struct {
	ts     int64
	str    []string
	num    []float64
	hasNum []bool
}

// partition is the watermark state of one input partition.
type partition struct {
	id         int32
	maxTs      int64 // math.MinInt64: no event yet
	lastOffset int64
	lastActive int64 // the caller's clock at the last Tick that saw events
	active     bool  // events since the last Tick
	idle       bool
	dirty      bool
}

// Window types.
const (
	wtTumbling = iota
	wtHopping
	wtSession
)

// Windower assigns events to event-time windows, aggregates them per group
// key and emits a Result per window and key when the watermark closes it.
// It is not safe for concurrent use: one task owns one windower.
type Windower struct {
	connector string
	cfg       Config
	wt        int
	size, adv int64
	off, gap  int64
	ooo       int64
	grace     int64
	lateness  int64
	idleMs    int64
	measures  []*measure
	sessM     *measure
	genAggs   []*measure // measures other than sessions
	strFields []string
	numFields []string
	groupIdx  []int
	fp        uint64

	ev     event
	keyBuf []byte

	parts    map[int32]*partition
	partList []*partition
	lastPart *partition
	minPart  *partition
	wm       int64

	wins         map[int64]*window
	order        []*window // by start
	nextAction   int64
	evicted      bool
	evictedStart int64

	ss sessStore

	pending    []Result
	pendingIdx map[string]int

	dirtyCells  []*cell
	tombs       [][]byte
	globalDirty bool

	stats    Stats
	strs     map[string]string
	pages    map[string]uint32
	pageList []string
	loading  bool
}

// New builds a windower for the connector named connector (the name is
// part of every result id) from a validated window config and the
// measures it names, in any order (one AggregateConfig per name in
// cfg.Aggregates, with Name set). Every problem is returned, joined, as
// *ConfigError values.
func New(connector string, cfg Config, aggs []AggregateConfig) (*Windower, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	byName := map[string]*AggregateConfig{}
	for i := range aggs {
		a := &aggs[i]
		if !slices.Contains(cfg.Aggregates, a.Name) {
			errs = append(errs, cerr("aggregate."+a.Name+".type", "configures a measure that aggregates does not list; add %q to aggregates or remove its keys", a.Name))
			continue
		}
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
		byName[a.Name] = a
	}
	w := &Windower{
		connector:  connector,
		cfg:        cfg,
		size:       cfg.Size.Milliseconds(),
		adv:        cfg.Advance.Milliseconds(),
		off:        cfg.Offset.Milliseconds(),
		gap:        cfg.SessionGap.Milliseconds(),
		ooo:        cfg.MaxOutOfOrder.Milliseconds(),
		grace:      cfg.Grace.Milliseconds(),
		lateness:   cfg.AllowedLateness.Milliseconds(),
		idleMs:     cfg.IdleTimeout.Milliseconds(),
		parts:      map[int32]*partition{},
		wm:         math.MinInt64,
		wins:       map[int64]*window{},
		nextAction: math.MaxInt64,
		pendingIdx: map[string]int{},
		strs:       map[string]string{},
		pages:      map[string]uint32{otherValue: 0},
		pageList:   []string{otherValue},
	}
	switch cfg.Type {
	case "hopping":
		w.wt = wtHopping
		if w.adv > 0 && w.size/w.adv > int64(cfg.MaxWindows) {
			errs = append(errs, cerr("max.windows", "%d is less than the %d windows each event belongs to (window.size.ms / window.advance.ms); raise it", cfg.MaxWindows, w.size/w.adv))
		}
	case "session":
		w.wt = wtSession
	default:
		w.wt = wtTumbling
		w.adv = w.size
	}
	for _, g := range cfg.GroupBy {
		w.groupIdx = append(w.groupIdx, w.strField(g))
	}
	for _, name := range cfg.Aggregates {
		a, ok := byName[name]
		if !ok {
			errs = append(errs, cerr("aggregate."+name+".type", "is required: aggregates lists %q; set its type, e.g. aggregate.%s.type=count", name, name))
			continue
		}
		m := &measure{name: name, kind: kindNames[a.Type], k: a.K, maxValues: a.MaxValues,
			exactMax: a.ExactMax, threshold: a.Threshold, cfg: *a}
		if m.maxValues <= 0 {
			m.maxValues = 10000
		}
		switch m.kind {
		case kStats:
			m.field = w.numField(a.Field)
		case kCountBy, kTopK, kDistinct, kAlert:
			if a.Field != "" {
				m.field = w.strField(a.Field)
			}
		case kFunnel:
			m.user = w.strField(a.UserField)
			for _, s := range a.Steps {
				c, _ := parseCond(s)
				c.fieldI = w.strField(c.field)
				m.steps = append(m.steps, c)
			}
		case kSessions:
			if w.wt != wtSession {
				errs = append(errs, cerr("aggregate."+name+".type", "sessions needs session windows; set window.type=session (or use another measure)"))
			}
			if w.sessM != nil {
				errs = append(errs, cerr("aggregate."+name+".type", "only one sessions measure is allowed; %q is one already", w.sessM.name))
			}
			if a.PathMax <= 0 {
				m.cfg.PathMax = 50
			}
			w.sessM = m
			w.ss.user = w.strField(a.UserField)
			w.ss.sid = w.strField(a.SessionField)
			w.ss.page = w.strField(a.PageField)
			w.ss.typ = w.strField(a.TypeField)
			w.ss.rev = w.numField(a.RevenueField)
			w.ss.userIsKey = len(cfg.GroupBy) == 1 && cfg.GroupBy[0] == a.UserField
		}
		for _, f := range a.Filter {
			c, _ := parseCond(f)
			c.fieldI = w.strField(c.field)
			m.filter = append(m.filter, c)
		}
		w.measures = append(w.measures, m)
		if m.kind != kSessions {
			w.genAggs = append(w.genAggs, m)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	w.ev.str = make([]string, len(w.strFields))
	w.ev.num = make([]float64, len(w.numFields))
	w.ev.hasNum = make([]bool, len(w.numFields))
	w.fp = w.fingerprint()
	w.ss.init()
	return w, nil
}

func (w *Windower) strField(name string) int {
	if i := slices.Index(w.strFields, name); i >= 0 {
		return i
	}
	w.strFields = append(w.strFields, name)
	return len(w.strFields) - 1
}

func (w *Windower) numField(name string) int {
	if i := slices.Index(w.numFields, name); i >= 0 {
		return i
	}
	w.numFields = append(w.numFields, name)
	return len(w.numFields) - 1
}

// fingerprint hashes what the meaning of the state depends on: window
// shape, group key and measures (not grace, lateness or bounds, which may
// change across a restart).
func (w *Windower) fingerprint() uint64 {
	var sb strings.Builder
	fmt.Fprintf(&sb, "v%d|%d|%d|%d|%d|%d|%q|", stateFormat, w.wt, w.size, w.adv, w.off, w.gap, w.cfg.GroupBy)
	for _, m := range w.measures {
		fmt.Fprintf(&sb, "%s|%d|%+v|", m.name, m.kind, m.cfg)
	}
	return hash64(sb.String())
}

// StringFields lists the string fields the windower reads from each event
// (group-by, measure and filter fields), NumberFields the numeric ones; a
// caller may extract exactly these once per event.
func (w *Windower) StringFields() []string { return slices.Clone(w.strFields) }

// NumberFields lists the numeric fields the windower reads from each event.
func (w *Windower) NumberFields() []string { return slices.Clone(w.numFields) }

// Watermark returns the overall watermark (math.MinInt64 before the first
// event): the minimum over active partitions of their newest event time
// minus max.out.of.order.ms, never moving back.
func (w *Windower) Watermark() int64 { return w.wm }

// PartitionWatermark returns one partition's watermark state: its newest
// event time (math.MinInt64 if none), the last offset applied (-1 if none)
// and whether it is idle. ok is false for an unknown partition.
func (w *Windower) PartitionWatermark(p int32) (maxEventMs, lastOffset int64, idle, ok bool) {
	pt := w.parts[p]
	if pt == nil {
		return math.MinInt64, -1, false, false
	}
	return pt.maxTs, pt.lastOffset, pt.idle, true
}

// Stats returns the counters and sizes.
func (w *Windower) Stats() Stats {
	s := w.stats
	s.OpenWindows = len(w.order)
	for _, win := range w.order {
		s.Cells += len(win.list)
	}
	s.SessionKeys = w.ss.live
	s.Sessions = w.ss.sessions
	s.Watermark = w.wm
	return s
}

func (w *Windower) intern(s string) string {
	if v, ok := w.strs[s]; ok {
		return v
	}
	if len(w.strs) >= 1<<20 { // a cache, not state: clearing it changes nothing
		clear(w.strs)
	}
	v := strings.Clone(s)
	w.strs[v] = v
	return v
}

func (w *Windower) part(id int32) *partition {
	if p := w.lastPart; p != nil && p.id == id {
		return p
	}
	p := w.parts[id]
	if p == nil {
		p = &partition{id: id, maxTs: math.MinInt64, lastOffset: -1}
		w.parts[id] = p
		i := sort.Search(len(w.partList), func(i int) bool { return w.partList[i].id > id })
		w.partList = slices.Insert(w.partList, i, p)
		w.minPart = nil
	}
	w.lastPart = p
	return p
}

// Assign registers partitions the caller now consumes, at the caller's
// clock nowMs: a registered partition without events holds the watermark
// back until it has events or has been idle for idle.timeout.ms. For a
// known partition (restored from a snapshot) the assignment counts as
// activity at nowMs.
func (w *Windower) Assign(partitions []int32, nowMs int64) {
	w.finishLoad()
	for _, id := range partitions {
		if p, ok := w.parts[id]; ok {
			// A restored partition's last activity is from the instance
			// before; being assigned now counts as activity, or a worker
			// down longer than idle.timeout would mark every partition
			// idle at its first Tick, jump the watermark to the newest
			// one, and turn the lagging partitions' events late.
			if nowMs > p.lastActive {
				p.lastActive = nowMs
				p.dirty = true
			}
			continue
		}
		p := w.part(id)
		p.lastActive = nowMs
		p.dirty = true
	}
	w.minPart = nil
}

// Revoke forgets the watermark state of partitions the caller no longer
// consumes (its record is deleted from the changelog), so they stop
// holding the watermark back. Window state is kept.
func (w *Windower) Revoke(partitions []int32) {
	w.finishLoad()
	for _, id := range partitions {
		p := w.parts[id]
		if p == nil {
			continue
		}
		delete(w.parts, id)
		w.partList = slices.DeleteFunc(w.partList, func(q *partition) bool { return q == p })
		w.tombs = append(w.tombs, partKey(id))
		if w.lastPart == p {
			w.lastPart = nil
		}
	}
	w.minPart = nil
	w.updateWatermark()
}

// Tick tells the windower the caller's clock (Unix ms; the windower has no
// clock of its own). A partition that had no events between two ticks
// nowMs − idle.timeout.ms apart becomes idle and stops holding the
// watermark back, which may close windows (their results are then pending
// for TakeResults). Call it periodically, e.g. once per poll.
func (w *Windower) Tick(nowMs int64) {
	w.finishLoad()
	for _, p := range w.partList {
		switch {
		case p.active:
			p.lastActive, p.active, p.dirty = nowMs, false, true
			if p.idle {
				p.idle = false
			}
		case !p.idle && w.idleMs > 0 && nowMs-p.lastActive >= w.idleMs:
			p.idle, p.dirty = true, true
		}
	}
	w.minPart = nil
	w.updateWatermark()
}

// updateWatermark recomputes the overall watermark and closes what it
// passes.
func (w *Windower) updateWatermark() {
	cand := int64(math.MinInt64)
	var minP *partition
	found := false
	allIdle := true
	for _, p := range w.partList {
		if p.idle {
			continue
		}
		allIdle = false
		pw := partWM(p, w.ooo)
		if !found || pw < cand {
			cand, minP, found = pw, p, true
		}
	}
	if allIdle {
		for _, p := range w.partList {
			if pw := partWM(p, w.ooo); pw > cand {
				cand = pw
			}
		}
	}
	w.minPart = minP
	if cand > w.wm {
		w.wm = cand
		w.globalDirty = true
	}
	w.advance()
}

func partWM(p *partition, ooo int64) int64 {
	if p.maxTs == math.MinInt64 {
		return math.MinInt64
	}
	return p.maxTs - ooo
}

// Add adds one event. Results of windows it closes (by moving the
// watermark) or re-opens within allowed.lateness.ms are queued for
// TakeResults; an event the windower refuses is reported in the Outcome,
// never dropped silently. Add allocates nothing for an event that lands
// in existing windows and keys of count, count_by, distinct (exact set
// not growing, or HyperLogLog), stats (sketch form) and sessions measures.
func (w *Windower) Add(in Input) Outcome {
	w.finishLoad()
	p := w.part(in.Partition)
	if in.Offset >= 0 {
		if in.Offset <= p.lastOffset {
			w.stats.Duplicates++
			return Outcome{Verdict: Duplicate}
		}
		p.lastOffset = in.Offset
	}
	p.dirty, p.active = true, true
	if p.idle {
		p.idle = false
		w.minPart = nil
	}
	w.globalDirty = true
	w.readEvent(in)
	var out Outcome
	if w.wt == wtSession {
		out = w.addSession()
	} else {
		out = w.addWindowed()
	}
	switch {
	case out.Refused == 0:
		out.Verdict = Accepted
		w.stats.Events++
	case out.Windows == 0:
		out.Verdict = Rejected
		if out.Reason == ReasonTooLate {
			w.stats.Late++
		}
	default:
		out.Verdict = Partial
		w.stats.Events++
		w.stats.PartlyLate++
	}
	if in.TimeMs > p.maxTs {
		p.maxTs = in.TimeMs
		if w.minPart == nil || w.minPart == p {
			w.updateWatermark()
		}
	}
	return out
}

func (w *Windower) readEvent(in Input) {
	e := &w.ev
	e.ts = in.TimeMs
	for i, f := range w.strFields {
		s, _ := in.Fields.Str(f)
		e.str[i] = s
	}
	for i, f := range w.numFields {
		e.num[i], e.hasNum[i] = in.Fields.Num(f)
	}
	k := w.keyBuf[:0]
	for _, gi := range w.groupIdx {
		k = binary.AppendUvarint(k, uint64(len(e.str[gi])))
		k = append(k, e.str[gi]...)
	}
	w.keyBuf = k
}

// refuse records a refusal in out.
func refuse(out *Outcome, r Reason) {
	if out.Refused == 0 {
		out.Reason = r
	}
	out.Refused++
}

// advance closes and purges what the watermark has passed.
func (w *Windower) advance() {
	if w.wt == wtSession {
		w.advanceSessions()
		return
	}
	if w.wm < w.nextAction {
		return
	}
	w.advanceWindows()
}

// decodeKey turns a canonical group key back into field → value.
func (w *Windower) decodeKey(k []byte) map[string]string {
	out := make(map[string]string, len(w.groupIdx))
	for _, g := range w.cfg.GroupBy {
		n, sz := binary.Uvarint(k)
		if sz <= 0 || uint64(len(k)-sz) < n {
			break
		}
		out[g] = string(k[sz : sz+int(n)])
		k = k[sz+int(n):]
	}
	return out
}

// queue adds a result to the pending output, replacing a pending result
// with the same id (a newer version of a result not yet taken).
func (w *Windower) queue(r Result) {
	w.stats.Results++
	if r.Version > 1 && !r.Retract {
		w.stats.Reemitted++
	}
	if i, ok := w.pendingIdx[r.ID]; ok {
		w.pending[i] = r
		return
	}
	w.pendingIdx[r.ID] = len(w.pending)
	w.pending = append(w.pending, r)
}

// TakeResults appends the pending results to dst, in the order they were
// produced (by window end, then group key, for results closed together),
// and clears them. A result re-emitted before it was taken appears once,
// at its latest version. Call it before Changes, and write both in the
// same transaction.
func (w *Windower) TakeResults(dst []Result) []Result {
	dst = append(dst, w.pending...)
	clear(w.pending)
	w.pending = w.pending[:0]
	clear(w.pendingIdx)
	return dst
}

// PendingResults reports how many results TakeResults would return.
func (w *Windower) PendingResults() int { return len(w.pending) }

// BoundsHit describes what the state bounds did since prev (an earlier
// Stats of the same windower): additions refused by max.keys or
// max.windows, windows closed early, values, pages and funnel events
// counted as overflow. It is empty when no bound was hit; callers log it.
func (s Stats) BoundsHit(prev Stats) string {
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.KeyLimited-prev.KeyLimited, "window×key additions refused by max.keys")
	add(s.WindowLimited-prev.WindowLimited, "window additions refused by max.windows")
	add(s.WindowsEvicted-prev.WindowsEvicted, "windows closed early by max.windows (emitted with early=true)")
	add(s.ValuesOverflowed-prev.ValuesOverflowed, "values counted as (other) by max.values")
	add(s.PagesOverflowed-prev.PagesOverflowed, "session pages recorded as (other) by max.interned")
	add(s.FunnelHitsDropped-prev.FunnelHitsDropped, "funnel events beyond the per-user bound")
	return strings.Join(parts, "; ")
}
