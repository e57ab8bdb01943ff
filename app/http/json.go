package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/scaling-aws/scaling-aws/app"
)

// maxJSONBytes bounds a JSON request. A 1 KB post may take up to six bytes
// per byte once JSON-escaped, plus the envelope.
const maxJSONBytes = 8 << 10

// jsonType is the only Content-Type a JSON endpoint takes.
const jsonType = "application/json"

// checkJSONType refuses a body labelled as anything but application/json
// (an optional charset=utf-8 aside), and an unlabelled one. Besides telling
// a client its mistake, it closes a CSRF path: text/plain, form and
// unlabelled bodies are what a foreign page can send without a CORS
// preflight.
func checkJSONType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return app.Errorf(app.EUNSUPPORTED, "no Content-Type: send the JSON body with Content-Type: %s", jsonType)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != jsonType {
		return app.Errorf(app.EUNSUPPORTED, "Content-Type %.60q is not accepted here: send the JSON body with Content-Type: %s",
			ct, jsonType)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return app.Errorf(app.EUNSUPPORTED, "Content-Type %.60q: send the JSON body with Content-Type: %s (charset=utf-8 is the only parameter accepted)",
				ct, jsonType)
		}
	}
	return nil
}

// decode reads exactly one JSON object into v, a pointer to a struct. It
// refuses another Content-Type (415), bodies over maxJSONBytes, invalid
// UTF-8, a top level that is not an object, duplicate keys (which JSON
// parsers resolve differently: the one that checks and the one that stores
// must not disagree), unknown fields, wrong types and trailing data. Every
// message names the field and what is expected.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if err := checkJSONType(r); err != nil {
		return err
	}
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
	fields := jsonFields(v)
	if err := checkShape(body, fields); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			return app.Errorf(app.EINVALID, "body must hold a single JSON object, with nothing after it")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return app.Errorf(app.EINVALID, "field %q must be %s, got a JSON %s", typeErr.Field, typeName(typeErr), typeErr.Value)
	}
	// checkShape has already refused what else the decoder could complain
	// about (syntax, non-object, unknown fields).
	return app.Errorf(app.EINVALID, "invalid JSON body: expected an object with %s", fieldList(fields))
}

// checkShape walks the tokens of body: it must be one well-formed object
// whose keys are all known and none repeated (at any depth).
func checkShape(body []byte, fields []string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return app.Errorf(app.EINVALID, "request body is empty: send a JSON object with %s", fieldList(fields))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return malformed(dec, body)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return app.Errorf(app.EINVALID, "body must be a JSON object with %s, got a JSON %s", fieldList(fields), kind(tok))
	}
	if err := walkObject(dec, body, fields); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return app.Errorf(app.EINVALID, "body must hold a single JSON object, with nothing after it")
	}
	return nil
}

// walkObject reads an object's members after its '{'. known, when not
// nil, lists the keys allowed (the top level); nested objects may hold any
// key, once.
func walkObject(dec *json.Decoder, body []byte, known []string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(dec, body)
		}
		key := tok.(string)
		if seen[key] {
			return app.Errorf(app.EINVALID, "duplicate key %.40q: send each field once", key)
		}
		seen[key] = true
		if known != nil && !contains(known, key) {
			return app.Errorf(app.EINVALID, "unknown field %.40q: this endpoint accepts only %s", key, fieldList(known))
		}
		if err := walkValue(dec, body); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return malformed(dec, body)
	}
	return nil
}

func walkValue(dec *json.Decoder, body []byte) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed(dec, body)
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, body, nil)
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec, body); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return malformed(dec, body)
		}
	}
	return nil
}

func malformed(dec *json.Decoder, body []byte) error {
	off := dec.InputOffset()
	if off >= int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		return app.Errorf(app.EINVALID, "malformed JSON: the body ends before the JSON does")
	}
	return app.Errorf(app.EINVALID, "malformed JSON near byte %d", off)
}

func kind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return "null"
	}
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

func fieldList(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = fmt.Sprintf("%q", f)
	}
	if len(q) == 1 {
		return "the field " + q[0]
	}
	return "the fields " + strings.Join(q, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func typeName(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "a value of another type"
	}
	switch e.Type.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return "a " + e.Type.Elem().Kind().String()
	}
	return "a " + e.Type.Kind().String()
}
