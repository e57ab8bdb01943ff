package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// src builds a Source from short keys; "aws:region" defaults to us-east-1.
func src(kv map[string]string) Source {
	return func(key string) (string, bool) {
		if key == "aws:region" {
			if v, ok := kv["aws:region"]; ok {
				return v, true
			}
			return "us-east-1", true
		}
		v, ok := kv[strings.TrimPrefix(key, Namespace+":")]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(src(nil))
	require.NoError(t, err)
	assert.Equal(t, SingleBox, c.Stage)
	assert.Equal(t, Dev, c.Environment)
	assert.Equal(t, 2, c.AZCount)
	assert.Equal(t, NatNone, c.Nat)
	assert.Empty(t, c.AdminCidrs, "SSH is closed by default")
	assert.Equal(t, 30, c.LogRetentionDays)
	assert.Equal(t, Tier{InstanceType: "t3.small", Min: 2, Max: 2, Desired: 2}, c.Web)
	assert.False(t, c.Protect())

	c, err = Load(src(map[string]string{"stage": "users++", "environment": "prod", "domain": "example.com", "hostedZoneId": "Z0123456789ABC"}))
	require.NoError(t, err)
	assert.Equal(t, NatPerAZ, c.Nat)
	assert.Equal(t, 14, c.DB.BackupRetentionDays)
	assert.True(t, c.Protect())

	c, err = Load(src(map[string]string{"stage": "2"}))
	require.NoError(t, err)
	assert.Equal(t, NatSingle, c.Nat, "dev takes one NAT gateway once private servers need egress")
}

func TestParseStage(t *testing.T) {
	for _, s := range AllStages() {
		got, err := ParseStage(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
		for _, a := range s.Aliases() {
			got, err := ParseStage(strings.ToUpper(a))
			require.NoError(t, err)
			assert.Equal(t, s, got, a)
		}
	}
	assert.Len(t, AllStages(), 6)
	assert.Equal(t, "users+++++", UsersPlus5.String())
}

// TestBadValues: every bad value fails with an error naming the key, the value and a fix.
func TestBadValues(t *testing.T) {
	cases := []struct {
		name string
		kv   map[string]string
		key  string // expected key in the message
		fix  string // expected fragment of the fix
	}{
		{"unknown stage", map[string]string{"stage": "users++++++"}, "stage", "use one of single-box"},
		{"unknown environment", map[string]string{"environment": "staging"}, "environment", "dev or prod"},
		{"bad region", map[string]string{"aws:region": "mars-1"}, "aws:region", "region code"},
		{"az count zero", map[string]string{"azCount": "-1"}, "azCount", "use 1 to 3"},
		{"az count too high", map[string]string{"azCount": "4"}, "azCount", "use 1 to 3"},
		{"az count not a number", map[string]string{"azCount": "two"}, "azCount", "whole number"},
		{"one az for rds", map[string]string{"stage": "users+", "azCount": "1"}, "azCount", "2 availability zones"},
		{"one az for users++", map[string]string{"stage": "users++", "azCount": "1", "natStrategy": "single"}, "azCount", "at least 2"},
		{"malformed vpc cidr", map[string]string{"vpcCidr": "10.0.0.0/33"}, "vpcCidr", "IPv4 CIDR"},
		{"vpc not /16", map[string]string{"vpcCidr": "10.0.0.0/20"}, "vpcCidr", "use a /16"},
		{"vpc host bits", map[string]string{"vpcCidr": "10.0.1.0/16"}, "vpcCidr", "10.0.0.0/16"},
		{"vpc public range", map[string]string{"vpcCidr": "8.8.0.0/16"}, "vpcCidr", "RFC 1918"},
		{"bad nat", map[string]string{"natStrategy": "many"}, "natStrategy", "none, single or per-az"},
		{"per-az with one az", map[string]string{"natStrategy": "per-az", "azCount": "1"}, "natStrategy", "per-az needs at least 2 availability zones, got 1"},
		{"no nat at users++", map[string]string{"stage": "users++", "natStrategy": "none"}, "natStrategy", "need egress"},
		{"malformed admin cidr", map[string]string{"adminCidrs": `["203.0.113.300/32"]`}, "adminCidrs[0]", "CIDR such as"},
		{"admin cidrs not a list", map[string]string{"adminCidrs": `203.0.113.7/32`}, "adminCidrs", "list of CIDRs"},
		{"admin cidr is the internet", map[string]string{"adminCidrs": `["0.0.0.0/0"]`}, "adminCidrs[0]", "never open to the whole internet"},
		{"admin cidr host bits", map[string]string{"adminCidrs": `["203.0.113.7/24"]`}, "adminCidrs[0]", "203.0.113.0/24"},
		{"overlapping admin cidrs", map[string]string{"adminCidrs": `["203.0.113.0/24","203.0.113.7/32"]`}, "adminCidrs[1]", "overlaps adminCidrs[0]"},
		{"bad domain", map[string]string{"domain": "Example..com", "hostedZoneId": "Z0123456789ABC"}, "domain", "DNS name"},
		{"domain without zone", map[string]string{"domain": "example.com"}, "hostedZoneId", "hosted zone id"},
		{"zone without domain", map[string]string{"hostedZoneId": "Z0123456789ABC"}, "domain", "set the domain"},
		{"bad zone id", map[string]string{"domain": "example.com", "hostedZoneId": "abc"}, "hostedZoneId", "zone id"},
		{"prod users++ without a domain", map[string]string{"stage": "users++", "environment": "prod"}, "domain", "needs a certificate for a domain"},
		{"bad email", map[string]string{"alarmEmail": "ops"}, "alarmEmail", "email address"},
		{"bad retention", map[string]string{"logRetentionDays": "10"}, "logRetentionDays", "CloudWatch Logs accepts"},
		{"bad box type", map[string]string{"box": `{"instanceType":"huge"}`}, "box.instanceType", "EC2 instance type"},
		{"unknown box field", map[string]string{"box": `{"size":"t3.small"}`}, "box", "documented fields"},
		{"tiny data volume", map[string]string{"box": `{"dataVolumeGb":2}`}, "box.dataVolumeGb", "8 to 16384"},
		{"web min > max", map[string]string{"web": `{"min":3,"max":2,"desired":2}`}, "web.min", "min must not exceed max (2)"},
		{"desired out of range", map[string]string{"readApi": `{"min":1,"max":2,"desired":5}`}, "readApi.desired", "between min (1) and max (2)"},
		{"tier type format", map[string]string{"writeApi": `{"instanceType":"t3-small"}`}, "writeApi.instanceType", "EC2 instance type"},
		{"tier max too high", map[string]string{"web": `{"min":1,"max":500,"desired":1}`}, "web.max", "at most 100"},
		{"mixed api architectures", map[string]string{"readApi": `{"instanceType":"t3.small"}`, "writeApi": `{"instanceType":"m7g.large"}`}, "writeApi.instanceType", "CPU architecture of readApi.instanceType t3.small (amd64)"},
		{"db class", map[string]string{"db": `{"instanceClass":"t3.micro"}`}, "db.instanceClass", "RDS instance class"},
		{"db version", map[string]string{"db": `{"engineVersion":"5.7"}`}, "db.engineVersion", "8.0 or 8.4"},
		{"db storage", map[string]string{"db": `{"allocatedStorageGb":5}`}, "db.allocatedStorageGb", "20 to 65536"},
		{"db max storage", map[string]string{"db": `{"allocatedStorageGb":200,"maxAllocatedStorageGb":100}`}, "db.maxAllocatedStorageGb", "at least allocatedStorageGb (200)"},
		{"weak db password", map[string]string{"dbPassword": "short@pw"}, "dbPassword", "16 to 41 printable characters"},
		{"db backups", map[string]string{"db": `{"backupRetentionDays":1}`}, "db.backupRetentionDays", "7 to 35"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(src(tc.kv))
			require.Error(t, err)
			msg := err.Error()
			key := tc.key
			if !strings.Contains(key, ":") {
				key = "scaling-aws:" + key
			}
			assert.Contains(t, msg, "config "+key+" = ", "names the key")
			assert.Contains(t, msg, tc.fix, "says the fix")
			var v string
			for k, val := range tc.kv {
				if tc.key == k || strings.HasPrefix(tc.key, k) {
					v = val
				}
			}
			if tc.key == "dbPassword" {
				assert.NotContains(t, msg, v, "a secret is never echoed")
			} else if v != "" && !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") {
				assert.Contains(t, msg, v, "echoes the value")
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Load(src(map[string]string{"azCount": "9", "natStrategy": "x", "logRetentionDays": "2"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 config errors")
}

func TestArch(t *testing.T) {
	for typ, want := range map[string]string{"t3.small": "amd64", "t4g.micro": "arm64", "m7g.2xlarge": "arm64", "c7gn.large": "arm64", "m6i.large": "amd64", "g5.xlarge": "amd64", "r6gd.large": "arm64"} {
		assert.Equal(t, want, Arch(typ), typ)
	}
}

func TestSecretNeverEchoed(t *testing.T) {
	_, err := Load(src(map[string]string{"dbPassword": "hunter2@example"}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	c, err := Load(src(map[string]string{"dbPassword": "a-long-enough-password-1234"}))
	require.NoError(t, err)
	assert.NotContains(t, c.String(), "a-long-enough")
}
