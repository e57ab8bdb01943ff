package tests

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/internal/rules"
)

// opsTiers are users++++'s server groups, by logical name.
var opsTiers = []string{"web", "read-api", "write-api"}

// groupNames maps each server tier to its Auto Scaling group's name, read from the group's
// CPU scaling policy (the recorded graph holds inputs, and the policy's input is the name).
func groupNames(t *testing.T, s *stack) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tier := range opsTiers {
		p := s.g.ByName("aws:autoscaling/policy:Policy", tier+"-cpu")
		require.NotNil(t, p, tier)
		out[tier] = p.String("autoscalingGroupName")
		require.NotEmpty(t, out[tier], tier)
	}
	return out
}

// targets reads a targets input as key -> values.
func targets(t *testing.T, r *graph.Resource) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	v, ok := r.Lookup("targets")
	require.True(t, ok, r.Name)
	for _, e := range v.([]any) {
		m := e.(map[string]any)
		for _, x := range m["values"].([]any) {
			out[m["key"].(string)] = append(out[m["key"].(string)], x.(string))
		}
	}
	return out
}

// TestOperationsTargetTheServerGroups: at users++++ (dev and prod) the convergence
// associations and the patch window reach exactly the three server groups, by the tag EC2
// Auto Scaling puts on their instances, and the instances carry the patch group the
// baseline is registered for.
func TestOperationsTargetTheServerGroups(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			s := evaluate(t, env, config.UsersPlus4, nil)
			groups := groupNames(t, s)

			assocs := s.g.ByType("aws:ssm/association:Association")
			require.Len(t, assocs, len(opsTiers))
			for _, tier := range opsTiers {
				a := s.g.ByName("aws:ssm/association:Association", "operations-"+tier+"-converge")
				require.NotNil(t, a, tier)
				assert.Equal(t, map[string][]string{"tag:aws:autoscaling:groupName": {groups[tier]}}, targets(t, a), tier)
				assert.Equal(t, "rate(30 minutes)", a.String("scheduleExpression"))
				assert.Equal(t, "1", a.String("maxConcurrency"), "one server of the tier at a time")
				assert.Equal(t, "1", a.String("maxErrors"))
				assert.Equal(t, "HIGH", a.String("complianceSeverity"))
				doc := s.g.ByName("aws:ssm/document:Document", "operations-"+tier+"-converge")
				require.NotNil(t, doc)
				assert.Equal(t, doc.String("name"), a.String("name"), "runs the tier's own document")
				assert.Equal(t, "Command", doc.String("documentType"))
				assert.Equal(t, "1", a.String("documentVersion"), "pinned to the document's latest version")
			}

			target := s.one(t, "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
			want := []string{groups["web"], groups["read-api"], groups["write-api"]}
			got := targets(t, target)["tag:aws:autoscaling:groupName"]
			sort.Strings(want)
			sort.Strings(got)
			assert.Equal(t, want, got, "the window patches the three groups and nothing else")
			assert.Len(t, targets(t, target), 1)
			assert.Equal(t, "INSTANCE", target.String("resourceType"))

			window := s.one(t, "aws:ssm/maintenanceWindow:MaintenanceWindow")
			assert.Equal(t, "cron(0 3 ? * SUN *)", window.String("schedule"), "weekly, Sunday 03:00")
			assert.Equal(t, "America/Los_Angeles", window.String("scheduleTimezone"))
			d, _ := window.Number("duration")
			c, _ := window.Number("cutoff")
			assert.Equal(t, []float64{3, 1}, []float64{d, c})

			task := s.one(t, "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
			assert.Equal(t, "AWS-RunPatchBaseline", task.String("taskArn"))
			assert.Equal(t, "RUN_COMMAND", task.String("taskType"))
			assert.Equal(t, "1", task.String("maxConcurrency"), "one server of the stack at a time keeps every tier's capacity")
			assert.Equal(t, "0", task.String("maxErrors"), "the first failure stops the rollout")
			assert.Empty(t, task.String("serviceRoleArn"), "Systems Manager's service-linked role runs it")
			params := map[string]string{}
			v, _ := task.Lookup("taskInvocationParameters.runCommandParameters.parameters")
			for _, p := range v.([]any) {
				m := p.(map[string]any)
				params[m["name"].(string)] = m["values"].([]any)[0].(string)
			}
			assert.Equal(t, map[string]string{"Operation": "Install", "RebootOption": "RebootIfNeeded"}, params)
			assert.Equal(t, map[string][]string{"WindowTargetIds": {target.String("windowId")}}, map[string][]string{"WindowTargetIds": {task.String("windowId")}})

			baseline := s.one(t, "aws:ssm/patchBaseline:PatchBaseline")
			assert.Equal(t, "AMAZON_LINUX_2023", baseline.String("operatingSystem"))
			days := map[string]float64{"dev": 3, "prod": 7}[env]
			for i, sev := range []string{"Critical", "Important"} {
				rule := "approvalRules." + string(rune('0'+i))
				n, _ := baseline.Number(rule + ".approveAfterDays")
				assert.Equal(t, days, n, "dev installs an update days before prod")
				assert.Equal(t, "Security", baseline.String(rule+".patchFilters.0.values.0"))
				assert.Equal(t, sev, baseline.String(rule+".patchFilters.1.values.0"))
				assert.False(t, baseline.Bool(rule+".enableNonSecurity"))
			}
			group := s.one(t, "aws:ssm/patchGroup:PatchGroup").String("patchGroup")
			assert.Equal(t, "scaling-aws-"+env, group)
			for _, tier := range opsTiers {
				lt := s.g.ByName("aws:ec2/launchTemplate:LaunchTemplate", tier)
				assert.Equal(t, group, lt.String("tagSpecifications.0.tags.PatchGroup"), "%s instances name the patch group", tier)
			}
		})
	}
}

