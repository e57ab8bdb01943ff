package tests

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// replaceKeys are, per stateful type, the inputs whose change makes AWS replace the
// resource (the provider's ForceNew arguments). Moving up a stage must leave them alone.
var replaceKeys = map[string][]string{
	"aws:ec2/vpc:Vpc":                  {"cidrBlock", "instanceTenancy"},
	"aws:ec2/subnet:Subnet":            {"cidrBlock", "availabilityZone", "vpcId"},
	"aws:rds/instance:Instance":        {"identifier", "engine", "storageEncrypted", "kmsKeyId", "dbName", "username", "replicateSourceDb"},
	"aws:s3/bucketV2:BucketV2":         {"bucket", "bucketPrefix", "objectLockEnabled"},
	"aws:ebs/volume:Volume":            {"availabilityZone", "encrypted", "kmsKeyId", "snapshotId"},
	"aws:secretsmanager/secret:Secret": {"name", "namePrefix"},
}

// retiredAt lists the stateful resources a stage deliberately drops from the stack, and the
// stage that does: users++ replaces the single box by server tiers, and the box's data volume
// (RetainOnDelete, snapshotted, protected in prod) stays in AWS for the operator to delete.
var retiredAt = map[string]config.Stage{
	"aws:ebs/volume:Volume::box-data": config.UsersPlus2,
}

// stateful reports whether r holds data that a stage change must never replace: the types
// above, plus the box's Elastic IP (its address is the site's while the box serves it).
func stateful(r *graph.Resource) bool {
	_, ok := replaceKeys[r.Type]
	return ok && r.Custom
}

// TestMovingUpNeverReplacesState runs consecutive stages of each stack and proves, on the
// recorded graphs, that every stateful resource of stage N exists at N+1 under the same URN
// with the same replacement-forcing inputs — an update, never a replacement — or, when the
// stage drops it (the box's data volume at users++), was RetainOnDelete so AWS keeps it.
func TestMovingUpNeverReplacesState(t *testing.T) {
	stagesList := implemented()
	for _, env := range []string{"dev", "prod"} {
		for i := 0; i+1 < len(stagesList); i++ {
			from, to := stagesList[i], stagesList[i+1]
			t.Run(fmt.Sprintf("%s/%s-to-%s", env, from, to), func(t *testing.T) {
				// prod keeps the same domain across the move (required from users++ on).
				extra := map[string]string(nil)
				if env == "prod" {
					extra = prodDomain
				}
				a, b := evaluate(t, env, from, extra), evaluate(t, env, to, extra)
				checked := 0
				for _, old := range a.g.Resources {
					if !stateful(old) {
						continue
					}
					next := b.g.ByURN(old.URN)
					if next == nil {
						assert.True(t, retiredAt[old.Type+"::"+old.Name] == to, "%s is dropped at %s: a stateful resource keeps its name to the last stage", old.URN, to)
						assert.True(t, old.RetainOnDelete, "%s is dropped at %s without RetainOnDelete: AWS would delete it", old.URN, to)
						continue
					}
					checked++
					for _, k := range replaceKeys[old.Type] {
						ov, _ := old.Lookup(k)
						nv, _ := next.Lookup(k)
						assert.True(t, reflect.DeepEqual(ov, nv), "%s: %s changes %v -> %v at %s: AWS would replace it", old.URN, k, ov, nv, to)
					}
					if env == "prod" {
						assert.Equal(t, old.Protect, next.Protect, "%s protection changes", old.URN)
					}
					assert.False(t, next.DeleteBeforeReplace, "%s would be deleted before its replacement", old.URN)
				}
				require.Positive(t, checked, "no stateful resource carried over from %s to %s", from, to)
			})
		}
	}
}

// TestStatefulResourcesCarryOver names the stateful resources each move must keep, so the
// identity test above cannot pass by matching nothing.
func TestStatefulResourcesCarryOver(t *testing.T) {
	keep := map[config.Stage][]string{
		config.SingleBox: {"aws:ec2/vpc:Vpc::network", "aws:ec2/subnet:Subnet::network-public-us-east-1a", "aws:ebs/volume:Volume::box-data"},
		config.UsersPlus: {"aws:ec2/vpc:Vpc::network", "aws:rds/instance:Instance::db", "aws:s3/bucketV2:BucketV2::store", "aws:s3/bucketV2:BucketV2::logs", "aws:ec2/subnet:Subnet::network-data-us-east-1b"},
	}
	for from, names := range keep {
		to := from + 1
		if !stagesImplemented(to) {
			continue
		}
		a, b := evaluate(t, "dev", from, nil), evaluate(t, "dev", to, nil)
		for _, n := range names {
			r := find(a.g, n)
			require.NotNil(t, r, "%s at %s", n, from)
			if n == "aws:ebs/volume:Volume::box-data" && to >= config.UsersPlus2 {
				continue
			}
			assert.NotNil(t, b.g.ByURN(r.URN), "%s kept from %s to %s", n, from, to)
		}
	}
	// The box's data volume outlives the box: retained and snapshotted when users++ drops it.
	vol := find(evaluate(t, "prod", config.UsersPlus, prodDomain).g, "aws:ebs/volume:Volume::box-data")
	require.NotNil(t, vol)
	assert.True(t, vol.RetainOnDelete)
	assert.True(t, vol.Protect, "protected in prod: dropping it takes a deliberate `pulumi state unprotect`")
	assert.Equal(t, true, vol.Inputs["finalSnapshot"])
}

func stagesImplemented(s config.Stage) bool {
	for _, i := range implemented() {
		if i == s {
			return true
		}
	}
	return false
}

// find returns the resource "type::name", or nil.
func find(g *graph.Graph, typeAndName string) *graph.Resource {
	for _, r := range g.Resources {
		if r.Type+"::"+r.Name == typeAndName {
			return r
		}
	}
	return nil
}
