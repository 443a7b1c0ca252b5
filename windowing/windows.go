package windowing

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
)

// window is one tumbling or hopping window with its states per key.
type window struct {
	start, end int64
	closed     bool
	cells      map[string]*cell
	list       []*cell
}

// cell is the state of one window and group key.
type cell struct {
	win     *window
	key     string // canonical group key
	aggs    []aggState
	version uint32
	dirty   bool
	purged  bool
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// windowStarts calls f for the start of every window containing ts,
// newest first.
func (w *Windower) lastStart(ts int64) int64 {
	return floorDiv(ts-w.off, w.adv)*w.adv + w.off
}

func (w *Windower) closeAt(end int64) int64 { return satAdd(end, w.grace) }
func (w *Windower) purgeAt(end int64) int64 { return satAdd(satAdd(end, w.grace), w.lateness) }

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (w *Windower) addWindowed() Outcome {
	var out Outcome
	ts := w.ev.ts
	for s := w.lastStart(ts); s > ts-w.size; s -= w.adv {
		end := s + w.size
		if w.wm >= w.purgeAt(end) {
			refuse(&out, ReasonTooLate)
			continue
		}
		if w.evicted && s <= w.evictedStart {
			w.stats.WindowLimited++
			refuse(&out, ReasonWindowLimit)
			continue
		}
		win := w.wins[s]
		if win == nil {
			if win = w.openWindow(s, end); win == nil {
				w.stats.WindowLimited++
				refuse(&out, ReasonWindowLimit)
				continue
			}
		}
		c := win.cells[string(w.keyBuf)]
		if c == nil {
			if len(win.list) >= w.cfg.MaxKeys {
				w.stats.KeyLimited++
				refuse(&out, ReasonKeyLimit)
				continue
			}
			c = w.newCell(win, string(w.keyBuf))
		}
		for i, m := range w.measures {
			if m.filter == nil || m.pass(&w.ev) {
				c.aggs[i].add(m, &w.ev, w)
			}
		}
		w.markCell(c)
		out.Windows++
		if win.closed {
			w.emitCell(c, false)
		}
	}
	return out
}

func (w *Windower) newCell(win *window, key string) *cell {
	c := &cell{win: win, key: key, aggs: make([]aggState, len(w.measures))}
	for i, m := range w.measures {
		c.aggs[i] = newAgg(m)
	}
	win.cells[key] = c
	win.list = append(win.list, c)
	return c
}

func (w *Windower) markCell(c *cell) {
	if !c.dirty {
		c.dirty = true
		w.dirtyCells = append(w.dirtyCells, c)
	}
}

// openWindow creates a window, closing the oldest early when max.windows
// are held. It returns nil when the new window would itself be the oldest.
func (w *Windower) openWindow(start, end int64) *window {
	if len(w.order) >= w.cfg.MaxWindows {
		oldest := w.order[0]
		if start < oldest.start {
			return nil
		}
		w.evict(oldest)
	}
	win := &window{start: start, end: end, cells: map[string]*cell{}}
	i := sort.Search(len(w.order), func(i int) bool { return w.order[i].start > start })
	w.order = slices.Insert(w.order, i, win)
	w.wins[start] = win
	if w.wm >= w.closeAt(end) {
		win.closed = true // created closed: its cells emit as they are added
	}
	w.nextAction = min(w.nextAction, w.actionAt(win))
	return win
}

func (w *Windower) actionAt(win *window) int64 {
	if win.closed {
		return w.purgeAt(win.end)
	}
	return w.closeAt(win.end)
}

// evict closes a window before its time (its results are marked Early),
// drops its state, and refuses its later events.
func (w *Windower) evict(win *window) {
	w.stats.WindowsEvicted++
	if !win.closed {
		w.closeWindow(win, true)
	}
	w.purgeWindow(win)
	w.evicted = true
	w.evictedStart = max(w.evictedStart, win.start)
	w.globalDirty = true
}

func (w *Windower) advanceWindows() {
	next := int64(math.MaxInt64)
	var purge []*window
	for _, win := range w.order {
		if !win.closed && w.wm >= w.closeAt(win.end) {
			w.closeWindow(win, false)
		}
		if win.closed && w.wm >= w.purgeAt(win.end) {
			purge = append(purge, win)
			continue
		}
		next = min(next, w.actionAt(win))
	}
	for _, win := range purge {
		w.purgeWindow(win)
	}
	w.nextAction = next
}

func (w *Windower) closeWindow(win *window, early bool) {
	win.closed = true
	sort.Slice(win.list, func(i, j int) bool { return win.list[i].key < win.list[j].key })
	for _, c := range win.list {
		w.emitCell(c, early)
		w.markCell(c)
	}
}

func (w *Windower) purgeWindow(win *window) {
	for _, c := range win.list {
		c.purged = true
		w.tombs = append(w.tombs, cellKey(win.start, c.key))
	}
	delete(w.wins, win.start)
	w.order = slices.DeleteFunc(w.order, func(o *window) bool { return o == win })
}

func (w *Windower) emitCell(c *cell, early bool) {
	c.version++
	w.markCell(c)
	r := Result{
		ID:          resultID(w.connector, w.cfg.ResultName, []byte(c.key), c.win.start, c.win.end),
		Version:     c.version,
		Aggregate:   w.cfg.ResultName,
		WindowStart: c.win.start,
		WindowEnd:   c.win.end,
		Key:         w.decodeKey([]byte(c.key)),
		Early:       early,
		Values:      map[string]any{},
	}
	for i, m := range w.measures {
		c.aggs[i].values(m, r.Values, &r)
	}
	w.queue(r)
}

// ---- changelog records of windows

// cellKey is 'W' + start (8 bytes, big-endian, so keys sort by time) +
// canonical group key.
func cellKey(start int64, key string) []byte {
	b := make([]byte, 0, 9+len(key))
	b = append(b, recWindow)
	b = binary.BigEndian.AppendUint64(b, uint64(start))
	return append(b, key...)
}

func (w *Windower) encodeCell(c *cell) []byte {
	b := w.valueHeader(64)
	b = putUvarint(b, uint64(c.version))
	flags := byte(0)
	if c.win.closed {
		flags |= 1
	}
	b = append(b, flags)
	for _, a := range c.aggs {
		b = a.appendState(b)
	}
	return b
}

func (w *Windower) loadCell(key, val []byte) error {
	if len(key) < 9 || w.wt == wtSession {
		return errCorrupt
	}
	start := int64(binary.BigEndian.Uint64(key[1:9]))
	gk := string(key[9:])
	if val == nil {
		if win := w.wins[start]; win != nil {
			if c := win.cells[gk]; c != nil {
				delete(win.cells, gk)
				win.list = slices.DeleteFunc(win.list, func(o *cell) bool { return o == c })
				if len(win.list) == 0 {
					delete(w.wins, start)
					w.order = slices.DeleteFunc(w.order, func(o *window) bool { return o == win })
				}
			}
		}
		return nil
	}
	r := &reader{b: val}
	if err := w.checkHeader(r); err != nil {
		return err
	}
	win := w.wins[start]
	if win == nil {
		win = &window{start: start, end: start + w.size, cells: map[string]*cell{}}
		w.wins[start] = win
		i := sort.Search(len(w.order), func(i int) bool { return w.order[i].start > start })
		w.order = slices.Insert(w.order, i, win)
	}
	c := win.cells[gk]
	if c == nil {
		c = w.newCell(win, gk)
	} else {
		for i, m := range w.measures {
			c.aggs[i] = newAgg(m)
		}
	}
	c.version = uint32(r.uvarint())
	if r.byte()&1 != 0 {
		win.closed = true
	}
	for i, m := range w.measures {
		c.aggs[i].readState(m, r, w)
	}
	if r.err != nil || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

func (w *Windower) windowSnapshot(dst []Record) []Record {
	for _, win := range w.order {
		list := slices.Clone(win.list)
		sort.Slice(list, func(i, j int) bool { return list[i].key < list[j].key })
		for _, c := range list {
			dst = append(dst, Record{Key: cellKey(win.start, c.key), Value: w.encodeCell(c)})
		}
	}
	return dst
}