// TestSessionsAreLoggedAndEncrypted: the account's session preferences stream every session
// to a log group encrypted with the stack key and kept a year, and encrypt the session itself
// with the stack key, in dev and prod.
func TestSessionsAreLoggedAndEncrypted(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, nil)
		doc := s.g.ByName("aws:ssm/document:Document", "operations-session-preferences")
		require.NotNil(t, doc)
		assert.Equal(t, "SSM-SessionManagerRunShell", doc.String("name"), "the document Session Manager reads by default")
		assert.Equal(t, "Session", doc.String("documentType"))
		var content struct {
			SessionType string         `json:"sessionType"`
			Inputs      map[string]any `json:"inputs"`
		}
		require.NoError(t, json.Unmarshal([]byte(doc.String("content")), &content))
		assert.Equal(t, "Standard_Stream", content.SessionType)
		in := content.Inputs
		assert.Equal(t, true, in["cloudWatchStreamingEnabled"])
		assert.Equal(t, true, in["cloudWatchEncryptionEnabled"], "only to an encrypted log group")
		assert.Equal(t, false, in["runAsEnabled"])
		assert.Equal(t, "20", in["idleSessionTimeout"])
		assert.Equal(t, "60", in["maxSessionDuration"])

		key := s.g.ByName("aws:kms/key:Key", "key")
		require.NotNil(t, key)
		assert.Contains(t, in["kmsKeyId"], ":key/", "the session stream is encrypted with a KMS key")
		group := s.g.ByName("aws:cloudwatch/logGroup:LogGroup", "operations-sessions")
		require.NotNil(t, group)
		assert.Equal(t, in["kmsKeyId"], group.String("kmsKeyId"), "the stack key encrypts the session stream and its log group")
		assert.Equal(t, "/scaling-aws/sessions-", group.String("namePrefix"))
		assert.NotEmpty(t, in["cloudWatchLogGroupName"])
		n, _ := group.Number("retentionInDays")
		assert.Equal(t, 365.0, n)
	}
}

