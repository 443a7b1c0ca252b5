package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the pure half of `connectd top`: results in, one frame of
// text out. It knows the value shapes of windowing's measures (see the
// windowing package documentation) by their JSON form, not their names,
// because measure names are chosen in each connector's config:
//
//	number, string, bool        a scalar (count, unique_users, avg_duration_ms, bounce, …)
//	{name: number}              a split (count_by), drawn as bars with shares
//	[{value, count}]            a top-K list, drawn as bars
//	{steps: [...], conversion}  a funnel, one bar per step
//	{count, threshold, fired}   an alert
//	[string]                    a session path, shown as a scalar

// Limits of a frame.
const (
	topBarRows   = 6  // rows of a split or top-K list; the rest summed in one row
	topKeyRows   = 10 // group keys of a grouped aggregate's table
	topFullKeys  = 3  // up to this many keys, each is shown in full
	topTwoColumn = 80 // from this width, splits and lists go side by side
)

// topResult is one result record of a window connector as top reads it.
type topResult struct {
	ID          string            `json:"id"`
	Version     uint32            `json:"version"`
	Aggregate   string            `json:"aggregate"`
	WindowStart time.Time         `json:"window_start"`
	WindowEnd   time.Time         `json:"window_end"`
	Key         map[string]string `json:"key"`
	Values      map[string]any    `json:"values"`
	Alerts      []string          `json:"alerts"`
	Early       bool              `json:"early"`
	Retract     bool              `json:"retract"`
}

// decodeResult parses one result record; numbers stay json.Number, so
// counts print exactly.
func decodeResult(b []byte) (topResult, error) {
	var r topResult
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		return topResult{}, err
	}
	if r.ID == "" || r.Aggregate == "" || r.WindowEnd.IsZero() {
		return topResult{}, fmt.Errorf("not a window result: id, aggregate or window_end missing")
	}
	return r, nil
}

// topFrame is what one frame shows.
type topFrame struct {
	Topic string
	// Note is a status line under the title: waiting for the topic, how
	// many records were read, a read error. Empty for none.
	Note string
	// Results holds the newest version of each result; retracted ones and
	// windows older than the newest of their aggregate are left out here.
	Results []topResult
}

// renderFrame draws f in width columns: a title, then per aggregate (by
// name) its newest window by window end.
func renderFrame(f topFrame, width int) string {
	width = max(width, 40)
	var b strings.Builder
	title := "connectd top · " + f.Topic
	b.WriteString(fit(title, width) + "\n")
	if f.Note != "" {
		b.WriteString(fit(f.Note, width) + "\n")
	}
	groups := latestWindows(f.Results)
	if len(groups) == 0 {
		b.WriteString("\nno closed windows yet\n")
		return b.String()
	}
	for _, g := range groups {
		b.WriteString("\n")
		renderAggregate(&b, g, width)
	}
	return b.String()
}

// aggWindow is the newest window of one aggregate: its results, one per
// group key, sorted by key.
type aggWindow struct {
	name    string
	results []topResult
}

// latestWindows keeps, per aggregate, the results of its newest window (by
// window end; on a tie, every window that ends then, as sessions of
// different keys may), sorted by aggregate name and then key.
func latestWindows(results []topResult) []aggWindow {
	newest := map[string]time.Time{}
	for _, r := range results {
		if r.Retract {
			continue
		}
		if t, ok := newest[r.Aggregate]; !ok || r.WindowEnd.After(t) {
			newest[r.Aggregate] = r.WindowEnd
		}
	}
	by := map[string][]topResult{}
	for _, r := range results {
		if !r.Retract && r.WindowEnd.Equal(newest[r.Aggregate]) {
			by[r.Aggregate] = append(by[r.Aggregate], r)
		}
	}
	out := make([]aggWindow, 0, len(by))
	for name, rs := range by {
		slices.SortFunc(rs, func(a, b topResult) int {
			return cmp.Or(strings.Compare(keyLabel(a.Key), keyLabel(b.Key)), a.WindowStart.Compare(b.WindowStart), strings.Compare(a.ID, b.ID))
		})
		out = append(out, aggWindow{name, rs})
	}
	slices.SortFunc(out, func(a, b aggWindow) int { return strings.Compare(a.name, b.name) })
	return out
}

