package stages

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Logical names users+++++ part 2 adds (the data tier scaling out). Identity from
// users+++++ to the last stage; a shard is db-shard-<i> from 1, so adding one never renames
// another, and shard 0 is the stack's database under its users+ name.
const (
	nameTable      = "counters"
	nameWarehouse  = "warehouse"
	nameIdentityDB = "db-identity"
	// prefixArchive is where the archive job writes Parquet files in the object store, and
	// all the warehouse's COPY role may read.
	prefixArchive = "archive/"
	// archiveSchedule runs the archive pass daily at 03:30 UTC, the night of the seed's
	// U.S. users, after the database's backup window (03:00-04:00 UTC starts it; the
	// pass's reads do not block the backup) and spread over ten minutes across workers,
	// the first of which takes the pass's lock.
	archiveSchedule = "*-*-* 03:30:00"
	archiveSpread   = 600
)

// shardName is the logical name of shard i (1 up; shard 0 is nameDatabase).
func shardName(i int) string { return fmt.Sprintf("%s-shard-%d", nameDatabase, i) }

// scaledData is what users+++++ adds to the data tier besides the queue: the shards beyond
// the first, the identity database (federation) and the view counters' table.
type scaledData struct {
	// shards are the databases holding content, shards[0] the stack's database.
	shards []*components.Database
	// identity holds users and sessions when federated (nil: they stay in shards[0]).
	identity *components.Database
	// serveIdentity gives the servers the identity database (config identityDb.serve);
	// before, it is only reachable, for the copy of the users.
	serveIdentity bool
	table         *components.Table
}

// scaleOut creates the shards beyond the first, the identity database when configured and
// the counters table (alarmed on the stack's topic).
func (b *builder) scaleOut(net *components.Network, alarms *components.Alarms, db *components.Database) (*scaledData, error) {
	s := &scaledData{shards: []*components.Database{db}}
	for i := 1; i < b.cfg.DB.Shards; i++ {
		shard, err := b.databaseNamed(shardName(i), net, alarms, b.cfg.DB)
		if err != nil {
			return nil, err
		}
		s.shards = append(s.shards, shard)
		b.outputs[fmt.Sprintf("dbShard%dAddress", i)] = shard.Address
	}
	if id := b.cfg.IdentityDB; id.InstanceClass != "" {
		d := b.cfg.DB
		d.InstanceClass, d.ReplicaInstanceClass, d.Replicas = id.InstanceClass, id.InstanceClass, id.Replicas
		identity, err := b.databaseNamed(nameIdentityDB, net, alarms, d)
		if err != nil {
			return nil, err
		}
		s.identity, s.serveIdentity = identity, id.Serve
		b.outputs["identityDbAddress"] = identity.Address
		b.outputs["identityDbSecretArn"] = identity.SecretArn
	}
	ta := &components.TableArgs{
		PartitionKey: "pk", SortKey: "sk", TTLAttribute: "expires_at",
		Key: b.dataKey(), Protect: b.cfg.Protect(), AlarmTopicArn: alarms.TopicArn,
	}
	if k := b.cfg.Counters; k.Billing == config.CountersProvisioned {
		ta.Capacity = &components.TableCapacity{MinRead: k.MinRead, MaxRead: k.MaxRead,
			MinWrite: k.MinWrite, MaxWrite: k.MaxWrite, TargetPercent: k.TargetPercent}
	}
	t, err := components.NewTable(b.ctx, nameTable, ta)
	if err != nil {
		return nil, err
	}
	s.table = t
	b.outputs["countersTable"] = t.Name
	return s, nil
}

// databases lists every database beyond the stack's own, with the rule name its clients'
// security group rules take.
func (s *scaledData) databases() map[string]*components.Database {
	out := map[string]*components.Database{}
	for i, d := range s.shards[1:] {
		out[shardName(i+1)] = d
	}
	if s.identity != nil {
		out[nameIdentityDB] = s.identity
	}
	return out
}

// env is what the shards and the identity database add to the environment of role ("read",
// "write" or "worker"): addresses and secrets, and replicas for the read API only. With one
// shard and no identity database it adds nothing, so a users++++ server's environment is
// unchanged by them.
func (s *scaledData) env(role string) map[string]pulumi.StringInput {
	env := map[string]pulumi.StringInput{}
	dbEnv := func(prefix string, d *components.Database) {
		env[prefix+"_HOST"] = d.Address
		env[prefix+"_PORT"] = pulumi.Sprintf("%d", d.Port)
		env[prefix+"_PASSWORD_SECRET_ARN"] = d.SecretArn
		if role == "read" {
			env[prefix+"_REPLICAS"] = d.ReplicaAddresses.ApplyT(func(a []string) string { return strings.Join(a, ",") }).(pulumi.StringOutput)
		}
	}
	if len(s.shards) > 1 {
		env["DB_SHARD_COUNT"] = pulumi.String(fmt.Sprint(len(s.shards)))
		for i, d := range s.shards[1:] {
			dbEnv(fmt.Sprintf("DB_SHARD_%d", i+1), d)
		}
	}
	if s.identity != nil && s.serveIdentity {
		dbEnv("IDENTITY_DB", s.identity)
	}
	if role == "read" {
		env["DYNAMO_TABLE"] = s.table.Name
	}
	return env
}