// TestServersHaveSSMAccessAndNoSSH: every server role holds the SSM Agent's managed policy
// and may write the session logs and decrypt sessions, reading SSM parameters is denied; no
// security group admits port 22; the rules on IAM, managed policies and SSH pass.
func TestServersHaveSSMAccessAndNoSSH(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus4, nil)
		for _, tier := range opsTiers {
			role := s.g.ByName("aws:iam/role:Role", tier)
			require.NotNil(t, role)
			att := s.g.ByName("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "operations-"+tier+"-ssm")
			require.NotNil(t, att, tier)
			assert.Equal(t, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", att.String("policyArn"))
			assert.Contains(t, att.Dependencies, role.URN, "attached to the tier's role")
			var doc struct {
				Statement []struct {
					Sid, Effect string
					Action      []string
					Resource    []string
				}
			}
			pol := s.g.ByName("aws:iam/rolePolicy:RolePolicy", "operations-"+tier+"-ssm")
			require.NotNil(t, pol)
			require.NoError(t, json.Unmarshal([]byte(pol.String("policy")), &doc))
			bySid := map[string]string{}
			for _, st := range doc.Statement {
				bySid[st.Sid] = st.Effect + " " + strings.Join(st.Action, ",") + " on " + strings.Join(st.Resource, ",")
			}
			assert.Equal(t, "Deny ssm:GetParameter,ssm:GetParameters,ssm:GetParametersByPath on *", bySid["NoParameterReads"])
			assert.Contains(t, bySid["WriteSessionLogs"], "Allow logs:CreateLogStream,logs:PutLogEvents")
			assert.True(t, strings.HasSuffix(bySid["WriteSessionLogs"], ":log-group:"+sessionLogGroup(t, s)+":*"), "the session log group only: %s", bySid["WriteSessionLogs"])
			assert.Contains(t, bySid["DecryptSessions"], "Allow kms:Decrypt on arn:aws:kms:")
		}
		rep := rules.Check(s.g, rules.Context{Environment: env, Stage: int(config.UsersPlus4), Force: []string{"OPS-1", "OPS-2", "IAM-1", "IAM-2", "IAM-3", "SEC-1", "SEC-2", "MON-2", "MON-4"}})
		for _, id := range []string{"OPS-1", "OPS-2", "IAM-1", "IAM-2", "IAM-3", "SEC-1", "SEC-2", "MON-2", "MON-4"} {
			res, _ := rep.Result(id)
			assert.False(t, res.Failed(), "%s: %v", id, res.Violations)
			assert.Positive(t, res.Examined, id)
		}
	}
}

// TestSSHAdminCidrsRefusedAtUsersPlus4: config that lists adminCidrs at users++++ fails
// before anything is registered, with an error naming the key and Session Manager; at
// single-box the same list is fine.
func TestSSHAdminCidrsRefusedAtUsersPlus4(t *testing.T) {
	kv, secrets := stackConfig(t, "dev", config.UsersPlus4, map[string]string{"scaling-aws:adminCidrs": `["203.0.113.7/32"]`})
	_, err := config.Load(config.MapSource(kv))
	var errs config.Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	require.Len(t, errs, 1)
	assert.Equal(t, "adminCidrs", errs[0].Key)
	assert.Contains(t, errs[0].Fix, "Session Manager")
	_, err = offline.Run(offline.RunOptions{Stack: "dev", Config: kv, SecretKeys: secrets, Root: root})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config scaling-aws:adminCidrs = \"203.0.113.7/32\" is invalid")

	box, _ := stackConfig(t, "dev", config.SingleBox, map[string]string{"scaling-aws:adminCidrs": `["203.0.113.7/32"]`})
	_, err = config.Load(config.MapSource(box))
	assert.NoError(t, err, "the single box still takes an SSH allow-list")
}

