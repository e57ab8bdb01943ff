package components

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TagPatchGroup is the instance tag Patch Manager reads to pick a server's patch baseline
// ("PatchGroup", not "Patch Group": a tag key with a space is refused where instance
// metadata tags are on). Every ServerGroup's instances carry it (PatchGroupName).
const TagPatchGroup = "PatchGroup"

// TagAutoScalingGroup is the tag EC2 Auto Scaling puts on every instance it launches, with
// the group's name. State Manager and maintenance windows target a group's instances by it
// (Systems Manager user guide, "Running Auto Scaling groups with associations"): unlike the
// Name and tier tags, it is unique to the group, so two stacks in one account never manage
// each other's servers.
const TagAutoScalingGroup = "aws:autoscaling:groupName"

// PatchGroupName is the stack's patch group: <project>-<stack>.
func PatchGroupName(ctx *pulumi.Context) string { return ctx.Project() + "-" + ctx.Stack() }

// SessionPreferencesDocument is the name Session Manager reads its preferences from when a
// session names no document: one per account and region (see Operations).
const SessionPreferencesDocument = "SSM-SessionManagerRunShell"

// SSMManagedInstanceCore is AWS's managed policy for the SSM Agent (Session Manager, Run
// Command, State Manager, Patch Manager), the one AWS documents for instance profiles. It
// is on the rules' allow-list of managed policies (internal/rules, OPS-2) with the reason.
const SSMManagedInstanceCore = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"

// OperationsArgs configures Operations.
type OperationsArgs struct {
	// Groups are the server tiers to operate, each booted from a Script (ServerGroupArgs.
	// Script). Required, at least one.
	Groups []*ServerGroup
	// Key encrypts the session data stream and the session log group. Required: Session
	// Manager's encryption needs a customer-managed key.
	Key *Key
	// SessionLogRetentionDays keeps the session logs. Default: 365, the year of audit trail
	// PCI DSS (10.5.1) and most audits ask for; the logs are small (what admins type).
	SessionLogRetentionDays int
	// SessionIdleTimeoutMinutes ends an idle session. Default: 20, the Session Manager
	// default.
	SessionIdleTimeoutMinutes int
	// SessionMaxMinutes ends any session. Default: 60: an hour for a look at a server; a
	// longer job belongs in Run Command or a new release.
	SessionMaxMinutes int
	// PatchApproveAfterDays is how long a Critical or Important security update waits before
	// the baseline approves it. Default: 7, a week for a broken update to be withdrawn; the
	// stage gives dev fewer days, so dev installs each update first.
	PatchApproveAfterDays int
	// PatchSchedule is the weekly maintenance window's cron, in PatchTimeZone. Default:
	// "cron(0 3 ? * SUN *)", Sunday 03:00: outside US business hours everywhere in the US
	// (06:00 on the east coast), when the seed's traffic is lowest.
	PatchSchedule string
	// PatchTimeZone is the window's IANA time zone. Default: America/Los_Angeles, so the
	// window follows the west coast's daylight saving time.
	PatchTimeZone string
	// ConvergeSchedule is how often State Manager re-applies the servers' files. Default:
	// "rate(30 minutes)": a drifted server is corrected within half an hour.
	ConvergeSchedule string
}

