package config

import (
	"fmt"
	"strings"
)

// Error is a configuration error: it names the setting, the value it had and the fix.
type Error struct {
	Key   string // The config key without the project namespace, such as "azCount".
	Value string // The offending value as written (secrets are never echoed).
	Fix   string // What to change.
}

func (e *Error) Error() string {
	key := e.Key
	if !strings.Contains(key, ":") {
		key = Namespace + ":" + key
	}
	return fmt.Sprintf("config %s = %q is invalid: %s", key, e.Value, e.Fix)
}

// Errors collects every configuration error found, so a user fixes them in one round.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = "  - " + e.Error()
	}
	return fmt.Sprintf("%d config errors:\n%s", len(es), strings.Join(msgs, "\n"))
}

func (es *Errors) add(key, value, format string, args ...any) {
	*es = append(*es, &Error{Key: key, Value: value, Fix: fmt.Sprintf(format, args...)})
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
