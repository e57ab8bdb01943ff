package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/app"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

const (
	tokTrail        = "aws:cloudtrail/trail:Trail"
	tokMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
	tokQuery        = "aws:cloudwatch/queryDefinition:QueryDefinition"
	tokLogGroup     = "aws:cloudwatch/logGroup:LogGroup"
	tokAlarm        = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tokKMSKey       = "aws:kms/key:Key"
	tokBucketPolicy = "aws:s3/bucketPolicy:BucketPolicy"
)

// logRules are the log and audit rules users++++ must pass, each over at least one resource.
var logRules = []string{"TRAIL-1", "TRAIL-2", "TRAIL-3", "TRAIL-4", "TRAIL-5", "LOG-1", "LOG-2", "MON-2"}

// byName returns the custom resource of a type with a logical name.
func byName(t *testing.T, g *graph.Graph, typ, name string) *graph.Resource {
	t.Helper()
	for _, r := range g.ByType(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s %q", typ, name)
	return nil
}

func dependsOn(r, on *graph.Resource) bool {
	for _, d := range r.Dependencies {
		if d == on.URN {
			return true
		}
	}
	return false
}

// statements decodes a policy document's statements.
func statements(t *testing.T, policy any) []map[string]any {
	t.Helper()
	s, ok := policy.(string)
	require.True(t, ok, "policy is a JSON string")
	var doc struct{ Statement []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(s), &doc))
	return doc.Statement
}

func servicePrincipal(s map[string]any) string {
	p, _ := s["Principal"].(map[string]any)
	v, _ := p["Service"].(string)
	return v
}

