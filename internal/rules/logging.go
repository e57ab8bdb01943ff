package rules

import (
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Type tokens of the log and audit rules.
const (
	tTrail        = "aws:cloudtrail/trail:Trail"
	tMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
)

func trails(e *Env) []*graph.Resource { return e.Of(tTrail) }

func hasTrails(e *Env) bool { return e.Has(tTrail) }

// serviceStatements returns the Allow statements of a policy whose principal is the service.
func serviceStatements(policy any, service string) []policyStatement {
	doc, ok := parsePolicy(policy)
	if !ok {
		return nil
	}
	var out []policyStatement
	for _, s := range doc.Statements {
		if s.Effect != "Allow" {
			continue
		}
		for _, p := range s.principals() {
			if p == "Service:"+service {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// conditionValues returns the values a statement's condition gives key under any operator.
func conditionValues(s policyStatement, key string) []string {
	var out []string
	for _, cond := range s.Condition {
		m, _ := cond.(map[string]any)
		for k, val := range m {
			if strings.EqualFold(k, key) {
				out = append(out, strs(val)...)
			}
		}
	}
	return out
}

// namesTrail reports whether one of the values is the ARN of the trail named name.
func namesTrail(vals []string, name string) bool {
	for _, v := range vals {
		if name != "" && strings.HasPrefix(v, "arn:") && strings.HasSuffix(v, ":trail/"+name) {
			return true
		}
	}
	return false
}

// allows reports whether a statement allows action (exactly, or through a trailing "*").
func allows(s policyStatement, action string) bool {
	for _, a := range s.Actions {
		if a == action || a == "*" || strings.HasSuffix(a, "*") && strings.HasPrefix(action, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// trustsService reports whether a role's trust policy names the service.
func trustsService(role *graph.Resource, service string) bool {
	return len(serviceStatements(role.Inputs["assumeRolePolicy"], service)) > 0
}

// serverLogGroups are the log groups servers write to: a role policy of a role EC2 assumes
// grants logs:PutLogEvents and depends on the group (its resource is the group's ARN).
// sessionLog reports whether lg holds Session Manager transcripts (a Session document
// names it): an audit record the servers write, read when asking who did what, not a log of
// errors to alarm on.
func sessionLog(e *Env, lg *graph.Resource) bool {
	for _, d := range e.Of("aws:ssm/document:Document") {
		if d.Inputs["documentType"] == "Session" && e.DependsOn(d, lg) {
			return true
		}
	}
	return false
}

func serverLogGroups(e *Env) []*graph.Resource {
	seen := map[*graph.Resource]bool{}
	var out []*graph.Resource
	for _, rp := range e.Of(tRolePolicy) {
		ec2 := false
		for _, role := range e.Refs(rp, "role", tRole) {
			ec2 = ec2 || trustsService(role, "ec2.amazonaws.com")
		}
		doc, ok := parsePolicy(rp.Inputs["policy"])
		if !ec2 || !ok {
			continue
		}
		writes := false
		for _, s := range doc.Statements {
			writes = writes || s.Effect == "Allow" && allows(s, "logs:PutLogEvents")
		}
		if !writes {
			continue
		}
		for _, lg := range e.Of(tLogGroup) {
			if e.DependsOn(rp, lg) && !seen[lg] && !sessionLog(e, lg) {
				seen[lg] = true
				out = append(out, lg)
			}
		}
	}
	return out
}

func loggingRules() []Rule {
	return []Rule{{
		ID:    "TRAIL-1",
		Title: "a multi-region CloudTrail trail records every management event, global services included",
		Refs:  []string{"CKV_AWS_67", "SH CloudTrail.1", "CIS AWS 3.1"},
		Applies: "from stage 4 (users++++: automated operations need to know who changed what): every aws:cloudtrail/trail:Trail, at least one; " +
			"isMultiRegionTrail, includeGlobalServiceEvents and enableLogging true, eventSelectors with includeManagementEvents true and readWriteType All " +
			"(said explicitly, not left to the service default); waived only by ACCOUNT-TRAIL (cloudTrail = false: a trail outside the stack records the account)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsers4P },
		Select:    trails,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for _, k := range []string{"isMultiRegionTrail", "includeGlobalServiceEvents", "enableLogging"} {
				if !boolIs(r, k, true) {
					out = append(out, v("%s must be true", k))
				}
			}
			all := false
			for _, s := range list(r, "eventSelectors") {
				m, _ := s.(map[string]any)
				all = all || mbool(m, "includeManagementEvents") && mstr(m, "readWriteType") == "All"
			}
			if !all {
				out = append(out, v("eventSelectors must include management events with readWriteType All (reads and writes)"))
			}
			return out
		},
	}, {
		ID:        "TRAIL-2",
		Title:     "CloudTrail log file integrity validation on",
		Refs:      []string{"CKV_AWS_36", "SH CloudTrail.4", "CIS AWS 3.2"},
		Applies:   "every aws:cloudtrail/trail:Trail: enableLogFileValidation true (the provider's default is false)",
		AppliesTo: hasTrails,
		Select:    trails,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "enableLogFileValidation", true) {
				return []Violation{v("enableLogFileValidation must be true: without digest files nobody can prove the log was not altered")}
			}
			return nil
		},
	}, {
		ID:    "TRAIL-3",
		Title: "CloudTrail files encrypted with a stack key whose policy lets CloudTrail use it for this trail only",
		Refs: []string{"CKV_AWS_35", "SH CloudTrail.2", "CIS AWS 3.5",
			"AWS CloudTrail user guide: Configure AWS KMS key policies for CloudTrail (InsufficientEncryptionPolicyException)"},
		Applies: "every aws:cloudtrail/trail:Trail: kmsKeyId names an aws:kms/key:Key of the stack whose policy allows cloudtrail.amazonaws.com " +
			"kms:GenerateDataKey* and kms:DescribeKey under an aws:SourceArn condition naming this trail (trail/<name>), and no CloudTrail statement without one",
		AppliesTo: hasTrails,
		Select:    trails,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !e.usesStackKey(r, "kmsKeyId") {
				return []Violation{v("kmsKeyId must name the stack's key, got %q", r.String("kmsKeyId"))}
			}
			keys := e.Refs(r, "kmsKeyId", tKey)
			if len(keys) == 0 {
				return []Violation{v("kmsKeyId names no aws:kms/key:Key of the stack")}
			}
			name := r.String("name")
			var out []Violation
			for _, k := range keys {
				stmts := serviceStatements(k.Inputs["policy"], "cloudtrail.amazonaws.com")
				gen, desc := false, false
				for _, s := range stmts {
					src := conditionValues(s, "aws:SourceArn")
					if len(src) == 0 {
						out = append(out, vOn(k, "statement %q lets CloudTrail use the key for any trail: add an aws:SourceArn condition naming the trail", s.Sid))
						continue
					}
					if namesTrail(src, name) {
						gen = gen || allows(s, "kms:GenerateDataKey")
						desc = desc || allows(s, "kms:DescribeKey")
					}
				}
				if !gen || !desc {
					out = append(out, vOn(k, "the key policy must let cloudtrail.amazonaws.com kms:GenerateDataKey* and kms:DescribeKey for trail %q (aws:SourceArn), or CreateTrail fails with InsufficientEncryptionPolicyException", name))
				}
			}
			return out
		},
	}, {
		ID:    "TRAIL-4",
		Title: "CloudTrail events delivered to a CloudWatch Logs group through a role CloudTrail alone assumes",
		Refs:  []string{"CKV2_AWS_10", "SH CloudTrail.5", "CIS AWS 3.4"},
		Applies: "every aws:cloudtrail/trail:Trail: cloudWatchLogsGroupArn set with the stream wildcard (\":*\", which CloudTrail requires) on a log group " +
			"of the stack, and cloudWatchLogsRoleArn set (CloudTrail refuses one without the other) on an aws:iam/role:Role trusted by cloudtrail.amazonaws.com",
		AppliesTo: hasTrails,
		Select:    trails,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			group := r.String("cloudWatchLogsGroupArn")
			switch {
			case group == "":
				out = append(out, v("cloudWatchLogsGroupArn must be set: the metric filters and queries read the events there"))
			case !strings.HasSuffix(group, ":*"):
				out = append(out, v("cloudWatchLogsGroupArn must end with \":*\" (CloudTrail requires the stream wildcard), got %q", group))
			}
			if group != "" {
				found := false
				for _, lg := range e.Of(tLogGroup) {
					found = found || e.DependsOn(r, lg) || e.Matches(lg, strings.TrimSuffix(group, ":*"))
				}
				if !found {
					out = append(out, v("cloudWatchLogsGroupArn names no log group of the stack"))
				}
			}
			roles := e.Refs(r, "cloudWatchLogsRoleArn", tRole)
			if r.String("cloudWatchLogsRoleArn") == "" || len(roles) == 0 {
				return append(out, v("cloudWatchLogsRoleArn must name a role of the stack"))
			}
			for _, role := range roles {
				if !trustsService(role, "cloudtrail.amazonaws.com") {
					out = append(out, vOn(role, "the role must be trusted by cloudtrail.amazonaws.com"))
				}
			}
			return out
		},
	}, {
		ID:    "TRAIL-5",
		Title: "the trail's bucket lets CloudTrail write only this trail's files, is access-logged, and its policy exists before the trail",
		Refs: []string{"SH CloudTrail.7", "CKV_AWS_18",
			"AWS CloudTrail user guide: Amazon S3 bucket policy for CloudTrail (InsufficientS3BucketPolicyException)"},
		Applies: "every aws:cloudtrail/trail:Trail: s3BucketName names an aws:s3/bucketV2:BucketV2 of the stack whose aws:s3/bucketPolicy:BucketPolicy allows " +
			"cloudtrail.amazonaws.com s3:GetBucketAcl and s3:PutObject under aws:SourceArn naming the trail, s3:PutObject with s3:x-amz-acl bucket-owner-full-control; " +
			"the trail depends on that policy (CloudTrail checks it at CreateTrail); the bucket has an aws:s3/bucketLoggingV2",
		AppliesTo: hasTrails,
		Select:    trails,
		Check: func(e *Env, r *graph.Resource) []Violation {
			buckets := e.Refs(r, "s3BucketName", tBucket)
			if len(buckets) == 0 {
				return []Violation{v("s3BucketName names no bucket of the stack")}
			}
			name := r.String("name")
			var out []Violation
			for _, b := range buckets {
				if len(e.companion(b, tLogging)) == 0 {
					out = append(out, vOn(b, "the trail's bucket must log its access (bucketLoggingV2): reads of the audit log are audited too"))
				}
				policies := e.companion(b, tBucketPolicy)
				if len(policies) == 0 {
					out = append(out, vOn(b, "the trail's bucket has no policy: CreateTrail fails with InsufficientS3BucketPolicyException"))
					continue
				}
				p := policies[0]
				if !e.DependsOn(r, p) {
					out = append(out, v("the trail must depend on %s: CloudTrail checks the bucket policy when the trail is created", p.Name))
				}
				acl, put := false, false
				for _, s := range serviceStatements(p.Inputs["policy"], "cloudtrail.amazonaws.com") {
					if !namesTrail(conditionValues(s, "aws:SourceArn"), name) {
						out = append(out, vOn(p, "statement %q lets CloudTrail write for any trail: add aws:SourceArn naming trail %q", s.Sid, name))
						continue
					}
					acl = acl || allows(s, "s3:GetBucketAcl")
					if allows(s, "s3:PutObject") {
						owner := false
						for _, x := range conditionValues(s, "s3:x-amz-acl") {
							owner = owner || x == "bucket-owner-full-control"
						}
						if !owner {
							out = append(out, vOn(p, "statement %q must require s3:x-amz-acl = bucket-owner-full-control", s.Sid))
						}
						put = true
					}
				}
				if !acl || !put {
					out = append(out, vOn(p, "the policy must let cloudtrail.amazonaws.com s3:GetBucketAcl and s3:PutObject for trail %q, or CreateTrail fails with InsufficientS3BucketPolicyException", name))
				}
			}
			return out
		},
	}, {
		ID:    "LOG-1",
		Title: "every server log group has metric filters",
		Refs:  []string{"REL06-BP01", "SECURITY.md Monitoring: logs"},
		Applies: "from stage 4 (users++++: monitoring at the log level): every aws:cloudwatch/logGroup:LogGroup servers write to (a role policy of a role " +
			"trusted by ec2.amazonaws.com grants logs:PutLogEvents on it) has at least one aws:cloudwatch/logMetricFilter:LogMetricFilter (logGroupName)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsers4P },
		Select:    serverLogGroups,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if len(e.Companions(r, tMetricFilter, "logGroupName")) == 0 {
				return []Violation{v("no metric filter on this server log group: errors in it alarm nobody")}
			}
			return nil
		},
	}, {
		ID:    "LOG-2",
		Title: "every log metric filter's metric has an alarm",
		Refs:  []string{"CKV_AWS_319", "REL06-BP01"},
		Applies: "every aws:cloudwatch/logMetricFilter:LogMetricFilter: an aws:cloudwatch/metricAlarm:MetricAlarm watches its metricTransformation " +
			"(the same namespace and metricName)",
		AppliesTo: func(e *Env) bool { return e.Has(tMetricFilter) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tMetricFilter) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			ns, name := r.String("metricTransformation.namespace"), r.String("metricTransformation.name")
			for _, a := range e.Of(tAlarm) {
				if a.String("namespace") == ns && a.String("metricName") == name && name != "" {
					return nil
				}
			}
			return []Violation{v("no alarm on metric %s/%s", ns, name)}
		},
	}}
}
