package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var prod3 = map[string]string{"stage": "users+++", "environment": "prod", "domain": "example.com", "hostedZoneId": "Z0123456789ABC"}

func with3(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestStage3Defaults: users+++ adds replicas, a cache and servers; earlier stages keep theirs.
func TestStage3Defaults(t *testing.T) {
	c, err := Load(src(map[string]string{"stage": "users++"}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.DB.Replicas, "no replicas before users+++")
	assert.Equal(t, 2, c.ReadAPI.Desired)
	assert.Equal(t, 75, c.DB.BufferPoolPercent)

	c, err = Load(src(map[string]string{"stage": "users+++"}))
	require.NoError(t, err)
	assert.Equal(t, 1, c.DB.Replicas)
	assert.Equal(t, "db.t4g.micro", c.DB.ReplicaInstanceClass, "replicas follow the primary's class")
	assert.Equal(t, Cache{NodeType: "cache.t4g.micro", EngineVersion: "8.0", Replicas: c.Cache.Replicas, SnapshotRetentionDays: 1}, c.Cache)
	assert.Equal(t, 1, c.Cache.Replicas)
	assert.Equal(t, []int{2, 3, 2}, []int{c.Web.Desired, c.ReadAPI.Desired, c.WriteAPI.Desired})

	c, err = Load(src(prod3))
	require.NoError(t, err)
	assert.Equal(t, 2, c.DB.Replicas)
	assert.Equal(t, "db.m6g.large", c.DB.ReplicaInstanceClass)
	assert.Equal(t, "cache.m7g.large", c.Cache.NodeType)
	assert.Equal(t, 7, c.Cache.SnapshotRetentionDays)
	assert.Equal(t, []int{3, 4, 3}, []int{c.Web.Desired, c.ReadAPI.Desired, c.WriteAPI.Desired})

	// 0 is a value, not "unset": a users+++ stack may run without replicas.
	c, err = Load(src(map[string]string{"stage": "users+++", "db": `{"replicas":0}`, "cache": `{"replicas":0}`}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.DB.Replicas)
	assert.Equal(t, 0, c.Cache.Replicas)
}

func TestStage3BadValues(t *testing.T) {
	dev3 := map[string]string{"stage": "users+++"}
	for _, tc := range []struct {
		kv   map[string]string
		want string
	}{
		{with3(dev3, "db", `{"replicas":16}`), "db.replicas"},
		{with3(dev3, "db", `{"replicas":-1}`), "db.replicas"},
		{map[string]string{"stage": "users++", "db": `{"replicas":1}`}, "read replicas arrive at stage users+++"},
		{with3(dev3, "db", `{"replicaInstanceClass":"m6g.large"}`), "db.replicaInstanceClass"},
		{with3(dev3, "db", `{"bufferPoolPercent":95}`), "db.bufferPoolPercent"},
		{with3(dev3, "db", `{"bufferPoolPercent":5}`), "db.bufferPoolPercent"},
		{with3(dev3, "cache", `{"nodeType":"t4g.micro"}`), "cache.nodeType"},
		{with3(dev3, "cache", `{"engineVersion":"7.1"}`), "cache.engineVersion"},
		{with3(dev3, "cache", `{"replicas":6}`), "cache.replicas"},
		{with3(prod3, "cache", `{"replicas":0}`), "prod keeps sessions through a node failure"},
		{with3(dev3, "cache", `{"snapshotRetentionDays":36}`), "cache.snapshotRetentionDays"},
		{with3(dev3, "cache", `{"nodes":2}`), "cache"},
		{with3(dev3, "cacheAuthToken", "short"), "cacheAuthToken"},
		{with3(dev3, "cacheAuthToken", "sixteen-chars-but/has-slash"), "cacheAuthToken"},
	} {
		_, err := Load(src(tc.kv))
		require.Error(t, err, "%v", tc.kv)
		assert.Contains(t, err.Error(), tc.want, "%v", tc.kv)
	}
	_, err := Load(src(with3(dev3, "cacheAuthToken", "Abcdefgh-12345678!")))
	require.NoError(t, err)
	_, err = Load(src(with3(dev3, "cacheAuthToken", "NeverEchoed/0123456789")))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "NeverEchoed")
}
