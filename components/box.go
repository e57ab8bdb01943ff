package components

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dlm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BoxDatabase points the box's app at a database off the box (users+). Nil means MySQL
// (MariaDB) runs on the box itself, on the data volume.
type BoxDatabase struct {
	// Host and Port reach the database.
	Host pulumi.StringInput
	Port pulumi.IntInput
	// SecretArn is the Secrets Manager secret holding the credentials. The box's role must be
	// granted it by its owner (Database.GrantReadSecret).
	SecretArn pulumi.StringInput
	// MigrateFromBox copies the box's own database into this one at first boot, once, if
	// the remote database holds no app tables yet (the users+ move, see docs/runbook).
	MigrateFromBox bool
}

// BoxArgs configures a Box.
type BoxArgs struct {
	// Network holds the box in its first public subnet. Required.
	Network *Network
	// InstanceType sizes the box: vertical scaling is a change of this value (a stop and
	// start, keeping the data volume and the address). Required.
	InstanceType string
	// ImageID is the Amazon Linux 2023 image. Later images are ignored on a live box
	// (ignoreChanges: ami) so a new AMI never replaces it unasked. Required.
	ImageID pulumi.StringInput
	// Release is the app to run. Required.
	Release *AppRelease
	// Region is the AWS region, for the AWS CLI on the box. Required.
	Region string
	// AdminCidrs may reach SSH. Default: none (port 22 closed).
	AdminCidrs []string
	// DataVolumeGb sizes the encrypted data volume. Default: 20.
	DataVolumeGb int
	// Database moves the app's database off the box. Default: nil, MySQL on the box.
	Database *BoxDatabase
	// Env adds app environment variables (S3_BUCKET, CDN_BASE_URL, ...). Values must not be
	// secrets: user data is readable by anyone who can describe the instance.
	Env map[string]pulumi.StringInput
	// AlarmTopicArn receives the box's alarms. Required: every alarm has an action.
	AlarmTopicArn pulumi.StringInput
	// LogRetentionDays keeps the app's logs. Default: 30.
	LogRetentionDays int
	// Protect protects the data volume and the address (prod).
	Protect bool
	// SnapshotRetentionCount keeps this many daily snapshots of the data volume, 1 to 1000
	// (the Data Lifecycle Manager retain-rule range). Default: 7 because a week of restore
	// points is the floor the RDS backups of later stages keep too.
	SnapshotRetentionCount int
	// SnapshotTime is when the daily snapshot starts, hh:mm UTC (DLM starts it within the
	// hour after). Default: 03:00 because it is the RDS backup window of later stages.
	SnapshotTime string
	// Key encrypts the data and root volumes and the app's log group. The data volume takes it
	// at creation only (kmsKeyId cannot change on a live volume without replacing it, an empty
	// disk), so a change of Key is ignored there (docs/decisions.md). Default: nil, the
	// AWS-managed aws/ebs key and CloudWatch Logs' own encryption.
	Key *Key
}

// Box is the single box of stage 0 (and the web server of users+): one EC2 instance in a
// public subnet running the app, with an Elastic IP, an encrypted EBS data volume that
// outlives the instance (MySQL's data on stage 0) and is snapshotted daily by a Data
// Lifecycle Manager policy (its own execution role, tags copied to the snapshots), IMDSv2,
// detailed (1-minute) monitoring, an instance role, a security group open on 80/443 (22 only
// from allow-listed CIDRs) whose only egress is S3 (packages and the app, through the gateway
// endpoint) and the CloudWatch endpoints, and alarms on CPU, memory, disk, status checks and
// failed snapshots, with EC2 auto-recovery on a failed system check.
//
// A change of the app or the boot script replaces the instance (user data changes are
// replace-on-change): the old instance is stopped and deleted first, then the new one boots
// with the same data volume and address. A single box has this downtime by design.
//
// Costs money: the instance, the data volume and its snapshots (incremental), the Elastic
// IP, detailed monitoring, alarms, log ingestion.
type Box struct {
	pulumi.ResourceState

	// PublicIP is the Elastic IP, stable across instance replacement.
	PublicIP pulumi.StringOutput
	// InstanceID is the current instance.
	InstanceID pulumi.IDOutput
	// SecurityGroup guards the box.
	SecurityGroup *SecurityGroup
	// Role is the instance role, for grants.
	Role *iam.Role
	// URL is how users reach the box (the domain when given).
	URL pulumi.StringOutput

	name  string
	ctx   *pulumi.Context
	child []pulumi.ResourceOption
}

