// Package cost estimates a stack's monthly AWS bill from its recorded resource graph
// (internal/graph) and the committed price table (prices.json: region, date and source in
// the file, and the pricing page beside every figure).
//
// Two parts, kept apart because they answer different questions:
//
//   - Fixed: what the stack costs deployed and idle, from the resources themselves (instance
//     types and counts, RDS classes, storage and Multi-AZ, cache nodes, NAT gateways, load
//     balancers' hours, endpoints, alarms, keys, secrets). An Auto Scaling group is priced at
//     the count it is created with and, beside it, at its max.
//   - Traffic: what the seed's load adds (100 billion reads and 1 billion writes a month, 1 KB
//     each; Load), priced on the path the graph gives a request: CloudFront and WAF when the
//     stack has them, else EC2's data transfer out; every load balancer's LCUs; the access
//     logs; traffic between AZs. Every line says its assumption.
//
// Nothing here is measured on AWS: it is list-price arithmetic on the recorded inputs, and
// the figures are as good as the table (refresh it with the AWS Price List API) and the
// assumptions written beside them.
package cost

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Load is the traffic priced in Report.Traffic.
type Load struct {
	// ReadsPerMonth and WritesPerMonth are requests a month.
	ReadsPerMonth, WritesPerMonth float64
	// ResponseBytes is a read's response body; WriteBytes a write's request body.
	ResponseBytes, WriteBytes float64
}

// SeedLoad is the seed's load: 100 billion reads and 1 billion writes a month, 1 KB each
// (../shared/MISSION.md: about 40,000 reads/s and 400 writes/s on average).
var SeedLoad = Load{ReadsPerMonth: 100e9, WritesPerMonth: 1e9, ResponseBytes: 1000, WriteBytes: 1000}

// Assumptions on the request path, used by the traffic lines (each is written beside the
// line it prices).
const (
	// balancerBytesPerRequest: what one request moves through a load balancer both ways,
	// the 1 KB body and about 1 KB of HTTP headers (request and response).
	balancerBytesPerRequest = 2000
	// accessLogBytes is one nginx access-log line in the scaling_json format
	// (components.NginxLogFormat): about 250 bytes.
	accessLogBytes = 250
	// wafLogBytes is one WAF log record (JSON with the request's headers, redacted): about
	// 1.5 KB, AWS's examples run 1-2 KB.
	wafLogBytes = 1500
	// wafLoggedShare is the share of requests a WAF rule blocks or counts, which a logging
	// filter that drops the allowed ones keeps: an assumption (the seed says nothing of
	// attacks), 1%.
	wafLoggedShare = 0.01
	// errorShare is the share of requests answered 4xx or 5xx, which nginx logs beside its
	// sample: an assumption (the seed gives no error rate), 1%.
	errorShare = 0.01
	// agentMetricsPerServer: the CloudWatch agent's custom metrics per server
	// (components/agentconfig.go): memory, swap, disk used per path (2), disk I/O, network
	// sent and received, process count, and the app's StatsD gauge on the API tiers.
	agentMetricsPerServer = 9
	// detailedMonitoringMetrics: EC2 bills detailed monitoring as 7 metrics per instance.
	detailedMonitoringMetrics = 7
	// gb is the bytes in the GB of AWS bills.
	gb = 1 << 30
)

// Line is one item of the estimate.
type Line struct {
	// Component is the top-level component that owns the resources (the logical name under
	// the stack, such as "network", "db", "web"); "traffic" for the seed-load lines that
	// belong to no single one.
	Component string `json:"component"`
	// Item says what is priced, with counts and sizes.
	Item string `json:"item"`
	// Monthly is USD a month as deployed (Fixed) or at the load (Traffic).
	Monthly float64 `json:"monthlyUsd"`
	// AtMax is USD a month with every Auto Scaling group at its max, when it differs.
	AtMax float64 `json:"atMaxUsd,omitempty"`
	// Traffic is true for lines priced from the load, false for what the stack costs idle.
	Traffic bool `json:"traffic"`
	// Assumption is what the figure takes for granted beyond the graph and the price table.
	Assumption string `json:"assumption,omitempty"`
}

