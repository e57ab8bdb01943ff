package components

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of LoadBalancer, ServerGroup and CDN under the Pulumi mock engine. The recorder is
// local and small (internal/offline imports the stages, which import this package).

const (
	tokLB        = "aws:lb/loadBalancer:LoadBalancer"
	tokListener  = "aws:lb/listener:Listener"
	tokTG        = "aws:lb/targetGroup:TargetGroup"
	tokRule      = "aws:lb/listenerRule:ListenerRule"
	tokIngress   = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tokEgress    = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tokSG        = "aws:ec2/securityGroup:SecurityGroup"
	tokLT        = "aws:ec2/launchTemplate:LaunchTemplate"
	tokASG       = "aws:autoscaling/group:Group"
	tokPolicy    = "aws:autoscaling/policy:Policy"
	tokRole      = "aws:iam/role:Role"
	tokRolePol   = "aws:iam/rolePolicy:RolePolicy"
	tokProfile   = "aws:iam/instanceProfile:InstanceProfile"
	tokLogGroup  = "aws:cloudwatch/logGroup:LogGroup"
	tokAlarm     = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tokDist      = "aws:cloudfront/distribution:Distribution"
	tokOAC       = "aws:cloudfront/originAccessControl:OriginAccessControl"
	tokOAI       = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
	tokLogSrc    = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
	tokLogDst    = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
	tokLogDeliv  = "aws:cloudwatch/logDelivery:LogDelivery"
	tokBucketPol = "aws:s3/bucketPolicy:BucketPolicy"
)

type rec struct {
	typ, name     string
	inputs        map[string]any
	ignoreChanges []string
	provider      string
	deps          []string // URNs of the resources it depends on
}

// recorder is a MockResourceMonitor recording every registration.
type recorder struct {
	mu  sync.Mutex
	all []*rec
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	in := args.Inputs.Mappable()
	rr := &rec{typ: args.TypeToken, name: args.Name, inputs: in, provider: args.Provider}
	if args.RegisterRPC != nil {
		rr.ignoreChanges = args.RegisterRPC.GetIgnoreChanges()
		rr.deps = args.RegisterRPC.GetDependencies()
	}
	r.mu.Lock()
	r.all = append(r.all, rr)
	r.mu.Unlock()

	out := map[string]any{}
	for k, v := range in {
		out[k] = v
	}
	id := args.Name + "-id"
	out["arn"] = "arn:aws:mock:us-east-1:123456789012:" + args.Name
	if _, ok := out["name"]; !ok {
		out["name"] = args.Name
	}
	switch args.TypeToken {
	case tokLB:
		out["dnsName"] = args.Name + ".elb.example"
		out["zoneId"] = "Z35SXDOTRQ7X7K"
		out["arnSuffix"] = "app/" + args.Name + "/1"
	case tokTG:
		out["arnSuffix"] = "targetgroup/" + args.Name + "/1"
	case tokLT:
		out["latestVersion"] = 3
	case tokDist:
		out["domainName"] = "d111.cloudfront.net"
		out["hostedZoneId"] = "Z2FDTNDATAQYW2"
		out["arn"] = "arn:aws:cloudfront::123456789012:distribution/" + args.Name
	case "aws:s3/bucketV2:BucketV2":
		id = args.Name + "-bucket"
		out["arn"] = "arn:aws:s3:::" + id
		out["bucketRegionalDomainName"] = id + ".s3.us-east-1.amazonaws.com"
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		out["prefixListId"] = "pl-s3"
	}
	return id, resource.NewPropertyMapFromMap(out), nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "aws:ec2/getManagedPrefixList:getManagedPrefixList" {
		return resource.NewPropertyMapFromMap(map[string]any{"id": "pl-cloudfront", "name": CloudFrontOriginFacingPrefixList}), nil
	}
	return args.Args, nil
}

// of returns the records of a type whose names start with prefix.
func (r *recorder) of(typ, prefix string) []*rec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*rec
	for _, x := range r.all {
		if x.typ == typ && strings.HasPrefix(x.name, prefix) {
			out = append(out, x)
		}
	}
	return out
}

