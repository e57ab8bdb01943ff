package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
)

// preview runs the command from the project root and returns its exit status and output.
func preview(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"-dir", "../.."}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPreviewText(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			code, out, errOut := preview(t, "-stack", stack, "-stage", "single-box")
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "Offline preview of scaling-aws/"+stack)
			assert.Contains(t, out, "stage:       single-box (0)")
			assert.Contains(t, out, "environment: "+stack)
			assert.Contains(t, out, "\n    + scaling-aws:network:Network network\n")
			assert.Contains(t, out, "\n        + aws:ec2/vpc:Vpc network\n              cidrBlock=10.0.0.0/16")
			assert.Contains(t, out, "Summary by type:")
			assert.Regexp(t, `\+ \d+ to create`, out)
			assert.Contains(t, out, "Outputs:")
			if stack == "prod" {
				assert.Contains(t, out, "[protect]")
			}
		})
	}
}

func TestPreviewJSON(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			code, out, errOut := preview(t, "-stack", stack, "-stage", "single-box", "-json")
			require.Equal(t, 0, code, errOut)
			var g graph.Graph
			require.NoError(t, json.Unmarshal([]byte(out), &g))
			assert.Equal(t, graph.SchemaVersion, g.Schema)
			assert.Equal(t, stack, g.Stack)
			assert.NotEmpty(t, g.Resources)
			assert.NotNil(t, g.ByName("aws:ec2/vpc:Vpc", "network"))
			assert.Equal(t, "single-box", g.Outputs["stage"])
		})
	}
}

func TestPreviewBadConfig(t *testing.T) {
	code, out, errOut := preview(t, "-stack", "dev", "-stage", "users+++++++")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "scaling-aws:stage")
	assert.Contains(t, errOut, "users+++++++")

	code, _, errOut = preview(t, "-stack", "dev", "-config", "azCount=9")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "scaling-aws:azCount")

	code, _, errOut = preview(t, "-stack", "nosuchstack")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "Pulumi.nosuchstack.yaml")

	code, _, _ = preview(t, "-no-such-flag")
	assert.Equal(t, 2, code)
}

func TestPreviewDeterministic(t *testing.T) {
	for _, args := range [][]string{{"-stack", "prod", "-stage", "single-box"}, {"-stack", "prod", "-stage", "single-box", "-json"}} {
		_, first, _ := preview(t, args...)
		_, second, _ := preview(t, args...)
		require.NotEmpty(t, first)
		assert.Equal(t, first, second, "same input, same bytes: %v", args)
	}
}

func TestListStages(t *testing.T) {
	code, out, _ := preview(t, "-list-stages")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, "a header and six stages")
	assert.Contains(t, lines[1], "single-box")
	assert.Contains(t, lines[1], "yes")
	assert.Contains(t, lines[6], "users+++++")
}

// TestPreviewChecksTheRules: the text ends with the security rules' tally; the dev users++
// stack without a domain shows its one named waiver.
func TestPreviewChecksTheRules(t *testing.T) {
	code, out, errOut := preview(t, "-stack", "dev", "-stage", "users++")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Security rules (docs/security.md):")
	assert.Contains(t, out, "WAIVED LB-4")
	assert.Regexp(t, `\d+ passed, 0 failed`, out)

	code, out, _ = preview(t, "-stack", "dev", "-rules")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "PASS   NET-4")
}

// TestPrintRulesShowsFailures: a failing rule is listed with its resource.
func TestPrintRulesShowsFailures(t *testing.T) {
	g := &graph.Graph{Schema: graph.SchemaVersion, Resources: []*graph.Resource{{
		URN: "urn:pulumi:dev::scaling-aws::aws:ec2/subnet:Subnet::open", Type: "aws:ec2/subnet:Subnet", Name: "open", Custom: true,
		Inputs: map[string]any{"mapPublicIpOnLaunch": true, "tags": map[string]any{"tier": "app"}},
	}}}
	rep := rules.Check(g, rules.Context{Environment: "dev"})
	require.False(t, rep.OK())
	var b bytes.Buffer
	printRules(&b, rep, false)
	assert.Contains(t, b.String(), "FAIL   NET-1 urn:pulumi:dev::scaling-aws::aws:ec2/subnet:Subnet::open")
	assert.NotContains(t, b.String(), " 0 failed")
}

