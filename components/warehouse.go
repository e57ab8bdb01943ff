package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/redshiftserverless"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Redshift Serverless limits (Amazon Redshift management guide, "Considerations when using
// Amazon Redshift Serverless" and "Compute capacity for Amazon Redshift Serverless";
// CreateNamespace and CreateWorkgroup in the API reference).
const (
	// RedshiftPort is the port the workgroup's endpoint listens on (Redshift's own default).
	RedshiftPort Port = 5439
	// warehouseMinSubnets: "at least three subnets, and they must span three Availability
	// Zones" (us-west-1 aside, which this program does not special-case).
	warehouseMinSubnets = 3
	// maxWarehouseNameLen bounds namespace and workgroup names: 3 to 64 lowercase letters,
	// digits and hyphens.
	maxWarehouseNameLen = 64
	minRPU, maxRPU      = 4, 512
)

// warehouseLogs are the audit logs exported to CloudWatch Logs (Serverless sends them
// nowhere else): connections and authentication, changes to users, and every query.
var warehouseLogs = []string{"connectionlog", "userlog", "useractivitylog"}

// WarehouseArgs configures a Warehouse. Plain values decide what exists; Inputs carry wiring.
type WarehouseArgs struct {
	// Network holds the workgroup in its data-tier subnets, which must span three AZs.
	// Required.
	Network *Network
	// BaseCapacityRPU is the capacity queries start with: 4, or a multiple of 8 from 8 to
	// 512. Default: 8 (config.Warehouse has the reason).
	BaseCapacityRPU int
	// MaxCapacityRPU caps scaling for bursts of queries, the same values, at least the base.
	// Default: 4 times the base, at most 512.
	MaxCapacityRPU int
	// Key encrypts the namespace's data and its managed admin secret: a key the stack owns,
	// required in every environment, since the warehouse holds every post older than the
	// retention window and its key cannot change without a new namespace.
	Key *Key
	// Archive is the bucket the archive job writes Parquet files to, and ArchivePrefix their
	// prefix ("archive/"). The workgroup's COPY role may read only that prefix. Required.
	Archive       *Bucket
	ArchivePrefix string
	// ArchiveKey is the key the archive bucket encrypts with (prod), which the COPY role
	// must decrypt with. Default: nil, SSE-S3.
	ArchiveKey *Key
	// Protect guards the namespace in prod: pulumi protect. The namespace and workgroup are
	// RetainOnDelete whatever Protect says: Serverless keeps no final snapshot of a deleted
	// namespace. Default: false (dev).
	Protect bool
	// DatabaseName is the database created in the namespace. Default: archive, because it
	// holds the archive job's tables.
	DatabaseName string
	// AdminUsername is the admin user; its password is generated, kept and rotated by
	// Redshift in Secrets Manager (manageAdminPassword), never seen by this program.
	// Default: admin.
	AdminUsername string
	// Name is the namespace's and workgroup's name, unique in the account and region and
	// fixed once created (a change replaces the namespace). Default: <project>-<stack>-<name>,
	// lowercased.
	Name string
}

// Warehouse is Redshift Serverless: a namespace (the data: encrypted with the stack's key,
// audit logs to CloudWatch Logs, an admin password Redshift manages in Secrets Manager) and
// a workgroup (the compute: in the data subnets, not publicly accessible, enhanced VPC
// routing so COPY reads S3 through the VPC's gateway endpoint, TLS required, user activity
// logged), a closed security group opened with AllowFrom, and the role COPY assumes, which
// reads the archive prefix and nothing else.
//
// Costs money: RPU-hours while queries run (0.375 USD per RPU-hour in us-east-1, billed per
// second with a 60-second minimum), managed storage (0.024 USD per GB-month), audit log
// ingestion.
type Warehouse struct {
	pulumi.ResourceState

	// WorkgroupName is what the Data API and clients name (WAREHOUSE_WORKGROUP).
	WorkgroupName pulumi.StringOutput
	// WorkgroupArn is the workgroup's ARN, for grants.
	WorkgroupArn pulumi.StringOutput
	// DatabaseName is the database in the namespace (WAREHOUSE_DATABASE).
	DatabaseName string
	// CopyRoleArn is the role COPY names (IAM_ROLE), the namespace's default role.
	CopyRoleArn pulumi.StringOutput
	// AdminSecretArn is the Secrets Manager secret Redshift keeps the admin password in.
	AdminSecretArn pulumi.StringOutput
	// SecurityGroup guards the workgroup; it admits no one until AllowFrom.
	SecurityGroup *SecurityGroup

	ctx    *pulumi.Context
	name   string
	child  []pulumi.ResourceOption
	grants int
}

