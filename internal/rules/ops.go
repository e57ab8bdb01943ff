package rules

import (
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// NoSSHStage is the first stage in which no security group may admit port 22 at all, from
// any source: servers are reached with Session Manager (config.NoSSHFrom refuses adminCidrs
// there).
const NoSSHStage = StageUsers4P

// AllowedManagedPolicies are the AWS managed policies a role of the stack may hold, each
// with why an inline policy does not replace it. IAM-2 reads inline policies only, so a
// managed policy outside this list would pass it unread.
var AllowedManagedPolicies = map[string]string{
	"service-role/AWSDataLifecycleManagerServiceRole": "the box's snapshot policy's execution role: DLM's documented role policy (docs/decisions.md 14)",
	"service-role/AmazonRDSEnhancedMonitoringRole":    "RDS enhanced monitoring's role: the policy RDS documents, writing to its own RDSOSMetrics log group",
	"AmazonSSMManagedInstanceCore": "the SSM Agent's calls (Session Manager, State Manager, Patch Manager): AWS updates it with the agent, " +
		"and most of its actions take no resource; its one over-grant, reading SSM parameters, is denied inline (components.Operations)",
}

// managedPolicyName returns the path and name of an AWS managed policy ARN
// (arn:<partition>:iam::aws:policy/<path/name>), or "" for a customer-managed one.
func managedPolicyName(arn string) string {
	_, name, ok := strings.Cut(arn, ":iam::aws:policy/")
	if !ok {
		return ""
	}
	return name
}

func opsRules() []Rule {
	return []Rule{{
		ID:    "OPS-1",
		Title: "no port-22 ingress from any source (Session Manager instead of SSH)",
		Refs:  []string{"CKV_AWS_24", "SH EC2.13", "SH SSM.1"},
		Applies: "from users++++ (stage 4), every aws:ec2/securityGroup:SecurityGroup (inline ingress), " +
			"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule and aws:ec2/securityGroupRule:SecurityGroupRule; " +
			"an entry fails if it admits TCP 22 (all ports included), whatever its source: CIDR, prefix list or security group",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= NoSSHStage && e.Has(tSG, tIngress, tSGRule) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tSG, tIngress, tSGRule) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for _, en := range e.sgEntries(r, false) {
				if en.opensPort(22) {
					out = append(out, v("ingress admits port 22 (%s): from this stage servers are reached with Session Manager, never SSH", en.ports()))
				}
			}
			return out
		},
	}, {
		ID:    "OPS-2",
		Title: "roles hold only the allow-listed AWS managed policies, each with its reason",
		Refs:  []string{"CKV_AWS_274", "SH IAM.1"},
		Applies: "every aws:iam/rolePolicyAttachment:RolePolicyAttachment and aws:iam/policyAttachment:PolicyAttachment (policyArn) " +
			"and aws:iam/role:Role (managedPolicyArns); an AWS managed policy outside AllowedManagedPolicies, or any customer-managed " +
			"policy attachment (the stack writes inline policies, which IAM-2 reads), fails",
		AppliesTo: func(e *Env) bool { return e.Has(tRPA, tPolicyAttach) || len(rolesWithManaged(e)) > 0 },
		Select: func(e *Env) []*graph.Resource {
			return append(e.Of(tRPA, tPolicyAttach), rolesWithManaged(e)...)
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			arns := append(strings_(r.Inputs["managedPolicyArns"]), strings_(r.Inputs["policyArn"])...)
			if len(arns) == 0 {
				return []Violation{v("attaches no policy ARN the rule can read")}
			}
			var out []Violation
			for _, a := range arns {
				name := managedPolicyName(a)
				switch {
				case name == "":
					out = append(out, v("attaches customer-managed policy %s: write an inline policy (IAM-2 reads those)", a))
				case AllowedManagedPolicies[name] == "":
					out = append(out, v("attaches AWS managed policy %s, which is not on the allow-list (%s): write a scoped inline policy", a, strings.Join(allowedNames(), ", ")))
				}
			}
			return out
		},
	}}
}

func rolesWithManaged(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(tRole) {
		if len(strings_(r.Inputs["managedPolicyArns"])) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func allowedNames() []string {
	var out []string
	for k := range AllowedManagedPolicies {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
