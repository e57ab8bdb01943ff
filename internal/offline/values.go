package offline

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// toJSON turns a property value into a plain JSON value (nil, bool, float64, string,
// []any, map[string]any). Secrets become graph.SecretMarker and set secret; unknown values
// become UnknownMarker; resource references become their URN; assets and archives become an
// object naming what they hold ({"asset": {...}} or {"archive": {...}}).
func toJSON(v resource.PropertyValue) (out any, secret bool) {
	switch {
	case v.IsNull():
		return nil, false
	case v.IsBool():
		return v.BoolValue(), false
	case v.IsNumber():
		return v.NumberValue(), false
	case v.IsString():
		return v.StringValue(), false
	case v.IsArray():
		arr := v.ArrayValue()
		res := make([]any, len(arr))
		for i, e := range arr {
			var s bool
			res[i], s = toJSON(e)
			secret = secret || s
		}
		return res, secret
	case v.IsObject():
		return mapToJSON(v.ObjectValue())
	case v.IsSecret():
		return graph.SecretMarker, true
	case v.IsComputed():
		return UnknownMarker, false
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return graph.SecretMarker, true
		}
		if !o.Known {
			return UnknownMarker, false
		}
		return toJSON(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN), false
	case v.IsAsset():
		a := v.AssetValue()
		return map[string]any{"asset": nonEmpty(map[string]string{"hash": a.Hash, "text": a.Text, "path": a.Path, "uri": a.URI})}, false
	case v.IsArchive():
		a := v.ArchiveValue()
		m := nonEmpty(map[string]string{"hash": a.Hash, "path": a.Path, "uri": a.URI})
		if len(a.Assets) > 0 {
			names := make([]any, 0, len(a.Assets))
			for k := range a.Assets {
				names = append(names, k)
			}
			sort.Slice(names, func(i, j int) bool { return names[i].(string) < names[j].(string) })
			m["assets"] = names
		}
		return map[string]any{"archive": m}, false
	}
	return nil, false
}

// mapToJSON converts a property map; secret reports whether any value in it is secret.
func mapToJSON(m resource.PropertyMap) (map[string]any, bool) {
	res := make(map[string]any, len(m))
	secret := false
	for k, e := range m {
		var s bool
		res[string(k)], s = toJSON(e)
		secret = secret || s
	}
	return res, secret
}

func nonEmpty(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// plainJSON turns a resolved Go value (a stack output) into a plain JSON value.
func plainJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return UnknownMarker
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return UnknownMarker
	}
	return out
}

// scrub replaces every string that contains one of the secret values by graph.SecretMarker
// and reports whether it replaced any. It catches a secret config value read as plain text
// by the program (config.Try rather than config.TrySecret) before it reaches the graph.
func scrub(v any, secrets []string) (any, bool) {
	if len(secrets) == 0 {
		return v, false
	}
	switch x := v.(type) {
	case string:
		for _, s := range secrets {
			if strings.Contains(x, s) {
				return graph.SecretMarker, true
			}
		}
		return x, false
	case []any:
		found := false
		for i, e := range x {
			var f bool
			x[i], f = scrub(e, secrets)
			found = found || f
		}
		return x, found
	case map[string]any:
		found := false
		for k, e := range x {
			var f bool
			x[k], f = scrub(e, secrets)
			found = found || f
		}
		return x, found
	}
	return v, false
}
