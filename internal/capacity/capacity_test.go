package capacity

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/internal/cost"
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

func model(t *testing.T) *Model {
	t.Helper()
	m, err := Load()
	require.NoError(t, err)
	return m
}

// TestMeasuredFiguresMatchTheBenchmarksPage: every figure the model uses is the one
// docs/benchmarks.md records (a rerun that changes the page changes the model, or this fails).
func TestMeasuredFiguresMatchTheBenchmarksPage(t *testing.T) {
	m := model(t)
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "benchmarks.md"))
	require.NoError(t, err)
	text := string(page)
	// The medians table of scripts/bench.sh's results: "| app_cached | 31972 | ... | redis_get | 16455 |".
	for _, pair := range [][2]string{{"app_cached", "redis_get"}, {"app_uncached", "pk_select"}, {"app_write", "insert"}} {
		row := fmt.Sprintf("| %s | %.0f |", pair[0], m.Figures[pair[0]].RPS)
		i := strings.Index(text, row)
		require.GreaterOrEqual(t, i, 0, "docs/benchmarks.md has no medians row %q", row)
		line := text[i : i+strings.Index(text[i:], "\n")]
		assert.Contains(t, line, fmt.Sprintf("| %s | %.0f |", pair[1], m.Figures[pair[1]].RPS), "baseline %s", pair[1])
	}
	// scripts/bench-capacity.sh's medians line.
	i := strings.Index(text, "## Capacity figures")
	require.GreaterOrEqual(t, i, 0)
	section := text[i:]
	for _, f := range []string{FigureNginxProxy, FigureRedisServer} {
		got := regexp.MustCompile(f + ` ([0-9.]+) (req|GET)/s`).FindStringSubmatch(section)
		require.NotNil(t, got, "docs/benchmarks.md has no median of %s", f)
		v, err := strconv.ParseFloat(got[1], 64)
		require.NoError(t, err)
		assert.Equal(t, math.Round(v), m.Figures[f].RPS, "%s: measured.json and docs/benchmarks.md disagree", f)
	}
	for _, f := range Figures {
		assert.NotEmpty(t, m.Figures[f].Source, f)
	}
}

// TestRateScalesByVCPUsAndBaseline: hand-checked: a c6i.large (2 vCPUs, fixed) carries the
// measured rate of the 2-core machine; a t3.small (2 vCPUs at a 20% baseline) a fifth of
// it; a Redis node is one thread, capped at the measured single-server rate.
func TestRateScalesByVCPUsAndBaseline(t *testing.T) {
	m := model(t)
	up := m.Figures[FigureAppUncached].RPS
	r, err := m.Rate(FigureAppUncached, "c6i.large")
	require.NoError(t, err)
	assert.InDelta(t, up, r, 1e-6)
	r, _ = m.Rate(FigureAppUncached, "m6i.2xlarge")
	assert.InDelta(t, 4*up, r, 1e-6)
	r, _ = m.Rate(FigureAppUncached, "t3.small")
	assert.InDelta(t, up/5, r, 1e-6)
	rs := m.Figures[FigureRedisServer].RPS
	r, _ = m.Rate(FigureRedisServer, "cache.m7g.xlarge")
	assert.InDelta(t, rs, r, 1e-6, "a bigger node does not run Redis on more threads")
	r, _ = m.Rate(FigureRedisServer, "cache.t4g.micro")
	assert.InDelta(t, rs*0.2, r, 1e-6, "2 vCPUs at 10%")
	_, err = m.Rate(FigureAppUncached, "zz9.large")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "measured.json")
}

// TestSurvivors: instances spread round-robin over the AZs lose the AZ holding the most.
func TestSurvivors(t *testing.T) {
	for _, tc := range []struct{ n, azs, want int }{{2, 2, 1}, {3, 3, 2}, {4, 3, 2}, {12, 3, 8}, {29, 3, 19}, {1, 1, 0}, {5, 2, 2}} {
		assert.Equal(t, tc.want, survivors(tc.n, tc.azs), "%d over %d AZs", tc.n, tc.azs)
	}
}

