package components

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RoleStatement is an extra Allow statement for a server group's role. Actions are named in
// full: a "*" action, or a whole service ("s3:*"), is refused (CKV_AWS_62/63, SH IAM.1).
type RoleStatement struct {
	// Sid names the statement.
	Sid string
	// Actions are the IAM actions allowed.
	Actions []string
	// Resources are the ARNs the actions apply to.
	Resources pulumi.StringArray
	// Condition is an optional IAM condition block.
	Condition map[string]map[string]any
}

// jobNameRE is what a scheduled job's unit name may be.
var jobNameRE = regexp.MustCompile(`^[a-z][a-z-]{0,30}[a-z]$`)

// ServerGroupArgs configures a ServerGroup.
type ServerGroupArgs struct {
	// Network is where the servers live. Required.
	Network *Network
	// Tier is the private tier whose subnets hold the servers (web, app or worker), in at
	// least two AZs so the group survives an AZ loss (REL10-BP01). Required.
	Tier Tier
	// InstanceType is the EC2 instance type. Default: t3.small (2 vCPU, 2 GiB: nginx or the
	// Go app with room for the CloudWatch agent; about 15 USD a month each).
	InstanceType string
	// ImageID is the AMI (Amazon Linux 2023, looked up by the stage). Required.
	ImageID pulumi.StringInput
	// MinSize, MaxSize and DesiredCapacity size the group; min <= desired <= max.
	// Default: 2, 2 and 2, one server per AZ of a two-AZ network, fixed until users++++
	// turns on autoscaling by raising MaxSize.
	MinSize, MaxSize, DesiredCapacity int
	// UserData is the boot script as plain text; the component base64-encodes it for the
	// launch template. It must carry no credentials (the role gives access). Default: none.
	UserData pulumi.StringInput
	// Script, instead of UserData, renders the standard boot script (ServerScript) with the
	// group's own log group, which exists only once the group does. Default: none.
	Script *ServerScriptArgs
	// TargetGroups are the load balancer target groups the servers register into. With any,
	// the group uses the load balancer's health checks (an instance the load balancer finds
	// unhealthy is replaced). Default: none, EC2 status checks only.
	TargetGroups []*TargetGroup
	// Policies are extra statements for the servers' role (reading a secret, a bucket
	// prefix, a queue). Default: none.
	Policies []RoleStatement
	// LogRetentionDays keeps the tier's app logs. Default: 30.
	LogRetentionDays int
	// AlarmTopicArn, when set, gets a CPU alarm on the group (average above 80% for 10
	// minutes). Default: no alarm.
	AlarmTopicArn pulumi.StringInput
	// EgressHTTPS lets the servers reach any address on 443 through the NAT gateway, for AWS
	// APIs without an interface endpoint and package mirrors outside S3. Default: false,
	// only S3 (through the gateway endpoint), the interface endpoints and peers.
	EgressHTTPS bool
	// RootVolumeGb sizes the encrypted gp3 root volume. Default: 16.
	RootVolumeGb int
	// Key encrypts the root volumes and the tier's log group. A key change is a new launch
	// template version (servers hold no data); the stack key's policy lets the Auto Scaling
	// service-linked role use it, without which no instance launches. Default: nil, the
	// AWS-managed aws/ebs key.
	Key *Key
	// HealthCheckGraceSeconds is how long a new server may fail health checks while it boots.
	// Default: DefaultHealthCheckGraceSeconds (the boot budget in docs/components.md).
	HealthCheckGraceSeconds int
	// Worker makes the group a fleet of queue workers: no target groups (nothing calls a
	// worker), the group tagged role=worker (the rules' mark for a group without a load
	// balancer), and no CPU target-tracking policy: a worker busy on its backlog runs its
	// CPU flat out whatever the backlog's size, so a CPU target would hold the fleet at
	// MaxSize. The queue scales it instead (Queue.ScaleWorkers). Default: false.
	Worker bool
	// CPUTargetPercent is the target-tracking policy's average CPU of a group without
	// Scaling. Default: 60 (headroom for a peak while new servers boot).
	CPUTargetPercent float64
	// Scaling, when set, scales the group between MinSize and MaxSize (which must differ) on
	// its triggers and schedule instead of the one CPU policy. Default: nil, the CPU policy
	// only.
	Scaling *Scaling
}