// TestPreviewFrom reports the move between two stages, and what it replaces.
func TestPreviewFrom(t *testing.T) {
	code, out, errOut := preview(t, "-stack", "prod", "-stage", "users+", "-from", "single-box")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Changes from stage single-box:")
	assert.Contains(t, out, "+- aws:ec2/instance:Instance box [userData]", "the box is replaced with its new boot script")
	assert.Contains(t, out, "+  aws:rds/instance:Instance db")
	assert.Regexp(t, `\d+ to create, \d+ to update, 1 to replace, 0 to delete; 0 would lose data`, out)
}

// TestPreviewFromNamesProtectedDeletes: prod's move to users++ deletes two protected
// resources, the box's data volume and its Elastic IP; the preview names both, with the
// command that unprotects each, since `pulumi up` would stop on the first.
func TestPreviewFromNamesProtectedDeletes(t *testing.T) {
	code, out, errOut := preview(t, "-stack", "prod", "-stage", "users++", "-from", "users+",
		"-config", "domain=example.com", "-config", "hostedZoneId=Z0123456789EXAMPLE")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "pulumi up stops on 2 protected resource(s)")
	assert.Contains(t, out, "pulumi state unprotect 'urn:pulumi:prod::scaling-aws::scaling-aws:compute:Box$aws:ebs/volume:Volume::box-data'")
	assert.Contains(t, out, "pulumi state unprotect 'urn:pulumi:prod::scaling-aws::scaling-aws:compute:Box$aws:ec2/eip:Eip::box'")
}

// TestPreviewAgainst compares with a saved graph: the same stack is unchanged; a base
// holding a bucket the stack no longer has is reported, and fails as data loss.
func TestPreviewAgainst(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := preview(t, "-stack", "dev", "-stage", "users+", "-json")
	require.Equal(t, 0, code, errOut)
	base := dir + "/base.json"
	require.NoError(t, os.WriteFile(base, []byte(out), 0o644))

	code, out, errOut = preview(t, "-stack", "dev", "-stage", "users+", "-against", base)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "0 to create, 0 to update, 0 to replace, 0 to delete; 0 would lose data")

	var g graph.Graph
	require.NoError(t, json.Unmarshal([]byte(mustRead(t, base)), &g))
	g.Resources = append(g.Resources, &graph.Resource{URN: "urn:pulumi:dev::scaling-aws::aws:s3/bucketV2:BucketV2::old", Type: "aws:s3/bucketV2:BucketV2", Name: "old", Custom: true, Inputs: map[string]any{}})
	b, err := json.Marshal(&g)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(base, b, 0o644))
	code, out, errOut = preview(t, "-stack", "dev", "-stage", "users+", "-against", base)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "-  aws:s3/bucketV2:BucketV2 old  <-- LOSES DATA")
	assert.Contains(t, errOut, "would lose data")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestPreviewCost: -cost appends the estimate (deployed, then at the seed's load) to the
// text, and with -json adds a "cost" field beside the graph's, whose totals add up; without
// -cost the JSON has no such field.
func TestPreviewCost(t *testing.T) {
	code, out, errOut := preview(t, "-stack", "dev", "-stage", "users++", "-cost")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"Monthly cost of dev at users++", "internal/cost/prices.json", "deployed, before traffic",
		"CloudFront HTTPS requests", "deployed + the load", "Assumptions:"} {
		assert.Contains(t, out, want)
	}
	code, out, errOut = preview(t, "-stack", "prod", "-stage", "single-box", "-cost", "-json")
	require.Equal(t, 0, code, errOut)
	var v struct {
		graph.Graph
		Cost *struct {
			Stage    string  `json:"stage"`
			Fixed    float64 `json:"fixedUsd"`
			Traffic  float64 `json:"trafficUsd"`
			Total    float64 `json:"totalUsd"`
			Lines    []any   `json:"lines"`
			PriceSrc string  `json:"priceSource"`
		} `json:"cost"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.NotNil(t, v.Cost)
	assert.Equal(t, "single-box", v.Cost.Stage)
	assert.NotEmpty(t, v.Resources, "the graph's fields are still there")
	assert.Positive(t, v.Cost.Fixed)
	assert.InDelta(t, v.Cost.Fixed+v.Cost.Traffic, v.Cost.Total, 0.011)
	assert.NotEmpty(t, v.Cost.Lines)

	_, out, _ = preview(t, "-stack", "dev", "-stage", "single-box", "-json")
	assert.NotContains(t, out, `"cost"`)
}
