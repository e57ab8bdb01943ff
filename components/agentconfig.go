package components

import (
	"bytes"
	"encoding/json"
)

// The CloudWatch agent's configuration, one generator for the box and every server tier so
// the JSON the agent reads is the one the tests parse (docs/decisions.md, "the CloudWatch
// agent's configuration"). The shared facts are the contracts between the stack's parts:
// the log files and stream names (contract 1) and the metrics, dimensions and StatsD
// listener (contract 2) that alarms, metric filters and the custom scaling metric use.
const (
	// AgentNamespace is where the agent publishes host metrics and StatsD metrics.
	AgentNamespace = "CWAgent"
	// StatsDAddress is the agent's StatsD listener, on loopback only: the app's custom
	// metrics (app_inflight_requests) arrive there (contract 3).
	StatsDAddress = "127.0.0.1:8125"
	// NginxAccessLog and NginxErrorLog are the web tier's nginx logs (JSON access lines in
	// NginxLogFormat, nginx's own text for errors).
	NginxAccessLog = "/var/log/nginx/access.log"
	NginxErrorLog  = "/var/log/nginx/error.log"
	// AppProcess and NginxProcess are the executables procstat counts (metric
	// procstat_lookup_pid_count, dimension exe): 0 means the service is down.
	AppProcess   = "scaling-app"
	NginxProcess = "nginx"
)

// NginxLogFormat is the web tier's access log format, JSON with the fields the log metric
// filters and queries read (contract 1).
const NginxLogFormat = `log_format scaling_json escape=json '{"time":"$time_iso8601","status":$status,"sampled":$scaling_sampled,"request_time":$request_time,"upstream_response_time":"$upstream_response_time","method":"$request_method","uri":"$uri","bytes":$body_bytes_sent,"forwarded_for":"$http_x_forwarded_for","request_id":"$request_id"}';`

// Log stream suffixes: every stream is {instance_id}/<suffix> in the tier's log group.
const (
	StreamApp         = "app"
	StreamNginxAccess = "nginx-access"
	StreamNginxError  = "nginx-error"
)

// agentOptions are what differ between the box and the tiers of servers.
type agentOptions struct {
	// LogGroup receives every log file.
	LogGroup string
	// DiskPaths are the mount points whose usage is reported ("/" and the box's "/data").
	DiskPaths []string
	// AutoScaling adds the AutoScalingGroupName dimension and aggregates by group (servers of
	// a ServerGroup); without it metrics aggregate by instance and by instance and path (the
	// single box, whose alarms use those dimensions).
	AutoScaling bool
	// Nginx ships nginx's logs and counts its processes; App the app's.
	Nginx, App bool
}

// agentLogFile is one entry of the agent's collect_list.
type agentLogFile struct {
	FilePath      string `json:"file_path"`
	LogGroupName  string `json:"log_group_name"`
	LogStreamName string `json:"log_stream_name"`
	// RetentionInDays stays unset: the log group's retention is the stack's (a value here
	// would make the agent call PutRetentionPolicy, which the role may not).
}

// agentConfig renders the agent's JSON configuration.
func agentConfig(o agentOptions) (string, error) {
	dims := map[string]string{"InstanceId": "${aws:InstanceId}"}
	agg := [][]string{{"InstanceId"}, {"InstanceId", "path"}}
	if o.AutoScaling {
		dims["AutoScalingGroupName"] = "${aws:AutoScalingGroupName}"
		agg = [][]string{{"AutoScalingGroupName"}, {"InstanceId"}}
	}
	var procs []map[string]any
	var files []agentLogFile
	if o.App {
		procs = append(procs, map[string]any{"exe": AppProcess, "measurement": []string{"pid_count"}})
		files = append(files, agentLogFile{appLogFile, o.LogGroup, "{instance_id}/" + StreamApp})
	}
	if o.Nginx {
		procs = append(procs, map[string]any{"exe": NginxProcess, "measurement": []string{"pid_count"}})
		files = append(files,
			agentLogFile{NginxAccessLog, o.LogGroup, "{instance_id}/" + StreamNginxAccess},
			agentLogFile{NginxErrorLog, o.LogGroup, "{instance_id}/" + StreamNginxError})
	}
	collected := map[string]any{
		"mem":    map[string]any{"measurement": []string{"mem_used_percent"}},
		"swap":   map[string]any{"measurement": []string{"swap_used_percent"}},
		"disk":   map[string]any{"measurement": []string{"used_percent"}, "resources": o.DiskPaths, "drop_device": true},
		"diskio": map[string]any{"measurement": []string{"io_time"}},
		"net":    map[string]any{"measurement": []string{"bytes_sent", "bytes_recv"}},
		"statsd": map[string]any{
			"service_address": StatsDAddress,
			// The app sends every 10 s; the agent publishes one aggregated value a minute.
			"metrics_collection_interval":  10,
			"metrics_aggregation_interval": 60,
		},
	}
	if len(procs) > 0 {
		collected["procstat"] = procs
	}
	cfg := map[string]any{
		"agent": map[string]any{"metrics_collection_interval": 60},
		"metrics": map[string]any{
			"namespace":              AgentNamespace,
			"append_dimensions":      dims,
			"aggregation_dimensions": agg,
			"metrics_collected":      collected,
		},
		"logs": map[string]any{"logs_collected": map[string]any{"files": map[string]any{"collect_list": files}}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return "", err
	}
	return buf.String(), nil
}
