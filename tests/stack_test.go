// Package tests holds the stack-level tests: every implemented stage, in the dev and prod
// stack configs, evaluated offline under the Pulumi mock engine (internal/offline), checked
// against the security rules (internal/rules), and compared stage to stage for identity.
package tests

import (
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// root is the project root, where Pulumi.<stack>.yaml and app/ live.
const root = ".."

// prodDomain is what a prod stack from users++ on must have (config refuses prod without a
// domain there); the zone id is a syntactically valid example.
var prodDomain = map[string]string{"scaling-aws:domain": "example.com", "scaling-aws:hostedZoneId": "Z0123456789EXAMPLE"}

// implemented lists the stages the registry can deploy.
func implemented() []config.Stage {
	var out []config.Stage
	for _, d := range stages.Registry {
		if d.Implemented() {
			out = append(out, d.Stage)
		}
	}
	return out
}

// stack is one evaluated stack: its config and recorded graph.
type stack struct {
	cfg *config.Config
	g   *graph.Graph
}

// stackConfig reads Pulumi.<name>.yaml, sets the stage and applies overrides.
func stackConfig(t *testing.T, name string, stage config.Stage, extra map[string]string) (map[string]string, []string) {
	t.Helper()
	cfg, secrets, err := offline.LoadStackConfig(root, name)
	require.NoError(t, err)
	cfg["scaling-aws:stage"] = stage.String()
	if name == "prod" && stage >= config.UsersPlus2 {
		for k, v := range prodDomain {
			cfg[k] = v
		}
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg, secrets
}

// evaluate runs a stack at a stage offline and loads its config as main.go would.
func evaluate(t *testing.T, name string, stage config.Stage, extra map[string]string) *stack {
	t.Helper()
	kv, secrets := stackConfig(t, name, stage, extra)
	g, err := offline.Run(offline.RunOptions{Stack: name, Config: kv, SecretKeys: secrets, Root: root})
	require.NoError(t, err, "%s at %s", name, stage)
	cfg, err := config.Load(config.MapSource(kv))
	require.NoError(t, err)
	return &stack{cfg: cfg, g: g}
}

// count counts custom resources of a type token.
func (s *stack) count(typ string) int { return len(s.g.ByType(typ)) }

// one returns the only resource of a type, failing otherwise.
func (s *stack) one(t *testing.T, typ string) *graph.Resource {
	t.Helper()
	rs := s.g.ByType(typ)
	require.Len(t, rs, 1, typ)
	return rs[0]
}

// mustContain is, per stage, the rules that must apply: a forced rule over zero resources
// fails, so a stage that lost its database or its flow logs fails here.
func mustContain(stage config.Stage) []string {
	ids := []string{"NET-1", "NET-4", "NET-5", "CMP-1", "CMP-2", "CMP-4", "S3-1", "S3-2", "S3-3", "S3-4", "S3-6", "IAM-1", "IAM-2", "MON-1", "MON-2", "SEC-2", "STATE-1",
		"KMS-1", "MON-4"}
	if stage < config.UsersPlus2 {
		ids = append(ids, "BAK-1") // the single box's data volume
	}
	if stage >= config.UsersPlus {
		ids = append(ids, "S3-5", "RDS-1", "RDS-2", "RDS-4", "RDS-6", "NET-6", "SEC-3", "AWS-4", "AWS-7")
	}
	if stage >= config.UsersPlus2 {
		ids = append(ids, "NET-2", "RDS-3", "ASG-1", "ASG-2", "ASG-3", "ASG-4", "LB-1", "LB-3", "LB-4", "LB-5", "LB-6", "CF-1", "CF-3", "CF-4", "CF-5", "LB-7", "AWS-3", "AWS-6")
	}
	if stage >= config.UsersPlus3 {
		ids = append(ids, "EC-1", "EC-2", "EC-3", "EC-4", "EC-5")
	}
	return ids
}

// TestEveryStagePassesTheRules evaluates every implemented stage in dev and prod and checks
// the graph against every security and reliability rule that applies, with only the
// waivers the config itself names (stages.Waivers).
func TestEveryStagePassesTheRules(t *testing.T) {
	for _, stage := range implemented() {
		for _, env := range []string{"dev", "prod"} {
			t.Run(stage.String()+"/"+env, func(t *testing.T) {
				s := evaluate(t, env, stage, nil)
				rep := rules.Check(s.g, rules.Context{
					Environment: env, Stage: int(stage), Force: mustContain(stage), Waivers: stages.Waivers(s.cfg),
				})
				require.True(t, rep.OK(), "%s", rep)
				for _, id := range mustContain(stage) {
					res, ok := rep.Result(id)
					require.True(t, ok, id)
					assert.Positive(t, res.Examined, "%s examined no resource", id)
				}
				// Prod-only rules must apply in prod: the stack key on its data, and RDS
				// enhanced monitoring and Performance Insights.
				prodOnly := []string{"KMS-2"}
				if stage >= config.UsersPlus {
					prodOnly = append(prodOnly, "RDS-7")
				}
				for _, id := range prodOnly {
					res, _ := rep.Result(id)
					assert.Equal(t, env == "prod", res.Applied && res.Examined > 0, "%s applies in prod only", id)
				}
			})
		}
	}
}

// TestWaiversAreNamedAndNarrow: the only exception is PLAIN-HTTP-ORIGIN, for a dev stack
// without a domain from users++ on; with a domain the same stage passes with no waiver, and
// without the waiver the plain-HTTP load balancer fails the rules.
func TestWaiversAreNamedAndNarrow(t *testing.T) {
	plain := evaluate(t, "dev", config.UsersPlus2, nil)
	w := stages.Waivers(plain.cfg)
	require.Equal(t, []string{"LB-4", "LB-5"}, keys(w))
	assert.Contains(t, w["LB-4"], stages.PlainHTTPOrigin)
	rep := rules.Check(plain.g, rules.Context{Environment: "dev", Stage: 2})
	assert.False(t, rep.OK(), "without the waiver, plain HTTP fails")
	assert.Contains(t, plain.g.Outputs["notice"], "plain HTTP", "the preview says what is not encrypted")

	tls := evaluate(t, "dev", config.UsersPlus2, prodDomain)
	assert.Empty(t, keys(stages.Waivers(tls.cfg)))
	rep = rules.Check(tls.g, rules.Context{Environment: "dev", Stage: 2, Force: mustContain(config.UsersPlus2), Waivers: stages.Waivers(tls.cfg)})
	assert.True(t, rep.OK(), "%s", rep)
	assert.NotContains(t, tls.g.Outputs, "notice")
	for _, s := range []*stack{evaluate(t, "dev", config.SingleBox, nil), evaluate(t, "dev", config.UsersPlus, nil)} {
		assert.Empty(t, keys(stages.Waivers(s.cfg)), s.cfg.Stage.String())
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestResourceCountsGolden pins the custom resources each stage creates, by type, in
// testdata/counts-<stage>-<env>.txt (refresh with go test ./tests -update). A diff there is
// what a change adds to or removes from a stage.
func TestResourceCountsGolden(t *testing.T) {
	for _, stage := range implemented() {
		for _, env := range []string{"dev", "prod"} {
			s := evaluate(t, env, stage, nil)
			var b strings.Builder
			counts := s.g.CountByType()
			for _, typ := range s.g.Types() {
				fmt.Fprintf(&b, "%3d %s\n", counts[typ], typ)
			}
			path := filepath.Join("testdata", fmt.Sprintf("counts-%s-%s.txt", strings.ReplaceAll(stage.String(), "+", "p"), env))
			goldenFile(t, path, b.String(), fmt.Sprintf("%s %s resource counts changed; review and run -update", stage, env))
		}
	}
}

// goldenFile compares got with the file at path, or writes it there with -update; msg says
// what a difference means.
func goldenFile(t *testing.T, path, got, msg string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./tests -update to create %s", path)
	assert.Equal(t, string(want), got, msg)
}

// TestAlarmTopicPassesAWS5: the alarm topic is under the stack's key, so the AWS-API rule
// on alarm topics passes with no waiver at every stage (it fails on alias/aws/sns: the
// rule tests show it).
func TestAlarmTopicPassesAWS5(t *testing.T) {
	for _, st := range implemented() {
		s := evaluate(t, "prod", st, prodDomain)
		rep := rules.Check(s.g, rules.Context{Environment: "prod", Stage: int(st)})
		res, ok := rep.Result("AWS-5")
		require.True(t, ok)
		assert.True(t, res.Applied && !res.Failed(), "%s: %v", st, res.Violations)
	}
}

// TestSSHLimitAgrees: config's adminCidrs check and rule NET-8 judge an SSH allow-list by
// the same number of addresses, so a config that loads never fails the rule (and the seed's
// office /24 plus single addresses passes both).
func TestSSHLimitAgrees(t *testing.T) {
	assert.Equal(t, config.MaxAdminIPv4, rules.SSHMaxAddresses)
	assert.Equal(t, config.MaxAdminIPv6, new(big.Int).Lsh(big.NewInt(1), rules.SSHMaxIPv6Bits).String())
}
