package tests

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

const (
	tRole       = "aws:iam/role:Role"
	tRolePolicy = "aws:iam/rolePolicy:RolePolicy"
	tLT         = "aws:ec2/launchTemplate:LaunchTemplate"
)

// queueRules are the SQS rules users+++++ must apply and pass (SQS-7 in prod only).
var queueRules = []string{"SQS-1", "SQS-2", "SQS-3", "SQS-4", "SQS-5", "SQS-6"}

// violations lists a report's failures as "rule urn: message", sorted.
func violations(rep rules.Report) []string {
	var out []string
	for _, res := range rep.Results {
		if res.Waiver != "" {
			continue
		}
		for _, v := range res.Violations {
			out = append(out, v.String())
		}
	}
	sort.Strings(out)
	return out
}

// TestUsersPlus5PassesTheRules: dev and prod users+++++ pass every rule that users++++
// passes (TestEveryStagePassesTheRules holds both to every rule once users++++ does: its
// monitoring is built apart), the queue rules apply to the queues and pass, and the queues'
// and the worker group's own alarms answer MON-3.
func TestUsersPlus5PassesTheRules(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			four, five := evaluate(t, env, config.UsersPlus4, nil), evaluate(t, env, config.UsersPlus5, nil)
			force := append(mustContain(config.UsersPlus5), queueRules...)
			if env == "prod" {
				force = append(force, "SQS-7")
			}
			ctx := func(s *stack) rules.Context {
				return rules.Context{Environment: env, Stage: int(s.cfg.Stage), Force: force, Waivers: stages.Waivers(s.cfg)}
			}
			rep4, rep5 := rules.Check(four.g, ctx(four)), rules.Check(five.g, ctx(five))
			inherited := map[string]bool{}
			for _, v := range violations(rep4) {
				inherited[v] = true
			}
			for _, v := range violations(rep5) {
				assert.True(t, inherited[v], "users+++++ adds a failure: %s", v)
			}
			for _, id := range force {
				res, ok := rep5.Result(id)
				require.True(t, ok, id)
				assert.True(t, res.Applied && res.Examined > 0, "%s examined nothing", id)
				if strings.HasPrefix(id, "SQS-") {
					assert.Empty(t, res.Violations, id)
				}
			}
			mon, _ := rep5.Result("MON-3")
			for _, v := range mon.Violations {
				assert.NotContains(t, v.URN, "thumbs", "the queues have their alarms")
				assert.NotContains(t, v.URN, "::worker", "the worker group has its alarm")
			}
		})
	}
}

// TestUsersPlus5KeepsState: users++++ -> users+++++ replaces and drops nothing stateful, and
// only adds to the network (new worker-tier subnets and the SQS endpoint).
func TestUsersPlus5KeepsState(t *testing.T) {
	summaries := map[string]bool{
		"aws:cloudwatch/queryDefinition:QueryDefinition": true, "aws:ssm/document:Document": true,
		"aws:cloudwatch/compositeAlarm:CompositeAlarm": true, "aws:cloudwatch/dashboard:Dashboard": true,
		"aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget": true, // the patch targets list the worker group too
	}
	for _, env := range []string{"dev", "prod"} {
		extra := map[string]string(nil)
		if env == "prod" {
			extra = prodDomain
		}
		a, b := evaluate(t, env, config.UsersPlus4, extra), evaluate(t, env, config.UsersPlus5, extra)
		carried := 0
		for _, r := range a.g.Resources {
			if diff.Stateful(r) {
				require.NotNil(t, b.g.ByURN(r.URN), "%s %s is dropped", env, r.URN)
				carried++
			}
		}
		assert.GreaterOrEqual(t, carried, 5, "the database, its replica, the buckets and the cache carry over")
		for _, c := range diff.Compare(a.g, b.g) {
			r := c.Resource
			if c.Kind == diff.Replace || c.Kind == diff.Delete {
				t.Errorf("%s: %s is %v at users+++++ (%v)", env, r.URN, c.Kind, c.Keys)
			}
			// Besides the write API's boot script, what lists every tier or alarm grows by
			// the workers and the queue: the log queries, the convergence documents, the
			// patch targets, the look-tomorrow composite and the dashboard.
			if c.Kind == diff.Update && r.Type != tLT && !summaries[r.Type] {
				t.Errorf("%s: %s changes at users+++++ (%v): only the write API's boot script should", env, r.URN, c.Keys)
			}
		}
	}
}