func (a *BoxArgs) withDefaults(name string) (*BoxArgs, error) {
	if a == nil {
		return nil, argError("box", name, "args", nil, "pass BoxArgs")
	}
	out := *a
	switch {
	case out.Network == nil:
		return nil, argError("box", name, "Network", nil, "pass the network")
	case out.Release == nil:
		return nil, argError("box", name, "Release", nil, "pass the app release")
	case out.ImageID == nil:
		return nil, argError("box", name, "ImageID", nil, "pass the Amazon Linux 2023 image id")
	case out.AlarmTopicArn == nil:
		return nil, argError("box", name, "AlarmTopicArn", nil, "pass the alarm topic: every alarm needs an action")
	case out.InstanceType == "":
		return nil, argError("box", name, "InstanceType", `""`, "give an EC2 instance type such as t3.small")
	case out.Region == "":
		return nil, argError("box", name, "Region", `""`, "give the AWS region")
	}
	for _, c := range out.AdminCidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || p.Bits() == 0 {
			return nil, argError("box", name, "AdminCidrs", c, "give CIDRs narrower than the whole internet")
		}
	}
	if out.DataVolumeGb == 0 {
		out.DataVolumeGb = 20
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	if out.SnapshotRetentionCount == 0 {
		out.SnapshotRetentionCount = 7
	}
	// DLM RetainRule.Count: 1..1000.
	if out.SnapshotRetentionCount < 1 || out.SnapshotRetentionCount > 1000 {
		return nil, argError("box", name, "SnapshotRetentionCount", out.SnapshotRetentionCount, "keep 1 to 1000 snapshots (the Data Lifecycle Manager limit)")
	}
	if out.SnapshotTime == "" {
		out.SnapshotTime = "03:00"
	}
	// DLM CreateRule.Times: one time, hh:mm, UTC.
	if !snapshotTime.MatchString(out.SnapshotTime) {
		return nil, argError("box", name, "SnapshotTime", out.SnapshotTime, "give one time as hh:mm in UTC, such as 03:00")
	}
	return &out, nil
}