// Report is the estimate for one stack at one stage.
type Report struct {
	// Stack and Stage name what was priced.
	Stack string `json:"stack"`
	Stage string `json:"stage"`
	// Region, Date and Source are the price table's.
	Region string `json:"region"`
	Date   string `json:"priceDate"`
	Source string `json:"priceSource"`
	// Lines are sorted by component, fixed before traffic.
	Lines []Line `json:"lines"`
	// Fixed, FixedAtMax, Traffic and Total are sums of the lines (USD a month).
	Fixed      float64 `json:"fixedUsd"`
	FixedAtMax float64 `json:"fixedAtMaxUsd"`
	Traffic    float64 `json:"trafficUsd"`
	Total      float64 `json:"totalUsd"`
	// Load is what Traffic prices.
	Load Load `json:"load"`
}

// Unpriced returns the custom resource types in g that the price table neither prices nor
// lists as free, sorted: a new billable resource must be added to prices.json.
func Unpriced(g *graph.Graph, p *Prices) []string {
	var out []string
	for _, t := range g.Types() {
		if _, ok := p.Types[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

// Estimate prices g with p at the load. It fails on a resource type the table does not know
// and on an instance type, class or node type it has no price for.
func Estimate(g *graph.Graph, p *Prices, load Load) (*Report, error) {
	if u := Unpriced(g, p); len(u) > 0 {
		return nil, fmt.Errorf("the price table does not know %s: add each to internal/cost/prices.json (\"priced\" with an estimator in internal/cost, or \"free: why\")", strings.Join(u, ", "))
	}
	e := &estimator{g: g, p: p, load: load, hours: p.HoursPerMonth}
	for _, r := range g.Resources {
		if !r.Custom || p.Types[r.Type] != "priced" {
			continue
		}
		f, ok := estimators[r.Type]
		if !ok {
			return nil, fmt.Errorf("internal/cost: %s is \"priced\" in prices.json but has no estimator", r.Type)
		}
		if err := f(e, r); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Type, r.Name, err)
		}
	}
	e.traffic()
	stage, _ := g.Outputs["stage"].(string)
	rep := &Report{Stack: g.Stack, Stage: stage, Region: p.Region, Date: p.Date, Source: p.Source, Load: load}
	// One line per component and item: resources of a kind sum up (58 alarms, not 58 lines).
	merged := map[[3]string]*Line{}
	var keys [][3]string
	for _, l := range e.lines {
		k := [3]string{l.Component, fmt.Sprint(l.Traffic), l.Item}
		if m, ok := merged[k]; ok {
			m.Monthly += l.Monthly
			m.AtMax += l.AtMax
			continue
		}
		l := l
		merged[k] = &l
		keys = append(keys, k)
	}
	for _, k := range keys {
		l := *merged[k]
		l.Monthly = round2(l.Monthly)
		l.AtMax = round2(l.AtMax)
		rep.Lines = append(rep.Lines, l)
		if l.Traffic {
			rep.Traffic += l.Monthly
			continue
		}
		rep.Fixed += l.Monthly
		if l.AtMax > 0 {
			rep.FixedAtMax += l.AtMax
		} else {
			rep.FixedAtMax += l.Monthly
		}
	}
	sort.SliceStable(rep.Lines, func(i, j int) bool {
		a, b := rep.Lines[i], rep.Lines[j]
		if a.Traffic != b.Traffic {
			return !a.Traffic
		}
		return a.Component < b.Component
	})
	rep.Fixed, rep.FixedAtMax, rep.Traffic = round2(rep.Fixed), round2(rep.FixedAtMax), round2(rep.Traffic)
	rep.Total = round2(rep.Fixed + rep.Traffic)
	return rep, nil
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// estimator accumulates lines while walking the graph.
type estimator struct {
	g     *graph.Graph
	p     *Prices
	load  Load
	hours float64
	lines []Line
}

func (e *estimator) add(r *graph.Resource, item string, monthly float64, assumption string) {
	e.lines = append(e.lines, Line{Component: e.component(r), Item: item, Monthly: monthly, Assumption: assumption})
}

// component returns the logical name of r's top-level ancestor (r's own name when it has
// no parent).
func (e *estimator) component(r *graph.Resource) string {
	cur := r
	for cur.Parent != "" {
		p := e.g.ByURN(cur.Parent)
		if p == nil {
			break
		}
		cur = p
	}
	return cur.Name
}

// num reads a number input, with a default when absent.
func num(r *graph.Resource, path string, def float64) float64 {
	if f, ok := r.Number(path); ok {
		return f
	}
	if s := r.String(path); s != "" {
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil {
			return f
		}
	}
	return def
}

// estimators price one resource each, by type token.
var estimators = map[string]func(*estimator, *graph.Resource) error{
	"aws:ec2/instance:Instance":                                       (*estimator).instance,
	"aws:autoscaling/group:Group":                                     (*estimator).group,
	"aws:autoscaling/policy:Policy":                                   (*estimator).policy,
	"aws:appautoscaling/policy:Policy":                                (*estimator).scalingPolicy,
	"aws:dynamodb/table:Table":                                        (*estimator).table,
	"aws:ebs/volume:Volume":                                           (*estimator).volume,
	"aws:ec2/eip:Eip":                                                 (*estimator).eip,
	"aws:ec2/natGateway:NatGateway":                                   (*estimator).nat,
	"aws:ec2/vpcEndpoint:VpcEndpoint":                                 (*estimator).endpoint,
	"aws:lb/loadBalancer:LoadBalancer":                                (*estimator).balancer,
	"aws:rds/instance:Instance":                                       (*estimator).database,
	"aws:elasticache/replicationGroup:ReplicationGroup":               (*estimator).cache,
	"aws:cloudwatch/metricAlarm:MetricAlarm":                          (*estimator).alarm,
	"aws:cloudwatch/compositeAlarm:CompositeAlarm":                    flat("composite alarms", "cloudwatch.compositeAlarm.month", ""),
	"aws:cloudwatch/dashboard:Dashboard":                              flat("dashboard", "cloudwatch.dashboard.month", "priced although an account's first 3 dashboards are free"),
	"aws:kms/key:Key":                                                 flat("KMS key", "kms.key.month", "its requests (0.03 per 10,000) are small: servers cache what they decrypt"),
	"aws:secretsmanager/secret:Secret":                                flat("secrets", "secret.month", "read at boot and on rotation: API calls are negligible"),
	"aws:route53/zone:Zone":                                           flat("hosted zone", "route53.zone.month", "alias queries to CloudFront and load balancers are free"),
	"aws:route53/healthCheck:HealthCheck":                             (*estimator).healthCheck,
	"aws:wafv2/webAcl:WebAcl":                                         (*estimator).webACL,
	"aws:cloudfront/distribution:Distribution":                        (*estimator).distribution,
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": (*estimator).wafLogging,
}

// flat prices a resource at one monthly rate of the table.
func flat(item, rate, assumption string) func(*estimator, *graph.Resource) error {
	return func(e *estimator, r *graph.Resource) error {
		e.add(r, item, e.p.rate(rate), assumption)
		return nil
	}
}

// metricCount counts the entries of a list input that carry key (the metrics an alarm or
// a customized target-tracking metric evaluates); absent or empty, one metric.
func metricCount(r *graph.Resource, path, key string) float64 {
	qs, _ := r.Lookup(path)
	list, _ := qs.([]any)
	if len(list) == 0 {
		return 1
	}
	n := 0.0
	for _, q := range list {
		if m, ok := q.(map[string]any); ok && m[key] != nil {
			n++
		}
	}
	return n
}

// server prices count servers of a type with a root volume and optional detailed
// monitoring (no public IP: those are priced as Eip).
func (e *estimator) server(instanceType string, rootGB float64, monitored bool) (float64, error) {
	h, err := e.p.EC2Hourly(instanceType)
	if err != nil {
		return 0, err
	}
	usd := h*e.hours + rootGB*e.p.rate("ebs.gp3.gbMonth") + agentMetricsPerServer*e.p.rate("cloudwatch.metric.month")
	if monitored {
		usd += detailedMonitoringMetrics * e.p.rate("cloudwatch.metric.month")
	}
	return usd, nil
}

func (e *estimator) instance(r *graph.Resource) error {
	t := r.String("instanceType")
	root := num(r, "rootBlockDevice.volumeSize", 8)
	usd, err := e.server(t, root, r.Bool("monitoring"))
	if err != nil {
		return err
	}
	e.add(r, fmt.Sprintf("1 x %s, %g GB gp3 root, detailed monitoring, agent metrics", t, root), usd,
		fmt.Sprintf("on demand, 730 h; %d agent metrics a server", agentMetricsPerServer))
	return nil
}

func (e *estimator) group(r *graph.Resource) error {
	lt := e.g.Sibling(r, "aws:ec2/launchTemplate:LaunchTemplate")
	if lt == nil {
		return fmt.Errorf("no launch template beside the group (under %s)", r.Parent)
	}
	t := lt.String("instanceType")
	root := num(lt, "blockDeviceMappings.0.ebs.volumeSize", 8)
	one, err := e.server(t, root, lt.Bool("monitoring.enabled"))
	if err != nil {
		return err
	}
	lo, hi := num(r, "minSize", 0), num(r, "maxSize", 0)
	n := num(r, "desiredCapacity", lo)
	e.lines = append(e.lines, Line{Component: e.component(r),
		Item:       fmt.Sprintf("%g x %s (group %s, %g-%g), %g GB gp3 root each, detailed monitoring, agent metrics", n, t, r.Name, lo, hi, root),
		Monthly:    n * one,
		AtMax:      hi * one,
		Assumption: fmt.Sprintf("on demand, 730 h at the created count (desired %g); at max %g all month", n, hi)})
	return nil
}

// policy prices the alarms a target-tracking policy creates (a high and, unless scale-in is
// off, a low one), each on the metrics it evaluates.
func (e *estimator) policy(r *graph.Resource) error {
	if r.String("policyType") != "TargetTrackingScaling" {
		return nil // simple and step policies act on alarms priced as MetricAlarm
	}
	alarms := 2.0
	if r.Bool("targetTrackingConfiguration.disableScaleIn") {
		alarms = 1
	}
	metrics := metricCount(r, "targetTrackingConfiguration.customizedMetricSpecification.metrics", "metricStat")
	e.add(r, "target-tracking alarms", alarms*metrics*e.p.rate("cloudwatch.alarm.month"), "")
	return nil
}

// scalingPolicy prices an Application Auto Scaling target-tracking policy (a DynamoDB
// table's) by the two alarms, high and low, the service creates for it.
func (e *estimator) scalingPolicy(r *graph.Resource) error {
	if r.String("policyType") != "TargetTrackingScaling" {
		return nil // step policies act on alarms priced as MetricAlarm
	}
	alarms := 2.0
	if r.Bool("targetTrackingScalingPolicyConfiguration.disableScaleIn") {
		alarms = 1
	}
	e.add(r, "target-tracking alarms", alarms*e.p.rate("cloudwatch.alarm.month"),
		"the high and low alarms target tracking creates; whether DynamoDB's adds alarms on the provisioned capacity is not confirmed here")
	return nil
}

// table prices a DynamoDB table: on demand it bills only its requests and storage (usage,
// not a deployed cost: docs/decisions.md, "Per-post view counters in DynamoDB", sizes the
// counters'); provisioned, the minimum capacity autoscaling keeps, every hour.
func (e *estimator) table(r *graph.Resource) error {
	if r.String("billingMode") != "PROVISIONED" {
		return nil
	}
	rc, wc := num(r, "readCapacity", 0), num(r, "writeCapacity", 0)
	e.add(r, fmt.Sprintf("provisioned minimum, %g RCU and %g WCU", rc, wc),
		(rc*e.p.rate("dynamodb.rcu.hour")+wc*e.p.rate("dynamodb.wcu.hour"))*e.hours,
		"autoscaling adds capacity with the load, each unit at the same hourly rate; requests are not billed on top; storage and backups are usage")
	return nil
}

func (e *estimator) volume(r *graph.Resource) error {
	size := num(r, "size", 0)
	if t := r.String("type"); t != "gp3" {
		return fmt.Errorf("volume type %q: the price table prices gp3 only", t)
	}
	e.add(r, fmt.Sprintf("%g GB gp3 data volume", size), size*e.p.rate("ebs.gp3.gbMonth"), "")
	// Snapshots: the first is a full copy, the daily ones after it only the changed blocks.
	e.add(r, fmt.Sprintf("snapshots of the %g GB volume", size), size*e.p.rate("ebs.snapshot.gbMonth"),
		"one full copy; daily incremental snapshots of a database's few changed blocks add little")
	return nil
}

func (e *estimator) eip(r *graph.Resource) error {
	e.add(r, "public IPv4 address", e.p.rate("ec2.publicIpv4.hour")*e.hours, "")
	return nil
}

func (e *estimator) nat(r *graph.Resource) error {
	e.add(r, "NAT gateway", e.p.rate("nat.hour")*e.hours,
		"hours only: requests do not cross it (AWS services are reached through endpoints); what servers fetch from the internet (OS updates) is a few GB at 0.045 per GB")
	return nil
}

func (e *estimator) endpoint(r *graph.Resource) error {
	if r.String("vpcEndpointType") != "Interface" {
		return nil // gateway endpoints (S3) are free
	}
	azs := 1.0
	if v, ok := r.Lookup("subnetIds"); ok {
		if s, ok := v.([]any); ok && len(s) > 0 {
			azs = float64(len(s))
		}
	}
	svc := r.String("serviceName")
	svc = svc[strings.LastIndex(svc, ".")+1:]
	e.add(r, "interface endpoints (AZ-hours)", azs*e.p.rate("vpce.interface.azHour")*e.hours,
		fmt.Sprintf("%s and the others in one line; their data (0.01 per GB) is small beside the hours", svc))
	return nil
}

func (e *estimator) balancer(r *graph.Resource) error {
	if t := r.String("loadBalancerType"); t != "" && t != "application" {
		return fmt.Errorf("load balancer type %q: the price table prices application load balancers only", t)
	}
	e.add(r, "application load balancer (hours)", e.p.rate("alb.hour")*e.hours, "")
	return nil
}

func (e *estimator) database(r *graph.Resource) error {
	class := r.String("instanceClass")
	h, err := e.p.RDSHourlyPrice(class)
	if err != nil {
		return err
	}
	copies, what := 1.0, "Single-AZ"
	if r.Bool("multiAz") {
		copies, what = 2, "Multi-AZ"
	}
	replica := r.String("replicateSourceDb") != ""
	storage := num(r, "allocatedStorage", 0)
	if replica && storage == 0 {
		// A replica has its source's storage.
		for _, s := range e.g.ByType(r.Type) {
			if s.String("replicateSourceDb") == "" && s.Parent == r.Parent {
				storage = num(s, "allocatedStorage", 0)
			}
		}
	}
	kind := "primary"
	if replica {
		kind = "read replica"
	}
	e.add(r, fmt.Sprintf("RDS %s %s %s", kind, class, what), copies*h*e.hours, "")
	e.add(r, fmt.Sprintf("RDS %s storage %g GB %s", kind, storage, what), copies*storage*e.p.rate("rds.storage.gbMonth"),
		"the allocated storage; the seed adds about 1 TB of content a month (+115 USD a month per copy each month); backups up to the database's size are free")
	return nil
}

func (e *estimator) cache(r *graph.Resource) error {
	node := r.String("nodeType")
	engine := r.String("engine")
	h, err := e.p.CacheHourlyPrice(node, engine)
	if err != nil {
		return err
	}
	nodes := num(r, "numCacheClusters", 0)
	if nodes == 0 {
		nodes = num(r, "numNodeGroups", 1) * (1 + num(r, "replicasPerNodeGroup", 0))
	}
	e.add(r, fmt.Sprintf("%g x %s (%s)", nodes, node, engine), nodes*h*e.hours,
		"Valkey nodes at 80% of the Redis OSS list price")
	return nil
}

func (e *estimator) alarm(r *graph.Resource) error {
	metrics := metricCount(r, "metricQueries", "metric")
	rate := e.p.rate("cloudwatch.alarm.month")
	if p := num(r, "period", 60); p < 60 {
		rate = e.p.rate("cloudwatch.alarmHighRes.month")
	}
	e.add(r, "metric alarms", metrics*rate, "")
	return nil
}

func (e *estimator) healthCheck(r *graph.Resource) error {
	features := 0.0
	if t := r.String("type"); strings.HasPrefix(t, "HTTPS") {
		features++
	}
	if r.Bool("measureLatency") {
		features++
	}
	if strings.HasSuffix(r.String("type"), "STR_MATCH") {
		features++
	}
	if num(r, "requestInterval", 30) < 30 {
		features++
	}
	e.add(r, fmt.Sprintf("health check with %g optional features", features),
		e.p.rate("route53.healthCheck.month")+features*e.p.rate("route53.healthCheckFeature.month"), "")
	return nil
}

func (e *estimator) webACL(r *graph.Resource) error {
	rules := 0.0
	if v, ok := r.Lookup("rules"); ok {
		if rs, ok := v.([]any); ok {
			rules = float64(len(rs))
		}
	}
	e.add(r, fmt.Sprintf("WAF web ACL with %g rules", rules), e.p.rate("waf.webAcl.month")+rules*e.p.rate("waf.rule.month"), "")
	return nil
}

// distribution and wafLogging have no fixed price: their cost is traffic (traffic()).
func (e *estimator) distribution(*graph.Resource) error { return nil }
func (e *estimator) wafLogging(*graph.Resource) error   { return nil }

// ServerHourly is one server's price per hour as the estimate counts it: the instance, its
// gp3 root volume, the agent's metrics and, when monitored, detailed monitoring.
func (p *Prices) ServerHourly(instanceType string, rootGB float64, monitored bool) (float64, error) {
	e := &estimator{p: p, hours: p.HoursPerMonth}
	usd, err := e.server(instanceType, rootGB, monitored)
	return usd / p.HoursPerMonth, err
}