// policyStatement is one decoded statement of a role policy.
type policyStatement struct {
	Action    []string
	Resource  []string
	Condition map[string]any
}

// grantsOf returns every action the role named role may take, each with its resources,
// from all the inline role policies that name it.
func grantsOf(t *testing.T, g *graph.Graph, role string) map[string][]string {
	t.Helper()
	r := g.ByName(tRole, role)
	require.NotNil(t, r, role)
	out := map[string][]string{}
	for _, p := range g.ByType(tRolePolicy) {
		if !dependsOn(p, r) {
			continue
		}
		var doc struct{ Statement []policyStatement }
		require.NoError(t, json.Unmarshal([]byte(p.String("policy")), &doc), p.Name)
		for _, s := range doc.Statement {
			for _, a := range s.Action {
				out[a] = append(out[a], s.Resource...)
			}
		}
	}
	for a := range out {
		sort.Strings(out[a])
	}
	return out
}

// queueArns returns the work queue's and the dead-letter queue's ARNs from the stack's
// outputs (their URLs end in the queue names).
func queueArns(t *testing.T, s *stack) (work, dead string) {
	t.Helper()
	arn := func(out string) string {
		url, _ := s.g.Outputs[out].(string)
		require.NotEmpty(t, url, out)
		return fmt.Sprintf("arn:aws:sqs:%s:123456789012:%s", s.cfg.Region, path.Base(url))
	}
	return arn("queueUrl"), arn("deadLetterQueueUrl")
}

// storeArn returns the object store's ARN.
func storeArn(t *testing.T, s *stack) string {
	t.Helper()
	name, _ := s.g.Outputs["storeBucket"].(string)
	require.NotEmpty(t, name)
	return "arn:aws:s3:::" + name
}

// TestWorkerMayOnlyConsumeAndMakeThumbnails: the workers may receive, delete and change
// visibility on the work queue, dead-letter, read originals and write thumbnails, read their
// database secret and their release, write their logs and metrics, and, for the daily
// archive pass, read, write, list and delete under archive/ and run statements on the
// warehouse through the Data API where there is one: nothing else.
func TestWorkerMayOnlyConsumeAndMakeThumbnails(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus5, nil)
		work, dead := queueArns(t, s)
		store := storeArn(t, s)
		got := grantsOf(t, s.g, "worker")
		for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} {
			assert.Equal(t, []string{work}, got[a], "%s %s", env, a)
		}
		assert.Equal(t, []string{dead}, got["sqs:SendMessage"], "%s: workers send only to the dead-letter queue", env)
		assert.ElementsMatch(t, []string{store + "/originals/*", store + "/archive/*"}, removeRelease(got["s3:GetObject"]), "%s: the workers read originals and the archive only (and the release)", env)
		assert.ElementsMatch(t, []string{store + "/thumbs/*", store + "/archive/*"}, got["s3:PutObject"], "%s: the workers write thumbnails and the archive only", env)
		assert.Equal(t, []string{store + "/archive/*"}, got["s3:DeleteObject"], "%s: the workers delete only archive files (a partial file on resume)", env)
		assert.Len(t, got["s3:GetObject"], 3, "%s: the originals, the archive and the release the worker boots", env)
		// Beyond the queue, the store and the warehouse, a worker has what every app server
		// has (its logs, metrics, database secret, and whatever operations add to every
		// server), nothing more.
		every := grantsOf(t, s.g, "read-api")
		var queueAndStore, other []string
		for a := range got {
			if strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "s3:") {
				queueAndStore = append(queueAndStore, a)
			} else if _, ok := every[a]; !ok {
				other = append(other, a)
			}
		}
		sort.Strings(queueAndStore)
		sort.Strings(other)
		assert.Equal(t, []string{"s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
			"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage", "sqs:SendMessage",
		}, queueAndStore, "%s: no send to the work queue, no purge; deletes and listing under archive/ only", env)
		var warehouse []string
		if env == "prod" { // dev's two AZs have no warehouse (config warehouse.enabled)
			warehouse = []string{"redshift-data:BatchExecuteStatement", "redshift-data:CancelStatement", "redshift-data:DescribeStatement",
				"redshift-data:ExecuteStatement", "redshift-data:GetStatementResult", "redshift-serverless:GetCredentials"}
			if assert.Len(t, got["redshift-data:ExecuteStatement"], 1) {
				assert.NotEqual(t, "*", got["redshift-data:ExecuteStatement"][0], "statements on the stack's workgroup only")
			}
			assert.Equal(t, []string{"*"}, got["redshift-data:DescribeStatement"], "the Data API's statement calls take no resource")
		}
		assert.Equal(t, warehouse, other, "%s: the workers may do more than an API server besides the queue, the store and the warehouse", env)
		assert.Contains(t, got, "secretsmanager:GetSecretValue", "the database secret")
	}
}

