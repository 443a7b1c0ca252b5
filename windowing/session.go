package windowing

import (
	"bytes"
	"encoding/binary"
	"math"
	"sort"
	"time"
)

// Session windows. The state of a group key (usually a user) lives in one
// slot of a chunked slab, found through an open-addressing index over the
// key bytes; the key bytes and the session paths live in one byte arena
// (compacted when half of it is garbage); the keys wait for their next
// close or purge time in an indexed min-heap of slot numbers. The common
// case, one session per key, keeps the whole session inline in the slot.
// This layout is what keeps an active session near 150 bytes.

const slabChunk = 1024

// Session flags.
const (
	sfClosed = 1 << iota
	sfEmitted
	sfUUID // sid holds a packed lowercase UUID
	sfConverted
	sfHasExit
)

// Key flags.
const (
	kfLive = 1 << iota
	kfDirty
)

// sessState is one session window of a key.
type sessState struct {
	start   int64
	rev     int64 // fixed point
	sid     [16]byte
	span    uint32 // last event − start, ms
	pages   uint32
	exitDt  uint32 // exit page time − start
	exit    uint32 // page id
	pathOff uint32
	version uint32
	pathLen uint16 // bytes
	nPath   uint8
	flags   uint8
	ext     *sessExt
}

// sessExt holds what most sessions do not need.
type sessExt struct {
	more []sessState // the key's further sessions (on the inline one only)
	aggs []aggState  // measures other than sessions
	sid  string      // a session id that is not a lowercase UUID
	user string      // the user, when it is not the group key
}

func (s *sessState) last() int64 { return s.start + int64(s.span) }

type skey struct {
	qAt     int64 // when to look at the key again (close or purge)
	keyOff  uint32
	heapPos uint32 // position+1 in the heap, 0 = not queued
	keyLen  uint16
	kflags  uint16
	s       sessState
}

type sessStore struct {
	user, sid, page, typ, rev int
	userIsKey                 bool

	chunks   []*[slabChunk]skey
	free     []uint32
	index    []uint32 // slot+1, 0 = empty
	live     int
	sessions int
	heap     []uint32
	arena    []byte
	waste    int
	dirty    []uint32
	scratch  []pathEntry
	due      []dueSession
}

type pathEntry struct {
	page uint32
	t    int64
}

type dueSession struct {
	end   int64
	idx   uint32
	start int64
}

func (ss *sessStore) init() { ss.index = make([]uint32, 64) }

func (ss *sessStore) at(i uint32) *skey { return &ss.chunks[i/slabChunk][i%slabChunk] }

func (ss *sessStore) key(k *skey) []byte {
	return ss.arena[k.keyOff : k.keyOff+uint32(k.keyLen) : k.keyOff+uint32(k.keyLen)]
}

