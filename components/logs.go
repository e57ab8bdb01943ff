package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Filter patterns of LogAnalysis's metric filters, over the lines the servers write
// (docs/decisions.md, "Log analysis"; the line formats are fixed in the helpers' contract 1:
// the app's slog JSON lines, nginx's scaling_json access log and its own text error log).
// They keep to the plain forms of the CloudWatch Logs filter pattern syntax: a JSON property
// compared with a string or a number, or a list of quoted terms of which any may match. A
// metric filter sees every stream of its log group: each pattern matches only the lines of
// the stream it is meant for (a JSON selector never matches a text line, and no app line has
// a status).
const (
	// AppErrorPattern matches the app's ERROR lines: an internal error answered with a 500,
	// a panic, a queue job that failed for good. Unavailable dependencies (503 with
	// Retry-After, a replica or the cache down) are WARN and not counted.
	AppErrorPattern = `{ $.level = "ERROR" }`
	// Nginx5xxPattern matches nginx access lines with a 5xx status (a JSON number in the
	// scaling_json format): 502 and 504 when the app tier fails or is slow.
	Nginx5xxPattern = `{ $.status >= 500 }`
	// NginxRequestTimePattern matches the nginx access lines of the random sample (every
	// line when the tier logs every request; not the 4xx and 5xx logged beside the sample,
	// which would bias the average); the metric's value is request_time, in seconds (a JSON
	// number). upstream_response_time is not used: nginx writes it as a string, "-" without
	// an upstream and "0.004, 0.010" when it tried two.
	NginxRequestTimePattern = `{ $.sampled = 1 && $.request_time >= 0 }`
	// NginxErrorLogPattern matches nginx error-log lines of level error and above
	// ("2026/12/02 18:00:00 [error] 8#8: *5 connect() failed ..."); "?" makes any term match.
	// An access line whose URI holds "[error]" counts too: the 5xx alarm stays the primary.
	NginxErrorLogPattern = `?"[error]" ?"[crit]" ?"[alert]" ?"[emerg]"`
)

// LogTier is one server tier whose log group LogAnalysis watches.
type LogTier struct {
	// Name is the tier's name in the stage ("web", "read-api"): metric, alarm and
	// resource names carry it. Required.
	Name string
	// LogGroupName is the tier's log group (ServerGroup.LogGroupName). Required.
	LogGroupName pulumi.StringInput
	// App says the tier runs the app (its JSON log lines reach the group).
	App bool
	// Nginx says the tier runs nginx (its access and error logs reach the group).
	Nginx bool
}

// LogAnalysisArgs configures LogAnalysis.
type LogAnalysisArgs struct {
	// Tiers are the server tiers, each with App or Nginx (or both). Required.
	Tiers []LogTier
	// AlarmTopicArn is the stack's alarm topic, which every alarm notifies. Required.
	AlarmTopicArn pulumi.StringInput
	// TrailLogGroupName, when set, is the CloudTrail log group the audit queries read.
	// Default: none, no audit queries.
	TrailLogGroupName pulumi.StringInput
	// Namespace is the metrics' CloudWatch namespace. Default: <project>/<stack>/logs, so
	// two stacks of one account never add into the same metric.
	Namespace string
	// QueryFolder is the folder the saved queries appear under in Logs Insights.
	// Default: <project>-<stack>.
	QueryFolder string
}

// LogMetric is one metric a metric filter publishes, with the alarm on it.
type LogMetric struct {
	// Tier is the tier whose log group the filter reads.
	Tier string
	// Namespace and Name identify the metric in CloudWatch.
	Namespace, Name string
	// Pattern is the filter pattern.
	Pattern string
}

// LogQuery is one saved Logs Insights query.
type LogQuery struct {
	// Name is the query's name in Logs Insights, folder included.
	Name string
	// Query is the query string.
	Query string
	// Tiers names the tiers whose log groups it reads ("cloudtrail" for the trail's).
	Tiers []string
}

