package components

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ConfigSecretArgs configures a ConfigSecret.
type ConfigSecretArgs struct {
	// Value is the secret's string, a Pulumi secret (from a secret config value). Required.
	Value pulumi.StringInput
	// Description says what the secret holds and who reads it. Required.
	Description string
	// Key, when set, encrypts the secret with the stack's own key (prod, rule KMS-2).
	// Default: nil, the AWS-managed aws/secretsmanager key (dev).
	Key *Key
}

// ConfigSecret is a Secrets Manager secret holding one secret config value for the servers
// (the Sentry DSN), so it never appears in user data: the app reads it at start with its
// instance role (GrantRead).
//
// AWS resources: secretsmanager.Secret and SecretVersion, iam.RolePolicy per GrantRead.
// Costs money: 0.40 USD a month per secret.
type ConfigSecret struct {
	pulumi.ResourceState

	// Arn is the secret's ARN (what the app's *_SECRET_ARN variables name).
	Arn pulumi.StringOutput

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants int
}

// NewConfigSecret creates a ConfigSecret.
func NewConfigSecret(ctx *pulumi.Context, name string, args *ConfigSecretArgs, opts ...pulumi.ResourceOption) (*ConfigSecret, error) {
	if args == nil || args.Value == nil || args.Description == "" {
		return nil, argError("config secret", name, "args", nil, "pass the secret value and a description")
	}
	s := &ConfigSecret{ctx: ctx, name: name}
	child, err := register(ctx, "security:ConfigSecret", name, s, opts)
	if err != nil {
		return nil, err
	}
	s.child = child
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		Description: pulumi.String(args.Description),
		// A week to undo a deletion, as for the stack's other secrets.
		RecoveryWindowInDays: pulumi.Int(7),
		KmsKeyId:             keyArn(args.Key),
		Tags:                 tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	if _, err := secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(args.Value).(pulumi.StringOutput),
	}, child...); err != nil {
		return nil, err
	}
	s.Arn = secret.Arn
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"arn": secret.Arn})
}

// GrantRead lets role read the secret (secretsmanager:GetSecretValue on exactly Arn), as
// the inline role policy <name>-secret-read-<n>.
func (s *ConfigSecret) GrantRead(role *iam.Role) error {
	if role == nil {
		return argError("config secret", s.name, "role", nil, "pass the servers' role")
	}
	s.grants++
	return grantSecretRead(s.ctx, s.name, s.grants, role, "ReadConfigSecret", s.Arn, s.child)
}
