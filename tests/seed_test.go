package tests

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/stages"
)

// rulesOf returns the ingress or egress rules (typ) of the security group named sg, as
// "port source" strings, sorted: source is a CIDR, a prefix list id, or "sg" for a peer
// group. A group's rules are its children named <sg>-from-|in- (ingress) or <sg>-to-|out-
// (egress), as components.SecurityGroup names them.
func rulesOf(g *graph.Graph, typ, sg string) []string {
	prefixes := []string{sg + "-from-", sg + "-in-"}
	if typ == tEgress {
		prefixes = []string{sg + "-to-", sg + "-out-"}
	}
	var out []string
	for _, r := range g.ByType(typ) {
		if !strings.HasPrefix(r.Name, prefixes[0]) && !strings.HasPrefix(r.Name, prefixes[1]) {
			continue
		}
		src := r.String("cidrIpv4") + r.String("cidrIpv6") + r.String("prefixListId")
		if r.String("referencedSecurityGroupId") != "" {
			src = "sg"
		}
		port, _ := r.Number("fromPort")
		out = append(out, fmt.Sprintf("%g %s", port, src))
	}
	sort.Strings(out)
	return out
}

const (
	tIngress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress  = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
)

// TestSingleBoxAsTheSeedSaysIt: one box, web open on 80/443, SSH closed unless allow-listed,
// no egress but S3 and the CloudWatch endpoints, an Elastic IP, DNS only with a domain,
// MySQL on an encrypted volume of its own, basic monitoring with auto-recovery.
func TestSingleBoxAsTheSeedSaysIt(t *testing.T) {
	s := evaluate(t, "dev", config.SingleBox, nil)
	assert.Equal(t, 1, s.count("aws:ec2/instance:Instance"))
	assert.Zero(t, s.count("aws:rds/instance:Instance"), "MySQL runs on the box")
	assert.Zero(t, s.count("aws:ec2/natGateway:NatGateway"))
	assert.Zero(t, s.count("aws:route53/record:Record"), "no domain, no record")

	assert.Equal(t, []string{"443 0.0.0.0/0", "443 ::/0", "80 0.0.0.0/0", "80 ::/0"}, rulesOf(s.g, tIngress, "box"), "SSH closed by default")
	egress := rulesOf(s.g, tEgress, "box")
	require.Len(t, egress, 2, "egress: S3 prefix list and the endpoints only")
	assert.Regexp(t, `^443 pl-`, egress[0])
	assert.Equal(t, "443 sg", egress[1])

	box := s.one(t, "aws:ec2/instance:Instance")
	assert.Equal(t, "required", box.String("metadataOptions.httpTokens"))
	assert.True(t, box.Bool("rootBlockDevice.encrypted"))
	assert.False(t, box.Bool("associatePublicIpAddress"), "the Elastic IP is its address")
	assert.Contains(t, box.IgnoreChanges, "ami", "a new AMI never replaces the box unasked")
	assert.True(t, box.DeleteBeforeReplace)
	assert.Contains(t, box.String("userData"), "mariadb105-server")
	vol := s.one(t, "aws:ebs/volume:Volume")
	assert.True(t, vol.Bool("encrypted"))
	assert.True(t, vol.RetainOnDelete)
	assert.Equal(t, 1, s.count("aws:ec2/eip:Eip"))

	var metrics []string
	for _, a := range s.g.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		metrics = append(metrics, a.String("metricName"))
		assert.NotEmpty(t, a.Inputs["alarmActions"], "%s notifies", a.Name)
	}
	assert.ElementsMatch(t, []string{"CPUUtilization", "StatusCheckFailed_System", "StatusCheckFailed_Instance", "mem_used_percent", "disk_used_percent", "SnapshotsCreateFailed"}, metrics)
	assert.True(t, box.Bool("monitoring"), "detailed monitoring")

	// The data volume (MySQL's data) is snapshotted daily, a week kept in dev, tags copied.
	policy := s.one(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy")
	assert.Equal(t, "ENABLED", policy.String("state"))
	for k, v := range policy.Inputs["policyDetails"].(map[string]any)["targetTags"].(map[string]any) {
		assert.Equal(t, v, vol.Inputs["tags"].(map[string]any)[k], "the policy targets the data volume by tag %s", k)
	}
	assert.Equal(t, 7.0, policy.Inputs["policyDetails"].(map[string]any)["schedules"].([]any)[0].(map[string]any)["retainRule"].(map[string]any)["count"])
	assert.Equal(t, true, policy.Inputs["policyDetails"].(map[string]any)["schedules"].([]any)[0].(map[string]any)["copyTags"])
	topic := s.one(t, "aws:sns/topic:Topic")
	assert.NotEqual(t, "alias/aws/sns", topic.String("kmsMasterKeyId"), "CloudWatch cannot publish under the AWS-managed SNS key")
	assert.Regexp(t, `^arn:aws:kms:`, topic.String("kmsMasterKeyId"))
	recovery := s.g.ByName("aws:cloudwatch/metricAlarm:MetricAlarm", "box-system-check")
	require.NotNil(t, recovery)
	assert.Contains(t, fmt.Sprint(recovery.Inputs["alarmActions"]), "arn:aws:automate:us-east-1:ec2:recover")

	// With allow-listed admins and a domain: SSH from exactly those CIDRs, and an A record.
	s = evaluate(t, "dev", config.SingleBox, map[string]string{
		"scaling-aws:adminCidrs": `["203.0.113.7/32","198.51.100.0/24"]`,
		"scaling-aws:domain":     "example.com", "scaling-aws:hostedZoneId": "Z0123456789EXAMPLE",
	})
	assert.Subset(t, rulesOf(s.g, tIngress, "box"), []string{"22 203.0.113.7/32", "22 198.51.100.0/24"})
	assert.Len(t, rulesOf(s.g, tIngress, "box"), 6)
	rec := s.one(t, "aws:route53/record:Record")
	assert.Equal(t, "example.com", rec.String("name"))
	assert.Equal(t, "http://example.com", s.g.Outputs["url"])
}