func res(typ, name, parent string, inputs map[string]any) *graph.Resource {
	return &graph.Resource{URN: "urn:" + typ + "::" + name, Type: typ, Name: name, Parent: parent, Custom: true, Inputs: inputs}
}

// stack builds a graph of three tiers of c6i.large over azs AZs, a Multi-AZ primary, one
// replica and a cache, the web group at webMax.
func stack(azs int, webMax float64) *graph.Graph {
	g := &graph.Graph{Stack: "test", Outputs: map[string]any{"stage": "users+++++"}}
	for i := 0; i < azs; i++ {
		g.Resources = append(g.Resources, res("aws:ec2/subnet:Subnet", fmt.Sprint("s", i), "", map[string]any{"availabilityZone": fmt.Sprintf("us-east-1%c", 'a'+i)}))
	}
	for _, tier := range []string{"web", "read-api", "write-api"} {
		c := &graph.Resource{URN: "urn:component::" + tier, Type: "scaling-aws:compute:ServerGroup", Name: tier}
		max := 6.0
		if tier == "web" {
			max = webMax
		}
		g.Resources = append(g.Resources, c,
			res("aws:ec2/launchTemplate:LaunchTemplate", tier, c.URN, map[string]any{"instanceType": "c6i.large"}),
			res("aws:autoscaling/group:Group", tier, c.URN, map[string]any{"maxSize": max}))
	}
	g.Resources = append(g.Resources,
		res("aws:rds/instance:Instance", "db", "", map[string]any{"instanceClass": "db.m6g.large", "multiAz": true}),
		res("aws:rds/instance:Instance", "db-replica-1", "", map[string]any{"instanceClass": "db.m6g.large", "replicateSourceDb": "db", "availabilityZone": "us-east-1a"}),
		res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", "", map[string]any{"nodeType": "cache.m7g.large", "numCacheClusters": 2.0, "automaticFailoverEnabled": true}))
	return g
}

// TestAnalyzeFindsTheBottleneck: hand-checked on a small stack: the web tier needs
// 121,200 / nginx_proxy c6i.large servers at the peak; with 6 over 3 AZs, 4 survive.
func TestAnalyzeFindsTheBottleneck(t *testing.T) {
	m := model(t)
	rep, err := Analyze(stack(3, 6), m)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.AZs)
	assert.Equal(t, Demand{Reads: 120000, Writes: 1200}, rep.Peak)
	byName := map[string]Result{}
	for _, r := range rep.Tiers {
		byName[r.Name] = r
	}
	require.Len(t, byName, 6, "web, read-api, write-api, db primary, db replicas, cache")
	web := byName["web"]
	assert.InDelta(t, 121200/m.Figures[FigureNginxProxy].RPS, web.Need, 1e-9)
	assert.Equal(t, 4, web.Survivors)
	assert.InDelta(t, 4/web.Need, web.Headroom, 1e-9)
	// Reads reach the replicas only on a cache miss; the primary takes the writes alone.
	assert.InDelta(t, 12000/m.Figures[FigurePKSelect].RPS, byName["db replicas"].Need, 1e-9)
	assert.Zero(t, byName["db replicas"].Survivors, "one replica, in the AZ lost")
	assert.InDelta(t, 1200/m.Figures[FigureInsert].RPS, byName["db primary"].Need, 1e-9)
	assert.Equal(t, 1, byName["db primary"].Survivors, "Multi-AZ")
	assert.False(t, rep.Fits)
	assert.Equal(t, "db replicas", rep.Bottleneck, "nothing is left of one replica")
	assert.Contains(t, rep.Markdown(), "Bottleneck: **db replicas**")
}

