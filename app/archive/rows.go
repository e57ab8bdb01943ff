package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

// postRow is a post as archived: one row of a Parquet file and of the
// warehouse table posts_archive, in the column order of both (COPY from
// Parquet maps columns by position). Times are microseconds since the Unix
// epoch in UTC, Parquet TIMESTAMP(MICROS, adjusted to UTC), which COPY loads
// into a Redshift TIMESTAMP; MySQL's DATETIME(6) keeps microseconds, so
// nothing is rounded on the way.
type postRow struct {
	ID        int64  `parquet:"id"`
	UserID    int64  `parquet:"user_id"`
	Body      string `parquet:"body"`
	CreatedAt int64  `parquet:"created_at,timestamp(microsecond)"`
	UpdatedAt int64  `parquet:"updated_at,timestamp(microsecond)"`
}

// photoRow is a photo record as archived (photos_archive). The blobs it
// names stay in the photos bucket: the archive moves rows, not objects.
type photoRow struct {
	ID          int64  `parquet:"id"`
	UserID      int64  `parquet:"user_id"`
	Status      string `parquet:"status"`
	ContentType string `parquet:"content_type"`
	OriginalKey string `parquet:"original_key"`
	ThumbKey    string `parquet:"thumb_key"`
	Width       int32  `parquet:"width"`
	Height      int32  `parquet:"height"`
	CreatedAt   int64  `parquet:"created_at,timestamp(microsecond)"`
	UpdatedAt   int64  `parquet:"updated_at,timestamp(microsecond)"`
}

// Canonical encoding, hashed for the checksum: each field in column order,
// integers and times (microseconds) as 8 bytes big-endian, strings as their
// byte length in 4 bytes big-endian followed by the bytes. It does not
// depend on Parquet's encoding, so a checksum computed from the MySQL rows
// and one computed from the rows read back from the object agree exactly
// when the rows do.
func putInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func putStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

var posts = &spec[postRow]{
	table:   "posts",
	columns: "id, user_id, body, created_at, updated_at",
	// VARCHAR lengths are bytes in Redshift, characters in MySQL: a body
	// holds at most app.MaxPostBytes (1024) bytes, enforced by the app.
	ddl: "id BIGINT NOT NULL, user_id BIGINT NOT NULL, body VARCHAR(1024) NOT NULL, " +
		"created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL",
	scan: func(scan func(...any) error) (postRow, error) {
		var r postRow
		var c, u time.Time
		err := scan(&r.ID, &r.UserID, &r.Body, &c, &u)
		r.CreatedAt, r.UpdatedAt = micros(c), micros(u)
		return r, err
	},
	id: func(r *postRow) int64 { return r.ID },
	canon: func(b []byte, r *postRow) []byte {
		b = putInt(putInt(b, r.ID), r.UserID)
		b = putStr(b, r.Body)
		return putInt(putInt(b, r.CreatedAt), r.UpdatedAt)
	},
}

var photos = &spec[photoRow]{
	table:   "photos",
	columns: "id, user_id, status, content_type, original_key, thumb_key, width, height, created_at, updated_at",
	ddl: "id BIGINT NOT NULL, user_id BIGINT NOT NULL, status VARCHAR(16) NOT NULL, content_type VARCHAR(64) NOT NULL, " +
		"original_key VARCHAR(1024) NOT NULL, thumb_key VARCHAR(1024) NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, " +
		"created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL",
	scan: func(scan func(...any) error) (photoRow, error) {
		var r photoRow
		var c, u time.Time
		err := scan(&r.ID, &r.UserID, &r.Status, &r.ContentType, &r.OriginalKey, &r.ThumbKey, &r.Width, &r.Height, &c, &u)
		r.CreatedAt, r.UpdatedAt = micros(c), micros(u)
		return r, err
	},
	id: func(r *photoRow) int64 { return r.ID },
	canon: func(b []byte, r *photoRow) []byte {
		b = putInt(putInt(b, r.ID), r.UserID)
		b = putStr(putStr(putStr(putStr(b, r.Status), r.ContentType), r.OriginalKey), r.ThumbKey)
		b = putInt(putInt(b, int64(r.Width)), int64(r.Height))
		return putInt(putInt(b, r.CreatedAt), r.UpdatedAt)
	},
}

