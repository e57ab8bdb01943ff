package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Source is where Load reads a stack's configuration from: the Pulumi context under
// `pulumi up` (stages.PulumiSource), a stack file offline (offline.ConfigSource), a map in
// tests (MapSource).
type Source struct {
	// Lookup returns the raw value of a fully qualified key ("scaling-aws:stage",
	// "aws:region") as the Pulumi CLI passes it to a program (scalars as text, objects and
	// lists as JSON text) and whether it is set. Required.
	Lookup func(key string) (string, bool)
	// Keys lists every fully qualified key the stack sets, so that Load refuses the unknown
	// keys of its namespace and warns about unknown keys of the others.
	Keys []string
	// SecretKeys lists the keys whose values are secret: messages never echo them.
	SecretKeys []string
	// Undecrypted lists the keys whose values are ciphertexts this run cannot read (the
	// offline preview meets `secure:` values it has no key for). Load does not judge them:
	// a string keeps the placeholder, any other key its default, and a warning says so.
	Undecrypted []string
}

// MapSource is a Source over a map of fully qualified keys: every key of the map is set.
func MapSource(values map[string]string, secretKeys ...string) Source {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return Source{
		Lookup:     func(k string) (string, bool) { v, ok := values[k]; return v, ok },
		Keys:       keys,
		SecretKeys: secretKeys,
	}
}

