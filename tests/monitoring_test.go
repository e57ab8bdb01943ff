package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

const (
	tMetricAlarm    = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tCompositeAlarm = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
	tDashboard      = "aws:cloudwatch/dashboard:Dashboard"
)

// Distinctive secret values, given as plain (not secure) config: the offline engine only
// scrubs values it knows are secret, so they reach the graph unless the program wraps them.
const (
	testEndpoint = "https://events.pagerduty.com/integration/k3yNeverInPlainText/enqueue"
	testDSN      = "https://pubk3yNeverInPlainText@o1.ingest.sentry.io/4242"
)

// withMonitoring is the config that turns on every monitoring option.
var withMonitoring = map[string]string{"scaling-aws:alertEndpoint": testEndpoint, "scaling-aws:sentryDsn": testDSN}

// TestUsersPlus4PassesTheMonitoringRules: dev (no domain) and prod (a domain), with and
// without the incident endpoint, pass every rule, and the monitoring rules examine something.
func TestUsersPlus4PassesTheMonitoringRules(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		for _, extra := range []map[string]string{nil, withMonitoring} {
			s := evaluate(t, env, config.UsersPlus4, extra)
			force := append(mustContain(config.UsersPlus4), "MON-3")
			if extra != nil {
				force = append(force, "MON-5")
			}
			rep := rules.Check(s.g, rules.Context{Environment: env, Stage: int(config.UsersPlus4), Force: force, Waivers: stages.Waivers(s.cfg)})
			require.True(t, rep.OK(), "%s %v: %s", env, extra != nil, rep)
			for _, id := range []string{"MON-1", "MON-2", "MON-3", "MON-4"} {
				res, _ := rep.Result(id)
				assert.Positive(t, res.Examined, "%s examined nothing", id)
			}
		}
	}
}

// widgetKey identifies a graph by what it draws: namespace, metric, dimensions, statistic
// and period.
func widgetKey(ns, metric string, dims map[string]any, stat string, period float64) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s", ns, metric)
	for _, k := range keys {
		fmt.Fprintf(&b, "|%s=%v", k, dims[k])
	}
	fmt.Fprintf(&b, "|%s|%v", stat, period)
	return b.String()
}

// dashboardLines returns, per widget with a threshold line, its key and threshold.
func dashboardLines(t *testing.T, g *graph.Graph) (alarmed map[string][]float64, total int) {
	t.Helper()
	ds := g.ByType(tDashboard)
	require.Len(t, ds, 1, "one dashboard per stack")
	var body struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Metrics     [][]any `json:"metrics"`
				Annotations struct {
					Horizontal []struct {
						Value float64 `json:"value"`
					} `json:"horizontal"`
				} `json:"annotations"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	require.NoError(t, json.Unmarshal([]byte(ds[0].String("dashboardBody")), &body))
	alarmed = map[string][]float64{}
	for _, w := range body.Widgets {
		if w.Type != "metric" || len(w.Properties.Annotations.Horizontal) == 0 {
			continue
		}
		require.Len(t, w.Properties.Metrics, 1)
		line := w.Properties.Metrics[0]
		opts, _ := line[len(line)-1].(map[string]any)
		dims := map[string]any{}
		for i := 2; i+1 < len(line)-1; i += 2 {
			dims[fmt.Sprint(line[i])] = line[i+1]
		}
		k := widgetKey(fmt.Sprint(line[0]), fmt.Sprint(line[1]), dims, fmt.Sprint(opts["stat"]), opts["period"].(float64))
		alarmed[k] = append(alarmed[k], w.Properties.Annotations.Horizontal[0].Value)
		total++
	}
	return alarmed, total
}

// TestDashboardShowsEveryAlarm: every metric alarm of the stack has a graph of its own
// metric, dimensions, statistic and period with its threshold, and every graph with a
// threshold is an alarm's: the dashboard and the alarms come from the same definitions.
func TestDashboardShowsEveryAlarm(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, nil)
		alarmed, total := dashboardLines(t, s.g)
		alarms := s.g.ByType(tMetricAlarm)
		require.Greater(t, len(alarms), 30, env)
		assert.Equal(t, len(alarms), total, "%s: one threshold graph per alarm", env)
		for _, a := range alarms {
			stat := a.String("statistic")
			if e := a.String("extendedStatistic"); e != "" {
				stat = e
			}
			dims, _ := a.Inputs["dimensions"].(map[string]any)
			period, _ := a.Number("period")
			k := widgetKey(a.String("namespace"), a.String("metricName"), dims, stat, period)
			th, _ := a.Number("threshold")
			assert.Contains(t, alarmed[k], th, "%s: alarm %s (%s) has no graph with its threshold", env, a.Name, k)
		}
	}
}

var ruleNameRE = regexp.MustCompile(`ALARM\("([^"]+)"\)`)

