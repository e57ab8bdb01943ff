// Package diff compares two recorded resource graphs of one stack (a stage and the next, or
// a stack before and after a change) the way `pulumi preview` would classify the steps:
// create, delete, update or replace, by URN and by the inputs that force AWS to replace a
// resource. It flags what would lose data: a stateful resource replaced, or dropped without
// RetainOnDelete.
package diff

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Kind is what `pulumi up` would do to a resource.
type Kind string

// The kinds of change.
const (
	Create  Kind = "create"
	Delete  Kind = "delete"
	Update  Kind = "update"
	Replace Kind = "replace"
)

// ReplaceKeys are, per type, the inputs whose change makes the provider replace the
// resource (its ForceNew arguments), for the types whose replacement matters: stateful ones
// and the network they sit in. Other types are compared as updates only.
var ReplaceKeys = map[string][]string{
	"aws:ec2/vpc:Vpc":                                   {"cidrBlock", "instanceTenancy"},
	"aws:ec2/subnet:Subnet":                             {"cidrBlock", "availabilityZone", "vpcId"},
	"aws:rds/instance:Instance":                         {"identifier", "engine", "storageEncrypted", "kmsKeyId", "dbName", "username", "replicateSourceDb"},
	"aws:s3/bucketV2:BucketV2":                          {"bucket", "bucketPrefix", "objectLockEnabled"},
	"aws:ebs/volume:Volume":                             {"availabilityZone", "encrypted", "kmsKeyId", "snapshotId"},
	"aws:secretsmanager/secret:Secret":                  {"name", "namePrefix"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {"replicationGroupId", "engine", "atRestEncryptionEnabled", "subnetGroupName"},
	"aws:dynamodb/table:Table":                          {"name", "hashKey", "rangeKey"},
	"aws:redshift/cluster:Cluster":                      {"clusterIdentifier", "encrypted", "kmsKeyId"},
	"aws:ec2/instance:Instance":                         {"subnetId", "availabilityZone", "privateIp"},
	"aws:ec2/volumeAttachment:VolumeAttachment":         {"deviceName", "instanceId", "volumeId"},
	"aws:ec2/eipAssociation:EipAssociation":             {"allocationId", "instanceId"},
}

// forcingKeys returns the inputs of r whose change replaces it: ReplaceKeys, plus an
// instance's userData when userDataReplaceOnChange is set, minus the inputs the resource
// ignores (ignoreChanges).
func forcingKeys(r *graph.Resource) []string {
	keys := append([]string(nil), ReplaceKeys[r.Type]...)
	if r.Type == "aws:ec2/instance:Instance" && r.Bool("userDataReplaceOnChange") {
		keys = append(keys, "userData")
	}
	out := keys[:0]
	for _, k := range keys {
		ignored := false
		for _, ig := range r.IgnoreChanges {
			if ig == k {
				ignored = true
			}
		}
		if !ignored {
			out = append(out, k)
		}
	}
	return out
}

// statefulTypes hold data: replacing or deleting one loses it.
var statefulTypes = map[string]bool{
	"aws:rds/instance:Instance": true, "aws:s3/bucketV2:BucketV2": true, "aws:ebs/volume:Volume": true,
	"aws:secretsmanager/secret:Secret": true, "aws:elasticache/replicationGroup:ReplicationGroup": true,
	"aws:dynamodb/table:Table": true, "aws:redshift/cluster:Cluster": true,
}

// Stateful reports whether r holds data a change must never replace or delete.
func Stateful(r *graph.Resource) bool { return r.Custom && statefulTypes[r.Type] }

// Change is one step between two graphs.
type Change struct {
	Kind Kind
	// Resource is the resource after the change (before it, for a delete).
	Resource *graph.Resource
	// Keys are the inputs that differ (for a replace: those that force it).
	Keys []string
}

// LosesData reports whether the change would destroy data: a stateful resource replaced,
// or deleted without RetainOnDelete.
func (c Change) LosesData() bool {
	if !Stateful(c.Resource) {
		return false
	}
	return c.Kind == Replace || (c.Kind == Delete && !c.Resource.RetainOnDelete)
}

// String renders the change as a preview line: "+ create", "~ update", "- delete",
// "+- replace", then type, name and the keys.
func (c Change) String() string {
	sym := map[Kind]string{Create: "+ ", Update: "~ ", Delete: "- ", Replace: "+-"}[c.Kind]
	s := fmt.Sprintf("%s %s %s", sym, c.Resource.Type, c.Resource.Name)
	if len(c.Keys) > 0 {
		s += " [" + strings.Join(c.Keys, ", ") + "]"
	}
	if c.Kind == Delete && c.Resource.RetainOnDelete {
		s += " (retained in AWS)"
	}
	if c.LosesData() {
		s += "  <-- LOSES DATA"
	}
	return s
}

// Compare returns the changes from a to b, in b's registration order (deletes last, in a's
// order). Unchanged resources are left out. Inputs that hold ids of other resources may
// differ between two offline runs only if those resources changed identity, so they count.
func Compare(a, b *graph.Graph) []Change {
	var out []Change
	old := map[string]*graph.Resource{}
	for _, r := range a.Resources {
		old[r.URN] = r
	}
	seen := map[string]bool{}
	for _, r := range b.Resources {
		seen[r.URN] = true
		if !r.Custom {
			continue
		}
		prev, ok := old[r.URN]
		if !ok {
			out = append(out, Change{Kind: Create, Resource: r})
			continue
		}
		var forcing []string
		for _, k := range forcingKeys(r) {
			pv, _ := prev.Lookup(k)
			nv, _ := r.Lookup(k)
			if !reflect.DeepEqual(pv, nv) {
				forcing = append(forcing, k)
			}
		}
		if len(forcing) > 0 {
			out = append(out, Change{Kind: Replace, Resource: r, Keys: forcing})
			continue
		}
		if keys := changedKeys(prev.Inputs, r.Inputs); len(keys) > 0 {
			out = append(out, Change{Kind: Update, Resource: r, Keys: keys})
		}
	}
	for _, r := range a.Resources {
		if r.Custom && !seen[r.URN] {
			out = append(out, Change{Kind: Delete, Resource: r})
		}
	}
	return out
}

// changedKeys lists the top-level inputs that differ, sorted.
func changedKeys(a, b map[string]any) []string {
	var keys []string
	for k, v := range b {
		if !reflect.DeepEqual(a[k], v) {
			keys = append(keys, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Summary counts changes by kind and lists those that lose data.
type Summary struct {
	Counts    map[Kind]int
	LosesData []Change
}

// Summarize counts the changes.
func Summarize(changes []Change) Summary {
	s := Summary{Counts: map[Kind]int{}}
	for _, c := range changes {
		s.Counts[c.Kind]++
		if c.LosesData() {
			s.LosesData = append(s.LosesData, c)
		}
	}
	return s
}