// Load reads every key from src, applies defaults to the keys not set and validates the
// result. The error lists every problem found, each naming the key, the value and the fix;
// what Load noticed without refusing it is in the Config's Warnings.
func Load(src Source) (*Config, error) {
	if src.Lookup == nil {
		return nil, errors.New("config: Source.Lookup is required")
	}
	l := &loader{src: src, c: &Config{set: map[string]bool{}, unchecked: map[string]bool{}}}
	l.checkKeys()
	for _, f := range fields {
		if strings.Contains(f.key, ":") {
			l.readKey(f.key, f.key)
		}
	}
	for _, top := range topNames() {
		l.readKey(top, Namespace+":"+top)
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	c := l.c
	for _, f := range fields {
		if !c.set[f.key] && f.def != nil {
			f.def(c)
		}
	}
	if err := c.Validate(); err != nil {
		if es, ok := err.(Errors); ok {
			l.explainMissingRegion(es)
		}
		return nil, err
	}
	c.Warnings = l.warnings
	return c, nil
}

// loader holds the state of one Load.
type loader struct {
	src      Source
	c        *Config
	errs     Errors
	warnings []string
}

func (l *loader) warn(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

func (l *loader) secret(full string) bool {
	if contains(l.src.SecretKeys, full) {
		return true
	}
	f := fieldByKey(strings.TrimPrefix(full, Namespace+":"))
	return f != nil && f.secret
}

// shown is a value as messages may echo it: a secret never is.
func (l *loader) shown(full, v string) string {
	if l.secret(full) {
		return secretShown
	}
	return v
}

// secretShown stands for a secret value in messages.
const secretShown = "[secret]"

// checkKeys refuses the unknown keys of the namespace and warns about those of others.
func (l *loader) checkKeys() {
	keys := append([]string(nil), l.src.Keys...)
	sort.Strings(keys)
	tops := topNames()
	for _, full := range keys {
		ns, name, ok := strings.Cut(full, ":")
		if !ok {
			l.warn("config key %q has no namespace (such as %s: or aws:); it is ignored", full, Namespace)
			continue
		}
		v, _ := l.src.Lookup(full)
		switch ns {
		case Namespace:
			if contains(tops, name) {
				continue
			}
			if obj, member, dotted := strings.Cut(name, "."); dotted && fieldByKey(name) != nil {
				l.errs.add(name, l.shown(full, v), "this is a key named %q, not the field %s of %s: set fields with --path (pulumi config rm %s; pulumi config set --path %s <value>)", name, member, obj, full, full)
				continue
			}
			l.errs.add(name, l.shown(full, v), "%s has no setting %s; %s", Namespace, name, suggest(name, tops, "setting"))
		case "aws":
			if contains(awsProviderKeys, name) {
				continue
			}
			if s := closest(name, awsProviderKeys); s != "" {
				l.warn("config %s is not a setting of the aws provider and is ignored; did you mean aws:%s?", full, s)
			} else {
				l.warn("config %s is not a setting of the aws provider (pulumi-aws v6) and is ignored", full)
			}
		case "pulumi":
			// The engine's own keys (pulumi:tags, pulumi:disable-default-providers).
		default:
			if s := closest(ns, []string{Namespace, "aws"}); s != "" {
				l.warn("config %s is in namespace %s, which nothing in this program reads; did you mean %s:%s?", full, ns, s, name)
			} else {
				l.warn("config %s is in namespace %s, which nothing in this program reads; it is ignored", full, ns)
			}
		}
	}
}

// readKey reads one top-level key (short is its name without the namespace, full its key).
func (l *loader) readKey(short, full string) {
	raw, ok := l.src.Lookup(full)
	if !ok {
		return
	}
	f := fieldByKey(short)
	if contains(l.src.Undecrypted, full) {
		if f != nil && f.str != nil {
			*f.str(l.c) = raw
			l.c.set[short] = true
			l.c.unchecked[short] = true
			l.warn("config %s holds a secure value this run cannot decrypt: it is used as a placeholder and not checked (pulumi preview checks it; to check a value offline, pass -config %s=<value>)", full, full)
		} else {
			l.warn("config %s holds a secure value this run cannot decrypt: its defaults stand in and it is not checked (pulumi preview checks it; to check a value offline, pass -config %s=<value>)", full, full)
		}
		return
	}
	if f == nil {
		l.readObject(short, full, raw)
		return
	}
	l.c.set[short] = true
	switch {
	case f.parse != nil:
		if fix := f.parse(l.c, raw); fix != "" {
			l.errs.add(short, l.shown(full, raw), "%s", fix)
		}
	case f.str != nil:
		v := raw
		if !f.secret {
			v = strings.TrimSpace(raw)
		}
		if v == "" && !f.optional {
			if f.def == nil {
				l.errs.add(short, raw, "an empty value is not a setting: set one (it has no default)")
			} else {
				l.errs.add(short, raw, "an empty value is not a setting: set one, or remove the key (pulumi config rm %s) to take the default", full)
			}
			return
		}
		*f.str(l.c) = v
	case f.num != nil:
		n, fix := parseWhole(strings.TrimSpace(raw), f)
		if fix != "" {
			l.errs.add(short, l.shown(full, raw), "%s", fix)
			return
		}
		*f.num(l.c) = n
	case f.list != nil:
		l.readList(f, full, raw)
	case f.flag != nil:
		b, fix := parseBool(raw)
		if fix != "" {
			l.errs.add(short, l.shown(full, raw), "%s", fix)
			return
		}
		*f.flag(l.c) = b
	}
}

// readList reads a JSON list of strings, such as adminCidrs.
func (l *loader) readList(f *field, full, raw string) {
	const example = `["203.0.113.7/32"]`
	v, err := decodeStrict(raw)
	if err != nil {
		if !strings.HasPrefix(strings.TrimSpace(raw), "[") {
			l.errs.add(f.key, l.shown(full, raw), "must be a JSON list of strings such as %s", example)
		} else {
			l.errs.add(f.key, l.shown(full, raw), "must be a JSON list of strings such as %s: %v", example, err)
		}
		return
	}
	items, ok := v.([]any)
	if !ok {
		l.errs.add(f.key, l.shown(full, raw), "must be a JSON list of strings such as %s, not %s", example, jsonKind(v))
		return
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			l.errs.add(fmt.Sprintf("%s[%d]", f.key, i), jsonText(it), "must be a string such as %q, not %s", "203.0.113.7/32", jsonKind(it))
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	*f.list(l.c) = out
}

// readObject reads an object key: a strict JSON object whose members are the table's
// fields of that object, matched case-sensitively.
func (l *loader) readObject(obj, full, raw string) {
	members := memberNames(obj)
	example := objectExample(obj)
	v, err := decodeStrict(raw)
	if err != nil {
		if !strings.HasPrefix(strings.TrimSpace(raw), "{") {
			l.errs.add(obj, l.shown(full, raw), "must be a JSON object such as %s", example)
		} else {
			l.errs.add(obj, l.shown(full, raw), "must be a JSON object such as %s: %v", example, err)
		}
		return
	}
	o, ok := v.(*jsonObject)
	if !ok {
		l.errs.add(obj, l.shown(full, raw), "must be a JSON object such as %s, not %s", example, jsonKind(v))
		return
	}
	for _, name := range o.keys {
		mv := o.vals[name]
		key := obj + "." + name
		f := fieldByKey(key)
		if f == nil {
			l.errs.add(key, l.shown(full, jsonText(mv)), "%s has no field %s; %s", obj, name, suggest(name, members, "field"))
			continue
		}
		l.c.set[key] = true
		switch {
		case f.str != nil:
			s, ok := mv.(string)
			if !ok {
				l.errs.add(key, l.shown(full, jsonText(mv)), "must be a JSON string such as %q, not %s", memberExample(f), jsonKind(mv))
				continue
			}
			if !f.secret {
				s = strings.TrimSpace(s)
			}
			if s == "" && !f.optional {
				l.errs.add(key, "", "an empty value is not a setting: set one, or remove the field to take the default")
				continue
			}
			*f.str(l.c) = s
		case f.num != nil:
			num, isNum := mv.(json.Number)
			if !isNum {
				l.errs.add(key, l.shown(full, jsonText(mv)), "must be a JSON number such as %s (no quotes), not %s", memberExample(f), jsonKind(mv))
				continue
			}
			n, fix := parseWhole(num.String(), f)
			if fix != "" {
				l.errs.add(key, l.shown(full, num.String()), "%s", fix)
				continue
			}
			*f.num(l.c) = n
		case f.flag != nil:
			b, ok := mv.(bool)
			if !ok {
				l.errs.add(key, l.shown(full, jsonText(mv)), "must be a JSON boolean, true or false (no quotes), not %s", jsonKind(mv))
				continue
			}
			*f.flag(l.c) = b
		}
	}
}

// explainMissingRegion adds a hint to "aws:region is required" when a key close to it
// (aws:regoin, aws:Region) is set: the warning alone would be lost with the error.
func (l *loader) explainMissingRegion(es Errors) {
	for _, e := range es {
		if e.Key != "aws:region" || e.Value != "" {
			continue
		}
		for _, k := range l.src.Keys {
			if k != "aws:region" && closest(k, []string{"aws:region"}) != "" {
				e.Fix += fmt.Sprintf(" (%s is set: did you mean aws:region?)", k)
			}
		}
	}
}

// parseWhole reads a whole number for f, saying when it is too big rather than not one.
func parseWhole(s string, f *field) (int, string) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && int64(int(n)) == n {
		return int(n), ""
	}
	var ne *strconv.NumError
	if err == nil || (errors.As(err, &ne) && ne.Err == strconv.ErrRange) { // nil: beyond int
		return 0, fmt.Sprintf("is too big for any setting: use %s", rangeText(f))
	}
	return 0, fmt.Sprintf("must be a whole number (%s), written in digits without quotes, a sign or a decimal point", rangeText(f))
}

// rangeText says which numbers f accepts: "1 to 3" or "one of 1, 3, 5".
func rangeText(f *field) string {
	if len(f.values) > 0 {
		s := make([]string, len(f.values))
		for i, v := range f.values {
			s[i] = strconv.Itoa(v)
		}
		return "one of " + strings.Join(s, ", ")
	}
	return fmt.Sprintf("%d to %d", f.min, f.max)
}

// objectExample shows an object key's fields with example values.
func objectExample(obj string) string {
	var parts []string
	for _, m := range memberNames(obj) {
		f := fieldByKey(obj + "." + m)
		ex := memberExample(f)
		if f.str != nil {
			ex = strconv.Quote(ex)
		}
		parts = append(parts, fmt.Sprintf("%q:%s", m, ex))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// memberExample is a plausible value for f, for messages.
func memberExample(f *field) string {
	if f.flag != nil {
		return "true"
	}
	if f.num != nil {
		if len(f.values) > 0 {
			return strconv.Itoa(f.values[0])
		}
		return strconv.Itoa(max(f.min, 1))
	}
	c := &Config{Environment: Dev}
	if f.def != nil {
		f.def(c)
		if s := *f.str(c); s != "" {
			return s
		}
	}
	return "..."
}

// suggest names the closest candidate, or lists them all.
func suggest(name string, candidates []string, what string) string {
	if s := closest(name, candidates); s != "" {
		if strings.EqualFold(s, name) {
			return fmt.Sprintf("did you mean %s? (%s names are case-sensitive)", s, what)
		}
		return fmt.Sprintf("did you mean %s?", s)
	}
	return fmt.Sprintf("use one of %s", strings.Join(candidates, ", "))
}

// closest returns the candidate nearest to s (case-insensitive edit distance), or "" when
// none is near enough to be a typo of it.
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment) of a and b:
// a swap of two neighbours ("regoin") counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
