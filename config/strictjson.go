package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The strict JSON reader. encoding/json is lenient where a config must not be: Decode
// stops after the first value (`{"dataVolumeGb":30} junk` reads as 30, a second object is
// ignored), matches field names case-insensitively (`{"INSTANCETYPE":...}` fills
// InstanceType) and keeps the last of duplicate keys. Reading the token stream
// (json.Decoder.Token, which still checks the syntax) and matching names ourselves closes
// all three with some sixty lines of standard library, so no new module is needed.

// jsonObject is a decoded JSON object that remembers its key order.
type jsonObject struct {
	keys []string
	vals map[string]any
}

// decodeStrict decodes exactly one JSON value from s: nil (null), bool, json.Number,
// string, []any or *jsonObject. It refuses anything after the value, duplicate keys and
// keys that differ only in case.
func decodeStrict(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return nil, jsonError(err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		rest := strings.TrimSpace(s[end:])
		if len(rest) > 20 {
			rest = rest[:20] + "..."
		}
		return nil, fmt.Errorf("it has more after the JSON value, from character %d: %q (one value per key; remove the rest)", end+1, rest)
	}
	return v, nil
}

func readJSON(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return t, nil
	}
	switch d {
	case '{':
		o := &jsonObject{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string) // the decoder only yields strings as object keys
			for _, prev := range o.keys {
				switch {
				case prev == k:
					return nil, fmt.Errorf("key %q appears twice; keep one", k)
				case strings.EqualFold(prev, k):
					return nil, fmt.Errorf("keys %q and %q differ only in case; keep one (names are case-sensitive)", prev, k)
				}
			}
			v, err := readJSON(dec)
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, k)
			o.vals[k] = v
		}
		if _, err := dec.Token(); err != nil { // the closing brace
			return nil, err
		}
		return o, nil
	case '[':
		list := []any{}
		for dec.More() {
			v, err := readJSON(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return list, nil
	}
	return nil, fmt.Errorf("unexpected %q", d)
}

// jsonError words the decoder's errors for a user.
func jsonError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("it is not valid JSON at character %d (%v)", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("it is empty or ends too early")
	}
	return err
}

// jsonKind names a decoded value's JSON type for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case *jsonObject:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonText renders a decoded value back as compact JSON (a string as itself).
func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case *jsonObject:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			b, _ := json.Marshal(k)
			parts[i] = string(b) + ":" + jsonQuoted(x.vals[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = jsonQuoted(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonQuoted(v any) string {
	if s, ok := v.(string); ok {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return jsonText(v)
}