func (ss *sessStore) lookup(key []byte, h uint64) (uint32, bool) {
	mask := uint64(len(ss.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := ss.index[i]
		if v == 0 {
			return 0, false
		}
		if k := ss.at(v - 1); int(k.keyLen) == len(key) && bytes.Equal(ss.key(k), key) {
			return v - 1, true
		}
	}
}

func (ss *sessStore) indexInsert(slot uint32, h uint64) {
	mask := uint64(len(ss.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if ss.index[i] == 0 {
			ss.index[i] = slot + 1
			return
		}
	}
}

func (ss *sessStore) indexDelete(slot uint32) {
	mask := uint64(len(ss.index) - 1)
	k := ss.at(slot)
	i := hash64(string(ss.key(k))) & mask
	for ss.index[i] != slot+1 {
		i = (i + 1) & mask
	}
	j := i
	for {
		j = (j + 1) & mask
		v := ss.index[j]
		if v == 0 {
			break
		}
		ideal := hash64(string(ss.key(ss.at(v-1)))) & mask
		if i <= j {
			if i < ideal && ideal <= j {
				continue
			}
		} else if i < ideal || ideal <= j {
			continue
		}
		ss.index[i] = v
		i = j
	}
	ss.index[i] = 0
}

func (ss *sessStore) newKey(key []byte, h uint64) uint32 {
	if 4*(ss.live+1) > 3*len(ss.index) {
		old := ss.index
		ss.index = make([]uint32, 2*len(old))
		for _, v := range old {
			if v != 0 {
				ss.indexInsert(v-1, hash64(string(ss.key(ss.at(v-1)))))
			}
		}
	}
	var slot uint32
	if n := len(ss.free); n > 0 {
		slot = ss.free[n-1]
		ss.free = ss.free[:n-1]
	} else {
		slot = uint32(len(ss.chunks)) * slabChunk
		ss.chunks = append(ss.chunks, new([slabChunk]skey))
		for i := uint32(slabChunk - 1); i > 0; i-- {
			ss.free = append(ss.free, slot+i)
		}
	}
	k := ss.at(slot)
	*k = skey{keyOff: uint32(len(ss.arena)), keyLen: uint16(len(key)), kflags: kfLive}
	ss.arena = append(ss.arena, key...)
	ss.indexInsert(slot, h)
	ss.live++
	return slot
}

// ---- the heap of keys by qAt

func (ss *sessStore) less(i, j int) bool {
	return ss.at(ss.heap[i]).qAt < ss.at(ss.heap[j]).qAt
}

func (ss *sessStore) swap(i, j int) {
	ss.heap[i], ss.heap[j] = ss.heap[j], ss.heap[i]
	ss.at(ss.heap[i]).heapPos = uint32(i + 1)
	ss.at(ss.heap[j]).heapPos = uint32(j + 1)
}

func (ss *sessStore) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !ss.less(j, i) {
			break
		}
		ss.swap(i, j)
		j = i
	}
}

func (ss *sessStore) down(i int) {
	n := len(ss.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && ss.less(r, l) {
			j = r
		}
		if !ss.less(j, i) {
			return
		}
		ss.swap(i, j)
		i = j
	}
}

// schedule makes sure the key is looked at no later than at.
func (ss *sessStore) schedule(slot uint32, at int64) {
	k := ss.at(slot)
	if k.heapPos != 0 {
		if at < k.qAt {
			k.qAt = at
			ss.up(int(k.heapPos - 1))
		}
		return
	}
	k.qAt = at
	ss.heap = append(ss.heap, slot)
	k.heapPos = uint32(len(ss.heap))
	ss.up(len(ss.heap) - 1)
}

func (ss *sessStore) unqueue(slot uint32) {
	k := ss.at(slot)
	if k.heapPos == 0 {
		return
	}
	i := int(k.heapPos - 1)
	n := len(ss.heap) - 1
	if i != n {
		ss.swap(i, n)
	}
	ss.heap = ss.heap[:n]
	k.heapPos = 0
	if i != n {
		ss.down(i)
		ss.up(i)
	}
}

// ---- the arena

func pathCap(n int) int {
	if n == 0 {
		return 0
	}
	c := 16
	for c < n {
		c *= 2
	}
	return c
}

// setPath stores p as session s's path bytes, moving it when it outgrows
// its room.
func (ss *sessStore) setPath(s *sessState, p []byte) {
	oldCap := pathCap(int(s.pathLen))
	if c := pathCap(len(p)); c != oldCap {
		ss.waste += oldCap
		s.pathOff = uint32(len(ss.arena))
		ss.arena = append(ss.arena, make([]byte, c)...)
	}
	copy(ss.arena[s.pathOff:], p)
	s.pathLen = uint16(len(p))
}

func (ss *sessStore) path(s *sessState) []byte {
	return ss.arena[s.pathOff : s.pathOff+uint32(s.pathLen) : s.pathOff+uint32(s.pathLen)]
}

