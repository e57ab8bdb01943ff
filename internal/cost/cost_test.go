package cost

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// table loads the committed price table or fails the test.
func table(t *testing.T) *Prices {
	t.Helper()
	p, err := Table()
	require.NoError(t, err)
	return p
}

// res builds a custom resource under parent ("" for the stack).
func res(typ, name, parent string, inputs map[string]any) *graph.Resource {
	return &graph.Resource{URN: "urn:" + typ + "::" + name, Type: typ, Name: name, Parent: parent, Custom: true, Inputs: inputs}
}

// lineNamed returns the estimate's line with this item, failing the test without one.
func lineNamed(t *testing.T, r *Report, item string) Line {
	t.Helper()
	for _, l := range r.Lines {
		if l.Item == item {
			return l
		}
	}
	t.Fatalf("no line %q in %v", item, r.Lines)
	return Line{}
}

// component builds a component resource under the stack.
func component(name string) *graph.Resource {
	return &graph.Resource{URN: "urn:component::" + name, Type: "scaling-aws:test:Component", Name: name}
}

// fixed returns the report's fixed lines of one component, by item.
func fixed(r *Report, comp string) map[string]Line {
	out := map[string]Line{}
	for _, l := range r.Lines {
		if !l.Traffic && l.Component == comp {
			out[l.Item] = l
		}
	}
	return out
}

// TestTablePricesEveryPricedTypeAndSourcesEveryFigure: the committed table loads; every
// type marked "priced" has an estimator and every estimator's type is marked "priced".
func TestTablePricesEveryPricedTypeAndSourcesEveryFigure(t *testing.T) {
	p := table(t)
	assert.Equal(t, "us-east-1", p.Region)
	assert.NotEmpty(t, p.Date)
	assert.Contains(t, p.Source, "Price List API", "the table says how to refresh it")
	for typ, v := range p.Types {
		if v == "priced" {
			assert.Contains(t, estimators, typ, "%s is priced but has no estimator", typ)
		}
	}
	for typ := range estimators {
		assert.Equal(t, "priced", p.Types[typ], "%s has an estimator but the table does not mark it priced", typ)
	}
}

// TestTieredCost: hand-checked steps: 15 TB of CloudFront data out is 10 TB at 0.085 and
// 5 TB at 0.080; past the last bound the last step's price applies.
func TestTieredCost(t *testing.T) {
	p := table(t)
	cf := p.tier("cloudfront.out.gb")
	assert.InDelta(t, 10240*0.085+5120*0.080, cf.Cost(15360), 0.001)
	assert.InDelta(t, 100*0.085, cf.Cost(100), 0.001)
	assert.Zero(t, cf.Cost(0))
	steps := Tiered{Steps: []Step{{UpToGB: 10, USD: 1}, {UpToGB: 0, USD: 0.5}}}
	assert.InDelta(t, 10+45, steps.Cost(100), 1e-9)
}

