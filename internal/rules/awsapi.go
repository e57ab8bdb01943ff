package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// The AWS-* rules check what the provider or the AWS API refuses, which the mock engine
// accepts: a graph that fails one previews cleanly offline and stops at `pulumi up`. Each
// rule's Refs give the AWS documentation of the constraint.

// Type tokens only the AWS-* rules examine.
const (
	tRecord      = "aws:route53/record:Record"
	tVpcEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tLogDest     = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
	tWebACL      = "aws:wafv2/webAcl:WebAcl"
)

// Limits of the AWS APIs the rules hold graphs to.
const (
	// RDSMaxStorageTenths: RDS storage autoscaling refuses a maximum storage threshold under
	// 10 % above the allocated storage ("Invalid max storage size"): at least 11 tenths.
	RDSMaxStorageTenths = 11
	// ELBNameMax is the longest load balancer or target group name (32 characters), and
	// ELBNamePrefixMax the longest namePrefix the provider takes (6).
	ELBNameMax       = 32
	ELBNamePrefixMax = 6
	// SGRulesPerDirection is the default quota of inbound (and, separately, outbound) rules
	// per security group, counted per IP family; each CIDR, prefix list or referenced group
	// of a permission is one rule.
	SGRulesPerDirection = 60
)

// accountUniqueNamed are the types whose name AWS keeps unique per account and region,
// so a fixed name collides between two stacks in one account.
var accountUniqueNamed = []string{tLogDeliverySource, tLogDest, tWebACL, tLogGroup}

