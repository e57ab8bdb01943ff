package components

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DataClass says what a bucket holds; the security rules key on it (tag "dataClass").
type DataClass string

// Bucket data classes.
const (
	// DataUser holds user files and static content: versioned, access-logged, protected.
	DataUser DataClass = "data"
	// DataLogs receives access logs from S3, load balancers and CloudFront.
	DataLogs DataClass = "logs"
	// DataArtifacts holds app releases; they can be rebuilt, so no access logs.
	DataArtifacts DataClass = "artifacts"
)

// BucketArgs configures a Bucket.
type BucketArgs struct {
	// Class says what the bucket holds. Required.
	Class DataClass
	// LogBucket receives this bucket's server access logs. Required for DataUser.
	LogBucket *Bucket
	// NoncurrentVersionDays expires overwritten and deleted versions after this many days.
	// Default: 30 (an undo window for user files without keeping every version forever).
	NoncurrentVersionDays int
	// ExpireDays expires current objects after this many days; used for logs.
	// Default: none for data and artifacts; 365 for logs.
	ExpireDays int
	// Protect protects a data bucket against deletion and replacement (prod). Every bucket is
	// also RetainOnDelete: dropping it from the program never empties it.
	Protect bool
	// DeferPolicy leaves the bucket policy to AttachPolicy, for statements that name a
	// resource created after the bucket (a CloudFront distribution reading through OAC).
	// Default: false, the policy (deny non-TLS plus log delivery) is created at once.
	DeferPolicy bool
	// Key makes the default encryption SSE-KMS under the stack key, with an S3 bucket key
	// (one KMS request per object batch, not per object). Existing objects keep their
	// encryption; new ones take the key. Not for log buckets: load balancer access logs are
	// delivered only to SSE-S3 buckets. Default: nil, SSE-S3.
	Key *Key
}

// Bucket is a private S3 bucket with every guard on: all four public-access blocks, ACLs
// disabled (BucketOwnerEnforced), explicit default encryption (SSE-S3, or SSE-KMS under the
// stack key), a policy denying
// requests without TLS, versioning, lifecycle rules (abort incomplete uploads after 7 days,
// expire old versions), and, for data buckets, server access logs to a log bucket.
//
// Log buckets also let S3 server access logging and load balancer log delivery write to them.
// Costs money: storage and requests only.
type Bucket struct {
	pulumi.ResourceState

	// ID is the bucket's name.
	ID pulumi.IDOutput
	// Arn is the bucket's ARN.
	Arn pulumi.StringOutput
	// RegionalDomainName is the bucket's regional endpoint, for CloudFront origins.
	RegionalDomainName pulumi.StringOutput

	ctx    *pulumi.Context
	name   string
	args   BucketArgs
	child  []pulumi.ResourceOption
	policy *s3.BucketPolicy
}