// tables are the archivable tables by name, in the order a pass takes them.
var tables = map[string]table{"posts": posts, "photos": photos}

// TableNames are the tables the job can archive, in the order a pass takes
// them.
var TableNames = []string{"posts", "photos"}

// table is one archivable MySQL table; spec implements it for a row type.
type table interface {
	name() string
	// read returns the rows created on day with ids in [from, to], in id
	// order, at most limit of them (0: all); lock reads them FOR UPDATE.
	read(ctx context.Context, q querier, day time.Time, from, to int64, limit int, lock bool) (*batch, error)
	// decode reads a Parquet file of this table back.
	decode(data []byte) (*batch, error)
	// columnsDDL is the warehouse table's column list.
	columnsDDL() string
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// batch is a run of rows in id order, with what the job records of it.
type batch struct {
	n           int
	first, last int64 // ids of the first and last row; 0 when there are none
	sum         []byte
	encode      func() ([]byte, error)
}

// spec describes one table whose rows are T.
type spec[T any] struct {
	table, columns, ddl string
	scan                func(scan func(...any) error) (T, error)
	id                  func(*T) int64
	canon               func([]byte, *T) []byte
}

func (s *spec[T]) name() string       { return s.table }
func (s *spec[T]) columnsDDL() string { return s.ddl }

func (s *spec[T]) read(ctx context.Context, q querier, day time.Time, from, to int64, limit int, lock bool) (*batch, error) {
	// The primary key bounds the scan to [from, to] and gives id order
	// without a sort; the created_at filter keeps out rows of the next day
	// whose ids fall in the range (app servers' clocks differ slightly, so
	// ids and created_at are only nearly in the same order).
	query := "SELECT " + s.columns + " FROM " + s.table + " FORCE INDEX (PRIMARY)" +
		" WHERE id BETWEEN ? AND ? AND created_at >= ? AND created_at < ? ORDER BY id"
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	if lock {
		query += " FOR UPDATE"
	}
	rows, err := q.QueryContext(ctx, query, from, to, day, day.AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("read %s ids %d to %d of %s: %w", s.table, from, to, day.Format(time.DateOnly), err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		r, err := s.scan(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.table, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.table, err)
	}
	return s.batch(out)
}

func (s *spec[T]) decode(data []byte) (*batch, error) {
	rows, err := parquet.Read[T](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("read Parquet file of %s: %w", s.table, err)
	}
	return s.batch(rows)
}

// batch checksums rows, which must be in increasing id order.
func (s *spec[T]) batch(rows []T) (*batch, error) {
	b := &batch{n: len(rows)}
	h := sha256.New()
	var buf []byte
	for i := range rows {
		id := s.id(&rows[i])
		if i > 0 && id <= b.last {
			return nil, fmt.Errorf("%s rows are not in increasing id order: %d after %d", s.table, id, b.last)
		}
		if i == 0 {
			b.first = id
		}
		b.last = id
		buf = s.canon(buf[:0], &rows[i])
		h.Write(buf)
	}
	b.sum = h.Sum(nil)
	b.encode = func() ([]byte, error) {
		var w bytes.Buffer
		// Snappy: the codec every Parquet reader has, Redshift COPY and
		// Spectrum included; posts are short texts, so a heavier codec
		// would save little.
		err := parquet.Write(&w, rows, parquet.Compression(&parquet.Snappy),
			parquet.CreatedBy("scaling-app archive", "", ""))
		if err != nil {
			return nil, fmt.Errorf("write Parquet file of %s: %w", s.table, err)
		}
		return w.Bytes(), nil
	}
	return b, nil
}
