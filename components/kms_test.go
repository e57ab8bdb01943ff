package components

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of Key and of what takes it (the alarm topic, buckets, the box and its snapshots)
// under the mock engine, with the recorder of web_test.go.

const (
	tokKey       = "aws:kms/key:Key"
	tokAlias     = "aws:kms/alias:Alias"
	tokTopic     = "aws:sns/topic:Topic"
	tokSSE       = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tokVolume    = "aws:ebs/volume:Volume"
	tokInstance  = "aws:ec2/instance:Instance"
	tokDLM       = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
	tokAttach    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	testAccount  = "123456789012"
	testKeyARN   = "arn:aws:mock:us-east-1:123456789012:key"
	testKeyAlias = "alias/scaling-aws-test"
)

func testKey(ctx *pulumi.Context) (*Key, error) {
	return NewKey(ctx, "key", &KeyArgs{AccountID: testAccount, Region: "us-east-1"})
}

// statementsBySid decodes a key policy into its statements keyed by Sid.
func statementsBySid(t *testing.T, policy string) map[string]map[string]any {
	t.Helper()
	var doc struct {
		Statement []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(policy), &doc))
	out := map[string]map[string]any{}
	for _, s := range doc.Statement {
		out[s["Sid"].(string)] = s
	}
	return out
}

func TestKeyPolicyAndSettings(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		_, err := testKey(ctx)
		return err
	})
	k := r.one(t, tokKey, "key")
	assert.Equal(t, true, k.inputs["enableKeyRotation"], "rotation on (SH KMS.4)")
	assert.Equal(t, 365.0, k.inputs["rotationPeriodInDays"])
	assert.Equal(t, 30.0, k.inputs["deletionWindowInDays"])
	assert.Equal(t, false, k.inputs["bypassPolicyLockoutSafetyCheck"], "KMS's lockout check is never skipped")
	assert.Equal(t, "SYMMETRIC_DEFAULT", k.inputs["customerMasterKeySpec"], "EBS and RDS take symmetric keys only")
	assert.Equal(t, testKeyAlias, r.one(t, tokAlias, "key").inputs["name"], "alias names project and stack")

	st := statementsBySid(t, k.inputs["policy"].(string))
	root := st["AccountRootManagesTheKey"]
	require.NotNil(t, root, "the account root manages the key: no lockout")
	assert.Equal(t, map[string]any{"AWS": "arn:aws:iam::123456789012:root"}, root["Principal"])
	assert.Equal(t, "kms:*", root["Action"])
	assert.Nil(t, root["Condition"])

	logs := st["CloudWatchLogsOfThisAccount"]
	assert.Equal(t, map[string]any{"Service": "logs.us-east-1.amazonaws.com"}, logs["Principal"], "the regional CloudWatch Logs principal")
	assert.Equal(t, "arn:aws:logs:us-east-1:123456789012:log-group:*", get(logs, "Condition.ArnLike.kms:EncryptionContext:aws:logs:arn"))

	cw := st["CloudWatchAlarmsAndSNSPublishToEncryptedTopics"]
	assert.Equal(t, []any{"cloudwatch.amazonaws.com", "sns.amazonaws.com"}, get(cw, "Principal.Service"))
	assert.Equal(t, []any{"kms:Decrypt", "kms:GenerateDataKey*"}, cw["Action"])

	via := st["AccountPrincipalsThroughAWSServices"]
	assert.Equal(t, testAccount, get(via, "Condition.StringEquals.kms:CallerAccount"))
	assert.ElementsMatch(t, []any{"secretsmanager.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com", "elasticache.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com",
		"dynamodb.us-east-1.amazonaws.com", "redshift-serverless.us-east-1.amazonaws.com", "redshift.us-east-1.amazonaws.com"},
		get(via, "Condition.StringEquals.kms:ViaService"))

	slr := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
	for _, sid := range []string{"AutoScalingServiceLinkedRoleUse", "AutoScalingServiceLinkedRoleGrants"} {
		assert.Equal(t, slr, get(st[sid], "Condition.ArnEquals.aws:PrincipalArn"), "%s names the Auto Scaling service-linked role", sid)
	}
	assert.Equal(t, true, get(st["AutoScalingServiceLinkedRoleGrants"], "Condition.Bool.kms:GrantIsForAWSResource"))
	assert.Equal(t, "arn:aws:cloudfront::123456789012:distribution/*", get(st["CloudFrontOriginAccessControlOfThisAccount"], "Condition.ArnLike.aws:SourceArn"))
	assert.Equal(t, "kms:Decrypt", st["CloudFrontOriginAccessControlOfThisAccount"]["Action"], "CloudFront only reads")

	// Every statement open to all principals is conditioned.
	for sid, s := range st {
		if s["Principal"] == "*" || get(s, "Principal.AWS") == "*" {
			assert.NotNil(t, s["Condition"], "%s allows every principal without a condition", sid)
		}
	}
}