func (r *recorder) one(t *testing.T, typ, name string) *rec {
	t.Helper()
	for _, x := range r.of(typ, name) {
		if x.name == name {
			return x
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return nil
}

// named counts every resource (components included) whose name starts with prefix.
func (r *recorder) named(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.all {
		if strings.HasPrefix(x.name, prefix) {
			n++
		}
	}
	return n
}

// get walks a path such as "healthCheck.interval" or "defaultActions.0.type".
func get(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch m := v.(type) {
		case map[string]any:
			v = m[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(m) {
				return nil
			}
			v = m[i]
		default:
			return nil
		}
	}
	return v
}

func run(t *testing.T, program pulumi.RunFunc) *recorder {
	t.Helper()
	r := &recorder{}
	err := pulumi.RunErr(program, pulumi.WithMocks("scaling-aws", "test", r))
	require.NoError(t, err)
	return r
}

// fixture builds the network and buckets the web components stand on.
type fixture struct {
	net            *Network
	logs, assets   *Bucket
	oneAZ          *Network
	oneAZLogBucket *Bucket
}

func newFixture(ctx *pulumi.Context, azs int) (*fixture, error) {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}[:azs]
	net, err := NewNetwork(ctx, "net", &NetworkArgs{
		CidrBlock: "10.0.0.0/16", AvailabilityZones: zones, Region: "us-east-1",
		Tiers: []Tier{TierPublic, TierWeb, TierApp, TierData}, Nat: NatSingle,
	})
	if err != nil {
		return nil, err
	}
	logs, err := NewBucket(ctx, "logs", &BucketArgs{Class: DataLogs})
	if err != nil {
		return nil, err
	}
	assets, err := NewBucket(ctx, "assets", &BucketArgs{Class: DataUser, LogBucket: logs, DeferPolicy: true})
	if err != nil {
		return nil, err
	}
	return &fixture{net: net, logs: logs, assets: assets}, nil
}

func ingressPorts(rules []*rec) []float64 {
	var ports []float64
	for _, r := range rules {
		ports = append(ports, r.inputs["fromPort"].(float64))
	}
	return ports
}

func TestLoadBalancerPublicHTTPS(t *testing.T) {
	var lbOut *LoadBalancer
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		lbOut, err = NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{
			Network: f.net, CertificateArn: pulumi.String("arn:aws:acm:us-east-1:123456789012:certificate/x"),
			LogBucket: f.logs, DeletionProtection: true,
		})
		if err != nil {
			return err
		}
		if _, err := lbOut.AddTarget("web", TargetArgs{}); err != nil {
			return err
		}
		_, err = lbOut.AddTarget("api-read", TargetArgs{Methods: []string{"GET", "HEAD"}, PathPatterns: []string{"/api/*"}, Priority: 10})
		return err
	})

	assert.True(t, lbOut.Encrypted)
	assert.Equal(t, Port(443), lbOut.Port)
	assert.Len(t, r.of(tokLB, "edge"), 1)
	assert.Len(t, r.of(tokListener, "edge"), 2)
	assert.Len(t, r.of(tokTG, "edge"), 2)
	assert.Len(t, r.of(tokRule, "edge"), 2)
	assert.Len(t, r.of(tokSG, "edge"), 1)

	alb := r.one(t, tokLB, "edge")
	assert.Equal(t, false, alb.inputs["internal"])
	assert.Equal(t, "application", alb.inputs["loadBalancerType"])
	assert.Equal(t, true, alb.inputs["dropInvalidHeaderFields"])
	assert.Equal(t, "defensive", alb.inputs["desyncMitigationMode"])
	assert.Equal(t, true, alb.inputs["enableHttp2"])
	assert.Equal(t, 60.0, alb.inputs["idleTimeout"])
	assert.Equal(t, true, alb.inputs["enableDeletionProtection"], "deletion protection in prod (SH ELB.6)")
	assert.Equal(t, true, get(alb.inputs, "accessLogs.enabled"), "access logs on (SH ELB.5)")
	assert.Equal(t, "logs-bucket", get(alb.inputs, "accessLogs.bucket"))
	assert.Equal(t, "alb/edge", get(alb.inputs, "accessLogs.prefix"))
	assert.Len(t, alb.inputs["subnets"], 2, "public subnets in 2 AZs")

	https := r.one(t, tokListener, "edge-https")
	assert.Equal(t, "HTTPS", https.inputs["protocol"])
	assert.Equal(t, 443.0, https.inputs["port"])
	assert.Equal(t, "ELBSecurityPolicy-TLS13-1-2-2021-06", https.inputs["sslPolicy"])
	assert.NotEmpty(t, https.inputs["certificateArn"])

	http := r.one(t, tokListener, "edge-http")
	assert.Equal(t, "HTTP", http.inputs["protocol"])
	require.Len(t, http.inputs["defaultActions"], 1, "port 80 does one thing: redirect")
	assert.Equal(t, "redirect", get(http.inputs, "defaultActions.0.type"))
	assert.Equal(t, "HTTP_301", get(http.inputs, "defaultActions.0.redirect.statusCode"))
	assert.Equal(t, "HTTPS", get(http.inputs, "defaultActions.0.redirect.protocol"))
	assert.Equal(t, "443", get(http.inputs, "defaultActions.0.redirect.port"))

	// Rules land on the HTTPS listener, never the redirecting one.
	for _, rule := range r.of(tokRule, "edge") {
		assert.Contains(t, rule.inputs["listenerArn"], "edge-https")
	}
	catchAll := r.one(t, tokRule, "edge-web")
	assert.Equal(t, 50000.0, catchAll.inputs["priority"])
	assert.Equal(t, []any{"/*"}, get(catchAll.inputs, "conditions.0.pathPattern.values"))
	read := r.one(t, tokRule, "edge-api-read")
	assert.Equal(t, 10.0, read.inputs["priority"])
	assert.Equal(t, []any{"GET", "HEAD"}, get(read.inputs, "conditions.0.httpRequestMethod.values"))
	assert.Equal(t, []any{"/api/*"}, get(read.inputs, "conditions.1.pathPattern.values"))
	assert.Equal(t, "forward", get(read.inputs, "actions.0.type"))

	for _, tg := range r.of(tokTG, "edge") {
		hc := tg.inputs["healthCheck"]
		assert.Equal(t, 8080.0, tg.inputs["port"])
		assert.Equal(t, "HTTP", tg.inputs["protocol"])
		assert.Equal(t, 30.0, tg.inputs["deregistrationDelay"])
		assert.Equal(t, "/healthz", get(hc, "path"))
		assert.Equal(t, "200", get(hc, "matcher"))
		assert.Equal(t, 2.0, get(hc, "healthyThreshold"))
		assert.Equal(t, 3.0, get(hc, "unhealthyThreshold"))
		assert.Greater(t, get(hc, "interval").(float64), get(hc, "timeout").(float64), "timeout < interval")
	}

	in := r.of(tokIngress, "edge-sg")
	assert.ElementsMatch(t, []float64{80, 80, 443, 443}, ingressPorts(in), "443 and the redirect on 80, v4 and v6")
	for _, rule := range in {
		assert.NotEqual(t, 22.0, rule.inputs["fromPort"])
	}
}