// compositeRules maps each composite alarm's name to the names its rule watches.
func compositeRules(g *graph.Graph) map[string][]string {
	out := map[string][]string{}
	for _, c := range g.ByType(tCompositeAlarm) {
		for _, m := range ruleNameRE.FindAllStringSubmatch(c.String("alarmRule"), -1) {
			out[c.String("alarmName")] = append(out[c.String("alarmName")], m[1])
		}
	}
	return out
}

// TestCompositeAlarmsNameExistingAlarms: the composites' rules name only alarms of the stack,
// every stack-region alarm is under exactly one of page-now and look-tomorrow, and page-now
// holds what users see (the public load balancer's errors and p99, the public target's
// unhealthy hosts, the site check). Only page-now notifies the page topic. A prod stack with
// every replica allowed has more than 100 alarms: look-tomorrow nests to stay within
// CloudWatch's limit of 100 alarms per rule.
func TestCompositeAlarmsNameExistingAlarms(t *testing.T) {
	for _, tc := range []struct {
		env   string
		extra map[string]string
	}{
		{"dev", nil},
		{"prod", map[string]string{"scaling-aws:db": `{"instanceClass":"db.m6g.large","replicas":15}`, "scaling-aws:cache": `{"replicas":5}`}},
	} {
		s := evaluate(t, tc.env, config.UsersPlus4, tc.extra)
		names := map[string]string{}
		for _, a := range s.g.ByType(tMetricAlarm) {
			require.NotEmpty(t, a.String("name"), "%s has a fixed alarm name", a.Name)
			names[a.String("name")] = a.Name
		}
		for _, c := range s.g.ByType(tCompositeAlarm) {
			names[c.String("alarmName")] = c.Name
		}
		rules := compositeRules(s.g)
		pageNow, tomorrow := "scaling-aws-"+tc.env+"-alarms-page-now", "scaling-aws-"+tc.env+"-alarms-look-tomorrow"
		require.Contains(t, rules, pageNow)
		require.Contains(t, rules, tomorrow)
		under := map[string][]string{} // metric alarm -> top composites
		var walk func(top, name string)
		walk = func(top, name string) {
			for _, n := range rules[name] {
				require.Contains(t, names, n, "%s names an alarm the stack does not have", name)
				if _, nested := rules[n]; nested {
					walk(top, n)
				} else {
					under[n] = append(under[n], top)
				}
			}
		}
		walk(pageNow, pageNow)
		walk(tomorrow, tomorrow)
		for _, c := range rules {
			assert.LessOrEqual(t, len(c), 100, "CloudWatch allows 100 alarms per rule")
		}
		for _, a := range s.g.ByType(tMetricAlarm) {
			assert.Len(t, under[a.String("name")], 1, "%s: %s is under exactly one composite", tc.env, a.Name)
		}
		for _, page := range []string{"public-lb-elb-5xx", "public-lb-target-5xx", "public-lb-p99", "public-lb-web-unhealthy", "site-down"} {
			assert.Equal(t, []string{pageNow}, under["scaling-aws-"+tc.env+"-"+page], page)
		}
		for _, later := range []string{"app-lb-elb-5xx", "db-cpu", "web-memory", "cache-1-memory"} {
			assert.Equal(t, []string{tomorrow}, under["scaling-aws-"+tc.env+"-"+later], later)
		}
		if tc.extra != nil {
			assert.Greater(t, len(s.g.ByType(tMetricAlarm)), 100)
			assert.Greater(t, len(s.g.ByType(tCompositeAlarm)), 2, "look-tomorrow nests")
		}
		page := s.g.ByName("aws:sns/topic:Topic", "alarms-page")
		require.NotNil(t, page)
		for _, c := range s.g.ByType(tCompositeAlarm) {
			notifiesPage := false
			for _, d := range c.Dependencies {
				notifiesPage = notifiesPage || d == page.URN
			}
			assert.Equal(t, c.String("alarmName") == pageNow, notifiesPage, "only page-now notifies the page topic: %s", c.Name)
		}
	}
}