func awsAPIRules() []Rule {
	return []Rule{{
		ID:    "AWS-1",
		Title: "RDS storage autoscaling ceiling is 0 (off) or at least 1.1x the allocated storage",
		Refs: []string{"https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html",
			"RDS CreateDBInstance MaxAllocatedStorage"},
		Applies:   "every aws:rds/instance:Instance with maxAllocatedStorage set",
		AppliesTo: func(e *Env) bool { return len(rdsWithCeiling(e)) > 0 },
		Select:    rdsWithCeiling,
		Check: func(e *Env, r *graph.Resource) []Violation {
			maxGb, _ := r.Number("maxAllocatedStorage")
			alloc, ok := r.Number("allocatedStorage")
			if maxGb == 0 || !ok {
				return nil
			}
			// In tenths, exactly: 100 x 1.1 is 110.00000000000001 in floats.
			if maxGb*10 < alloc*RDSMaxStorageTenths {
				return []Violation{v("maxAllocatedStorage %g is under 1.1 x allocatedStorage %g (%g): RDS refuses it; send 0 to turn autoscaling off", maxGb, alloc, alloc*RDSMaxStorageTenths/10)}
			}
			return nil
		},
	}, {
		ID:    "AWS-2",
		Title: "Route 53 records are unique per zone, name, type and set identifier",
		Refs: []string{"https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
			"InvalidChangeBatch: record already exists"},
		Applies:   "every aws:route53/record:Record (names compared without case and trailing dot)",
		AppliesTo: func(e *Env) bool { return e.Has(tRecord) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tRecord) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			for _, o := range e.Of(tRecord) {
				if o == r {
					return nil // report the later ones only
				}
				if recordKey(o) == recordKey(r) {
					return []Violation{v("record %s duplicates %s: Route 53 refuses a second CREATE of the same name and type; update one record instead", recordKey(r), o.URN)}
				}
			}
			return nil
		},
	}, {
		ID:    "AWS-3",
		Title: "names unique per account and region carry the stack",
		Refs: []string{"https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDeliverySource.html",
			"https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDeliveryDestination.html",
			"https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html"},
		Applies: "every aws:cloudwatch/logDeliverySource:LogDeliverySource, aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination, " +
			"aws:wafv2/webAcl:WebAcl and aws:cloudwatch/logGroup:LogGroup with a fixed name input; the name must contain the stack's name",
		AppliesTo: func(e *Env) bool { return len(fixedNamed(e)) > 0 },
		Select:    fixedNamed,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if name := r.String("name"); e.G.Stack == "" || !strings.Contains(name, e.G.Stack) {
				return []Violation{v("name %q is unique per account and region but does not carry the stack %q: two stacks in one account collide", name, e.G.Stack)}
			}
			return nil
		},
	}, {
		ID:        "AWS-4",
		Title:     "interface endpoints have at most one subnet per AZ",
		Refs:      []string{"https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html", "EC2 CreateVpcEndpoint SubnetIds"},
		Applies:   "every aws:ec2/vpcEndpoint:VpcEndpoint of type Interface; subnets resolved to their availabilityZone",
		AppliesTo: func(e *Env) bool { return len(interfaceEndpoints(e)) > 0 },
		Select:    interfaceEndpoints,
		Check: func(e *Env, r *graph.Resource) []Violation {
			perAZ := map[string]int{}
			for _, s := range e.Refs(r, "subnetIds", tSubnet) {
				perAZ[subnetAZ(s)]++
			}
			var out []Violation
			for _, az := range sortedKeys(boolKeys(perAZ)) {
				if perAZ[az] > 1 {
					out = append(out, v("%d subnets in %s: AWS allows one subnet per AZ per endpoint", perAZ[az], az))
				}
			}
			return out
		},
	}, {
		ID:    "AWS-5",
		Title: "a topic that alarms publish to is not encrypted with the AWS-managed alias/aws/sns key",
		Refs: []string{"https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns",
			"https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"},
		Applies:   "every aws:sns/topic:Topic named in an aws:cloudwatch/metricAlarm:MetricAlarm's alarmActions, okActions or insufficientDataActions",
		AppliesTo: func(e *Env) bool { return len(alarmTopics(e)) > 0 },
		Select:    alarmTopics,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if k := r.String("kmsMasterKeyId"); k == "alias/aws/sns" || strings.HasSuffix(k, ":alias/aws/sns") {
				return []Violation{v("kmsMasterKeyId %s: its key policy cannot grant cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*, so no alarm is delivered; use a customer-managed key", k)}
			}
			return nil
		},
	}, {
		ID:        "AWS-6",
		Title:     "load balancer and target group names fit the 32-character limit",
		Refs:      []string{"https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html", "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"},
		Applies:   "every load balancer and target group (aws:lb/* and aws:alb/*): name at most 32 characters, namePrefix at most 6; unset, the provider autonames within the limit",
		AppliesTo: func(e *Env) bool { return e.Has(tLB, tALB, tTG, tATG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tLB, tALB, tTG, tATG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if n := r.String("name"); len(n) > ELBNameMax {
				out = append(out, v("name %q has %d characters; Elastic Load Balancing takes at most %d", n, len(n), ELBNameMax))
			}
			if p := r.String("namePrefix"); len(p) > ELBNamePrefixMax {
				out = append(out, v("namePrefix %q has %d characters; the provider takes at most %d", p, len(p), ELBNamePrefixMax))
			}
			return out
		},
	}, {
		ID:    "AWS-8",
		Title: "a Redshift Serverless workgroup has subnets in at least three AZs",
		Refs: []string{"https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-known-issues.html",
			"Redshift Serverless CreateWorkgroup subnetIds"},
		Applies:   "every aws:redshiftserverless/workgroup:Workgroup; subnets resolved to their availabilityZone",
		AppliesTo: func(e *Env) bool { return e.Has(tWorkgroup) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tWorkgroup) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			azs := map[string]bool{}
			for _, s := range e.Refs(r, "subnetIds", tSubnet) {
				azs[subnetAZ(s)] = true
			}
			if len(azs) < 3 {
				return []Violation{v("subnets span %d AZs (%s): CreateWorkgroup needs at least three subnets in three AZs", len(azs), strings.Join(sortedKeys(azs), ", "))}
			}
			return nil
		},
	}, {
		ID:        "AWS-7",
		Title:     "security groups stay within 60 rules per direction and IP family",
		Refs:      []string{"https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups"},
		Applies:   "every aws:ec2/securityGroup:SecurityGroup, counting its inline rules and rule resources (each CIDR, prefix list or group is one rule)",
		AppliesTo: func(e *Env) bool { return e.Has(tSG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tSG) },
		Check: func(e *Env, g *graph.Resource) []Violation {
			var out []Violation
			for _, egress := range []bool{false, true} {
				v4, v6 := 0, 0
				for _, en := range e.groupEntries(g, egress) {
					if len(en.cidrs) == 0 {
						v4++ // a referenced group or prefix list
						continue
					}
					for _, c := range en.cidrs {
						if strings.Contains(c, ":") {
							v6++
						} else {
							v4++
						}
					}
				}
				dir := map[bool]string{false: "inbound", true: "outbound"}[egress]
				for fam, n := range map[string]int{"IPv4": v4, "IPv6": v6} {
					if n > SGRulesPerDirection {
						out = append(out, v("%d %s %s rules; the quota is %d per direction and family", n, dir, fam, SGRulesPerDirection))
					}
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
			return out
		},
	}}
}

// recordKey is what Route 53 keeps unique in a zone.
func recordKey(r *graph.Resource) string {
	name := strings.TrimSuffix(strings.ToLower(r.String("name")), ".")
	return fmt.Sprintf("%s %s %s %s", r.String("zoneId"), name, r.String("type"), r.String("setIdentifier"))
}

func rdsWithCeiling(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(tRDS) {
		if isSet(r, "maxAllocatedStorage") {
			out = append(out, r)
		}
	}
	return out
}

func fixedNamed(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(accountUniqueNamed...) {
		if r.String("name") != "" {
			out = append(out, r)
		}
	}
	return out
}

func interfaceEndpoints(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(tVpcEndpoint) {
		if r.String("vpcEndpointType") == "Interface" {
			out = append(out, r)
		}
	}
	return out
}