// LogAnalysis turns the servers' logs into signals for the on-call engineer: per tier, metric
// filters on the tier's log group with an alarm each (app ERROR lines; on nginx tiers 5xx
// responses, request time and error-log lines), and the Logs Insights queries an engineer runs
// first, saved over the right log groups (errors by tier and message, the slowest requests,
// 5xx by URI, the instances erroring, requests per minute, nginx's own errors, and, with a
// trail, denied and changing API calls).
//
// AWS resources: cloudwatch.LogMetricFilter, cloudwatch.MetricAlarm, cloudwatch.QueryDefinition.
// Costs money: each alarm (0.10 USD a month); metric filters and saved queries are free, and
// custom metrics from filters bill as metrics (0.30 USD a month each); running a query bills
// the data it scans (0.005 USD per GB).
type LogAnalysis struct {
	pulumi.ResourceState

	// Metrics are the metrics the filters publish, in creation order.
	Metrics []LogMetric
	// Queries are the saved queries, in creation order.
	Queries []LogQuery
}

func (a *LogAnalysisArgs) withDefaults(ctx *pulumi.Context, name string) (*LogAnalysisArgs, error) {
	bad := func(field string, value any, fix string) error {
		return argError("log analysis", name, field, value, fix)
	}
	if a == nil {
		return nil, bad("args", nil, "pass LogAnalysisArgs")
	}
	out := *a
	if len(out.Tiers) == 0 {
		return nil, bad("Tiers", "none", "pass the server tiers whose logs to analyse")
	}
	seen := map[string]bool{}
	for _, t := range out.Tiers {
		switch {
		case t.Name == "" || seen[t.Name]:
			return nil, bad("Tiers", fmt.Sprintf("%q", t.Name), "give every tier its own non-empty name")
		case t.LogGroupName == nil:
			return nil, bad("Tiers", t.Name, "give the tier's LogGroupName")
		case !t.App && !t.Nginx:
			return nil, bad("Tiers", t.Name, "say what the tier runs: App, Nginx or both")
		}
		seen[t.Name] = true
	}
	if out.AlarmTopicArn == nil {
		return nil, bad("AlarmTopicArn", nil, "pass the stack's alarm topic: a metric filter nobody is alarmed on is not monitoring")
	}
	if out.Namespace == "" {
		out.Namespace = ctx.Project() + "/" + ctx.Stack() + "/logs"
	}
	if strings.HasPrefix(out.Namespace, "AWS/") {
		return nil, bad("Namespace", out.Namespace, "CloudWatch reserves namespaces starting with AWS/ for its own")
	}
	if out.QueryFolder == "" {
		out.QueryFolder = ctx.Project() + "-" + ctx.Stack()
	}
	return &out, nil
}

// savedQuery is one Logs Insights query to save, over the log groups of tiers.
type savedQuery struct {
	slug, title, query string
	groups             pulumi.StringArray
	tiers              []string
}

// logFilter is one metric filter of a tier and its alarm.
type logFilter struct {
	suffix, pattern, value, unit, defaultValue string
	alarm                                      Alarm
}