// link lets a group of servers (the rule names it) reach every extra database and read its
// secret.
func (s *scaledData) link(rule string, g *components.ServerGroup) error {
	for name, d := range s.databases() {
		if err := d.AllowFrom(rule+"-"+strings.TrimPrefix(name, nameDatabase+"-"), g.SecurityGroup); err != nil {
			return err
		}
		if err := d.GrantReadSecret(g.Role); err != nil {
			return err
		}
	}
	return nil
}

// linkCounters lets the read API count views: the table's grant, and HTTPS to DynamoDB's
// gateway endpoint.
func (s *scaledData) linkCounters(net *components.Network, read *components.ServerGroup) error {
	if err := s.table.GrantCounter(read.Role); err != nil {
		return err
	}
	return read.SecurityGroup.AllowToPrefixList("dynamodb", net.DynamoDBPrefixListID, 443)
}

// withScaledData gives the API roles what s adds, over what d already gives and links.
func withScaledData(d *dataTier, s *scaledData, net *components.Network) *dataTier {
	env, link := d.env, d.link
	out := *d
	out.env = func(role string) map[string]pulumi.StringInput {
		e := env(role)
		for k, v := range s.env(role) {
			e[k] = v
		}
		return e
	}
	out.link = func(read, write *components.ServerGroup) error {
		for _, err := range []error{link(read, write), s.link(nameReadAPI, read), s.link(nameWriteAPI, write), s.linkCounters(net, read)} {
			if err != nil {
				return err
			}
		}
		return nil
	}
	out.scaled = s
	return &out
}

// warehouse creates the data warehouse when config turns it on (nil otherwise), reading the
// archive prefix of the object store.
func (b *builder) warehouse(p *tierParts) (*components.Warehouse, error) {
	w := b.cfg.Warehouse
	if !w.Enabled {
		return nil, nil
	}
	wh, err := components.NewWarehouse(b.ctx, nameWarehouse, &components.WarehouseArgs{
		Network:         p.net,
		BaseCapacityRPU: w.BaseCapacityRPU,
		MaxCapacityRPU:  w.MaxCapacityRPU,
		Key:             b.key,
		Archive:         p.store,
		ArchivePrefix:   prefixArchive,
		ArchiveKey:      b.dataKey(),
		Protect:         b.cfg.Protect(),
	})
	if err != nil {
		return nil, err
	}
	b.outputs["warehouseWorkgroup"] = wh.WorkgroupName
	return wh, nil
}

// archiveEnv is what the archive pass adds to a worker's environment: where it writes,
// how long rows stay, and the warehouse it loads (none: it archives to the object store
// only, still verified).
func (b *builder) archiveEnv(p *tierParts, wh *components.Warehouse) map[string]pulumi.StringInput {
	env := map[string]pulumi.StringInput{
		"ARCHIVE_BUCKET": p.store.ID, "ARCHIVE_PREFIX": pulumi.String(prefixArchive),
		"RETENTION_DAYS": pulumi.String(fmt.Sprint(b.cfg.RetentionDays)),
	}
	if wh != nil {
		env["WAREHOUSE_WORKGROUP"] = wh.WorkgroupName
		env["WAREHOUSE_DATABASE"] = pulumi.String(wh.DatabaseName)
		env["WAREHOUSE_COPY_ROLE_ARN"] = wh.CopyRoleArn
	}
	return env
}

// archiveJob is the worker's daily archive pass.
var archiveJob = components.ScheduledJob{Name: "archive", Role: "archive", OnCalendar: archiveSchedule, RandomizedDelaySec: archiveSpread}

// linkArchive gives the workers what the archive pass needs: the archive prefix (write,
// read back, list to resume, delete a partial file), the extra databases, and the
// warehouse's Data API.
func linkArchive(p *tierParts, g *components.ServerGroup, wh *components.Warehouse) error {
	errs := []error{p.store.GrantObjects("archive", g.Role, prefixArchive)}
	if p.data.scaled != nil {
		errs = append(errs, p.data.scaled.link(nameWorker, g))
	}
	if wh != nil {
		errs = append(errs, wh.GrantLoad(g.Role))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// warehouseEndpoints is the interface endpoint the workers reach the warehouse through:
// the Redshift Data API (the workers have no NAT).
func warehouseEndpoints(cfg *config.Config) []string {
	if cfg.Warehouse.Enabled {
		return []string{"redshift-data"}
	}
	return nil
}