func TestLoadBalancerPlainHTTPFrontedByCloudFront(t *testing.T) {
	var lbOut *LoadBalancer
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		lbOut, err = NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true})
		return err
	})
	assert.False(t, lbOut.Encrypted, "no certificate: plain HTTP is reported")
	assert.Equal(t, Port(80), lbOut.Port)
	assert.Contains(t, PlainHTTPNotice, "CloudFront→ALB is HTTP")
	require.Len(t, r.of(tokListener, "edge"), 1)
	http := r.one(t, tokListener, "edge-http")
	assert.Equal(t, "HTTP", http.inputs["protocol"])
	assert.Equal(t, "fixed-response", get(http.inputs, "defaultActions.0.type"), "404 until a target is added")
	assert.Equal(t, false, r.one(t, tokLB, "edge").inputs["enableDeletionProtection"], "dev: off")

	in := r.of(tokIngress, "edge-sg")
	require.Len(t, in, 1, "only CloudFront, only the serving port")
	assert.Equal(t, "pl-cloudfront", in[0].inputs["prefixListId"])
	assert.Equal(t, 80.0, in[0].inputs["fromPort"])
	assert.Nil(t, in[0].inputs["cidrIpv4"])
	assert.Nil(t, in[0].inputs["cidrIpv6"])
}

func TestLoadBalancerPublicNoCertificateOpensOnly80(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		_, err = NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs})
		return err
	})
	in := r.of(tokIngress, "edge-sg")
	assert.ElementsMatch(t, []float64{80, 80}, ingressPorts(in))
	cidrs := []any{in[0].inputs["cidrIpv4"], in[0].inputs["cidrIpv6"], in[1].inputs["cidrIpv4"], in[1].inputs["cidrIpv6"]}
	assert.Contains(t, cidrs, "0.0.0.0/0")
	assert.Contains(t, cidrs, "::/0")
}

func TestLoadBalancerFrontedWithCertificateOpens443FromCloudFront(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		_, err = NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true, CertificateArn: pulumi.String("arn:cert")})
		return err
	})
	in := r.of(tokIngress, "edge-sg")
	require.Len(t, in, 1)
	assert.Equal(t, "pl-cloudfront", in[0].inputs["prefixListId"])
	assert.Equal(t, 443.0, in[0].inputs["fromPort"])
}

func TestInternalLoadBalancerHasNoCidrIngress(t *testing.T) {
	var lbOut *LoadBalancer
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		lbOut, err = NewLoadBalancer(ctx, "app", &LoadBalancerArgs{Network: f.net, Internal: true, LogBucket: f.logs,
			CertificateArn: pulumi.String("ignored for internal")})
		if err != nil {
			return err
		}
		web, err := f.net.NewSecurityGroup(ctx, "websg", "web", RoleInternal, nil)
		if err != nil {
			return err
		}
		return lbOut.AllowFrom("web", web)
	})
	assert.False(t, lbOut.Encrypted)
	alb := r.one(t, tokLB, "app")
	assert.Equal(t, true, alb.inputs["internal"])
	assert.Len(t, r.of(tokListener, "app"), 1)
	in := r.of(tokIngress, "app-sg")
	require.Len(t, in, 1, "only the peer AllowFrom named")
	assert.Equal(t, "websg-id", in[0].inputs["referencedSecurityGroupId"])
	assert.Equal(t, 80.0, in[0].inputs["fromPort"])
	for _, rule := range in {
		assert.Nil(t, rule.inputs["cidrIpv4"])
		assert.Nil(t, rule.inputs["cidrIpv6"])
		assert.Nil(t, rule.inputs["prefixListId"])
	}
	sg := r.one(t, tokSG, "app-sg")
	assert.Equal(t, string(RoleInternal), get(sg.inputs, "tags.role"))
}

