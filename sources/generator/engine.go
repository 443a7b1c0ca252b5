package generator

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// MaxUsers is the most users one Engine simulates; it keeps about 17 bytes
// per user.
const MaxUsers = 10_000_000

// SessionGap is the inactivity that ends a session. Two sessions of one
// user are always more than SessionGap apart (with a second of margin):
// the first event of a session comes more than SessionGap + 1s after the
// user's previous event. Events within a session are seconds apart.
const SessionGap = 30 * time.Minute

// meanThinkSeconds is the mean time between two events of a session when
// there are users enough; with fewer users sessions run faster.
const meanThinkSeconds = 20

// maxDuplicateDistance is how far back a duplicate_id event looks for the
// event whose id it reuses.
const maxDuplicateDistance = 1000

// Options configures an Engine. Equal Options give byte-identical streams;
// Options that differ in any field give streams that share no event_id.
type Options struct {
	// Seed selects the stream.
	Seed int64
	// Users is how many distinct users the stream has, 1 to MaxUsers.
	Users int
	// FirstUser is the number of the first user: the stream's users are
	// user-<FirstUser> to user-<FirstUser+Users-1>. The tasks of one
	// connector get disjoint ranges (see ForTask).
	FirstUser int
	// Start is the event time of the first event, truncated to the
	// millisecond; its year must be between 1971 and 9999.
	Start time.Time
	// EventsPerSecond is the stream's rate in event time: event n is
	// stamped Start + n/EventsPerSecond seconds (truncated to the
	// millisecond), whatever the wall clock does. At least 1.
	EventsPerSecond int
	// BadRecordRatio is the fraction of events, 0 to 1, that are
	// deliberately bad; each bad event is one of BadKindsUsed, chosen
	// uniformly.
	BadRecordRatio float64
	// BadKindsUsed are the kinds bad events are drawn from, each once;
	// empty means all of BadKinds(). A stream of all kinds is the same
	// whether they are listed or not. A duplicate_id event with no valid
	// event before it to copy is out_of_order instead, listed or not.
	BadKindsUsed []BadKind
}

// badKinds returns the kinds bad events are drawn from.
func (o Options) badKinds() []BadKind {
	if len(o.BadKindsUsed) == 0 {
		return BadKinds()
	}
	return o.BadKindsUsed
}

// Validate reports what is wrong with o, naming the field.
func (o Options) Validate() error {
	var errs []error
	if o.Users < 1 || o.Users > MaxUsers {
		errs = append(errs, fmt.Errorf("Users is %d; it must be between 1 and %d", o.Users, MaxUsers))
	}
	if o.FirstUser < 0 || o.FirstUser > math.MaxInt64-MaxUsers {
		errs = append(errs, fmt.Errorf("FirstUser is %d; it must be 0 or more", o.FirstUser))
	}
	if y := o.Start.UTC().Year(); y < 1971 || y > 9999 {
		errs = append(errs, fmt.Errorf("Start is %s; its year must be between 1971 and 9999", o.Start.UTC().Format(time.RFC3339)))
	}
	if o.EventsPerSecond < 1 {
		errs = append(errs, fmt.Errorf("EventsPerSecond is %d; it must be 1 or more", o.EventsPerSecond))
	}
	if !(o.BadRecordRatio >= 0 && o.BadRecordRatio <= 1) {
		errs = append(errs, fmt.Errorf("BadRecordRatio is %v; it must be between 0 and 1", o.BadRecordRatio))
	}
	var seen [numBadKinds]bool
	for _, k := range o.BadKindsUsed {
		switch {
		case k == BadNone || k >= numBadKinds:
			errs = append(errs, fmt.Errorf("BadKindsUsed holds %v; it may hold only the kinds of BadKinds()", k))
		case seen[k]:
			errs = append(errs, fmt.Errorf("BadKindsUsed holds %v twice", k))
		default:
			seen[k] = true
		}
	}
	return errors.Join(errs...)
}

