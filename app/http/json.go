package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/scaling-aws/scaling-aws/app"
)

// maxJSONBytes bounds a JSON request. A 1 KB post may take up to six bytes
// per byte once JSON-escaped, plus the envelope.
const maxJSONBytes = 8 << 10

// decode reads exactly one JSON object into v, refusing unknown fields,
// wrong types, trailing data and bodies over maxJSONBytes. The Content-Type
// is not checked: the body must be JSON whatever a client labels it.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			return app.Errorf(app.EINVALID, "body must hold a single JSON object")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return app.Errorf(app.ETOOLARGE, "request body exceeds %d bytes", maxJSONBytes)
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