// TestUsersPlus4LogsAndAudit: dev and prod users++++ have the trail with its settings, the
// metric filters on every tier's log group each with its alarm on the topic, the saved
// queries over existing log groups, and a stack key that lets CloudTrail use it for this
// trail only; the log and audit rules pass over them.
func TestUsersPlus4LogsAndAudit(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			s := evaluate(t, env, config.UsersPlus4, nil)
			g := s.g
			name := components.TrailName("scaling-aws", env)
			arn := components.TrailArn("aws", s.cfg.Region, "123456789012", name)

			trail := s.one(t, tokTrail)
			for k, want := range map[string]any{
				"name": name, "isMultiRegionTrail": true, "includeGlobalServiceEvents": true, "enableLogFileValidation": true,
				"enableLogging": true, "isOrganizationTrail": false,
			} {
				assert.Equal(t, want, trail.Inputs[k], k)
			}
			assert.Equal(t, []any{map[string]any{"includeManagementEvents": true, "readWriteType": "All"}}, trail.Inputs["eventSelectors"])
			key := s.one(t, tokKMSKey)
			assert.True(t, dependsOn(trail, key), "encrypted with the stack key in %s too", env)
			events := byName(t, g, tokLogGroup, "trail-events")
			assert.True(t, dependsOn(trail, events))
			assert.True(t, strings.HasSuffix(trail.Inputs["cloudWatchLogsGroupArn"].(string), ":*"), "CloudTrail wants the stream wildcard")
			assert.Equal(t, float64(s.cfg.LogRetentionDays), events.Inputs["retentionInDays"])
			policy := byName(t, g, tokBucketPolicy, "trail-files")
			assert.True(t, dependsOn(trail, policy), "CloudTrail checks the bucket policy at CreateTrail")
			bucket := byName(t, g, "aws:s3/bucketV2:BucketV2", "trail-files")
			assert.Equal(t, env == "prod", bucket.Protect, "the audit record is protected in prod")
			lifecycle := byName(t, g, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "trail-files")
			exp, _ := lifecycle.Lookup("rules.0.expiration.days")
			assert.Equal(t, float64(max(365, s.cfg.LogRetentionDays)), exp, "files kept at least a year")
			var ctStmts int
			for _, st := range statements(t, policy.Inputs["policy"]) {
				if servicePrincipal(st) == "cloudtrail.amazonaws.com" {
					ctStmts++
					assert.Equal(t, arn, st["Condition"].(map[string]any)["StringEquals"].(map[string]any)["aws:SourceArn"], "bucket: this trail only")
				}
			}
			assert.Equal(t, 2, ctStmts, "GetBucketAcl and PutObject")

			// The key policy: CloudTrail may use the key for this trail, and only under it.
			ct := 0
			for _, st := range statements(t, key.Inputs["policy"]) {
				if servicePrincipal(st) != "cloudtrail.amazonaws.com" {
					continue
				}
				ct++
				cond, _ := st["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				assert.Equal(t, arn, eq["aws:SourceArn"], "statement %v", st["Sid"])
			}
			assert.Equal(t, 2, ct, "encrypt and describe")

			// Filters on every tier's log group, each alarmed on the stack's topic.
			topic := s.g.ByName("aws:sns/topic:Topic", "alarms") // the stack topic (alarms-page pages)
			require.NotNil(t, topic)
			want := map[string][]string{
				"web-app":       {components.Nginx5xxPattern, components.NginxRequestTimePattern, components.NginxErrorLogPattern},
				"read-api-app":  {components.AppErrorPattern},
				"write-api-app": {components.AppErrorPattern},
			}
			for group, patterns := range want {
				lg := byName(t, g, tokLogGroup, group)
				var got []string
				for _, mf := range g.ByType(tokMetricFilter) {
					if dependsOn(mf, lg) {
						got = append(got, mf.Inputs["pattern"].(string))
						assert.True(t, strings.HasPrefix(mf.Inputs["logGroupName"].(string), group+"-"), "%s reads %s", mf.Name, group)
					}
				}
				assert.ElementsMatch(t, patterns, got, group)
			}
			for _, mf := range g.ByType(tokMetricFilter) {
				ns, _ := mf.Lookup("metricTransformation.namespace")
				metric, _ := mf.Lookup("metricTransformation.name")
				assert.Equal(t, "scaling-aws/"+env+"/logs", ns, "one namespace per stack")
				n := 0
				for _, a := range g.ByType(tokAlarm) {
					if a.Inputs["namespace"] == ns && a.Inputs["metricName"] == metric {
						n++
						assert.True(t, dependsOn(a, topic), "%s notifies the topic", a.Name)
						assert.True(t, dependsOn(a, mf), "%s waits for its filter", a.Name)
						assert.Equal(t, "notBreaching", a.Inputs["treatMissingData"], "no lines is no errors")
					}
				}
				assert.Equal(t, 1, n, "one alarm on %v", metric)
			}

			// Saved queries, each over log groups that exist (the names the engine gave them).
			queries := g.ByType(tokQuery)
			require.Len(t, queries, 8)
			for _, q := range queries {
				names, _ := q.Inputs["logGroupNames"].([]any)
				require.NotEmpty(t, names, q.Name)
				for _, n := range names {
					found := false
					for _, lg := range g.ByType(tokLogGroup) {
						found = found || dependsOn(q, lg) && strings.HasPrefix(n.(string), lg.Name+"-")
					}
					assert.True(t, found, "%s names %v, which is no log group of the stack", q.Name, n)
				}
				assert.True(t, strings.HasPrefix(q.Inputs["name"].(string), "scaling-aws-"+env+"/"), "in the stack's folder")
			}

			rep := rules.Check(g, rules.Context{Environment: env, Stage: int(config.UsersPlus4), Force: logRules, Waivers: stages.Waivers(s.cfg)})
			for _, id := range logRules {
				res, ok := rep.Result(id)
				require.True(t, ok, id)
				assert.True(t, res.Applied && res.Examined > 0 && !res.Failed(), "%s: %v", id, res.Violations)
			}
		})
	}
}