// NewBox creates the single box.
func NewBox(ctx *pulumi.Context, name string, args *BoxArgs, opts ...pulumi.ResourceOption) (*Box, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	net := a.Network
	box := &Box{name: name, ctx: ctx}
	child, err := register(ctx, "compute:Box", name, box, opts)
	if err != nil {
		return nil, err
	}
	box.child = child
	az := net.AvailabilityZones[0]

	sg, err := net.NewSecurityGroup(ctx, name, "single box: web from the internet, SSH from allow-listed CIDRs only", RoleBox, child)
	if err != nil {
		return nil, err
	}
	box.SecurityGroup = sg
	for _, web := range []struct {
		rule string
		port Port
	}{{"http", 80}, {"https", 443}} {
		if err := sg.AllowFromCidr(web.rule+"-ipv4", "0.0.0.0/0", web.port); err != nil {
			return nil, err
		}
		if err := sg.AllowFromCidr(web.rule+"-ipv6", "::/0", web.port); err != nil {
			return nil, err
		}
	}
	for i, c := range a.AdminCidrs {
		if err := sg.AllowFromCidr(fmt.Sprintf("ssh-%d", i), c, 22); err != nil {
			return nil, err
		}
	}
	// The box initiates no connection but to S3 (dnf repositories and the app) and to the
	// CloudWatch endpoints; the seed: "disallow the web server from initiating outbound
	// connections".
	if err := allowServerEgress(sg, net); err != nil {
		return nil, err
	}
	id, err := newServerIdentity(ctx, name, "single box: read its app release, write its metrics and logs", a.LogRetentionDays, a.Key,
		[]statement{{Sid: "ReadRelease", Actions: []string{"s3:GetObject"}, Resources: pulumi.StringArray{a.Release.ObjectArn}}}, child)
	if err != nil {
		return nil, err
	}
	box.Role = id.role
	logGroup, profile := id.logGroup, id.profile

	// The data volume outlives every instance: MySQL's data (stage 0) and anything the box
	// keeps. It is retained if ever dropped from the program, snapshotted on deletion, and
	// protected in prod.
	volumeTags := tags(childName(name, "data"))
	for k, v := range box.snapshotTarget() {
		volumeTags[k] = v
	}
	volume, err := ebs.NewVolume(ctx, childName(name, "data"), &ebs.VolumeArgs{
		AvailabilityZone: pulumi.String(az),
		Size:             pulumi.Int(a.DataVolumeGb),
		Type:             pulumi.String("gp3"),
		Encrypted:        pulumi.Bool(true),
		KmsKeyId:         keyArn(a.Key),
		FinalSnapshot:    pulumi.Bool(true),
		Tags:             volumeTags,
	}, with(stateful(child, a.Protect), pulumi.IgnoreChanges([]string{"kmsKeyId"}))...)
	if err != nil {
		return nil, err
	}
	policy, err := box.snapshots(a)
	if err != nil {
		return nil, err
	}

	script := box.renderUserData(a, volume, logGroup)
	instance, err := ec2.NewInstance(ctx, name, &ec2.InstanceArgs{
		Ami:                      a.ImageID,
		InstanceType:             pulumi.String(a.InstanceType),
		SubnetId:                 net.SubnetIDs(TierPublic)[0],
		VpcSecurityGroupIds:      pulumi.StringArray{sg.ID},
		IamInstanceProfile:       profile.Name,
		AssociatePublicIpAddress: pulumi.Bool(false), // the Elastic IP is its address
		EbsOptimized:             pulumi.Bool(true),
		// Detailed monitoring: 1-minute EC2 metrics, so the CPU and status alarms see a
		// problem in minutes rather than in 5-minute steps.
		Monitoring: pulumi.Bool(true),
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"), // IMDSv2 only
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		// The root volume holds nothing the box cannot rebuild: a key change replaces the
		// instance, as every release does.
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			Encrypted:  pulumi.Bool(true),
			KmsKeyId:   keyArn(a.Key),
			VolumeType: pulumi.String("gp3"),
			VolumeSize: pulumi.Int(16),
		},
		UserData:                script,
		UserDataReplaceOnChange: pulumi.Bool(true),
		Tags:                    tags(name),
	}, with(child,
		pulumi.IgnoreChanges([]string{"ami"}),
		// The data volume and the address are exclusive: the old instance goes first.
		pulumi.DeleteBeforeReplace(true),
	)...)
	if err != nil {
		return nil, err
	}
	box.InstanceID = instance.ID()
	if _, err := ec2.NewVolumeAttachment(ctx, childName(name, "data"), &ec2.VolumeAttachmentArgs{
		DeviceName:                  pulumi.String("/dev/sdf"),
		VolumeId:                    volume.ID(),
		InstanceId:                  instance.ID(),
		StopInstanceBeforeDetaching: pulumi.Bool(true), // a clean unmount of MySQL's data
	}, with(child, pulumi.DeleteBeforeReplace(true))...); err != nil {
		return nil, err
	}

	eip, err := ec2.NewEip(ctx, name, &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tags(name)}, with(child, pulumi.Protect(a.Protect))...)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewEipAssociation(ctx, name, &ec2.EipAssociationArgs{AllocationId: eip.ID(), InstanceId: instance.ID()}, child...); err != nil {
		return nil, err
	}
	box.PublicIP = eip.PublicIp
	box.URL = pulumi.Sprintf("http://%s", eip.PublicIp)

	if err := box.alarms(a, instance, policy); err != nil {
		return nil, err
	}
	return box, ctx.RegisterResourceOutputs(box, pulumi.Map{"publicIp": eip.PublicIp, "instanceId": instance.ID()})
}

