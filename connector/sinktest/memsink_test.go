package sinktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/sinktest"
)

// memStore is an append-only store of chunks, like a directory of files:
// it keeps duplicates, so a sink that writes twice is caught.
type memStore struct {
	mu     sync.Mutex
	chunks []memChunk
}

type memChunk struct {
	tp     connector.TopicPartition
	recs   []connector.Record
	offset []int64
}

func (s *memStore) add(c memChunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks = append(s.chunks, c)
}

// truncate drops every record of tp at or above from.
func (s *memStore) truncate(tp connector.TopicPartition, from int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []memChunk
	for _, c := range s.chunks {
		if c.tp == tp {
			n := 0
			for n < len(c.offset) && c.offset[n] < from {
				n++
			}
			c.recs, c.offset = c.recs[:n], c.offset[:n]
			if n == 0 {
				continue
			}
		}
		kept = append(kept, c)
	}
	s.chunks = kept
}

// chunkStart returns the first offset of the chunk of tp holding off
// beyond its start, if any.
func (s *memStore) chunkStart(tp connector.TopicPartition, off int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.chunks {
		if c.tp == tp && c.offset[0] < off && off <= c.offset[len(c.offset)-1] {
			return c.offset[0], true
		}
	}
	return 0, false
}

func (s *memStore) read() []sinktest.Stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinktest.Stored
	for _, c := range s.chunks {
		for i, r := range c.recs {
			out = append(out, sinktest.Stored{Topic: c.tp.Topic, Partition: c.tp.Partition, Offset: c.offset[i], Value: r.Value})
		}
	}
	return out
}

// memSink is a correct sink over memStore (with flaw == ""), and a broken
// one with a flaw, to show that the suite catches it.
type memSink struct {
	store     *memStore
	flaw      string
	flushSize int
	// flushEvery > 1 makes only every n-th Flush persist buffers, as a
	// sink with a flush interval does.
	flushEvery int
	flushes    int
	parts      map[connector.TopicPartition]*memPart
	opened     bool
}

type memPart struct {
	next, durable, reported int64
	buf                     []*connector.Record
	closed                  bool
}

func (s *memSink) Open(ctx context.Context, assigned map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	s.opened = true
	for tp, off := range assigned {
		if s.flaw != "no_cleanup" {
			s.store.truncate(tp, off)
		}
		if p, ok := s.parts[tp]; ok && s.flaw == "keeps_revoked" {
			p.closed = false
			continue
		}
		s.parts[tp] = &memPart{next: off, durable: off, reported: off}
	}
	if s.flaw == "foreign_open" {
		return map[connector.TopicPartition]int64{{Topic: "not-assigned", Partition: 9}: 0}, nil
	}
	return nil, nil
}

func (s *memSink) Write(ctx context.Context, batch []connector.Record) error {
	var bad []connector.RecordError
	for i := range batch {
		r := &batch[i]
		p := s.parts[r.TP()]
		if p == nil || p.closed {
			return fmt.Errorf("record of %s, which is not open", r.TP())
		}
		if bytes.HasPrefix(r.Value, []byte("BAD")) {
			idx := i
			if s.flaw == "wrong_bad_index" {
				idx++
			}
			bad = append(bad, connector.RecordError{Index: idx, Err: errors.New("value starts with BAD")})
			p.next = r.Offset + 1
			continue
		}
		if r.Offset < p.next && s.flaw != "no_skip" {
			continue
		}
		if s.flaw != "keeps_batch_slice" {
			c := *r
			r = &c
		}
		p.buf = append(p.buf, r)
		p.next = r.Offset + 1
		if len(p.buf) >= s.flushSize {
			s.persist(r.TP(), p)
		}
	}
	if len(bad) > 0 {
		return &connector.BatchError{Records: bad}
	}
	return nil
}

func (s *memSink) persist(tp connector.TopicPartition, p *memPart) {
	if len(p.buf) > 0 {
		c := memChunk{tp: tp}
		for _, r := range p.buf {
			c.recs = append(c.recs, *r)
			c.offset = append(c.offset, r.Offset)
		}
		s.store.add(c)
		p.buf = p.buf[:0:0]
	}
	p.durable = p.next
}

func (s *memSink) Flush(ctx context.Context) (map[connector.TopicPartition]int64, error) {
	s.flushes++
	persist := s.flushEvery <= 1 || s.flushes%s.flushEvery == 0
	out := map[connector.TopicPartition]int64{}
	var high int64
	for _, p := range s.parts {
		high = max(high, p.next)
	}
	for tp, p := range s.parts {
		if p.closed && s.flaw != "keeps_revoked" {
			continue
		}
		if persist || len(p.buf) >= s.flushSize {
			s.persist(tp, p)
		} else if len(p.buf) == 0 {
			p.durable = p.next
		}
		report := p.durable
		switch s.flaw {
		case "lying_flush":
			report = p.next
		case "global_offset":
			if report != p.reported {
				report = high
			}
		}
		if report != p.reported {
			out[tp] = report
			p.reported = report
		}
	}
	return out, nil
}

func (s *memSink) Close(ctx context.Context, revoked []connector.TopicPartition) error {
	for _, tp := range revoked {
		if s.flaw == "keeps_revoked" {
			if p := s.parts[tp]; p != nil {
				p.closed = true
			}
			continue
		}
		delete(s.parts, tp)
	}
	return nil
}

func (s *memSink) Stop(ctx context.Context) error {
	if s.flaw == "stop_needs_open" && !s.opened {
		return errors.New("stop: sink was never opened")
	}
	s.parts = nil
	return nil
}

func (s *memSink) ResetOffsets(ctx context.Context, target map[connector.TopicPartition]int64) (map[connector.TopicPartition]int64, error) {
	out := map[connector.TopicPartition]int64{}
	for _, tp := range slices.Collect(maps.Keys(target)) {
		if start, ok := s.store.chunkStart(tp, target[tp]); ok {
			out[tp] = start
		}
		if s.flaw == "reset_forward" {
			out[tp] = target[tp] + 1
		}
	}
	return out, nil
}