// alarmTopics are the topics some alarm notifies.
func alarmTopics(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, t := range e.Of(tTopic) {
		used := false
		for _, a := range e.Of(tAlarm) {
			for _, k := range []string{"alarmActions", "okActions", "insufficientDataActions"} {
				for _, act := range strings_(a.Inputs[k]) {
					if e.Matches(t, act) {
						used = true
					}
				}
			}
			if !used && e.DependsOn(a, t) {
				used = true
			}
		}
		if used {
			out = append(out, t)
		}
	}
	return out
}

func boolKeys(m map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// Edge rules: the WAF in front of CloudFront and the origin secret behind it.
const (
	tWebACLLogging = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	tListenerRule  = "aws:lb/listenerRule:ListenerRule"
)

// requiredWAFGroups are the AWS managed rule groups every distribution's web ACL runs.
var requiredWAFGroups = []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}

func edgeRules() []Rule {
	return []Rule{{
		ID:    "CF-5",
		Title: "CloudFront has a WAF web ACL: rate rule, AWS managed common, known-bad-inputs and IP reputation groups, logged",
		Refs: []string{"CKV_AWS_68", "SH WAF.10", "https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html",
			"https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html"},
		Applies:   "every aws:cloudfront/distribution:Distribution; its webAclId must name an aws:wafv2/webAcl:WebAcl of scope CLOUDFRONT with a logging configuration to a log group named aws-waf-logs-*",
		AppliesTo: func(e *Env) bool { return e.Has(tDistribution) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tDistribution) },
		Check: func(e *Env, d *graph.Resource) []Violation {
			acls := e.Refs(d, "webAclId", tWebACL)
			if len(acls) == 0 {
				return []Violation{v("webAclId names no WAF web ACL: the edge has no firewall")}
			}
			acl := acls[0]
			var out []Violation
			if acl.String("scope") != "CLOUDFRONT" {
				out = append(out, vOn(acl, "scope %q: a distribution's web ACL has scope CLOUDFRONT", acl.String("scope")))
			}
			have, rate := map[string]bool{}, false
			for _, r := range list(acl, "rules") {
				m, _ := r.(map[string]any)
				st, _ := m["statement"].(map[string]any)
				if g, ok := st["managedRuleGroupStatement"].(map[string]any); ok {
					have[mstr(g, "name")] = true
				}
				if _, ok := st["rateBasedStatement"].(map[string]any); ok {
					rate = true
				}
			}
			for _, g := range requiredWAFGroups {
				if !have[g] {
					out = append(out, vOn(acl, "no %s managed rule group", g))
				}
			}
			if !rate {
				out = append(out, vOn(acl, "no rate-based rule"))
			}
			logged := false
			for _, lc := range e.Companions(acl, tWebACLLogging, "resourceArn") {
				for _, g := range e.Refs(lc, "logDestinationConfigs", tLogGroup) {
					if strings.HasPrefix(g.String("name"), "aws-waf-logs-") && isSet(g, "retentionInDays") {
						logged = true
					}
				}
			}
			if !logged {
				out = append(out, vOn(acl, "no logging configuration to a log group named aws-waf-logs-* with retention"))
			}
			return out
		},
	}, {
		ID:    "LB-7",
		Title: "a load balancer behind CloudFront forwards only requests carrying the origin secret header; its default answers 403",
		Refs:  []string{"https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html"},
		Applies: "the listeners of every internet-facing load balancer that a distribution's custom origin sends a custom header to; " +
			"applies whenever a distribution has a custom origin",
		AppliesTo: func(e *Env) bool { return len(customOrigins(e)) > 0 },
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, lb := range lbs(e) {
				if boolIs(lb, "internal", true) {
					continue
				}
				for _, l := range e.listenersOf(lb) {
					if !listenerRedirects(l) {
						out = append(out, l)
					}
				}
			}
			return out
		},
		Check: func(e *Env, l *graph.Resource) []Violation {
			var out []Violation
			da := object(l, "defaultActions")
			if mstr(da, "type") != "fixed-response" || get(da, "fixedResponse.statusCode") != "403" {
				out = append(out, v("default action must be a fixed 403: a request without the origin secret must not reach a target"))
			}
			for _, r := range e.Of(tListenerRule) {
				if !e.RefersTo(r, "listenerArn", l) {
					continue
				}
				hasHeader := false
				for _, c := range list(r, "conditions") {
					m, _ := c.(map[string]any)
					if h, ok := m["httpHeader"].(map[string]any); ok && mstr(h, "httpHeaderName") != "" {
						hasHeader = true
					}
				}
				if !hasHeader {
					out = append(out, vOn(r, "listener rule has no http-header condition: it forwards requests that did not come through this distribution"))
				}
			}
			return out
		},
	}}
}

// customOrigins are the distributions' custom (load balancer) origins.
func customOrigins(e *Env) []map[string]any {
	var out []map[string]any
	for _, d := range e.Of(tDistribution) {
		for _, o := range list(d, "origins") {
			if m, ok := o.(map[string]any); ok && m["customOriginConfig"] != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// get walks a dotted path in a plain map.
func get(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}
