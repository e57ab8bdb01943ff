package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
)

// TestNewRulesFailOnTheRealGraph takes the program's own graphs and undoes, one at a time,
// what issue 9 added: the rules must then fail, on the resource concerned. (The rule tests in
// internal/rules do the same on hand-built graphs; this shows the rules recognise what the
// program really registers.)
func TestNewRulesFailOnTheRealGraph(t *testing.T) {
	cases := []struct {
		rule, env string
		stage     config.Stage
		undo      func(g *graph.Graph) string // returns the URN the violation must name
	}{
		{"BAK-1", "dev", config.SingleBox, func(g *graph.Graph) string {
			drop(g, "aws:dlm/lifecyclePolicy:LifecyclePolicy")
			return find(g, "aws:ebs/volume:Volume::box-data").URN
		}},
		{"MON-4", "dev", config.SingleBox, func(g *graph.Graph) string {
			topic := find(g, "aws:sns/topic:Topic::alarms")
			topic.Inputs["kmsMasterKeyId"] = "alias/aws/sns"
			topic.Dependencies = nil
			return topic.URN
		}},
		{"KMS-2", "prod", config.UsersPlus, func(g *graph.Graph) string {
			db := find(g, "aws:rds/instance:Instance::db")
			delete(db.Inputs, "kmsKeyId")
			db.Dependencies = withoutType(g, db.Dependencies, "aws:kms/key:Key")
			return db.URN
		}},
		{"RDS-7", "prod", config.UsersPlus, func(g *graph.Graph) string {
			db := find(g, "aws:rds/instance:Instance::db")
			db.Inputs["monitoringInterval"] = 0.0
			return db.URN
		}},
		{"KMS-1", "prod", config.SingleBox, func(g *graph.Graph) string {
			k := find(g, "aws:kms/key:Key::key")
			k.Inputs["enableKeyRotation"] = false
			return k.URN
		}},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			s := evaluate(t, c.env, c.stage, nil)
			ctx := rules.Context{Environment: c.env, Stage: int(c.stage)}
			before, _ := rules.Check(s.g, ctx).Result(c.rule)
			require.True(t, before.Applied && !before.Failed(), "%s passes on the program's graph: %v", c.rule, before.Violations)
			urn := c.undo(s.g)
			res, _ := rules.Check(s.g, ctx).Result(c.rule)
			require.True(t, res.Failed(), "%s did not fail", c.rule)
			var urns []string
			for _, v := range res.Violations {
				urns = append(urns, v.URN)
			}
			assert.Contains(t, urns, urn)
		})
	}
}

// drop removes every resource of a type from g.
func drop(g *graph.Graph, typ string) {
	out := g.Resources[:0]
	for _, r := range g.Resources {
		if r.Type != typ {
			out = append(out, r)
		}
	}
	g.Resources = out
}

// withoutType returns the dependencies that are not of type typ.
func withoutType(g *graph.Graph, deps []string, typ string) []string {
	var out []string
	for _, d := range deps {
		if r := g.ByURN(d); r == nil || r.Type != typ {
			out = append(out, d)
		}
	}
	return out
}