// removeRelease drops the app release object (every server reads the binary it boots).
func removeRelease(arns []string) []string {
	var out []string
	for _, a := range arns {
		if !strings.Contains(a, "/releases/") {
			out = append(out, a)
		}
	}
	return out
}

// TestWriteAPIMayOnlySend: the write API may send to the work queue, and has no other SQS
// action on any queue; the read API has none at all.
func TestWriteAPIMayOnlySend(t *testing.T) {
	s := evaluate(t, "prod", config.UsersPlus5, nil)
	work, _ := queueArns(t, s)
	for role, want := range map[string]map[string][]string{
		"write-api": {"sqs:SendMessage": {work}},
		"read-api":  {},
	} {
		sqs := map[string][]string{}
		for a, res := range grantsOf(t, s.g, role) {
			if strings.HasPrefix(a, "sqs:") {
				sqs[a] = res
			}
		}
		assert.Equal(t, want, sqs, role)
	}
}

// userData decodes a launch template's boot script.
func userData(t *testing.T, s *stack, name string) string {
	t.Helper()
	lt := s.g.ByName(tLT, name)
	require.NotNil(t, lt, name)
	b, err := base64.StdEncoding.DecodeString(lt.String("userData"))
	require.NoError(t, err)
	return string(b)
}

// TestAppEnqueuesThroughTheStack: the write API's boot script gives the app the queue from
// the stack (QUEUE_BACKEND=sqs and the queue's URL); the workers get the role, the queue,
// its dead-letter queue, maxReceiveCount as QUEUE_MAX_ATTEMPTS, and no cache or CDN.
func TestAppEnqueuesThroughTheStack(t *testing.T) {
	s := evaluate(t, "dev", config.UsersPlus5, nil)
	queueURL, _ := s.g.Outputs["queueUrl"].(string)
	dlqURL, _ := s.g.Outputs["deadLetterQueueUrl"].(string)
	write := userData(t, s, "write-api")
	assert.Contains(t, write, "\nQUEUE_BACKEND=sqs\n")
	assert.Contains(t, write, "\nQUEUE_URL="+queueURL+"\n")
	assert.NotContains(t, userData(t, s, "read-api"), "QUEUE_")

	worker := userData(t, s, "worker")
	for _, line := range []string{"APP_ROLE=worker", "QUEUE_BACKEND=sqs", "QUEUE_URL=" + queueURL, "QUEUE_DLQ_URL=" + dlqURL,
		"QUEUE_MAX_ATTEMPTS=5", "WORKER_CONCURRENCY=4", "DB_MIGRATE=false"} {
		assert.Contains(t, worker, "\n"+line+"\n", line)
	}
	assert.NotContains(t, worker, "REDIS_")
	assert.NotContains(t, worker, "CDN_BASE_URL")
	work := s.g.ByName("aws:sqs/queue:Queue", "thumbs")
	require.NotNil(t, work)
	var rp map[string]any
	require.NoError(t, json.Unmarshal([]byte(work.String("redrivePolicy")), &rp))
	assert.Equal(t, 5.0, rp["maxReceiveCount"], "QUEUE_MAX_ATTEMPTS is the queue's maxReceiveCount")
	assert.Equal(t, 120.0, work.Inputs["visibilityTimeoutSeconds"], "the derived visibility timeout (docs/decisions.md)")
}

