package rules

import (
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// isBox reports whether an instance is the single box: one of its security groups is
// tagged role=box.
func (e *Env) isBox(r *graph.Resource) bool {
	for _, g := range e.Refs(r, "vpcSecurityGroupIds", tSG) {
		if tag(g, TagRole) == RoleBox {
			return true
		}
	}
	return false
}

func hasInstances(e *Env) bool { return e.Has(tInstance, tLaunchTemplate) }

func instancesAndTemplates(e *Env) []*graph.Resource { return e.Of(tInstance, tLaunchTemplate) }

func computeRules() []Rule {
	const computeApplies = "every aws:ec2/instance:Instance and aws:ec2/launchTemplate:LaunchTemplate"
	return []Rule{{
		ID:        "CMP-1",
		Title:     "IMDSv2 required with hop limit 1",
		Refs:      []string{"CKV_AWS_79", "CKV_AWS_341", "SH EC2.8", "SH AutoScaling.3"},
		Applies:   computeApplies,
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if r.String("metadataOptions.httpTokens") != "required" {
				out = append(out, v("metadataOptions.httpTokens must be \"required\" (IMDSv2), got %q", r.String("metadataOptions.httpTokens")))
			}
			if n, ok := r.Number("metadataOptions.httpPutResponseHopLimit"); !ok || n != 1 {
				out = append(out, v("metadataOptions.httpPutResponseHopLimit must be set to 1"))
			}
			return out
		},
	}, {
		ID:        "CMP-2",
		Title:     "every EBS volume encrypted",
		Refs:      []string{"CKV_AWS_8", "CKV_AWS_3", "SH EC2.7"},
		Applies:   computeApplies + " (root and every block device) and every aws:ebs/volume:Volume",
		AppliesTo: func(e *Env) bool { return e.Has(tInstance, tLaunchTemplate, tVolume) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tInstance, tLaunchTemplate, tVolume) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			switch r.Type {
			case tVolume:
				if !boolIs(r, "encrypted", true) {
					out = append(out, v("encrypted must be true"))
				}
			case tInstance:
				if !boolIs(r, "rootBlockDevice.encrypted", true) {
					out = append(out, v("rootBlockDevice.encrypted must be true"))
				}
				for i, d := range list(r, "ebsBlockDevices") {
					if m, _ := d.(map[string]any); !mbool(m, "encrypted") {
						out = append(out, v("ebsBlockDevices[%d].encrypted must be true", i))
					}
				}
			case tLaunchTemplate:
				bdm := list(r, "blockDeviceMappings")
				if len(bdm) == 0 {
					out = append(out, v("blockDeviceMappings must declare the root volume with ebs.encrypted \"true\" (the AMI's default is not trusted)"))
				}
				for i, d := range bdm {
					m, _ := d.(map[string]any)
					ebs, _ := m["ebs"].(map[string]any)
					if ebs != nil && !mbool(ebs, "encrypted") {
						out = append(out, v("blockDeviceMappings[%d].ebs.encrypted must be \"true\"", i))
					}
				}
			}
			return out
		},
	}, {
		ID:        "CMP-3",
		Title:     "no public IP on instances (the single box only through BoxMaxStage)",
		Refs:      []string{"CKV_AWS_88", "SH EC2.9", "SH AutoScaling.5"},
		Applies:   computeApplies + "; an instance in a role=box group is exempt through stage BoxMaxStage",
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.Type == tInstance && e.isBox(r) && e.Ctx.Stage <= BoxMaxStage {
				return nil
			}
			var out []Violation
			if boolIs(r, "associatePublicIpAddress", true) {
				out = append(out, v("associatePublicIpAddress must not be true"))
			}
			for i, n := range list(r, "networkInterfaces") {
				if m, _ := n.(map[string]any); mbool(m, "associatePublicIpAddress") {
					out = append(out, v("networkInterfaces[%d].associatePublicIpAddress must not be \"true\"", i))
				}
			}
			return out
		},
	}, {
		ID:        "CMP-4",
		Title:     "instances run with an instance profile (never static keys)",
		Refs:      []string{"SH EC2.8", "CKV2_AWS_41"},
		Applies:   computeApplies,
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.Type == tInstance && r.String("iamInstanceProfile") != "" {
				return nil
			}
			if r.Type == tLaunchTemplate && (r.String("iamInstanceProfile.name") != "" || r.String("iamInstanceProfile.arn") != "") {
				return nil
			}
			return []Violation{v("iamInstanceProfile must be set")}
		},
	}, {
		ID:        "ASG-1",
		Title:     "Auto Scaling groups use a launch template over private subnets in >= 2 AZs",
		Refs:      []string{"SH AutoScaling.2", "SH AutoScaling.9", "REL10-BP01"},
		Applies:   "every aws:autoscaling/group:Group",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if object(r, "launchTemplate") == nil && object(r, "mixedInstancesPolicy.launchTemplate") == nil {
				out = append(out, v("launchTemplate must be set (launch configurations are deprecated)"))
			}
			if r.String("launchConfiguration") != "" {
				out = append(out, v("launchConfiguration must not be used"))
			}
			ids := strings_(r.Inputs["vpcZoneIdentifiers"])
			if len(ids) < 2 {
				out = append(out, v("vpcZoneIdentifiers must list subnets in at least two AZs, got %d", len(ids)))
			}
			azs := map[string]bool{}
			for _, s := range e.RefsOf(r, ids, tSubnet) {
				azs[subnetAZ(s)] = true
				if tag(s, TagTier) == "public" {
					out = append(out, v("subnet %s is public; server groups live in private subnets", s.Name))
				}
			}
			if len(ids) >= 2 && len(azs) == 1 {
				out = append(out, v("all its subnets are in one AZ (%s)", sortedKeys(azs)[0]))
			}
			return out
		},
	}, {
		ID:        "ASG-2",
		Title:     "Auto Scaling group sizes: min <= desired <= max, max >= 1",
		Refs:      []string{"REL07-BP01"},
		Applies:   "every aws:autoscaling/group:Group",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			mn, ok1 := r.Number("minSize")
			mx, ok2 := r.Number("maxSize")
			if !ok1 || !ok2 {
				return []Violation{v("minSize and maxSize must be set")}
			}
			if d, ok := r.Number("desiredCapacity"); ok && (d < mn || d > mx) {
				return []Violation{v("desiredCapacity %g is outside minSize %g .. maxSize %g", d, mn, mx)}
			}
			if mn > mx || mx < 1 {
				return []Violation{v("minSize %g and maxSize %g must satisfy min <= max and max >= 1", mn, mx)}
			}
			return nil
		},
	}, {
		ID:    "ASG-3",
		Title: "Auto Scaling groups behind target groups use ELB health checks with a grace period",
		Refs:  []string{"SH AutoScaling.1", "REL07-BP01"},
		Applies: "every aws:autoscaling/group:Group; one tagged role=worker (queue workers, no load balancer) needs only the grace period, " +
			"every other must list targetGroupArns (or trafficSources) and use healthCheckType ELB",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if n, ok := r.Number("healthCheckGracePeriod"); !ok || n <= 0 {
				out = append(out, v("healthCheckGracePeriod must be set above 0"))
			}
			if tag(r, TagRole) == RoleWorker {
				return out
			}
			if len(list(r, "targetGroupArns")) == 0 && len(list(r, "trafficSources")) == 0 {
				out = append(out, v("targetGroupArns must register the group with a target group (or tag it %s=%s)", TagRole, RoleWorker))
			}
			if r.String("healthCheckType") != "ELB" {
				out = append(out, v("healthCheckType must be \"ELB\", got %q", r.String("healthCheckType")))
			}
			return out
		},
	}, {
		ID:        "ASG-4",
		Title:     "every Auto Scaling group has a scaling policy",
		Refs:      []string{"REL07-BP01"},
		Applies:   "every aws:autoscaling/group:Group; an aws:autoscaling/policy:Policy must name it in autoscalingGroupName",
		AppliesTo: func(e *Env) bool { return e.Has(tASG) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tASG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if len(e.Companions(r, tASGPolicy, "autoscalingGroupName")) == 0 {
				return []Violation{v("no aws:autoscaling/policy:Policy names this group")}
			}
			return nil
		},
	}}
}

// tls13 reports whether an ELB security policy is a TLS 1.3 policy.
func tls13(p string) bool {
	return strings.HasPrefix(p, "ELBSecurityPolicy-TLS13-")
}