// ForTask returns the options of task task of tasks that share o: each
// task gets its own seed (derived from Seed and task), a disjoint share of
// the users, and a share of EventsPerSecond, so that the tasks together
// produce about the stream o describes. With tasks = 1 it returns o as it
// is. Every task must get at least one user and a rate of at least 1.
func (o Options) ForTask(task, tasks int) (Options, error) {
	if tasks < 1 || task < 0 || task >= tasks {
		return Options{}, fmt.Errorf("task %d of %d: the task must be in [0, tasks) and tasks at least 1", task, tasks)
	}
	if tasks == 1 {
		return o, nil
	}
	if o.Users < tasks {
		return Options{}, fmt.Errorf("%d users cannot be shared by %d tasks: every task needs a user of its own", o.Users, tasks)
	}
	if o.EventsPerSecond < tasks {
		return Options{}, fmt.Errorf("%d events per second cannot be shared by %d tasks: every task needs at least 1", o.EventsPerSecond, tasks)
	}
	t := o
	t.Seed = int64(mix64(uint64(o.Seed) ^ mix64(uint64(task)+0x5bd1e995)))
	t.Users, t.FirstUser = share(o.Users, task, tasks)
	t.FirstUser += o.FirstUser
	t.EventsPerSecond, _ = share(o.EventsPerSecond, task, tasks)
	return t, nil
}

// share splits total into tasks near-equal parts and returns part task and
// the sum of the parts before it.
func share[T ~int | ~int64](total T, task, tasks int) (part, before T) {
	n, i := T(tasks), T(task)
	q, r := total/n, total%n
	part = q
	if i < r {
		part++
	}
	return part, i*q + min(i, r)
}

// Meta describes one generated event.
type Meta struct {
	// Position is the event's index in the stream, from 0. The stream
	// position after it (the source offset) is Position+1.
	Position int64
	// Time is the event's time as written in its timestamp field (for an
	// out_of_order or late event, the shifted time; for a malformed one,
	// the time it would have had). UTC, millisecond precision.
	Time time.Time
	// Bad says how the event is deliberately bad, or BadNone.
	Bad BadKind
}

// Event is one generated event: its Meta, its Kafka key (the user_id) and
// its value (the JSON, or for a malformed event, whatever bytes it has).
type Event struct {
	Meta
	Key   []byte
	Value []byte
}

// funnel states: what a session does on its next event.
type state uint8

const (
	stLanding state = iota // the first page of a session
	stBrowse
	stProduct
	stSearch
	stClick
	stCart
	stCheckout
	stPurchase
	stExit
)

// page kinds: what kind of page a session is on.
type pageKind uint8

const (
	pgBrowse pageKind = iota
	pgProduct
	pgSearch
	pgCheckout
	pgConfirmation
)

// transition is one way out of a state, weighted per mille.
type transition struct {
	to     state
	weight int
}

// transitions are the funnel: browse → product → add_to_cart → checkout →
// purchase, with search and clicks along the way and an exit at every
// step. Each row's weights sum to 1000.
var transitions = [...][]transition{
	stBrowse:   {{stBrowse, 300}, {stProduct, 330}, {stSearch, 150}, {stClick, 100}, {stExit, 120}},
	stProduct:  {{stProduct, 250}, {stCart, 160}, {stClick, 150}, {stBrowse, 150}, {stSearch, 70}, {stExit, 220}},
	stSearch:   {{stProduct, 550}, {stSearch, 150}, {stBrowse, 100}, {stExit, 200}},
	stClick:    {{stProduct, 500}, {stBrowse, 300}, {stExit, 200}},
	stCart:     {{stCheckout, 450}, {stProduct, 250}, {stBrowse, 100}, {stExit, 200}},
	stCheckout: {{stPurchase, 550}, {stProduct, 100}, {stExit, 350}},
	stPurchase: {{stBrowse, 300}, {stExit, 700}},
}

// session is one visit of one user, occupying a slot of the engine.
type session struct {
	seq      uint64 // session number in the stream, from 1
	user     int32  // local user index
	state    state
	pageKind pageKind
	page     int32 // browse page, product or search term index
	cart     int64 // US cents in the cart
}

// produced is what the last step produced, for the encoder.
type produced struct {
	n        int64
	ms       int64
	user     int32
	seq      uint64
	typ      eventType
	pageKind pageKind
	page     int32
	revenue  int64 // US cents, purchases only
}

// noActivity is the last activity time of a user who has none yet.
const noActivity = math.MinInt64 / 2