// Operations is users++++'s automated operations over the stack's server tiers, no SSH:
//   - Session Manager access: the servers' roles get the SSM Agent's permissions
//     (SSMManagedInstanceCore, plus writing session logs and decrypting sessions; reading
//     SSM parameters is denied, the one grant of the managed policy the servers never use),
//     and the account's session preferences (SessionPreferencesDocument) log every session
//     to an encrypted log group and encrypt the session stream with Key;
//   - Patch Manager: an Amazon Linux 2023 baseline approving Critical and Important security
//     updates after PatchApproveAfterDays, registered for the stack's patch group, and a
//     weekly maintenance window running AWS-RunPatchBaseline (Install, RebootIfNeeded) on the
//     groups' instances one at a time, stopping at the first failure;
//   - State Manager: per tier, a Command document rendered from the boot script's own blocks
//     (ConvergeScript) and an association running it every ConvergeSchedule, one server of
//     the tier at a time, so a drifted server (an edited unit, a stopped agent) is put back.
//
// New AMIs do not come from here: the stage looks the image up from AWS's public SSM
// parameter at every `pulumi up`, and a new image is a new launch template version that the
// groups roll out by instance refresh. Patching covers the week between.
//
// The session preferences document has a fixed name per account and region: a second stack
// in the same account and region (or an account that already set preferences) fails to
// create it with DocumentAlreadyExists; docs/stages/users-plus-4.md gives the import command.
//
// AWS resources: ssm.Document (the session preferences, one convergence document per
// tier), ssm.Association (per tier), ssm.PatchBaseline, ssm.PatchGroup,
// ssm.MaintenanceWindow, ssm.MaintenanceWindowTarget, ssm.MaintenanceWindowTask,
// cloudwatch.LogGroup (sessions), and per tier iam.RolePolicyAttachment and iam.RolePolicy.
// Costs money: session log ingestion and storage, KMS requests. Systems Manager's Session
// Manager, Patch Manager and State Manager cost nothing on EC2 instances.
type Operations struct {
	pulumi.ResourceState

	// SessionLogGroupName is the log group of every Session Manager session.
	SessionLogGroupName pulumi.StringOutput
	// MaintenanceWindowID is the weekly patch window.
	MaintenanceWindowID pulumi.IDOutput
	// PatchBaselineID is the stack's Amazon Linux 2023 baseline.
	PatchBaselineID pulumi.IDOutput
}

