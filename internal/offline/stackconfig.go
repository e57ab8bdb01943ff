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
	var file struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", path, err)
	}
	project := ProjectName(root)
	cfg = make(map[string]string, len(file.Config))
	for key, node := range file.Config {
		full := key
		if !strings.Contains(key, ":") {
			full = project + ":" + key
		}
		v, secret, err := configValue(&node)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: config %s: %w", path, full, err)
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
			v, s, err := plainYAML(n.Content[i+1])
			if err != nil {
				return nil, false, err
			}
			out[n.Content[i].Value] = v
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
		return nil, false, err
	}
	return v, false, nil
}