// renderAggregate draws one aggregate's newest window.
func renderAggregate(b *strings.Builder, g aggWindow, width int) {
	first := g.results[0]
	head := "── " + g.name + " ── " + windowSpan(first.WindowStart, first.WindowEnd)
	if len(g.results) > 1 {
		head += " · " + group(int64(len(g.results))) + " keys"
	} else {
		if first.Version > 1 {
			head += fmt.Sprintf(" · v%d", first.Version)
		}
		if first.Early {
			head += " · closed early"
		}
	}
	b.WriteString(rule(head+" ", width) + "\n")
	switch {
	case len(g.results) == 1 && len(first.Key) == 0:
		renderValues(b, first, width)
	case len(g.results) <= topFullKeys:
		for i, r := range g.results {
			if i > 0 {
				b.WriteString("\n")
			}
			line := "  " + keyLabel(r.Key)
			if r.Version > 1 {
				line += fmt.Sprintf(" · v%d", r.Version)
			}
			if r.Early {
				line += " · closed early"
			}
			b.WriteString(fit(line, width) + "\n")
			renderValues(b, r, width)
		}
	default:
		renderKeyTable(b, g.results, width)
	}
}

// windowSpan renders a window as "2026-01-02 10:00:00 → 10:05:00 UTC (5m)".
func windowSpan(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	endFmt := "15:04:05"
	if start.Format(time.DateOnly) != end.Format(time.DateOnly) {
		endFmt = time.DateTime
	}
	return fmt.Sprintf("%s → %s UTC (%s)", start.Format(time.DateTime), end.Format(endFmt), shortDuration(end.Sub(start)))
}

// shortDuration renders d without zero units: 5m, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// keyLabel renders a group key as field=value pairs in field order.
func keyLabel(key map[string]string) string {
	fields := make([]string, 0, len(key))
	for f := range key {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for i, f := range fields {
		v := key[f]
		if v == "" {
			v = `""`
		}
		fields[i] = f + "=" + v
	}
	return strings.Join(fields, " ")
}

// valueKinds sorts a result's values by shape.
type valueKinds struct {
	scalars []string // names, headline order
	splits  []string
	tops    []string
	funnels []string
	alerts  []string
}

// headline lists the scalars shown first, in this order.
func headline() []string {
	return []string{"count", "events", "unique_users", "unique_sessions", "avg_duration_ms", "p50_duration_ms", "p95_duration_ms"}
}

func classify(values map[string]any) valueKinds {
	var k valueKinds
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		switch v := values[n].(type) {
		case map[string]any:
			switch {
			case v["steps"] != nil:
				k.funnels = append(k.funnels, n)
			case v["threshold"] != nil && v["fired"] != nil:
				k.alerts = append(k.alerts, n)
			case isSplit(v):
				k.splits = append(k.splits, n)
			}
		case []any:
			if isTopList(v) {
				k.tops = append(k.tops, n)
			} else {
				k.scalars = append(k.scalars, n)
			}
		default:
			k.scalars = append(k.scalars, n)
		}
	}
	rank := func(n string) int {
		if i := slices.Index(headline(), n); i >= 0 {
			return i
		}
		return len(headline())
	}
	slices.SortStableFunc(k.scalars, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return k
}

func isSplit(m map[string]any) bool {
	for _, v := range m {
		if _, ok := v.(json.Number); !ok {
			return false
		}
	}
	return true
}

func isTopList(l []any) bool {
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok || m["value"] == nil || m["count"] == nil {
			return false
		}
	}
	return true
}

// renderValues draws every value of one result: headline scalars, splits
// and top lists as bars (two columns when wide enough), funnels, alerts.
func renderValues(b *strings.Builder, r topResult, width int) {
	k := classify(r.Values)
	var items []string
	for _, n := range k.scalars {
		items = append(items, label(n)+" "+scalarText(r.Values[n]))
	}
	writeFlow(b, items, width)

	var blocks [][]string
	colW := width - 2
	if width >= topTwoColumn {
		colW = (width - 4) / 2
	}
	for _, n := range k.splits {
		blocks = append(blocks, splitBlock(n, r.Values[n].(map[string]any), colW))
	}
	for _, n := range k.tops {
		blocks = append(blocks, topBlock(n, r.Values[n].([]any), colW))
	}
	perRow := 1
	if width >= topTwoColumn {
		perRow = 2
	}
	for i := 0; i < len(blocks); i += perRow {
		b.WriteString("\n")
		row := blocks[i:min(i+perRow, len(blocks))]
		lines := 0
		for _, bl := range row {
			lines = max(lines, len(bl))
		}
		for l := range lines {
			var line strings.Builder
			line.WriteString("  ")
			for c, bl := range row {
				cell := ""
				if l < len(bl) {
					cell = bl[l]
				}
				if c < len(row)-1 {
					cell = pad(cell, colW+2)
				}
				line.WriteString(cell)
			}
			b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		}
	}
	for _, n := range k.funnels {
		b.WriteString("\n")
		for _, l := range funnelBlock(n, r.Values[n].(map[string]any), width-2) {
			b.WriteString(strings.TrimRight("  "+l, " ") + "\n")
		}
	}
	alerts := alertLines(r, k.alerts)
	if len(alerts) > 0 {
		b.WriteString("\n")
		for _, l := range alerts {
			b.WriteString(fit("  "+l, width) + "\n")
		}
	}
}