func TestKeyArgsRejected(t *testing.T) {
	cases := map[string]struct {
		args  *KeyArgs
		field string
	}{
		"nil":                 {nil, "args"},
		"short account":       {&KeyArgs{AccountID: "1234", Region: "us-east-1"}, "AccountID"},
		"no region":           {&KeyArgs{AccountID: testAccount}, "Region"},
		"deletion in 5 days":  {&KeyArgs{AccountID: testAccount, Region: "us-east-1", DeletionWindowDays: 5}, "DeletionWindowDays"},
		"deletion in 31 days": {&KeyArgs{AccountID: testAccount, Region: "us-east-1", DeletionWindowDays: 31}, "DeletionWindowDays"},
		"rotation every 30":   {&KeyArgs{AccountID: testAccount, Region: "us-east-1", RotationPeriodDays: 30}, "RotationPeriodDays"},
	}
	for label, c := range cases {
		t.Run(label, func(t *testing.T) {
			var keyErr error
			r := run(t, func(ctx *pulumi.Context) error {
				_, keyErr = NewKey(ctx, "key", c.args)
				return nil
			})
			require.Error(t, keyErr)
			assert.Contains(t, keyErr.Error(), c.field+" = ")
			assert.Contains(t, keyErr.Error(), "is invalid: ")
			assert.Zero(t, r.named("key"), "nothing registered")
		})
	}
}

// TestAlarmTopicUsesTheStackKey: the topic is encrypted with the stack key, never the
// AWS-managed alias/aws/sns (CloudWatch cannot publish under it), and no key is an error.
func TestAlarmTopicUsesTheStackKey(t *testing.T) {
	r := run(t, func(ctx *pulumi.Context) error {
		k, err := testKey(ctx)
		if err != nil {
			return err
		}
		_, err = NewAlarms(ctx, "alarms", &AlarmsArgs{Key: k})
		return err
	})
	assert.Equal(t, testKeyARN, r.one(t, tokTopic, "alarms").inputs["kmsMasterKeyId"])

	var alarmsErr error
	r = run(t, func(ctx *pulumi.Context) error {
		_, alarmsErr = NewAlarms(ctx, "alarms", &AlarmsArgs{})
		return nil
	})
	require.Error(t, alarmsErr)
	assert.Contains(t, alarmsErr.Error(), "Key = ")
	assert.Contains(t, alarmsErr.Error(), "alias/aws/sns")
	assert.Zero(t, r.named("alarms"))
}

// TestBucketKey: a data bucket with the key is SSE-KMS with a bucket key; a log bucket
// refuses one (load balancer logs are delivered only to SSE-S3 buckets).
func TestBucketKey(t *testing.T) {
	var logErr error
	r := run(t, func(ctx *pulumi.Context) error {
		k, err := testKey(ctx)
		if err != nil {
			return err
		}
		logs, err := NewBucket(ctx, "logs", &BucketArgs{Class: DataLogs})
		if err != nil {
			return err
		}
		if _, err := NewBucket(ctx, "store", &BucketArgs{Class: DataUser, LogBucket: logs, Key: k}); err != nil {
			return err
		}
		_, logErr = NewBucket(ctx, "keyed-logs", &BucketArgs{Class: DataLogs, Key: k})
		return nil
	})
	store := r.one(t, tokSSE, "store").inputs
	assert.Equal(t, "aws:kms", get(store, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"))
	assert.Equal(t, testKeyARN, get(store, "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId"))
	assert.Equal(t, true, get(store, "rules.0.bucketKeyEnabled"))
	assert.Equal(t, "AES256", get(r.one(t, tokSSE, "logs").inputs, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"))
	require.Error(t, logErr)
	assert.Contains(t, logErr.Error(), "SSE-S3")
	assert.Zero(t, r.named("keyed-logs"))
}

// TestKeyAliasFitsKMS: aliases stay in KMS's alphabet and length, and a second key of the
// stack (the us-east-1 edge key) never claims the stack key's alias.
func TestKeyAliasFitsKMS(t *testing.T) {
	assert.Equal(t, "alias/scaling-aws-prod", keyAlias("scaling-aws", "prod", "key"))
	assert.Equal(t, "alias/scaling-aws-prod-key-edge", keyAlias("scaling-aws", "prod", "key-edge"))
	assert.Equal(t, "alias/scaling-aws-prod-eu-1", keyAlias("scaling-aws", "prod.eu.1", "key"), "a stack name's dots are outside KMS's alphabet")
	long := keyAlias("scaling-aws", strings.Repeat("s", 300), "key")
	assert.Len(t, long, 256)
	assert.Regexp(t, `^alias/[a-zA-Z0-9/_-]+$`, long)
}
