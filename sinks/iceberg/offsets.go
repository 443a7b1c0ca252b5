package iceberg

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go/table"

	"github.com/connectd/connectd/connector"
)

// Offsets is the next offset of each topic-partition a connector has
// committed to a table.
type Offsets map[connector.TopicPartition]int64

// OffsetsPrefix starts the snapshot summary property that holds a
// connector's offsets: "connectd.offsets.<connector>", value a JSON object
// {"topic": {"partition": next offset}}. Every commit of the sink carries
// the connector's whole map forward, so the newest snapshot that has the
// property has all of it.
const OffsetsPrefix = "connectd.offsets."

// ResetPrefix starts the table property that records a requested offset
// reset (backfill): "connectd.reset.<connector>", same JSON as the offsets.
const ResetPrefix = "connectd.reset."

// OffsetsKey returns the summary property of connector's offsets.
func OffsetsKey(connectorName string) string { return OffsetsPrefix + connectorName }

func resetKey(connectorName string) string { return ResetPrefix + connectorName }

// encodeOffsets renders m as compact JSON.
func encodeOffsets(m Offsets) string {
	out := map[string]map[string]int64{}
	for tp, off := range m {
		if out[tp.Topic] == nil {
			out[tp.Topic] = map[string]int64{}
		}
		out[tp.Topic][strconv.Itoa(int(tp.Partition))] = off
	}
	b, _ := json.Marshal(out) // maps of strings and ints always marshal
	return string(b)
}

// decodeOffsets reads what encodeOffsets wrote.
func decodeOffsets(s string) (Offsets, error) {
	var in map[string]map[string]int64
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("offsets property: %w", err)
	}
	m := Offsets{}
	for topic, parts := range in {
		for p, off := range parts {
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil || n < 0 || off < 0 {
				return nil, fmt.Errorf("offsets property: bad entry %s/%s=%d", topic, p, off)
			}
			m[connector.TopicPartition{Topic: topic, Partition: int32(n)}] = off
		}
	}
	return m, nil
}

// StoredOffsets returns the offsets connector committed to tbl: the
// property of the newest snapshot of the main branch's history that has
// one (snapshots of other writers, compaction without it, or deletes do
// not hide it), or an empty map.
func StoredOffsets(tbl *table.Table, connectorName string) (Offsets, error) {
	key := OffsetsKey(connectorName)
	meta := tbl.Metadata()
	for s := tbl.CurrentSnapshot(); s != nil; {
		if s.Summary != nil {
			if v, ok := s.Summary.Properties[key]; ok {
				return decodeOffsets(v)
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return Offsets{}, nil
}

// allOffsetProps returns every connectd.offsets.* property found walking
// back from the current snapshot, newest first per connector: what a
// maintenance commit must carry forward.
func allOffsetProps(tbl *table.Table) map[string]string {
	out := map[string]string{}
	meta := tbl.Metadata()
	for s := tbl.CurrentSnapshot(); s != nil; {
		if s.Summary != nil {
			for k, v := range s.Summary.Properties {
				if strings.HasPrefix(k, OffsetsPrefix) {
					if _, seen := out[k]; !seen {
						out[k] = v
					}
				}
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return out
}

// resetTargets returns the reset connector requested on tbl, if any.
func resetTargets(tbl *table.Table, connectorName string) (Offsets, error) {
	v, ok := tbl.Properties()[resetKey(connectorName)]
	if !ok {
		return Offsets{}, nil
	}
	return decodeOffsets(v)
}

// merge returns base with over's entries replacing its own.
func merge(base, over Offsets) Offsets {
	m := maps.Clone(base)
	if m == nil {
		m = Offsets{}
	}
	maps.Copy(m, over)
	return m
}

// AllStoredOffsets returns the offsets of every connector that stored
// some in tbl, by connector name.
func AllStoredOffsets(tbl *table.Table) (map[string]Offsets, error) {
	out := map[string]Offsets{}
	for k, v := range allOffsetProps(tbl) {
		m, err := decodeOffsets(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[strings.TrimPrefix(k, OffsetsPrefix)] = m
	}
	return out, nil
}