// maybeCompact rewrites the arena when more than half of it is garbage.
func (ss *sessStore) maybeCompact() {
	if ss.waste < 1<<16 || 2*ss.waste < len(ss.arena) {
		return
	}
	na := make([]byte, 0, len(ss.arena)-ss.waste+len(ss.arena)/8)
	move := func(s *sessState) {
		if s.pathLen == 0 {
			return
		}
		p := ss.path(s)
		off := len(na)
		na = append(na, p...)
		na = append(na, make([]byte, pathCap(len(p))-len(p))...)
		s.pathOff = uint32(off)
	}
	for _, ch := range ss.chunks {
		for i := range ch {
			k := &ch[i]
			if k.kflags&kfLive == 0 {
				continue
			}
			off := len(na)
			na = append(na, ss.key(k)...)
			k.keyOff = uint32(off)
			move(&k.s)
			if k.s.ext != nil {
				for j := range k.s.ext.more {
					move(&k.s.ext.more[j])
				}
			}
		}
	}
	ss.arena, ss.waste = na, 0
}

// ---- sessions of a key

func (ss *sessStore) count(k *skey) int {
	if k.s.ext == nil {
		return 1
	}
	return 1 + len(k.s.ext.more)
}

func (ss *sessStore) sess(k *skey, j int) *sessState {
	if j == 0 {
		return &k.s
	}
	return &k.s.ext.more[j-1]
}

// removeSess deletes session j of key k (which keeps at least one).
func (ss *sessStore) removeSess(k *skey, j int) {
	ss.waste += pathCap(int(ss.sess(k, j).pathLen))
	ext := k.s.ext
	if j == 0 {
		nx := ext.more[0]
		rest := ext.more[1:]
		if nx.ext == nil && len(rest) > 0 {
			nx.ext = &sessExt{}
		}
		if nx.ext != nil {
			nx.ext.more = append([]sessState(nil), rest...)
		}
		k.s = nx
	} else {
		ext.more = append(ext.more[:j-1], ext.more[j:]...)
	}
	if k.s.ext != nil && len(k.s.ext.more) == 0 && k.s.ext.aggs == nil && k.s.ext.sid == "" && k.s.ext.user == "" {
		k.s.ext = nil
	}
	ss.sessions--
}

func (w *Windower) sessCloseAt(s *sessState) int64 { return w.closeAt(satAdd(s.last(), w.gap)) }
func (w *Windower) sessPurgeAt(s *sessState) int64 { return w.purgeAt(satAdd(s.last(), w.gap)) }

func (w *Windower) keyAction(k *skey) int64 {
	at := int64(math.MaxInt64)
	for j := 0; j < w.ss.count(k); j++ {
		s := w.ss.sess(k, j)
		if s.flags&sfClosed != 0 {
			at = min(at, w.sessPurgeAt(s))
		} else {
			at = min(at, w.sessCloseAt(s))
		}
	}
	return at
}

func (w *Windower) markKey(slot uint32) {
	k := w.ss.at(slot)
	if k.kflags&kfDirty == 0 {
		k.kflags |= kfDirty
		w.ss.dirty = append(w.ss.dirty, slot)
	}
}