// NewBucket creates a Bucket.
func NewBucket(ctx *pulumi.Context, name string, args *BucketArgs, opts ...pulumi.ResourceOption) (*Bucket, error) {
	if args == nil {
		return nil, argError("bucket", name, "args", nil, "pass BucketArgs")
	}
	a := *args
	switch a.Class {
	case DataUser:
		if a.LogBucket == nil {
			return nil, argError("bucket", name, "LogBucket", nil, "a data bucket logs its access; pass a log bucket")
		}
	case DataLogs:
		if a.Key != nil {
			return nil, argError("bucket", name, "Key", "the stack key", "leave a log bucket on SSE-S3: load balancer access logs are delivered only to SSE-S3 buckets")
		}
	case DataArtifacts:
	default:
		return nil, argError("bucket", name, "Class", a.Class, "use data, logs or artifacts")
	}
	if a.NoncurrentVersionDays == 0 {
		a.NoncurrentVersionDays = 30
	}
	if a.ExpireDays == 0 && a.Class == DataLogs {
		a.ExpireDays = 365
	}
	b := &Bucket{ctx: ctx, name: name, args: a}
	child, err := register(ctx, "storage:Bucket", name, b, opts)
	if err != nil {
		return nil, err
	}
	b.child = child

	bucket, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(false), // never delete objects with the bucket
		Tags:         pulumi.StringMap{"Name": pulumi.String(name), "dataClass": pulumi.String(string(a.Class))},
	}, stateful(child, a.Protect)...)
	if err != nil {
		return nil, err
	}
	b.ID, b.Arn, b.RegionalDomainName = bucket.ID(), bucket.Arn, bucket.BucketRegionalDomainName
	dep := with(child, pulumi.DependsOn([]pulumi.Resource{bucket}))

	if _, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, dep...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, dep...); err != nil {
		return nil, err
	}
	// SSE-S3 without a key: load balancer access logs can only be delivered to SSE-S3
	// buckets, and it costs nothing per request. With the stack key, SSE-KMS.
	sse := &s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
		ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")},
	}
	if a.Key != nil {
		sse = &s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm:   pulumi.String("aws:kms"),
				KmsMasterKeyId: a.Key.Arn,
			},
			BucketKeyEnabled: pulumi.Bool(true),
		}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketServerSideEncryptionConfigurationV2RuleArray{sse},
	}, dep...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, dep...); err != nil {
		return nil, err
	}
	rule := &s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:                             pulumi.String("abort-uploads-expire-old-versions"),
		Status:                         pulumi.String("Enabled"),
		Filter:                         &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{DaysAfterInitiation: pulumi.Int(7)},
		NoncurrentVersionExpiration:    &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(a.NoncurrentVersionDays)},
	}
	if a.ExpireDays > 0 {
		rule.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.ExpireDays)}
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, dep...); err != nil {
		return nil, err
	}
	if a.LogBucket != nil {
		if _, err := s3.NewBucketLoggingV2(ctx, name, &s3.BucketLoggingV2Args{
			Bucket:       bucket.ID(),
			TargetBucket: a.LogBucket.ID,
			TargetPrefix: pulumi.Sprintf("s3/%s/", name),
		}, dep...); err != nil {
			return nil, err
		}
	}
	if !a.DeferPolicy {
		if err := b.AttachPolicy(); err != nil {
			return nil, err
		}
	}
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"bucket": bucket.ID(), "arn": bucket.Arn})
}

// PolicyStatement is one statement of a bucket policy, as JSON-ready values. Inputs resolve
// ARNs known only at deploy time.
type PolicyStatement struct {
	Sid       string
	Effect    string
	Principal map[string]any
	Actions   []string
	// Resource is the ARN the statement covers; use Bucket.ObjectsArn or Bucket.Arn.
	Resource pulumi.StringInput
	// Resources, when set instead of Resource, are the ARNs the statement covers.
	Resources []pulumi.StringInput
	// Condition is an optional condition whose values may be Inputs.
	Condition map[string]map[string]pulumi.StringInput
}

// ObjectsArn returns the ARN of the bucket's objects under prefix ("" for all).
func (b *Bucket) ObjectsArn(prefix string) pulumi.StringOutput {
	return pulumi.Sprintf("%s/%s*", b.Arn, prefix)
}

// AttachPolicy creates the bucket's policy: deny any request without TLS, let log delivery
// write to a log bucket, plus extra statements. Call it once, and only with DeferPolicy.
func (b *Bucket) AttachPolicy(extra ...PolicyStatement) error {
	if b.policy != nil {
		return fmt.Errorf("bucket %q: policy attached twice", b.name)
	}
	stmts := []PolicyStatement{{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		Actions:   []string{"s3:*"},
		Resource:  b.ObjectsArn(""),
		Condition: map[string]map[string]pulumi.StringInput{"Bool": {"aws:SecureTransport": pulumi.String("false")}},
	}, {
		Sid:       "DenyInsecureTransportBucket",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		Actions:   []string{"s3:*"},
		Resource:  b.Arn,
		Condition: map[string]map[string]pulumi.StringInput{"Bool": {"aws:SecureTransport": pulumi.String("false")}},
	}}
	if b.args.Class == DataLogs {
		// S3 server access logs and (in regions since 2022, and all new ones) load balancer
		// access logs are delivered by these service principals.
		stmts = append(stmts, PolicyStatement{
			Sid:       "AllowLogDelivery",
			Effect:    "Allow",
			Principal: map[string]any{"Service": []string{"logging.s3.amazonaws.com", "logdelivery.elasticloadbalancing.amazonaws.com"}},
			Actions:   []string{"s3:PutObject"},
			Resource:  b.ObjectsArn(""),
		})
	}
	stmts = append(stmts, extra...)
	p, err := s3.NewBucketPolicy(b.ctx, b.name, &s3.BucketPolicyArgs{
		Bucket: b.ID,
		Policy: renderBucketPolicy(stmts),
	}, b.child...)
	b.policy = p
	return err
}