// TestGroupIsPricedAtDesiredAndAtMax: a group of 3 t3.small (2-12) with 16 GB roots and
// detailed monitoring costs 3 servers, and 12 at max; the launch template beside it gives
// the type.
func TestGroupIsPricedAtDesiredAndAtMax(t *testing.T) {
	p := table(t)
	web := component("web")
	g := &graph.Graph{Stack: "prod", Resources: []*graph.Resource{web,
		res("aws:ec2/launchTemplate:LaunchTemplate", "web", web.URN, map[string]any{"instanceType": "t3.small", "monitoring": map[string]any{"enabled": true},
			"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 16.0}}}}),
		res("aws:autoscaling/group:Group", "web", web.URN, map[string]any{"minSize": 2.0, "maxSize": 12.0, "desiredCapacity": 3.0}),
	}}
	r, err := Estimate(g, p, Load{})
	require.NoError(t, err)
	// One server: 0.0208 x 730 + 16 GB x 0.08 + (9 agent + 7 detailed) metrics x 0.30.
	one := 0.0208*730 + 16*0.08 + 16*0.30
	require.Len(t, r.Lines, 1)
	assert.InDelta(t, 3*one, r.Lines[0].Monthly, 0.01)
	assert.InDelta(t, 12*one, r.Lines[0].AtMax, 0.01)
	assert.InDelta(t, 3*one, r.Fixed, 0.01)
	assert.InDelta(t, 12*one, r.FixedAtMax, 0.01)
	assert.Zero(t, r.Traffic, "no load, no traffic lines")

	g.Resources = g.Resources[:2] // the template without its group: nothing runs
	r, err = Estimate(g, p, Load{})
	require.NoError(t, err)
	assert.Zero(t, r.Fixed)
}

// TestDatabaseAndCache: Multi-AZ doubles an RDS instance and its storage; a replica has its
// source's storage; a Valkey node costs 80% of the Redis OSS price.
func TestDatabaseAndCache(t *testing.T) {
	p := table(t)
	db, cache := component("db"), component("cache")
	g := &graph.Graph{Resources: []*graph.Resource{db, cache,
		res("aws:rds/instance:Instance", "db", db.URN, map[string]any{"instanceClass": "db.m6g.large", "multiAz": true, "allocatedStorage": 100.0}),
		res("aws:rds/instance:Instance", "db-replica-1", db.URN, map[string]any{"instanceClass": "db.m6g.large", "replicateSourceDb": "scaling-aws-prod-db"}),
		res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", cache.URN, map[string]any{"nodeType": "cache.m7g.large", "engine": "valkey", "numCacheClusters": 2.0}),
	}}
	r, err := Estimate(g, p, Load{})
	require.NoError(t, err)
	lines := fixed(r, "db")
	assert.InDelta(t, 2*0.152*730, lines["RDS primary db.m6g.large Multi-AZ"].Monthly, 0.01)
	assert.InDelta(t, 2*100*0.115, lines["RDS primary storage 100 GB Multi-AZ"].Monthly, 0.01)
	assert.InDelta(t, 0.152*730, lines["RDS read replica db.m6g.large Single-AZ"].Monthly, 0.01)
	assert.InDelta(t, 100*0.115, lines["RDS read replica storage 100 GB Single-AZ"].Monthly, 0.01)
	assert.InDelta(t, 2*0.158*0.8*730, fixed(r, "cache")["2 x cache.m7g.large (valkey)"].Monthly, 0.01)
}

// TestTables: an on-demand table is usage only; a provisioned one costs its minimum
// capacity every hour, and its target-tracking policies two alarms each.
func TestTables(t *testing.T) {
	p := table(t)
	c := component("counters")
	g := &graph.Graph{Resources: []*graph.Resource{c,
		res("aws:dynamodb/table:Table", "counters", c.URN, map[string]any{"billingMode": "PROVISIONED", "readCapacity": 5.0, "writeCapacity": 50.0}),
		res("aws:appautoscaling/target:Target", "counters-write", c.URN, map[string]any{"maxCapacity": 40000.0}),
		res("aws:appautoscaling/policy:Policy", "counters-write", c.URN, map[string]any{"policyType": "TargetTrackingScaling"}),
		res("aws:dynamodb/table:Table", "on-demand", "", map[string]any{"billingMode": "PAY_PER_REQUEST"}),
	}}
	r, err := Estimate(g, p, Load{})
	require.NoError(t, err)
	lines := fixed(r, "counters")
	assert.InDelta(t, (5*0.00013+50*0.00065)*730, lines["provisioned minimum, 5 RCU and 50 WCU"].Monthly, 0.001)
	assert.InDelta(t, 2*0.10, lines["target-tracking alarms"].Monthly, 0.001)
	assert.Empty(t, fixed(r, "on-demand"), "on demand: requests are usage")
}

// TestRefusesWhatItCannotPrice: a type the table does not know, and an instance type it has
// no price for, are errors naming the fix, not a silent zero.
func TestRefusesWhatItCannotPrice(t *testing.T) {
	p := table(t)
	g := &graph.Graph{Resources: []*graph.Resource{res("aws:redshift/cluster:Cluster", "warehouse", "", nil)}}
	_, err := Estimate(g, p, SeedLoad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aws:redshift/cluster:Cluster")
	assert.Contains(t, err.Error(), "prices.json")
	assert.Equal(t, []string{"aws:redshift/cluster:Cluster"}, Unpriced(g, p))

	g = &graph.Graph{Resources: []*graph.Resource{res("aws:ec2/instance:Instance", "box", "", map[string]any{"instanceType": "zz9.large"})}}
	_, err = Estimate(g, p, SeedLoad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"zz9.large"`)
}

// TestTrafficFollowsTheRequestPath: behind CloudFront the seed's load is priced as CloudFront
// data out, HTTPS requests and WAF, and every balancer's LCUs; without CloudFront it is
// EC2's data out to the internet.
func TestTrafficFollowsTheRequestPath(t *testing.T) {
	p := table(t)
	cdn, lb := component("cdn"), component("public-lb")
	g := &graph.Graph{Resources: []*graph.Resource{cdn, lb,
		res("aws:cloudfront/distribution:Distribution", "cdn", cdn.URN, nil),
		res("aws:wafv2/webAcl:WebAcl", "cdn-waf", cdn.URN, map[string]any{"rules": []any{map[string]any{}, map[string]any{}}}),
		res("aws:lb/loadBalancer:LoadBalancer", "public-lb", lb.URN, map[string]any{"loadBalancerType": "application"}),
	}}
	r, err := Estimate(g, p, SeedLoad)
	require.NoError(t, err)
	items := map[string]float64{}
	for _, l := range r.Lines {
		if l.Traffic {
			items[l.Item] = l.Monthly
			assert.NotEmpty(t, l.Assumption, l.Item)
		}
	}
	outGB := 100e9 * 1000 / gb
	assert.InDelta(t, p.tier("cloudfront.out.gb").Cost(outGB), items["CloudFront data out, 93132 GB"], 0.01)
	assert.InDelta(t, 101e9/1e4*0.01, items["CloudFront HTTPS requests, 101.0 billion requests"], 0.01)
	assert.InDelta(t, 101e9/1e6*0.60, items["WAF requests, 101.0 billion requests"], 0.01)
	assert.InDelta(t, 101e9*2000/gb*0.008, items["public-lb LCUs, 188127 GB processed"], 0.01)
	assert.InDelta(t, 5+2*1.0+16.425, r.Fixed, 0.01, "the web ACL and its rules, the balancer's hours")
	assert.InDelta(t, r.Fixed+r.Traffic, r.Total, 0.011)

	// WAF logs: every request without a logging filter, the blocked or counted share with one.
	for filter, share := range map[string]float64{"": 1, "DROP": wafLoggedShare} {
		in := map[string]any{}
		if filter != "" {
			in["loggingFilter"] = map[string]any{"defaultBehavior": filter}
		}
		g := &graph.Graph{Resources: []*graph.Resource{cdn,
			res("aws:cloudfront/distribution:Distribution", "cdn", cdn.URN, nil),
			res("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "cdn-waf", cdn.URN, in),
		}}
		r, err := Estimate(g, p, SeedLoad)
		require.NoError(t, err)
		logGB := 101e9 * share * wafLogBytes / gb
		l := lineNamed(t, r, fmt.Sprintf("WAF logs to CloudWatch Logs, %.0f GB", logGB))
		assert.InDelta(t, p.tier("logs.vended.gb").Cost(logGB), l.Monthly, 0.01, filter)
	}

	// nginx's access log: every request, or its random sample and the 4xx and 5xx.
	for script, share := range map[string]float64{
		"access_log /var/log/nginx/access.log scaling_json;": 1,
		"split_clients \"${request_id}\" $scaling_sampled { 1% 1; * 0; }\naccess_log /var/log/nginx/access.log scaling_json if=$scaling_log;": 0.01 + 0.99*errorShare,
	} {
		web := component("web")
		g := &graph.Graph{Resources: []*graph.Resource{web,
			res("aws:ec2/launchTemplate:LaunchTemplate", "web", web.URN, map[string]any{"userData": script}),
		}}
		r, err := Estimate(g, p, SeedLoad)
		require.NoError(t, err)
		logGB := 101e9 * share * accessLogBytes / gb
		l := lineNamed(t, r, fmt.Sprintf("nginx access logs to CloudWatch Logs, %.0f GB", logGB))
		assert.InDelta(t, logGB*0.50, l.Monthly, 0.01, script)
	}

	box := component("box")
	g = &graph.Graph{Resources: []*graph.Resource{box,
		res("aws:ec2/instance:Instance", "box", box.URN, map[string]any{"instanceType": "t3.small"}),
		res("aws:ec2/eip:Eip", "box", box.URN, nil),
	}}
	r, err = Estimate(g, p, SeedLoad)
	require.NoError(t, err)
	var traffic []string
	for _, l := range r.Lines {
		if l.Traffic {
			traffic = append(traffic, l.Item)
			// 10 TB at 0.09, 40 TB at 0.085, the remaining 42,692 GB at 0.07.
			assert.InDelta(t, 10240*0.09+40960*0.085+(outGB-51200)*0.07, l.Monthly, 0.01)
		}
	}
	assert.Equal(t, []string{"EC2 data out to the internet, 93132 GB"}, traffic)
}

// TestTextAndMarkdown: the text names the price table and every total; the markdown puts
// dev and prod side by side and marks a group's range.
func TestTextAndMarkdown(t *testing.T) {
	p := table(t)
	web := component("web")
	g := &graph.Graph{Stack: "dev", Outputs: map[string]any{"stage": "users++++"}, Resources: []*graph.Resource{web,
		res("aws:ec2/launchTemplate:LaunchTemplate", "web", web.URN, map[string]any{"instanceType": "t3.small"}),
		res("aws:autoscaling/group:Group", "web", web.URN, map[string]any{"minSize": 1.0, "maxSize": 4.0, "desiredCapacity": 1.0}),
		res("aws:lb/loadBalancer:LoadBalancer", "public-lb", "", map[string]any{"loadBalancerType": "application"}),
	}}
	r, err := Estimate(g, p, SeedLoad)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, r.WriteText(&b))
	text := b.String()
	for _, want := range []string{"Monthly cost of dev at users++++", "prices.json", "deployed, before traffic", "deployed + the load", "Assumptions:", "public-lb LCUs"} {
		assert.Contains(t, text, want)
	}
	md := Markdown(r, r)
	assert.Contains(t, md, "| component | dev | prod |")
	assert.Regexp(t, `\| web \| [0-9.]+ \(up to [0-9.]+\) \|`, md)
	assert.Contains(t, md, "| **deployed + the load** |")
	assert.Equal(t, "1,234", usd(1234.4))
	assert.Equal(t, "12.35", usd(12.345))
}