func (w *Windower) addSession() Outcome {
	ss := &w.ss
	ss.maybeCompact()
	key := w.keyBuf
	ts := w.ev.ts
	var out Outcome
	if len(key) > math.MaxUint16 {
		w.stats.KeyLimited++
		refuse(&out, ReasonKeyLimit)
		return out
	}
	h := hash64(string(key))
	slot, ok := ss.lookup(key, h)
	tooLate := w.wm >= w.purgeAt(satAdd(ts, w.gap))
	if !ok {
		if tooLate {
			refuse(&out, ReasonTooLate)
			return out
		}
		if ss.live >= w.cfg.MaxKeys {
			w.stats.KeyLimited++
			refuse(&out, ReasonKeyLimit)
			return out
		}
		slot = ss.newKey(key, h)
		k := ss.at(slot)
		w.initSess(&k.s)
		ss.sessions++
		w.sessChanged(slot, &k.s, false, 0, 0)
		out.Windows = 1
		return out
	}
	k := ss.at(slot)
	// Which sessions does [ts, ts+gap) overlap?
	n := ss.count(k)
	var hits [8]int
	nh := 0
	lo, hi := ts, ts
	for j := 0; j < n; j++ {
		s := ss.sess(k, j)
		if s.start < satAdd(ts, w.gap) && ts < satAdd(s.last(), w.gap) {
			if nh < len(hits) {
				hits[nh] = j
				nh++
				lo, hi = min(lo, s.start), max(hi, s.last())
			}
		}
	}
	if nh > 0 && hi-lo > math.MaxUint32 {
		nh = 0 // a session would outgrow 49 days: start a new one
	}
	if nh == 0 {
		if tooLate {
			refuse(&out, ReasonTooLate)
			return out
		}
		if k.s.ext == nil {
			k.s.ext = &sessExt{}
		}
		k.s.ext.more = append(k.s.ext.more, sessState{})
		s := &k.s.ext.more[len(k.s.ext.more)-1]
		w.initSess(s)
		ss.sessions++
		w.sessChanged(slot, s, false, 0, 0)
		out.Windows = 1
		return out
	}
	// Merge every overlapped session into the one that starts first.
	t := hits[0]
	for _, j := range hits[1:nh] {
		if ss.sess(k, j).start < ss.sess(k, t).start {
			t = j
		}
	}
	tgt := ss.sess(k, t)
	oldStart, oldEnd := tgt.start, satAdd(tgt.last(), w.gap)
	wasEmitted := tgt.flags&sfEmitted != 0
	if wasEmitted && nh > 1 { // a merge always moves the target's bounds
		w.retract(slot, oldStart, oldEnd, tgt)
		tgt.flags &^= sfEmitted
		wasEmitted = false
	}
	for i := nh - 1; i >= 0; i-- { // from the back so indices stay valid
		j := hits[i]
		if j == t {
			continue
		}
		o := *ss.sess(k, j)
		if o.flags&sfEmitted != 0 {
			w.retract(slot, o.start, satAdd(o.last(), w.gap), &o)
		}
		tgt = ss.sess(k, t)
		w.mergeSess(tgt, &o)
		ss.removeSess(k, j)
		if j < t {
			t--
		}
		tgt = ss.sess(k, t)
	}
	w.addToSess(tgt)
	w.sessChanged(slot, tgt, wasEmitted, oldStart, oldEnd)
	out.Windows = 1
	return out
}

// sessChanged handles a session whose state changed: it retracts the
// result of its old bounds if one was emitted, emits it at once when it is
// (still) closed, and schedules its key.
func (w *Windower) sessChanged(slot uint32, s *sessState, wasEmitted bool, oldStart, oldEnd int64) {
	end := satAdd(s.last(), w.gap)
	if wasEmitted && (oldStart != s.start || oldEnd != end) {
		w.retract(slot, oldStart, oldEnd, s)
		s.flags &^= sfEmitted
	}
	if w.wm >= w.sessCloseAt(s) {
		s.flags |= sfClosed
		w.emitSess(slot, s)
	} else {
		s.flags &^= sfClosed
	}
	w.markKey(slot)
	k := w.ss.at(slot)
	w.ss.schedule(slot, w.keyAction(k))
}

func (w *Windower) retract(slot uint32, start, end int64, s *sessState) {
	s.version++
	key := w.ss.key(w.ss.at(slot))
	w.stats.Retracted++
	w.queue(Result{
		ID:          resultID(w.connector, w.cfg.ResultName, key, start, end),
		Version:     s.version,
		Aggregate:   w.cfg.ResultName,
		WindowStart: start,
		WindowEnd:   end,
		Key:         w.decodeKey(key),
		Retract:     true,
	})
}

func (w *Windower) initSess(s *sessState) {
	ts := w.ev.ts
	*s = sessState{start: ts}
	if w.sessM != nil {
		w.setSid(s)
		if !w.ss.userIsKey {
			if s.ext == nil {
				s.ext = &sessExt{}
			}
			s.ext.user = w.intern(w.ev.str[w.ss.user])
		}
	}
	if len(w.genAggs) > 0 {
		if s.ext == nil {
			s.ext = &sessExt{}
		}
		s.ext.aggs = make([]aggState, len(w.genAggs))
		for i, m := range w.genAggs {
			s.ext.aggs[i] = newAgg(m)
		}
	}
	w.addToSess(s)
}