// writeFlow writes items separated by three spaces, wrapped at width.
func writeFlow(b *strings.Builder, items []string, width int) {
	line := ""
	for _, it := range items {
		it = fit(it, width-2)
		if line != "" && runeLen(line)+3+runeLen(it) > width-2 {
			b.WriteString("  " + line + "\n")
			line = ""
		}
		if line != "" {
			line += "   "
		}
		line += it
	}
	if line != "" {
		b.WriteString("  " + line + "\n")
	}
}

// label turns a value name into words; count is "events".
func label(name string) string {
	if name == "count" {
		return "events"
	}
	return strings.ReplaceAll(name, "_", " ")
}

// scalarText renders a scalar value: numbers grouped, strings as they
// are, a path joined by arrows.
func scalarText(v any) string {
	switch v := v.(type) {
	case json.Number:
		return numText(v)
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "-"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = scalarText(e)
		}
		return strings.Join(parts, " → ")
	default:
		bs, _ := json.Marshal(v)
		return string(bs)
	}
}

// numText renders an integer with thousands separators and anything else
// with one decimal.
func numText(n json.Number) string {
	if i, err := n.Int64(); err == nil {
		return group(i)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return n.String()
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', 1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	out := group(w) + "." + frac
	if f < 0 {
		out = "-" + out
	}
	return out
}

func numValue(v any) float64 {
	n, _ := v.(json.Number)
	f, _ := n.Float64()
	return f
}

// barRow is one row of a bar chart.
type barRow struct {
	label string
	n     float64
	num   string // the number as shown
	extra string // after the number: a share
}

// bars draws rows as "label  ████▌   num  extra" in width columns, bars
// scaled to the largest n.
func bars(rows []barRow, width int) []string {
	labelW, numW, extraW := 0, 0, 0
	top := 0.0
	for _, r := range rows {
		labelW = max(labelW, runeLen(r.label))
		numW = max(numW, runeLen(r.num))
		extraW = max(extraW, runeLen(r.extra))
		top = max(top, r.n)
	}
	labelW = min(labelW, max(8, width/3))
	gaps := 2 + 2
	if extraW > 0 {
		gaps += 2
	}
	barW := width - labelW - numW - extraW - gaps
	if barW < 4 { // narrow: take it from the labels, then cut the line
		labelW = max(4, labelW-(4-barW))
		barW = 4
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		line := pad(fit(r.label, labelW), labelW) + "  " + pad(bar(r.n, top, barW), barW) + "  " + padLeft(r.num, numW)
		if extraW > 0 {
			line += "  " + padLeft(r.extra, extraW)
		}
		out[i] = fit(line, width)
	}
	return out
}

// bar draws n/top of width cells with eighth-cell precision.
func bar(n, top float64, width int) string {
	if top <= 0 || n <= 0 {
		return ""
	}
	eighths := int(math.Round(n / top * float64(width*8)))
	eighths = max(eighths, 1)
	full, part := eighths/8, eighths%8
	s := strings.Repeat("█", full)
	if part > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[part-1])
	}
	return s
}

// splitBlock draws a count_by value: a title with the total, then the
// largest values with their share; the rest in one row.
func splitBlock(name string, m map[string]any, width int) []string {
	type kv struct {
		k string
		n float64
	}
	var all []kv
	total := 0.0
	for k, v := range m {
		all = append(all, kv{k, numValue(v)})
		total += numValue(v)
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.k, b.k)) })
	var rows []barRow
	for i, e := range all {
		if i == topBarRows-1 && len(all) > topBarRows {
			rest := 0.0
			for _, r := range all[i:] {
				rest += r.n
			}
			rows = append(rows, barRow{fmt.Sprintf("(%d more)", len(all)-i), rest, group(int64(rest)), share(rest, total)})
			break
		}
		rows = append(rows, barRow{valueLabel(e.k), e.n, group(int64(e.n)), share(e.n, total)})
	}
	return append([]string{fit(label(name), width)}, bars(rows, width)...)
}