// ServerGroup is a tier of identical servers: a launch template (IMDSv2 only, hop limit 1,
// no public IP, encrypted gp3 root volume, detailed monitoring), an Auto Scaling group over
// the tier's private subnets pinned to the template's latest version (so every template
// change starts a rolling instance refresh that launches replacements before terminating,
// for no downtime), an instance role and profile (CloudWatch metrics under the CWAgent
// namespace, its own log group, and the extra statements), a closed security group, a log
// group, a CPU target-tracking scaling policy and, optionally, a CPU alarm.
//
// The CPU scaling policy exists from the first fixed-size stage: with MinSize == MaxSize it
// cannot change the group's size, but the group already has "at least one scaling policy"
// (SH AutoScaling). With Scaling (users++++) the same group and template scale between
// MinSize and MaxSize on the triggers Scaling names (components/scaling.go). When MaxSize >
// MinSize the group's desired capacity belongs to autoscaling, and with a schedule its
// minimum too: the component then ignores changes to them, so a deploy never resets a
// scaled-out group or a business-hours floor (ANCHORS c4).
//
// AWS resources: ec2.LaunchTemplate, autoscaling.Group, autoscaling.Policy (one per
// trigger), autoscaling.Schedule (two with a schedule), iam.Role, iam.RolePolicy,
// iam.InstanceProfile, cloudwatch.LogGroup, ec2.SecurityGroup and its rules,
// cloudwatch.MetricAlarm (with AlarmTopicArn, and the latency trigger's).
// Costs money: the instances (per type and count), their EBS volumes, detailed monitoring
// (about 2 USD a month per instance), log ingestion and storage.
type ServerGroup struct {
	pulumi.ResourceState

	// SecurityGroup guards the servers; the stage opens it to peers with AllowFrom, Connect
	// or LoadBalancer.ForwardTo.
	SecurityGroup *SecurityGroup
	// Role is the servers' instance role, for grants by other components.
	Role *iam.Role
	// GroupName is the Auto Scaling group's name (the AutoScalingGroupName metric dimension).
	GroupName pulumi.StringOutput
	// LogGroupName is the tier's app log group.
	LogGroupName pulumi.StringOutput
	// LaunchTemplateVersion is the template version the group runs.
	LaunchTemplateVersion pulumi.StringOutput
	// Script is what the boot script was rendered from (with the group's log group), so
	// State Manager's convergence renders the same files (Operations); nil with UserData.
	Script *ServerScriptArgs
}