// renderUserData renders the boot script once the volume id and names are known.
func (box *Box) renderUserData(a *BoxArgs, volume *ebs.Volume, logGroup *cloudwatch.LogGroup) pulumi.StringOutput {
	env := map[string]pulumi.StringInput{
		"APP_ROLE": pulumi.String("all"),
		"APP_ADDR": pulumi.String(":80"),
		"DB_NAME":  pulumi.String("app"),
		// Migrations run at start under a lock; a single box has no race, later tiers do.
		"DB_MIGRATE": pulumi.String("true"),
		"AWS_REGION": pulumi.String(a.Region),
	}
	var dbHost, dbSecret pulumi.StringInput = pulumi.String(""), pulumi.String("")
	if a.Database == nil {
		env["DB_HOST"], env["DB_PORT"], env["DB_USER"] = pulumi.String("127.0.0.1"), pulumi.String("3306"), pulumi.String("app")
	} else {
		dbHost, dbSecret = a.Database.Host, a.Database.SecretArn
		env["DB_HOST"] = a.Database.Host
		env["DB_PORT"] = pulumi.Sprintf("%d", a.Database.Port)
		env["DB_USER"] = pulumi.String("admin")
		env["DB_PASSWORD_SECRET_ARN"] = a.Database.SecretArn
		// RDS requires TLS (require_secure_transport); the app verifies the server's
		// certificate and name against the Amazon RDS CAs embedded in it (SEC-3).
		env["DB_TLS"] = pulumi.String("rds")
	}
	for k, v := range a.Env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	inputs := []any{volume.ID(), a.Release.Bucket.ID, logGroup.Name, dbHost, dbSecret}
	for _, k := range keys {
		inputs = append(inputs, env[k])
	}
	return pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		vals := userDataValues{
			Name: box.name, Version: a.Release.Version, Region: a.Region,
			VolumeID: str(v[0]), Bucket: str(v[1]), Key: a.Release.Key,
			LocalDatabase: a.Database == nil, MigrateFromBox: a.Database != nil && a.Database.MigrateFromBox,
			DBHost: str(v[3]), DBSecretArn: str(v[4]),
		}
		// Not in an Auto Scaling group: metrics aggregate by instance and by instance and
		// path, the dimensions of the box's memory and data-disk alarms.
		cfg, err := agentConfig(agentOptions{LogGroup: str(v[2]), DiskPaths: []string{"/", "/data"}, App: true})
		if err != nil {
			return "", err
		}
		vals.AgentConfig = cfg
		for i, k := range keys {
			vals.Env = append(vals.Env, k+"="+str(v[5+i]))
		}
		var buf bytes.Buffer
		err = userData.ExecuteTemplate(&buf, "box", vals)
		return buf.String(), err
	}).(pulumi.StringOutput)
}

