package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
)

// usersPlus is stage 1, "Users+": static content and user files move to an object store
// (S3, encrypted), MySQL moves to its own managed box (RDS, encrypted, TLS required), and the
// VPC gets private subnets for everything but the web server, whose ports open only to
// allow-listed sources. The box keeps its address; its first boot on this stage copies its
// MySQL data into RDS (docs/runbook-single-box-to-users-plus.md).
//
// The seed: "the MySQL Database taking up more and more memory and CPU resources, while the
// user content is filling up disk space ... doesn't allow for independent scaling of the
// MySQL Database and Web Server."
func usersPlus(b *builder) error {
	net, alarms, rel, err := b.foundation([]components.Tier{components.TierPublic, components.TierData}, serverEndpoints, b.cfg.Box.InstanceType)
	if err != nil {
		return err
	}
	logs, store, err := b.objectStore()
	if err != nil {
		return err
	}
	if err := logs.AttachPolicy(); err != nil {
		return err
	}
	if err := store.AttachPolicy(); err != nil {
		return err
	}
	if err := b.staticAssets(store); err != nil {
		return err
	}
	db, err := b.database(net, alarms)
	if err != nil {
		return err
	}
	box, err := b.box(net, alarms, rel,
		&components.BoxDatabase{Host: db.Address, Port: db.Port, SecretArn: db.SecretArn, MigrateFromBox: true},
		map[string]pulumi.StringInput{"S3_BUCKET": store.ID})
	if err != nil {
		return err
	}
	if err := db.AllowFrom("box", box.SecurityGroup); err != nil {
		return err
	}
	if err := db.GrantReadSecret(box.Role); err != nil {
		return err
	}
	return store.GrantObjects("box", box.Role, appPrefixes...)
}

// serverEndpoints are the AWS services servers reach privately from users+ on: CloudWatch
// metrics and logs, and Secrets Manager for the database credentials.
var serverEndpoints = []string{"monitoring", "logs", "secretsmanager"}