// NewServerGroup creates a ServerGroup.
func NewServerGroup(ctx *pulumi.Context, name string, args *ServerGroupArgs, opts ...pulumi.ResourceOption) (*ServerGroup, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	net := a.Network
	g := &ServerGroup{}
	child, err := register(ctx, "compute:ServerGroup", name, g, opts)
	if err != nil {
		return nil, err
	}

	sg, err := net.NewSecurityGroup(ctx, childName(name, "sg"), fmt.Sprintf("%s servers: from their load balancer or peer tier only", name), RoleInternal, child)
	if err != nil {
		return nil, err
	}
	g.SecurityGroup = sg
	// Servers initiate only what they need: S3 through the gateway endpoint (packages, the
	// app release, user files), the interface endpoints, and, when asked, HTTPS through NAT.
	if err := allowServerEgress(sg, net); err != nil {
		return nil, err
	}
	if a.EgressHTTPS {
		if err := sg.AllowToCidr("https", "0.0.0.0/0", 443); err != nil {
			return nil, err
		}
	}

	var extra []statement
	if a.Script != nil {
		// The boot script fetches the release with the instance role (aws s3 cp), as the box does.
		extra = append(extra, statement{Sid: "ReadRelease", Actions: []string{"s3:GetObject"}, Resources: pulumi.StringArray{a.Script.Release.ObjectArn}})
	}
	for _, p := range a.Policies {
		extra = append(extra, statement{Sid: p.Sid, Actions: p.Actions, Resources: p.Resources, Condition: p.Condition})
	}
	// The CloudWatch agent resolves ${aws:AutoScalingGroupName} from the instance's
	// aws:autoscaling:groupName tag with DescribeTags, which takes no resource.
	extra = append(extra, statement{Sid: "ReadOwnTags", Actions: []string{"ec2:DescribeTags"}, Resources: pulumi.StringArray{pulumi.String("*")}})
	id, err := newServerIdentity(ctx, name, fmt.Sprintf("%s servers: write their metrics and logs, plus grants", name), a.LogRetentionDays, a.Key, extra, child)
	if err != nil {
		return nil, err
	}
	g.Role, g.LogGroupName = id.role, id.logGroup.Name
	logGroup, profile := id.logGroup, id.profile

	// PatchGroup names the stack's patch baseline (Operations registers it for that group):
	// Patch Manager reads the tag from the instance, and without it patches by the account's
	// default baseline.
	instanceTags := pulumi.StringMap{"Name": pulumi.String(name), "tier": pulumi.String(string(a.Tier)), TagPatchGroup: pulumi.String(PatchGroupName(ctx))}
	ltArgs := &ec2.LaunchTemplateArgs{
		Description:  pulumi.Sprintf("%s servers", name),
		ImageId:      a.ImageID,
		InstanceType: pulumi.String(a.InstanceType),
		IamInstanceProfile: &ec2.LaunchTemplateIamInstanceProfileArgs{
			Arn: profile.Arn,
		},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"), // IMDSv2 only (SH EC2.8, AutoScaling.3)
			HttpPutResponseHopLimit: pulumi.Int(1),             // no container or proxy reaches the credentials
		},
		// Security groups sit on the interface: a template cannot set both vpcSecurityGroupIds
		// and networkInterfaces, and the interface is where "no public IP" is said.
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{&ec2.LaunchTemplateNetworkInterfaceArgs{
			DeviceIndex:              pulumi.Int(0),
			AssociatePublicIpAddress: pulumi.String("false"), // v6 launch-template booleans are strings
			DeleteOnTermination:      pulumi.String("true"),
			SecurityGroups:           pulumi.StringArray{sg.ID},
		}},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{&ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"), // Amazon Linux 2023's root device
			Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeType:          pulumi.String("gp3"),
				VolumeSize:          pulumi.Int(a.RootVolumeGb),
				Encrypted:           pulumi.String("true"),
				KmsKeyId:            keyArn(a.Key),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		EbsOptimized:         pulumi.String("true"),
		Monitoring:           &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		UpdateDefaultVersion: pulumi.Bool(true),
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: instanceTags},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: instanceTags},
		},
		Tags: tags(name),
	}
	if a.Script != nil {
		script := *a.Script
		script.LogGroup = logGroup.Name
		a.UserData = ServerScript(script)
		g.Script = &script
	}
	if a.UserData != nil {
		ltArgs.UserData = a.UserData.ToStringOutput().ApplyT(func(s string) string {
			return base64.StdEncoding.EncodeToString([]byte(s))
		}).(pulumi.StringOutput)
	}
	lt, err := ec2.NewLaunchTemplate(ctx, name, ltArgs, child...)
	if err != nil {
		return nil, err
	}
	// The group runs the template's latest version by number, never "$Latest": only a
	// changed version number makes the provider start an instance refresh (ANCHORS c3).
	version := lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput)
	g.LaunchTemplateVersion = version

	var tgArns pulumi.StringArray
	for _, tg := range a.TargetGroups {
		tgArns = append(tgArns, tg.Arn)
	}
	healthCheck := "EC2"
	if len(tgArns) > 0 {
		healthCheck = "ELB"
	}
	groupTags := autoscaling.GroupTagArray{}
	for _, k := range []string{"Name", "tier"} {
		groupTags = append(groupTags, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: instanceTags[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	if a.Worker {
		groupTags = append(groupTags, &autoscaling.GroupTagArgs{Key: pulumi.String("role"), Value: pulumi.String("worker"), PropagateAtLaunch: pulumi.Bool(false)})
	}
	groupOpts := child
	if ignored := a.ignoredSizes(); len(ignored) > 0 {
		// Autoscaling owns these sizes; a deploy must not reset them (ANCHORS c4).
		groupOpts = with(child, pulumi.IgnoreChanges(ignored))
	}
	var cooldown pulumi.IntPtrInput
	if a.Scaling != nil {
		// Only simple scaling and manual changes that honour cooldowns read it (target
		// tracking and step scaling use the warm-up); a new server's metrics count after
		// the same boot budget.
		cooldown = pulumi.IntPtr(a.HealthCheckGraceSeconds)
	}
	asg, err := autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: net.SubnetIDs(a.Tier),
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: version,
		},
		MinSize:                pulumi.Int(a.MinSize),
		MaxSize:                pulumi.Int(a.MaxSize),
		DesiredCapacity:        pulumi.Int(a.DesiredCapacity),
		TargetGroupArns:        tgArns,
		HealthCheckType:        pulumi.String(healthCheck),
		HealthCheckGracePeriod: pulumi.Int(a.HealthCheckGraceSeconds),
		DefaultInstanceWarmup:  pulumi.Int(a.HealthCheckGraceSeconds),
		DefaultCooldown:        cooldown,
		// Health replacements launch the new server before terminating the old one.
		InstanceMaintenancePolicy: &autoscaling.GroupInstanceMaintenancePolicyArgs{
			MinHealthyPercentage: pulumi.Int(100),
			MaxHealthyPercentage: pulumi.Int(150),
		},
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			// No triggers: a launch template change always starts a refresh; tags do not
			// change what servers run.
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				// Launch before terminate: capacity never drops below desired during a
				// deploy, even at two servers (90% of 2 rounds up to 2 anyway).
				MinHealthyPercentage: pulumi.Int(100),
				MaxHealthyPercentage: pulumi.Int(150),
				InstanceWarmup:       pulumi.String(fmt.Sprint(a.HealthCheckGraceSeconds)),
				SkipMatching:         pulumi.Bool(true),
				// Auto rollback stays off: the provider updates the group to the new version
				// before starting the refresh, so a rollback re-applies the broken version
				// (hashicorp/terraform-provider-aws#34189). A failed refresh stops with the
				// old servers still serving; revert the change and `pulumi up` again.
				AutoRollback: pulumi.Bool(false),
			},
		},
		EnabledMetrics: pulumi.ToStringArray([]string{
			"GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
			"GroupPendingInstances", "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
		}),
		MetricsGranularity: pulumi.String("1Minute"),
		// After AZ balance (always first), retire servers of older template versions.
		TerminationPolicies: pulumi.ToStringArray([]string{"OldestLaunchTemplate", "Default"}),
		CapacityRebalance:   pulumi.Bool(false), // on-demand only; rebalancing is for Spot
		// Do not block `pulumi up` on capacity: the refresh and the ELB health checks say
		// when servers are ready.
		WaitForCapacityTimeout: pulumi.String("0"),
		Tags:                   groupTags,
	}, groupOpts...)
	if err != nil {
		return nil, err
	}
	g.GroupName = asg.Name

	// A worker group is scaled on its queue's backlog (Queue.ScaleWorkers), never on CPU.
	if err := addScaling(ctx, name, a, asg, child); err != nil {
		return nil, err
	}

	if a.AlarmTopicArn != nil {
		if err := newAlarm(ctx, name, a.AlarmTopicArn, Alarm{
			Name:              "cpu-high",
			Description:       fmt.Sprintf("%s servers: average CPU above 80%% for 10 minutes", name),
			Namespace:         "AWS/EC2",
			Metric:            "CPUUtilization",
			Dimensions:        pulumi.StringMap{"AutoScalingGroupName": asg.Name},
			Statistic:         "Average",
			Comparison:        "GreaterThanThreshold",
			Threshold:         80,
			PeriodSeconds:     300,
			EvaluationPeriods: 2,
		}, child); err != nil {
			return nil, err
		}
	}

	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{
		"groupName":             asg.Name,
		"launchTemplateVersion": version,
		"logGroup":              logGroup.Name,
	})
}

