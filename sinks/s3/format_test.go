package s3

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/connectd/connectd/connector"
)

// dictTestRecords returns n click events whose string columns hold nulls,
// empty strings, values that differ between row groups, and, from record
// 500 on, a utm_campaign of 500 distinct bytes per record: more than the
// 1 MiB dictionary limit in all.
func dictTestRecords(n int) []connector.Record {
	countries := []string{"FR", "", "DE", "US", "zz"}
	out := make([]connector.Record, n)
	for i := range out {
		v := fmt.Sprintf(`{"event_id":"e-%d","timestamp":"2026-11-22T10:00:%02d.000Z","user_id":"u%d","event_type":"t%d"`, i, i%60, i%97, i/1024)
		if i%3 != 0 {
			v += fmt.Sprintf(`,"country":%q`, countries[i%len(countries)])
		} else if i%2 == 0 {
			v += `,"country":null`
		}
		if i >= 500 {
			v += fmt.Sprintf(`,"utm_campaign":"c%05d%s"`, i, strings.Repeat("x", 494))
		}
		if i%7 == 0 {
			v += `,"referrer":"https://r.example/` + fmt.Sprint(i%5) + `"`
		}
		out[i] = connector.Record{Topic: "clicks", Partition: 1, Offset: int64(i), Value: []byte(v + "}")}
	}
	return out
}

// TestParquetDictionaryColumns checks the sink's own dictionary encoding
// against the column writer's: the same records written with and without
// it must read back as the same rows, with the same statistics (min, max,
// nulls, values) per row group and column. The records span three row
// groups, hold nulls and empty strings, and overflow utm_campaign's
// dictionary, which must then turn plain.
func TestParquetDictionaryColumns(t *testing.T) {
	cfg := decode(t, map[string]string{"store.url": "file:///unused", "format.class": "parquet", "parquet.row.group.rows": "1024"})
	fm, err := newFormat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	records := dictTestRecords(3000)
	encode := func(sinkDict bool) ([]byte, *parquetEncoder) {
		t.Helper()
		e := fm.newEncoder("clicks", false).(*parquetEncoder)
		if !sinkDict {
			for i := range e.cols {
				e.cols[i].dict = nil
			}
		}
		var body []byte
		for round := range 2 { // the second file reuses the reset encoder
			for i := range records {
				if err := e.add(&records[i]); err != nil {
					t.Fatal(err)
				}
			}
			if sinkDict && round == 0 {
				for _, name := range []string{"country", "user_id", "_topic", "event_type"} {
					if c := e.col(name); c.dict == nil || c.dict.plain {
						t.Errorf("column %s: not dictionary-encoded by the sink", name)
					}
				}
				if c := e.col("utm_campaign"); c.dict == nil || !c.dict.plain {
					t.Errorf("utm_campaign: want a dictionary that turned plain")
				}
			}
			b, err := e.finish()
			if err != nil {
				t.Fatal(err)
			}
			if round == 1 && !bytes.Equal(b, body) {
				t.Errorf("sinkDict=%v: the second file differs from the first", sinkDict)
			}
			body = b
		}
		return body, e
	}
	withDict, _ := encode(true)
	plain, _ := encode(false)

	rowsDict, err := parquetRows(withDict)
	if err != nil {
		t.Fatal(err)
	}
	rowsPlain, err := parquetRows(plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(rowsDict) != len(records) || !reflect.DeepEqual(rowsDict, rowsPlain) {
		t.Fatalf("rows differ: %d rows with the sink's dictionary, %d without", len(rowsDict), len(rowsPlain))
	}
	if got := rowsDict[1]["country"]; got != "" {
		t.Errorf("row 1 country = %#v, want the empty string", got)
	}
	if _, ok := rowsDict[3]["country"]; ok {
		t.Errorf("row 3 country = %#v, want null", rowsDict[3]["country"])
	}

	md := func(body []byte) *file.Reader {
		r, err := file.NewParquetReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	rd, rp := md(withDict).MetaData(), md(plain).MetaData()
	if rd.NumRowGroups() != 3 || rp.NumRowGroups() != 3 {
		t.Fatalf("row groups: %d and %d, want 3", rd.NumRowGroups(), rp.NumRowGroups())
	}
	for g := range rd.NumRowGroups() {
		for c := range rd.Schema.NumColumns() {
			name := rd.Schema.Column(c).Name()
			cd, err := rd.RowGroup(g).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := rp.RowGroup(g).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := cd.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			sp, err := cp.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			if sd == nil || sp == nil {
				t.Fatalf("row group %d column %s: no statistics", g, name)
			}
			if sd.HasMinMax() != sp.HasMinMax() || !bytes.Equal(sd.EncodeMin(), sp.EncodeMin()) || !bytes.Equal(sd.EncodeMax(), sp.EncodeMax()) ||
				sd.NullCount() != sp.NullCount() || sd.NumValues() != sp.NumValues() || cd.NumValues() != cp.NumValues() {
				t.Errorf("row group %d column %s: statistics min %q max %q nulls %d values %d, want %q %q %d %d",
					g, name, sd.EncodeMin(), sd.EncodeMax(), sd.NullCount(), sd.NumValues(), sp.EncodeMin(), sp.EncodeMax(), sp.NullCount(), sp.NumValues())
			}
			if name == "country" || name == "_topic" || name == "user_id" {
				if !cd.HasDictionaryPage() {
					t.Errorf("row group %d column %s: no dictionary page", g, name)
				}
			}
		}
	}
}

// col returns the column named name.
func (e *parquetEncoder) col(name string) *column {
	for i := range e.cols {
		if e.cols[i].node.Name() == name {
			return &e.cols[i]
		}
	}
	return nil
}
