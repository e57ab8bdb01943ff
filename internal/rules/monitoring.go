package rules

import (
	"regexp"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Types only the monitoring rules look at.
const (
	tComposite    = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
	tHealthCheck  = "aws:route53/healthCheck:HealthCheck"
	tSubscription = "aws:sns/topicSubscription:TopicSubscription"
)

// memberSuffixRE is how ElastiCache names the member clusters of a cluster-mode-disabled
// replication group: <group id>-001, -002... Their metrics carry the member's
// CacheClusterId, never the group's id, so an alarm on a member watches its group.
var memberSuffixRE = regexp.MustCompile(`^-[0-9]{3}$`)

// targetMetrics are published per TargetGroup only together with LoadBalancer (and per AZ):
// an alarm with the TargetGroup dimension alone watches a series that never exists.
var targetMetrics = map[string]bool{"UnHealthyHostCount": true, "HealthyHostCount": true}

// alarmDimKeys returns the dimension names of an alarm's metric (or metric queries).
func alarmDimKeys(a *graph.Resource) map[string]bool {
	out := map[string]bool{}
	add := func(v any) {
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				out[k] = true
			}
		}
	}
	add(a.Inputs["dimensions"])
	for _, q := range list(a, "metricQueries") {
		qm, _ := q.(map[string]any)
		if m, ok := qm["metric"].(map[string]any); ok {
			add(m["dimensions"])
		}
	}
	return out
}

// alarmMetrics returns the metric names an alarm watches (its own, or its metric queries').
func alarmMetrics(a *graph.Resource) []string {
	var out []string
	if m := a.String("metricName"); m != "" {
		out = append(out, m)
	}
	for _, q := range list(a, "metricQueries") {
		qm, _ := q.(map[string]any)
		if m, ok := qm["metric"].(map[string]any); ok && mstr(m, "metricName") != "" {
			out = append(out, mstr(m, "metricName"))
		}
	}
	return out
}

// alarmDims returns every dimension value of an alarm.
func alarmDims(a *graph.Resource) []string {
	out := allStrings(a.Inputs["dimensions"])
	for _, q := range list(a, "metricQueries") {
		qm, _ := q.(map[string]any)
		if m, ok := qm["metric"].(map[string]any); ok {
			out = append(out, allStrings(m["dimensions"])...)
		}
	}
	return out
}

// watches reports whether an alarm is about r: it depends on r or a dimension names it.
func (e *Env) watches(a, r *graph.Resource) bool {
	if e.DependsOn(a, r) {
		return true
	}
	group := ""
	if r.Type == tRedis {
		group = r.String("replicationGroupId")
	}
	for _, d := range alarmDims(a) {
		if e.Matches(r, d) {
			return true
		}
		if group != "" && strings.HasPrefix(d, group) && memberSuffixRE.MatchString(d[len(group):]) {
			return true
		}
	}
	return false
}

// requiredAlarms lists, per critical resource, the alarm metrics it needs; each entry is a
// set of alternatives.
func (e *Env) requiredAlarms(r *graph.Resource) [][]string {
	switch r.Type {
	case tLB, tALB:
		if application(r) {
			return [][]string{{"HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"}}
		}
	case tTG, tATG:
		return [][]string{{"UnHealthyHostCount"}}
	case tASG, tInstance:
		return [][]string{{"CPUUtilization"}}
	case tRDS:
		req := [][]string{{"CPUUtilization"}, {"FreeStorageSpace"}, {"DatabaseConnections"}}
		if replica(r) {
			req = append(req, []string{"ReplicaLag"})
		}
		return req
	case tRedis:
		return [][]string{{"EngineCPUUtilization", "CPUUtilization"}, {"DatabaseMemoryUsagePercentage", "FreeableMemory", "BytesUsedForCache"}, {"ReplicationLag"}}
	case tHealthCheck:
		return [][]string{{"HealthCheckStatus"}}
	case tQueue:
		if e.dlqs()[r] {
			return [][]string{{"ApproximateNumberOfMessagesVisible"}}
		}
		return [][]string{{"ApproximateAgeOfOldestMessage"}}
	}
	return nil
}

// criticalTypes are the resources MON-3 expects alarms on.
var criticalTypes = []string{tLB, tALB, tTG, tATG, tASG, tInstance, tRDS, tRedis, tQueue, tHealthCheck}