func TestServerGroupFixedSize(t *testing.T) {
	const script = "#!/bin/bash\necho hello\n"
	var g *ServerGroup
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		edge, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs})
		if err != nil {
			return err
		}
		tg, err := edge.AddTarget("web", TargetArgs{})
		if err != nil {
			return err
		}
		g, err = NewServerGroup(ctx, "web", &ServerGroupArgs{
			Network: f.net, Tier: TierWeb, ImageID: pulumi.String("ami-123"), UserData: pulumi.String(script),
			TargetGroups: []*TargetGroup{tg}, AlarmTopicArn: pulumi.String("arn:topic"),
			Policies: []RoleStatement{{Sid: "ReadSecret", Actions: []string{"secretsmanager:GetSecretValue"}, Resources: pulumi.StringArray{pulumi.String("arn:secret")}}},
		})
		if err != nil {
			return err
		}
		return edge.ForwardTo(g.SecurityGroup, 8080)
	})
	require.NotNil(t, g.Role)

	for typ, n := range map[string]int{tokLT: 1, tokASG: 1, tokPolicy: 1, tokRole: 1, tokRolePol: 1, tokProfile: 1, tokLogGroup: 1, tokAlarm: 1, tokSG: 1} {
		assert.Len(t, r.of(typ, "web"), n, typ)
	}

	lt := r.one(t, tokLT, "web")
	assert.Equal(t, "required", get(lt.inputs, "metadataOptions.httpTokens"), "IMDSv2 only")
	assert.Equal(t, 1.0, get(lt.inputs, "metadataOptions.httpPutResponseHopLimit"))
	assert.Equal(t, "enabled", get(lt.inputs, "metadataOptions.httpEndpoint"))
	assert.Equal(t, "false", get(lt.inputs, "networkInterfaces.0.associatePublicIpAddress"), "no public IP")
	assert.Equal(t, []any{"web-sg-id"}, get(lt.inputs, "networkInterfaces.0.securityGroups"))
	assert.Nil(t, lt.inputs["vpcSecurityGroupIds"], "groups sit on the interface")
	assert.Equal(t, "true", get(lt.inputs, "blockDeviceMappings.0.ebs.encrypted"))
	assert.Equal(t, "gp3", get(lt.inputs, "blockDeviceMappings.0.ebs.volumeType"))
	assert.Equal(t, true, get(lt.inputs, "monitoring.enabled"))
	assert.Equal(t, true, lt.inputs["updateDefaultVersion"])
	assert.NotEmpty(t, get(lt.inputs, "iamInstanceProfile.arn"))
	assert.Len(t, lt.inputs["tagSpecifications"], 2)
	ud, err := base64.StdEncoding.DecodeString(lt.inputs["userData"].(string))
	require.NoError(t, err)
	assert.Equal(t, script, string(ud))

	asg := r.one(t, tokASG, "web")
	assert.Equal(t, "3", get(asg.inputs, "launchTemplate.version"), "pinned to latestVersion, never $Latest")
	assert.Equal(t, "web-id", get(asg.inputs, "launchTemplate.id"))
	assert.Equal(t, "ELB", asg.inputs["healthCheckType"])
	assert.Equal(t, 240.0, asg.inputs["healthCheckGracePeriod"], "the boot budget of docs/components.md")
	assert.Equal(t, []any{"arn:aws:mock:us-east-1:123456789012:edge-web"}, asg.inputs["targetGroupArns"])
	mn, mx, d := asg.inputs["minSize"].(float64), asg.inputs["maxSize"].(float64), asg.inputs["desiredCapacity"].(float64)
	assert.True(t, mn <= d && d <= mx, "min <= desired <= max")
	assert.Equal(t, []float64{2, 2, 2}, []float64{mn, d, mx}, "fixed size before users++++")
	assert.Len(t, asg.inputs["vpcZoneIdentifiers"], 2, "two AZs")
	for _, s := range asg.inputs["vpcZoneIdentifiers"].([]any) {
		assert.Contains(t, s, "net-web-", "the web tier's private subnets")
	}
	assert.Equal(t, "Rolling", get(asg.inputs, "instanceRefresh.strategy"))
	assert.Equal(t, 100.0, get(asg.inputs, "instanceRefresh.preferences.minHealthyPercentage"))
	assert.Equal(t, 150.0, get(asg.inputs, "instanceRefresh.preferences.maxHealthyPercentage"))
	assert.Equal(t, true, get(asg.inputs, "instanceRefresh.preferences.skipMatching"))
	assert.NotEmpty(t, asg.inputs["enabledMetrics"])
	assert.Empty(t, asg.ignoreChanges, "fixed size: desired capacity stays managed")

	pol := r.one(t, tokPolicy, "web-cpu")
	assert.Equal(t, "TargetTrackingScaling", pol.inputs["policyType"])
	assert.Equal(t, "ASGAverageCPUUtilization", get(pol.inputs, "targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"))
	assert.Equal(t, 60.0, get(pol.inputs, "targetTrackingConfiguration.targetValue"))

	role := r.one(t, tokRole, "web")
	var trust map[string]any
	require.NoError(t, json.Unmarshal([]byte(role.inputs["assumeRolePolicy"].(string)), &trust))
	assert.Equal(t, "ec2.amazonaws.com", get(trust, "Statement.0.Principal.Service"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.one(t, tokRolePol, "web").inputs["policy"].(string)), &doc))
	stmts := doc["Statement"].([]any)
	require.Len(t, stmts, 4)
	// The last lets the CloudWatch agent resolve ${aws:AutoScalingGroupName}.
	assert.Equal(t, "ReadOwnTags", get(stmts[3], "Sid"))
	assert.Equal(t, []any{"ec2:DescribeTags"}, get(stmts[3], "Action"))
	for _, s := range stmts {
		for _, a := range get(s, "Action").([]any) {
			assert.NotEqual(t, "*", a)
			assert.False(t, strings.HasSuffix(a.(string), ":*"), a)
		}
	}
	assert.Equal(t, "CWAgent", get(stmts[1], "Condition.StringEquals.cloudwatch:namespace"))

	eg := r.of(tokEgress, "web-sg")
	require.Len(t, eg, 1, "S3 only, no internet egress by default")
	assert.Equal(t, "pl-s3", eg[0].inputs["prefixListId"])
	assert.Equal(t, 443.0, eg[0].inputs["fromPort"])
	in := r.of(tokIngress, "web-sg")
	require.Len(t, in, 1)
	assert.Equal(t, "edge-sg-id", in[0].inputs["referencedSecurityGroupId"])
	assert.Equal(t, 8080.0, in[0].inputs["fromPort"])
	require.Len(t, r.of(tokEgress, "edge-sg"), 1, "the load balancer reaches only its targets")

	alarm := r.one(t, tokAlarm, "web-cpu-high")
	assert.Equal(t, []any{"arn:topic"}, alarm.inputs["alarmActions"])
}