func (w *Windower) setSid(s *sessState) {
	v := w.ev.str[w.ss.sid]
	if u, ok := packUUID(v); ok {
		s.sid, s.flags = u, s.flags|sfUUID
		if s.ext != nil {
			s.ext.sid = ""
		}
		return
	}
	s.flags &^= sfUUID
	s.sid = [16]byte{}
	if v != "" || s.ext != nil {
		if s.ext == nil {
			s.ext = &sessExt{}
		}
		s.ext.sid = w.intern(v)
	}
}

// rebase moves a session's start earlier by d ms, keeping its path and
// exit times.
func (w *Windower) rebase(s *sessState, d int64) {
	s.start -= d
	s.span += uint32(d)
	if s.flags&sfHasExit != 0 {
		s.exitDt += uint32(d)
	}
	if s.nPath > 0 {
		es := w.decodePath(s, s.start+d)
		w.encodePath(s, es)
	}
}

func (w *Windower) addToSess(s *sessState) {
	e := &w.ev
	ts := e.ts
	if ts < s.start {
		w.rebase(s, s.start-ts)
		if w.sessM != nil {
			w.setSid(s)
		}
	} else if d := ts - s.start; d > int64(s.span) {
		s.span = uint32(d)
	}
	if m := w.sessM; m != nil {
		ss := &w.ss
		typ := e.str[ss.typ]
		if e.hasNum[ss.rev] {
			s.rev += toFixed(e.num[ss.rev])
		}
		if typ == m.cfg.PurchaseEvent {
			s.flags |= sfConverted
		}
		if pv := e.str[ss.page]; pv != "" && (m.cfg.PageEvent == "" || typ == m.cfg.PageEvent) {
			w.addPage(s, w.pageID(pv), ts)
		}
	}
	if s.ext != nil {
		for i, m := range w.genAggs {
			if m.filter == nil || m.pass(e) {
				s.ext.aggs[i].add(m, e, w)
			}
		}
	}
}

func (w *Windower) pageID(p string) uint32 {
	if id, ok := w.pages[p]; ok {
		return id
	}
	if len(w.pageList) >= w.cfg.MaxInterned {
		w.stats.PagesOverflowed++
		return 0
	}
	p = w.intern(p)
	id := uint32(len(w.pageList))
	w.pages[p] = id
	w.pageList = append(w.pageList, p)
	return id
}

func (w *Windower) addPage(s *sessState, pid uint32, ts int64) {
	max := w.sessM.cfg.PathMax
	s.pages++
	exitT := s.start + int64(s.exitDt)
	after := s.flags&sfHasExit == 0 || ts >= exitT
	if after {
		s.exit, s.exitDt = pid, uint32(ts-s.start)
		s.flags |= sfHasExit
	}
	switch {
	case after && int(s.nPath) < max:
		prev := s.start
		if s.nPath > 0 {
			prev = exitT
		}
		var buf [2 * binary.MaxVarintLen64]byte
		b := binary.AppendUvarint(buf[:0], uint64(pid))
		b = binary.AppendUvarint(b, uint64(ts-prev))
		ss := &w.ss
		n := int(s.pathLen)
		if pathCap(n+len(b)) != pathCap(n) {
			p := append(ss.scratchBytes(n+len(b)), ss.path(s)...)
			ss.setPath(s, append(p, b...))
		} else {
			copy(ss.arena[s.pathOff+uint32(n):], b)
			s.pathLen += uint16(len(b))
		}
		s.nPath++
	case after:
		// the path is full and this page comes after all of it
	default:
		es := w.decodePath(s, s.start)
		i := len(es)
		for i > 0 && es[i-1].t > ts {
			i--
		}
		if i >= max {
			return
		}
		es = append(es, pathEntry{})
		copy(es[i+1:], es[i:])
		es[i] = pathEntry{pid, ts}
		if len(es) > max {
			es = es[:max]
		}
		w.encodePath(s, es)
	}
}

func (ss *sessStore) scratchBytes(n int) []byte {
	return make([]byte, 0, n)
}

