package tests

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// retiredAt lists the stateful resources a stage deliberately drops from the stack, and the
// stage that does: users++ replaces the single box by server tiers, and the box's data volume
// (RetainOnDelete, snapshotted, protected in prod) stays in AWS for the operator to delete.
var retiredAt = map[string]config.Stage{
	"aws:ebs/volume:Volume::box-data": config.UsersPlus2,
}

// TestMovingUpNeverReplacesState runs consecutive stages of each stack and classifies every
// step as pulumi would (internal/diff): no stateful resource is replaced, none is dropped but
// those the stage retires (and those are RetainOnDelete), and the network keeps its
// identity, so `pulumi up` to the next stage is an update, never a rebuild.
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
				changes := diff.Compare(a.g, b.g)
				assert.Empty(t, diff.Summarize(changes).LosesData, "a move that loses data")
				for _, c := range changes {
					r := c.Resource
					switch {
					case c.Kind == diff.Replace && (diff.Stateful(r) || r.Type == "aws:ec2/vpc:Vpc" || r.Type == "aws:ec2/subnet:Subnet"):
						t.Errorf("%s is replaced at %s (%v)", r.URN, to, c.Keys)
					case c.Kind == diff.Delete && diff.Stateful(r):
						assert.Equal(t, to, retiredAt[r.Type+"::"+r.Name], "%s is dropped at %s: a stateful resource keeps its name to the last stage", r.URN, to)
					}
				}
				carried := 0
				for _, r := range a.g.Resources {
					if diff.Stateful(r) && b.g.ByURN(r.URN) != nil {
						carried++
						if env == "prod" {
							assert.Equal(t, r.Protect, b.g.ByURN(r.URN).Protect, "%s protection changes", r.URN)
						}
					}
				}
				require.Positive(t, carried, "no stateful resource carried over from %s to %s", from, to)
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
		// users++ -> users+++ keeps the primary, its secret, the buckets and the network.
		config.UsersPlus2: {"aws:ec2/vpc:Vpc::network", "aws:rds/instance:Instance::db", "aws:secretsmanager/secret:Secret::db-master", "aws:s3/bucketV2:BucketV2::store",
			"aws:s3/bucketV2:BucketV2::logs", "aws:ec2/subnet:Subnet::network-data-us-east-1a", "aws:ec2/subnet:Subnet::network-app-us-east-1b"},
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

// keyInputs are the inputs that name a stateful resource's KMS key; AWS replaces an RDS
// instance or an EBS volume whose key changes.
var keyInputs = []string{"kmsKeyId", "performanceInsightsKmsKeyId"}

// TestStackKeyNeverReplacesLiveState: prod stateful resources that exist from before the
// stack key (kmsKeyId unset: the AWS-managed keys) are not replaced when the program starts
// naming the key, because the key applies at creation only (ignoreChanges on kmsKeyId); the
// control without ignoreChanges shows the same change would replace them.
func TestStackKeyNeverReplacesLiveState(t *testing.T) {
	for _, stage := range implemented() {
		t.Run(stage.String(), func(t *testing.T) {
			after := evaluate(t, "prod", stage, nil).g
			before := withoutKeys(evaluate(t, "prod", stage, nil).g)
			changes := diff.Compare(before, after)
			assert.Empty(t, diff.Summarize(changes).LosesData, "taking the key into use loses data")
			keyed := 0
			for _, c := range changes {
				if diff.Stateful(c.Resource) && (c.Resource.Type == "aws:rds/instance:Instance" || c.Resource.Type == "aws:ebs/volume:Volume") {
					assert.Equal(t, diff.Update, c.Kind, "%s: %v", c.Resource.URN, c.Keys)
					// A read replica names no storage key of its own (it inherits its
					// source's); it takes only the Performance Insights key, in place.
					if slices.Contains(c.Keys, "kmsKeyId") {
						keyed++
					}
				}
			}
			require.Positive(t, keyed, "no RDS instance or data volume takes the key at %s", stage)

			// Control: without ignoreChanges the same step replaces them.
			for _, r := range after.Resources {
				r.IgnoreChanges = nil
			}
			replaced := 0
			for _, c := range diff.Compare(before, after) {
				if c.Kind == diff.Replace && diff.Stateful(c.Resource) {
					replaced++
				}
			}
			assert.Equal(t, keyed, replaced, "without ignoreChanges a key change replaces every keyed stateful resource")
		})
	}
}

// withoutKeys returns g as it was before the stack key: no key input on its stateful
// resources.
func withoutKeys(g *graph.Graph) *graph.Graph {
	for _, r := range g.Resources {
		if !diff.Stateful(r) {
			continue
		}
		for _, k := range keyInputs {
			delete(r.Inputs, k)
		}
	}
	return g
}

// TestMultiAZAppliedDuringTheMove: the move to users++ turns Multi-AZ on with
// applyImmediately, so the standby exists after that `pulumi up` rather than at the next
// maintenance window (until which every preview would show the same pending update); at
// users+ changes still wait for the window.
func TestMultiAZAppliedDuringTheMove(t *testing.T) {
	if !stagesImplemented(config.UsersPlus2) {
		t.Skip("users++ not implemented")
	}
	for _, env := range []string{"dev", "prod"} {
		before := find(evaluate(t, env, config.UsersPlus, nil).g, "aws:rds/instance:Instance::db")
		after := find(evaluate(t, env, config.UsersPlus2, nil).g, "aws:rds/instance:Instance::db")
		require.NotNil(t, before)
		require.NotNil(t, after)
		assert.Equal(t, false, before.Inputs["multiAz"], env)
		assert.Equal(t, false, before.Inputs["applyImmediately"], "%s users+: changes wait for the maintenance window", env)
		assert.Equal(t, true, after.Inputs["multiAz"], env)
		assert.Equal(t, true, after.Inputs["applyImmediately"], "%s users++: Multi-AZ is applied during the move", env)
	}
}