// TestUsersPlus4WithoutATrail: cloudTrail = false leaves out the trail, its key statements
// and its queries, and is the named waiver ACCOUNT-TRAIL of TRAIL-1 alone; the log analysis
// stays. Before users++++ there is no trail either.
func TestUsersPlus4WithoutATrail(t *testing.T) {
	s := evaluate(t, "dev", config.UsersPlus4, map[string]string{"scaling-aws:cloudTrail": "false"})
	assert.Zero(t, s.count(tokTrail))
	for _, st := range statements(t, s.one(t, tokKMSKey).Inputs["policy"]) {
		assert.NotEqual(t, "cloudtrail.amazonaws.com", servicePrincipal(st))
	}
	assert.Len(t, s.g.ByType(tokQuery), 6, "no audit queries")
	assert.Len(t, s.g.ByType(tokMetricFilter), 5)
	w := stages.Waivers(s.cfg)
	assert.Contains(t, w["TRAIL-1"], stages.AccountTrail)
	rep := rules.Check(s.g, rules.Context{Environment: "dev", Stage: int(config.UsersPlus4), Waivers: w})
	res, _ := rep.Result("TRAIL-1")
	assert.True(t, res.Applied && !res.Failed() && len(res.Violations) == 1, "waived, and still reported: %v", res.Violations)
	rep = rules.Check(s.g, rules.Context{Environment: "dev", Stage: int(config.UsersPlus4)})
	res, _ = rep.Result("TRAIL-1")
	assert.True(t, res.Failed(), "without the waiver a stack without a trail fails TRAIL-1")

	on := evaluate(t, "dev", config.UsersPlus4, nil)
	assert.NotContains(t, stages.Waivers(on.cfg), "TRAIL-1")
	below := evaluate(t, "dev", config.UsersPlus3, nil)
	assert.Zero(t, below.count(tokTrail))
	for _, st := range statements(t, below.one(t, tokKMSKey).Inputs["policy"]) {
		assert.NotEqual(t, "cloudtrail.amazonaws.com", servicePrincipal(st), "the key names no trail before users++++")
	}
}

// jsonLines decodes newline-separated JSON objects.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "a JSON line: %s", sc.Text())
		out = append(out, m)
	}
	return out
}