// TestWorkersScaleOnBacklogPerInstance: the worker group's one scaling policy tracks the
// work queue's visible messages divided by the group's in-service instances, at the target
// latencySeconds x 1000 / jobMillis, between worker.min and worker.max.
func TestWorkersScaleOnBacklogPerInstance(t *testing.T) {
	s := evaluate(t, "prod", config.UsersPlus5, map[string]string{"scaling-aws:worker": `{"min": 2, "max": 8, "latencySeconds": 60, "jobMillis": 400}`})
	asg := s.g.ByName("aws:autoscaling/group:Group", "worker")
	require.NotNil(t, asg)
	assert.Equal(t, 2.0, asg.Inputs["minSize"])
	assert.Equal(t, 8.0, asg.Inputs["maxSize"])
	assert.Contains(t, asg.IgnoreChanges, "desiredCapacity", "the policy owns the count")
	groupName, _ := s.g.Outputs["workerGroup"].(string)
	queueURL, _ := s.g.Outputs["queueUrl"].(string)

	var policies []*graph.Resource
	for _, p := range s.g.ByType("aws:autoscaling/policy:Policy") {
		if p.String("autoscalingGroupName") == groupName {
			policies = append(policies, p)
		}
	}
	require.Len(t, policies, 1, "one policy: the backlog, not CPU")
	p := policies[0]
	assert.Equal(t, "TargetTrackingScaling", p.String("policyType"))
	assert.Equal(t, 150.0, p.Inputs["targetTrackingConfiguration"].(map[string]any)["targetValue"], "60 s / 0.4 s per job")
	metrics, _ := p.Lookup("targetTrackingConfiguration.customizedMetricSpecification.metrics")
	byID := map[string]map[string]any{}
	for _, m := range metrics.([]any) {
		mm := m.(map[string]any)
		byID[mm["id"].(string)] = mm
	}
	require.Len(t, byID, 3)
	dim := func(id string) (string, string, string) {
		ms := byID[id]["metricStat"].(map[string]any)
		met := ms["metric"].(map[string]any)
		d := met["dimensions"].([]any)[0].(map[string]any)
		return met["metricName"].(string), d["name"].(string) + "=" + d["value"].(string), ms["stat"].(string)
	}
	name, d, stat := dim("messages")
	assert.Equal(t, []string{"ApproximateNumberOfMessagesVisible", "QueueName=" + path.Base(queueURL), "Sum"}, []string{name, d, stat})
	name, d, stat = dim("workers")
	assert.Equal(t, []string{"GroupInServiceInstances", "AutoScalingGroupName=" + groupName, "Average"}, []string{name, d, stat})
	assert.Equal(t, "messages / workers", byID["backlog"]["expression"])
	assert.Equal(t, true, byID["backlog"]["returnData"])

	backlog := s.g.ByName("aws:cloudwatch/metricAlarm:MetricAlarm", "thumbs-backlog")
	require.NotNil(t, backlog)
	assert.Equal(t, 1200.0, backlog.Inputs["threshold"], "8 workers x 150 jobs: more than the fleet drains within the latency")
}

// TestWorkersReachOnlyWhatTheyNeed: nothing may reach a worker; a worker reaches S3 (the
// gateway endpoint's prefix list), the interface endpoints (SQS among them) and MySQL, and
// nothing on the internet.
func TestWorkersReachOnlyWhatTheyNeed(t *testing.T) {
	s := evaluate(t, "dev", config.UsersPlus5, nil)
	sg := s.g.ByName("aws:ec2/securityGroup:SecurityGroup", "worker-sg")
	require.NotNil(t, sg)
	var egress []string
	for _, r := range s.g.Resources {
		switch r.Type {
		case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
			assert.False(t, dependsOn(r, sg) && strings.HasPrefix(r.Name, "worker-sg"), "%s opens the workers to something", r.Name)
		case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
			if strings.HasPrefix(r.Name, "worker-sg") {
				assert.Empty(t, r.String("cidrIpv4"), r.Name)
				assert.Empty(t, r.String("cidrIpv6"), r.Name)
				egress = append(egress, r.Name)
			}
		}
	}
	sort.Strings(egress)
	assert.Equal(t, []string{"worker-sg-out-s3", "worker-sg-to-db-sg-3306", "worker-sg-to-network-endpoints-443"}, egress)
	ep := s.g.ByName("aws:ec2/vpcEndpoint:VpcEndpoint", "network-sqs")
	require.NotNil(t, ep, "the workers reach SQS through an interface endpoint, not NAT")
	assert.Equal(t, true, ep.Inputs["privateDnsEnabled"])
	for _, sn := range s.g.ByType("aws:ec2/subnet:Subnet") {
		if strings.HasPrefix(sn.Name, "network-worker-") {
			assert.Equal(t, false, sn.Inputs["mapPublicIpOnLaunch"], sn.Name)
		}
	}
	lt := s.g.ByName(tLT, "worker")
	require.NotNil(t, lt)
	assert.Equal(t, "required", lt.String("metadataOptions.httpTokens"))
	assert.Equal(t, "false", lt.String("networkInterfaces.0.associatePublicIpAddress"))
}