func monitoringRules() []Rule {
	return []Rule{{
		ID:        "MON-1",
		Title:     "every alarm has actions",
		Refs:      []string{"CKV_AWS_319"},
		Applies:   "every aws:cloudwatch/metricAlarm:MetricAlarm and aws:cloudwatch/compositeAlarm:CompositeAlarm",
		AppliesTo: func(e *Env) bool { return e.Has(tAlarm) || e.Has(tComposite) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tAlarm, tComposite) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if len(strings_(r.Inputs["alarmActions"])) == 0 {
				out = append(out, v("alarmActions must name the stack's SNS topic"))
			}
			if b, ok := r.Inputs["actionsEnabled"].(bool); ok && !b {
				out = append(out, v("actionsEnabled must not be false"))
			}
			return out
		},
	}, {
		ID:        "MON-2",
		Title:     "log groups have a retention",
		Refs:      []string{"CKV_AWS_66", "CKV_AWS_338"},
		Applies:   "every aws:cloudwatch/logGroup:LogGroup",
		AppliesTo: func(e *Env) bool { return e.Has(tLogGroup) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tLogGroup) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if n, ok := r.Number("retentionInDays"); !ok || n <= 0 {
				return []Violation{v("retentionInDays must be set")}
			}
			return nil
		},
	}, {
		ID:    "MON-3",
		Title: "critical resources each have their alarms",
		Refs:  []string{"REL06-BP01", "REL11-BP01"},
		Applies: "from stage 4 (users++++: monitoring and alerting): load balancers (5XX), target groups (UnHealthyHostCount), " +
			"Auto Scaling groups and instances (CPU), RDS (CPU, FreeStorageSpace, DatabaseConnections, ReplicaLag on replicas), " +
			"ElastiCache (CPU, memory, ReplicationLag; an alarm on a member cluster <group id>-00N watches its group), work queues (ApproximateAgeOfOldestMessage), " +
			"dead-letter queues (messages visible) and Route 53 health checks (HealthCheckStatus). An alarm on a target group's UnHealthyHostCount or HealthyHostCount " +
			"counts only with the LoadBalancer dimension beside TargetGroup: AWS publishes no series per target group alone",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsers4P },
		Select:    func(e *Env) []*graph.Resource { return e.Of(criticalTypes...) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			have := map[string]bool{}
			var out []Violation
			for _, a := range e.Of(tAlarm) {
				if e.watches(a, r) {
					for _, m := range alarmMetrics(a) {
						if (r.Type == tTG || r.Type == tATG) && targetMetrics[m] && !alarmDimKeys(a)["LoadBalancer"] {
							out = append(out, v("alarm %s on %s has no LoadBalancer dimension: AWS publishes the metric only per target group and load balancer, so the alarm never sees data", a.Name, m))
							continue
						}
						have[m] = true
					}
				}
			}
			for _, alts := range e.requiredAlarms(r) {
				found := false
				for _, m := range alts {
					found = found || have[m]
				}
				if !found {
					out = append(out, v("no alarm on %s", strings.Join(alts, " or ")))
				}
			}
			return out
		},
	}, {
		ID:    "MON-5",
		Title: "notifications leave AWS over HTTPS only, to a secret endpoint",
		Refs:  []string{"CKV_AWS_46", "docs/security.md Cross-cutting (no secret in plain text)"},
		Applies: "every aws:sns/topicSubscription:TopicSubscription of protocol http or https: http is refused (the alarm and the endpoint's key travel in plain text), " +
			"and an https endpoint must be a secret input (incident tools' URLs carry their integration key, and the provider does not mark the endpoint secret)",
		AppliesTo: func(e *Env) bool { return len(webSubscriptions(e)) > 0 },
		Select:    webSubscriptions,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.String("protocol") == "http" {
				return []Violation{v("protocol http sends every alarm and the endpoint's key in plain text; use https")}
			}
			for _, k := range r.SecretInputs {
				if k == "endpoint" {
					return nil
				}
			}
			return []Violation{v("the https endpoint is not a secret input: wrap it with pulumi.ToSecret (it carries the incident tool's key)")}
		},
	}, {
		ID:    "MON-4",
		Title: "alarm topics are encrypted with a customer-managed key of the stack, never alias/aws/sns",
		Refs:  []string{"AWS Knowledge Center cloudwatch-configure-alarm-sns", "CKV_AWS_26", "SH SNS.1"},
		Applies: "every aws:sns/topic:Topic some aws:cloudwatch/metricAlarm:MetricAlarm notifies: kmsMasterKeyId must name an aws:kms/key:Key " +
			"of the stack (whose policy lets cloudwatch.amazonaws.com decrypt and generate data keys); under the AWS-managed alias/aws/sns key " +
			"CloudWatch can deliver no notification at all",
		AppliesTo: func(e *Env) bool { return e.Has(tAlarm) && e.Has(tTopic) },
		Select: func(e *Env) []*graph.Resource {
			seen := map[*graph.Resource]bool{}
			var out []*graph.Resource
			for _, a := range e.Of(tAlarm) {
				actions := strings_(a.Inputs["alarmActions"])
				for _, t := range e.Of(tTopic) {
					named := e.DependsOn(a, t)
					for _, act := range actions {
						named = named || e.Matches(t, act)
					}
					if named && !seen[t] {
						seen[t] = true
						out = append(out, t)
					}
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			k := r.String("kmsMasterKeyId")
			switch {
			case strings.Contains(k, "alias/aws/sns"):
				return []Violation{v("kmsMasterKeyId is the AWS-managed alias/aws/sns: CloudWatch alarms cannot use it, so no notification is delivered; use the stack's key")}
			case !e.usesStackKey(r, "kmsMasterKeyId"):
				return []Violation{v("kmsMasterKeyId must name the stack's key, got %q", k)}
			}
			return nil
		},
	}}
}

// webSubscriptions are the SNS subscriptions that deliver over HTTP(S).
func webSubscriptions(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(tSubscription) {
		if p := r.String("protocol"); p == "http" || p == "https" {
			out = append(out, r)
		}
	}
	return out
}
