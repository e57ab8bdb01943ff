package components

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// serverIdentity is what every EC2 server of the stack runs as: a log group for its app's
// logs, an instance role trusted by EC2 alone that may write those logs and its CloudWatch
// agent metrics (plus extra statements), and the instance profile carrying the role.
type serverIdentity struct {
	logGroup *cloudwatch.LogGroup
	role     *iam.Role
	profile  *iam.InstanceProfile
}

// newServerIdentity creates the identity of the servers named name: the log group
// <name>-app (keeping logs retentionDays, encrypted with key unless nil), and the role, its
// policy and its profile <name>.
func newServerIdentity(ctx *pulumi.Context, name, description string, retentionDays int, key *Key, extra []statement, child []pulumi.ResourceOption) (*serverIdentity, error) {
	logGroup, err := cloudwatch.NewLogGroup(ctx, childName(name, "app"), &cloudwatch.LogGroupArgs{
		NamePrefix:      pulumi.Sprintf("/scaling-aws/%s/app-", name),
		RetentionInDays: pulumi.Int(retentionDays),
		KmsKeyId:        keyArn(key), // associated in place, no replacement
		Tags:            tags(childName(name, "app")),
	}, child...)
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com")),
		Description:      pulumi.String(description),
		Tags:             tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	stmts := append([]statement{
		{Sid: "WriteLogs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, Resources: pulumi.StringArray{pulumi.Sprintf("%s:*", logGroup.Arn)}},
		// PutMetricData cannot be scoped to a resource; the namespace condition scopes it.
		{Sid: "WriteMetrics", Actions: []string{"cloudwatch:PutMetricData"}, Resources: pulumi.StringArray{pulumi.String("*")},
			Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": "CWAgent"}}},
	}, extra...)
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.ID(), Policy: policyDocument(stmts...)}, child...); err != nil {
		return nil, err
	}
	profile, err := iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{Role: role.Name, Tags: tags(name)}, child...)
	if err != nil {
		return nil, err
	}
	return &serverIdentity{logGroup: logGroup, role: role, profile: profile}, nil
}

// allowServerEgress opens what every server reaches: S3 through the gateway endpoint (dnf
// repositories and the app release) and the network's interface endpoints, on 443.
func allowServerEgress(sg *SecurityGroup, net *Network) error {
	if err := sg.AllowToPrefixList("s3", net.S3PrefixListID, 443); err != nil {
		return err
	}
	if net.Endpoints != nil {
		return sg.AllowTo("endpoints", net.Endpoints, 443)
	}
	return nil
}