// TestEmptyFleetWakesUp: with worker.min 0 (and a latency covering a cold start) the group
// may scale in to no worker, and the wake alarm's step policy starts one; with min 1 there
// is no wake policy. The cold start config allows for is the alarm minute and the boot.
func TestEmptyFleetWakesUp(t *testing.T) {
	assert.Equal(t, 60+components.DefaultHealthCheckGraceSeconds, config.WorkerColdStartSeconds)
	s := evaluate(t, "dev", config.UsersPlus5, map[string]string{"scaling-aws:worker": `{"min": 0, "latencySeconds": 300}`})
	asg := s.g.ByName("aws:autoscaling/group:Group", "worker")
	require.NotNil(t, asg)
	assert.Equal(t, 0.0, asg.Inputs["minSize"])
	assert.Equal(t, 0.0, asg.Inputs["desiredCapacity"])
	wake := s.g.ByName("aws:autoscaling/policy:Policy", "thumbs-wake")
	require.NotNil(t, wake)
	assert.Equal(t, s.g.Outputs["workerGroup"], wake.Inputs["autoscalingGroupName"])
	alarm := s.g.ByName("aws:cloudwatch/metricAlarm:MetricAlarm", "thumbs-wake")
	require.NotNil(t, alarm)
	assert.True(t, dependsOn(alarm, wake), "the alarm runs the wake policy")
	rep := rules.Check(s.g, rules.Context{Environment: "dev", Stage: 5, Waivers: stages.Waivers(s.cfg)})
	for _, id := range []string{"ASG-2", "ASG-4", "MON-1"} {
		res, _ := rep.Result(id)
		assert.Empty(t, res.Violations, id)
	}

	s = evaluate(t, "dev", config.UsersPlus5, nil)
	assert.Nil(t, s.g.ByName("aws:autoscaling/policy:Policy", "thumbs-wake"), "a fleet that never empties needs no wake")
}

// TestServersMayReadTheirRelease: every server tier's boot script copies the app release
// from the artifact bucket with its instance role, so every role may s3:GetObject exactly
// the release object (a ServerGroup with a Script grants it, as the box does).
func TestServersMayReadTheirRelease(t *testing.T) {
	for _, stage := range []config.Stage{config.UsersPlus2, config.UsersPlus5} {
		s := evaluate(t, "dev", stage, nil)
		version, _ := s.g.Outputs["appVersion"].(string)
		require.NotEmpty(t, version)
		roles := []string{"web", "read-api", "write-api"}
		if stage == config.UsersPlus5 {
			roles = append(roles, "worker")
		}
		for _, role := range roles {
			var release []string
			for _, arn := range grantsOf(t, s.g, role)["s3:GetObject"] {
				if strings.Contains(arn, "/releases/") {
					release = append(release, arn)
				}
			}
			require.Len(t, release, 1, "%s %s", stage, role)
			assert.True(t, strings.HasSuffix(release[0], "/releases/"+version+"/scaling-app-linux-amd64"), "%s %s: %s", stage, role, release[0])
		}
	}
}

// TestWorkersAreOperatedAndReportErrors: users+++++'s worker fleet is operated like the API
// tiers (Patch Manager's window patches it, State Manager converges it) and, with a Sentry
// DSN configured, reports failed jobs there: it is told where the DSN's secret is and its
// role may read it. It gets no StatsD address (its gauge is in-flight requests; a worker
// serves none).
func TestWorkersAreOperatedAndReportErrors(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus5, withMonitoring)
		name, _ := s.g.Outputs["workerGroup"].(string)
		require.NotEmpty(t, name, env)

		target := s.one(t, "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
		assert.Contains(t, targets(t, target)["tag:aws:autoscaling:groupName"], name, "%s: the window patches the workers", env)
		a := s.g.ByName("aws:ssm/association:Association", "operations-worker-converge")
		require.NotNil(t, a, "%s: the workers have a convergence association", env)
		assert.Equal(t, map[string][]string{"tag:aws:autoscaling:groupName": {name}}, targets(t, a))

		boot := bootEnv(t, s, "worker")
		assert.Contains(t, boot["SENTRY_DSN_SECRET_ARN"], ":secret:sentry-dsn", env)
		assert.Contains(t, boot["SENTRY_ENVIRONMENT"], env)
		assert.NotContains(t, boot, "STATSD_ADDR", env)
		grants := 0
		for _, p := range s.g.ByType("aws:iam/rolePolicy:RolePolicy") {
			if strings.HasPrefix(p.Name, "sentry-dsn-secret-read-") {
				grants++
			}
		}
		assert.Equal(t, 3, grants, "%s: the read API, write API and worker roles read the DSN", env)
	}
}
