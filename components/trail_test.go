package components

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrailNames: the stack's trail name keeps to what CreateTrail accepts, whatever the
// project and stack are called.
func TestTrailNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"scaling-aws-prod": true, "a.b_c-d": true, "abc": true, strings.Repeat("a", 128): true,
		"ab": false, strings.Repeat("a", 129): false, "-abc": false, "abc.": false, "a--b": false, "a._b": false,
		"a b": false, "10.0.0.1": false, "trail/x": false,
	} {
		assert.Equal(t, ok, ValidTrailName(name) == "", name)
	}
	for _, c := range [][3]string{
		{"scaling-aws", "prod", "scaling-aws-prod"},
		{"scaling-aws", "org/team.dev", "scaling-aws-org-team.dev"},
		{"scaling-aws", "a--b__c", "scaling-aws-a-b-c"},
		{"scaling-aws", "é_", "scaling-aws"},
		{"scaling-aws", strings.Repeat("x", 200), "scaling-aws-" + strings.Repeat("x", 116)},
	} {
		got := TrailName(c[0], c[1])
		assert.Equal(t, c[2], got, c[1])
		assert.Empty(t, ValidTrailName(got), got)
	}
	assert.Equal(t, "arn:aws:cloudtrail:eu-west-1:123456789012:trail/t-1", TrailArn("", "eu-west-1", "123456789012", "t-1"))
}

// TestTrailAndLogAnalysisRefuseBadArgs: nothing is registered when the key was not made for
// the trail (CreateTrail would fail with InsufficientEncryptionPolicyException), the name is
// one CloudTrail refuses, or the log analysis has no topic or a tier without a log group.
func TestTrailAndLogAnalysisRefuseBadArgs(t *testing.T) {
	r := &recorder{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		plain, err := testKey(ctx)
		require.NoError(t, err)
		logs, err := NewBucket(ctx, "logs", &BucketArgs{Class: DataLogs})
		require.NoError(t, err)
		_, err = NewKey(ctx, "bad-key", &KeyArgs{AccountID: testAccount, Region: "us-east-1", CloudTrailName: "a--b"})
		assert.ErrorContains(t, err, "CloudTrailName")
		base := TrailArgs{AccountID: testAccount, Region: "us-east-1", Name: "scaling-aws-test", Key: plain, LogBucket: logs}
		_, err = NewTrail(ctx, "trail", &base)
		assert.ErrorContains(t, err, "InsufficientEncryptionPolicyException")
		bad := base
		bad.Name = "10.1.2.3"
		_, err = NewTrail(ctx, "trail", &bad)
		assert.ErrorContains(t, err, "not an IP address")
		forTrail, err := NewKey(ctx, "trail-key", &KeyArgs{AccountID: testAccount, Region: "us-east-1", CloudTrailName: "scaling-aws-test"})
		require.NoError(t, err)
		noLogs := base
		noLogs.Key, noLogs.LogBucket = forTrail, nil
		_, err = NewTrail(ctx, "trail", &noLogs)
		assert.ErrorContains(t, err, "LogBucket")

		_, err = NewLogAnalysis(ctx, "la", &LogAnalysisArgs{Tiers: []LogTier{{Name: "web", LogGroupName: pulumi.String("g"), Nginx: true}}})
		assert.ErrorContains(t, err, "AlarmTopicArn")
		_, err = NewLogAnalysis(ctx, "la", &LogAnalysisArgs{AlarmTopicArn: pulumi.String("t"), Tiers: []LogTier{{Name: "web", Nginx: true}}})
		assert.ErrorContains(t, err, "LogGroupName")
		_, err = NewLogAnalysis(ctx, "la", &LogAnalysisArgs{AlarmTopicArn: pulumi.String("t"), Tiers: []LogTier{{Name: "web", LogGroupName: pulumi.String("g")}}})
		assert.ErrorContains(t, err, "App, Nginx or both")
		return nil
	}, pulumi.WithMocks("scaling-aws", "test", r))
	require.NoError(t, err)
	assert.Empty(t, r.of("aws:cloudtrail/trail:Trail", ""), "no trail registered")
	assert.Empty(t, r.of("aws:cloudwatch/logMetricFilter:LogMetricFilter", ""), "no filter registered")
	assert.Len(t, r.of(tokKey, ""), 2, "only the valid keys")
}