// NewWarehouse creates a Warehouse.
func NewWarehouse(ctx *pulumi.Context, name string, args *WarehouseArgs, opts ...pulumi.ResourceOption) (*Warehouse, error) {
	a, err := args.withDefaults(ctx, name)
	if err != nil {
		return nil, err
	}
	w := &Warehouse{ctx: ctx, name: name, DatabaseName: a.DatabaseName}
	child, err := register(ctx, "data:Warehouse", name, w, opts)
	if err != nil {
		return nil, err
	}
	w.child = child
	keep := stateful(child, a.Protect)

	role, err := iam.NewRole(ctx, childName(name, "copy"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("redshift.amazonaws.com")),
		Description:      pulumi.String("Redshift COPY from the archive prefix of the object store, and nothing else"),
		Tags:             tags(childName(name, "copy")),
	}, child...)
	if err != nil {
		return nil, err
	}
	read := []statement{
		{Sid: "ReadArchive", Actions: []string{"s3:GetObject"}, Resources: pulumi.StringArray{a.Archive.ObjectsArn(a.ArchivePrefix)}},
		{Sid: "ListArchive", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{a.Archive.Arn},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []string{a.ArchivePrefix + "*"}}}},
	}
	if a.ArchiveKey != nil {
		read = append(read, statement{Sid: "DecryptArchive", Actions: []string{"kms:Decrypt"}, Resources: pulumi.StringArray{a.ArchiveKey.Arn}})
	}
	if _, err := iam.NewRolePolicy(ctx, childName(name, "copy"), &iam.RolePolicyArgs{
		Role: role.ID(), Policy: policyDocument(read...),
	}, child...); err != nil {
		return nil, err
	}

	ns, err := redshiftserverless.NewNamespace(ctx, name, &redshiftserverless.NamespaceArgs{
		NamespaceName:               pulumi.String(a.Name),
		DbName:                      pulumi.String(a.DatabaseName),
		AdminUsername:               pulumi.String(a.AdminUsername),
		ManageAdminPassword:         pulumi.Bool(true),
		AdminPasswordSecretKmsKeyId: a.Key.Arn,
		KmsKeyId:                    a.Key.Arn,
		LogExports:                  pulumi.ToStringArray(warehouseLogs),
		IamRoles:                    pulumi.StringArray{role.Arn},
		DefaultIamRoleArn:           role.Arn,
		Tags:                        tags(name),
	}, with(keep, pulumi.IgnoreChanges([]string{"adminUsername"}))...)
	if err != nil {
		return nil, err
	}
	sg, err := a.Network.NewSecurityGroup(ctx, childName(name, "sg"), "Redshift Serverless: only the tiers that query it", RoleData, child)
	if err != nil {
		return nil, err
	}
	w.SecurityGroup = sg
	// Enhanced VPC routing sends COPY's S3 reads through the workgroup's interfaces: their
	// group must let them out to S3's gateway endpoint.
	if err := sg.AllowToPrefixList("s3", a.Network.S3PrefixListID, 443); err != nil {
		return nil, err
	}
	wg, err := redshiftserverless.NewWorkgroup(ctx, name, &redshiftserverless.WorkgroupArgs{
		WorkgroupName:      pulumi.String(a.Name),
		NamespaceName:      ns.NamespaceName,
		BaseCapacity:       pulumi.Int(a.BaseCapacityRPU),
		MaxCapacity:        pulumi.Int(a.MaxCapacityRPU),
		EnhancedVpcRouting: pulumi.Bool(true),
		PubliclyAccessible: pulumi.Bool(false),
		SubnetIds:          a.Network.SubnetIDs(TierData),
		SecurityGroupIds:   pulumi.StringArray{sg.ID},
		Port:               pulumi.Int(int(RedshiftPort)),
		ConfigParameters: redshiftserverless.WorkgroupConfigParameterArray{
			redshiftserverless.WorkgroupConfigParameterArgs{ParameterKey: pulumi.String("require_ssl"), ParameterValue: pulumi.String("true")},
			redshiftserverless.WorkgroupConfigParameterArgs{ParameterKey: pulumi.String("enable_user_activity_logging"), ParameterValue: pulumi.String("true")},
		},
		Tags: tags(name),
	}, keep...)
	if err != nil {
		return nil, err
	}
	w.WorkgroupName, w.WorkgroupArn, w.CopyRoleArn, w.AdminSecretArn = wg.WorkgroupName, wg.Arn, role.Arn, ns.AdminPasswordSecretArn
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"workgroupName": w.WorkgroupName, "copyRoleArn": w.CopyRoleArn})
}