// TestUserDataRendersTheAgentContract: every server's boot script carries no secret and
// writes the contract's agent configuration (metrics, dimensions, log files and streams into
// the tier's own log group), and the tier's convergence document writes the same files.
func TestUserDataRendersTheAgentContract(t *testing.T) {
	s := evaluate(t, "prod", config.UsersPlus4, nil)
	for _, tier := range opsTiers {
		lt := s.g.ByName("aws:ec2/launchTemplate:LaunchTemplate", tier)
		require.NotNil(t, lt)
		raw, err := base64.StdEncoding.DecodeString(lt.String("userData"))
		require.NoError(t, err)
		boot := string(raw)
		for _, secret := range []string{graph.SecretMarker, "PASSWORD=", "AUTH_TOKEN=", "SENTRY_DSN="} {
			assert.NotContains(t, boot, secret, "%s user data carries no secret", tier)
		}
		cfg := agentConfigOf(t, boot)
		m := cfg["metrics"].(map[string]any)
		assert.Equal(t, "CWAgent", m["namespace"])
		assert.Equal(t, map[string]any{"InstanceId": "${aws:InstanceId}", "AutoScalingGroupName": "${aws:AutoScalingGroupName}"}, m["append_dimensions"])
		assert.Equal(t, []any{[]any{"AutoScalingGroupName"}, []any{"InstanceId"}}, m["aggregation_dimensions"])
		c := m["metrics_collected"].(map[string]any)
		for _, k := range []string{"mem", "swap", "disk", "procstat", "statsd"} {
			assert.Contains(t, c, k, tier)
		}
		assert.Equal(t, "127.0.0.1:8125", c["statsd"].(map[string]any)["service_address"])
		streams := map[string]string{}
		for _, f := range cfg["logs"].(map[string]any)["logs_collected"].(map[string]any)["files"].(map[string]any)["collect_list"].([]any) {
			e := f.(map[string]any)
			assert.Contains(t, s.g.ByName("aws:iam/rolePolicy:RolePolicy", tier).String("policy"), ":log-group:"+e["log_group_name"].(string)+":*",
				"%s ships into the log group its role may write: the tier's own", tier)
			streams[e["file_path"].(string)] = e["log_stream_name"].(string)
		}
		want := map[string]string{"/var/log/scaling-app/app.log": "{instance_id}/app"}
		if tier == "web" {
			want = map[string]string{"/var/log/nginx/access.log": "{instance_id}/nginx-access", "/var/log/nginx/error.log": "{instance_id}/nginx-error"}
			assert.Contains(t, boot, "log_format scaling_json escape=json")
		}
		assert.Equal(t, want, streams, tier)

		doc := s.g.ByName("aws:ssm/document:Document", "operations-"+tier+"-converge")
		require.NotNil(t, doc)
		var content struct {
			MainSteps []struct {
				Inputs struct {
					RunCommand []string `json:"runCommand"`
				} `json:"inputs"`
			} `json:"mainSteps"`
		}
		require.NoError(t, json.Unmarshal([]byte(doc.String("content")), &content))
		script := strings.Join(content.MainSteps[0].Inputs.RunCommand, "\n") + "\n"
		assert.Equal(t, cfg, agentConfigOf(t, script), "%s: the convergence writes the boot script's agent configuration", tier)
	}
}

// sessionLogGroup is the log group the session preferences stream to.
func sessionLogGroup(t *testing.T, s *stack) string {
	t.Helper()
	doc := s.g.ByName("aws:ssm/document:Document", "operations-session-preferences")
	require.NotNil(t, doc)
	var content struct {
		Inputs struct {
			Group string `json:"cloudWatchLogGroupName"`
		} `json:"inputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(doc.String("content")), &content))
	require.NotEmpty(t, content.Inputs.Group)
	return content.Inputs.Group
}

// agentConfigOf parses the CloudWatch agent configuration a script writes.
func agentConfigOf(t *testing.T, script string) map[string]any {
	t.Helper()
	const open = "amazon-cloudwatch-agent.json <<'CW'\n"
	i := strings.Index(script, open)
	require.True(t, i > 0, "the script writes the agent's configuration")
	body := script[i+len(open):]
	body = body[:strings.Index(body, "\nCW\n")]
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &cfg))
	return cfg
}