// TestSizeCarriesThePeakAtTheLeastCost: the sizing's web tier is the fewest servers of the
// cheapest fixed-performance x86 type whose survivors carry the peak, and its config
// deploys it; the cache, one thread on one serving node, is reported as not deployable.
func TestSizeCarriesThePeakAtTheLeastCost(t *testing.T) {
	m := model(t)
	p, err := cost.Table()
	require.NoError(t, err)
	rep, err := Analyze(stack(3, 6), m)
	require.NoError(t, err)
	s, err := Size(rep, m, p, "valkey")
	require.NoError(t, err)
	byName := map[string]Sized{}
	for _, z := range s.Tiers {
		byName[z.Tier] = z
	}
	web := byName["web"]
	require.True(t, web.Fits)
	perServer, _ := m.Rate(FigureNginxProxy, web.Type)
	need := 121200 / perServer
	assert.GreaterOrEqual(t, float64(survivors(web.Count, 3)), need)
	assert.Less(t, float64(survivors(web.Count-1, 3)), need, "the fewest that carry it")
	for _, other := range cost.Sizes(p.EC2HourlyTable) {
		spec, err := m.Spec(other)
		if err != nil || spec.Baseline < 1 || strings.Contains(other, "g.") {
			continue
		}
		r, _ := m.Rate(FigureNginxProxy, other)
		n := 1
		for float64(survivors(n, 3)) < 121200/r {
			n++
		}
		h, _ := p.EC2Hourly(other)
		wh, _ := p.EC2Hourly(web.Type)
		assert.GreaterOrEqual(t, float64(n)*h, float64(web.Count)*wh-1e-9, "%s is cheaper than %s", other, web.Type)
	}
	assert.Equal(t, map[string]any{"instanceType": web.Type, "max": web.Count}, s.Config["web"])
	assert.False(t, byName["cache"].Fits)
	assert.Contains(t, byName["cache"].Note, "REDIS_READ_ADDR unset")
	assert.False(t, s.Fits)
	assert.Equal(t, 1, s.Shards)
	assert.Contains(t, s.ConfigYAML("scaling-aws"), `  scaling-aws:web: '{"instanceType":"`+web.Type+`","max":`)

	_, err = Size(&Report{AZs: 1}, m, p, "valkey")
	require.Error(t, err, "one AZ: nothing survives")
}

// TestCacheReadsScaleWithReplicasThroughTheReader: when the read API is given the reader
// endpoint, the cache is two tiers: the replicas serve the GETs (one of the nodes left after
// an AZ loss is the primary) and the primary the writes and fills; the sizing then finds
// the replica count that carries the peak, and every tier fits.
func TestCacheReadsScaleWithReplicasThroughTheReader(t *testing.T) {
	m := model(t)
	p, err := cost.Table()
	require.NoError(t, err)
	g := stack(3, 6)
	g.ByName("aws:ec2/launchTemplate:LaunchTemplate", "read-api").Inputs["userData"] = "#!/bin/bash\nREDIS_READ_ADDR=reader:6379\n"
	rep, err := Analyze(g, m)
	require.NoError(t, err)
	byName := map[string]Result{}
	for _, r := range rep.Tiers {
		byName[r.Name] = r
	}
	require.Contains(t, byName, "cache replicas")
	require.Contains(t, byName, "cache primary")
	assert.Equal(t, 1, byName["cache replicas"].Count)
	assert.Equal(t, 1, byName["cache replicas"].Survivors, "2 nodes over 3 AZs: the one left is the primary, and the reader endpoint resolves to it")
	assert.InDelta(t, 120000/m.Figures[FigureRedisServer].RPS, byName["cache replicas"].Need, 1e-9)
	assert.InDelta(t, (12000+1200)/m.Figures[FigureRedisServer].RPS, byName["cache primary"].Need, 1e-9)

	s, err := Size(rep, m, p, "valkey")
	require.NoError(t, err)
	assert.True(t, s.Fits, "%+v", s.Tiers)
	cache := s.Config["cache"]
	require.NotNil(t, cache)
	replicas := cache["replicas"].(int)
	need := 120000 / m.Figures[FigureRedisServer].RPS
	assert.GreaterOrEqual(t, float64(cacheReadersLeft(replicas+1, 3)), need)
	assert.Less(t, float64(cacheReadersLeft(replicas, 3)), need, "the fewest replicas that carry it")
	for _, tc := range []struct{ n, azs, want int }{{2, 3, 1}, {3, 3, 1}, {6, 3, 3}, {4, 2, 1}, {1, 2, 0}, {5, 3, 2}} {
		assert.Equal(t, tc.want, cacheReadersLeft(tc.n, tc.azs), "%d nodes over %d AZs", tc.n, tc.azs)
	}
}