func (a *WarehouseArgs) withDefaults(ctx *pulumi.Context, name string) (*WarehouseArgs, error) {
	if a == nil {
		return nil, argError("warehouse", name, "args", nil, "pass WarehouseArgs")
	}
	out := *a
	if out.Network == nil {
		return nil, argError("warehouse", name, "Network", nil, "pass the stack's network")
	}
	if n := len(out.Network.AvailabilityZones); n < warehouseMinSubnets || !out.Network.HasTier(TierData) {
		return nil, argError("warehouse", name, "Network", fmt.Sprintf("%d AZs", n), fmt.Sprintf("Redshift Serverless needs data subnets in %d AZs: span %d AZs", warehouseMinSubnets, warehouseMinSubnets))
	}
	if out.Key == nil {
		return nil, argError("warehouse", name, "Key", nil, "pass the stack's key: the namespace's key cannot change once it holds data")
	}
	if out.Archive == nil || out.ArchivePrefix == "" || !strings.HasSuffix(out.ArchivePrefix, "/") || strings.HasPrefix(out.ArchivePrefix, "/") {
		return nil, argError("warehouse", name, "Archive/ArchivePrefix", out.ArchivePrefix, `pass the archive bucket and a prefix such as "archive/" (ending in /, not starting with one)`)
	}
	if out.BaseCapacityRPU == 0 {
		out.BaseCapacityRPU = 8
	}
	if out.MaxCapacityRPU == 0 {
		out.MaxCapacityRPU = min(4*out.BaseCapacityRPU, maxRPU)
	}
	for field, v := range map[string]int{"BaseCapacityRPU": out.BaseCapacityRPU, "MaxCapacityRPU": out.MaxCapacityRPU} {
		if !ValidRPU(v) {
			return nil, argError("warehouse", name, field, v, fmt.Sprintf("use %d, or a multiple of 8 from 8 to %d", minRPU, maxRPU))
		}
	}
	if out.MaxCapacityRPU < out.BaseCapacityRPU {
		return nil, argError("warehouse", name, "MaxCapacityRPU", out.MaxCapacityRPU, fmt.Sprintf("use at least BaseCapacityRPU (%d)", out.BaseCapacityRPU))
	}
	if out.DatabaseName == "" {
		out.DatabaseName = "archive"
	}
	if out.AdminUsername == "" {
		out.AdminUsername = "admin"
	}
	if out.Name == "" {
		out.Name = defaultIdentifier(ctx.Project(), ctx.Stack(), name)
	}
	if l := len(out.Name); l < 3 || l > maxWarehouseNameLen || out.Name != strings.ToLower(out.Name) || strings.Trim(out.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return nil, argError("warehouse", name, "Name", out.Name, fmt.Sprintf("use 3 to %d lowercase letters, digits and hyphens", maxWarehouseNameLen))
	}
	return &out, nil
}

// ValidRPU reports whether Redshift Serverless accepts n RPUs as a base or maximum capacity
// (4, or a multiple of 8 from 8 to 512).
func ValidRPU(n int) bool { return n == minRPU || (n >= 8 && n <= maxRPU && n%8 == 0) }

// AllowFrom lets members of peer reach the workgroup's endpoint (5439), by group reference.
func (w *Warehouse) AllowFrom(rule string, peer *SecurityGroup) error {
	if peer == nil {
		return fmt.Errorf("warehouse %q: AllowFrom %q: peer is nil", w.name, rule)
	}
	return Connect(rule, peer, w.SecurityGroup, RedshiftPort)
}

// GrantLoad lets role run statements on the workgroup through the Redshift Data API, with
// temporary credentials for its own database user (redshift-serverless:GetCredentials), and
// read back only the statements it ran itself: the archive job's COPY. It grants no S3
// access: COPY reads the archive through the workgroup's own role.
func (w *Warehouse) GrantLoad(role *iam.Role) error {
	if role == nil {
		return fmt.Errorf("warehouse %q: GrantLoad: role is nil", w.name)
	}
	w.grants++
	_, err := iam.NewRolePolicy(w.ctx, childName(w.name, "load", fmt.Sprint(w.grants)), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: policyDocument(
			statement{Sid: "RunStatements", Actions: []string{"redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement", "redshift-serverless:GetCredentials"},
				Resources: pulumi.StringArray{w.WorkgroupArn}},
			// The Data API's statement calls take no resource; the condition keeps a caller
			// to its own statements (Redshift management guide, "Authorizing access to the
			// Amazon Redshift Data API").
			statement{Sid: "ReadOwnStatements", Actions: []string{"redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"},
				Resources: pulumi.StringArray{pulumi.String("*")},
				Condition: map[string]map[string]any{"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}},
		),
	}, w.child...)
	return err
}