// filtersOf returns a tier's metric filters. The thresholds are in each alarm's description.
func filtersOf(t LogTier) []logFilter {
	var out []logFilter
	if t.App {
		out = append(out, logFilter{suffix: "app-errors", pattern: AppErrorPattern, value: "1", unit: "Count", defaultValue: "0",
			alarm: Alarm{
				Description: fmt.Sprintf("%s: 10 or more app ERROR lines in 5 minutes (internal errors, panics, failed jobs); run the saved query 'errors by tier and message'", t.Name),
				Statistic:   "Sum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 10, PeriodSeconds: 300, EvaluationPeriods: 1,
				// No lines in a period means no errors: the app logs nothing while healthy and idle.
				MissingData: "notBreaching",
			}})
	}
	if t.Nginx {
		out = append(out, logFilter{suffix: "nginx-5xx", pattern: Nginx5xxPattern, value: "1", unit: "Count", defaultValue: "0",
			alarm: Alarm{
				Description: fmt.Sprintf("%s: 50 or more 5xx responses from nginx in 5 minutes (502/504: the app tier failing or slow); run the saved query '5xx by URI'", t.Name),
				Statistic:   "Sum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 50, PeriodSeconds: 300, EvaluationPeriods: 1,
				MissingData: "notBreaching",
			}},
			logFilter{suffix: "request-time", pattern: NginxRequestTimePattern, value: "$.request_time", unit: "Seconds",
				alarm: Alarm{
					Description: fmt.Sprintf("%s: nginx's average request time above 1 s for 15 minutes (the seed's slow responses at peak); run the saved query 'slowest requests'", t.Name),
					Statistic:   "Average", Comparison: "GreaterThanThreshold", Threshold: 1, PeriodSeconds: 300, EvaluationPeriods: 3,
					MissingData: "notBreaching",
				}},
			logFilter{suffix: "nginx-errors", pattern: NginxErrorLogPattern, value: "1", unit: "Count", defaultValue: "0",
				alarm: Alarm{
					Description: fmt.Sprintf("%s: 20 or more nginx error-log lines (error and above) in 5 minutes; run the saved query 'nginx errors'", t.Name),
					Statistic:   "Sum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 20, PeriodSeconds: 300, EvaluationPeriods: 1,
					MissingData: "notBreaching",
				}})
	}
	return out
}

// NewLogAnalysis creates a LogAnalysis.
func NewLogAnalysis(ctx *pulumi.Context, name string, args *LogAnalysisArgs, opts ...pulumi.ResourceOption) (*LogAnalysis, error) {
	a, err := args.withDefaults(ctx, name)
	if err != nil {
		return nil, err
	}
	la := &LogAnalysis{}
	child, err := register(ctx, "monitoring:LogAnalysis", name, la, opts)
	if err != nil {
		return nil, err
	}

	var appGroups, nginxGroups, allGroups pulumi.StringArray
	var appTiers, nginxTiers, allTiers []string
	for _, t := range a.Tiers {
		allGroups, allTiers = append(allGroups, t.LogGroupName), append(allTiers, t.Name)
		if t.App {
			appGroups, appTiers = append(appGroups, t.LogGroupName), append(appTiers, t.Name)
		}
		if t.Nginx {
			nginxGroups, nginxTiers = append(nginxGroups, t.LogGroupName), append(nginxTiers, t.Name)
		}
		for _, f := range filtersOf(t) {
			metric := t.Name + "/" + f.suffix
			mt := &cloudwatch.LogMetricFilterMetricTransformationArgs{
				Name: pulumi.String(metric), Namespace: pulumi.String(a.Namespace),
				Value: pulumi.String(f.value), Unit: pulumi.String(f.unit),
			}
			if f.defaultValue != "" {
				mt.DefaultValue = pulumi.String(f.defaultValue)
			}
			mf, err := cloudwatch.NewLogMetricFilter(ctx, childName(name, t.Name, f.suffix), &cloudwatch.LogMetricFilterArgs{
				Name:                 pulumi.String(metric),
				LogGroupName:         t.LogGroupName,
				Pattern:              pulumi.String(f.pattern),
				MetricTransformation: mt,
			}, child...)
			if err != nil {
				return nil, err
			}
			al := f.alarm
			al.Name, al.Namespace, al.Metric = f.suffix, a.Namespace, metric
			// The alarm waits for its filter: an alarm on a metric no filter publishes yet is
			// only INSUFFICIENT_DATA, but the order keeps the preview's graph honest.
			if err := newAlarm(ctx, childName(name, t.Name), a.AlarmTopicArn, al, with(child, pulumi.DependsOn([]pulumi.Resource{mf}))); err != nil {
				return nil, err
			}
			la.Metrics = append(la.Metrics, LogMetric{Tier: t.Name, Namespace: a.Namespace, Name: metric, Pattern: f.pattern})
		}
	}

	queries := []savedQuery{
		{"errors", "errors by tier and message", QueryErrorsByTier, appGroups, appTiers},
		{"instances", "instances erroring", QueryInstancesErroring, allGroups, allTiers},
		{"slowest", "slowest requests", QuerySlowestRequests, nginxGroups, nginxTiers},
		{"5xx", "5xx by URI", Query5xxByURI, nginxGroups, nginxTiers},
		{"rate", "requests per minute", QueryRequestsPerMinute, nginxGroups, nginxTiers},
		{"nginx-errors", "nginx errors", QueryNginxErrors, nginxGroups, nginxTiers},
	}
	if a.TrailLogGroupName != nil {
		trail, tiers := pulumi.StringArray{a.TrailLogGroupName}, []string{"cloudtrail"}
		queries = append(queries,
			savedQuery{"denied", "API calls denied", QueryDeniedAPICalls, trail, tiers},
			savedQuery{"changes", "API changes by who", QueryAPIChanges, trail, tiers})
	}
	for _, q := range queries {
		if len(q.groups) == 0 {
			continue // no tier of that kind: a query over no log group would read every group
		}
		full := a.QueryFolder + "/" + q.title
		if _, err := cloudwatch.NewQueryDefinition(ctx, childName(name, "query", q.slug), &cloudwatch.QueryDefinitionArgs{
			Name:          pulumi.String(full),
			QueryString:   pulumi.String(q.query),
			LogGroupNames: q.groups,
		}, child...); err != nil {
			return nil, err
		}
		la.Queries = append(la.Queries, LogQuery{Name: full, Query: q.query, Tiers: q.tiers})
	}
	return la, ctx.RegisterResourceOutputs(la, pulumi.Map{"namespace": pulumi.String(a.Namespace)})
}

