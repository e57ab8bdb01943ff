package tests

import (
	"fmt"
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
