package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkerDefaults: one worker in dev, two in prod, a backlog target of 60 jobs
// (30 s / 0.5 s), and a max that never falls below a configured min.
func TestWorkerDefaults(t *testing.T) {
	c, err := Load(src(map[string]string{"stage": "users+++++"}))
	require.NoError(t, err)
	assert.Equal(t, Worker{InstanceType: "t3.small", Min: 1, Max: 2, LatencySeconds: 30, JobMillis: 500}, c.Worker)
	c, err = Load(src(map[string]string{"stage": "users+++++", "environment": "prod", "domain": "example.com", "hostedZoneId": "Z0123456789EXAMPLE"}))
	require.NoError(t, err)
	assert.Equal(t, 2, c.Worker.Min)
	assert.Equal(t, 10, c.Worker.Max)
	c, err = Load(src(map[string]string{"worker": `{"min": 4}`}))
	require.NoError(t, err)
	assert.Equal(t, 4, c.Worker.Max, "max follows a larger min")
	c, err = Load(src(map[string]string{"worker": `{"min": 0, "latencySeconds": 300}`}))
	require.NoError(t, err)
	assert.Equal(t, 0, c.Worker.Min, "an empty fleet is allowed when the latency covers a cold start")
}

// TestWorkerBadValues: each bad worker value fails naming the key, the value and the fix.
func TestWorkerBadValues(t *testing.T) {
	for _, tc := range []badCase{
		{"min above max", map[string]string{"worker": `{"min": 5, "max": 3}`}, "worker.min", "must not exceed max (3)"},
		{"max zero", map[string]string{"worker": `{"max": 0}`}, "worker.max", "1 to 100"},
		{"min zero with a short latency", map[string]string{"worker": `{"min": 0}`}, "worker.min", "cold start of 300 s, over worker.latencySeconds = 30"},
		{"latency too short", map[string]string{"worker": `{"latencySeconds": 5}`}, "worker.latencySeconds", "10 to 3600"},
		{"job time zero", map[string]string{"worker": `{"jobMillis": 0}`}, "worker.jobMillis", "50 to 600000"},
		{"another architecture", map[string]string{"worker": `{"instanceType": "t4g.small"}`}, "worker.instanceType", "CPU architecture of readApi.instanceType"},
		{"unknown instance family", map[string]string{"worker": `{"instanceType": "zz9.large"}`}, "worker.instanceType", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.refused(t) })
	}
}