func TestServerGroupAutoscalingIgnoresDesiredAndEgressOptIn(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		_, err = NewServerGroup(ctx, "app", &ServerGroupArgs{
			Network: f.net, Tier: TierApp, ImageID: pulumi.String("ami-1"),
			MinSize: 2, DesiredCapacity: 3, MaxSize: 6, EgressHTTPS: true,
		})
		return err
	})
	asg := r.one(t, tokASG, "app")
	assert.Equal(t, []string{"desiredCapacity"}, asg.ignoreChanges)
	assert.Equal(t, "EC2", asg.inputs["healthCheckType"], "no target groups: EC2 checks")
	assert.Len(t, r.of(tokAlarm, "app"), 0)
	var cidrs []any
	for _, e := range r.of(tokEgress, "app-sg") {
		cidrs = append(cidrs, e.inputs["cidrIpv4"])
	}
	assert.Contains(t, cidrs, "0.0.0.0/0")
}

func TestCDNWithLoadBalancerAndCustomDomain(t *testing.T) {
	var c *CDN
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		edge, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true, CertificateArn: pulumi.String("arn:cert")})
		if err != nil {
			return err
		}
		use1, err := aws.NewProvider(ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		c, err = NewCDN(ctx, "cdn", &CDNArgs{
			Bucket: f.assets, LoadBalancer: edge, LoadBalancerOriginDomain: "origin.example.com",
			Aliases: []string{"example.com"}, AcmCertificateArn: pulumi.String("arn:aws:acm:us-east-1:1:certificate/c"),
			LogBucket: f.logs, LogsProvider: use1,
		})
		if err != nil {
			return err
		}
		return f.assets.AttachPolicy(c.BucketReadStatement())
	})

	assert.Len(t, r.of(tokDist, "cdn"), 1)
	assert.Len(t, r.of(tokOAI, ""), 0, "never a legacy OAI")
	oacs := r.of(tokOAC, "cdn")
	require.Len(t, oacs, 1)
	assert.Equal(t, "always", oacs[0].inputs["signingBehavior"])
	assert.Equal(t, "sigv4", oacs[0].inputs["signingProtocol"])
	assert.Equal(t, "s3", oacs[0].inputs["originAccessControlOriginType"])

	d := r.one(t, tokDist, "cdn")
	behaviors := []any{d.inputs["defaultCacheBehavior"]}
	behaviors = append(behaviors, d.inputs["orderedCacheBehaviors"].([]any)...)
	require.Len(t, behaviors, 3)
	for _, b := range behaviors {
		assert.Equal(t, "redirect-to-https", get(b, "viewerProtocolPolicy"))
		assert.Equal(t, true, get(b, "compress"))
	}
	def := d.inputs["defaultCacheBehavior"]
	assert.Equal(t, "alb", get(def, "targetOriginId"))
	assert.Equal(t, CachePolicyCachingDisabled, get(def, "cachePolicyId"))
	assert.Equal(t, OriginRequestPolicyAllViewerExceptHostHeader, get(def, "originRequestPolicyId"))
	assert.Len(t, get(def, "allowedMethods"), 7)
	assert.Equal(t, "/static/*", get(d.inputs, "orderedCacheBehaviors.0.pathPattern"))
	assert.Equal(t, "s3", get(d.inputs, "orderedCacheBehaviors.0.targetOriginId"))

	assert.Equal(t, "cdn-id", get(d.inputs, "origins.0.originAccessControlId"), "S3 origin signs through the OAC")
	assert.Nil(t, get(d.inputs, "origins.0.s3OriginConfig"), "no OAI config")
	assert.Equal(t, "origin.example.com", get(d.inputs, "origins.1.domainName"))
	assert.Equal(t, "https-only", get(d.inputs, "origins.1.customOriginConfig.originProtocolPolicy"))
	assert.Equal(t, []any{"TLSv1.2"}, get(d.inputs, "origins.1.customOriginConfig.originSslProtocols"))

	assert.Equal(t, "TLSv1.2_2021", get(d.inputs, "viewerCertificate.minimumProtocolVersion"))
	assert.Equal(t, "sni-only", get(d.inputs, "viewerCertificate.sslSupportMethod"))
	assert.Equal(t, "PriceClass_100", d.inputs["priceClass"])
	assert.Equal(t, "http2and3", d.inputs["httpVersion"])
	assert.Equal(t, true, d.inputs["isIpv6Enabled"])

	for _, typ := range []string{tokLogSrc, tokLogDst, tokLogDeliv} {
		recs := r.of(typ, "cdn")
		require.Len(t, recs, 1, typ)
		assert.Contains(t, recs[0].provider, "us-east-1", "log delivery lives in us-east-1")
	}
	assert.Equal(t, "arn:aws:s3:::logs-bucket", get(r.one(t, tokLogDst, "cdn-logs").inputs, "deliveryDestinationConfiguration.destinationResourceArn"))

	var policy map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.one(t, tokBucketPol, "assets").inputs["policy"].(string)), &policy))
	var read map[string]any
	for _, s := range policy["Statement"].([]any) {
		if get(s, "Sid") == "AllowCloudFrontRead" {
			read = s.(map[string]any)
		}
	}
	require.NotNil(t, read, "the object store policy carries the CDN's read statement")
	assert.Equal(t, "cloudfront.amazonaws.com", get(read, "Principal.Service"))
	assert.Equal(t, []any{"s3:GetObject"}, read["Action"])
	assert.Equal(t, []any{"arn:aws:s3:::assets-bucket/static/*", "arn:aws:s3:::assets-bucket/media/*"}, read["Resource"],
		"the distribution reads only what it routes to the bucket")
	assert.Equal(t, "arn:aws:cloudfront::123456789012:distribution/cdn", get(read, "Condition.StringEquals.AWS:SourceArn"))
}

