package components

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudtrail"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TrailArgs configures a Trail.
type TrailArgs struct {
	// AccountID is the 12-digit account the trail records; the bucket policy and the
	// CloudWatch Logs role name it. Required.
	AccountID string
	// Region is the trail's home region (the stack's). Required.
	Region string
	// Partition is the ARN partition. Default: aws.
	Partition string
	// Name is the trail's name. It is fixed, not generated, because the stack key's policy
	// and the bucket policy name the trail's ARN before the trail exists (aws:SourceArn).
	// Required; ValidTrailName's rules; the same name the Key was created with.
	Name string
	// Key encrypts the log and digest files (SSE-KMS, CKV_AWS_35). Required: a Key created
	// with KeyArgs.CloudTrailName = Name, or CreateTrail fails with
	// InsufficientEncryptionPolicyException.
	Key *Key
	// LogBucket receives the trail bucket's server access logs (SH CloudTrail.7: who read the
	// audit log is itself audited). Required.
	LogBucket *Bucket
	// BucketKey is the trail bucket's default encryption, for any object not written by
	// CloudTrail (CloudTrail's own files are always under Key). Default: nil, SSE-S3.
	BucketKey *Key
	// LogGroupKey encrypts the CloudWatch Logs copy of the events. Default: nil, CloudWatch
	// Logs' own key.
	LogGroupKey *Key
	// LogRetentionDays keeps the CloudWatch Logs copy, which serves the metric filters and
	// Logs Insights. Default: 90 (the three months "immediately available" PCI DSS 10.5.1 asks for).
	LogRetentionDays int
	// FileRetentionDays expires the log files in S3, the long-term record. Default: 365 (one
	// year of audit history, PCI DSS 10.5.1).
	FileRetentionDays int
	// Protect protects the bucket against deletion and replacement (prod). The bucket is
	// RetainOnDelete whatever Protect says.
	Protect bool
}

// Trail is a CloudTrail trail recording every management event (read and write) of the
// account in all regions, global services included, with log file integrity validation, its
// files encrypted with the stack key and delivered to a private bucket of its own and to a
// CloudWatch Logs group:
//
//   - the bucket is a data Bucket (versioned, TLS only, public access blocked, ACLs
//     disabled, access-logged, expiring files after FileRetentionDays) whose policy lets
//     cloudtrail.amazonaws.com check the bucket ACL and write under AWSLogs/<account>/ only for
//     this trail (aws:SourceArn) and with the bucket-owner-full-control ACL (AWS CloudTrail user
//     guide, "Amazon S3 bucket policy for CloudTrail"). CloudTrail checks that policy when the
//     trail is created (InsufficientS3BucketPolicyException), so the trail depends on it;
//   - the log group keeps the events LogRetentionDays; a role trusted by
//     cloudtrail.amazonaws.com alone may only create log streams and put events in it (the
//     user guide's "Role policy document for CloudTrail to use CloudWatch Logs"; the role
//     policy cannot carry aws:SourceArn). CloudTrail validates role and group when the trail is
//     created (InvalidCloudWatchLogsLogGroupArnException), so the trail depends on the policy.
//
// No SNS notification per delivered file (Checkov CKV_AWS_252): CloudTrail delivers a file per
// region about every five minutes, which would bury the alarm topic; the log group's metric
// filters are what alert.
//
// AWS resources: cloudtrail.Trail, the Bucket's resources, cloudwatch.LogGroup, iam.Role,
// iam.RolePolicy.
// Costs money: the first copy of management events in an account is free; every further
// trail recording them (another stack's, an organization trail) pays 2 USD per 100,000
// events. Plus S3 storage, CloudWatch Logs ingestion (0.50 USD per GB) and KMS requests.
type Trail struct {
	pulumi.ResourceState

	// Arn is the trail's ARN (TrailArn of its name).
	Arn pulumi.StringOutput
	// Name is the trail's name.
	Name string
	// BucketName is the bucket holding the log files.
	BucketName pulumi.IDOutput
	// LogGroupName is the CloudWatch Logs group receiving the events.
	LogGroupName pulumi.StringOutput
}

