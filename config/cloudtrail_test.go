package config

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCloudTrailSetting: the stack's trail is on unless set false, and only true or false
// are accepted, with the key, the value and the fix in the message.
func TestCloudTrailSetting(t *testing.T) {
	c, err := Load(src(map[string]string{"stage": "users++++"}))
	require.NoError(t, err)
	assert.True(t, c.CloudTrail, "on by default")
	for v, want := range map[string]bool{"false": false, "true": true, " false ": false} {
		c, err := Load(src(map[string]string{"stage": "users++++", "cloudTrail": v}))
		require.NoError(t, err, v)
		assert.Equal(t, want, c.CloudTrail, v)
	}
	for _, v := range []string{"yes", "off", "False", "0", ""} {
		msg := badCase{"cloudTrail " + v, map[string]string{"cloudTrail": v}, "cloudTrail", "use true or false"}.refused(t)
		assert.Contains(t, msg, fmt.Sprintf("config scaling-aws:cloudTrail = %q", v), "echoes the value")
	}
}