// TestAppLinesCarryWhatTheFiltersName: the app's own error path, logging through the slog
// JSON handler as cmd/scaling-app does, writes the level and value AppErrorPattern and the
// errors query name (an ERROR line for an internal error, WARN for an unavailable
// dependency, which the filter must not count), and request lines carry a numeric status.
func TestAppLinesCarryWhatTheFiltersName(t *testing.T) {
	require.Equal(t, `{ $.level = "ERROR" }`, components.AppErrorPattern, "the field and value checked below")
	var buf bytes.Buffer
	s := &apphttp.Server{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h := s.Handler()
	s.Error(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/posts/7", nil), errors.New("dial tcp 10.0.3.9:3306: connection refused"))
	s.Error(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/posts", nil), app.Errorf(app.EUNAVAILABLE, "the cache is down"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

	lines := jsonLines(t, buf.Bytes())
	byMsg := map[string]map[string]any{}
	for _, l := range lines {
		for _, k := range []string{"time", "level", "msg"} {
			assert.IsType(t, "", l[k], "every line has %s as a string", k)
		}
		byMsg[l["msg"].(string)] = l
	}
	internal := byMsg["internal error"]
	require.NotNil(t, internal, "lines: %s", buf.String())
	assert.Equal(t, "ERROR", internal["level"], "an internal error is what the filter counts")
	for _, k := range []string{"method", "path", "err"} {
		assert.IsType(t, "", internal[k], "the errors query shows %s", k)
	}
	unavailable := byMsg["dependency unavailable"]
	require.NotNil(t, unavailable)
	assert.Equal(t, "WARN", unavailable["level"], "a 503 with Retry-After is not an error line")
	req := byMsg["request"]
	require.NotNil(t, req)
	assert.IsType(t, float64(0), req["status"], "status is a JSON number")
	assert.IsType(t, float64(0), req["duration_ms"])
}

// scalingJSON is nginx's access log format of the helpers' contract 1.
const scalingJSON = `log_format scaling_json escape=json '{"time":"$time_iso8601","status":$status,"sampled":$scaling_sampled,"request_time":$request_time,"upstream_response_time":"$upstream_response_time","method":"$request_method","uri":"$uri","bytes":$body_bytes_sent,"forwarded_for":"$http_x_forwarded_for","request_id":"$request_id"}';`

// TestNginxLinesCarryWhatTheFiltersName runs Debian's nginx (scripts/test.sh installs it)
// with the contract's log format in front of a live upstream and a dead one, and checks the
// lines it writes: status and request_time are JSON numbers (so { $.status >= 500 } and the
// request_time value work), a 502 is >= 500 and a 200 is not, upstream_response_time is a
// string (why no metric reads it), and the error log's upstream failure holds "[error]".
func TestNginxLinesCarryWhatTheFiltersName(t *testing.T) {
	require.Equal(t, `{ $.status >= 500 }`, components.Nginx5xxPattern)
	require.Equal(t, `{ $.sampled = 1 && $.request_time >= 0 }`, components.NginxRequestTimePattern)
	require.Equal(t, scalingJSON, components.NginxLogFormat, "the format under test is the servers'")
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		if os.Getenv("SCALING_AWS_REQUIRE_SERVERS") == "1" {
			t.Fatal("nginx is not installed: scripts/test.sh installs it")
		}
		t.Skip("nginx not installed; scripts/test.sh installs it")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer upstream.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	require.NoError(t, dead.Close()) // nothing listens there: connect() is refused
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	dir := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  map $request_id $scaling_sampled { default 1; }
  %[2]s
  access_log %[1]s/access.log scaling_json;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen 127.0.0.1:%[3]d;
    location /dead/ { proxy_pass http://%[4]s; }
    location / { proxy_pass %[5]s; }
  }
}
`, dir, scalingJSON, port, deadAddr, upstream.URL)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644))
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var up bool
	for i := 0; i < 100 && !up; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			up = true
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	require.True(t, up, "nginx did not start: %s", stderr.String())
	for _, path := range []string{"/api/posts/1", "/dead/api/posts/2"} {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		res.Body.Close()
	}
	// nginx writes a request's access line once the request is finalized, which may follow
	// the response the client read: wait for both lines.
	var access []byte
	for i := 0; i < 100; i++ {
		access, _ = os.ReadFile(filepath.Join(dir, "access.log"))
		if bytes.Count(access, []byte("\n")) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lines := jsonLines(t, access)
	require.Len(t, lines, 2, "%s", access)
	byURI := map[string]map[string]any{}
	for _, l := range lines {
		assert.IsType(t, float64(0), l["status"], "status is a JSON number")
		assert.IsType(t, float64(0), l["request_time"], "request_time is a JSON number")
		assert.Equal(t, 1.0, l["sampled"], "sampled is the JSON number the request-time filter compares")
		assert.GreaterOrEqual(t, l["request_time"].(float64), 0.0)
		assert.IsType(t, "", l["upstream_response_time"], "a string: no metric value reads it")
		for _, k := range []string{"method", "uri", "request_id"} {
			assert.IsType(t, "", l[k], "the queries show %s", k)
		}
		byURI[l["uri"].(string)] = l
	}
	assert.Less(t, byURI["/api/posts/1"]["status"].(float64), 500.0)
	assert.Equal(t, 502.0, byURI["/dead/api/posts/2"]["status"], "a dead upstream is a 502, which the 5xx filter counts")

	errLog, err := os.ReadFile(filepath.Join(dir, "error.log"))
	require.NoError(t, err)
	var upstreamErr string
	for _, line := range strings.Split(string(errLog), "\n") {
		if strings.Contains(line, "connect() failed") {
			upstreamErr = line
		}
	}
	require.NotEmpty(t, upstreamErr, "nginx logs the refused upstream: %s", errLog)
	assert.Contains(t, upstreamErr, "[error]", "a term of NginxErrorLogPattern")
	assert.Contains(t, components.NginxErrorLogPattern, `?"[error]"`)
	assert.NotContains(t, string(access), "[error]", "the access lines of these requests hold no error-log term")
}

// TestWebAccessLogSample: prod's web tier logs a 1% random sample of its requests (and
// every 4xx and 5xx), dev every request, a set webAccessLogPercent is what the servers get,
// and the request-time metric reads only the sampled lines.
func TestWebAccessLogSample(t *testing.T) {
	for _, c := range []struct {
		env   string
		extra map[string]string
		want  string
	}{
		{"prod", prodDomain, `split_clients "${request_id}" $scaling_sampled { 1% 1; * 0; }`},
		{"dev", nil, `map $request_id $scaling_sampled { default 1; }`},
		{"dev", map[string]string{"scaling-aws:webAccessLogPercent": "25"}, `split_clients "${request_id}" $scaling_sampled { 25% 1; * 0; }`},
	} {
		s := evaluate(t, c.env, config.UsersPlus4, c.extra)
		web := launchScript(t, s, "web")
		assert.Contains(t, web, c.want, "%s %v", c.env, c.extra)
		assert.Contains(t, web, "scaling_json if=$scaling_log;", "%s %v", c.env, c.extra)
		assert.NotContains(t, launchScript(t, s, "read-api"), "scaling_sampled", "the app tiers run no nginx")
		filter := byName(t, s.g, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "log-analysis-web-request-time")
		assert.Contains(t, filter.String("pattern"), "$.sampled = 1", "%s: the average reads the random sample only", c.env)
	}
}
