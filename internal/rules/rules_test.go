package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scaling-aws/scaling-aws/internal/rules"
)

var prod5 = rules.Context{Environment: rules.Prod, Stage: rules.StageUsers5P}

// TestCompliantGraphPassesEveryRule: the hand-built full graph applies every rule, each
// examines at least one resource, and none fails.
//
// An SSH allow-list (NET-8) exists only up to users+++: from users++++ OPS-1 fails any
// port-22 ingress. So NET-8 is exercised on the full graph with an allow-list at users+++.
func TestCompliantGraphPassesEveryRule(t *testing.T) {
	rep := rules.Check(compliant().g, prod5)
	if !rep.OK() {
		t.Fatalf("compliant graph fails:\n%s", rep)
	}
	for _, res := range rep.Results {
		if res.Rule.ID == "NET-8" {
			continue
		}
		if !res.Applied || res.Examined == 0 {
			t.Errorf("%s: applied=%v examined=%d; the full graph must exercise every rule", res.Rule.ID, res.Applied, res.Examined)
		}
	}
	rep3 := rules.Check(sshAllowList().g, *ctxOf(rules.Prod, rules.StageUsers3P))
	for _, id := range []string{"NET-8", "OPS-1"} {
		res, _ := rep3.Result(id)
		if res.Failed() {
			t.Errorf("%s fails the users+++ graph with its SSH allow-list: %v", id, res.Violations)
		}
	}
	if res, _ := rep3.Result("NET-8"); !res.Applied || res.Examined == 0 {
		t.Errorf("NET-8 does not examine the SSH allow-list at users+++")
	}
	if res, _ := rep3.Result("OPS-1"); res.Applied {
		t.Errorf("OPS-1 applies before users++++")
	}
}

// mutation makes the compliant graph (or another base) fail one rule on one resource.
type mutation struct {
	rule   string
	name   string
	base   func() *fixture // default: compliant
	ctx    *rules.Context  // default: prod5
	mutate func(f *fixture)
	want   string // name of the resource the violation must name ("" for zero-match)
	msg    string // substring of the message
}

func set(name, key string, val any) func(f *fixture) {
	return func(f *fixture) { setIn(f.r(name).Inputs, key, val) }
}

// setIn sets a dotted path (creating maps; numeric parts index lists); nil deletes.
func setIn(in map[string]any, path string, val any) {
	parts := strings.Split(path, ".")
	var cur any = in
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if val == nil {
					delete(c, p)
				} else {
					c[p] = val
				}
				return
			}
			if _, ok := c[p]; !ok {
				c[p] = map[string]any{}
			}
			cur = c[p]
		case []any:
			n := 0
			for _, d := range p {
				n = n*10 + int(d-'0')
			}
			if last {
				c[n] = val
				return
			}
			cur = c[n]
		}
	}
}

func drop(name string) func(f *fixture) { return func(f *fixture) { f.drop(name) } }

func ctxOf(env string, stage int) *rules.Context {
	return &rules.Context{Environment: env, Stage: stage}
}