// decodePath returns s's path with absolute times, its first entry
// relative to base.
func (w *Windower) decodePath(s *sessState, base int64) []pathEntry {
	es := w.ss.scratch[:0]
	p := w.ss.path(s)
	t := base
	for len(p) > 0 {
		id, n := binary.Uvarint(p)
		dt, m := binary.Uvarint(p[n:])
		p = p[n+m:]
		t += int64(dt)
		es = append(es, pathEntry{uint32(id), t})
	}
	w.ss.scratch = es
	return es
}

func (w *Windower) encodePath(s *sessState, es []pathEntry) {
	b := make([]byte, 0, 4*len(es))
	prev := s.start
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(e.page))
		b = binary.AppendUvarint(b, uint64(e.t-prev))
		prev = e.t
	}
	w.ss.setPath(s, b)
	s.nPath = uint8(len(es))
}

// mergeSess folds session o into s.
func (w *Windower) mergeSess(s, o *sessState) {
	if m := w.sessM; m != nil {
		a := slicesClone(w.decodePath(s, s.start))
		b := w.decodePath(o, o.start)
		merged := make([]pathEntry, 0, len(a)+len(b))
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			if j >= len(b) || i < len(a) && a[i].t <= b[j].t {
				merged = append(merged, a[i])
				i++
			} else {
				merged = append(merged, b[j])
				j++
			}
		}
		if len(merged) > m.cfg.PathMax {
			merged = merged[:m.cfg.PathMax]
		}
		newStart := min(s.start, o.start)
		sExit, oExit := s.start+int64(s.exitDt), o.start+int64(o.exitDt)
		if o.flags&sfHasExit != 0 && (s.flags&sfHasExit == 0 || oExit >= sExit) {
			s.exit, sExit = o.exit, oExit
			s.flags |= sfHasExit
		}
		if o.start < s.start {
			s.sid = o.sid
			s.flags = s.flags&^sfUUID | o.flags&sfUUID
			if o.ext != nil && o.ext.sid != "" || s.ext != nil {
				if s.ext == nil {
					s.ext = &sessExt{}
				}
				if o.ext != nil {
					s.ext.sid = o.ext.sid
					if o.ext.user != "" {
						s.ext.user = o.ext.user
					}
				} else {
					s.ext.sid = ""
				}
			}
		}
		last := max(s.last(), o.last())
		s.start = newStart
		s.span = uint32(last - newStart)
		if s.flags&sfHasExit != 0 {
			s.exitDt = uint32(sExit - newStart)
		}
		s.pages += o.pages
		s.rev += o.rev
		s.flags |= o.flags & sfConverted
		w.encodePath(s, merged)
	} else {
		last := max(s.last(), o.last())
		s.start = min(s.start, o.start)
		s.span = uint32(last - s.start)
	}
	if o.version > s.version {
		s.version = o.version
	}
	if s.ext != nil && o.ext != nil {
		for i, m := range w.genAggs {
			s.ext.aggs[i].merge(m, o.ext.aggs[i], w)
		}
	}
}

func slicesClone(es []pathEntry) []pathEntry { return append([]pathEntry(nil), es...) }

// advanceSessions closes and purges the sessions the watermark has passed,
// emitting in order of window end, then key, then start.
func (w *Windower) advanceSessions() {
	ss := &w.ss
	if len(ss.heap) == 0 || ss.at(ss.heap[0]).qAt > w.wm {
		return
	}
	var keys []uint32
	for len(ss.heap) > 0 && ss.at(ss.heap[0]).qAt <= w.wm {
		slot := ss.heap[0]
		ss.unqueue(slot)
		keys = append(keys, slot)
	}
	due := ss.due[:0]
	for _, slot := range keys {
		k := ss.at(slot)
		for j := 0; j < ss.count(k); j++ {
			s := ss.sess(k, j)
			if s.flags&sfClosed == 0 && w.wm >= w.sessCloseAt(s) {
				due = append(due, dueSession{end: satAdd(s.last(), w.gap), idx: slot, start: s.start})
			}
		}
	}
	sort.Slice(due, func(i, j int) bool {
		a, b := due[i], due[j]
		if a.end != b.end {
			return a.end < b.end
		}
		if c := bytes.Compare(ss.key(ss.at(a.idx)), ss.key(ss.at(b.idx))); c != 0 {
			return c < 0
		}
		return a.start < b.start
	})
	for _, d := range due {
		k := ss.at(d.idx)
		for j := 0; j < ss.count(k); j++ {
			if s := ss.sess(k, j); s.start == d.start && s.flags&sfClosed == 0 {
				s.flags |= sfClosed
				w.emitSess(d.idx, s)
				w.markKey(d.idx)
				break
			}
		}
	}
	ss.due = due[:0]
	for _, slot := range keys {
		k := ss.at(slot)
		for j := ss.count(k) - 1; j >= 0; j-- {
			s := ss.sess(k, j)
			if s.flags&sfClosed != 0 && w.wm >= w.sessPurgeAt(s) {
				if ss.count(k) == 1 {
					w.dropKey(slot, true)
					break
				}
				ss.removeSess(k, j)
				w.markKey(slot)
			}
		}
		if k.kflags&kfLive != 0 {
			ss.schedule(slot, w.keyAction(k))
		}
	}
}

