package components

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// KeyArgs configures a Key. Every value is plain: the key policy is decided here, so it can be
// checked before anything is registered.
type KeyArgs struct {
	// AccountID is the 12-digit AWS account that owns the key; the key policy names its root
	// (so the key can never lock its account out) and scopes every service grant to it.
	// Required.
	AccountID string
	// Region is the key's region: the CloudWatch Logs principal and the kms:ViaService values
	// are regional. Required.
	Region string
	// Partition is the ARN partition. Default: aws.
	Partition string
	// DeletionWindowDays is how long a key scheduled for deletion can still be cancelled,
	// 7 to 30 (the KMS ScheduleKeyDeletion range). Default: 30 because a deleted key makes
	// every snapshot, volume, secret and object it encrypted unreadable.
	DeletionWindowDays int
	// RotationPeriodDays rotates the key material every this many days, 90 to 2560 (the KMS
	// EnableKeyRotation range). Default: 365, KMS's own yearly rotation (SH KMS.4).
	RotationPeriodDays int
	// Protect protects the key against `pulumi destroy` (prod). The key is RetainOnDelete
	// whatever Protect says: dropping it from the program never schedules its deletion.
	Protect bool
	// CloudTrailName, when set, lets CloudTrail encrypt the log files of exactly this trail
	// of the account (its home region is Region) with the key, and describe the key: without
	// both, CreateTrail fails with InsufficientEncryptionPolicyException. It must satisfy
	// CloudTrail's name rules (ValidTrailName). Default: none, CloudTrail may not use the key.
	CloudTrailName string
}

