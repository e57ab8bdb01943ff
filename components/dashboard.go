package components

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CloudWatch's limits on a composite alarm's rule (PutCompositeAlarm): at most 100
// underlying alarms and 10240 characters.
const (
	maxRuleAlarms = 100
	maxRuleChars  = 10240
)

// Summary is the pair of composite alarms over every recorded alarm of the stack's region.
type Summary struct {
	// PageNow is in ALARM while any page alarm is (users see errors or slowness); it notifies
	// the page topic, so the incident tool wakes someone.
	PageNow *cloudwatch.CompositeAlarm
	// LookTomorrow is in ALARM while any other alarm is; it notifies the alarm topic
	// (e-mail) once when the first trouble starts and once when all of it is over.
	LookTomorrow *cloudwatch.CompositeAlarm
	// PageNowName and LookTomorrowName are their CloudWatch names.
	PageNowName, LookTomorrowName string
	// Rules are the alarm names each composite watches (PageNowName and LookTomorrowName
	// as keys), nested composites included.
	Rules map[string][]string
}

// Summarize creates the two composite alarms over every alarm recorded so far (call it after
// the last alarm of the stack): <alarms>-page-now, notifying pageTopic, over the page alarms;
// <alarms>-look-tomorrow, notifying the alarm topic, over the others. Alarms of another
// region (the us-east-1 site check of a stack elsewhere) cannot be watched by a composite
// (CloudWatch composites see their own region only); they notify their own page topic.
// A composite that would watch more than 100 alarms or exceed 10240 characters is split
// into nested composites <alarms>-<composite>-<n>.
func (a *Alarms) Summarize(pageTopic pulumi.StringInput) (*Summary, error) {
	if pageTopic == nil {
		return nil, argError("alarms", a.name, "pageTopic", nil, "pass the page topic (Page)")
	}
	var page, other []RecordedAlarm
	for _, r := range a.Recorded() {
		if r.Elsewhere || r.Name == "" {
			continue
		}
		if r.Page {
			page = append(page, r)
		} else {
			other = append(other, r)
		}
	}
	if len(page) == 0 || len(other) == 0 {
		return nil, fmt.Errorf("alarms %q: Summarize found %d page and %d other alarms: create the alarms first", a.name, len(page), len(other))
	}
	s := &Summary{Rules: map[string][]string{}}
	var err error
	s.PageNowName = AlarmName(a.ctx, childName(a.name, "page-now"))
	if s.PageNow, err = a.composite("page-now", "users see errors or slowness: page now", page, pageTopic, s.Rules); err != nil {
		return nil, err
	}
	s.LookTomorrowName = AlarmName(a.ctx, childName(a.name, "look-tomorrow"))
	if s.LookTomorrow, err = a.composite("look-tomorrow", "something needs a look, users are not hurt yet: look tomorrow", other, a.TopicArn, s.Rules); err != nil {
		return nil, err
	}
	return s, nil
}

// composite creates <alarms>-<suffix> over members, nesting when CloudWatch's limits need it.
func (a *Alarms) composite(suffix, desc string, members []RecordedAlarm, topic pulumi.StringInput, rules map[string][]string) (*cloudwatch.CompositeAlarm, error) {
	names := make([]string, len(members))
	deps := make([]pulumi.Resource, 0, len(members))
	for i, m := range members {
		names[i] = m.Name
		if m.Resource != nil {
			deps = append(deps, m.Resource)
		}
	}
	chunks := ruleChunks(names)
	if len(chunks) > 1 {
		// Nested: each part watches its share, the top composite watches the parts.
		var parts []string
		for i, c := range chunks {
			part := childName(suffix, fmt.Sprint(i+1))
			name := AlarmName(a.ctx, childName(a.name, part))
			res, err := a.newComposite(part, fmt.Sprintf("%s (part %d of %d)", desc, i+1, len(chunks)), name, c, topic, deps)
			if err != nil {
				return nil, err
			}
			rules[name] = c
			parts = append(parts, name)
			deps = append(deps, res)
		}
		names = parts
	}
	name := AlarmName(a.ctx, childName(a.name, suffix))
	rules[name] = names
	return a.newComposite(suffix, desc, name, names, topic, deps)
}

