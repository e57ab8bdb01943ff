package components

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// statement is one statement of an IAM policy, an Allow unless Deny is set. Resources are
// Inputs because they are ARNs of resources in the stack; actions are plain because they are
// decided here.
type statement struct {
	Sid string
	// Deny makes the statement an explicit Deny, which no Allow (inline or managed) overrides.
	Deny      bool
	Actions   []string
	Resources pulumi.StringArray
	// Condition is an optional IAM condition block, such as
	// {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}.
	Condition map[string]map[string]any
}

// assumeRolePolicy returns a trust policy naming exactly one AWS service principal.
func assumeRolePolicy(service string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": service},
			"Action":    "sts:AssumeRole",
		}},
	}
	b, _ := json.Marshal(doc) // a map of strings always marshals
	return string(b)
}

// policyDocument renders statements as an IAM policy JSON, once every ARN is known.
func policyDocument(stmts ...statement) pulumi.StringOutput {
	var all []any
	for _, s := range stmts {
		all = append(all, s.Resources)
	}
	return pulumi.All(all...).ApplyT(func(resolved []any) (string, error) {
		var out []map[string]any
		for i, s := range stmts {
			effect := "Allow"
			if s.Deny {
				effect = "Deny"
			}
			st := map[string]any{"Effect": effect, "Action": s.Actions, "Resource": resolved[i]}
			if s.Sid != "" {
				st["Sid"] = s.Sid
			}
			if s.Condition != nil {
				st["Condition"] = s.Condition
			}
			out = append(out, st)
		}
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": out})
		return string(b), err
	}).(pulumi.StringOutput)
}
