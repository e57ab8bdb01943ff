package config

import (
	"strconv"
	"strings"
)

// Warehouse sizes the data warehouse of users+++++: Redshift Serverless (a namespace and a
// workgroup), which holds the rows older than RetentionDays (docs/decisions.md, "The
// warehouse is Redshift Serverless").
type Warehouse struct {
	// Enabled creates the warehouse. Redshift Serverless needs subnets in three AZs
	// (Amazon Redshift management guide, "Considerations when using Amazon Redshift
	// Serverless"), so it is refused with fewer. Default: true where azCount is 3; false
	// with fewer (dev's 2), where the archive job still moves old rows to the object store
	// as verified Parquet files and only skips the warehouse load.
	Enabled bool
	// BaseCapacityRPU is the capacity queries start with, in Redshift Processing Units
	// (16 GiB each): 4, or a multiple of 8 from 8 to 512. Default: 8, because AWS sizes
	// 8 to 24 RPUs for up to 128 TB, which the seed's 1 TB a month reaches in about ten
	// years, and a base of 4 only to 32 TB (under three years); billing is per RPU-second
	// while queries run, so the base sets speed more than cost.
	BaseCapacityRPU int `json:"baseCapacityRpu"`
	// MaxCapacityRPU caps how far the workgroup scales for a burst of queries, the same
	// values, at least BaseCapacityRPU. Default: 32 (or the base, if higher), four times
	// the base: a daily load and analysts' queries fit, and the cap bounds a runaway query's
	// bill at 32 RPU-hours an hour.
	MaxCapacityRPU int `json:"maxCapacityRpu"`
}

// IdentityDatabase sizes the federated identity database (users and sessions) of
// users+++++. It exists only when InstanceClass is set: moving users and sessions out of the
// database that holds them is a data move (`scaling-app -copy-identity`, docs/database.md),
// so it is never turned on by a stage change alone. Its other settings (engine version,
// storage, backups) follow db's.
type IdentityDatabase struct {
	// InstanceClass sizes its primary. Default: none, no identity database: users and
	// sessions stay in db (shard 0).
	InstanceClass string `json:"instanceClass"`
	// Replicas is how many read replicas follow it (0 to 15). Default: db.replicas, since
	// every session check reads it.
	Replicas int `json:"replicas"`
	// Serve gives the servers the identity database (IDENTITY_DB_*), so they move users and
	// sessions to it. Default: false, so the database is created first, reachable and
	// granted but unused, for `scaling-app -copy-identity` to fill before the rollout
	// (docs/database.md, "Moving to it, step by step").
	Serve bool `json:"serve"`
}

// Counters bills the view counters' DynamoDB table (docs/decisions.md, "Per-post view
// counters in DynamoDB"). Switching Billing is an update of the same table, never a new one.
type Counters struct {
	// Billing is CountersOnDemand (per request) or CountersProvisioned (capacity that
	// Application Auto Scaling keeps at TargetPercent of what is consumed, between the
	// bounds below: about half the price at a steady rate, slower to follow a surge).
	// Default: onDemand, because the table's rate is not known before it runs (the seed does
	// not say which share of its reads are post views). DynamoDB switches a table to
	// provisioned at any time, and back to on demand up to four times in 24 hours.
	Billing string `json:"billing"`
	// MinRead/MaxRead and MinWrite/MaxWrite bound the provisioned capacity, in units per
	// second, each minimum at most its maximum; provisioned billing only. Default: 5 to
	// 40,000 both, the console's minimum and DynamoDB's default quota per table (the
	// counters' writes at the seed's load if every read were a post view, about 48,400 a
	// second, are above it: docs/decisions.md).
	MinRead  int `json:"minRead"`
	MaxRead  int `json:"maxRead"`
	MinWrite int `json:"minWrite"`
	MaxWrite int `json:"maxWrite"`
	// TargetPercent is the consumed share of the capacity autoscaling holds, 20 to 90.
	// Default: 70, the console's: 40% of headroom while a scale-out catches up.
	TargetPercent int `json:"targetPercent"`
}

// The values of Counters.Billing.
const (
	CountersOnDemand    = "onDemand"
	CountersProvisioned = "provisioned"
)

// CountersMaxUnits is DynamoDB's default throughput quota per table, in units per second.
const CountersMaxUnits = 40000

// WarehouseMinAZs is how many AZs Redshift Serverless's subnets must span (the management
// guide's "three subnets in three different Availability Zones").
const WarehouseMinAZs = 3

// MaxShards bounds db.shards.
const MaxShards = 16

// WarehouseCapacities are the RPU values Redshift Serverless accepts for base and maximum
// capacity up to 512 (4, then multiples of 8: the management guide's "Compute capacity for
// Amazon Redshift Serverless"; 512 to 1024 in steps of 32 exist in five regions only and
// are not offered here).
var WarehouseCapacities = func() []int {
	out := []int{4}
	for n := 8; n <= 512; n += 8 {
		out = append(out, n)
	}
	return out
}()

// parseBool reads "true" or "false", returning the fix for anything else.
func parseBool(v string) (bool, string) {
	switch strings.TrimSpace(v) {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, "use true or false"
}

// validateDataTier checks the settings of users+++++'s data tier against each other and the
// network.
func (c *Config) validateDataTier(errs *Errors, ok func(string) bool) {
	w := c.Warehouse
	if c.Stage >= UsersPlus5 && w.Enabled && ok("azCount") && c.AZCount < WarehouseMinAZs {
		errs.add("warehouse.enabled", "true", "Redshift Serverless needs subnets in %d AZs and azCount is %d; set azCount %d, or warehouse.enabled false (the archive job then keeps old rows as verified Parquet files in the object store only)", WarehouseMinAZs, c.AZCount, WarehouseMinAZs)
	}
	if ok("warehouse.baseCapacityRpu") && ok("warehouse.maxCapacityRpu") && w.MaxCapacityRPU < w.BaseCapacityRPU {
		errs.add("warehouse.maxCapacityRpu", strconv.Itoa(w.MaxCapacityRPU), "the cap must not be under warehouse.baseCapacityRpu (%d); raise it or lower the base", w.BaseCapacityRPU)
	}
	if id := c.IdentityDB.InstanceClass; id != "" && ok("identityDb.instanceClass") {
		checkDBClass(errs, "identityDb.instanceClass", id)
	}
	k := c.Counters
	if ok("counters.billing") && k.Billing != CountersOnDemand && k.Billing != CountersProvisioned {
		errs.add("counters.billing", k.Billing, "use %s (per request) or %s (autoscaled capacity)", CountersOnDemand, CountersProvisioned)
	}
	if ok("counters.minRead") && ok("counters.maxRead") && k.MaxRead < k.MinRead {
		errs.add("counters.maxRead", strconv.Itoa(k.MaxRead), "the maximum must not be under counters.minRead (%d)", k.MinRead)
	}
	if ok("counters.minWrite") && ok("counters.maxWrite") && k.MaxWrite < k.MinWrite {
		errs.add("counters.maxWrite", strconv.Itoa(k.MaxWrite), "the maximum must not be under counters.minWrite (%d)", k.MinWrite)
	}
	if c.IdentityDB.Serve && c.IdentityDB.InstanceClass == "" {
		errs.add("identityDb.serve", "true", "there is no identity database to serve: set identityDb.instanceClass first, deploy, and copy the users (docs/database.md)")
	}
}