// trailNamePattern is CloudTrail's name alphabet: letters, digits, ".", "_", "-", starting
// and ending with a letter or digit (CreateTrail, Name).
var trailNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$`)

// ValidTrailName returns "" when CloudTrail accepts name as a trail name, else the fix:
// 3 to 128 characters of letters, digits, ".", "_" and "-", starting and ending with a letter
// or digit, no two of ".", "_", "-" side by side, and not an IP address (CreateTrail, Name).
func ValidTrailName(name string) string {
	const rules = "use 3 to 128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, with no two of '.', '_', '-' side by side, and not an IP address"
	if len(name) < 3 || len(name) > 128 || !trailNamePattern.MatchString(name) {
		return rules
	}
	for i := 1; i < len(name); i++ {
		if strings.ContainsRune("._-", rune(name[i])) && strings.ContainsRune("._-", rune(name[i-1])) {
			return rules
		}
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return rules
	}
	return ""
}

// trailSeparatorRuns are the runs of separators CloudTrail refuses side by side.
var trailSeparatorRuns = regexp.MustCompile(`[._-]{2,}`)

// TrailName is the stack's trail name, <project>-<stack>: two stacks of an account never
// share one. Characters CloudTrail refuses become "-", runs of separators collapse and the
// name is cut to 128 characters.
func TrailName(project, stack string) string {
	var b strings.Builder
	for _, r := range project + "-" + stack {
		switch {
		case r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	s := trailSeparatorRuns.ReplaceAllString(b.String(), "-")
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Trim(s, "._-")
}

// TrailArn is the ARN of the trail named name whose home region is region.
func TrailArn(partition, region, account, name string) string {
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", partition, region, account, name)
}

func (a *TrailArgs) withDefaults(name string) (*TrailArgs, error) {
	bad := func(field string, value any, fix string) error { return argError("trail", name, field, value, fix) }
	if a == nil {
		return nil, bad("args", nil, "pass TrailArgs")
	}
	out := *a
	if !accountIDPattern.MatchString(out.AccountID) {
		return nil, bad("AccountID", fmt.Sprintf("%q", out.AccountID), "give the 12-digit AWS account id")
	}
	if out.Region == "" {
		return nil, bad("Region", `""`, "give the trail's home region")
	}
	if out.Partition == "" {
		out.Partition = "aws"
	}
	if fix := ValidTrailName(out.Name); fix != "" {
		return nil, bad("Name", fmt.Sprintf("%q", out.Name), fix)
	}
	if out.Key == nil {
		return nil, bad("Key", nil, "pass the stack key: the trail's files are encrypted with it (CKV_AWS_35)")
	}
	if out.Key.trailName != out.Name {
		return nil, bad("Key", fmt.Sprintf("a key for trail %q", out.Key.trailName),
			fmt.Sprintf("create the key with KeyArgs.CloudTrailName = %q, or CreateTrail fails with InsufficientEncryptionPolicyException", out.Name))
	}
	if out.LogBucket == nil {
		return nil, bad("LogBucket", nil, "pass the stack's log bucket: the trail bucket's access is logged (SH CloudTrail.7)")
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 90
	}
	if out.FileRetentionDays == 0 {
		out.FileRetentionDays = 365
	}
	if out.FileRetentionDays < 1 {
		return nil, bad("FileRetentionDays", out.FileRetentionDays, "use a number of days above 0")
	}
	return &out, nil
}

// NewTrail creates a Trail.
func NewTrail(ctx *pulumi.Context, name string, args *TrailArgs, opts ...pulumi.ResourceOption) (*Trail, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	t := &Trail{Name: a.Name}
	child, err := register(ctx, "audit:Trail", name, t, opts)
	if err != nil {
		return nil, err
	}
	arn := TrailArn(a.Partition, a.Region, a.AccountID, a.Name)

	bucket, err := NewBucket(ctx, childName(name, "files"), &BucketArgs{
		Class:       DataUser, // an audit record: versioned, access-logged, protected in prod
		LogBucket:   a.LogBucket,
		ExpireDays:  a.FileRetentionDays,
		Protect:     a.Protect,
		DeferPolicy: true,
		Key:         a.BucketKey,
	}, child...)
	if err != nil {
		return nil, err
	}
	thisTrail := pulumi.String(arn)
	if err := bucket.AttachPolicy(PolicyStatement{
		Sid:       "CloudTrailChecksTheBucketAcl",
		Effect:    "Allow",
		Principal: map[string]any{"Service": "cloudtrail.amazonaws.com"},
		Actions:   []string{"s3:GetBucketAcl"},
		Resource:  bucket.Arn,
		Condition: map[string]map[string]pulumi.StringInput{"StringEquals": {"aws:SourceArn": thisTrail}},
	}, PolicyStatement{
		Sid:       "CloudTrailWritesThisTrailsFiles",
		Effect:    "Allow",
		Principal: map[string]any{"Service": "cloudtrail.amazonaws.com"},
		Actions:   []string{"s3:PutObject"},
		Resource:  bucket.ObjectsArn(fmt.Sprintf("AWSLogs/%s/", a.AccountID)),
		Condition: map[string]map[string]pulumi.StringInput{"StringEquals": {
			"aws:SourceArn": thisTrail,
			// The one ACL an ACL-disabled (BucketOwnerEnforced) bucket accepts; CloudTrail sends it.
			"s3:x-amz-acl": pulumi.String("bucket-owner-full-control"),
		}},
	}); err != nil {
		return nil, err
	}

	logGroup, err := cloudwatch.NewLogGroup(ctx, childName(name, "events"), &cloudwatch.LogGroupArgs{
		NamePrefix:      pulumi.String("/scaling-aws/cloudtrail-"),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		KmsKeyId:        keyArn(a.LogGroupKey),
		Tags:            tags(childName(name, "events")),
	}, child...)
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, childName(name, "to-logs"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("cloudtrail.amazonaws.com")),
		Description:      pulumi.Sprintf("CloudTrail trail %s: deliver events to its log group", a.Name),
		Tags:             tags(childName(name, "to-logs")),
	}, child...)
	if err != nil {
		return nil, err
	}
	// CloudTrail names its streams <account>_CloudTrail_<region> (user guide, "CloudWatch
	// log group and log stream naming for CloudTrail").
	streams := pulumi.Sprintf("%s:log-stream:%s_CloudTrail_*", logGroup.Arn, a.AccountID)
	rolePolicy, err := iam.NewRolePolicy(ctx, childName(name, "to-logs"), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(statement{
			Sid: "DeliverEventsToTheTrailsLogGroup", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: pulumi.StringArray{streams},
		}),
	}, child...)
	if err != nil {
		return nil, err
	}

	trail, err := cloudtrail.NewTrail(ctx, name, &cloudtrail.TrailArgs{
		Name:                       pulumi.String(a.Name),
		S3BucketName:               bucket.ID,
		IsMultiRegionTrail:         pulumi.Bool(true), // SH CloudTrail.1, CKV_AWS_67
		IncludeGlobalServiceEvents: pulumi.Bool(true), // IAM, STS and CloudFront calls are global
		IsOrganizationTrail:        pulumi.Bool(false),
		EnableLogging:              pulumi.Bool(true),
		EnableLogFileValidation:    pulumi.Bool(true), // SH CloudTrail.4, CKV_AWS_36
		KmsKeyId:                   a.Key.Arn,         // SH CloudTrail.2, CKV_AWS_35
		// CloudTrail wants the group's ARN with the stream wildcard.
		CloudWatchLogsGroupArn: pulumi.Sprintf("%s:*", logGroup.Arn), // SH CloudTrail.5
		CloudWatchLogsRoleArn:  role.Arn,
		// Every management event, reads and writes, said explicitly rather than left to the
		// service default; no data events (S3 object and Lambda calls bill per event).
		EventSelectors: cloudtrail.TrailEventSelectorArray{&cloudtrail.TrailEventSelectorArgs{
			ReadWriteType:           pulumi.String("All"),
			IncludeManagementEvents: pulumi.Bool(true),
		}},
		Tags: tags(name),
		// The bucket policy itself, not only its component: a dependency on a component is
		// expanded to its children asynchronously, and TRAIL-5 saw the policy missing once.
	}, with(child, pulumi.DependsOn([]pulumi.Resource{bucket, bucket.policy, rolePolicy}))...)
	if err != nil {
		return nil, err
	}
	t.Arn, t.BucketName, t.LogGroupName = trail.Arn, bucket.ID, logGroup.Name
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{
		"arn": trail.Arn, "bucket": bucket.ID, "logGroup": logGroup.Name,
	})
}
