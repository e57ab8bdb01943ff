package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/scaling-aws/scaling-aws/app"
)

// The JSON answers of the hot read path (a post, a page of posts) are
// written by hand into pooled buffers: encoding/json costs a result buffer,
// a copy, and two allocations per time.Time (MarshalJSON) on every
// request, and that garbage is what the collector pauses for under load.
// The output is byte for byte what encoding/json writes (HTML-safe string
// escaping included); TestFastJSONMatchesEncodingJSON holds it to that.
// Every other value goes through encoding/json.

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuf keeps a rare huge answer from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

// jsonContentType is shared by every answer: header values are never
// modified in place, and an append to a slice of capacity 1 copies it.
var jsonContentType = []string{"application/json"}

// implicitLengthMax is the size under which net/http computes the
// Content-Length itself, without allocating, because the handler has
// finished before its 2048-byte chunking buffer filled (net/http's
// bufferBeforeChunkingSize; see the ResponseWriter.Write documentation).
const implicitLengthMax = 2048

func writeJSON(w http.ResponseWriter, code int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuf {
			bufPool.Put(buf)
		}
	}()
	if !appendFast(buf, v) {
		if err := json.NewEncoder(buf).Encode(v); err != nil { // Encode ends with '\n'
			code = http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
		}
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if buf.Len() > implicitLengthMax {
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// appendFast writes v and a newline if it is one of the hot types.
func appendFast(buf *bytes.Buffer, v any) bool {
	b := buf.AvailableBuffer()
	switch v := v.(type) {
	case *app.Post:
		if v == nil || !timeOK(v) {
			return false
		}
		b = appendPost(b, v)
	case viewedPost:
		if v.Post == nil || !timeOK(v.Post) {
			return false
		}
		b = appendPost(b, v.Post)
		b = append(b[:len(b)-1], `,"views":`...) // in place of the post's closing brace
		b = strconv.AppendInt(b, v.Views, 10)
		b = append(b, '}')
	case *app.PostPage:
		if v == nil {
			return false
		}
		for _, p := range v.Posts {
			if p == nil || !timeOK(p) {
				return false
			}
		}
		b = append(b, `{"posts":`...)
		if v.Posts == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, p := range v.Posts {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendPost(b, p)
			}
			b = append(b, ']')
		}
		if v.NextCursor != 0 {
			b = append(b, `,"next_cursor":`...)
			b = strconv.AppendInt(b, v.NextCursor, 10)
		}
		b = append(b, '}')
	default:
		return false
	}
	buf.Write(append(b, '\n'))
	return true
}

// timeOK reports whether encoding/json can write p's times: it refuses
// years outside 0-9999.
func timeOK(p *app.Post) bool {
	return p.CreatedAt.Year() >= 0 && p.CreatedAt.Year() <= 9999 && p.UpdatedAt.Year() >= 0 && p.UpdatedAt.Year() <= 9999
}

func appendPost(b []byte, p *app.Post) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, p.ID, 10)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, p.UserID, 10)
	b = append(b, `,"body":`...)
	b = appendJSONString(b, p.Body)
	b = append(b, `,"created_at":"`...)
	b = p.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated_at":"`...)
	b = p.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping:
// '<', '>' and '&' as \u003c, \u003e, \u0026; control characters as
// short escapes or \u00XX; invalid UTF-8 as \ufffd; U+2028 and U+2029
// escaped (JSONP safety).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
