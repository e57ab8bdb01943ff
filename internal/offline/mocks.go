package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// AccountID is the fixed AWS account the mocks answer for.
const AccountID = "123456789012"

// Mocks is the mock engine's resource monitor: it records every registered resource (custom
// and component) as a graph.Resource and answers resources and invokes with realistic fake
// AWS values (see resourceMocks and invokeMocks). It is safe for concurrent use, as the SDK
// registers resources from many goroutines.
type Mocks struct {
	// Region is the AWS region the answers are for.
	Region string
	// Account is the AWS account id in ARNs. Default: AccountID.
	Account string

	project, stack string
	secrets        []string // plain secret values scrubbed from every recorded input
	order          orderTracker

	mu        sync.Mutex
	resources []*graph.Resource
}

// NewMocks returns mocks answering for region and AccountID.
func NewMocks(region string) *Mocks {
	return &Mocks{Region: region, Account: AccountID}
}

var _ pulumi.MockResourceMonitor = (*Mocks)(nil)

// NewResource records a registered resource and answers it: components get their inputs
// back; custom resources get an id and their inputs plus the computed attributes programs
// read (arn, id, and per type ones such as dnsName or endpoint).
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.RegisterRPC == nil {
		// A read of an existing resource (pulumi.ReadResource / aws.ec2.GetVpc): answered,
		// not recorded, since it creates nothing.
		id, state := m.answer(args.TypeToken, args.Name, m.urn("", args.TypeToken, args.Name), args.Inputs, args.Custom || args.ID != "")
		if args.ID != "" {
			id = args.ID
		}
		return id, state, nil
	}
	req := args.RegisterRPC
	urn := m.urn(req.GetParent(), args.TypeToken, args.Name)
	m.record(args, urn)
	if !args.Custom {
		return "", args.Inputs, nil
	}
	id, state := m.answer(args.TypeToken, args.Name, urn, args.Inputs, true)
	if args.ID != "" {
		id = args.ID // an import keeps its id
	}
	return id, state, nil
}

// Call answers an invoke (a data source such as aws.GetAvailabilityZones). An invoke with no
// mock is an error naming its token, so a missing mock is obvious.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	f, ok := invokeMocks[args.Token]
	if !ok {
		return nil, fmt.Errorf("offline mocks: no mock for invoke %s; add one to invokeMocks in internal/offline/invokes.go", args.Token)
	}
	in, _ := mapToJSON(args.Args)
	out, err := f(m, in)
	if err != nil {
		return nil, fmt.Errorf("offline mocks: invoke %s: %w", args.Token, err)
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// urn computes a resource's URN as the SDK's mock monitor does: the parent's qualified type
// (unless the parent is the stack) joined with the resource's type.
func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(typ), name))
}

// record appends the graph.Resource of a RegisterResource call.
func (m *Mocks) record(args pulumi.MockResourceArgs, urn string) {
	req := args.RegisterRPC
	inputs := make(map[string]any, len(args.Inputs))
	var secretKeys []string
	for k, v := range args.Inputs {
		val, secret := toJSON(v)
		val, scrubbed := scrub(val, m.secrets)
		if secret || scrubbed {
			secretKeys = append(secretKeys, string(k))
		}
		inputs[string(k)] = val
	}
	sort.Strings(secretKeys)
	r := &graph.Resource{
		URN:                 urn,
		Type:                args.TypeToken,
		Name:                args.Name,
		Parent:              m.parent(req.GetParent()),
		Custom:              args.Custom,
		Inputs:              inputs,
		SecretInputs:        secretKeys,
		Protect:             req.GetProtect(),
		RetainOnDelete:      req.GetRetainOnDelete(),
		IgnoreChanges:       sortedCopy(req.GetIgnoreChanges()),
		DeleteBeforeReplace: req.GetDeleteBeforeReplace(),
		Dependencies:        m.dependencies(req.GetDependencies()),
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
}

// parent returns the parent URN as the graph holds it: "" for children of the stack.
func (m *Mocks) parent(urn string) string {
	if urn == "" || resource.URN(urn).QualifiedType() == resource.RootStackType {
		return ""
	}
	return urn
}

// dependencies returns the sorted, distinct dependency URNs, without the stack.
func (m *Mocks) dependencies(urns []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range urns {
		if p := m.parent(u); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Resources returns the recorded resources in program order (the order of the program's
// RegisterResource calls, which the SDK sends concurrently): deterministic for a program.
func (m *Mocks) Resources() []*graph.Resource {
	m.mu.Lock()
	out := append([]*graph.Resource(nil), m.resources...)
	m.mu.Unlock()
	seq := m.order.sequence(out)
	sort.SliceStable(out, func(i, j int) bool {
		if seq[out[i]] != seq[out[j]] {
			return seq[out[i]] < seq[out[j]]
		}
		return out[i].URN < out[j].URN
	})
	return out
}

// orderTracker notes the program order of registrations, through a stack transformation
// that the SDK runs synchronously in each RegisterResource call.
type orderTracker struct {
	mu   sync.Mutex
	next int
	seen map[string][]int // type and name -> sequence numbers, in program order
}

func orderKey(typ, name string) string { return typ + "\x00" + name }

// observe is the stack transformation; it changes nothing.
func (o *orderTracker) observe(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string][]int{}
	}
	k := orderKey(args.Type, args.Name)
	o.seen[k] = append(o.seen[k], o.next)
	o.next++
	return nil
}

// sequence maps each resource to its program-order number. Resources sharing a type and a
// name (children of different parents) take their numbers in URN order, so the result never
// depends on goroutine scheduling; resources never observed sort last.
func (o *orderTracker) sequence(rs []*graph.Resource) map[*graph.Resource]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	groups := map[string][]*graph.Resource{}
	for _, r := range rs {
		k := orderKey(r.Type, r.Name)
		groups[k] = append(groups[k], r)
	}
	seq := make(map[*graph.Resource]int, len(rs))
	for k, g := range groups {
		sort.Slice(g, func(i, j int) bool { return g[i].URN < g[j].URN })
		nums := o.seen[k]
		for i, r := range g {
			if i < len(nums) {
				seq[r] = nums[i]
			} else {
				seq[r] = math.MaxInt
			}
		}
	}
	return seq
}

// digest is the hex SHA-256 of s: the source of every generated id, so answers are stable.
func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
