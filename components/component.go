// Package components holds the reusable Pulumi ComponentResources the stages compose: the
// network, the single box, buckets and, from later stages, databases, load balancers and
// server groups.
//
// Every component follows one shape (see docs/architecture.md):
//
//	func NewX(ctx *pulumi.Context, name string, args *XArgs, opts ...pulumi.ResourceOption) (*X, error)
//
// Args are validated and defaulted before anything is registered. Plain Go values in args
// decide what exists; pulumi Inputs carry wiring. Children are parented to the component and
// named from its name by childName, so a logical name (and URN) is identity: it changes only
// with pulumi.Aliases.
package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// typePrefix is the package part of every component's type token.
const typePrefix = "scaling-aws:"

// childName derives a child's logical name from its component's name: name-part-part.
func childName(name string, parts ...string) string {
	all := append([]string{name}, parts...)
	return strings.Join(all, "-")
}

// register registers a component under typePrefix+typ and returns the options its children
// take: parented to it, and inheriting protect through the parent only where a child asks.
func register(ctx *pulumi.Context, typ, name string, c pulumi.ComponentResource, opts []pulumi.ResourceOption) ([]pulumi.ResourceOption, error) {
	if err := ctx.RegisterComponentResource(typePrefix+typ, name, c, opts...); err != nil {
		return nil, fmt.Errorf("register %s %q: %w", typ, name, err)
	}
	return []pulumi.ResourceOption{pulumi.Parent(c)}, nil
}

// with appends options to a component's child options without aliasing the slice.
func with(base []pulumi.ResourceOption, more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	out := make([]pulumi.ResourceOption, 0, len(base)+len(more))
	return append(append(out, base...), more...)
}

// stateful returns the options every resource holding data takes: kept in AWS if it is ever
// dropped from the program (RetainOnDelete), and protected against `pulumi destroy` and
// accidental replacement when protect is set (prod).
func stateful(base []pulumi.ResourceOption, protect bool) []pulumi.ResourceOption {
	return with(base, pulumi.Protect(protect), pulumi.RetainOnDelete(true))
}

// tags returns the Name tag plus the tags every resource carries. Other tags come from the
// provider's defaultTags (set in Pulumi.<stack>.yaml), so they are not repeated here.
func tags(name string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(name)}
}

// argError is the error a component returns for bad args, before registering anything.
func argError(component, name, field string, value any, fix string) error {
	return fmt.Errorf("%s %q: %s = %v is invalid: %s", component, name, field, value, fix)
}