// TestRoutedPrefix: a path pattern with one trailing * routes its prefix; any other
// wildcard cannot be a key prefix, and the read statement then covers every object.
func TestRoutedPrefix(t *testing.T) {
	for pattern, want := range map[string]string{"/static/*": "static/", "/thumbs/*": "thumbs/", "/favicon.ico": "favicon.ico", "/*": ""} {
		got, ok := routedPrefix(pattern)
		assert.True(t, ok, pattern)
		assert.Equal(t, want, got, pattern)
	}
	for _, pattern := range []string{"/*.jpg", "/media/*/large", "/img?/*"} {
		_, ok := routedPrefix(pattern)
		assert.False(t, ok, pattern)
	}
}

func TestCDNBucketOnlyDefaultCertificate(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		_, err = NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LogBucket: f.logs})
		return err
	})
	d := r.one(t, tokDist, "cdn")
	assert.Equal(t, true, get(d.inputs, "viewerCertificate.cloudfrontDefaultCertificate"))
	assert.Equal(t, "s3", get(d.inputs, "defaultCacheBehavior.targetOriginId"))
	assert.Equal(t, "redirect-to-https", get(d.inputs, "defaultCacheBehavior.viewerProtocolPolicy"))
	assert.Len(t, d.inputs["origins"], 1)
}

func TestCDNPlainHTTPOriginWithoutCertificate(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		edge, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true})
		if err != nil {
			return err
		}
		_, err = NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LoadBalancer: edge, LogBucket: f.logs})
		return err
	})
	d := r.one(t, tokDist, "cdn")
	assert.Equal(t, "http-only", get(d.inputs, "origins.1.customOriginConfig.originProtocolPolicy"))
	assert.Equal(t, "edge.elb.example", get(d.inputs, "origins.1.domainName"))
}

// TestInvalidArgsRegisterNothing shows every validation failing before the component (or
// any child) is registered.
func TestInvalidArgsRegisterNothing(t *testing.T) {
	type build func(ctx *pulumi.Context, f *fixture) error
	lbArgs := func(f *fixture) *LoadBalancerArgs { return &LoadBalancerArgs{Network: f.net, LogBucket: f.logs} }
	sgArgs := func(f *fixture) *ServerGroupArgs {
		return &ServerGroupArgs{Network: f.net, Tier: TierWeb, ImageID: pulumi.String("ami-1")}
	}
	cases := map[string]struct {
		azs   int
		build build
		want  string
	}{
		"lb nil args": {2, func(ctx *pulumi.Context, f *fixture) error { _, err := NewLoadBalancer(ctx, "bad", nil); return err }, "args"},
		"lb no network": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := lbArgs(f)
			a.Network = nil
			_, err := NewLoadBalancer(ctx, "bad", a)
			return err
		}, "Network"},
		"lb no log bucket": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := lbArgs(f)
			a.LogBucket = nil
			_, err := NewLoadBalancer(ctx, "bad", a)
			return err
		}, "LogBucket"},
		"lb data log bucket": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := lbArgs(f)
			a.LogBucket = f.assets
			_, err := NewLoadBalancer(ctx, "bad", a)
			return err
		}, "DataLogs"},
		"lb one az": {1, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewLoadBalancer(ctx, "bad", lbArgs(f))
			return err
		}, "at least 2 AZs"},
		"lb internal public": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := lbArgs(f)
			a.Internal, a.Subnets = true, TierPublic
			_, err := NewLoadBalancer(ctx, "bad", a)
			return err
		}, "private tier"},
		"lb internal via cf": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := lbArgs(f)
			a.Internal, a.FromCloudFrontOnly = true, true
			_, err := NewLoadBalancer(ctx, "bad", a)
			return err
		}, "FromCloudFrontOnly"},
		"sg nil args": {2, func(ctx *pulumi.Context, f *fixture) error { _, err := NewServerGroup(ctx, "bad", nil); return err }, "args"},
		"sg no network": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Network = nil
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "Network"},
		"sg min > max": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.MinSize, a.MaxSize, a.DesiredCapacity = 3, 2, 2
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "MinSize"},
		"sg desired > max": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.MinSize, a.MaxSize, a.DesiredCapacity = 1, 2, 3
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "min <= desired <= max"},
		"sg desired < min": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.MinSize, a.MaxSize, a.DesiredCapacity = 2, 4, 1
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "min <= desired <= max"},
		"sg one az": {1, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewServerGroup(ctx, "bad", sgArgs(f))
			return err
		}, "at least 2 AZs"},
		"sg public tier": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Tier = TierPublic
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "private server tier"},
		"sg data tier": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Tier = TierData
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "private server tier"},
		"sg absent tier": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Tier = TierWorker
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "at least 2 AZs"},
		"sg no image": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.ImageID = nil
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "ImageID"},
		"sg wildcard action": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Policies = []RoleStatement{{Actions: []string{"s3:*"}, Resources: pulumi.StringArray{pulumi.String("arn")}}}
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "wildcard"},
		"sg star action": {2, func(ctx *pulumi.Context, f *fixture) error {
			a := sgArgs(f)
			a.Policies = []RoleStatement{{Actions: []string{"*"}, Resources: pulumi.StringArray{pulumi.String("arn")}}}
			_, err := NewServerGroup(ctx, "bad", a)
			return err
		}, "wildcard"},
		"cdn nil args": {2, func(ctx *pulumi.Context, f *fixture) error { _, err := NewCDN(ctx, "bad", nil); return err }, "args"},
		"cdn no bucket": {2, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewCDN(ctx, "bad", &CDNArgs{LogBucket: f.logs})
			return err
		}, "Bucket"},
		"cdn no log bucket": {2, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewCDN(ctx, "bad", &CDNArgs{Bucket: f.assets})
			return err
		}, "LogBucket"},
		"cdn alias, no cert": {2, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewCDN(ctx, "bad", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, Aliases: []string{"example.com"}})
			return err
		}, "AcmCertificateArn"},
		"cdn bad price class": {2, func(ctx *pulumi.Context, f *fixture) error {
			_, err := NewCDN(ctx, "bad", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, PriceClass: "cheap"})
			return err
		}, "PriceClass"},
		"cdn https origin without name": {2, func(ctx *pulumi.Context, f *fixture) error {
			l, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, CertificateArn: pulumi.String("arn:cert")})
			if err != nil {
				return err
			}
			_, err = NewCDN(ctx, "bad", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, LoadBalancer: l})
			return err
		}, "LoadBalancerOriginDomain"},
		"cdn internal lb": {2, func(ctx *pulumi.Context, f *fixture) error {
			l, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, Internal: true})
			if err != nil {
				return err
			}
			_, err = NewCDN(ctx, "bad", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, LoadBalancer: l})
			return err
		}, "internet-facing"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got error
			r := run(t, func(ctx *pulumi.Context) error {
				f, err := newFixture(ctx, tc.azs)
				if err != nil {
					return err
				}
				got = tc.build(ctx, f)
				return nil
			})
			require.Error(t, got)
			assert.Contains(t, got.Error(), tc.want)
			assert.Contains(t, got.Error(), `"bad"`, "the error names the component")
			assert.Zero(t, r.named("bad"), "nothing registered")
		})
	}
}