// TestUsersPlusAsTheSeedSaysIt: MySQL on its own managed, encrypted, private box reachable
// only from the web server; user content in an encrypted object store; the web server in a
// public subnet, the database in isolated private subnets.
func TestUsersPlusAsTheSeedSaysIt(t *testing.T) {
	s := evaluate(t, "dev", config.UsersPlus, nil)
	db := s.one(t, "aws:rds/instance:Instance")
	assert.True(t, db.Bool("storageEncrypted"))
	assert.False(t, db.Bool("publiclyAccessible"))
	assert.False(t, db.Bool("multiAz"), "Multi-AZ arrives with users++")
	assert.Equal(t, []string{"3306 sg"}, rulesOf(s.g, tIngress, "db-sg"), "reachable only from a peer group")
	assert.Contains(t, rulesOf(s.g, tEgress, "box"), "3306 sg")
	params := s.one(t, "aws:rds/parameterGroup:ParameterGroup")
	assert.Contains(t, fmt.Sprint(params.Inputs["parameters"]), "require_secure_transport", "TLS in transit")

	// Data subnets route nowhere: their route tables have no routes.
	for _, rt := range s.g.ByType("aws:ec2/routeTable:RouteTable") {
		if rt.Name == "network-isolated-us-east-1a" || rt.Name == "network-isolated-us-east-1b" {
			assert.Empty(t, rt.Inputs["routes"], rt.Name)
		}
	}
	assert.Equal(t, 2, len(s.g.ByType("aws:ec2/subnet:Subnet"))-2, "public and data subnets in two AZs")
	var static []string
	for _, o := range s.g.ByType("aws:s3/bucketObjectv2:BucketObjectv2") {
		if strings.HasPrefix(o.String("key"), "static/") {
			static = append(static, o.String("key"))
		}
	}
	assert.Contains(t, static, "static/app.js", "static content moves to the object store")
	grant := s.g.ByName("aws:iam/rolePolicy:RolePolicy", "store-box")
	require.NotNil(t, grant)
	for _, p := range []string{"/static/*", "/originals/*", "/thumbs/*"} {
		assert.Contains(t, grant.String("policy"), p, "the box may use the app's prefixes")
	}
	box := s.one(t, "aws:ec2/instance:Instance")
	assert.Contains(t, box.String("userData"), "DB_PASSWORD_SECRET_ARN=", "the app reads its password from Secrets Manager")
	assert.Contains(t, box.String("userData"), "/data/migrated-to-rds", "the box's MySQL moves to RDS once")
	assert.NotContains(t, box.String("userData"), "systemctl enable --now mariadb", "no local database server at this stage but for the move")
}

