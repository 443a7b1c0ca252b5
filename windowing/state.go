package windowing

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"
)

// stateFormat is the version of the record encoding; it is the first byte
// of every record value, and part of the config fingerprint.
const stateFormat = 1

// Record kinds: the first byte of a record key.
const (
	recGlobal    = 'G'
	recPartition = 'P'
	recWindow    = 'W'
	recSession   = 'S'
)

// Record is one changelog record: Key identifies a piece of state, Value
// is its encoding, or nil when the piece was deleted (a tombstone, so a
// compacted topic forgets it). Both are owned by the caller.
type Record struct {
	Key   []byte
	Value []byte
}

// ErrStateMismatch is returned by Load for a record written by a windower
// with a different window shape, group key or measures (or state format):
// the state cannot be reused and the caller should start empty (and
// rewind its input) or restore the old config.
var ErrStateMismatch = errors.New("windowing: state record was written for a different window config")

func (w *Windower) valueHeader(capHint int) []byte {
	b := make([]byte, 0, capHint+9)
	b = append(b, stateFormat)
	return binary.LittleEndian.AppendUint64(b, w.fp)
}

func (w *Windower) checkHeader(r *reader) error {
	if len(r.b) < 9 {
		return errCorrupt
	}
	if r.b[0] != stateFormat || binary.LittleEndian.Uint64(r.b[1:9]) != w.fp {
		return ErrStateMismatch
	}
	r.b = r.b[9:]
	return nil
}

func partKey(id int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{recPartition}, uint32(id))
}

func sessKey(groupKey []byte) []byte {
	return append([]byte{recSession}, groupKey...)
}

// Changes appends to dst the records of the state that changed since the
// previous call (or since New or the last Load): first tombstones, then
// the current value of every changed piece. Written to the changelog in
// the same transaction as the results and input offsets, they keep the
// changelog equal to the state. Records are freshly allocated.
func (w *Windower) Changes(dst []Record) []Record {
	w.finishLoad()
	for _, k := range w.tombs {
		dst = append(dst, Record{Key: k})
	}
	clear(w.tombs)
	w.tombs = w.tombs[:0]
	if w.globalDirty {
		dst = append(dst, Record{Key: []byte{recGlobal}, Value: w.encodeGlobal()})
		w.globalDirty = false
	}
	for _, p := range w.partList {
		if p.dirty {
			dst = append(dst, Record{Key: partKey(p.id), Value: w.encodePart(p)})
			p.dirty = false
		}
	}
	for _, c := range w.dirtyCells {
		if c.dirty && !c.purged {
			dst = append(dst, Record{Key: cellKey(c.win.start, c.key), Value: w.encodeCell(c)})
		}
		c.dirty = false
	}
	clear(w.dirtyCells)
	w.dirtyCells = w.dirtyCells[:0]
	if cap(w.dirtyCells) > 1<<14 {
		w.dirtyCells = nil // do not keep a burst's worth of room
	}
	ss := &w.ss
	for _, slot := range ss.dirty {
		k := ss.at(slot)
		if k.kflags&(kfLive|kfDirty) == kfLive|kfDirty {
			dst = append(dst, Record{Key: sessKey(ss.key(k)), Value: w.encodeKey(k)})
			k.kflags &^= kfDirty
		}
	}
	ss.dirty = ss.dirty[:0]
	if cap(ss.dirty) > 1<<14 {
		ss.dirty = nil
	}
	return dst
}