func TestAddTargetValidation(t *testing.T) {
	run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		l, err := NewLoadBalancer(ctx, "edge", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs})
		if err != nil {
			return err
		}
		_, err = l.AddTarget("read", TargetArgs{Methods: []string{"GET"}})
		assert.ErrorContains(t, err, "Priority")
		_, err = l.AddTarget("read", TargetArgs{Methods: []string{"GET"}, Priority: 50000})
		assert.ErrorContains(t, err, "Priority")
		_, err = l.AddTarget("read", TargetArgs{Methods: []string{"GET"}, Priority: 5})
		assert.NoError(t, err)
		_, err = l.AddTarget("write", TargetArgs{Methods: []string{"POST"}, Priority: 5})
		assert.ErrorContains(t, err, "already used")
		_, err = l.AddTarget("read", TargetArgs{})
		assert.ErrorContains(t, err, "unique")
		_, err = l.AddTarget("all", TargetArgs{Priority: 7})
		assert.ErrorContains(t, err, "catch-all")
		return nil
	})
}

// logsPolicyURN is the URN of the fixture's log bucket policy.
const logsPolicyURN = "urn:pulumi:test::scaling-aws::scaling-aws:storage:Bucket$aws:s3/bucketPolicy:BucketPolicy::logs"

// TestLogWritersDependOnTheLogBucketPolicy: load balancers and CloudFront's log delivery
// wait for the log bucket's policy itself (AWS checks it when logging is turned on), and a
// log bucket whose policy is not attached yet is refused with the fix.
func TestLogWritersDependOnTheLogBucketPolicy(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		l, err := NewLoadBalancer(ctx, "pub", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true})
		if err != nil {
			return err
		}
		_, err = NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, LoadBalancer: l})
		return err
	})
	assert.Contains(t, r.one(t, tokLB, "pub").deps, logsPolicyURN)
	assert.Contains(t, r.one(t, tokLogDst, "cdn-logs").deps, logsPolicyURN)
	assert.Contains(t, r.one(t, tokLogDeliv, "cdn-logs").deps, logsPolicyURN)

	for _, c := range []struct {
		what string
		make func(ctx *pulumi.Context, f *fixture, deferred *Bucket) error
	}{
		{"load balancer", func(ctx *pulumi.Context, f *fixture, deferred *Bucket) error {
			_, err := NewLoadBalancer(ctx, "pub", &LoadBalancerArgs{Network: f.net, LogBucket: deferred})
			return err
		}},
		{"cdn", func(ctx *pulumi.Context, f *fixture, deferred *Bucket) error {
			_, err := NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LogBucket: deferred})
			return err
		}},
	} {
		err := pulumi.RunErr(func(ctx *pulumi.Context) error {
			f, err := newFixture(ctx, 2)
			if err != nil {
				return err
			}
			deferred, err := NewBucket(ctx, "later", &BucketArgs{Class: DataLogs, DeferPolicy: true})
			if err != nil {
				return err
			}
			return c.make(ctx, f, deferred)
		}, pulumi.WithMocks("scaling-aws", "test", &recorder{}))
		require.Error(t, err, c.what)
		assert.Contains(t, err.Error(), "attach the log bucket's policy", c.what)
	}
}

