package stages

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
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

type noMocks struct{}

func (noMocks) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return a.Name, a.Inputs, nil
}
func (noMocks) Call(a pulumi.MockCallArgs) (resource.PropertyMap, error) { return a.Args, nil }

// TestPulumiSource: values come from the context, secrets are known by key, and the key
// list reaches config.Load, which refuses an unknown key of the namespace.
func TestPulumiSource(t *testing.T) {
	values := map[string]string{"aws:region": "eu-west-1", "scaling-aws:dbPassword": "x", "scaling-aws:azcount": "3"}
	var src config.Source
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		var err error
		src, err = PulumiSource(ctx, Options{ConfigKeys: []string{"aws:region", "scaling-aws:azcount", "scaling-aws:dbPassword"}})
		return err
	}, pulumi.WithMocks("scaling-aws", "dev", noMocks{}), func(info *pulumi.RunInfo) {
		info.Config = values
		info.ConfigSecretKeys = []string{"scaling-aws:dbPassword"}
	})
	require.NoError(t, err)
	v, ok := src.Lookup("aws:region")
	assert.True(t, ok)
	assert.Equal(t, "eu-west-1", v)
	_, ok = src.Lookup("scaling-aws:stage")
	assert.False(t, ok)
	assert.Equal(t, []string{"scaling-aws:dbPassword"}, src.SecretKeys)
	_, err = config.Load(src)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did you mean azCount?")
}
