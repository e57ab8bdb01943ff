package components

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// render executes one of the boot scripts and checks it parses as bash.
func render(t *testing.T, name string, v userDataValues) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, userData.ExecuteTemplate(&buf, name, v))
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(buf.String())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "bash -n: %s\n%s", out, buf.String())
	return buf.String()
}

func TestBoxScriptLocalDatabase(t *testing.T) {
	s := render(t, "box", userDataValues{
		Name: "box", Version: "abc123", Region: "us-east-1", VolumeID: "vol-0123", Bucket: "artifacts", Key: "releases/abc123/scaling-app-linux-amd64",
		LocalDatabase: true,
		Env:           []string{"APP_ROLE=all", "DB_HOST=127.0.0.1"},
	})
	assert.Contains(t, s, "nvme-Amazon_Elastic_Block_Store_${VOLUME_ID//-/}", "finds the data volume by id")
	assert.Contains(t, s, "VOLUME_ID='vol-0123'")
	assert.Contains(t, s, "mariadb105-server")
	assert.Contains(t, s, "datadir=/data/mysql", "MySQL's data on the data volume")
	assert.Contains(t, s, "bind-address=127.0.0.1", "MySQL never listens beyond the box")
	assert.Contains(t, s, "s3://artifacts/releases/abc123/scaling-app-linux-amd64")
	assert.Contains(t, s, "APP_ROLE=all\nDB_HOST=127.0.0.1\n")
	assert.NotContains(t, s, "secretsmanager", "stage 0 needs no AWS secret")
	assert.NotContains(t, s, "nginx")
}

func TestBoxScriptMigratesOnce(t *testing.T) {
	s := render(t, "box", userDataValues{
		Name: "box", Version: "v", Region: "eu-west-1", VolumeID: "vol-1", Bucket: "b", Key: "k",
		MigrateFromBox: true, DBHost: "db.example.internal", DBSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:rds",
	})
	assert.Contains(t, s, "/data/migrated-to-rds", "a marker makes the copy happen once")
	assert.Contains(t, s, `if [ "$TABLES" = "0" ]`, "copies only into an empty database")
	assert.Contains(t, s, "--secret-id 'arn:aws:secretsmanager:eu-west-1:1:secret:rds'")
	assert.Contains(t, s, "systemctl disable --now mariadb", "the local server stops after the copy")
	assert.NotContains(t, s, "systemctl enable --now mariadb")
}