// Key is the stack's customer-managed KMS key (symmetric, rotation on) and its alias
// alias/<project>-<stack>. Its key policy allows:
//
//   - the account root, kms:* : IAM policies of the account decide the rest, and the key can
//     never become unmanageable (KMS refuses a policy that would lock the caller out unless
//     bypassPolicyLockoutSafetyCheck is set, which this component never sets; AWS KMS
//     developer guide, "Default key policy", and the provider's bypassPolicyLockoutSafetyCheck);
//   - CloudWatch Logs of the region, for log groups of this account only (an
//     kms:EncryptionContext:aws:logs:arn condition; CloudWatch Logs user guide,
//     "Encrypt log data in CloudWatch Logs using AWS KMS");
//   - CloudWatch alarms and SNS, to publish to a topic encrypted with the key (the AWS-managed
//     alias/aws/sns key cannot grant CloudWatch kms:Decrypt/GenerateDataKey*; AWS Knowledge
//     Center "cloudwatch-configure-alarm-sns");
//   - any principal of this account calling through Secrets Manager, RDS, EC2 (EBS), S3,
//     ElastiCache (at-rest encryption of a replication group with a customer key) or SQS
//     (a producer's kms:GenerateDataKey and a consumer's kms:Decrypt on an SSE-KMS queue: SQS
//     developer guide, "Key management") (kms:CallerAccount plus kms:ViaService), as the
//     AWS-managed keys do, so a role that may read a secret, an object or a queue needs no
//     extra KMS grant;
//   - the Auto Scaling service-linked role, which launches instances with encrypted volumes and
//     is not covered by any IAM policy of the account (EC2 Auto Scaling user guide, "Required
//     AWS KMS key policy for use with encrypted volumes"). It is named in a condition
//     (aws:PrincipalArn), not as the principal: KMS refuses a key policy naming a principal that
//     does not exist yet ("MalformedPolicyDocumentException: Policy contains a statement with
//     one or more invalid principals", lightspin-tech/eks-creation-engine#4), and that role
//     exists only after the account's first Auto Scaling group, which in this stack comes
//     stages after the key;
//   - CloudFront of this account, kms:Decrypt only, to read objects encrypted with the key
//     through Origin Access Control (aws:SourceArn on any distribution of the account, so the
//     key does not depend on the distribution that depends on the bucket);
//   - with CloudTrailName, CloudTrail, for that one trail (aws:SourceArn): generate data keys
//     to encrypt its log and digest files, and describe the key.
//
// Costs money: 1 USD a month, plus requests beyond the free tier.
type Key struct {
	pulumi.ResourceState

	// Arn is the key's ARN: what kmsKeyId inputs take.
	Arn pulumi.StringOutput
	// KeyID is the key's id.
	KeyID pulumi.IDOutput
	// Alias is the alias name: alias/<project>-<stack> for the stack's key (named "key"),
	// alias/<project>-<stack>-<name> for any other (see keyAlias).
	Alias string
	// Policy is the key policy JSON, as registered.
	Policy string

	// trailName is KeyArgs.CloudTrailName: the one trail the policy lets CloudTrail use the
	// key for (NewTrail checks it).
	trailName string
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

func (a *KeyArgs) withDefaults(name string) (*KeyArgs, error) {
	bad := func(field string, value any, fix string) error { return argError("key", name, field, value, fix) }
	if a == nil {
		return nil, bad("args", nil, "pass KeyArgs")
	}
	out := *a
	if !accountIDPattern.MatchString(out.AccountID) {
		return nil, bad("AccountID", fmt.Sprintf("%q", out.AccountID), "give the 12-digit AWS account id (aws.GetCallerIdentity)")
	}
	if out.Region == "" {
		return nil, bad("Region", `""`, "give the AWS region")
	}
	if out.Partition == "" {
		out.Partition = "aws"
	}
	if out.DeletionWindowDays == 0 {
		out.DeletionWindowDays = 30
	}
	// KMS ScheduleKeyDeletion: PendingWindowInDays 7..30.
	if out.DeletionWindowDays < 7 || out.DeletionWindowDays > 30 {
		return nil, bad("DeletionWindowDays", out.DeletionWindowDays, "use 7 to 30 days (the KMS deletion window)")
	}
	if out.RotationPeriodDays == 0 {
		out.RotationPeriodDays = 365
	}
	// KMS EnableKeyRotation: RotationPeriodInDays 90..2560.
	if out.RotationPeriodDays < 90 || out.RotationPeriodDays > 2560 {
		return nil, bad("RotationPeriodDays", out.RotationPeriodDays, "use 90 to 2560 days (the KMS rotation period range)")
	}
	if out.CloudTrailName != "" {
		if fix := ValidTrailName(out.CloudTrailName); fix != "" {
			return nil, bad("CloudTrailName", fmt.Sprintf("%q", out.CloudTrailName), fix)
		}
	}
	return &out, nil
}

// AutoScalingServiceLinkedRole is the ARN of the account's Auto Scaling service-linked role.
func AutoScalingServiceLinkedRole(partition, account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", partition, account)
}

// keyPolicy renders the key policy described on Key.
func keyPolicy(a *KeyArgs) (string, error) {
	root := fmt.Sprintf("arn:%s:iam::%s:root", a.Partition, a.AccountID)
	regional := func(svc string) string { return fmt.Sprintf("%s.%s.amazonaws.com", svc, a.Region) }
	use := []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}
	stmts := []map[string]any{{
		"Sid": "AccountRootManagesTheKey", "Effect": "Allow",
		"Principal": map[string]any{"AWS": root}, "Action": "kms:*", "Resource": "*",
	}, {
		"Sid": "CloudWatchLogsOfThisAccount", "Effect": "Allow",
		"Principal": map[string]any{"Service": regional("logs")},
		"Action":    []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
		"Resource":  "*",
		"Condition": map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", a.Partition, a.Region, a.AccountID),
		}},
	}, {
		"Sid": "CloudWatchAlarmsAndSNSPublishToEncryptedTopics", "Effect": "Allow",
		"Principal": map[string]any{"Service": []string{"cloudwatch.amazonaws.com", "sns.amazonaws.com"}},
		"Action":    []string{"kms:Decrypt", "kms:GenerateDataKey*"},
		"Resource":  "*",
	}, {
		"Sid": "AccountPrincipalsThroughAWSServices", "Effect": "Allow",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    append(append([]string(nil), use...), "kms:CreateGrant"),
		"Resource":  "*",
		"Condition": map[string]any{"StringEquals": map[string]any{
			"kms:CallerAccount": a.AccountID,
			"kms:ViaService": []string{regional("secretsmanager"), regional("rds"), regional("ec2"), regional("s3"), regional("elasticache"), regional("sqs"),
				// users+++++: the view counters' table and the warehouse's namespace.
				regional("dynamodb"), regional("redshift-serverless"), regional("redshift")},
		}},
	}, {
		"Sid": "AutoScalingServiceLinkedRoleUse", "Effect": "Allow",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    use,
		"Resource":  "*",
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": AutoScalingServiceLinkedRole(a.Partition, a.AccountID)}},
	}, {
		"Sid": "AutoScalingServiceLinkedRoleGrants", "Effect": "Allow",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    "kms:CreateGrant",
		"Resource":  "*",
		"Condition": map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": AutoScalingServiceLinkedRole(a.Partition, a.AccountID)},
			"Bool":      map[string]any{"kms:GrantIsForAWSResource": true},
		},
	}, {
		"Sid": "CloudFrontOriginAccessControlOfThisAccount", "Effect": "Allow",
		"Principal": map[string]any{"Service": "cloudfront.amazonaws.com"},
		"Action":    "kms:Decrypt", // CloudFront only reads the store
		"Resource":  "*",
		"Condition": map[string]any{"ArnLike": map[string]any{
			"aws:SourceArn": fmt.Sprintf("arn:%s:cloudfront::%s:distribution/*", a.Partition, a.AccountID),
		}},
	}}
	if a.CloudTrailName != "" {
		stmts = append(stmts, cloudTrailKeyStatements(a)...)
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "scaling-aws-stack-key", "Statement": stmts})
	return string(b), err
}

