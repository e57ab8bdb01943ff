package rules

import (
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func atof(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// UnscopableActions may be allowed on Resource "*": AWS offers no resource-level
// permission for them. Patterns match case-insensitively, with * as a wildcard.
var UnscopableActions = []string{
	"cloudwatch:PutMetricData",
	"ec2:Describe*",
	"autoscaling:Describe*",
	"logs:DescribeLogGroups",
	"xray:PutTraceSegments",
	"xray:PutTelemetryRecords",
	"sts:GetCallerIdentity",
	// The Data API's calls on a statement take no resource (Service Authorization
	// Reference, Amazon Redshift Data API); grants bound them to the caller's own
	// statements with redshift-data:statement-owner-iam-userid (components.Warehouse).
	"redshift-data:DescribeStatement",
	"redshift-data:GetStatementResult",
	"redshift-data:CancelStatement",
}

// AdministratorAccess is the managed policy no role of the stack may hold.
const AdministratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

func unscopable(action string) bool {
	for _, p := range UnscopableActions {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// policyDocs returns the policies a resource carries: (label, JSON).
func policyDocs(r *graph.Resource) map[string]any {
	out := map[string]any{}
	switch r.Type {
	case tRolePolicy, tPolicy:
		out["policy"] = r.Inputs["policy"]
	case tRole:
		for i, p := range list(r, "inlinePolicies") {
			if m, ok := p.(map[string]any); ok && m["policy"] != nil {
				out["inlinePolicies["+strconv.Itoa(i)+"]"] = m["policy"]
			}
		}
	}
	return out
}

func iamRules() []Rule {
	iamTypes := []string{tRole, tRolePolicy, tPolicy, tRPA, tPolicyAttach, tGroupPA, tUserPA, tUser, tAccessKey, tLoginProfile}
	return []Rule{{
		ID:        "IAM-1",
		Title:     "trust policies name specific service principals",
		Refs:      []string{"CKV_AWS_60", "CKV_AWS_61"},
		Applies:   "every aws:iam/role:Role (assumeRolePolicy)",
		AppliesTo: func(e *Env) bool { return e.Has(tRole) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tRole) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			doc, ok := parsePolicy(r.Inputs["assumeRolePolicy"])
			if !ok || len(doc.Statements) == 0 {
				return []Violation{v("assumeRolePolicy is not a JSON policy document")}
			}
			var out []Violation
			for i, s := range doc.Statements {
				if s.Effect != "Allow" {
					continue
				}
				ps := s.principals()
				if len(ps) == 0 {
					out = append(out, v("trust statement %d names no principal", i))
				}
				for _, p := range ps {
					svc, found := strings.CutPrefix(p, "Service:")
					if !found || svc == "*" || strings.Contains(svc, "*") || !strings.HasSuffix(svc, ".amazonaws.com") {
						out = append(out, v("trust statement %d names principal %q; only specific AWS service principals may assume roles of the stack", i, p))
					}
				}
			}
			return out
		},
	}, {
		ID:    "IAM-2",
		Title: "no Allow of * actions, no * resources where the action can be scoped",
		Refs:  []string{"CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_290", "CKV_AWS_355", "SH IAM.1", "SH IAM.21"},
		Applies: "every aws:iam/rolePolicy:RolePolicy, aws:iam/policy:Policy and aws:iam/role:Role (inlinePolicies); Resource \"*\" is allowed " +
			"only for the actions in UnscopableActions",
		AppliesTo: func(e *Env) bool { return e.Has(tRolePolicy, tPolicy, tRole) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tRolePolicy, tPolicy, tRole) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			docs := policyDocs(r)
			for _, label := range sortedAny(docs) {
				doc, ok := parsePolicy(docs[label])
				if !ok {
					out = append(out, v("%s is not a JSON policy document", label))
					continue
				}
				for i, s := range doc.Statements {
					if s.Effect != "Allow" {
						continue
					}
					if s.HasNotAction || s.HasNotRsrc {
						out = append(out, v("%s statement %d: Allow with NotAction/NotResource grants everything else", label, i))
					}
					starRes := false
					for _, res := range s.Resources {
						if res == "*" {
							starRes = true
						}
					}
					for _, a := range s.Actions {
						if a == "*" || strings.HasSuffix(a, ":*") {
							out = append(out, v("%s statement %d allows action %q: name the actions", label, i, a))
						} else if starRes && !unscopable(a) {
							out = append(out, v("%s statement %d allows %q on Resource \"*\"; scope it to the stack's ARNs", label, i, a))
						}
					}
				}
			}
			return out
		},
	}, {
		ID:        "IAM-3",
		Title:     "no AdministratorAccess",
		Refs:      []string{"CKV_AWS_274", "SH IAM.1"},
		Applies:   "every aws:iam/role:Role (managedPolicyArns) and every role, group, user or policy attachment",
		AppliesTo: func(e *Env) bool { return e.Has(tRole, tRPA, tPolicyAttach, tGroupPA, tUserPA) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tRole, tRPA, tPolicyAttach, tGroupPA, tUserPA) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			arns := strings_(r.Inputs["managedPolicyArns"])
			arns = append(arns, strings_(r.Inputs["policyArn"])...)
			for _, a := range arns {
				if strings.HasSuffix(a, ":policy/AdministratorAccess") {
					return []Violation{v("attaches AdministratorAccess")}
				}
			}
			return nil
		},
	}, {
		ID:        "IAM-4",
		Title:     "no IAM users, login profiles or access keys in the stack",
		Refs:      []string{"CKV_AWS_40", "SH IAM.2", "SH IAM.3"},
		Applies:   "every IAM resource (roles, policies, attachments, users, keys); users and keys fail",
		AppliesTo: func(e *Env) bool { return e.Has(iamTypes...) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(iamTypes...) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			switch r.Type {
			case tUser, tAccessKey, tLoginProfile, tUserPA:
				return []Violation{v("%s: machines use roles and instance profiles, never IAM users or static keys", r.Type)}
			}
			return nil
		},
	}}
}

func sortedAny(m map[string]any) []string {
	b := map[string]bool{}
	for k := range m {
		b[k] = true
	}
	return sortedKeys(b)
}
