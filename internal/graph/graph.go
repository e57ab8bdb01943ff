// Package graph is the resource graph a program registers, as recorded offline by the mock
// engine (internal/offline) and consumed by the preview, the security rules and the tests.
//
// Its JSON form is the offline preview's -json output; docs/preview.md documents it and
// the field names below are stable.
package graph

import (
	"encoding/base64"
	"sort"
	"strings"
)

// SchemaVersion is the version of the JSON schema; it changes only on incompatible changes.
const SchemaVersion = 1

// SecretMarker replaces every secret value in recorded inputs and outputs.
const SecretMarker = "[secret]"

// Resource is one registered resource: a custom (cloud) resource or a component.
type Resource struct {
	// URN is the resource's Pulumi URN: its identity across updates.
	URN string `json:"urn"`
	// Type is the type token, such as "aws:ec2/vpc:Vpc" or "scaling-aws:network:Network".
	Type string `json:"type"`
	// Name is the logical name.
	Name string `json:"name"`
	// Parent is the parent's URN ("" for children of the stack).
	Parent string `json:"parent,omitempty"`
	// Custom is true for cloud resources and false for components.
	Custom bool `json:"custom"`
	// Inputs are the resource's inputs as plain JSON values; secrets are SecretMarker.
	Inputs map[string]any `json:"inputs"`
	// SecretInputs lists the top-level input keys that are (or contain) secrets.
	SecretInputs []string `json:"secretInputs,omitempty"`
	// Protect, RetainOnDelete, IgnoreChanges and DeleteBeforeReplace are the resource options.
	Protect             bool     `json:"protect"`
	RetainOnDelete      bool     `json:"retainOnDelete"`
	IgnoreChanges       []string `json:"ignoreChanges,omitempty"`
	DeleteBeforeReplace bool     `json:"deleteBeforeReplace"`
	// Dependencies are the URNs this resource depends on (explicit and through inputs).
	Dependencies []string `json:"dependencies,omitempty"`
}

// Graph is everything one run of the program registered.
type Graph struct {
	// Schema is SchemaVersion.
	Schema int `json:"schema"`
	// Project and Stack name the stack evaluated.
	Project string `json:"project"`
	Stack   string `json:"stack"`
	// Resources are in registration order.
	Resources []*Resource `json:"resources"`
	// Outputs are the stack outputs; secrets are SecretMarker.
	Outputs map[string]any `json:"outputs"`
}

// ByType returns the resources of a type token, in registration order.
func (g *Graph) ByType(typ string) []*Resource {
	var out []*Resource
	for _, r := range g.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByName returns the resource of a type with a logical name, or nil.
func (g *Graph) ByName(typ, name string) *Resource {
	for _, r := range g.Resources {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	return nil
}

// ByURN returns the resource with a URN, or nil.
func (g *Graph) ByURN(urn string) *Resource {
	for _, r := range g.Resources {
		if r.URN == urn {
			return r
		}
	}
	return nil
}

// Children returns the resources whose parent is urn.
func (g *Graph) Children(urn string) []*Resource {
	var out []*Resource
	for _, r := range g.Resources {
		if r.Parent == urn {
			out = append(out, r)
		}
	}
	return out
}

// CountByType counts custom resources by type token.
func (g *Graph) CountByType() map[string]int {
	out := map[string]int{}
	for _, r := range g.Resources {
		if r.Custom {
			out[r.Type]++
		}
	}
	return out
}

// Types returns the custom resource type tokens present, sorted.
func (g *Graph) Types() []string {
	var out []string
	for t := range g.CountByType() {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Lookup follows a dotted path ("metadataOptions.httpTokens", "ingress.0.cidrBlocks") into
// the resource's inputs; ok is false when any step is missing.
func (r *Resource) Lookup(path string) (any, bool) {
	var cur any = r.Inputs
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[part]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i := 0
			for _, c := range part {
				if c < '0' || c > '9' {
					return nil, false
				}
				i = i*10 + int(c-'0')
			}
			if part == "" || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// String returns the input at path as a string ("" when absent or not a string).
func (r *Resource) String(path string) string {
	v, _ := r.Lookup(path)
	s, _ := v.(string)
	return s
}

// Bool returns the input at path as a bool; provider booleans given as strings ("true") count.
func (r *Resource) Bool(path string) bool {
	v, _ := r.Lookup(path)
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// Number returns the input at path as a float64 and whether it is a number.
func (r *Resource) Number(path string) (float64, bool) {
	v, _ := r.Lookup(path)
	f, ok := v.(float64)
	return f, ok
}

// AvailabilityZones returns the distinct AZs the graph's subnets are in, sorted.
func (g *Graph) AvailabilityZones() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range g.ByType("aws:ec2/subnet:Subnet") {
		if az := s.String("availabilityZone"); az != "" && !seen[az] {
			seen[az] = true
			out = append(out, az)
		}
	}
	sort.Strings(out)
	return out
}

// Sibling returns the first resource of a type with the same parent as r (the launch
// template beside a component's Auto Scaling group), or nil.
func (g *Graph) Sibling(r *Resource, typ string) *Resource {
	for _, c := range g.Children(r.Parent) {
		if c.Type == typ {
			return c
		}
	}
	return nil
}

// Script returns the text input at path decoded from base64 when it is base64 (a launch
// template's userData), as it is otherwise (an instance's userData).
func (r *Resource) Script(path string) string {
	s := r.String(path)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return string(b)
	}
	return s
}