func (a *Alarms) newComposite(suffix, desc, name string, members []string, topic pulumi.StringInput, deps []pulumi.Resource) (*cloudwatch.CompositeAlarm, error) {
	logical := childName(a.name, suffix)
	return cloudwatch.NewCompositeAlarm(a.ctx, logical, &cloudwatch.CompositeAlarmArgs{
		AlarmName:        pulumi.String(name),
		AlarmDescription: pulumi.String(desc),
		AlarmRule:        pulumi.String(anyOf(members)),
		AlarmActions:     pulumi.StringArray{topic},
		OkActions:        pulumi.StringArray{topic},
		Tags:             tags(logical),
	}, with(a.child, pulumi.DependsOn(deps))...)
}

// anyOf is the composite rule "any of these alarms is in ALARM".
func anyOf(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("ALARM(%q)", n)
	}
	return strings.Join(parts, " OR ")
}

// ruleChunks splits names into runs whose rule stays within CloudWatch's limits.
func ruleChunks(names []string) [][]string {
	var out [][]string
	var cur []string
	for _, n := range names {
		if len(cur) > 0 && (len(cur) == maxRuleAlarms || len(anyOf(append(cur, n))) > maxRuleChars) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Signal is a metric shown on the dashboard without an alarm (traffic: request counts,
// servers in service). Alarmed signals come from the alarms themselves.
type Signal struct {
	Title     string
	Namespace string
	Metric    string
	// Dimensions select the series.
	Dimensions pulumi.StringMap
	// Statistic is Sum, Average, Maximum, Minimum or a percentile such as p99.
	Statistic     string
	PeriodSeconds int
	// Region is where the metric lives. Default: the dashboard's region.
	Region string
}

// DashboardSection is a row of the dashboard: a title, the components whose alarms it shows
// and its unalarmed signals.
type DashboardSection struct {
	Title   string
	Owners  []pulumi.Resource
	Signals []Signal
}

// DashboardArgs configures NewDashboard.
type DashboardArgs struct {
	// Alarms holds the recorded alarms: every one of them gets a widget. Required.
	Alarms *Alarms
	// Region is the stack's region (the widgets' default). Required.
	Region string
	// Sections order the widgets; alarms of components in no section go to a last
	// "Other alarms" section, so none is ever left off.
	Sections []DashboardSection
	// Status lists the ARNs shown in the alarm status widget at the top (the composites).
	Status []pulumi.StringInput
}

// usEast1Namespaces publish their metrics in us-east-1 only, whatever the stack's region.
var usEast1Namespaces = map[string]bool{"AWS/Route53": true, "AWS/CloudFront": true}

// NewDashboard creates the stack's CloudWatch dashboard <project>-<stack>: the composite
// alarms' status, then per section one graph per alarm, made from the alarm's own arguments
// (metric, dimensions, statistic, period, and its threshold as a line), and one per signal.
// Costs money: 3 USD a month per dashboard beyond the free three.
func NewDashboard(ctx *pulumi.Context, name string, args *DashboardArgs, opts ...pulumi.ResourceOption) (*cloudwatch.Dashboard, error) {
	if args == nil || args.Alarms == nil || args.Region == "" {
		return nil, argError("dashboard", name, "args", nil, "pass the stack's Alarms and region")
	}
	sections := append([]DashboardSection(nil), args.Sections...)
	other := DashboardSection{Title: "Other alarms"}
	byOwner := map[pulumi.Resource]int{}
	for i, s := range sections {
		for _, o := range s.Owners {
			byOwner[o] = i
		}
	}
	alarmsOf := make([][]RecordedAlarm, len(sections)+1)
	for _, r := range args.Alarms.Recorded() {
		i, ok := byOwner[r.Parent]
		if !ok || r.Parent == nil {
			i = len(sections)
		}
		alarmsOf[i] = append(alarmsOf[i], r)
	}
	sections = append(sections, other)

	var parts []any // per section: title, then widget outputs
	type rowSpec struct {
		title string
		n     int
	}
	var rows []rowSpec
	for i, s := range sections {
		n := 0
		for _, r := range alarmsOf[i] {
			parts = append(parts, alarmWidget(r, args.Region))
			n++
		}
		for _, sig := range s.Signals {
			parts = append(parts, signalWidget(sig, args.Region))
			n++
		}
		if n > 0 {
			rows = append(rows, rowSpec{s.Title, n})
		}
	}
	status := pulumi.StringArray{}
	for _, a := range args.Status {
		status = append(status, a)
	}
	body := pulumi.All(status, pulumi.All(parts...)).ApplyT(func(v []any) (string, error) {
		var widgets []map[string]any
		y := 0
		if arns, _ := v[0].([]string); len(arns) > 0 {
			widgets = append(widgets, map[string]any{"type": "alarm", "x": 0, "y": y, "width": 24, "height": 3,
				"properties": map[string]any{"title": "Page now / look tomorrow", "alarms": arns}})
			y += 3
		}
		ws, _ := v[1].([]any)
		k := 0
		for _, row := range rows {
			widgets = append(widgets, map[string]any{"type": "text", "x": 0, "y": y, "width": 24, "height": 1,
				"properties": map[string]any{"markdown": "## " + row.title}})
			y++
			for j := 0; j < row.n; j++ {
				w, _ := ws[k].(map[string]any)
				k++
				w["x"], w["y"], w["width"], w["height"] = (j%4)*6, y+(j/4)*6, 6, 6
				widgets = append(widgets, w)
			}
			y += ((row.n + 3) / 4) * 6
		}
		b, err := json.Marshal(map[string]any{"start": "-PT6H", "periodOverride": "inherit", "widgets": widgets})
		return string(b), err
	}).(pulumi.StringOutput)
	return cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(childName(ctx.Project(), ctx.Stack())),
		DashboardBody: body,
	}, opts...)
}

// input returns in, or a resolved nil for an unset argument (pulumi.All needs a value).
func input(in pulumi.Input) any {
	if in == nil {
		return pulumi.Any(nil)
	}
	return in
}

// alarmWidget is the graph of one alarm: its metric as the alarm sees it and its threshold.
func alarmWidget(r RecordedAlarm, region string) pulumi.AnyOutput {
	a := r.Args
	return pulumi.All(input(a.Namespace), input(a.MetricName), input(a.Dimensions), input(a.Statistic), input(a.ExtendedStatistic),
		input(a.Period), input(a.Threshold), input(a.ComparisonOperator), input(a.AlarmDescription)).ApplyT(func(v []any) (any, error) {
		ns, metric, stat := plainString(v[0]), plainString(v[1]), plainString(v[3])
		if e := plainString(v[4]); e != "" {
			stat = e
		}
		if ns == "" || metric == "" {
			// A metric-math alarm (the empty worker fleet's wake-up) has no single metric to
			// graph: its tile says what it watches, from the alarm's own description.
			return map[string]any{"type": "text", "properties": map[string]any{
				"markdown": fmt.Sprintf("**%s** (metric math, %s %v): %s", r.Logical, plainString(v[7]), num(v[6]), plainString(v[8])),
			}}, nil
		}
		title := r.Logical
		if r.Page {
			title += " (page)"
		}
		w := metricWidget(title, ns, metric, dims(v[2]), stat, num(v[5]), region)
		w["properties"].(map[string]any)["annotations"] = map[string]any{"horizontal": []any{map[string]any{
			"label": fmt.Sprintf("alarm: %s %v", plainString(v[7]), num(v[6])), "value": num(v[6]),
		}}}
		return w, nil
	}).(pulumi.AnyOutput)
}

// signalWidget is the graph of one unalarmed signal.
func signalWidget(s Signal, region string) pulumi.AnyOutput {
	if s.Region != "" {
		region = s.Region
	}
	return s.Dimensions.ToStringMapOutput().ApplyT(func(d map[string]string) any {
		return metricWidget(s.Title, s.Namespace, s.Metric, d, s.Statistic, float64(s.PeriodSeconds), region)
	}).(pulumi.AnyOutput)
}

func metricWidget(title, ns, metric string, d map[string]string, stat string, period float64, region string) map[string]any {
	if usEast1Namespaces[ns] {
		region = "us-east-1"
	}
	line := []any{ns, metric}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line = append(line, k, d[k])
	}
	line = append(line, map[string]any{"stat": stat, "period": period})
	return map[string]any{"type": "metric", "properties": map[string]any{
		"title": title, "region": region, "view": "timeSeries", "stat": stat, "period": period,
		"metrics": []any{line},
	}}
}

func plainString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case *string:
		if s != nil {
			return *s
		}
	}
	return ""
}

func num(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case *int:
		if n != nil {
			return float64(*n)
		}
	case float64:
		return n
	case *float64:
		if n != nil {
			return *n
		}
	}
	return 0
}

func dims(v any) map[string]string {
	m, _ := v.(map[string]string)
	return m
}
