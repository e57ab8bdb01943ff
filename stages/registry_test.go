package stages

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvConfigKeys: under `pulumi up` the key list comes from PULUMI_CONFIG, the JSON
// object the Go language host passes the config in.
func TestEnvConfigKeys(t *testing.T) {
	keys, err := envConfigKeys(`{"scaling-aws:stage":"users+","aws:region":"eu-west-1","scaling-aws:db":"{\"instanceClass\":\"db.t4g.micro\"}"}`)
	require.NoError(t, err)
	assert.Equal(t, []string{"aws:region", "scaling-aws:db", "scaling-aws:stage"}, keys)

	keys, err = envConfigKeys("")
	require.NoError(t, err)
	assert.NotNil(t, keys, "no config is an empty list, so unknown keys are still checked")
	assert.Empty(t, keys)

	_, err = envConfigKeys("{not json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PULUMI_CONFIG")
}