// ssmNameRE is what Systems Manager accepts as a document, baseline or window name.
var ssmNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,128}$`)

func (a *OperationsArgs) withDefaults(name string) (*OperationsArgs, error) {
	const c = "operations"
	if a == nil {
		return nil, argError(c, name, "args", nil, "pass OperationsArgs")
	}
	out := *a
	if len(out.Groups) == 0 {
		return nil, argError(c, name, "Groups", 0, "pass the server groups to operate")
	}
	for _, g := range out.Groups {
		if g == nil || g.Script == nil {
			return nil, argError(c, name, "Groups", "a group without Script", "operate groups booted from ServerGroupArgs.Script, whose files the convergence renders")
		}
	}
	if out.Key == nil {
		return nil, argError(c, name, "Key", nil, "pass the stack's key: Session Manager encrypts sessions with a customer-managed key")
	}
	if out.SessionLogRetentionDays == 0 {
		out.SessionLogRetentionDays = 365
	}
	if out.SessionIdleTimeoutMinutes == 0 {
		out.SessionIdleTimeoutMinutes = 20
	}
	// Session Manager: idle timeout 1 to 60 minutes, maximum duration 1 to 1440.
	if out.SessionIdleTimeoutMinutes < 1 || out.SessionIdleTimeoutMinutes > 60 {
		return nil, argError(c, name, "SessionIdleTimeoutMinutes", out.SessionIdleTimeoutMinutes, "use 1 to 60 (Session Manager's range)")
	}
	if out.SessionMaxMinutes == 0 {
		out.SessionMaxMinutes = 60
	}
	if out.SessionMaxMinutes < 1 || out.SessionMaxMinutes > 1440 {
		return nil, argError(c, name, "SessionMaxMinutes", out.SessionMaxMinutes, "use 1 to 1440 (Session Manager's range)")
	}
	if out.PatchApproveAfterDays == 0 {
		out.PatchApproveAfterDays = 7
	}
	// Patch Manager: approveAfterDays 0 to 360 (a negative value here would be "unset").
	if out.PatchApproveAfterDays < 0 || out.PatchApproveAfterDays > 360 {
		return nil, argError(c, name, "PatchApproveAfterDays", out.PatchApproveAfterDays, "use 0 to 360 (Patch Manager's range)")
	}
	if out.PatchSchedule == "" {
		out.PatchSchedule = "cron(0 3 ? * SUN *)"
	}
	if !strings.HasPrefix(out.PatchSchedule, "cron(") && !strings.HasPrefix(out.PatchSchedule, "rate(") {
		return nil, argError(c, name, "PatchSchedule", out.PatchSchedule, "give a maintenance window schedule such as cron(0 3 ? * SUN *)")
	}
	if out.PatchTimeZone == "" {
		out.PatchTimeZone = "America/Los_Angeles"
	}
	if out.ConvergeSchedule == "" {
		out.ConvergeSchedule = "rate(30 minutes)"
	}
	// State Manager: a rate of at least 30 minutes, or a cron expression.
	if !strings.HasPrefix(out.ConvergeSchedule, "cron(") && !strings.HasPrefix(out.ConvergeSchedule, "rate(") {
		return nil, argError(c, name, "ConvergeSchedule", out.ConvergeSchedule, "give a State Manager schedule such as rate(30 minutes)")
	}
	return &out, nil
}

// NewOperations creates Operations.
func NewOperations(ctx *pulumi.Context, name string, args *OperationsArgs, opts ...pulumi.ResourceOption) (*Operations, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	base := PatchGroupName(ctx)
	if !ssmNameRE.MatchString(base + "-converge-write-api") {
		return nil, argError("operations", name, "project and stack", base, "use letters, digits, '-', '_' and '.' in the project and stack names (Systems Manager's names)")
	}
	o := &Operations{}
	child, err := register(ctx, "operations:Operations", name, o, opts)
	if err != nil {
		return nil, err
	}

	sessions, err := o.sessionManager(ctx, name, a, child)
	if err != nil {
		return nil, err
	}
	for _, g := range a.Groups {
		if err := o.grantManaged(ctx, name, g, a.Key, sessions, child); err != nil {
			return nil, err
		}
	}
	if err := o.patching(ctx, name, base, a, child); err != nil {
		return nil, err
	}
	for _, g := range a.Groups {
		if err := o.converge(ctx, name, base, g, a, child); err != nil {
			return nil, err
		}
	}
	return o, ctx.RegisterResourceOutputs(o, pulumi.Map{
		"sessionLogGroup":   o.SessionLogGroupName,
		"maintenanceWindow": o.MaintenanceWindowID,
		"patchBaseline":     o.PatchBaselineID,
	})
}

// sessionManager creates the session log group and the account's session preferences.
func (o *Operations) sessionManager(ctx *pulumi.Context, name string, a *OperationsArgs, child []pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	logs, err := cloudwatch.NewLogGroup(ctx, childName(name, "sessions"), &cloudwatch.LogGroupArgs{
		NamePrefix:      pulumi.String("/scaling-aws/sessions-"),
		RetentionInDays: pulumi.Int(a.SessionLogRetentionDays),
		KmsKeyId:        a.Key.Arn,
		Tags:            tags(childName(name, "sessions")),
	}, child...)
	if err != nil {
		return nil, err
	}
	o.SessionLogGroupName = logs.Name
	content := pulumi.All(logs.Name, a.Key.Arn).ApplyT(func(v []any) (string, error) {
		return sessionPreferences(v[0].(string), v[1].(string), a.SessionIdleTimeoutMinutes, a.SessionMaxMinutes)
	}).(pulumi.StringOutput)
	if _, err := ssm.NewDocument(ctx, childName(name, "session-preferences"), &ssm.DocumentArgs{
		Name:           pulumi.String(SessionPreferencesDocument),
		DocumentType:   pulumi.String("Session"),
		DocumentFormat: pulumi.String("JSON"),
		Content:        content,
		Tags:           tags(childName(name, "session-preferences")),
	}, child...); err != nil {
		return nil, err
	}
	return logs, nil
}

// sessionPreferences renders the Session document (schema 1.0, Standard_Stream): every
// session streamed to logGroup, only if the group is encrypted, the stream encrypted with
// the key, no S3 copy, no run-as user (sessions run as ssm-user, without root unless the
// admin uses sudo, which is logged too).
func sessionPreferences(logGroup, keyArn string, idleMinutes, maxMinutes int) (string, error) {
	doc := map[string]any{
		"schemaVersion": "1.0",
		"description":   "scaling-aws: Session Manager preferences, every session logged to CloudWatch Logs and encrypted with the stack key",
		"sessionType":   "Standard_Stream",
		"inputs": map[string]any{
			"s3BucketName":                "",
			"s3KeyPrefix":                 "",
			"s3EncryptionEnabled":         true,
			"cloudWatchLogGroupName":      logGroup,
			"cloudWatchEncryptionEnabled": true,
			"cloudWatchStreamingEnabled":  true,
			"kmsKeyId":                    keyArn,
			"runAsEnabled":                false,
			"runAsDefaultUser":            "",
			"idleSessionTimeout":          fmt.Sprint(idleMinutes),
			"maxSessionDuration":          fmt.Sprint(maxMinutes),
			"shellProfile":                map[string]string{"windows": "", "linux": ""},
		},
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// grantManaged gives a group's servers the SSM Agent's permissions: AWS's managed policy,
// and an inline policy writing the session logs, decrypting sessions, and denying what the
// managed policy grants beyond the servers' needs (reading any SSM parameter of the account).
func (o *Operations) grantManaged(ctx *pulumi.Context, name string, g *ServerGroup, key *Key, sessions *cloudwatch.LogGroup, child []pulumi.ResourceOption) error {
	tier := g.Script.Tier
	n := childName(name, tier, "ssm")
	if _, err := iam.NewRolePolicyAttachment(ctx, n, &iam.RolePolicyAttachmentArgs{
		Role:      g.Role.Name,
		PolicyArn: pulumi.String(SSMManagedInstanceCore),
	}, child...); err != nil {
		return err
	}
	_, err := iam.NewRolePolicy(ctx, n, &iam.RolePolicyArgs{
		Role: g.Role.ID(),
		Policy: policyDocument(
			statement{Sid: "WriteSessionLogs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
				Resources: pulumi.StringArray{pulumi.Sprintf("%s:*", sessions.Arn)}},
			// The agent checks that the session log group exists and is encrypted; the
			// action takes no resource.
			statement{Sid: "FindSessionLogGroup", Actions: []string{"logs:DescribeLogGroups"}, Resources: pulumi.StringArray{pulumi.String("*")}},
			statement{Sid: "DecryptSessions", Actions: []string{"kms:Decrypt"}, Resources: pulumi.StringArray{key.Arn}},
			statement{Sid: "NoParameterReads", Deny: true, Actions: []string{"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"},
				Resources: pulumi.StringArray{pulumi.String("*")}},
		),
	}, child...)
	return err
}

// patching creates the baseline, its patch group, and the weekly window over every group.
func (o *Operations) patching(ctx *pulumi.Context, name, base string, a *OperationsArgs, child []pulumi.ResourceOption) error {
	rule := func(severity, compliance string) *ssm.PatchBaselineApprovalRuleArgs {
		return &ssm.PatchBaselineApprovalRuleArgs{
			ApproveAfterDays:  pulumi.Int(a.PatchApproveAfterDays),
			ComplianceLevel:   pulumi.String(compliance),
			EnableNonSecurity: pulumi.Bool(false),
			PatchFilters: ssm.PatchBaselineApprovalRulePatchFilterArray{
				&ssm.PatchBaselineApprovalRulePatchFilterArgs{Key: pulumi.String("CLASSIFICATION"), Values: pulumi.ToStringArray([]string{"Security"})},
				&ssm.PatchBaselineApprovalRulePatchFilterArgs{Key: pulumi.String("SEVERITY"), Values: pulumi.ToStringArray([]string{severity})},
			},
		}
	}
	baseline, err := ssm.NewPatchBaseline(ctx, childName(name, "baseline"), &ssm.PatchBaselineArgs{
		Name:            pulumi.String(base + "-al2023"),
		Description:     pulumi.Sprintf("%s: Amazon Linux 2023 security updates, Critical and Important, %d days after release", base, a.PatchApproveAfterDays),
		OperatingSystem: pulumi.String("AMAZON_LINUX_2023"),
		ApprovalRules: ssm.PatchBaselineApprovalRuleArray{
			rule("Critical", "CRITICAL"),
			rule("Important", "HIGH"),
		},
		Tags: tags(childName(name, "baseline")),
	}, child...)
	if err != nil {
		return err
	}
	o.PatchBaselineID = baseline.ID()
	if _, err := ssm.NewPatchGroup(ctx, childName(name, "patch-group"), &ssm.PatchGroupArgs{
		BaselineId: baseline.ID(),
		PatchGroup: pulumi.String(base),
	}, child...); err != nil {
		return err
	}

	window, err := ssm.NewMaintenanceWindow(ctx, childName(name, "patch-window"), &ssm.MaintenanceWindowArgs{
		Name:             pulumi.String(base + "-patch"),
		Description:      pulumi.Sprintf("%s: weekly patching, one server at a time", base),
		Schedule:         pulumi.String(a.PatchSchedule),
		ScheduleTimezone: pulumi.String(a.PatchTimeZone),
		// Three hours, no task starts in the last: one server at a time takes about five
		// minutes (install, reboot, health checks), so a 20-server stack fits.
		Duration:                 pulumi.Int(3),
		Cutoff:                   pulumi.Int(1),
		AllowUnassociatedTargets: pulumi.Bool(false),
		Tags:                     tags(childName(name, "patch-window")),
	}, child...)
	if err != nil {
		return err
	}
	o.MaintenanceWindowID = window.ID()
	var groupNames pulumi.StringArray
	for _, g := range a.Groups {
		groupNames = append(groupNames, g.GroupName)
	}
	target, err := ssm.NewMaintenanceWindowTarget(ctx, childName(name, "patch-targets"), &ssm.MaintenanceWindowTargetArgs{
		WindowId:     window.ID(),
		Name:         pulumi.String(base + "-servers"),
		Description:  pulumi.String("the stack's server groups, by their Auto Scaling group tag"),
		ResourceType: pulumi.String("INSTANCE"),
		Targets: ssm.MaintenanceWindowTargetTargetArray{&ssm.MaintenanceWindowTargetTargetArgs{
			Key: pulumi.String("tag:" + TagAutoScalingGroup), Values: groupNames,
		}},
	}, child...)
	if err != nil {
		return err
	}
	// No service role: Systems Manager runs the task as its service-linked role
	// (AWSServiceRoleForAmazonSSM), created on first use (API reference,
	// MaintenanceWindowTask.ServiceRoleArn).
	_, err = ssm.NewMaintenanceWindowTask(ctx, childName(name, "patch"), &ssm.MaintenanceWindowTaskArgs{
		WindowId:    window.ID(),
		Name:        pulumi.String("patch"),
		Description: pulumi.String("AWS-RunPatchBaseline: install approved updates, reboot if one needs it"),
		TaskType:    pulumi.String("RUN_COMMAND"),
		TaskArn:     pulumi.String("AWS-RunPatchBaseline"),
		Priority:    pulumi.Int(1),
		// One server of the stack at a time: a rebooting server is one server out of a tier of
		// at least two, and the group's maintenance policy (100% healthy) replaces it first
		// if the load balancer gives up on it. The first failure stops the rollout.
		MaxConcurrency: pulumi.String("1"),
		MaxErrors:      pulumi.String("0"),
		CutoffBehavior: pulumi.String("CANCEL_TASK"),
		Targets: ssm.MaintenanceWindowTaskTargetArray{&ssm.MaintenanceWindowTaskTargetArgs{
			Key: pulumi.String("WindowTargetIds"), Values: pulumi.StringArray{target.ID()},
		}},
		TaskInvocationParameters: &ssm.MaintenanceWindowTaskTaskInvocationParametersArgs{
			RunCommandParameters: &ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersArgs{
				TimeoutSeconds: pulumi.Int(3600),
				Parameters: ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersParameterArray{
					&ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersParameterArgs{Name: pulumi.String("Operation"), Values: pulumi.ToStringArray([]string{"Install"})},
					&ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersParameterArgs{Name: pulumi.String("RebootOption"), Values: pulumi.ToStringArray([]string{"RebootIfNeeded"})},
				},
			},
		},
	}, child...)
	return err
}

// converge creates a tier's convergence document and its association.
func (o *Operations) converge(ctx *pulumi.Context, name, base string, g *ServerGroup, a *OperationsArgs, child []pulumi.ResourceOption) error {
	tier := g.Script.Tier
	content := ConvergeScript(*g.Script).ApplyT(func(script string) (string, error) {
		return commandDocument(fmt.Sprintf("scaling-aws: converge the %s servers' files (app unit and environment, nginx, CloudWatch agent)", tier), script)
	}).(pulumi.StringOutput)
	doc, err := ssm.NewDocument(ctx, childName(name, tier, "converge"), &ssm.DocumentArgs{
		Name:           pulumi.String(base + "-converge-" + tier),
		DocumentType:   pulumi.String("Command"),
		DocumentFormat: pulumi.String("JSON"),
		TargetType:     pulumi.String("/AWS::EC2::Instance"),
		Content:        content,
		Tags:           tags(childName(name, tier, "converge")),
	}, child...)
	if err != nil {
		return err
	}
	_, err = ssm.NewAssociation(ctx, childName(name, tier, "converge"), &ssm.AssociationArgs{
		AssociationName: pulumi.String(base + "-converge-" + tier),
		Name:            doc.Name,
		// The latest version: a changed document is a changed association, which State
		// Manager applies at once rather than at the next interval.
		DocumentVersion:    doc.LatestVersion,
		ScheduleExpression: pulumi.String(a.ConvergeSchedule),
		Targets: ssm.AssociationTargetArray{&ssm.AssociationTargetArgs{
			Key: pulumi.String("tag:" + TagAutoScalingGroup), Values: pulumi.StringArray{g.GroupName},
		}},
		// One server of the tier at a time, so a restart never takes two down; a second
		// failure stops the run (a bad file is not spread over the tier).
		MaxConcurrency:     pulumi.String("1"),
		MaxErrors:          pulumi.String("1"),
		ComplianceSeverity: pulumi.String("HIGH"),
	}, child...)
	return err
}

// commandDocument wraps a shell script as an SSM Command document (schema 2.2, one
// aws:runShellScript step). Systems Manager reads {{ name }} in a document as a parameter,
// so a script containing "{{" is refused here rather than by the API.
func commandDocument(description, script string) (string, error) {
	if strings.Contains(script, "{{") {
		return "", fmt.Errorf("command document %q: the script contains \"{{\", which Systems Manager reads as a parameter", description)
	}
	doc := map[string]any{
		"schemaVersion": "2.2",
		"description":   description,
		"mainSteps": []map[string]any{{
			"action":       "aws:runShellScript",
			"name":         "converge",
			"precondition": map[string]any{"StringEquals": []string{"platformType", "Linux"}},
			"inputs":       map[string]any{"runCommand": strings.Split(strings.TrimSuffix(script, "\n"), "\n"), "timeoutSeconds": "300"},
		}},
	}
	b, err := json.Marshal(doc)
	return string(b), err
}
