package archive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestParquetSchema pins the files' schema to what Redshift COPY and
// Spectrum map onto posts_archive: INT64 ids, UTF-8 strings (VARCHAR) and
// TIMESTAMP(MICROS) times, in the table's column order, Snappy-compressed.
func TestParquetSchema(t *testing.T) {
	b, err := posts.batch([]postRow{{ID: 1, UserID: 2, Body: "héllo", CreatedAt: 1, UpdatedAt: 2}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Schema().String()
	t.Log(got)
	for _, want := range []string{
		"required int64 id (INT(64,true));", "required int64 user_id (INT(64,true));",
		"required binary body (STRING);",
		"required int64 created_at (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));",
		"required int64 updated_at (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, " id "), strings.Index(got, " updated_at "); i < 0 || j < i {
		t.Errorf("columns out of the table's order:\n%s", got)
	}
	md := f.Metadata()
	if len(md.RowGroups) != 1 {
		t.Fatalf("%d row groups, want 1", len(md.RowGroups))
	}
	for _, c := range md.RowGroups[0].Columns {
		if c.MetaData.Codec != format.Snappy {
			t.Errorf("column %v compressed with %v, want SNAPPY", c.MetaData.PathInSchema, c.MetaData.Codec)
		}
	}
}