func (a *ServerGroupArgs) withDefaults(name string) (*ServerGroupArgs, error) {
	const c = "server group"
	if a == nil {
		return nil, argError(c, name, "args", nil, "pass ServerGroupArgs")
	}
	out := *a
	if out.Network == nil {
		return nil, argError(c, name, "Network", nil, "pass the stack's Network")
	}
	if out.Tier == "" || out.Tier.Public() || out.Tier.Isolated() {
		return nil, argError(c, name, "Tier", fmt.Sprintf("%q", out.Tier), "use a private server tier: web, app or worker")
	}
	if n := len(out.Network.subnets[out.Tier]); n < 2 {
		return nil, argError(c, name, "Tier", fmt.Sprintf("%s (%d AZs)", out.Tier, n),
			"a server group spans at least 2 AZs to survive an AZ loss; give the network 2 AZs and this tier")
	}
	if out.Script != nil && (out.UserData != nil || out.Script.Release == nil) {
		return nil, argError(c, name, "Script", "set", "give Script with its Release, and no UserData")
	}
	if out.Script != nil {
		for _, j := range out.Script.Jobs {
			if !jobNameRE.MatchString(j.Name) || j.Role == "" || j.OnCalendar == "" || strings.ContainsAny(j.OnCalendar+j.Role, "\n'") || j.RandomizedDelaySec < 0 {
				return nil, argError(c, name, "Script.Jobs", fmt.Sprintf("%+v", j), "give each job a name of lowercase letters and hyphens, a role, a systemd OnCalendar expression (one line, no quotes) and a delay of 0 or more seconds")
			}
		}
	}
	if out.ImageID == nil {
		return nil, argError(c, name, "ImageID", nil, "pass the AMI id (Amazon Linux 2023, looked up by the stage)")
	}
	if out.InstanceType == "" {
		out.InstanceType = "t3.small"
	}
	if out.MinSize == 0 && out.MaxSize == 0 && out.DesiredCapacity == 0 {
		out.MinSize, out.MaxSize, out.DesiredCapacity = 2, 2, 2
	}
	if out.MaxSize < 1 {
		return nil, argError(c, name, "MaxSize", out.MaxSize, "use at least 1")
	}
	if out.MinSize < 0 || out.MinSize > out.MaxSize {
		return nil, argError(c, name, "MinSize", out.MinSize, fmt.Sprintf("use 0 to MaxSize (%d)", out.MaxSize))
	}
	if out.DesiredCapacity < out.MinSize || out.DesiredCapacity > out.MaxSize {
		return nil, argError(c, name, "DesiredCapacity", out.DesiredCapacity, fmt.Sprintf("keep min <= desired <= max (%d..%d)", out.MinSize, out.MaxSize))
	}
	if out.Worker && len(out.TargetGroups) > 0 {
		return nil, argError(c, name, "TargetGroups", len(out.TargetGroups), "a worker group takes its work from a queue: give it no target groups")
	}
	for _, tg := range out.TargetGroups {
		if tg == nil {
			return nil, argError(c, name, "TargetGroups", nil, "pass target groups from LoadBalancer.AddTarget")
		}
	}
	for _, p := range out.Policies {
		if len(p.Actions) == 0 || len(p.Resources) == 0 {
			return nil, argError(c, name, "Policies", p.Sid, "a statement names its actions and resources")
		}
		for _, act := range p.Actions {
			if act == "*" || strings.HasSuffix(act, ":*") {
				return nil, argError(c, name, "Policies", act, "name each action; wildcard actions are refused (SH IAM.1)")
			}
		}
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	if out.RootVolumeGb == 0 {
		out.RootVolumeGb = 16
	}
	if out.RootVolumeGb < 8 {
		return nil, argError(c, name, "RootVolumeGb", out.RootVolumeGb, "use at least 8 (Amazon Linux 2023's snapshot size)")
	}
	if out.HealthCheckGraceSeconds == 0 {
		out.HealthCheckGraceSeconds = DefaultHealthCheckGraceSeconds
	}
	if out.Scaling != nil {
		if err := out.scalingArgError(name); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if out.CPUTargetPercent == 0 {
		out.CPUTargetPercent = 60
	}
	if out.CPUTargetPercent <= 0 || out.CPUTargetPercent >= 100 {
		return nil, argError(c, name, "CPUTargetPercent", out.CPUTargetPercent, "use a percentage between 0 and 100")
	}
	return &out, nil
}

// DefaultHealthCheckGraceSeconds is a new server's time to boot and pass its first health
// checks before the Auto Scaling group may replace it, from the boot budget in
// docs/components.md: instance start to user data 60 s, dnf install of the CloudWatch agent
// (and nginx) 120 s, the release from S3 10 s, app or nginx start 10 s (both measured under
// 0.1 s locally), then the target group's healthy threshold, 2 checks 15 s apart (30 s):
// 230 s, rounded up to 240. Too short and a slow boot is killed and relaunched in a loop; too
// long only delays replacing a server that never comes up.
const DefaultHealthCheckGraceSeconds = 240

// AllowFrom lets members of peer reach the servers on port (the load balancer on the app
// port, the web tier on the app tier's). It opens ingress only; Connect opens both sides.
func (g *ServerGroup) AllowFrom(rule string, peer *SecurityGroup, port Port) error {
	return g.SecurityGroup.AllowFrom(rule, peer, port)
}