// dropKey deletes a key and its last session, with a tombstone.
func (w *Windower) dropKey(slot uint32, tomb bool) {
	ss := &w.ss
	k := ss.at(slot)
	if tomb {
		w.tombs = append(w.tombs, sessKey(ss.key(k)))
	}
	ss.unqueue(slot)
	ss.indexDelete(slot)
	ss.waste += int(k.keyLen)
	for j := 0; j < ss.count(k); j++ {
		ss.waste += pathCap(int(ss.sess(k, j).pathLen))
	}
	ss.sessions -= ss.count(k)
	*k = skey{}
	ss.free = append(ss.free, slot)
	ss.live--
}

func (w *Windower) emitSess(slot uint32, s *sessState) {
	s.version++
	s.flags |= sfEmitted
	key := w.ss.key(w.ss.at(slot))
	end := satAdd(s.last(), w.gap)
	r := Result{
		ID:          resultID(w.connector, w.cfg.ResultName, key, s.start, end),
		Version:     s.version,
		Aggregate:   w.cfg.ResultName,
		WindowStart: s.start,
		WindowEnd:   end,
		Key:         w.decodeKey(key),
		Values:      map[string]any{},
	}
	if w.sessM != nil {
		w.sessionValues(key, s, r.Values)
	}
	if s.ext != nil {
		for i, m := range w.genAggs {
			s.ext.aggs[i].values(m, r.Values, &r)
		}
	}
	w.queue(r)
}

func (w *Windower) sessionValues(key []byte, s *sessState, v map[string]any) {
	user := ""
	if w.ss.userIsKey {
		if n, sz := binary.Uvarint(key); sz > 0 && int(n) <= len(key)-sz {
			user = string(key[sz : sz+int(n)])
		}
	} else if s.ext != nil {
		user = s.ext.user
	}
	sid := ""
	if s.flags&sfUUID != 0 {
		sid = unpackUUID(s.sid)
	} else if s.ext != nil {
		sid = s.ext.sid
	}
	es := w.decodePath(s, s.start)
	path := make([]string, len(es))
	for i, e := range es {
		path[i] = w.pageList[e.page]
	}
	landing, exit := "", ""
	if len(path) > 0 {
		landing = path[0]
	}
	if s.flags&sfHasExit != 0 {
		exit = w.pageList[s.exit]
	}
	v["user"] = user
	v["session_id"] = sid
	v["start"] = time.UnixMilli(s.start).UTC().Format(time.RFC3339Nano)
	v["end"] = time.UnixMilli(s.last()).UTC().Format(time.RFC3339Nano)
	v["duration_ms"] = int64(s.span)
	v["page_count"] = int64(s.pages)
	v["path"] = path
	v["landing_page"] = landing
	v["exit_page"] = exit
	v["bounce"] = s.pages <= 1
	v["converted"] = s.flags&sfConverted != 0
	v["revenue"] = float64(s.rev) / fixedScale
}

// packUUID packs a canonical lowercase UUID into 16 bytes.
func packUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func unpackUUID(u [16]byte) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexd[x>>4], hexd[x&15])
	}
	return string(b)
}
