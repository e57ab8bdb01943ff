package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/scaling-aws/scaling-aws/app"
)

// maxJSONBytes bounds a JSON request. A 1 KB post may take up to six bytes
// per byte once JSON-escaped, plus the envelope.
const maxJSONBytes = 8 << 10

// decode reads exactly one JSON object into v, refusing unknown fields,
// wrong types, trailing data and bodies over maxJSONBytes. The Content-Type
// is not checked: the body must be JSON whatever a client labels it.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return app.Errorf(app.ETOOLARGE, "request body exceeds %d bytes", maxJSONBytes)
	} else if err != nil {
		return app.Errorf(app.EINVALID, "could not read the request body")
	}
	// encoding/json would quietly replace invalid UTF-8 with U+FFFD: refuse
	// it instead of storing something other than what was sent.
	if !utf8.Valid(body) {
		return app.Errorf(app.EINVALID, "body must be UTF-8 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			return app.Errorf(app.EINVALID, "body must hold a single JSON object")
		}
		return nil
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &typeErr):
		return app.Errorf(app.EINVALID, "field %q must be a %s", typeErr.Field, typeName(typeErr))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return app.Errorf(app.EINVALID, "malformed JSON")
	case errors.Is(err, io.EOF):
		return app.Errorf(app.EINVALID, "request body is empty")
	default:
		// Unknown fields and other decoder complaints name only the field.
		return app.Errorf(app.EINVALID, "invalid JSON: %s", sanitize(err))
	}
}

func typeName(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "value of another type"
	}
	return fmt.Sprint(e.Type.Kind())
}

func sanitize(err error) string {
	msg := err.Error()
	if len(msg) > 100 {
		msg = msg[:100]
	}
	return msg
}
