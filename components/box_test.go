package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boxProgram creates the single box on a one-tier network, with the stack key when keyed;
// tweak adjusts the args before NewBox and boxErr receives its error.
func boxProgram(keyed bool, tweak func(*BoxArgs), boxErr *error) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		net, err := NewNetwork(ctx, "net", &NetworkArgs{
			CidrBlock: "10.0.0.0/16", AvailabilityZones: []string{"us-east-1a"}, Region: "us-east-1",
			Tiers: []Tier{TierPublic}, InterfaceEndpoints: []string{"monitoring", "logs"},
		})
		if err != nil {
			return err
		}
		rel, err := NewAppRelease(ctx, "release", &AppReleaseArgs{Version: "v1", Arch: "amd64", Binary: pulumi.NewStringAsset("app")})
		if err != nil {
			return err
		}
		args := &BoxArgs{
			Network: net, InstanceType: "t3.small", ImageID: pulumi.String("ami-1"), Release: rel, Region: "us-east-1",
			AlarmTopicArn: pulumi.String("arn:aws:sns:us-east-1:123456789012:alarms"),
		}
		if keyed {
			k, err := testKey(ctx)
			if err != nil {
				return err
			}
			args.Key = k
		}
		if tweak != nil {
			tweak(args)
		}
		_, err = NewBox(ctx, "box", args)
		if boxErr != nil {
			*boxErr = err
			return nil
		}
		return err
	}
}

// TestBoxSnapshotsAndMonitoring: the data volume is snapshotted daily by a DLM policy that
// finds it by a tag naming the stack, keeps 7 and copies tags, with an alarm on failed
// snapshots; the instance has detailed monitoring.
func TestBoxSnapshotsAndMonitoring(t *testing.T) {
	r := run(t, boxProgram(false, nil, nil))
	inst := r.one(t, tokInstance, "box")
	assert.Equal(t, true, inst.inputs["monitoring"], "detailed monitoring")

	vol := r.one(t, tokVolume, "box-data")
	assert.Equal(t, "scaling-aws-test-box-data", get(vol.inputs, "tags.snapshots"), "the target tag names project, stack and box")
	assert.Nil(t, vol.inputs["kmsKeyId"], "dev: the AWS-managed aws/ebs key")
	assert.Contains(t, vol.ignoreChanges, "kmsKeyId", "a key change never replaces the data volume")

	p := r.one(t, tokDLM, "box-snapshots").inputs
	assert.Equal(t, "ENABLED", p["state"])
	assert.Equal(t, "arn:aws:mock:us-east-1:123456789012:box-snapshots", p["executionRoleArn"])
	assert.Equal(t, []any{"VOLUME"}, get(p, "policyDetails.resourceTypes"))
	assert.Equal(t, map[string]any{"snapshots": "scaling-aws-test-box-data"}, get(p, "policyDetails.targetTags"))
	assert.Equal(t, 24.0, get(p, "policyDetails.schedules.0.createRule.interval"))
	assert.Equal(t, "HOURS", get(p, "policyDetails.schedules.0.createRule.intervalUnit"))
	assert.Equal(t, "03:00", get(p, "policyDetails.schedules.0.createRule.times"))
	assert.Equal(t, 7.0, get(p, "policyDetails.schedules.0.retainRule.count"))
	assert.Equal(t, true, get(p, "policyDetails.schedules.0.copyTags"))

	role := r.one(t, tokRole, "box-snapshots")
	assert.Contains(t, role.inputs["assumeRolePolicy"], `"Service":"dlm.amazonaws.com"`)
	assert.Equal(t, "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole", r.one(t, tokAttach, "box-snapshots").inputs["policyArn"])

	al := r.one(t, tokAlarm, "box-snapshot-failed").inputs
	assert.Equal(t, "AWS/EBS", al["namespace"])
	assert.Equal(t, "SnapshotsCreateFailed", al["metricName"])
	assert.Equal(t, map[string]any{"DLMPolicyId": "box-snapshots-id"}, al["dimensions"], "the policy's id")
	assert.Equal(t, "notBreaching", al["treatMissingData"], "no data between daily runs")
	assert.Equal(t, []any{"arn:aws:sns:us-east-1:123456789012:alarms"}, al["alarmActions"])
}

// TestBoxWithTheStackKey: the data and root volumes and the app's log group take the key.
func TestBoxWithTheStackKey(t *testing.T) {
	r := run(t, boxProgram(true, func(a *BoxArgs) { a.SnapshotRetentionCount = 30 }, nil))
	assert.Equal(t, testKeyARN, r.one(t, tokVolume, "box-data").inputs["kmsKeyId"])
	assert.Equal(t, testKeyARN, get(r.one(t, tokInstance, "box").inputs, "rootBlockDevice.kmsKeyId"))
	assert.Equal(t, testKeyARN, r.one(t, tokLogGroup, "box-app").inputs["kmsKeyId"])
	assert.Equal(t, 30.0, get(r.one(t, tokDLM, "box-snapshots").inputs, "policyDetails.schedules.0.retainRule.count"))
}

func TestBoxSnapshotArgsRejected(t *testing.T) {
	for label, c := range map[string]struct {
		tweak func(*BoxArgs)
		field string
	}{
		"keep 1001": {func(a *BoxArgs) { a.SnapshotRetentionCount = 1001 }, "SnapshotRetentionCount"},
		"keep -1":   {func(a *BoxArgs) { a.SnapshotRetentionCount = -1 }, "SnapshotRetentionCount"},
		"at 3am":    {func(a *BoxArgs) { a.SnapshotTime = "3am" }, "SnapshotTime"},
		"at 24:00":  {func(a *BoxArgs) { a.SnapshotTime = "24:00" }, "SnapshotTime"},
	} {
		t.Run(label, func(t *testing.T) {
			var boxErr error
			r := run(t, boxProgram(false, c.tweak, &boxErr))
			require.Error(t, boxErr)
			assert.Contains(t, boxErr.Error(), c.field+" = ")
			assert.Zero(t, r.named("box"), "nothing registered for the box")
		})
	}
}