// Engine generates one deterministic clickstream. It is pure: no I/O, no
// goroutines, no wall clock; event time is derived from the position.
// An Engine is not safe for concurrent use.
//
// The simulation: a number of sessions are open at once, each in a slot;
// each event is the next step of a session picked at random, so a session's
// events are seconds apart. When a session ends, a user who has been idle
// for more than SessionGap takes its slot; when no user has, the session
// goes on browsing instead. The stream therefore keeps its rate in event
// time and its session gaps whatever the number of users, and when users
// are few for the rate (fewer than about 400 per event per second) sessions
// get longer and busier instead.
type Engine struct {
	opt     Options
	key     uint64 // hash key, from the seed
	rng     rng
	pos     int64
	startMs int64
	eps     int64

	badThreshold uint64 // an event is bad when its hash is below this
	allBad       bool
	kinds        []BadKind // what a bad event may be (Options.badKinds)

	slots   []session
	nextSeq uint64

	// users, by local index: the time of their last event, and the idle
	// ones in a list ordered by that time (least recently active first).
	lastMs     []int64
	prev, next []int32
	active     []bool
	head, tail int32
	heavy      int // the first tenth of the users visit more often

	productCum, browseCum, searchCum []uint64 // Zipf, cumulative
	sourceCum, countryCum, deviceCum []uint64
	agentCum                         [len(devices)][]uint64

	cur produced
}

// NewEngine returns an engine positioned at the first event of the stream
// that o describes. It allocates the per-user state (about 17 bytes per
// user) and opens the first sessions.
func NewEngine(o Options) (*Engine, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	e := &Engine{
		opt:     o,
		key:     streamKey(o),
		startMs: o.Start.UnixMilli(),
		eps:     int64(o.EventsPerSecond),
	}
	e.rng = newRNG(e.key)
	e.kinds = o.badKinds()
	switch r := o.BadRecordRatio; {
	case r >= 1:
		e.allBad = true
	case r > 0:
		t := r * (1 << 64)
		if t >= math.MaxUint64 {
			e.allBad = true
		} else {
			e.badThreshold = uint64(t)
		}
	}

	e.productCum = zipfCum(numProducts)
	e.browseCum = zipfCum(len(browsePages))
	e.searchCum = zipfCum(len(searchTerms))
	e.sourceCum = cumulative(len(trafficSources), func(i int) uint64 { return trafficSources[i].weight })
	e.countryCum = cumulative(len(countries), func(i int) uint64 { return countries[i].weight })
	e.deviceCum = cumulative(len(devices), func(i int) uint64 { return devices[i].weight })
	for d := range devices {
		e.agentCum[d] = zipfCum(len(devices[d].agents))
	}

	n := o.Users
	e.lastMs = make([]int64, n)
	e.prev = make([]int32, n)
	e.next = make([]int32, n)
	e.active = make([]bool, n)
	for u := range n {
		e.lastMs[u] = noActivity
		e.prev[u] = int32(u - 1)
		e.next[u] = int32(u + 1)
	}
	e.next[n-1] = -1
	e.head, e.tail = 0, int32(n-1)
	e.heavy = max(1, n/10)

	slots := min(int64(o.EventsPerSecond)*meanThinkSeconds, int64(max(1, n/2)))
	e.slots = make([]session, slots)
	for i := range e.slots {
		u, ok := e.takeUser(e.startMs)
		if !ok {
			// Cannot happen: there are more idle users than slots and none
			// has been active. Reported rather than assumed.
			return nil, errors.New("generator: no idle user for a new session")
		}
		e.startSession(&e.slots[i], u)
	}
	return e, nil
}

// streamKey mixes every option into the key of the stream's random
// draws, so that streams of different options share no event_id.
func streamKey(o Options) uint64 {
	k := mix64(uint64(o.Seed) ^ 0x243f6a8885a308d3)
	for _, v := range []uint64{uint64(o.Users), uint64(o.FirstUser), uint64(o.Start.UnixMilli()), uint64(o.EventsPerSecond), math.Float64bits(o.BadRecordRatio)} {
		k = mix64(k ^ v)
	}
	if kinds := o.badKinds(); !slices.Equal(kinds, BadKinds()) {
		// Only a choice other than every kind changes the key, so
		// streams of all kinds stay as they were.
		for _, kind := range kinds {
			k = mix64(k ^ (0x9e3779b97f4a7c15 + uint64(kind)))
		}
	}
	return k
}