var mutations = []mutation{
	{rule: "OPS-1", name: "ssh allow-list at users+++++", base: sshAllowList, want: "web-sg-in-ssh", msg: "port 22"},
	{rule: "OPS-1", name: "port 22 from a security group", mutate: func(f *fixture) {
		sg := f.r("web-sg")
		f.add(tIngress, "web-sg-in-bastion", m{"securityGroupId": id(sg), "referencedSecurityGroupId": "sg-bastion", "ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0}, sg)
	}, want: "web-sg-in-bastion", msg: "Session Manager"},
	{rule: "OPS-1", name: "all ports inline", mutate: func(f *fixture) {
		set("web-sg", "ingress", l(m{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "securityGroups": l("sg-x")}))(f)
	}, want: "web-sg", msg: "all ports"},
	{rule: "OPS-2", name: "an unlisted AWS managed policy", mutate: set("web-ssm", "policyArn", "arn:aws:iam::aws:policy/AmazonS3FullAccess"), want: "web-ssm", msg: "not on the allow-list"},
	{rule: "OPS-2", name: "a customer-managed policy", mutate: set("web-ssm", "policyArn", "arn:aws:iam::123456789012:policy/wide"), want: "web-ssm", msg: "customer-managed"},
	{rule: "OPS-2", name: "a role's managedPolicyArns", mutate: func(f *fixture) {
		set("web-role", "managedPolicyArns", l("arn:aws:iam::aws:policy/PowerUserAccess"))(f)
	}, want: "web-role", msg: "PowerUserAccess"},
	// Network.
	{rule: "NET-1", name: "private subnet maps public IPs", mutate: set("app-a", "mapPublicIpOnLaunch", true), want: "app-a"},
	{rule: "NET-1", name: "private subnet leaves it unset", mutate: set("data-b", "mapPublicIpOnLaunch", nil), want: "data-b"},
	{rule: "NET-2", name: "data tier in one AZ", mutate: func(f *fixture) { f.drop("data-b"); f.drop("data-c") }, want: "data-a", msg: "1 AZ"},
	{rule: "NET-3", name: "AZ b routes through NAT a", mutate: func(f *fixture) {
		rt := f.r("private-b")
		set("private-b", "routes.0.natGatewayId", "id-nat-a")(f)
		rt.Dependencies = []string{f.r("vpc").URN, f.r("nat-a").URN}
	}, want: "private-b"},
	{rule: "NET-4", name: "no flow log", mutate: drop("flow-log"), want: "vpc"},
	{rule: "NET-5", name: "SSH from the internet", mutate: func(f *fixture) {
		sg := f.r("web-sg")
		f.add(tIngress, "web-sg-in-ssh", m{"securityGroupId": id(sg), "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0}, sg)
	}, want: "web-sg-in-ssh"},
	{rule: "NET-5", name: "MySQL from ::/0 inline", mutate: set("db-sg", "ingress", l(m{"ipv6CidrBlocks": l("::/0"), "protocol": "tcp", "fromPort": 3306.0, "toPort": 3306.0})), want: "db-sg"},
	{rule: "NET-5", name: "all ports from the internet on the LB group", mutate: func(f *fixture) {
		sg := f.r("lb-sg")
		f.add(tSGRule, "lb-all", m{"type": "ingress", "securityGroupId": id(sg), "cidrBlocks": l("0.0.0.0/0"), "protocol": "-1", "fromPort": 0.0, "toPort": 0.0}, sg)
	}, want: "lb-all", msg: "all ports"},
	{rule: "NET-5", name: "LB port 80 without a redirect", mutate: set("web-http", "defaultActions", l(m{"type": "forward", "targetGroupArn": "x"})), want: "lb-sg-in-http", msg: "redirect"},
	{rule: "NET-5", name: "single box open on 80 after BoxMaxStage", base: box, ctx: ctxOf(rules.Dev, rules.StageUsersPP), want: "box-in-80"},
	{rule: "NET-5", name: "single box SSH from the internet", base: box, ctx: ctxOf(rules.Dev, 0), mutate: set("box-in-ssh", "cidrIpv4", "0.0.0.0/0"), want: "box-in-ssh"},
	{rule: "NET-6", name: "data tier admits a CIDR", mutate: func(f *fixture) {
		sg := f.r("db-sg")
		f.add(tIngress, "db-sg-in-vpc", m{"securityGroupId": id(sg), "cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 3306.0, "toPort": 3306.0}, sg)
	}, want: "db-sg-in-vpc"},
	{rule: "NET-6", name: "data store without a tagged group", mutate: func(f *fixture) {
		delete(f.r("db-sg").Inputs["tags"].(map[string]any), "tier")
		delete(f.r("cache-sg").Inputs["tags"].(map[string]any), "tier")
		delete(f.r("lake-sg").Inputs["tags"].(map[string]any), "tier")
	}, want: "", msg: "matched no resources"},
	{rule: "NET-7", name: "all egress to the internet", mutate: set("web-sg-out-https", "ipProtocol", "-1"), want: "web-sg-out-https"},
	{rule: "NET-7", name: "data tier egress to a CIDR", mutate: set("db-sg", "egress", l(m{"cidrBlocks": l("10.0.0.0/8"), "protocol": "tcp", "fromPort": 443.0, "toPort": 443.0})), want: "db-sg"},

	{rule: "NET-8", name: "the whole internet in two /1s", base: sshAllowList, mutate: func(f *fixture) {
		set("web-sg-in-ssh", "cidrIpv4", "0.0.0.0/1")(f)
		set("web-sg-in-ssh-2", "cidrIpv4", "128.0.0.0/1")(f)
	}, want: "web-sg", msg: "4294967296 IPv4 addresses"},
	{rule: "NET-8", name: "a /21 split in two /22s", base: sshAllowList, mutate: func(f *fixture) {
		set("web-sg-in-ssh", "cidrIpv4", "203.0.104.0/22")(f)
		set("web-sg-in-ssh-2", "cidrIpv4", "203.0.108.0/22")(f)
	}, want: "web-sg", msg: "2048"},
	{rule: "NET-8", name: "SSH from an IPv6 /48", base: sshAllowList, mutate: func(f *fixture) {
		set("web-sg-in-ssh-2", "cidrIpv4", nil)(f)
		set("web-sg-in-ssh-2", "cidrIpv6", "2001:db8::/48")(f)
	}, want: "web-sg", msg: "IPv6"},
	{rule: "NET-8", name: "all ports from a /16 include 22", mutate: set("web-sg-in-ssh", "ipProtocol", "-1"), base: func() *fixture {
		f := sshAllowList()
		set("web-sg-in-ssh", "cidrIpv4", "10.1.0.0/16")(f)
		set("web-sg-in-ssh", "fromPort", 0.0)(f)
		set("web-sg-in-ssh", "toPort", 0.0)(f)
		return f
	}, want: "web-sg", msg: "65537"},

	// AWS API constraints.
	{rule: "AWS-1", name: "ceiling under 1.1x", mutate: set("db", "maxAllocatedStorage", 105.0), want: "db", msg: "1.1"},
	{rule: "AWS-1", name: "ceiling equal to the allocation", mutate: set("db", "maxAllocatedStorage", 100.0), want: "db"},
	{rule: "AWS-2", name: "a second record of the same name and type", mutate: func(f *fixture) {
		f.add(tRecord, "cdn-dns", m{"zoneId": "Z1", "name": "Example.com.", "type": "A", "records": l("192.0.2.1")})
	}, want: "cdn-dns", msg: "duplicates"},
	{rule: "AWS-3", name: "a fixed delivery source name", mutate: set("cdn-logs", "name", "cdn-cloudfront"), want: "cdn-logs", msg: "stack"},
	{rule: "AWS-4", name: "two subnets in one AZ", mutate: func(f *fixture) {
		ep := f.r("logs-ep")
		set("logs-ep", "subnetIds", l("id-app-a", "id-public-a"))(f)
		ep.Dependencies = []string{f.r("vpc").URN, f.r("app-a").URN, f.r("public-a").URN}
	}, want: "logs-ep", msg: "us-east-1a"},
	{rule: "AWS-5", name: "alarm topic on alias/aws/sns", mutate: set("alarms", "kmsMasterKeyId", "alias/aws/sns"), want: "alarms", msg: "cloudwatch"},
	{rule: "AWS-6", name: "target group name of 33 characters", mutate: set("web-tg", "name", strings.Repeat("t", 33)), want: "web-tg", msg: "32"},
	{rule: "AWS-6", name: "load balancer name prefix of 7", mutate: set("web-lb", "namePrefix", "webfron"), want: "web-lb", msg: "namePrefix"},
	{rule: "AWS-7", name: "61 inbound IPv4 rules", mutate: func(f *fixture) {
		var cidrs []any
		for i := 0; i < 60; i++ {
			cidrs = append(cidrs, fmt.Sprintf("198.51.100.%d/32", i))
		}
		set("lb-sg", "ingress", l(m{"cidrBlocks": cidrs, "protocol": "tcp", "fromPort": 443.0, "toPort": 443.0}))(f)
	}, want: "lb-sg", msg: "inbound IPv4"},

	{rule: "CF-5", name: "no web ACL", mutate: set("cdn", "webAclId", nil), want: "cdn", msg: "no WAF"},
	{rule: "CF-5", name: "no IP reputation group", mutate: set("cdn-waf", "rules.3", m{"name": "x", "statement": m{"byteMatchStatement": m{}}}), want: "cdn-waf", msg: "AmazonIpReputationList"},
	{rule: "CF-5", name: "logs to a group WAF refuses", mutate: set("cdn-waf-logs", "name", "waf-logs"), want: "cdn-waf", msg: "aws-waf-logs-"},
	{rule: "LB-7", name: "default forwards", mutate: set("web-https", "defaultActions", l(m{"type": "forward", "targetGroupArn": "x"})), want: "web-https", msg: "403"},
	{rule: "LB-7", name: "rule without the header", mutate: set("web-rule", "conditions", l(m{"pathPattern": m{"values": l("/*")}})), want: "web-rule", msg: "http-header"},

	// Compute.
	{rule: "CMP-1", name: "IMDSv1 allowed", mutate: set("web-lt", "metadataOptions.httpTokens", "optional"), want: "web-lt"},
	{rule: "CMP-1", name: "hop limit unset", mutate: set("admin", "metadataOptions.httpPutResponseHopLimit", nil), want: "admin"},
	{rule: "CMP-2", name: "volume unencrypted", mutate: set("admin-data", "encrypted", false), want: "admin-data"},
	{rule: "CMP-2", name: "launch template ebs not \"true\"", mutate: set("web-lt", "blockDeviceMappings.0.ebs.encrypted", "false"), want: "web-lt"},
	{rule: "CMP-2", name: "instance extra volume unencrypted", mutate: set("admin", "ebsBlockDevices.0.encrypted", false), want: "admin"},
	{rule: "CMP-3", name: "instance with a public IP", mutate: set("admin", "associatePublicIpAddress", true), want: "admin"},
	{rule: "CMP-3", name: "launch template with a public IP", mutate: set("web-lt", "networkInterfaces.0.associatePublicIpAddress", "true"), want: "web-lt"},
	{rule: "CMP-3", name: "box keeps a public IP past BoxMaxStage", base: box, ctx: ctxOf(rules.Dev, rules.StageUsersPP), want: "box"},
	{rule: "CMP-4", name: "launch template without a profile", mutate: set("web-lt", "iamInstanceProfile", nil), want: "web-lt"},
	{rule: "ASG-1", name: "one subnet", mutate: set("web-asg", "vpcZoneIdentifiers", l("id-app-a")), want: "web-asg"},
	{rule: "ASG-1", name: "public subnets", mutate: set("web-asg", "vpcZoneIdentifiers", l("id-public-a", "id-public-b")), want: "web-asg", msg: "public"},
	{rule: "ASG-1", name: "no launch template", mutate: set("web-asg", "launchTemplate", nil), want: "web-asg"},
	{rule: "ASG-2", name: "desired above max", mutate: set("web-asg", "desiredCapacity", 10.0), want: "web-asg"},
	{rule: "ASG-3", name: "EC2 health checks", mutate: set("web-asg", "healthCheckType", "EC2"), want: "web-asg"},
	{rule: "ASG-3", name: "no grace period", mutate: set("web-asg", "healthCheckGracePeriod", nil), want: "web-asg"},
	{rule: "ASG-4", name: "no scaling policy", mutate: drop("web-cpu"), want: "web-asg"},
	{rule: "ASG-5", name: "fixed size at users++++", mutate: set("web-asg", "maxSize", 2.0), want: "web-asg", msg: "exceed minSize"},
	{rule: "ASG-5", name: "only step scaling", mutate: set("web-cpu", "policyType", "StepScaling"), want: "web-asg", msg: "TargetTrackingScaling"},
	{rule: "ASG-6", name: "desired capacity managed while scaling", mutate: func(f *fixture) { f.r("web-asg").IgnoreChanges = []string{"minSize"} }, want: "web-asg", msg: "desiredCapacity"},
	{rule: "ASG-6", name: "scheduled minimum reset by a deploy", mutate: func(f *fixture) { f.r("web-asg").IgnoreChanges = []string{"desiredCapacity"} }, want: "web-asg", msg: "minSize"},
	{rule: "ASG-7", name: "refresh at half capacity", mutate: set("web-asg", "instanceRefresh.preferences.minHealthyPercentage", 50.0), want: "web-asg", msg: "90"},
	{rule: "ASG-7", name: "no instance refresh", mutate: set("web-asg", "instanceRefresh", nil), want: "web-asg", msg: "Rolling"},
	{rule: "ASG-8", name: "schedule in UTC", mutate: set("web-business-hours-start", "timeZone", nil), want: "web-business-hours-start", msg: "timeZone"},
	{rule: "ASG-8", name: "desired capacity left to the provider's 0", mutate: set("web-business-hours-start", "desiredCapacity", nil), want: "web-business-hours-start", msg: "desiredCapacity"},
	{rule: "ASG-8", name: "floor above the ceiling", mutate: set("web-business-hours-start", "minSize", 7.0), want: "web-business-hours-start", msg: "maxSize"},

	// Load balancer.
	{rule: "LB-1", name: "access logs off", mutate: set("web-lb", "accessLogs.enabled", false), want: "web-lb"},
	{rule: "LB-2", name: "no deletion protection in prod", mutate: set("web-lb", "enableDeletionProtection", nil), want: "web-lb"},
	{rule: "LB-3", name: "invalid headers kept", mutate: set("web-lb", "dropInvalidHeaderFields", false), want: "web-lb"},
	{rule: "LB-4", name: "HTTPS without a policy", mutate: set("web-https", "sslPolicy", nil), want: "web-https", msg: "sslPolicy"},
	{rule: "LB-4", name: "HTTPS with a 2016 policy", mutate: set("web-https", "sslPolicy", "ELBSecurityPolicy-2016-08"), want: "web-https"},
	{rule: "LB-4", name: "HTTP redirect with 302", mutate: set("web-http", "defaultActions.0.redirect.statusCode", "HTTP_302"), want: "web-http"},
	{rule: "LB-4", name: "load balancer without listeners", mutate: func(f *fixture) { f.drop("web-http"); f.drop("web-https") }, msg: "matched no resources"},
	{rule: "LB-5", name: "no HTTPS listener", mutate: drop("web-https"), want: "web-lb"},
	{rule: "LB-6", name: "timeout not below interval", mutate: set("web-tg", "healthCheck.timeout", 15.0), want: "web-tg"},
	{rule: "LB-6", name: "no matcher", mutate: set("web-tg", "healthCheck.matcher", nil), want: "web-tg"},

	// RDS.
	{rule: "RDS-1", name: "unencrypted", mutate: set("db", "storageEncrypted", nil), want: "db"},
	{rule: "RDS-2", name: "publicly accessible unset", mutate: set("db-replica-1", "publiclyAccessible", nil), want: "db-replica-1"},
	{rule: "RDS-2", name: "no subnet group", mutate: set("db", "dbSubnetGroupName", nil), want: "db"},
	{rule: "RDS-3", name: "single AZ at users++", mutate: set("db", "multiAz", false), want: "db"},
	{rule: "RDS-4", name: "one day of backups", mutate: set("db", "backupRetentionPeriod", 1.0), want: "db"},
	{rule: "RDS-4", name: "replica source without backups", mutate: set("db", "backupRetentionPeriod", 0.0), want: "db-replica-1"},
	{rule: "RDS-5", name: "skip final snapshot in prod", mutate: set("db", "skipFinalSnapshot", true), want: "db"},
	{rule: "RDS-5", name: "replica without deletion protection", mutate: set("db-replica-1", "deletionProtection", false), want: "db-replica-1"},
	{rule: "RDS-6", name: "plain password", mutate: func(f *fixture) {
		set("db", "manageMasterUserPassword", nil)(f)
		set("db", "password", "hunter22")(f)
	}, want: "db"},

	// ElastiCache.
	{rule: "EC-1", name: "no transit encryption", mutate: set("cache", "transitEncryptionEnabled", false), want: "cache"},
	{rule: "EC-2", name: "plain auth token", mutate: func(f *fixture) {
		c := f.r("cache")
		c.Inputs["authToken"], c.SecretInputs = "plain-token-123456", nil
	}, want: "cache"},
	{rule: "EC-2", name: "no auth at all", mutate: set("cache", "authToken", nil), want: "cache"},
	{rule: "EC-3", name: "one node", mutate: set("cache", "numCacheClusters", 1.0), want: "cache"},
	{rule: "EC-4", name: "no snapshots", mutate: set("cache", "snapshotRetentionLimit", 0.0), want: "cache"},
	{rule: "EC-5", name: "cache client without TLS", mutate: set("web-lt", "userData", b64("#!/bin/sh\nREDIS_ADDR=master.c.use1.cache.amazonaws.com:6379\nREDIS_AUTH_SECRET_ARN=arn:aws:secretsmanager:x:1:secret:c\n")), want: "web-lt", msg: "REDIS_TLS"},
	{rule: "EC-5", name: "cache client with TLS off", mutate: set("admin", "userData", "#!/bin/sh\nexport REDIS_ADDR='10.0.20.5:6379'\nREDIS_TLS=false\nREDIS_AUTH_SECRET_ARN=arn:aws:secretsmanager:x:1:secret:c\n"), want: "admin", msg: "REDIS_TLS=\"false\""},
	{rule: "EC-5", name: "cache token in user data", mutate: set("web-lt", "userData", b64("#!/bin/sh\nREDIS_ADDR=master.c.use1.cache.amazonaws.com:6379\nREDIS_TLS=true\nREDIS_PASSWORD=x\n")), want: "web-lt", msg: "REDIS_AUTH_SECRET_ARN"},

	// S3.
	{rule: "S3-1", name: "public policies allowed", mutate: set("data-pab", "blockPublicPolicy", false), want: "data-pab"},
	{rule: "S3-1", name: "no public access block", mutate: drop("logs-pab"), want: "logs"},
	{rule: "S3-2", name: "no encryption configuration", mutate: drop("data-sse"), want: "data"},
	{rule: "S3-3", name: "ACLs enabled", mutate: set("logs-own", "rule.objectOwnership", "ObjectWriter"), want: "logs-own"},
	{rule: "S3-4", name: "policy without TLS deny", mutate: set("data-policy", "policy", js(m{"Statement": l(m{"Effect": "Allow", "Principal": m{"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "*"})})), want: "data-policy"},
	{rule: "S3-5", name: "data bucket not versioned", mutate: set("data-ver", "versioningConfiguration.status", "Suspended"), want: "data-ver"},
	{rule: "S3-5", name: "data bucket not logged", mutate: drop("data-logging"), want: "data"},
	{rule: "S3-5", name: "data bucket logs to itself", mutate: set("data-logging", "targetBucket", "id-data"), want: "data-logging"},
	{rule: "S3-6", name: "bucket without a data class", mutate: set("logs", "tags.dataClass", nil), want: "logs"},
	{rule: "S3-6", name: "legacy bucket", mutate: func(f *fixture) {
		f.add("aws:s3/bucket:Bucket", "legacy", m{"tags": m{"dataClass": "logs"}})
	}, want: "legacy"},

	// CloudFront.
	{rule: "CF-1", name: "allow-all on an ordered behavior", mutate: set("cdn", "orderedCacheBehaviors.0.viewerProtocolPolicy", "allow-all"), want: "cdn"},
	{rule: "CF-2", name: "TLS 1 minimum with a custom certificate", mutate: set("cdn", "viewerCertificate.minimumProtocolVersion", "TLSv1"), want: "cdn"},
	{rule: "CF-3", name: "S3 origin through a legacy OAI", mutate: set("cdn", "origins.0", m{"originId": "s3", "domainName": "data.s3.amazonaws.com", "s3OriginConfig": m{"originAccessIdentity": "origin-access-identity/cloudfront/E1"}}), want: "cdn", msg: "legacy"},
	{rule: "CF-3", name: "S3 origin without OAC", mutate: set("cdn", "origins.0.originAccessControlId", nil), want: "cdn"},
	{rule: "CF-4", name: "no logging", mutate: set("cdn", "loggingConfig", nil), want: "cdn"},

	// SQS.
	{rule: "SQS-1", name: "unencrypted queue", mutate: func(f *fixture) {
		set("thumbs-dlq", "sqsManagedSseEnabled", false)(f)
		set("thumbs-dlq", "kmsMasterKeyId", nil)(f)
	}, want: "thumbs-dlq"},
	{rule: "SQS-2", name: "unbounded receives", mutate: set("thumbs", "redrivePolicy", js(m{"deadLetterTargetArn": "arn:aws:test:::opaque-thumbs-dlq", "maxReceiveCount": 1000})), want: "thumbs"},
	{rule: "SQS-2", name: "work queue without a DLQ", mutate: func(f *fixture) {
		f.add(tQueue, "resize", m{"sqsManagedSseEnabled": true})
	}, want: "resize"},
	{rule: "SQS-4", name: "no policy on the DLQ", mutate: drop("thumbs-dlq-policy"), want: "thumbs-dlq", msg: "TLS"},
	{rule: "SQS-4", name: "policy allows plain HTTP", mutate: set("thumbs-policy", "policy", js(m{"Statement": l(m{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
		"Condition": m{"Bool": m{"aws:SecureTransport": "true"}}})})), want: "thumbs"},
	{rule: "SQS-4", name: "TLS deny on sends only", mutate: set("thumbs-policy", "policy", js(m{"Statement": l(m{"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*",
		"Condition": m{"Bool": m{"aws:SecureTransport": "false"}}})})), want: "thumbs"},
	{rule: "SQS-5", name: "DLQ keeps less than its source", mutate: set("thumbs", "messageRetentionSeconds", 1209600.0), want: "thumbs", msg: "not longer"},
	{rule: "SQS-5", name: "DLQ on the default retention", mutate: set("thumbs-dlq", "messageRetentionSeconds", nil), want: "thumbs", msg: "thumbs-dlq"},
	{rule: "SQS-6", name: "DLQ accepts redrives from any queue", mutate: set("thumbs-dlq-allow", "redriveAllowPolicy", js(m{"redrivePermission": "allowAll"})), want: "thumbs-dlq"},
	{rule: "SQS-6", name: "DLQ without a redrive-allow policy", mutate: drop("thumbs-dlq-allow"), want: "thumbs-dlq"},
	{rule: "SQS-7", name: "prod queue on SSE-SQS", mutate: set("thumbs", "kmsMasterKeyId", nil), want: "thumbs", msg: "stack's key"},
	{rule: "SQS-7", name: "prod queue on alias/aws/sqs", mutate: func(f *fixture) {
		set("thumbs-dlq", "kmsMasterKeyId", "alias/aws/sqs")(f)
		r := f.r("thumbs-dlq")
		r.Dependencies = nil
	}, want: "thumbs-dlq"},
	{rule: "SQS-3", name: "anyone may send", mutate: set("thumbs-policy", "policy", js(m{"Statement": l(m{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"})})), want: "thumbs-policy"},

	// IAM.
	{rule: "IAM-1", name: "any AWS principal may assume", mutate: set("web-role", "assumeRolePolicy", js(m{"Statement": l(m{"Effect": "Allow", "Principal": m{"AWS": "*"}, "Action": "sts:AssumeRole"})})), want: "web-role"},
	{rule: "IAM-2", name: "Allow *", mutate: set("web-policy", "policy", js(m{"Statement": l(m{"Effect": "Allow", "Action": "*", "Resource": "*"})})), want: "web-policy"},
	{rule: "IAM-2", name: "scopable action on *", mutate: set("web-policy", "policy", js(m{"Statement": l(m{"Effect": "Allow", "Action": l("s3:GetObject"), "Resource": "*"})})), want: "web-policy", msg: "scope"},
	{rule: "IAM-2", name: "inline role policy with a service wildcard", mutate: set("web-role", "inlinePolicies", l(m{"name": "x", "policy": js(m{"Statement": m{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"}})})), want: "web-role"},
	{rule: "IAM-3", name: "AdministratorAccess attached", mutate: set("web-ssm", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"), want: "web-ssm"},
	{rule: "IAM-4", name: "an IAM user with a key", mutate: func(f *fixture) {
		u := f.add(tUser, "deployer", m{})
		f.add(tAccessKey, "deployer-key", m{"user": id(u)}, u)
	}, want: "deployer-key"},

	// Monitoring.
	{rule: "MON-1", name: "alarm without actions", mutate: set("lb-5xx", "alarmActions", l()), want: "lb-5xx"},
	{rule: "MON-2", name: "log group kept forever", mutate: set("flow-logs", "retentionInDays", nil), want: "flow-logs"},
	{rule: "MON-3", name: "replica without a lag alarm", mutate: drop("db-replica-1-ReplicaLag"), want: "db-replica-1", msg: "ReplicaLag"},
	{rule: "MON-3", name: "DLQ without a depth alarm", mutate: drop("thumbs-dlq-depth"), want: "thumbs-dlq"},
	{rule: "MON-3", name: "target group without an unhealthy-host alarm", mutate: drop("tg-unhealthy"), want: "web-tg"},
	{rule: "MON-3", name: "unhealthy-host alarm without the LoadBalancer dimension", mutate: set("tg-unhealthy", "dimensions", m{"TargetGroup": "targetgroup/web-tg/1"}), want: "web-tg", msg: "LoadBalancer dimension"},
	{rule: "MON-3", name: "external check without an alarm", mutate: drop("site-down"), want: "site", msg: "HealthCheckStatus"},
	{rule: "MON-1", name: "composite alarm without actions", mutate: set("page-now", "alarmActions", l()), want: "page-now"},
	{rule: "MON-5", name: "incident endpoint over http", mutate: set("alarms-incident", "protocol", "http"), want: "alarms-incident", msg: "plain text"},
	{rule: "MON-5", name: "incident endpoint in plain text", mutate: func(f *fixture) {
		s := f.r("alarms-incident")
		s.Inputs["endpoint"], s.SecretInputs = "https://events.pagerduty.com/integration/k/enqueue", nil
	}, want: "alarms-incident", msg: "secret"},

	// Cross-cutting.
	{rule: "SEC-1", name: "plain secret string", mutate: func(f *fixture) {
		f.add("aws:secretsmanager/secretVersion:SecretVersion", "db-secret", m{"secretId": "x", "secretString": `{"password":"p"}`})
	}, want: "db-secret"},
	{rule: "SEC-1", name: "plain nested password", mutate: set("warehouse", "logging", m{"bucketName": "x", "password": "nested"}), want: "warehouse"},
	{rule: "SEC-2", name: "access key in launch template user data", mutate: set("web-lt", "userData", b64("#!/bin/sh\nexport AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n")), want: "web-lt"},
	{rule: "SEC-2", name: "password in instance user data", mutate: set("admin", "userData", "#!/bin/sh\nmysql --password=hunter2\n"), want: "admin"},
	{rule: "SEC-2", name: "private key in user data", mutate: set("admin", "userData", "-----BEGIN RSA PRIVATE KEY-----\nMII\n"), want: "admin"},
	{rule: "SEC-3", name: "database certificate not verified", mutate: set("web-lt", "userData", b64("#!/bin/sh\nDB_HOST=db.abc.us-east-1.rds.amazonaws.com\nDB_TLS=skip-verify\n")), want: "web-lt", msg: "skip-verify"},
	{rule: "SEC-3", name: "database TLS unset", mutate: set("admin", "userData", "#!/bin/sh\nexport DB_HOST='10.0.40.12'\n"), want: "admin", msg: "DB_TLS=\"\""},
	{rule: "STATE-1", name: "database not protected in prod", mutate: func(f *fixture) { f.r("db").Protect = false }, want: "db"},
	{rule: "STATE-1", name: "data bucket not retained", mutate: func(f *fixture) { f.r("data").RetainOnDelete = false }, want: "data"},
	{rule: "STATE-1", name: "volume delete-before-replace", mutate: func(f *fixture) { f.r("admin-data").DeleteBeforeReplace = true }, want: "admin-data"},
	{rule: "DDB-1", name: "no point-in-time recovery", mutate: set("sessions", "pointInTimeRecovery.enabled", false), want: "sessions"},
	{rule: "DDB-1", name: "no deletion protection in prod", mutate: set("sessions", "deletionProtectionEnabled", false), want: "sessions", msg: "in prod"},
	{rule: "DDB-3", name: "provisioned without autoscaling", mutate: set("sessions", "billingMode", "PROVISIONED"), want: "sessions", msg: "no autoscaling target"},
	{rule: "DDB-3", name: "autoscaling target without a policy", mutate: func(f *fixture) {
		f.r("sessions").Inputs["billingMode"] = "PROVISIONED"
		for _, unit := range []string{"ReadCapacityUnits", "WriteCapacityUnits"} {
			f.add("aws:appautoscaling/target:Target", "sessions-"+unit, m{"serviceNamespace": "dynamodb",
				"resourceId": "table/" + f.r("sessions").Name, "scalableDimension": "dynamodb:table:" + unit}, f.r("sessions"))
		}
	}, want: "sessions", msg: "no target-tracking policy"},
	{rule: "DDB-2", name: "no DynamoDB gateway endpoint", mutate: func(f *fixture) { f.drop("vpc-dynamodb") }, want: "sessions", msg: "gateway endpoint"},
	{rule: "RS-1", name: "public warehouse", mutate: set("warehouse", "publiclyAccessible", true), want: "warehouse"},
	{rule: "RS-2", name: "public serverless workgroup", mutate: set("lake-wg", "publiclyAccessible", true), want: "lake-wg", msg: "publiclyAccessible"},
	{rule: "RS-2", name: "no enhanced VPC routing", mutate: set("lake-wg", "enhancedVpcRouting", false), want: "lake-wg", msg: "enhancedVpcRouting"},
	{rule: "RS-2", name: "TLS not required", mutate: set("lake-wg", "configParameters", l(m{"parameterKey": "require_ssl", "parameterValue": "false"})), want: "lake-wg", msg: "require_ssl"},
	{rule: "RS-2", name: "no user activity log", mutate: set("lake", "logExports", l("connectionlog", "userlog")), want: "lake", msg: "useractivitylog"},
	{rule: "RS-2", name: "plain admin password", mutate: set("lake", "adminUserPassword", "hunter2hunter2"), want: "lake", msg: "plain text"},
	{rule: "RS-2", name: "no key", mutate: set("lake", "kmsKeyId", nil), want: "lake", msg: "kmsKeyId"},
	{rule: "AWS-8", name: "workgroup in two AZs", mutate: func(f *fixture) { f.drop("data-c") }, want: "lake-wg", msg: "2 AZs"},
	{rule: "KMS-2", name: "table on the AWS-managed key in prod", mutate: set("sessions", "serverSideEncryption.kmsKeyArn", nil), want: "sessions", msg: "kmsKeyArn"},

	// Keys the stack owns.
	{rule: "KMS-1", name: "rotation off", mutate: set("key", "enableKeyRotation", false), want: "key", msg: "enableKeyRotation"},
	{rule: "KMS-1", name: "lockout check bypassed", mutate: set("key", "bypassPolicyLockoutSafetyCheck", true), want: "key", msg: "bypass"},
	{rule: "KMS-1", name: "no policy", mutate: set("key", "policy", nil), want: "key", msg: "explicit key policy"},
	{rule: "KMS-1", name: "policy without the account root", mutate: set("key", "policy", js(m{"Statement": l(
		m{"Effect": "Allow", "Principal": m{"Service": "cloudwatch.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"},
	)})), want: "key", msg: "account root"},
	{rule: "KMS-1", name: "any principal without a condition", mutate: set("key", "policy", js(m{"Statement": l(
		m{"Effect": "Allow", "Principal": m{"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
		m{"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
	)})), want: "key", msg: "every principal"},
	{rule: "KMS-2", name: "prod database on the AWS-managed key", mutate: set("db", "kmsKeyId", nil), want: "db"},
	{rule: "KMS-2", name: "prod volume on alias/aws/ebs", mutate: set("admin-data", "kmsKeyId", "alias/aws/ebs"), want: "admin-data"},
	{rule: "KMS-2", name: "prod cache on the AWS-managed key", mutate: set("cache", "kmsKeyId", nil), want: "cache"},
	{rule: "KMS-2", name: "prod log group without a key", mutate: set("flow-logs", "kmsKeyId", nil), want: "flow-logs"},
	{rule: "KMS-2", name: "prod data bucket on SSE-S3", mutate: set("data-sse", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"), want: "data-sse"},
	{rule: "KMS-2", name: "prod launch template volume on the default key", mutate: set("web-lt", "blockDeviceMappings.0.ebs.kmsKeyId", nil), want: "web-lt"},
	{rule: "KMS-2", name: "prod secret on the AWS-managed key", mutate: func(f *fixture) {
		f.add("aws:secretsmanager/secret:Secret", "db-master", m{"description": "x"})
	}, want: "db-master"},
	{rule: "MON-4", name: "alarm topic under alias/aws/sns", mutate: set("alarms", "kmsMasterKeyId", "alias/aws/sns"), want: "alarms", msg: "alias/aws/sns"},
	{rule: "MON-4", name: "alarm topic unencrypted", mutate: set("alarms", "kmsMasterKeyId", nil), want: "alarms", msg: "stack's key"},

	// Backups.
	{rule: "BAK-1", name: "volume without a snapshot policy", mutate: drop("admin-snapshots"), want: "admin-data", msg: "no backup"},
	{rule: "BAK-1", name: "policy targets another tag", mutate: set("admin-snapshots", "policyDetails.targetTags", m{"snapshots": "other-stack-data"}), want: "admin-data"},
	{rule: "BAK-1", name: "policy disabled", mutate: set("admin-snapshots", "state", "DISABLED"), want: "admin-data"},
	{rule: "BAK-1", name: "policy keeps nothing", mutate: set("admin-snapshots", "policyDetails.schedules.0.retainRule", m{}), want: "admin-data"},
	{rule: "RDS-7", name: "prod database without enhanced monitoring", mutate: set("db", "monitoringInterval", 0.0), want: "db", msg: "enhanced monitoring"},
	{rule: "RDS-7", name: "prod replica without Performance Insights", mutate: set("db-replica-1", "performanceInsightsEnabled", false), want: "db-replica-1", msg: "performanceInsightsEnabled"},
}

// TestStackKeyOnlyRequiredInProd: KMS-2 and RDS-7 hold prod to the stack key, enhanced
// monitoring and Performance Insights; dev may keep the AWS-managed keys (docs/security.md),
// and a class without Performance Insights passes without it.
func TestStackKeyOnlyRequiredInProd(t *testing.T) {
	f := compliant()
	set("db", "kmsKeyId", nil)(f)
	set("db", "monitoringInterval", 0.0)(f)
	rep := rules.Check(f.g, rules.Context{Environment: rules.Dev, Stage: rules.StageUsers5P})
	for _, id := range []string{"KMS-2", "RDS-7"} {
		res, _ := rep.Result(id)
		if res.Applied {
			t.Errorf("%s applies in dev", id)
		}
	}
	f = compliant()
	set("db", "instanceClass", "db.t4g.micro")(f)
	set("db", "performanceInsightsEnabled", false)(f)
	if res, _ := rules.Check(f.g, prod5).Result("RDS-7"); res.Failed() {
		t.Fatalf("db.t4g.micro offers no Performance Insights, yet RDS-7 fails: %v", res.Violations)
	}
}

// TestBackupBySelection: an AWS Backup selection naming the volume counts as its backup.
func TestBackupBySelection(t *testing.T) {
	f := compliant()
	f.drop("admin-snapshots")
	f.add("aws:backup/selection:Selection", "admin-backup", m{"planId": "plan-1", "resources": l(arn(f.r("admin-data")))}, f.r("admin-data"))
	if res, _ := rules.Check(f.g, prod5).Result("BAK-1"); res.Failed() {
		t.Fatalf("a Backup selection naming the volume fails BAK-1: %v", res.Violations)
	}
}

// TestEachRuleFailsOnNonCompliantInput: every mutation fails its rule with a violation
// naming the mutated resource.
func TestEachRuleFailsOnNonCompliantInput(t *testing.T) {
	for _, mu := range mutations {
		t.Run(mu.rule+"/"+mu.name, func(t *testing.T) {
			base := compliant
			if mu.base != nil {
				base = mu.base
			}
			f := base()
			if mu.mutate != nil {
				mu.mutate(f)
			}
			ctx := prod5
			if mu.ctx != nil {
				ctx = *mu.ctx
			}
			rep := rules.Check(f.g, ctx)
			res, ok := rep.Result(mu.rule)
			if !ok {
				t.Fatalf("no rule %s", mu.rule)
			}
			if !res.Failed() {
				t.Fatalf("%s did not fail:\n%s", mu.rule, rep)
			}
			wantURN := ""
			if mu.want != "" {
				wantURN = f.r(mu.want).URN
			}
			for _, v := range res.Violations {
				if v.URN == wantURN && strings.Contains(v.Message, mu.msg) {
					return
				}
			}
			t.Fatalf("%s: no violation on %q containing %q; got %v", mu.rule, wantURN, mu.msg, res.Violations)
		})
	}
}

// TestEveryRuleHasAFailingCase: no rule is "proven" without a non-compliant input.
func TestEveryRuleHasAFailingCase(t *testing.T) {
	have := map[string]bool{}
	for _, mu := range mutations {
		have[mu.rule] = true
	}
	for _, r := range rules.All() {
		if !have[r.ID] {
			t.Errorf("rule %s has no failing case in mutations", r.ID)
		}
		if r.Title == "" || r.Applies == "" || len(r.Refs) == 0 || r.Select == nil || r.Check == nil || r.AppliesTo == nil {
			t.Errorf("rule %s is incomplete (title, applies, refs, select, check, appliesTo)", r.ID)
		}
	}
}

func b64(s string) string {
	return base64Encode(s)
}

// withLogsV2 replaces the distribution's legacy logging by standard logging v2.
func withLogsV2(logType string) func(f *fixture) {
	return func(f *fixture) {
		cdn := f.r("cdn")
		delete(cdn.Inputs, "loggingConfig")
		src := f.add("aws:cloudwatch/logDeliverySource:LogDeliverySource", "cdn-logs-src", m{"name": "cdn-cloudfront", "logType": logType, "resourceArn": arn(cdn)}, cdn)
		f.add("aws:cloudwatch/logDelivery:LogDelivery", "cdn-logs", m{"deliverySourceName": "cdn-cloudfront", "deliveryDestinationArn": "arn:aws:logs:us-east-1:1:delivery-destination:x"}, src)
	}
}

// TestCloudFrontLoggingV2 accepts standard logging v2 in place of loggingConfig, and only
// for access logs of that distribution.
func TestCloudFrontLoggingV2(t *testing.T) {
	for _, tc := range []struct {
		logType string
		pass    bool
	}{{"ACCESS_LOGS", true}, {"CONNECTION_LOGS", false}} {
		f := compliant()
		withLogsV2(tc.logType)(f)
		res, _ := rules.Check(f.g, prod5).Result("CF-4")
		if res.Failed() == tc.pass {
			t.Fatalf("CF-4 with v2 %s: failed=%v, want pass=%v: %v", tc.logType, res.Failed(), tc.pass, res.Violations)
		}
	}
}

// TestInternalLoadBalancerMayServeHTTP: LB-4 holds internet-facing listeners to HTTPS, and
// leaves an internal load balancer's HTTP listener alone (exception INTERNAL-HTTP); the same
// listener on an internet-facing load balancer fails.
func TestInternalLoadBalancerMayServeHTTP(t *testing.T) {
	build := func(internal bool) *fixture {
		f := compliant()
		lb := f.add("aws:lb/loadBalancer:LoadBalancer", "app-lb", m{"internal": internal, "dropInvalidHeaderFields": true, "enableDeletionProtection": true,
			"accessLogs": m{"enabled": true, "bucket": "id-logs"}})
		f.add(tListener, "app-lb-http", m{"loadBalancerArn": arn(lb), "port": 80.0, "protocol": "HTTP", "defaultActions": []any{m{"type": "forward"}}}, lb)
		return f
	}
	res, _ := rules.Check(build(true).g, prod5).Result("LB-4")
	if res.Failed() {
		t.Fatalf("internal HTTP listener failed LB-4: %v", res.Violations)
	}
	res, _ = rules.Check(build(false).g, prod5).Result("LB-4")
	if !res.Failed() {
		t.Fatal("an internet-facing plain HTTP listener passed LB-4")
	}
}
