package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDataTierDefaults: 90 days in MySQL, one shard, no identity database, and a warehouse
// of 8 to 32 RPUs exactly where the network spans three AZs.
func TestDataTierDefaults(t *testing.T) {
	c, err := Load(src(map[string]string{"stage": "users+++++"}))
	require.NoError(t, err)
	assert.Equal(t, 90, c.RetentionDays)
	assert.Equal(t, 1, c.DB.Shards)
	assert.Equal(t, IdentityDatabase{Replicas: c.DB.Replicas}, c.IdentityDB)
	assert.Equal(t, Warehouse{Enabled: false, BaseCapacityRPU: 8, MaxCapacityRPU: 32}, c.Warehouse, "two AZs: no warehouse")
	c, err = Load(src(map[string]string{"stage": "users+++++", "azCount": "3"}))
	require.NoError(t, err)
	assert.True(t, c.Warehouse.Enabled, "three AZs: a warehouse")
	c, err = Load(src(map[string]string{"stage": "users+++++", "azCount": "3", "warehouse": `{"enabled": false, "baseCapacityRpu": 64}`}))
	require.NoError(t, err)
	assert.False(t, c.Warehouse.Enabled, "turned off explicitly")
	assert.Equal(t, 64, c.Warehouse.MaxCapacityRPU, "the cap follows a larger base")
	c, err = Load(src(map[string]string{"stage": "users+++++", "db": `{"shards": 4, "replicas": 2}`, "identityDb": `{"instanceClass": "db.r6g.large"}`}))
	require.NoError(t, err)
	assert.Equal(t, 4, c.DB.Shards)
	assert.Equal(t, IdentityDatabase{InstanceClass: "db.r6g.large", Replicas: 2}, c.IdentityDB, "replicas follow db's")
	assert.Equal(t, Counters{Billing: CountersOnDemand, MinRead: 5, MaxRead: 40000, MinWrite: 5, MaxWrite: 40000, TargetPercent: 70}, c.Counters)
	c, err = Load(src(map[string]string{"stage": "users+++++", "counters": `{"billing": "provisioned", "maxWrite": 20000}`}))
	require.NoError(t, err)
	assert.Equal(t, Counters{Billing: CountersProvisioned, MinRead: 5, MaxRead: 40000, MinWrite: 5, MaxWrite: 20000, TargetPercent: 70}, c.Counters)
	for _, n := range []int{4, 8, 16, 512} {
		assert.Contains(t, WarehouseCapacities, n)
	}
	for _, n := range []int{0, 5, 12, 520} {
		assert.NotContains(t, WarehouseCapacities, n)
	}
}

// TestDataTierBadValues: each bad value fails naming the key, the value and the fix.
func TestDataTierBadValues(t *testing.T) {
	for _, tc := range []badCase{
		{"retention zero", map[string]string{"retentionDays": "0"}, "retentionDays", "1 to 3650"},
		{"retention too long", map[string]string{"retentionDays": "4000"}, "retentionDays", "1 to 3650"},
		{"no shard", map[string]string{"db": `{"shards": 0}`}, "db.shards", "1 to 16"},
		{"too many shards", map[string]string{"db": `{"shards": 17}`}, "db.shards", "1 to 16"},
		{"warehouse in two AZs", map[string]string{"stage": "users+++++", "warehouse": `{"enabled": true}`}, "warehouse.enabled", "set azCount 3"},
		{"warehouse flag as a string", map[string]string{"warehouse": `{"enabled": "yes"}`}, "warehouse.enabled", "JSON boolean"},
		{"odd base capacity", map[string]string{"warehouse": `{"baseCapacityRpu": 12}`}, "warehouse.baseCapacityRpu", "a multiple of 8"},
		{"cap under the base", map[string]string{"warehouse": `{"baseCapacityRpu": 64, "maxCapacityRpu": 32}`}, "warehouse.maxCapacityRpu", "must not be under warehouse.baseCapacityRpu (64)"},
		{"identity class not RDS", map[string]string{"identityDb": `{"instanceClass": "m6g.large"}`}, "identityDb.instanceClass", "RDS for MySQL instance class"},
		{"serve without a database", map[string]string{"identityDb": `{"serve": true}`}, "identityDb.serve", "set identityDb.instanceClass first"},
		{"identity replicas", map[string]string{"identityDb": `{"instanceClass": "db.t4g.small", "replicas": 16}`}, "identityDb.replicas", "0 to 15"},
		{"counters billing", map[string]string{"counters": `{"billing": "reserved"}`}, "counters.billing", "use onDemand (per request) or provisioned"},
		{"counters over the quota", map[string]string{"counters": `{"maxWrite": 50000}`}, "counters.maxWrite", "1 to 40000"},
		{"counters max under min", map[string]string{"counters": `{"minRead": 100, "maxRead": 10}`}, "counters.maxRead", "must not be under counters.minRead (100)"},
		{"counters target", map[string]string{"counters": `{"targetPercent": 95}`}, "counters.targetPercent", "20 to 90"},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.refused(t) })
	}
}