func TestServerScripts(t *testing.T) {
	web := render(t, "server", userDataValues{Name: "web", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", Nginx: true, Upstream: "internal-app.elb.amazonaws.com"})
	assert.Contains(t, web, "set $app http://internal-app.elb.amazonaws.com;")
	assert.Contains(t, web, "resolver 169.254.169.253", "re-resolves the load balancer's changing addresses")
	assert.Contains(t, web, "location = /healthz")
	assert.NotContains(t, web, "scaling-app.service", "the web tier runs no app")

	app := render(t, "server", userDataValues{Name: "read-api", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", Env: []string{"APP_ROLE=read"}})
	assert.Contains(t, app, "APP_ROLE=read")
	assert.Contains(t, app, "systemctl enable --now scaling-app")
	assert.NotContains(t, app, "nginx")
	assert.NotContains(t, app, "/data/mysql", "no database on an app server")
}

// nginxBinary is Debian's nginx, which scripts/test.sh installs; the test is skipped
// without it, unless SCALING_AWS_REQUIRE_SERVERS=1.
func nginxBinary(t *testing.T) string {
	t.Helper()
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
	return nginx
}

// webNginxConf renders the web tier's nginx configuration for v as a whole nginx.conf in
// dir (its logs and pid there too), with edit applied to the server's configuration.
func webNginxConf(t *testing.T, dir string, v userDataValues, edit func(string) string) string {
	t.Helper()
	web := render(t, "server", v)
	start := strings.Index(web, "<<'NGINX'\n")
	end := strings.Index(web, "\nNGINX\n")
	require.True(t, start > 0 && end > start, "the script writes an nginx config")
	// nginx opens the log files: point them into the test's directory.
	conf := edit(strings.ReplaceAll(web[start+len("<<'NGINX'\n"):end], "/var/log/nginx/", dir+"/"))
	main := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n  access_log off;\n" + conf + "\n}\n"
	path := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(path, []byte(main), 0o644))
	return path
}

// TestWebTierNginxConfigIsValid renders the web tier's nginx configuration, logging every
// request and a sample, and has a real nginx check it with nginx -t.
func TestWebTierNginxConfigIsValid(t *testing.T) {
	nginx := nginxBinary(t)
	for _, percent := range []int{0, 100, 1, 10} {
		dir := t.TempDir()
		conf := webNginxConf(t, dir, userDataValues{Name: "web", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", Nginx: true,
			Upstream: "internal-app-lb-1.us-east-1.elb.amazonaws.com", AccessLogPercent: percent}, func(s string) string { return s })
		out, err := exec.Command(nginx, "-t", "-p", dir, "-e", dir+"/error.log", "-c", conf).CombinedOutput()
		require.NoError(t, err, "nginx -t at %d%%:\n%s", percent, out)
		assert.Contains(t, string(out), "syntax is ok")
	}
}

// TestWebTierAccessLogSample runs the web tier's nginx in front of a test upstream: with a
// 10% sample, every 404 and 500 is logged, about a tenth of the 200s, and the sampled lines
// (those the request-time metric averages) are a random share of all; with the default,
// every request is logged and sampled.
func TestWebTierAccessLogSample(t *testing.T) {
	nginx := nginxBinary(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			http.Error(w, "broken", http.StatusInternalServerError)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer upstream.Close()
	for _, percent := range []int{10, 0} {
		dir := t.TempDir()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		conf := webNginxConf(t, dir, userDataValues{Name: "web", Nginx: true, Upstream: strings.TrimPrefix(upstream.URL, "http://"), AccessLogPercent: percent},
			func(s string) string {
				return strings.Replace(s, "listen 8080 default_server;", fmt.Sprintf("listen 127.0.0.1:%d default_server;", port), 1)
			})
		cmd := exec.Command(nginx, "-p", dir, "-e", dir+"/error.log", "-c", conf, "-g", "daemon off; master_process off;")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		up := false
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if res, err := http.Get(base + "/healthz"); err == nil {
				res.Body.Close()
				up = true
				break
			}
		}
		if !up {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("nginx never answered: %s", stderr.String())
		}
		const oks, missing, broken = 400, 5, 3
		for path, n := range map[string]int{"/": oks, "/missing": missing, "/broken": broken} {
			for range n {
				res, err := http.Get(base + path)
				require.NoError(t, err)
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: the log is flushed
		cmd.Wait()
		raw, err := os.ReadFile(filepath.Join(dir, "access.log"))
		require.NoError(t, err)
		count := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var rec struct {
				Status  int
				Sampled int
				URI     string
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			count[fmt.Sprintf("%d sampled=%d", rec.Status, rec.Sampled)]++
		}
		got := func(status int) int {
			return count[fmt.Sprintf("%d sampled=0", status)] + count[fmt.Sprintf("%d sampled=1", status)]
		}
		assert.Equal(t, missing, got(404), "%d%%: every 404 is logged: %v", percent, count)
		assert.Equal(t, broken, got(500), "%d%%: every 500 is logged: %v", percent, count)
		assert.Zero(t, count["200 sampled=0"], "%d%%: a 200 is logged only when sampled: %v", percent, count)
		if percent == 0 {
			assert.Equal(t, oks, count["200 sampled=1"], "every request logged by default: %v", count)
			continue
		}
		// Binomial(400, 0.1): mean 40, standard deviation 6; 15 to 70 is beyond 4 of them.
		assert.True(t, count["200 sampled=1"] >= 15 && count["200 sampled=1"] <= 70, "about a tenth of the 200s: %v", count)
	}
}

// agentJSON parses the CloudWatch agent configuration a script writes.
func agentJSON(t *testing.T, script string) map[string]any {
	t.Helper()
	start := strings.Index(script, "amazon-cloudwatch-agent.json <<'CW'\n")
	require.True(t, start > 0, "the script writes the agent's configuration")
	body := script[start+len("amazon-cloudwatch-agent.json <<'CW'\n"):]
	end := strings.Index(body, "\nCW\n")
	require.True(t, end > 0)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(body[:end]), &cfg))
	return cfg
}

// TestAgentConfigContract: the agent configuration of a server tier is contracts 1 and 2
// exactly (namespace, dimensions, aggregation, metrics, StatsD, log files and streams); the
// box keeps the per-instance aggregation its alarms use.
func TestAgentConfigContract(t *testing.T) {
	for _, tc := range []struct {
		tier  string
		nginx bool
		files map[string]string
		exe   string
	}{
		{"web", true, map[string]string{NginxAccessLog: "{instance_id}/nginx-access", NginxErrorLog: "{instance_id}/nginx-error"}, "nginx"},
		{"read-api", false, map[string]string{"/var/log/scaling-app/app.log": "{instance_id}/app"}, "scaling-app"},
	} {
		cfgText, err := agentConfig(agentOptions{LogGroup: "/scaling-aws/" + tc.tier + "/app-1", DiskPaths: []string{"/"}, AutoScaling: true, Nginx: tc.nginx, App: !tc.nginx})
		require.NoError(t, err)
		v := userDataValues{Name: tc.tier, Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", AgentConfig: cfgText, Nginx: tc.nginx, Upstream: "internal.elb", Env: []string{"APP_ROLE=read"}}
		cfg := agentJSON(t, render(t, "server", v))
		m := cfg["metrics"].(map[string]any)
		assert.Equal(t, "CWAgent", m["namespace"], tc.tier)
		assert.Equal(t, map[string]any{"InstanceId": "${aws:InstanceId}", "AutoScalingGroupName": "${aws:AutoScalingGroupName}"}, m["append_dimensions"])
		assert.Equal(t, []any{[]any{"AutoScalingGroupName"}, []any{"InstanceId"}}, m["aggregation_dimensions"])
		c := m["metrics_collected"].(map[string]any)
		assert.Equal(t, []any{"mem_used_percent"}, c["mem"].(map[string]any)["measurement"])
		assert.Equal(t, []any{"swap_used_percent"}, c["swap"].(map[string]any)["measurement"])
		assert.Equal(t, []any{"used_percent"}, c["disk"].(map[string]any)["measurement"], "published as disk_used_percent")
		assert.Equal(t, []any{"/"}, c["disk"].(map[string]any)["resources"])
		assert.Equal(t, []any{map[string]any{"exe": tc.exe, "measurement": []any{"pid_count"}}}, c["procstat"])
		assert.Equal(t, map[string]any{"service_address": "127.0.0.1:8125", "metrics_collection_interval": 10.0, "metrics_aggregation_interval": 60.0}, c["statsd"])
		files := map[string]string{}
		for _, f := range cfg["logs"].(map[string]any)["logs_collected"].(map[string]any)["files"].(map[string]any)["collect_list"].([]any) {
			e := f.(map[string]any)
			assert.Equal(t, "/scaling-aws/"+tc.tier+"/app-1", e["log_group_name"], "one log group per tier")
			files[e["file_path"].(string)] = e["log_stream_name"].(string)
		}
		assert.Equal(t, tc.files, files, tc.tier)
	}

	boxCfg, err := agentConfig(agentOptions{LogGroup: "g", DiskPaths: []string{"/", "/data"}, App: true})
	require.NoError(t, err)
	box := agentJSON(t, render(t, "box", userDataValues{Name: "box", Version: "v", Region: "us-east-1", VolumeID: "vol-1", Bucket: "b", Key: "k", AgentConfig: boxCfg, LocalDatabase: true}))
	m := box["metrics"].(map[string]any)
	assert.Equal(t, map[string]any{"InstanceId": "${aws:InstanceId}"}, m["append_dimensions"], "the box is in no Auto Scaling group")
	assert.Equal(t, []any{[]any{"InstanceId"}, []any{"InstanceId", "path"}}, m["aggregation_dimensions"], "the box's memory and data-disk alarms")
	assert.Equal(t, []any{"/", "/data"}, m["metrics_collected"].(map[string]any)["disk"].(map[string]any)["resources"])
}

// TestNginxLogsJSON: the web tier's access log uses the contract's JSON format, set in the
// server block so nginx.conf's "main" format does not log there too.
func TestNginxLogsJSON(t *testing.T) {
	web := render(t, "server", userDataValues{Name: "web", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", Nginx: true, Upstream: "u"})
	assert.Contains(t, web, "\n"+NginxLogFormat+"\n")
	assert.Contains(t, web, "  access_log /var/log/nginx/access.log scaling_json if=$scaling_log;\n")
	assert.Regexp(t, `server \{[^}]*access_log /var/log/nginx/access.log scaling_json if=\$scaling_log;`, web)
}

// TestConvergeScript: the convergence renders the boot script's own blocks into a staging
// directory, waits for the boot to finish, and restarts only what changed.
func TestConvergeScript(t *testing.T) {
	cfg, err := agentConfig(agentOptions{LogGroup: "g", DiskPaths: []string{"/"}, AutoScaling: true, App: true})
	require.NoError(t, err)
	v := userDataValues{Name: "read-api", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", AgentConfig: cfg, Env: []string{"APP_ROLE=read", "DB_HOST=db"}}
	boot := render(t, "server", v)
	v.Root = `"$STAGE"`
	conv := render(t, "converge", v)
	for _, file := range []string{"/etc/scaling-app.env <<'ENV'", "/etc/systemd/system/scaling-app.service <<'UNIT'", "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CW'"} {
		assert.Contains(t, boot, "cat > "+file, "the boot script writes it in place")
		assert.Contains(t, conv, `cat > "$STAGE"`+file, "the convergence stages it")
	}
	// What each writes is the same text: the blocks are shared.
	unit := func(s string) string { return s[strings.Index(s, "<<'UNIT'\n"):strings.Index(s, "\nUNIT\n")] }
	assert.Equal(t, unit(boot), unit(conv))
	assert.Equal(t, agentJSON(t, boot), agentJSON(t, conv))
	assert.Contains(t, conv, "[ ! -f /var/lib/scaling-aws/booted ]", "never races the boot script")
	assert.Contains(t, boot, "> /var/lib/scaling-aws/booted")
	assert.Contains(t, conv, `if [ "$RESTART" = 1 ]; then`, "restarts the app only when its files changed")
	assert.NotContains(t, conv, "aws s3 cp", "a release is a new server, not a convergence")
	assert.NotContains(t, conv, "{{", "SSM documents read {{ }} as parameters")
}