// Options returns the options the engine was built with.
func (e *Engine) Options() Options { return e.opt }

// Position returns the number of events produced so far: the index of the
// next event.
func (e *Engine) Position() int64 { return e.pos }

// TimeAt returns the event time of position n in the stream (before any
// out_of_order or late shift): Start + n/EventsPerSecond.
func (e *Engine) TimeAt(n int64) time.Time { return time.UnixMilli(e.msAt(n)).UTC() }

func (e *Engine) msAt(n int64) int64 {
	return e.startMs + (n/e.eps)*1000 + (n%e.eps)*1000/e.eps
}

// Skip advances the engine by n events without encoding them, so that the
// next event is the one a fresh engine would produce after n more. It runs
// the simulation (tens of nanoseconds an event) but none of the encoding.
func (e *Engine) Skip(n int64) {
	for ; n > 0; n-- {
		e.step()
	}
}

// Next returns the next event in newly allocated slices. Append is the
// faster way to generate many.
func (e *Engine) Next() Event {
	value, key, m := e.Append(make([]byte, 0, 640), make([]byte, 0, 16))
	return Event{Meta: m, Key: key, Value: value}
}

// Append generates the next event, appends its JSON encoding to value and
// its key (the user_id) to key, and returns the extended slices with the
// event's Meta. It allocates only when value or key must grow.
func (e *Engine) Append(value, key []byte) ([]byte, []byte, Meta) {
	e.step()
	c := &e.cur
	bad, dupOf := e.kindAt(c.n)
	ms := c.ms
	switch bad {
	case BadOutOfOrder:
		ms -= 60_000 + int64(below(hash64(e.key, uint64(c.n), saltShift), 9*60_000))
	case BadLate:
		ms -= 2*3600_000 + int64(below(hash64(e.key, uint64(c.n), saltShift), 70*3600_000))
	}
	key = appendUserID(key, int64(e.opt.FirstUser)+int64(c.user))
	value = e.encode(value, c, bad, ms, dupOf)
	return value, key, Meta{Position: c.n, Time: time.UnixMilli(ms).UTC(), Bad: bad}
}

// step advances the simulation by one event and leaves it in e.cur.
func (e *Engine) step() {
	n := e.pos
	now := e.msAt(n)
	s := &e.slots[e.rng.intn(len(e.slots))]
	c := &e.cur
	*c = produced{n: n, ms: now, user: s.user, seq: s.seq}

	st := s.state
	if st == stLanding {
		st = stBrowse
		if e.rng.permille() < 300 {
			st = stProduct
		}
	}
	switch st {
	case stBrowse:
		s.pageKind, s.page = pgBrowse, int32(pickCum(e.rng.next(), e.browseCum))
		c.typ = evPageView
	case stProduct:
		s.pageKind, s.page = pgProduct, int32(pickCum(e.rng.next(), e.productCum))
		c.typ = evPageView
	case stSearch:
		s.pageKind, s.page = pgSearch, int32(pickCum(e.rng.next(), e.searchCum))
		c.typ = evSearch
	case stClick:
		c.typ = evClick
	case stCart:
		qty := int64(1)
		if q := below(hash64(e.key, uint64(n), saltQuantity), 100); q < 3 {
			qty = 3
		} else if q < 15 {
			qty = 2
		}
		s.cart += qty * productPrice(int(s.page))
		c.typ = evAddToCart
	case stCheckout:
		s.pageKind = pgCheckout
		c.typ = evPageView
	case stPurchase:
		s.pageKind = pgConfirmation
		c.typ = evPurchase
		c.revenue = s.cart
		s.cart = 0
	}
	c.pageKind, c.page = s.pageKind, s.page

	next := stExit
	r := e.rng.permille()
	for _, t := range transitions[st] {
		if r < t.weight {
			next = t.to
			break
		}
		r -= t.weight
	}
	if next == stExit {
		if u, ok := e.takeUser(now); ok {
			e.releaseUser(s.user, now)
			e.startSession(s, u)
			next = stLanding
		} else {
			next = stBrowse // no one to take over: the visitor stays
		}
	}
	s.state = next
	e.pos++
}