// providerRecorder notes, per resource, the provider it was given, and every provider.
type providerRecorder struct {
	mu        sync.Mutex
	providers map[string]pulumi.Resource // "type::name" of a provider -> the provider
	uses      map[string]pulumi.Resource // "type::name" -> its explicit provider
}

func (p *providerRecorder) program(opts stages.Options) pulumi.RunFunc {
	body := stages.Program(opts)
	return func(ctx *pulumi.Context) error {
		if err := ctx.RegisterStackTransformation(func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
			p.mu.Lock()
			defer p.mu.Unlock()
			if strings.HasPrefix(a.Type, "pulumi:providers:") {
				p.providers[a.Type+"::"+a.Name] = a.Resource
			}
			if o, err := pulumi.NewResourceOptions(a.Opts...); err == nil && o.Provider != nil {
				p.uses[a.Type+"::"+a.Name] = o.Provider
			}
			return nil
		}); err != nil {
			return err
		}
		return body(ctx)
	}
}

// TestSiteCheckAlarmLivesInUSEast1: Route 53 publishes health check metrics only in
// us-east-1. In a us-east-1 stack the alarm notifies the stack's topic (and page-now watches
// it); in a stack elsewhere the alarm and the page topic it notifies are created with the
// us-east-1 provider, the topic under a key of that region.
func TestSiteCheckAlarmLivesInUSEast1(t *testing.T) {
	home := evaluate(t, "dev", config.UsersPlus4, nil)
	alarm := home.g.ByName(tMetricAlarm, "site-down")
	require.NotNil(t, alarm)
	assert.Contains(t, alarm.Dependencies, home.g.ByName("aws:sns/topic:Topic", "alarms").URN)
	assert.Nil(t, home.g.ByName("aws:sns/topic:Topic", "alarms-page-us-east-1"))

	for _, env := range []string{"dev", "prod"} {
		kv, secrets := stackConfig(t, env, config.UsersPlus4, map[string]string{"aws:region": "eu-west-1"})
		rec := &providerRecorder{providers: map[string]pulumi.Resource{}, uses: map[string]pulumi.Resource{}}
		g, err := offline.Run(offline.RunOptions{Stack: env, Config: kv, SecretKeys: secrets, Root: root, Program: rec.program})
		require.NoError(t, err)
		use1 := rec.providers["pulumi:providers:aws::us-east-1"]
		require.NotNil(t, use1, "the stack has a us-east-1 provider")
		for _, k := range []string{tMetricAlarm + "::site-down", "aws:sns/topic:Topic::alarms-page-us-east-1", "scaling-aws:security:Key::key-edge"} {
			assert.Same(t, use1, rec.uses[k], "%s: %s uses the us-east-1 provider", env, k)
		}
		assert.Nil(t, rec.uses["aws:route53/healthCheck:HealthCheck::site"], "Route 53 is global: the check needs no provider")
		alarm := g.ByName(tMetricAlarm, "site-down")
		topic := g.ByName("aws:sns/topic:Topic", "alarms-page-us-east-1")
		require.NotNil(t, topic)
		assert.Contains(t, alarm.Dependencies, topic.URN, "the alarm notifies the us-east-1 page topic")
		assert.Equal(t, "HealthCheckStatus", alarm.String("metricName"))
		inComposite := false
		for _, names := range compositeRules(g) {
			for _, n := range names {
				inComposite = inComposite || n == alarm.String("name")
			}
		}
		assert.False(t, inComposite, "a composite cannot watch an alarm of another region")
	}
}