// The saved Logs Insights queries. Logs Insights discovers the JSON fields of the app and
// nginx lines; @log names the log group (so the tier) and @logStream is
// "<instance id>/<app|nginx-access|nginx-error>" (contract 1). Pick the time range (the last
// hour first) in the console.
const (
	// QueryErrorsByTier: which tier logs errors, and which errors, most first.
	QueryErrorsByTier = `fields @timestamp, @log, msg, method, path, err
| filter level = "ERROR"
| stats count(*) as errors by @log, msg
| sort errors desc
| limit 50`
	// QueryInstancesErroring: which servers log errors or answer 5xx (one bad instance, or all).
	QueryInstancesErroring = `filter level = "ERROR" or status >= 500
| parse @logStream "*/*" as instance, source
| stats count(*) as errors by @log, instance, source
| sort errors desc
| limit 50`
	// QuerySlowestRequests: the slowest requests nginx served, with the app's share.
	QuerySlowestRequests = `fields @timestamp, request_time, upstream_response_time, status, method, uri, request_id, @logStream
| filter ispresent(request_time)
| sort request_time desc
| limit 50`
	// Query5xxByURI: which URIs fail, and how.
	Query5xxByURI = `filter status >= 500
| stats count(*) as responses by status, method, uri
| sort responses desc
| limit 50`
	// QueryRequestsPerMinute: load and latency over time, to line up with a deploy or a scaling event.
	QueryRequestsPerMinute = `filter ispresent(status)
| stats count(*) as requests, pct(request_time, 50) as p50_seconds, pct(request_time, 99) as p99_seconds by bin(1m)
| sort @timestamp asc`
	// QueryNginxErrors: nginx's own error log (upstream refused or timed out, bad config).
	QueryNginxErrors = `fields @timestamp, @logStream, @message
| filter @logStream like /nginx-error/
| sort @timestamp desc
| limit 100`
	// QueryDeniedAPICalls: who was refused what (a missing grant, or someone probing).
	QueryDeniedAPICalls = `filter ispresent(errorCode) and (errorCode like /AccessDenied/ or errorCode like /UnauthorizedOperation/)
| stats count(*) as calls by userIdentity.arn, eventSource, eventName, errorCode
| sort calls desc
| limit 50`
	// QueryAPIChanges: who changed what (the first question after "it broke at 14:05").
	QueryAPIChanges = `fields @timestamp, userIdentity.arn, eventSource, eventName, awsRegion, errorCode
| filter eventName not like /^(Get|List|Describe|Head|Lookup|BatchGet|Search|Select|Decrypt|GenerateDataKey|AssumeRole)/
| sort @timestamp desc
| limit 100`
)