// TestUsersPlus2AsTheSeedSaysIt: a load balancer over AZs with TLS, web servers apart from
// read and write API servers (GET and HEAD to the read API), Multi-AZ MySQL, CloudFront in
// front, and the tiers chained by security group from the CDN to the database.
func TestUsersPlus2AsTheSeedSaysIt(t *testing.T) {
	s := evaluate(t, "prod", config.UsersPlus2, nil)
	assert.Zero(t, s.count("aws:ec2/instance:Instance"), "no single box any more")
	assert.Equal(t, 3, s.count("aws:autoscaling/group:Group"), "web, read API, write API")
	assert.Equal(t, 3, s.count("aws:ec2/natGateway:NatGateway"), "prod: one NAT gateway per AZ")
	assert.True(t, s.one(t, "aws:rds/instance:Instance").Bool("multiAz"))

	https := s.g.ByName("aws:lb/listener:Listener", "public-lb-https")
	require.NotNil(t, https, "prod has a domain, so TLS terminates at the load balancer")
	assert.Equal(t, "ELBSecurityPolicy-TLS13-1-2-2021-06", https.String("sslPolicy"))
	http := s.g.ByName("aws:lb/listener:Listener", "public-lb-http")
	require.NotNil(t, http)
	assert.Equal(t, "redirect", http.String("defaultActions.0.type"))

	read := s.g.ByName("aws:lb/listenerRule:ListenerRule", "app-lb-read")
	require.NotNil(t, read)
	assert.Contains(t, fmt.Sprint(read.Inputs["conditions"]), "GET")
	assert.Contains(t, fmt.Sprint(read.Inputs["conditions"]), "HEAD")

	for _, g := range s.g.ByType("aws:autoscaling/group:Group") {
		assert.Len(t, g.Inputs["vpcZoneIdentifiers"], 3, "%s spread over the AZs", g.Name)
		min, _ := g.Number("minSize")
		max, _ := g.Number("maxSize")
		assert.Equal(t, min, max, "%s has a fixed size until users++++", g.Name)
	}
	// The chain, by group reference only: CloudFront -> public LB -> web -> app LB -> APIs -> MySQL.
	assert.Len(t, rulesOf(s.g, tIngress, "public-lb-sg"), 1)
	assert.Regexp(t, `^443 pl-`, rulesOf(s.g, tIngress, "public-lb-sg")[0], "only CloudFront reaches the load balancer")
	assert.Equal(t, []string{"8080 sg"}, rulesOf(s.g, tIngress, "web-sg"))
	assert.Equal(t, []string{"80 sg"}, rulesOf(s.g, tIngress, "app-lb-sg"))
	assert.Equal(t, []string{"8080 sg"}, rulesOf(s.g, tIngress, "read-api-sg"))
	assert.Equal(t, []string{"3306 sg", "3306 sg"}, rulesOf(s.g, tIngress, "db-sg"))
	dist := s.one(t, "aws:cloudfront/distribution:Distribution")
	var patterns []string
	for _, b := range dist.Inputs["orderedCacheBehaviors"].([]any) {
		patterns = append(patterns, b.(map[string]any)["pathPattern"].(string))
	}
	assert.ElementsMatch(t, []string{"/static/*", "/originals/*", "/thumbs/*"}, patterns, "the app's object keys are served from S3 as URL paths")
	assert.Equal(t, []any{"example.com"}, dist.Inputs["aliases"])
	assert.Equal(t, "https://example.com", s.g.Outputs["url"])
}

// TestBadConfigRegistersNothing: a config error stops the program before the first
// resource, with the key in the message.
func TestBadConfigRegistersNothing(t *testing.T) {
	for key, bad := range map[string]string{
		"scaling-aws:stage":      "users++++++",
		"scaling-aws:azCount":    "9",
		"scaling-aws:adminCidrs": `["0.0.0.0/0"]`,
		"scaling-aws:web":        `{"min":3,"max":1}`,
	} {
		kv, secrets := stackConfig(t, "dev", config.SingleBox, map[string]string{key: bad})
		registered := 0
		_, err := offline.Run(offline.RunOptions{Stack: "dev", Config: kv, SecretKeys: secrets, Root: root,
			Program: func(o stages.Options) pulumi.RunFunc {
				return func(ctx *pulumi.Context) error {
					if err := ctx.RegisterStackTransformation(func(*pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
						registered++
						return nil
					}); err != nil {
						return err
					}
					return stages.Program(o)(ctx)
				}
			}})
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), key[len("scaling-aws:"):], key)
		assert.Zero(t, registered, "%s: resources registered before the config error", key)
	}
}