// Snapshot appends every record of the current state to dst (no
// tombstones), in key order within each kind. Loading them into a new
// windower restores this one exactly. It does not touch dirty tracking.
func (w *Windower) Snapshot(dst []Record) []Record {
	w.finishLoad()
	dst = append(dst, Record{Key: []byte{recGlobal}, Value: w.encodeGlobal()})
	for _, p := range w.partList {
		dst = append(dst, Record{Key: partKey(p.id), Value: w.encodePart(p)})
	}
	dst = w.windowSnapshot(dst)
	ss := &w.ss
	var recs []Record
	for _, ch := range ss.chunks {
		for i := range ch {
			if k := &ch[i]; k.kflags&kfLive != 0 {
				recs = append(recs, Record{Key: sessKey(ss.key(k)), Value: w.encodeKey(k)})
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool { return string(recs[i].Key) < string(recs[j].Key) })
	return append(dst, recs...)
}

// Load applies one changelog record, read back from the changelog topic
// in order (a later record for a key replaces an earlier one; a nil value
// deletes). Load every record before the first Add, Tick or Changes; the
// windower then continues exactly where the writer of the records was
// when it last called Changes. Results pending at that time are not part
// of the state: they were written with the same transaction.
func (w *Windower) Load(rec Record) error {
	if len(rec.Key) == 0 {
		return errCorrupt
	}
	w.loading = true
	switch rec.Key[0] {
	case recGlobal:
		if rec.Value == nil {
			return nil
		}
		return w.loadGlobal(rec.Value)
	case recPartition:
		if len(rec.Key) != 5 {
			return errCorrupt
		}
		return w.loadPart(int32(binary.BigEndian.Uint32(rec.Key[1:])), rec.Value)
	case recWindow:
		return w.loadCell(rec.Key, rec.Value)
	case recSession:
		return w.loadKey(rec.Key[1:], rec.Value)
	}
	return errCorrupt
}

// finishLoad rebuilds what is derived from loaded state: window order and
// next action, session schedule, watermark bookkeeping.
func (w *Windower) finishLoad() {
	if !w.loading {
		return
	}
	w.loading = false
	w.tombs = w.tombs[:0]
	w.nextAction = math.MinInt64 // recompute on the next advance
	ss := &w.ss
	for ci, ch := range ss.chunks {
		for i := range ch {
			if k := &ch[i]; k.kflags&kfLive != 0 {
				slot := uint32(ci)*slabChunk + uint32(i)
				k.kflags &^= kfDirty
				ss.schedule(slot, w.keyAction(k))
			}
		}
	}
	ss.dirty = ss.dirty[:0]
	for _, c := range w.dirtyCells {
		c.dirty = false
	}
	w.dirtyCells = w.dirtyCells[:0]
	for _, p := range w.partList {
		p.dirty = false
	}
	w.globalDirty = false
	w.minPart = nil
	w.lastPart = nil
}

// ---- global and partition records

func (w *Windower) encodeGlobal() []byte {
	b := w.valueHeader(64)
	b = putVarint(b, w.wm)
	if w.evicted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = putVarint(b, w.evictedStart)
	s := &w.stats
	for _, x := range []int64{s.Events, s.Late, s.PartlyLate, s.Duplicates, s.KeyLimited,
		s.WindowLimited, s.WindowsEvicted, s.Results, s.Reemitted, s.Retracted,
		s.ValuesOverflowed, s.PagesOverflowed, s.FunnelHitsDropped} {
		b = putUvarint(b, uint64(x))
	}
	return b
}

func (w *Windower) loadGlobal(v []byte) error {
	r := &reader{b: v}
	if err := w.checkHeader(r); err != nil {
		return err
	}
	w.wm = r.varint()
	w.evicted = r.byte() == 1
	w.evictedStart = r.varint()
	s := &w.stats
	for _, p := range []*int64{&s.Events, &s.Late, &s.PartlyLate, &s.Duplicates, &s.KeyLimited,
		&s.WindowLimited, &s.WindowsEvicted, &s.Results, &s.Reemitted, &s.Retracted,
		&s.ValuesOverflowed, &s.PagesOverflowed, &s.FunnelHitsDropped} {
		*p = int64(r.uvarint())
	}
	return r.err
}

func (w *Windower) encodePart(p *partition) []byte {
	b := w.valueHeader(32)
	b = putVarint(b, p.maxTs)
	b = putVarint(b, p.lastOffset)
	b = putVarint(b, p.lastActive)
	flags := byte(0)
	if p.idle {
		flags |= 1
	}
	if p.active {
		flags |= 2
	}
	return append(b, flags)
}

func (w *Windower) loadPart(id int32, v []byte) error {
	if v == nil {
		if p := w.parts[id]; p != nil {
			delete(w.parts, id)
			w.partList = slices.DeleteFunc(w.partList, func(q *partition) bool { return q == p })
		}
		return nil
	}
	r := &reader{b: v}
	if err := w.checkHeader(r); err != nil {
		return err
	}
	p := w.part(id)
	p.maxTs = r.varint()
	p.lastOffset = r.varint()
	p.lastActive = r.varint()
	f := r.byte()
	p.idle, p.active = f&1 != 0, f&2 != 0
	return r.err
}

// ---- session key records

func (w *Windower) encodeKey(k *skey) []byte {
	b := w.valueHeader(128)
	ss := &w.ss
	n := ss.count(k)
	b = putUvarint(b, uint64(n))
	for j := 0; j < n; j++ {
		b = w.encodeSess(b, ss.sess(k, j))
	}
	return b
}

func (w *Windower) encodeSess(b []byte, s *sessState) []byte {
	b = putVarint(b, s.start)
	b = putUvarint(b, uint64(s.span))
	b = putUvarint(b, uint64(s.version))
	b = append(b, s.flags)
	if w.sessM != nil {
		if s.flags&sfUUID != 0 {
			b = append(b, s.sid[:]...)
		} else {
			sid := ""
			if s.ext != nil {
				sid = s.ext.sid
			}
			b = putString(b, sid)
		}
		if !w.ss.userIsKey {
			user := ""
			if s.ext != nil {
				user = s.ext.user
			}
			b = putString(b, user)
		}
		b = putUvarint(b, uint64(s.pages))
		b = putVarint(b, s.rev)
		if s.flags&sfHasExit != 0 {
			b = putString(b, w.pageList[s.exit])
			b = putUvarint(b, uint64(s.exitDt))
		}
		es := w.decodePath(s, s.start)
		b = putUvarint(b, uint64(len(es)))
		prev := s.start
		for _, e := range es {
			b = putString(b, w.pageList[e.page])
			b = putUvarint(b, uint64(e.t-prev))
			prev = e.t
		}
	}
	if s.ext != nil {
		for _, a := range s.ext.aggs {
			b = a.appendState(b)
		}
	}
	return b
}

func (w *Windower) loadKey(gk, v []byte) error {
	if w.wt != wtSession {
		return errCorrupt
	}
	ss := &w.ss
	h := hash64(string(gk))
	if slot, ok := ss.lookup(gk, h); ok {
		w.dropKey(slot, false)
	}
	if v == nil {
		return nil
	}
	r := &reader{b: v}
	if err := w.checkHeader(r); err != nil {
		return err
	}
	n := r.count(4)
	if n == 0 || len(gk) > math.MaxUint16 {
		return errCorrupt
	}
	slot := ss.newKey(gk, h)
	for j := 0; j < n && r.err == nil; j++ {
		var s *sessState
		k := ss.at(slot)
		if j == 0 {
			s = &k.s
		} else {
			if k.s.ext == nil {
				k.s.ext = &sessExt{}
			}
			k.s.ext.more = append(k.s.ext.more, sessState{})
			s = &k.s.ext.more[len(k.s.ext.more)-1]
		}
		w.decodeSess(r, s)
		ss.sessions++
	}
	if r.err != nil || len(r.b) != 0 {
		w.dropKey(slot, false)
		return errCorrupt
	}
	return nil
}

func (w *Windower) decodeSess(r *reader, s *sessState) {
	s.start = r.varint()
	s.span = uint32(r.uvarint())
	s.version = uint32(r.uvarint())
	s.flags = r.byte()
	ext := func() *sessExt {
		if s.ext == nil {
			s.ext = &sessExt{}
		}
		return s.ext
	}
	if w.sessM != nil {
		if s.flags&sfUUID != 0 {
			copy(s.sid[:], r.bytes(16))
		} else if sid := r.string(); sid != "" {
			ext().sid = w.intern(sid)
		}
		if !w.ss.userIsKey {
			ext().user = w.intern(r.string())
		}
		s.pages = uint32(r.uvarint())
		s.rev = r.varint()
		if s.flags&sfHasExit != 0 {
			s.exit = w.pageID(r.string())
			s.exitDt = uint32(r.uvarint())
		}
		n := r.count(2)
		es := make([]pathEntry, 0, n)
		t := s.start
		for i := 0; i < n && r.err == nil; i++ {
			p := w.pageID(r.string())
			t += int64(r.uvarint())
			es = append(es, pathEntry{p, t})
		}
		if len(es) > 0 {
			w.encodePath(s, es)
		}
	}
	if len(w.genAggs) > 0 {
		e := ext()
		e.aggs = make([]aggState, len(w.genAggs))
		for i, m := range w.genAggs {
			e.aggs[i] = newAgg(m)
			e.aggs[i].readState(m, r, w)
		}
	}
}
