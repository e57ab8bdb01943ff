package offline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// SecretPlaceholder is the value a `secure:` config value takes offline: the ciphertext
// cannot be decrypted without the stack's secrets provider. Its key is reported secret, so
// it never shows in the graph either; override it (cmd/preview -config) to test a real value.
const SecretPlaceholder = graph.SecretMarker

// LoadStackConfig reads Pulumi.<stack>.yaml under root as the Pulumi CLI passes it to a
// program: keys fully qualified (a bare key takes the project's namespace, from Pulumi.yaml),
// scalars as their text, objects and arrays as JSON text, and `secure:` values replaced by
// SecretPlaceholder with their keys listed in secretKeys (sorted).
func LoadStackConfig(root, stack string) (cfg map[string]string, secretKeys []string, err error) {
	path := filepath.Join(root, "Pulumi."+stack+".yaml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("stack %q has no config file: %s does not exist (create it, or pick a stack that has one)", stack, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read stack config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s is not valid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	entries, err := configEntries(&doc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	project := ProjectName(root)
	cfg = make(map[string]string, len(entries)/2)
	lines := map[string]int{}
	for i := 0; i+1 < len(entries); i += 2 {
		k, node := entries[i], entries[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" || k.Value == "" {
			return nil, nil, fmt.Errorf("%s line %d: a config key must be a name such as scaling-aws:stage, not %s", path, k.Line, nodeKind(k))
		}
		full := k.Value
		if !strings.Contains(full, ":") {
			full = project + ":" + full
		}
		if prev, dup := lines[full]; dup {
			return nil, nil, fmt.Errorf("%s line %d: config %s is set twice (lines %d and %d); keep one", path, k.Line, full, prev, k.Line)
		}
		lines[full] = k.Line
		v, secret, err := configValue(node)
		if err != nil {
			return nil, nil, fmt.Errorf("%s line %d: config %s: %w", path, node.Line, full, err)
		}
		cfg[full] = v
		if secret {
			secretKeys = append(secretKeys, full)
		}
	}
	sort.Strings(secretKeys)
	return cfg, secretKeys, nil
}

// ProjectName reads the project name from root/Pulumi.yaml, or returns DefaultProject.
func ProjectName(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return DefaultProject
	}
	var p struct {
		Name string `yaml:"name"`
	}
	if yaml.Unmarshal(data, &p) != nil || p.Name == "" {
		return DefaultProject
	}
	return p.Name
}

// configValue renders one config value as the CLI does: a scalar as its text, a
// {secure: ...} map as the secret placeholder, anything else as JSON text.
func configValue(n *yaml.Node) (string, bool, error) {
	if isSecure(n) {
		return SecretPlaceholder, true, nil
	}
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return "", false, nil
		}
		return n.Value, false, nil
	}
	v, secret, err := plainYAML(n)
	if err != nil {
		return "", false, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, err
	}
	return string(b), secret, nil
}

// isSecure reports whether n is {secure: <ciphertext>}.
func isSecure(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "secure"
}

// plainYAML decodes a node into plain JSON values; secure values nested inside become the
// placeholder and make the whole key secret, as the CLI does.
func plainYAML(n *yaml.Node) (any, bool, error) {
	if isSecure(n) {
		return SecretPlaceholder, true, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		secret := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, false, fmt.Errorf("line %d: a field name must be plain text, not %s", k.Line, nodeKind(k))
			}
			if _, dup := out[k.Value]; dup {
				return nil, false, fmt.Errorf("line %d: field %s is set twice; keep one", k.Line, k.Value)
			}
			v, s, err := plainYAML(n.Content[i+1])
			if err != nil {
				return nil, false, err
			}
			out[k.Value] = v
			secret = secret || s
		}
		return out, secret, nil
	case yaml.SequenceNode:
		out := []any{}
		secret := false
		for _, c := range n.Content {
			v, s, err := plainYAML(c)
			if err != nil {
				return nil, false, err
			}
			out = append(out, v)
			secret = secret || s
		}
		return out, secret, nil
	case yaml.AliasNode:
		return plainYAML(n.Alias)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("line %d: %q is not a plain YAML value (tag %s); write it as text, a number, true/false, a list or a mapping", n.Line, n.Value, n.Tag)
	}
	return v, false, nil
}

// configEntries returns the key and value nodes of the file's config mapping (empty when
// the file has none), saying in words what is wrong where yaml.v3 would print Go types
// ("cannot unmarshal !!seq into map[string]yaml.Node").
func configEntries(doc *yaml.Node) ([]*yaml.Node, error) {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must be a mapping with a config: section, not %s", root.Line, nodeKind(root))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "config" {
			continue
		}
		c := root.Content[i+1]
		switch {
		case c.Kind == yaml.ScalarNode && c.Tag == "!!null":
			return nil, nil
		case c.Kind != yaml.MappingNode:
			return nil, fmt.Errorf("line %d: config: must be a mapping of keys to values (scaling-aws:stage: users+), not %s", c.Line, nodeKind(c))
		}
		return c.Content, nil
	}
	return nil, nil
}

// nodeKind names a YAML node's kind for messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "empty"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// ConfigSource is the config.Source of a stack's config as LoadStackConfig and -config
// overrides give it: every key is set, secretKeys are never echoed, and those whose value
// still holds SecretPlaceholder (a secure: value the offline run cannot decrypt, not
// overridden) are undecrypted, so config.Load warns instead of judging the placeholder.
func ConfigSource(cfg map[string]string, secretKeys []string) config.Source {
	src := config.MapSource(cfg, secretKeys...)
	for _, k := range secretKeys {
		if strings.Contains(cfg[k], SecretPlaceholder) {
			src.Undecrypted = append(src.Undecrypted, k)
		}
	}
	return src
}