// alarms watches the box: CPU, memory and disk (from the CloudWatch agent), and the status
// checks, recovering the instance on a failed system check and rebooting it on a failed
// instance check.
func (box *Box) alarms(a *BoxArgs, instance *ec2.Instance, snapshots *dlm.LifecyclePolicy) error {
	dims := pulumi.StringMap{"InstanceId": instance.ID()}
	data := pulumi.StringMap{"InstanceId": instance.ID(), "path": pulumi.String("/data")}
	recover := pulumi.Sprintf("arn:aws:automate:%s:ec2:recover", a.Region)
	reboot := pulumi.Sprintf("arn:aws:automate:%s:ec2:reboot", a.Region)
	for _, al := range []Alarm{
		{Name: "cpu", Description: "box CPU above 80% for 15 minutes: scale the box up (box.instanceType) or move up a stage",
			Namespace: "AWS/EC2", Metric: "CPUUtilization", Dimensions: dims, Statistic: "Average", Comparison: "GreaterThanThreshold", Threshold: 80, PeriodSeconds: 300, EvaluationPeriods: 3},
		{Name: "system-check", Description: "failed system status check: EC2 recovers the instance onto healthy hardware",
			Namespace: "AWS/EC2", Metric: "StatusCheckFailed_System", Dimensions: dims, Statistic: "Maximum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 1, PeriodSeconds: 60, EvaluationPeriods: 2, ExtraActions: []pulumi.StringInput{recover}},
		{Name: "instance-check", Description: "failed instance status check: the instance is rebooted",
			Namespace: "AWS/EC2", Metric: "StatusCheckFailed_Instance", Dimensions: dims, Statistic: "Maximum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 1, PeriodSeconds: 60, EvaluationPeriods: 3, ExtraActions: []pulumi.StringInput{reboot}},
		{Name: "memory", Description: "box memory above 90%: MySQL and the app outgrow the box",
			Namespace: "CWAgent", Metric: "mem_used_percent", Dimensions: dims, Statistic: "Average", Comparison: "GreaterThanThreshold", Threshold: 90, PeriodSeconds: 300, EvaluationPeriods: 3},
		{Name: "data-disk", Description: "data volume above 85% full: grow box.dataVolumeGb",
			Namespace: "CWAgent", Metric: "disk_used_percent", Dimensions: data, Statistic: "Maximum", Comparison: "GreaterThanThreshold", Threshold: 85, PeriodSeconds: 300, EvaluationPeriods: 1},
		// DLM publishes SnapshotsCreateFailed in AWS/EBS per policy (dimension DLMPolicyId)
		// when a scheduled snapshot fails after its retries (EBS user guide, "Monitor your
		// policies using Amazon CloudWatch"); between runs there is no data, which is fine.
		{Name: "snapshot-failed", Description: "the daily snapshot of the data volume failed: see docs/runbook-restore-box.md and the policy's state in the EC2 console (Lifecycle Manager)",
			Namespace: "AWS/EBS", Metric: "SnapshotsCreateFailed", Dimensions: pulumi.StringMap{"DLMPolicyId": snapshots.ID().ToStringOutput()}, Statistic: "Sum", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 1, PeriodSeconds: 3600, EvaluationPeriods: 1, MissingData: "notBreaching"},
	} {
		if err := newAlarm(box.ctx, box.name, a.AlarmTopicArn, al, box.child); err != nil {
			return err
		}
	}
	return nil
}

// snapshotTime is one DLM creation time, hh:mm.
var snapshotTime = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)

// TagSnapshots is the tag by which the box's snapshot policy finds its data volume.
const TagSnapshots = "snapshots"

// snapshotTarget is the tag the snapshot policy targets. Lifecycle policies select volumes by
// tag across the whole account and region, so the value names the project, stack and box:
// two stacks in one account never snapshot each other's volumes.
func (box *Box) snapshotTarget() pulumi.StringMap {
	return pulumi.StringMap{TagSnapshots: pulumi.Sprintf("%s-%s-%s-data", box.ctx.Project(), box.ctx.Stack(), box.name)}
}

// snapshots creates the data volume's daily snapshot policy (Data Lifecycle Manager) and its
// execution role: trusted by dlm.amazonaws.com alone, with AWS's
// AWSDataLifecycleManagerServiceRole policy (EBS user guide, "AWS managed policies for Amazon
// Data Lifecycle Manager"; DLM refuses a policy whose role it cannot assume). Snapshots are
// taken every 24 hours, keep the volume's tags, and the oldest beyond SnapshotRetentionCount
// is deleted. DLM's own snapshots are never deleted by the box's deletion: only by the
// retain rule, or by hand.
func (box *Box) snapshots(a *BoxArgs) (*dlm.LifecyclePolicy, error) {
	name := childName(box.name, "snapshots")
	role, err := iam.NewRole(box.ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("dlm.amazonaws.com")),
		Description:      pulumi.String("Data Lifecycle Manager: daily snapshots of the box's data volume"),
		Tags:             tags(name),
	}, box.child...)
	if err != nil {
		return nil, err
	}
	attach, err := iam.NewRolePolicyAttachment(box.ctx, name, &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"),
	}, box.child...)
	if err != nil {
		return nil, err
	}
	return dlm.NewLifecyclePolicy(box.ctx, name, &dlm.LifecyclePolicyArgs{
		Description:      pulumi.Sprintf("%s: daily snapshots of the data volume, %d kept", box.name, a.SnapshotRetentionCount),
		ExecutionRoleArn: role.Arn,
		State:            pulumi.String("ENABLED"),
		PolicyDetails: &dlm.LifecyclePolicyPolicyDetailsArgs{
			PolicyType:    pulumi.String("EBS_SNAPSHOT_MANAGEMENT"),
			ResourceTypes: pulumi.StringArray{pulumi.String("VOLUME")},
			TargetTags:    box.snapshotTarget(),
			Schedules: dlm.LifecyclePolicyPolicyDetailsScheduleArray{&dlm.LifecyclePolicyPolicyDetailsScheduleArgs{
				Name: pulumi.String("daily"),
				CreateRule: &dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs{
					Interval:     pulumi.Int(24),
					IntervalUnit: pulumi.String("HOURS"),
					Times:        pulumi.String(a.SnapshotTime),
				},
				RetainRule: &dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs{Count: pulumi.Int(a.SnapshotRetentionCount)},
				CopyTags:   pulumi.Bool(true),
				TagsToAdd:  pulumi.StringMap{"snapshotOf": pulumi.String(childName(box.name, "data"))},
			}},
		},
		Tags: tags(name),
	}, with(box.child, pulumi.DependsOn([]pulumi.Resource{attach}))...)
}