// TestLogDeliveryNamesCarryTheStack: delivery source and destination names are unique per
// account and region, so they carry project and stack, within CloudWatch Logs' 60
// characters; a long name is cut and ends in a hash.
func TestLogDeliveryNamesCarryTheStack(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		_, err = NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LogBucket: f.logs})
		return err
	})
	assert.Equal(t, "scaling-aws-test-cdn-cloudfront", r.one(t, tokLogSrc, "cdn-logs").inputs["name"])
	assert.Equal(t, "scaling-aws-test-cdn-cloudfront-s3", r.one(t, tokLogDst, "cdn-logs").inputs["name"])

	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		long := AccountUniqueName(ctx, LogDeliveryNameMax, strings.Repeat("distribution", 6), "cloudfront")
		other := AccountUniqueName(ctx, LogDeliveryNameMax, strings.Repeat("distribution", 6), "cloudfront-s3")
		assert.Len(t, long, LogDeliveryNameMax)
		assert.NotEqual(t, long, other, "a cut name stays unique")
		assert.Regexp(t, `^scaling-aws-prod-x-y-distr.*-[0-9a-f]{8}$`, long)
		assert.Equal(t, "scaling-aws-prod-x-y-a-b", AccountUniqueName(ctx, 60, "a.b"), "unsafe characters become -")
		return nil
	}, pulumi.WithMocks("scaling-aws", "prod-x/y", &recorder{}))
	require.NoError(t, err)
}

// TestCDNWebACLAndOriginSecret: the distribution has a CLOUDFRONT web ACL (rate rule and
// the three AWS managed groups) logging to an aws-waf-logs- group with retention; CloudFront
// sends the origin secret header and the load balancer forwards only requests carrying it
// (its default answers 403).
func TestCDNWebACLAndOriginSecret(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		f, err := newFixture(ctx, 2)
		if err != nil {
			return err
		}
		l, err := NewLoadBalancer(ctx, "pub", &LoadBalancerArgs{Network: f.net, LogBucket: f.logs, FromCloudFrontOnly: true})
		if err != nil {
			return err
		}
		if _, err := l.AddTarget("web", TargetArgs{}); err != nil {
			return err
		}
		_, err = NewCDN(ctx, "cdn", &CDNArgs{Bucket: f.assets, LogBucket: f.logs, LoadBalancer: l})
		return err
	})
	acl := r.one(t, "aws:wafv2/webAcl:WebAcl", "cdn-waf")
	assert.Equal(t, "CLOUDFRONT", acl.inputs["scope"])
	var groups []any
	for _, rule := range acl.inputs["rules"].([]any) {
		if g := get(rule, "statement.managedRuleGroupStatement.name"); g != nil {
			groups = append(groups, g)
		}
	}
	assert.ElementsMatch(t, []any{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}, groups)
	assert.Equal(t, 2000.0, get(acl.inputs["rules"], "0.statement.rateBasedStatement.limit"))
	assert.Equal(t, "block", func() string {
		if get(acl.inputs["rules"], "0.action.block") != nil {
			return "block"
		}
		return ""
	}())
	lg := r.one(t, tokLogGroup, "cdn-waf")
	assert.True(t, strings.HasPrefix(lg.inputs["name"].(string), "aws-waf-logs-scaling-aws-test-"), lg.inputs["name"])
	assert.Equal(t, 30.0, lg.inputs["retentionInDays"])
	logCfg := r.one(t, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "cdn-waf")
	assert.Len(t, logCfg.inputs["logDestinationConfigs"], 1)
	assert.Equal(t, "DROP", get(logCfg.inputs, "loggingFilter.defaultBehavior"), "allowed requests are not logged")
	assert.Equal(t, "KEEP", get(logCfg.inputs, "loggingFilter.filters.0.behavior"))
	assert.Equal(t, "BLOCK", get(logCfg.inputs, "loggingFilter.filters.0.conditions.0.actionCondition.action"))
	assert.Equal(t, "COUNT", get(logCfg.inputs, "loggingFilter.filters.0.conditions.1.actionCondition.action"))
	dist := r.one(t, tokDist, "cdn")
	assert.NotEmpty(t, dist.inputs["webAclId"])

	header := get(dist.inputs["origins"], "1.customHeaders.0")
	require.NotNil(t, header, "the load balancer origin carries the secret header")
	assert.Equal(t, OriginHeader, get(header, "name"))
	secret := get(header, "value")
	require.NotEmpty(t, secret)
	rule := r.one(t, tokRule, "pub-web")
	var headerValues any
	for _, c := range rule.inputs["conditions"].([]any) {
		if hv := get(c, "httpHeader.values"); hv != nil {
			assert.Equal(t, OriginHeader, get(c, "httpHeader.httpHeaderName"))
			headerValues = hv
		}
	}
	assert.Equal(t, []any{secret}, headerValues, "the listener requires exactly the value CloudFront sends")
	assert.Equal(t, "403", get(r.one(t, tokListener, "pub-http").inputs["defaultActions"], "0.fixedResponse.statusCode"))
	assert.Equal(t, []string{"secretString"}, r.one(t, "aws:secretsmanager/secretVersion:SecretVersion", "pub-origin").ignoreChanges, "generated once and kept")
}