// valueLabel names a split's value; an empty one (direct traffic has no
// referrer) shows as "(none)".
func valueLabel(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// topBlock draws a top_k value in its order.
func topBlock(name string, l []any, width int) []string {
	var rows []barRow
	for i, e := range l {
		m := e.(map[string]any)
		if i == topBarRows {
			rows = append(rows, barRow{label: fmt.Sprintf("(%d more)", len(l)-i)})
			break
		}
		rows = append(rows, barRow{valueLabel(scalarText(m["value"])), numValue(m["count"]), scalarText(m["count"]), ""})
	}
	return append([]string{fit(label(name), width)}, bars(rows, width)...)
}

// funnelBlock draws a funnel: per step the users, the conversion from the
// first step and, when there is room, from the step before.
func funnelBlock(name string, m map[string]any, width int) []string {
	steps, _ := m["steps"].([]any)
	title := label(name) + " · conversion " + pct(numValue(m["conversion"]))
	var rows []barRow
	for i, s := range steps {
		st, _ := s.(map[string]any)
		extra := pct(numValue(st["conversion"]))
		if i > 0 && width >= 60 { // narrower, the bars need the room
			extra += " (" + pct(numValue(st["from_previous"])) + " of prev.)"
		}
		rows = append(rows, barRow{fmt.Sprintf("%d %s", i+1, scalarText(st["step"])), numValue(st["users"]), scalarText(st["users"]) + " users", extra})
	}
	return append([]string{fit(title, width)}, bars(rows, width)...)
}

// alertLines describes the alert values, fired ones first, and any alert
// named in Result.Alerts without a value.
func alertLines(r topResult, names []string) []string {
	var fired, quiet []string
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
		a := r.Values[n].(map[string]any)
		count, threshold := scalarText(a["count"]), scalarText(a["threshold"])
		if a["fired"] == true {
			fired = append(fired, fmt.Sprintf("ALERT %s: %s > %s", n, count, threshold))
		} else {
			quiet = append(quiet, fmt.Sprintf("alert %s: %s of %s, quiet", n, count, threshold))
		}
	}
	for _, n := range r.Alerts {
		if !seen[n] {
			fired = append(fired, "ALERT "+n)
		}
	}
	return append(fired, quiet...)
}

// renderKeyTable draws a grouped aggregate as one row per key: a bar of
// its main number (count, else the first numeric scalar), the other
// numeric scalars and fired alerts. The largest keys first.
func renderKeyTable(b *strings.Builder, rs []topResult, width int) {
	main := ""
	for _, r := range rs {
		for _, n := range classify(r.Values).scalars {
			if _, ok := r.Values[n].(json.Number); ok {
				main = n
				break
			}
		}
		if main != "" {
			break
		}
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b topResult) int { return cmp.Compare(numValue(b.Values[main]), numValue(a.Values[main])) })
	// One group-by field: the heading names it and rows show its values.
	field := ""
	if len(rs[0].Key) == 1 {
		for f := range rs[0].Key {
			field = f
		}
		for _, r := range rs {
			if _, ok := r.Key[field]; !ok || len(r.Key) != 1 {
				field = ""
				break
			}
		}
	}
	if main != "" {
		head := "  " + label(main)
		if field != "" {
			head += " by " + field
		}
		b.WriteString(fit(head, width) + "\n")
	}
	shown := sorted[:min(len(sorted), topKeyRows)]
	rows := make([]barRow, len(shown))
	for i, r := range shown {
		name := keyLabel(r.Key)
		if field != "" {
			name = r.Key[field]
		}
		var extra []string
		for _, n := range classify(r.Values).scalars {
			if _, ok := r.Values[n].(json.Number); ok && n != main {
				extra = append(extra, label(n)+" "+scalarText(r.Values[n]))
			}
		}
		for _, a := range r.Alerts {
			extra = append(extra, "ALERT "+a)
		}
		rows[i] = barRow{name, numValue(r.Values[main]), scalarText(r.Values[main]), strings.Join(extra, "  ")}
	}
	// Extras are left-aligned after the number, so they go in the label
	// of a plain line rather than bars' right-aligned column.
	extras := make([]string, len(rows))
	extraW := 0
	for i := range rows {
		extras[i], rows[i].extra = rows[i].extra, ""
		extraW = max(extraW, runeLen(extras[i]))
	}
	barWidth := width - 2
	if extraW > 0 {
		barWidth = max(width-2-2-min(extraW, width/3), 30)
	}
	for i, l := range bars(rows, barWidth) {
		line := "  " + l
		if extras[i] != "" {
			line += "  " + extras[i]
		}
		b.WriteString(strings.TrimRight(fit(line, width), " ") + "\n")
	}
	if n := len(sorted) - len(shown); n > 0 {
		b.WriteString(fmt.Sprintf("  … %s more keys\n", group(int64(n))))
	}
}

func share(n, total float64) string {
	if total <= 0 {
		return ""
	}
	return pct(n / total)
}

// pct renders a ratio as a percentage with one decimal.
func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// fit cuts s to width runes, ending in "…" when cut.
func fit(s string, width int) string {
	if runeLen(s) <= width {
		return s
	}
	if width <= 1 {
		return string([]rune(s)[:max(width, 0)])
	}
	return string([]rune(s)[:width-1]) + "…"
}

func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-runeLen(s)))
}

func padLeft(s string, width int) string {
	return strings.Repeat(" ", max(0, width-runeLen(s))) + s
}

// rule pads a heading with "─" to width.
func rule(s string, width int) string {
	s = fit(s, width)
	return s + strings.Repeat("─", max(0, width-runeLen(s)))
}
