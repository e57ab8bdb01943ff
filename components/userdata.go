package components

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"text/template"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

//go:embed userdata.sh.tmpl
var userDataTemplate string

// userData holds the boot scripts: "box" (the single box) and "server" (a tier of a
// ServerGroup), sharing the "app" (install and run the release) and "agent" (CloudWatch
// agent) parts, and "converge" (State Manager's re-application of a server's files). The
// files a server is configured by are written by one block each ("app-files", "nginx-files",
// "agent-files"), which both the boot script and "converge" execute, so the two cannot
// disagree.
var userData = template.Must(template.New("userdata").Parse(userDataTemplate))

// appLogFile is where the app's systemd unit appends its JSON logs for the CloudWatch agent.
const appLogFile = "/var/log/scaling-app/app.log"

// userDataValues feed userdata.sh.tmpl.
type userDataValues struct {
	Name, Version, Region, Bucket, Key string
	// AgentConfig is the CloudWatch agent's JSON configuration (agentConfig).
	AgentConfig string
	// Root prefixes the paths the "*-files" blocks write: "" on boot, a staging directory
	// (a shell word such as "$STAGE") when converging.
	Root string
	// VolumeID, LocalDatabase, MigrateFromBox, DBHost and DBSecretArn are the box's.
	VolumeID                      string
	LocalDatabase, MigrateFromBox bool
	DBHost, DBSecretArn           string
	// Env is the app's environment, KEY=value lines, sorted.
	Env []string
	// Nginx makes the server a reverse proxy to Upstream instead of an app server.
	Nginx    bool
	Upstream string
	// AccessLogPercent is the share of requests nginx logs at random (every 4xx and 5xx is
	// logged too): ServerScriptArgs.AccessLogPercent; 0 is 100 (LogSample).
	AccessLogPercent int
	// Jobs are the scheduled runs of the app (ServerScriptArgs.Jobs).
	Jobs []ScheduledJob
}

// NginxLogFormat and NginxAccessLog feed the "nginx-files" block.
func (userDataValues) NginxLogFormat() string { return NginxLogFormat }

// LogSample is the percentage of requests the access log samples, 100 when unset.
func (v userDataValues) LogSample() int {
	if v.AccessLogPercent <= 0 {
		return 100
	}
	return v.AccessLogPercent
}

// NginxAccessLog is the access log the "nginx-files" block writes to.
func (userDataValues) NginxAccessLog() string { return NginxAccessLog }

// ServerScriptArgs configures the boot script of a tier of servers.
type ServerScriptArgs struct {
	// Tier names the tier in the script and its logs (web, read-api, write-api, worker).
	Tier string
	// Release is the app release to run (app tiers) or to name (web tier). Required.
	Release *AppRelease
	// Region is the AWS region. Required.
	Region string
	// LogGroup receives the tier's logs.
	LogGroup pulumi.StringInput
	// ProxyTo, when set, makes the tier an nginx reverse proxy to this host (the internal
	// load balancer of the application tier) instead of an app server.
	ProxyTo pulumi.StringInput
	// AccessLogPercent is, for an nginx tier, the share of requests whose access-log line
	// is written, 1 to 100, chosen at random by request id, plus every request answered 4xx
	// or 5xx. Each line says whether it is in the random sample ("sampled":1), so the
	// request-time metric averages an unbiased sample (LogAnalysis). Default: 100, every
	// request.
	AccessLogPercent int
	// Env is the app's environment (APP_ROLE, DB_HOST, ...). Values must not be secrets.
	Env map[string]pulumi.StringInput
	// Jobs run the app in another role on a schedule (systemd timers), with the same
	// environment: the workers' daily archive pass. Default: none.
	Jobs []ScheduledJob
}

// ScheduledJob is a oneshot run of the app in Role (`scaling-app -role Role`) on a systemd
// calendar, as unit scaling-<Name>.service and its timer.
type ScheduledJob struct {
	// Name names the units (scaling-<Name>.service, .timer): lowercase letters and hyphens.
	Name string
	// Role is the app role the run takes.
	Role string
	// OnCalendar is a systemd calendar expression in UTC, such as "*-*-* 03:30:00".
	OnCalendar string
	// RandomizedDelaySec spreads the servers of a tier that all run the timer, so they do
	// not start at the same second; the job itself must tolerate concurrent runs (the
	// archive pass takes a database lock). Default: 0.
	RandomizedDelaySec int
}

// ServerScript renders the boot script of a tier of servers, once every input is known.
func ServerScript(a ServerScriptArgs) pulumi.StringOutput {
	return a.render("server", "")
}

// ConvergeScript renders the script State Manager runs on the tier's servers to put their
// files back as the boot script wrote them (Operations): the same blocks, staged under a
// temporary directory and compared before anything is replaced or restarted.
func ConvergeScript(a ServerScriptArgs) pulumi.StringOutput {
	return a.render("converge", `"$STAGE"`)
}

// render executes one of the tier's scripts, once every input is known.
func (a ServerScriptArgs) render(block, root string) pulumi.StringOutput {
	keys := make([]string, 0, len(a.Env))
	for k := range a.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	proxy := a.ProxyTo
	if proxy == nil {
		proxy = pulumi.String("")
	}
	inputs := []any{a.Release.Bucket.ID, a.LogGroup, proxy}
	for _, k := range keys {
		inputs = append(inputs, a.Env[k])
	}
	return pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		vals := userDataValues{
			Name: a.Tier, Version: a.Release.Version, Region: a.Region,
			Bucket: str(v[0]), Key: a.Release.Key, Root: root,
			Nginx: a.ProxyTo != nil, Upstream: str(v[2]), Jobs: a.Jobs, AccessLogPercent: a.AccessLogPercent,
		}
		if vals.AccessLogPercent > 100 {
			return "", fmt.Errorf("server script %s: AccessLogPercent %d is over 100", a.Tier, vals.AccessLogPercent)
		}
		cfg, err := agentConfig(agentOptions{LogGroup: str(v[1]), DiskPaths: []string{"/"}, AutoScaling: true, Nginx: vals.Nginx, App: !vals.Nginx})
		if err != nil {
			return "", err
		}
		vals.AgentConfig = cfg
		for i, k := range keys {
			vals.Env = append(vals.Env, k+"="+str(v[3+i]))
		}
		var buf bytes.Buffer
		err = userData.ExecuteTemplate(&buf, block, vals)
		return buf.String(), err
	}).(pulumi.StringOutput)
}

// str renders a resolved Input value (a string, an ID or a number) as text.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case pulumi.ID:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}