// takeUser finds an idle user whose last event is more than SessionGap
// (plus a second) before now, and marks them active: a random user first
// (often one of the heavy users), then the least recently active one.
func (e *Engine) takeUser(now int64) (int32, bool) {
	limit := now - (SessionGap.Milliseconds() + 1000)
	for range 2 {
		x := e.rng.next()
		var u int32
		if x>>63 == 0 {
			u = int32(below(x<<1, uint64(len(e.lastMs))))
		} else {
			u = int32(below(x<<1, uint64(e.heavy)))
		}
		if !e.active[u] && e.lastMs[u] < limit {
			e.unlink(u)
			return u, true
		}
	}
	if h := e.head; h >= 0 && e.lastMs[h] < limit {
		e.unlink(h)
		return h, true
	}
	return -1, false
}

// unlink removes u from the idle list and marks them active.
func (e *Engine) unlink(u int32) {
	p, n := e.prev[u], e.next[u]
	if p >= 0 {
		e.next[p] = n
	} else {
		e.head = n
	}
	if n >= 0 {
		e.prev[n] = p
	} else {
		e.tail = p
	}
	e.active[u] = true
}

// releaseUser marks u idle since now, at the end of the idle list (which
// stays ordered by last activity because time never goes back).
func (e *Engine) releaseUser(u int32, now int64) {
	e.active[u] = false
	e.lastMs[u] = now
	e.prev[u], e.next[u] = e.tail, -1
	if e.tail >= 0 {
		e.next[e.tail] = u
	} else {
		e.head = u
	}
	e.tail = u
}

func (e *Engine) startSession(s *session, u int32) {
	e.nextSeq++
	*s = session{seq: e.nextSeq, user: u, state: stLanding}
}

// kindAt decides whether event n is bad and how; for a duplicate_id
// event it also returns the position whose id it reuses. The decision
// depends on n alone (random access), so a duplicate can check that the
// event it copies was valid and carried its own id.
func (e *Engine) kindAt(n int64) (BadKind, int64) {
	k := e.rawKind(n)
	if k != BadDuplicateID {
		return k, -1
	}
	if n > 0 {
		span := uint64(min(n, maxDuplicateDistance))
		for try := range uint64(4) {
			m := n - 1 - int64(below(hash64(e.key, uint64(n), saltDuplicate+try), span))
			switch e.rawKind(m) {
			case BadNone, BadOutOfOrder, BadLate:
				return BadDuplicateID, m
			}
		}
	}
	// No earlier event to copy (rare unless nearly every event is bad):
	// stay bad, and valid, as an out-of-order event.
	return BadOutOfOrder, -1
}

func (e *Engine) rawKind(n int64) BadKind {
	if !e.allBad && (e.badThreshold == 0 || hash64(e.key, uint64(n), saltBad) >= e.badThreshold) {
		return BadNone
	}
	return e.kinds[below(hash64(e.key, uint64(n), saltBadKind), uint64(len(e.kinds)))]
}

// Salts name the purposes of hash64 draws.
const (
	saltBad uint64 = iota + 1
	saltBadKind
	saltVariant
	saltShift
	saltIDHigh
	saltIDLow
	saltSession
	saltDuration
	saltQuantity
	saltSource
	saltCampaign
	saltCountry
	saltDevice
	saltSessionDevice
	saltAgent
	saltDuplicate // must stay last: duplicates use saltDuplicate+try
)

// productPrice is product p's price in US cents; the catalog does not
// depend on the seed.
func productPrice(p int) int64 {
	return priceTiers[mix64(uint64(p)+1)%uint64(len(priceTiers))]
}

// zipfCum returns the cumulative Zipf (s = 1) weights of n ranks: rank k
// has weight 2^32/k, computed in integers so every platform agrees.
func zipfCum(n int) []uint64 {
	return cumulative(n, func(i int) uint64 { return (1 << 32) / uint64(i+1) })
}

func cumulative(n int, weight func(int) uint64) []uint64 {
	out := make([]uint64, n)
	var sum uint64
	for i := range out {
		sum += weight(i)
		out[i] = sum
	}
	return out
}

// pickCum draws an index from cumulative weights with the random value x.
func pickCum(x uint64, cum []uint64) int {
	r := below(x, cum[len(cum)-1])
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if cum[mid] > r {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
