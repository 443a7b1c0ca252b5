package clickhouse

import (
	"context"

	"github.com/connectd/connectd/connector"
)

// InsertRecomputedPageViews runs, alone, the first step of an offset
// reset's correction of events table events' page-views rollup, as a
// crash right after that step would leave it (tests only).
func (s *Sink) InsertRecomputedPageViews(ctx context.Context, events string, tp connector.TopicPartition, off int64, epoch uint64) error {
	if err := s.connect(); err != nil {
		return err
	}
	return s.insertRecomputed(ctx, &table{name: events, kind: kindEvents}, tp, off, epoch)
}