// renderBucketPolicy resolves every Input in the statements and renders the policy JSON.
func renderBucketPolicy(stmts []PolicyStatement) pulumi.StringOutput {
	type condRef struct {
		stmt    int
		op, key string
	}
	var inputs []any
	var refs []condRef
	for i, s := range stmts {
		if len(s.Resources) > 0 {
			inputs = append(inputs, pulumi.StringArray(s.Resources))
		} else {
			inputs = append(inputs, s.Resource)
		}
		for _, op := range sortedKeys(s.Condition) {
			for _, k := range sortedKeys(s.Condition[op]) {
				inputs = append(inputs, s.Condition[op][k])
				refs = append(refs, condRef{i, op, k})
			}
		}
	}
	return pulumi.All(inputs...).ApplyT(func(vals []any) (string, error) {
		out := make([]map[string]any, len(stmts))
		conds := make([]map[string]map[string]any, len(stmts))
		v, r := 0, 0
		for i, s := range stmts {
			out[i] = map[string]any{"Sid": s.Sid, "Effect": s.Effect, "Principal": s.Principal, "Action": s.Actions, "Resource": vals[v]}
			v++
			for r < len(refs) && refs[r].stmt == i {
				if conds[i] == nil {
					conds[i] = map[string]map[string]any{}
				}
				if conds[i][refs[r].op] == nil {
					conds[i][refs[r].op] = map[string]any{}
				}
				conds[i][refs[r].op][refs[r].key] = vals[v]
				v++
				r++
			}
			if conds[i] != nil {
				out[i]["Condition"] = conds[i]
			}
		}
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": out})
		return string(b), err
	}).(pulumi.StringOutput)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GrantObjects lets role read and write objects under the given prefixes, and list them,
// and nothing else: the app's grant on the object store ("its prefixes, its actions").
// grant names the policy (childName(bucket, grant)).
func (b *Bucket) GrantObjects(grant string, role *iam.Role, prefixes ...string) error {
	if len(prefixes) == 0 {
		return fmt.Errorf("bucket %q: grant %q needs at least one prefix", b.name, grant)
	}
	var objects pulumi.StringArray
	var listPrefixes []string
	for _, p := range prefixes {
		objects = append(objects, b.ObjectsArn(p))
		listPrefixes = append(listPrefixes, p+"*")
	}
	_, err := iam.NewRolePolicy(b.ctx, childName(b.name, grant), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(
			statement{Sid: "ReadWriteObjects", Actions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resources: objects},
			statement{Sid: "ListPrefixes", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{b.Arn},
				Condition: map[string]map[string]any{"StringLike": {"s3:prefix": listPrefixes}}},
		),
	}, b.child...)
	return err
}

// GrantReadWritePrefixes lets role read objects under read and write objects under write,
// and nothing else: no listing, no delete, no reading what it writes (the workers:
// originals in, thumbnails out). Without s3:ListBucket a missing object reads as S3's 403
// rather than 404 (S3 user guide, GetObject "Permissions"): the worker then retries the job
// like any refusal until it dead-letters it, which a listing grant would only shorten.
// grant names the policy (childName(bucket, grant)).
func (b *Bucket) GrantReadWritePrefixes(grant string, role *iam.Role, read, write []string) error {
	if len(read) == 0 || len(write) == 0 {
		return fmt.Errorf("bucket %q: grant %q needs read and write prefixes", b.name, grant)
	}
	var readArns, writeArns pulumi.StringArray
	for _, p := range read {
		readArns = append(readArns, b.ObjectsArn(p))
	}
	for _, p := range write {
		writeArns = append(writeArns, b.ObjectsArn(p))
	}
	_, err := iam.NewRolePolicy(b.ctx, childName(b.name, grant), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(
			statement{Sid: "ReadObjects", Actions: []string{"s3:GetObject"}, Resources: readArns},
			statement{Sid: "WriteObjects", Actions: []string{"s3:PutObject"}, Resources: writeArns},
		),
	}, b.child...)
	return err
}
