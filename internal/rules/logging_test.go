package rules_test

import (
	"encoding/json"

	"github.com/scaling-aws/scaling-aws/internal/rules"
)

const (
	tTrail        = "aws:cloudtrail/trail:Trail"
	tMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
	trailARN      = "arn:aws:cloudtrail:us-east-1:123456789012:trail/scaling-aws-test"
)

// withLogging adds what users++++ adds for logs and audit, wired as stages/logs.go wires it:
// a server log group with a metric filter and its alarm, and a trail with its bucket, log
// group, role, and the stack key's CloudTrail statements. It runs after withStackKey.
func withLogging(f *fixture) {
	key, topic, logs, role := f.r("key"), f.r("alarms"), f.r("logs"), f.r("web-role")

	// The web servers' log group, written by their role, with a filter and an alarm.
	lg := f.add("aws:cloudwatch/logGroup:LogGroup", "web-logs", m{"namePrefix": "/scaling-aws/web/app-", "retentionInDays": 30.0, "kmsKeyId": arn(key)}, key)
	f.add("aws:iam/rolePolicy:RolePolicy", "web-logs-policy", m{"role": id(role), "policy": js(m{"Version": "2012-10-17", "Statement": l(
		m{"Effect": "Allow", "Action": l("logs:CreateLogStream", "logs:PutLogEvents"), "Resource": arn(lg) + ":*"},
	)})}, role, lg)
	f.add(tMetricFilter, "web-app-errors", m{"logGroupName": "web-logs-physical", "pattern": `{ $.level = "ERROR" }`,
		"metricTransformation": m{"name": "web/app-errors", "namespace": "scaling-aws/test/logs", "value": "1"}}, lg)
	f.add(tAlarm, "web-app-errors-alarm", m{"namespace": "scaling-aws/test/logs", "metricName": "web/app-errors", "alarmActions": l(arn(topic)),
		"comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 10.0}, topic)

	// The stack key lets CloudTrail use it for this trail only.
	var doc map[string]any
	if err := json.Unmarshal([]byte(key.Inputs["policy"].(string)), &doc); err != nil {
		panic(err)
	}
	source := m{"aws:SourceArn": trailARN}
	doc["Statement"] = append(doc["Statement"].([]any),
		m{"Sid": "CloudTrailEncryptsThisTrailsLogs", "Effect": "Allow", "Principal": m{"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
			"Condition": m{"StringEquals": source, "StringLike": m{"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:123456789012:trail/*"}}},
		m{"Sid": "CloudTrailDescribesTheKey", "Effect": "Allow", "Principal": m{"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*",
			"Condition": m{"StringEquals": source}})
	key.Inputs["policy"] = js(doc)

	// The trail's bucket (a data bucket, access-logged) and its CloudTrail policy.
	files := bucket(f, "trail-files", "data", logs)
	sse := f.r("trail-files-sse")
	setIn(sse.Inputs, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "aws:kms")
	setIn(sse.Inputs, "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId", arn(key))
	sse.Dependencies = append(sse.Dependencies, key.URN)
	policy := f.r("trail-files-policy")
	policy.Inputs["policy"] = js(m{"Version": "2012-10-17", "Statement": l(
		m{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": m{"AWS": "*"}, "Action": l("s3:*"), "Resource": "arn:aws:s3:::id-trail-files/*",
			"Condition": m{"Bool": m{"aws:SecureTransport": "false"}}},
		m{"Sid": "CloudTrailChecksTheBucketAcl", "Effect": "Allow", "Principal": m{"Service": "cloudtrail.amazonaws.com"}, "Action": l("s3:GetBucketAcl"),
			"Resource": "arn:aws:s3:::id-trail-files", "Condition": m{"StringEquals": source}},
		m{"Sid": "CloudTrailWritesThisTrailsFiles", "Effect": "Allow", "Principal": m{"Service": "cloudtrail.amazonaws.com"}, "Action": l("s3:PutObject"),
			"Resource":  "arn:aws:s3:::id-trail-files/AWSLogs/123456789012/*",
			"Condition": m{"StringEquals": m{"aws:SourceArn": trailARN, "s3:x-amz-acl": "bucket-owner-full-control"}}},
	)})

	// Its log group and the role CloudTrail delivers with.
	events := f.add("aws:cloudwatch/logGroup:LogGroup", "trail-events", m{"namePrefix": "/scaling-aws/cloudtrail-", "retentionInDays": 365.0, "kmsKeyId": arn(key)}, key)
	toLogs := f.add("aws:iam/role:Role", "trail-to-logs", m{"assumeRolePolicy": trust("cloudtrail.amazonaws.com")})
	toLogsPolicy := f.add("aws:iam/rolePolicy:RolePolicy", "trail-to-logs-policy", m{"role": id(toLogs), "policy": js(m{"Version": "2012-10-17", "Statement": l(
		m{"Effect": "Allow", "Action": l("logs:CreateLogStream", "logs:PutLogEvents"), "Resource": arn(events) + ":log-stream:123456789012_CloudTrail_*"},
	)})}, toLogs, events)

	f.add(tTrail, "trail", m{
		"name": "scaling-aws-test", "s3BucketName": id(files), "kmsKeyId": arn(key),
		"isMultiRegionTrail": true, "includeGlobalServiceEvents": true, "enableLogging": true, "enableLogFileValidation": true,
		"cloudWatchLogsGroupArn": arn(events) + ":*", "cloudWatchLogsRoleArn": arn(toLogs),
		"eventSelectors": l(m{"includeManagementEvents": true, "readWriteType": "All"}),
	}, files, policy, key, events, toLogs, toLogsPolicy)
}

// dropStatement removes the statement with sid from the policy input of the resource.
func dropStatement(name, sid string) func(f *fixture) {
	return func(f *fixture) {
		r := f.r(name)
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc); err != nil {
			panic(err)
		}
		var keep []any
		for _, s := range doc["Statement"].([]any) {
			if s.(map[string]any)["Sid"] != sid {
				keep = append(keep, s)
			}
		}
		doc["Statement"] = keep
		r.Inputs["policy"] = js(doc)
	}
}

// editStatement changes the statement with sid of the policy input of the resource.
func editStatement(name, sid string, edit func(s map[string]any)) func(f *fixture) {
	return func(f *fixture) {
		r := f.r(name)
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc); err != nil {
			panic(err)
		}
		for _, s := range doc["Statement"].([]any) {
			if s.(map[string]any)["Sid"] == sid {
				edit(s.(map[string]any))
			}
		}
		r.Inputs["policy"] = js(doc)
	}
}

// undepend removes name's dependency on dep.
func undepend(name, dep string) func(f *fixture) {
	return func(f *fixture) {
		r, d := f.r(name), f.r(dep)
		var keep []string
		for _, u := range r.Dependencies {
			if u != d.URN {
				keep = append(keep, u)
			}
		}
		r.Dependencies = keep
	}
}

func init() {
	mutations = append(mutations, []mutation{
		{rule: "TRAIL-1", name: "no trail at users++++", mutate: drop("trail"), msg: "matched no resources"},
		{rule: "TRAIL-1", name: "single-region trail", mutate: set("trail", "isMultiRegionTrail", false), want: "trail", msg: "isMultiRegionTrail"},
		{rule: "TRAIL-1", name: "global services left out", mutate: set("trail", "includeGlobalServiceEvents", nil), want: "trail", msg: "includeGlobalServiceEvents"},
		{rule: "TRAIL-1", name: "logging paused", mutate: set("trail", "enableLogging", false), want: "trail", msg: "enableLogging"},
		{rule: "TRAIL-1", name: "writes only", mutate: set("trail", "eventSelectors", l(m{"includeManagementEvents": true, "readWriteType": "WriteOnly"})), want: "trail", msg: "readWriteType All"},
		{rule: "TRAIL-1", name: "management events left to the default", mutate: set("trail", "eventSelectors", nil), want: "trail", msg: "management events"},
		{rule: "TRAIL-2", name: "no log file validation", mutate: set("trail", "enableLogFileValidation", nil), want: "trail"},
		{rule: "TRAIL-3", name: "not encrypted with a key", mutate: func(f *fixture) {
			set("trail", "kmsKeyId", nil)(f)
			undepend("trail", "key")(f)
		}, want: "trail", msg: "stack's key"},
		{rule: "TRAIL-3", name: "key policy lets CloudTrail use it for any trail", mutate: editStatement("key", "CloudTrailEncryptsThisTrailsLogs", func(s map[string]any) {
			delete(s["Condition"].(map[string]any), "StringEquals")
		}), want: "key", msg: "any trail"},
		{rule: "TRAIL-3", name: "key policy names another trail", mutate: editStatement("key", "CloudTrailDescribesTheKey", func(s map[string]any) {
			s["Condition"] = m{"StringEquals": m{"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/other"}}
		}), want: "key", msg: "InsufficientEncryptionPolicyException"},
		{rule: "TRAIL-3", name: "key policy without CloudTrail", mutate: dropStatement("key", "CloudTrailEncryptsThisTrailsLogs"), want: "key", msg: "GenerateDataKey"},
		{rule: "TRAIL-4", name: "not delivered to CloudWatch Logs", mutate: set("trail", "cloudWatchLogsGroupArn", nil), want: "trail", msg: "must be set"},
		{rule: "TRAIL-4", name: "group ARN without the stream wildcard", mutate: set("trail", "cloudWatchLogsGroupArn", "arn:aws:test:::opaque-trail-events"), want: "trail", msg: `":*"`},
		{rule: "TRAIL-4", name: "no role", mutate: func(f *fixture) {
			set("trail", "cloudWatchLogsRoleArn", nil)(f)
			undepend("trail", "trail-to-logs")(f)
		}, want: "trail", msg: "cloudWatchLogsRoleArn"},
		{rule: "TRAIL-4", name: "role trusted by EC2", mutate: set("trail-to-logs", "assumeRolePolicy", trust("ec2.amazonaws.com")), want: "trail-to-logs", msg: "cloudtrail.amazonaws.com"},
		{rule: "TRAIL-5", name: "bucket policy without CloudTrail", mutate: dropStatement("trail-files-policy", "CloudTrailWritesThisTrailsFiles"), want: "trail-files-policy", msg: "InsufficientS3BucketPolicyException"},
		{rule: "TRAIL-5", name: "CloudTrail may write for any trail", mutate: editStatement("trail-files-policy", "CloudTrailWritesThisTrailsFiles", func(s map[string]any) {
			delete(s["Condition"].(map[string]any)["StringEquals"].(map[string]any), "aws:SourceArn")
		}), want: "trail-files-policy", msg: "any trail"},
		{rule: "TRAIL-5", name: "no bucket-owner-full-control", mutate: editStatement("trail-files-policy", "CloudTrailWritesThisTrailsFiles", func(s map[string]any) {
			delete(s["Condition"].(map[string]any)["StringEquals"].(map[string]any), "s3:x-amz-acl")
		}), want: "trail-files-policy", msg: "bucket-owner-full-control"},
		{rule: "TRAIL-5", name: "trail created before the bucket policy", mutate: undepend("trail", "trail-files-policy"), want: "trail", msg: "depend on"},
		{rule: "TRAIL-5", name: "trail bucket not access-logged", mutate: drop("trail-files-logging"), want: "trail-files", msg: "bucketLoggingV2"},
		{rule: "LOG-1", name: "server log group without a filter", mutate: drop("web-app-errors"), want: "web-logs", msg: "no metric filter"},
		{rule: "LOG-1", name: "no server log group at users++++", mutate: func(f *fixture) {
			drop("web-logs-policy")(f)
		}, ctx: &rules.Context{Environment: rules.Prod, Stage: rules.StageUsers4P}, msg: "matched no resources"},
		{rule: "LOG-2", name: "filter nobody is alarmed on", mutate: drop("web-app-errors-alarm"), want: "web-app-errors", msg: "no alarm"},
		{rule: "LOG-2", name: "alarm on another namespace", mutate: set("web-app-errors-alarm", "namespace", "Other"), want: "web-app-errors"},
	}...)
}