// TestMonitoringSecretsNeverInPlainText: the incident endpoint and the Sentry DSN, given as
// plain config (so the offline engine does not know to hide them), appear nowhere in the
// recorded inputs or outputs; the subscription's endpoint and the secret's string are secret
// inputs, and the API servers get the secret's ARN, not the DSN.
func TestMonitoringSecretsNeverInPlainText(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, withMonitoring)
		raw, err := json.Marshal(s.g)
		require.NoError(t, err)
		for _, secret := range []string{testEndpoint, testDSN, "k3yNeverInPlainText"} {
			assert.False(t, strings.Contains(string(raw), secret), "%s: %s in plain text in the graph", env, secret)
		}
		sub := s.g.ByName("aws:sns/topicSubscription:TopicSubscription", "alarms-page-incident")
		require.NotNil(t, sub, env)
		assert.Equal(t, "https", sub.String("protocol"))
		assert.Contains(t, sub.SecretInputs, "endpoint")
		version := s.g.ByName("aws:secretsmanager/secretVersion:SecretVersion", "sentry-dsn")
		require.NotNil(t, version, env)
		assert.Contains(t, version.SecretInputs, "secretString")
		grants := 0
		for _, p := range s.g.ByType("aws:iam/rolePolicy:RolePolicy") {
			if strings.HasPrefix(p.Name, "sentry-dsn-secret-read-") {
				grants++
			}
		}
		assert.Equal(t, 2, grants, "%s: the read and write API roles read the DSN", env)
		for _, lt := range []string{"read-api", "write-api"} {
			boot := bootEnv(t, s, lt)
			assert.Contains(t, boot["SENTRY_DSN_SECRET_ARN"], ":secret:sentry-dsn", "%s %s: the API servers are told where the DSN is", env, lt)
			assert.Contains(t, boot["SENTRY_ENVIRONMENT"], env, "%s %s", env, lt)
		}
	}
	// Without the keys: no subscription, no secret, no environment.
	s := evaluate(t, "dev", config.UsersPlus4, nil)
	assert.Nil(t, s.g.ByName("aws:sns/topicSubscription:TopicSubscription", "alarms-page-incident"))
	assert.Nil(t, s.g.ByName("aws:secretsmanager/secret:Secret", "sentry-dsn"))
}

// TestMonitoringKeysRefuseBadValues: bad values of alertEndpoint and sentryDsn fail before
// anything is registered, naming the key and never echoing the secret.
func TestMonitoringKeysRefuseBadValues(t *testing.T) {
	for _, tc := range []struct {
		key, value, stage, fix string
	}{
		{"alertEndpoint", "http://events.pagerduty.com/integration/k/enqueue", "users++++", "https://"},
		{"alertEndpoint", "https://localhost/enqueue", "users++++", "full DNS name"},
		{"alertEndpoint", "https://user:pw@events.pagerduty.com/x", "users++++", "user name"},
		{"alertEndpoint", "events.pagerduty.com/integration/k/enqueue", "users++++", "https://"},
		{"alertEndpoint", "https://events.pagerduty.com/integration/k/enqueue", "users+++", "arrives at stage users++++"},
		{"sentryDsn", "https://o1.ingest.sentry.io/42", "users++++", "public key"},
		{"sentryDsn", "https://k@o1.ingest.sentry.io/project", "users++++", "project id"},
		{"sentryDsn", "ftp://k@o1.ingest.sentry.io/42", "users++++", "https://"},
		{"sentryDsn", "https://k@o1.ingest.sentry.io/42", "users++", "arrives at stage users++++"},
	} {
		kv := map[string]string{"scaling-aws:stage": tc.stage, "aws:region": "us-east-1", "scaling-aws:" + tc.key: tc.value}
		_, err := config.Load(config.MapSource(kv))
		require.Error(t, err, "%s=%s", tc.key, tc.value)
		assert.Contains(t, err.Error(), tc.key)
		assert.Contains(t, err.Error(), tc.fix)
		assert.NotContains(t, err.Error(), tc.value, "the message never echoes the secret")
	}
	for _, ok := range []map[string]string{
		{"scaling-aws:alertEndpoint": "https://api.opsgenie.com/v1/json/cloudwatch?apiKey=abc"},
		{"scaling-aws:sentryDsn": "https://k@sentry.example.com/sub/path/7"},
	} {
		ok["scaling-aws:stage"], ok["aws:region"] = "users++++", "us-east-1"
		_, err := config.Load(config.MapSource(ok))
		assert.NoError(t, err, "%v", ok)
	}
}
