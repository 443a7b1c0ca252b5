package windowing

import (
	"encoding/json"
	"time"
)

// Result is the outcome of one window and group key (for session windows:
// one session of a key). Results are re-emitted with a higher Version when
// late data changes them; downstream keeps, per ID, the highest version.
type Result struct {
	// ID is deterministic: FNV-1a 128 (hex) over the connector name,
	// Aggregate, the canonical group key, WindowStart and WindowEnd. It is
	// the same on every run, platform and restore.
	ID string
	// Version counts emissions of this window and key: 1 for the first,
	// +1 for each re-emission (and for a retraction).
	Version uint32
	// Aggregate is Config.ResultName.
	Aggregate string
	// WindowStart and WindowEnd bound the window in Unix ms, [start, end).
	// A session window ends session.gap.ms after its last event.
	WindowStart, WindowEnd int64
	// Key maps each group-by field to its value.
	Key map[string]string
	// Values holds each measure's values under plain names (see the
	// package documentation).
	Values map[string]any
	// Alerts names the alert measures that fired in this result.
	Alerts []string
	// Early is set when the window was closed before the watermark reached
	// it, because max.windows windows were held.
	Early bool
	// Retract is set when a session result with this ID is void: a late
	// event merged or extended the session, whose result now has another
	// ID. Values is nil; downstream deletes the ID.
	Retract bool
}

type resultJSON struct {
	ID          string            `json:"id"`
	Version     uint32            `json:"version"`
	Aggregate   string            `json:"aggregate"`
	WindowStart string            `json:"window_start"`
	WindowEnd   string            `json:"window_end"`
	Key         map[string]string `json:"key"`
	Values      map[string]any    `json:"values,omitempty"`
	Alerts      []string          `json:"alerts,omitempty"`
	Early       bool              `json:"early,omitempty"`
	Retract     bool              `json:"retract,omitempty"`
}

// MarshalJSON encodes the result as one JSON object with the fields id,
// version, aggregate, window_start and window_end (RFC3339, UTC, with
// milliseconds when not whole seconds), key, values (omitted for a
// retraction), alerts, early and retract (the last three when set). Map
// keys come out sorted, so the encoding is deterministic.
func (r Result) MarshalJSON() ([]byte, error) {
	key := r.Key
	if key == nil {
		key = map[string]string{}
	}
	return json.Marshal(resultJSON{
		ID: r.ID, Version: r.Version, Aggregate: r.Aggregate,
		WindowStart: rfc3339(r.WindowStart), WindowEnd: rfc3339(r.WindowEnd),
		Key: key, Values: r.Values, Alerts: r.Alerts, Early: r.Early, Retract: r.Retract,
	})
}

func rfc3339(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