// cloudTrailKeyStatements let CloudTrail use the key for one trail (AWS CloudTrail user guide,
// "Configure AWS KMS key policies for CloudTrail": encrypt permissions for trails, and "Enable
// CloudTrail to describe KMS key properties"). aws:SourceArn names this trail only (confused
// deputy prevention, as the guide advises); the encryption context names this account's
// trails, as CloudTrail's own default key policy does. Reading the logs needs no statement
// here: the account root's statement leaves decryption to IAM policies.
func cloudTrailKeyStatements(a *KeyArgs) []map[string]any {
	trail := TrailArn(a.Partition, a.Region, a.AccountID, a.CloudTrailName)
	source := map[string]any{"aws:SourceArn": trail}
	return []map[string]any{{
		"Sid": "CloudTrailEncryptsThisTrailsLogs", "Effect": "Allow",
		"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
		"Action":    "kms:GenerateDataKey*",
		"Resource":  "*",
		"Condition": map[string]any{
			"StringEquals": source,
			"StringLike": map[string]any{
				"kms:EncryptionContext:aws:cloudtrail:arn": fmt.Sprintf("arn:%s:cloudtrail:*:%s:trail/*", a.Partition, a.AccountID),
			},
		},
	}, {
		"Sid": "CloudTrailDescribesTheKey", "Effect": "Allow",
		"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
		"Action":    "kms:DescribeKey",
		"Resource":  "*",
		"Condition": map[string]any{"StringEquals": source},
	}}
}

// NewKey creates the stack's key.
func NewKey(ctx *pulumi.Context, name string, args *KeyArgs, opts ...pulumi.ResourceOption) (*Key, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	policy, err := keyPolicy(a)
	if err != nil {
		return nil, fmt.Errorf("key %q: render the key policy: %w", name, err)
	}
	k := &Key{Alias: keyAlias(ctx.Project(), ctx.Stack(), name), Policy: policy, trailName: a.CloudTrailName}
	child, err := register(ctx, "security:Key", name, k, opts)
	if err != nil {
		return nil, err
	}
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:           pulumi.Sprintf("%s-%s: the stack's key (the alarm topic; what the stack encrypts with it, see docs/decisions.md 9)", ctx.Project(), ctx.Stack()),
		KeyUsage:              pulumi.String("ENCRYPT_DECRYPT"),
		CustomerMasterKeySpec: pulumi.String("SYMMETRIC_DEFAULT"), // EBS and RDS take symmetric keys only
		EnableKeyRotation:     pulumi.Bool(true),
		RotationPeriodInDays:  pulumi.Int(a.RotationPeriodDays),
		DeletionWindowInDays:  pulumi.Int(a.DeletionWindowDays),
		Policy:                pulumi.String(policy),
		// Never skip KMS's check that the policy leaves the caller able to manage the key.
		BypassPolicyLockoutSafetyCheck: pulumi.Bool(false),
		Tags:                           tags(name),
	}, stateful(child, a.Protect)...)
	if err != nil {
		return nil, err
	}
	k.Arn, k.KeyID = key.Arn, key.ID()
	if _, err := kms.NewAlias(ctx, name, &kms.AliasArgs{
		Name:        pulumi.String(k.Alias),
		TargetKeyId: key.KeyId,
	}, child...); err != nil {
		return nil, err
	}
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"arn": key.Arn, "alias": pulumi.String(k.Alias)})
}

// keyArn returns the key's ARN as a kmsKeyId input, or nil for no key: the service's
// AWS-managed key.
func keyArn(k *Key) pulumi.StringPtrInput {
	if k == nil {
		return nil
	}
	return k.Arn
}

// aliasUnsafe matches what a KMS alias name may not hold: after "alias/", only letters,
// digits, "/", "_" and "-" (KMS CreateAlias, AliasName pattern ^alias/[a-zA-Z0-9/_-]+$);
// Pulumi stack names may also hold ".".
var aliasUnsafe = regexp.MustCompile(`[^a-zA-Z0-9/_-]`)

// keyAlias names a key's alias from the project, the stack and the component's name, so
// two stacks (or a stack's two keys) never claim the same alias in one account and region.
// KMS refuses names outside its alphabet, names over 256 characters and the reserved
// prefix alias/aws/ (which project names cannot produce: "aws" would need a "/" after it).
func keyAlias(project, stack, name string) string {
	base := project + "-" + stack
	if name != "key" {
		base += "-" + name
	}
	alias := "alias/" + aliasUnsafe.ReplaceAllString(base, "-")
	if len(alias) > 256 {
		alias = alias[:256]
	}
	return alias
}
