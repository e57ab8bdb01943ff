package config

import (
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// src builds a Source from short keys (a key with a ":" is taken as is); "aws:region"
// defaults to us-east-1.
func src(kv map[string]string) Source {
	m := map[string]string{"aws:region": "us-east-1"}
	for k, v := range kv {
		if !strings.Contains(k, ":") {
			k = Namespace + ":" + k
		}
		m[k] = v
	}
	return MapSource(m, Namespace+":dbPassword")
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
	assert.Equal(t, 100, c.WebAccessLogPercent, "dev logs every request")
	assert.Equal(t, Tier{InstanceType: "t3.small", Min: 2, Max: 2, Desired: 2, CPUTargetPercent: 60}, c.Web)
	assert.False(t, c.Protect())

	c, err = Load(src(map[string]string{"stage": "users++", "environment": "prod", "domain": "example.com", "hostedZoneId": "Z0123456789ABC"}))
	require.NoError(t, err)
	assert.Equal(t, NatPerAZ, c.Nat)
	assert.Equal(t, 14, c.DB.BackupRetentionDays)
	assert.Equal(t, 1, c.WebAccessLogPercent, "prod logs a 1% sample and every 4xx and 5xx")
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
	cases := []badCase{
		{"unknown stage", map[string]string{"stage": "users++++++"}, "stage", "use one of single-box"},
		{"unknown environment", map[string]string{"environment": "staging"}, "environment", "dev or prod"},
		{"bad region", map[string]string{"aws:region": "mars-1"}, "aws:region", "region code"},
		{"az count zero", map[string]string{"azCount": "-1"}, "azCount", "use 1 to 3"},
		{"no access log", map[string]string{"webAccessLogPercent": "0"}, "webAccessLogPercent", "use 1 to 100"},
		{"access log over 100", map[string]string{"webAccessLogPercent": "101"}, "webAccessLogPercent", "use 1 to 100"},
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
		{"admin cidrs not a list", map[string]string{"adminCidrs": `203.0.113.7/32`}, "adminCidrs", "JSON list of strings"},
		{"admin cidr is the internet", map[string]string{"adminCidrs": `["0.0.0.0/0"]`}, "adminCidrs[0]", "never open to the whole internet"},
		{"admin cidr host bits", map[string]string{"adminCidrs": `["203.0.113.7/24"]`}, "adminCidrs[0]", "203.0.113.0/24"},
		{"overlapping admin cidrs", map[string]string{"adminCidrs": `["203.0.113.0/24","203.0.113.7/32"]`}, "adminCidrs[1]", "overlaps adminCidrs[0]"},
		{"ssh at users++++", map[string]string{"stage": "users++++", "adminCidrs": `["203.0.113.7/32"]`}, "adminCidrs", "opens SSH nowhere: reach a server with Session Manager"},
		{"bad domain", map[string]string{"domain": "Example..com", "hostedZoneId": "Z0123456789ABC"}, "domain", "empty label"},
		{"domain without zone", map[string]string{"domain": "example.com"}, "hostedZoneId", "hosted zone id"},
		{"zone without domain", map[string]string{"hostedZoneId": "Z0123456789ABC"}, "domain", "set the domain"},
		{"bad zone id", map[string]string{"domain": "example.com", "hostedZoneId": "abc"}, "hostedZoneId", "zone id"},
		{"prod users++ without a domain", map[string]string{"stage": "users++", "environment": "prod"}, "domain", "needs a certificate for a domain"},
		{"bad email", map[string]string{"alarmEmail": "ops"}, "alarmEmail", "email address"},
		{"bad retention", map[string]string{"logRetentionDays": "10"}, "logRetentionDays", "CloudWatch Logs accepts"},
		{"bad box type", map[string]string{"box": `{"instanceType":"huge"}`}, "box.instanceType", "EC2 instance type"},
		{"unknown box field", map[string]string{"box": `{"size":"t3.small"}`}, "box.size", "box has no field size; use one of instanceType, dataVolumeGb"},
		{"tiny data volume", map[string]string{"box": `{"dataVolumeGb":2}`}, "box.dataVolumeGb", "8 to 16384"},
		{"web min > max", map[string]string{"web": `{"min":3,"max":2,"desired":2}`}, "web.min", "min must not exceed max (2)"},
		{"desired out of range", map[string]string{"readApi": `{"min":1,"max":2,"desired":5}`}, "readApi.desired", "between min (1) and max (2)"},
		{"tier type format", map[string]string{"writeApi": `{"instanceType":"t3-small"}`}, "writeApi.instanceType", "EC2 instance type"},
		{"tier max too high", map[string]string{"web": `{"min":1,"max":500,"desired":1}`}, "web.max", "use 1 to 100"},
		{"mixed api architectures", map[string]string{"readApi": `{"instanceType":"t3.small"}`, "writeApi": `{"instanceType":"m7g.large"}`}, "writeApi.instanceType", "CPU architecture of readApi.instanceType t3.small (amd64)"},
		{"db class", map[string]string{"db": `{"instanceClass":"t3.micro"}`}, "db.instanceClass", "RDS for MySQL instance class"},
		{"db version", map[string]string{"db": `{"engineVersion":"5.7"}`}, "db.engineVersion", "8.0 or 8.4"},
		{"db storage", map[string]string{"db": `{"allocatedStorageGb":5}`}, "db.allocatedStorageGb", "20 to 65536"},
		{"db max storage", map[string]string{"db": `{"allocatedStorageGb":200,"maxAllocatedStorageGb":100}`}, "db.maxAllocatedStorageGb", "use at least 220, 1.1 x allocatedStorageGb (200)"},
		{"weak db password", map[string]string{"dbPassword": "short@pw"}, "dbPassword", "16 to 41 printable ASCII characters"},
		{"db backups", map[string]string{"db": `{"backupRetentionDays":1}`}, "db.backupRetentionDays", "7 to 35"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.refused(t)
			var v string
			for k, val := range tc.kv {
				if tc.key == k || strings.HasPrefix(tc.key, k) {
					v = val
				}
			}
			if tc.key != "dbPassword" && v != "" && !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") {
				assert.Contains(t, msg, v, "echoes the value")
			}
		})
	}
}

// badCase is a config that Load must refuse, naming key and saying fix.
type badCase struct {
	name string
	kv   map[string]string
	key  string // expected key in the message
	fix  string // expected fragment of the fix
}

// refused loads the case, checks the error names the key and says the fix, and never
// echoes a password; it returns the message.
func (tc badCase) refused(t *testing.T) string {
	t.Helper()
	_, err := Load(src(tc.kv))
	require.Error(t, err)
	msg := err.Error()
	key := tc.key
	if !strings.Contains(key, ":") {
		key = "scaling-aws:" + key
	}
	assert.Contains(t, msg, "config "+key+" = ", "names the key")
	assert.Contains(t, msg, tc.fix, "says the fix")
	if tc.key == "dbPassword" {
		assert.NotContains(t, msg, tc.kv["dbPassword"], "a secret is never echoed")
	}
	return msg
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

// TestStrictValues: every input below was accepted before (issue 9), silently or with a
// vague message; each now fails naming the key, the value and the fix.
func TestStrictValues(t *testing.T) {
	long := strings.Repeat("a", 63)
	domain259 := long + "." + long + "." + long + "." + long + "." + "abcdefg.com" // 4*64 + 11 - 1 + ... > 253
	cases := []badCase{
		// Unknown and misspelled keys.
		{"key in the wrong case", map[string]string{"azcount": "3"}, "azcount", "did you mean azCount? (setting names are case-sensitive)"},
		{"unknown key", map[string]string{"totallyUnknown": "1"}, "totallyUnknown", "scaling-aws has no setting totallyUnknown; use one of stage, environment"},
		{"misspelled key", map[string]string{"logRetentionDay": "30"}, "logRetentionDay", "did you mean logRetentionDays?"},
		{"object field set as a top-level key", map[string]string{"db.instanceClass": "db.t3.micro"}, "db.instanceClass", "set fields with --path"},
		{"object field in the wrong case", map[string]string{"box": `{"INSTANCETYPE":"t3.small"}`}, "box.INSTANCETYPE", "did you mean instanceType? (field names are case-sensitive)"},
		{"misspelled object field", map[string]string{"db": `{"backupRetentionDay":7}`}, "db.backupRetentionDay", "did you mean backupRetentionDays?"},
		// Strict objects.
		{"garbage after the object", map[string]string{"box": `{"dataVolumeGb":30} junk`}, "box", "it has more after the JSON value, from character 20"},
		{"two objects", map[string]string{"box": `{"dataVolumeGb":30}{"dataVolumeGb":40}`}, "box", "it has more after the JSON value"},
		{"null object", map[string]string{"box": `null`}, "box", "must be a JSON object such as {\"instanceType\":\"t3.small\",\"dataVolumeGb\":8}, not null"},
		{"list for an object", map[string]string{"web": `[1,2]`}, "web", "not a list"},
		{"duplicate key", map[string]string{"box": `{"dataVolumeGb":30,"dataVolumeGb":40}`}, "box", `key "dataVolumeGb" appears twice`},
		{"duplicate key in another case", map[string]string{"box": `{"instanceType":"t3.small","INSTANCETYPE":"m7g.large"}`}, "box", "differ only in case"},
		{"number as a string", map[string]string{"box": `{"dataVolumeGb":"30"}`}, "box.dataVolumeGb", "must be a JSON number such as 8 (no quotes), not a string"},
		{"fraction in an object", map[string]string{"web": `{"desired":2.5}`}, "web.desired", "must be a whole number (1 to 100)"},
		{"garbage after a list", map[string]string{"adminCidrs": `["203.0.113.7/32"] x`}, "adminCidrs", "more after the JSON value"},
		{"null list", map[string]string{"adminCidrs": `null`}, "adminCidrs", "not null"},
		{"number in the list", map[string]string{"adminCidrs": `[22]`}, "adminCidrs[0]", "must be a string"},
		// Set is not unset: an explicit zero or empty value is judged, never the default.
		{"zero azs", map[string]string{"azCount": "0"}, "azCount", "use 1 to 3"},
		{"zero data volume", map[string]string{"box": `{"dataVolumeGb":0}`}, "box.dataVolumeGb", "use 8 to 16384"},
		{"zero log retention", map[string]string{"logRetentionDays": "0"}, "logRetentionDays", "use one of 1, 3, 5"},
		{"backups off", map[string]string{"db": `{"backupRetentionDays":0}`}, "db.backupRetentionDays", "use 7 to 35 (RDS also accepts 0 (automated backups and point-in-time recovery off)"},
		{"zero max servers", map[string]string{"web": `{"min":2,"max":0,"desired":2}`}, "web.max", "use 1 to 100"},
		{"empty environment", map[string]string{"environment": ""}, "environment", "an empty value is not a setting"},
		{"blank vpc", map[string]string{"vpcCidr": "  "}, "vpcCidr", "an empty value is not a setting"},
		{"empty instance type", map[string]string{"box": `{"instanceType":""}`}, "box.instanceType", "an empty value is not a setting"},
		{"empty region", map[string]string{"aws:region": ""}, "aws:region", "an empty value is not a setting"},
		// SSH judged by the addresses it covers.
		{"two halves of the internet", map[string]string{"adminCidrs": `["0.0.0.0/1","128.0.0.0/1"]`}, "adminCidrs", "together they open SSH to 4294967296 IPv4 addresses; the allow-list covers at most 1024"},
		{"a /21", map[string]string{"adminCidrs": `["198.51.96.0/21"]`}, "adminCidrs", "open SSH to 2048 IPv4 addresses"},
		{"five /24s", map[string]string{"adminCidrs": `["198.51.100.0/24","203.0.113.0/24","192.0.2.0/24","198.18.0.0/24","198.19.0.0/24"]`}, "adminCidrs", "open SSH to 1280 IPv4 addresses"},
		{"ipv6 halves", map[string]string{"adminCidrs": `["::/1","8000::/1"]`}, "adminCidrs", "IPv6 addresses; the allow-list covers at most a /56's worth"},
		// Real sets.
		{"unknown region", map[string]string{"aws:region": "us-east-9"}, "aws:region", "is not an AWS region; did you mean us-east-1?"},
		{"fake region", map[string]string{"aws:region": "xx-fake-1"}, "aws:region", "is not an AWS region; use a region code such as us-east-1"},
		{"unknown family", map[string]string{"box": `{"instanceType":"zz9.large"}`}, "box.instanceType", "zz9 is not an EC2 instance family"},
		{"unknown tier family", map[string]string{"web": `{"instanceType":"q7.large"}`}, "web.instanceType", "q7 is not an EC2 instance family"},
		{"rds class of another engine", map[string]string{"db": `{"instanceClass":"db.zz9.large"}`}, "db.instanceClass", "RDS for MySQL instance class"},
		{"patch version", map[string]string{"db": `{"engineVersion":"8.0.35"}`}, "db.engineVersion", "give major.minor only: 8.0"},
		{"domain of 259 characters", map[string]string{"domain": domain259, "hostedZoneId": "Z0123456789ABC"}, "domain", "a DNS name has at most 253"},
		{"label of 64", map[string]string{"domain": strings.Repeat("b", 64) + ".com", "hostedZoneId": "Z0123456789ABC"}, "domain", "a DNS label has at most 63"},
		{"domain too long for a certificate", map[string]string{"domain": strings.Repeat("c", 60) + ".example.com", "hostedZoneId": "Z0123456789ABC"}, "domain", "ACM limits to 64"},
		{"trailing dot", map[string]string{"domain": "example.com.", "hostedZoneId": "Z0123456789ABC"}, "domain", "drop the trailing dot: write example.com"},
		{"email with a control character", map[string]string{"alarmEmail": "ops\x1b[31m@example.com"}, "alarmEmail", "control character U+001B"},
		{"email with an escape", map[string]string{"alarmEmail": `ops\n@example.com`}, "alarmEmail", "no spaces, quotes, backslashes or escapes"},
		{"email with a space", map[string]string{"alarmEmail": "ops team@example.com"}, "alarmEmail", "no spaces"},
		{"email with a bad domain", map[string]string{"alarmEmail": "ops@example..com"}, "alarmEmail", "its domain example..com has an empty label"},
		{"email without a dot domain", map[string]string{"alarmEmail": "ops@localhost"}, "alarmEmail", "full DNS name"},
		{"password with a tab", map[string]string{"dbPassword": "correct-horse\tbattery-staple"}, "dbPassword", "control character U+0009"},
		{"password not ascii", map[string]string{"dbPassword": "correct-horse-bättery-staple"}, "dbPassword", "non-ASCII character U+00E4"},
		{"password with a slash", map[string]string{"dbPassword": "correct/horse-battery-staple"}, "dbPassword", `'/'`},
		{"password too long", map[string]string{"dbPassword": strings.Repeat("x", 42)}, "dbPassword", "it has 42 characters"},
		// RDS storage autoscaling.
		{"ceiling under 1.1x", map[string]string{"db": `{"allocatedStorageGb":100,"maxAllocatedStorageGb":105}`}, "db.maxAllocatedStorageGb", "use at least 110, 1.1 x allocatedStorageGb (100): RDS refuses a lower autoscaling ceiling"},
		{"ceiling equal to allocation", map[string]string{"db": `{"allocatedStorageGb":500,"maxAllocatedStorageGb":500}`}, "db.maxAllocatedStorageGb", "or 0 to turn storage autoscaling off"},
		{"ceiling over gp3's limit", map[string]string{"db": `{"maxAllocatedStorageGb":70000}`}, "db.maxAllocatedStorageGb", "use 0 to 65536"},
		// Clear messages.
		{"integer overflow", map[string]string{"azCount": "99999999999999999999"}, "azCount", "is too big for any setting: use 1 to 3"},
		{"integer overflow in an object", map[string]string{"box": `{"dataVolumeGb":99999999999999999999}`}, "box.dataVolumeGb", "is too big for any setting: use 8 to 16384"},
		{"big but whole", map[string]string{"logRetentionDays": "99999999999"}, "logRetentionDays", "use one of 1, 3"},
		{"cyrillic e in prod", map[string]string{"environment": "pr\u043ed"}, "environment", "U+043E"},
		{"cyrillic e in the stage", map[string]string{"stage": "us\u0435rs+"}, "stage", `contains U+0435 ('е') at character 3, which looks like 'e' but is not ASCII`},
		{"fullwidth in nat", map[string]string{"natStrategy": "singl\uff45"}, "natStrategy", "U+FF45"},
		{"idn domain", map[string]string{"domain": "b\u00fccher.example", "hostedZoneId": "Z0123456789ABC"}, "domain", "xn-- form"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := tc.refused(t); tc.key == "dbPassword" {
				assert.NotContains(t, msg, "horse", "a secret is never echoed")
			}
		})
	}
}

// TestGoodValues: what the stricter reading must still accept.
func TestGoodValues(t *testing.T) {
	for name, kv := range map[string]map[string]string{
		"spaces around a cidr are trimmed":   {"adminCidrs": `[" 203.0.113.7/32 "]`},
		"a /24, a /32 and ipv6 /64 allowed":  {"adminCidrs": `["198.51.100.0/24","203.0.113.7/32","2001:db8::/64"]`},
		"a /22 is the most":                  {"adminCidrs": `["198.51.100.0/22"]`},
		"new regions":                        {"aws:region": "ap-southeast-7"},
		"mexico":                             {"aws:region": "mx-central-1"},
		"graviton4 box":                      {"box": `{"instanceType":"m8g.xlarge","dataVolumeGb":100}`},
		"flex and metal sizes":               {"web": `{"instanceType":"m7i-flex.large"}`, "readApi": `{"instanceType":"c7i.metal-24xl"}`, "writeApi": `{"instanceType":"c7i.large"}`},
		"autoscaling off":                    {"db": `{"allocatedStorageGb":500,"maxAllocatedStorageGb":0}`},
		"ceiling at 1.1x":                    {"db": `{"allocatedStorageGb":100,"maxAllocatedStorageGb":110}`},
		"mysql 8.4 on graviton3":             {"db": `{"engineVersion":"8.4","instanceClass":"db.r7g.large"}`},
		"plus-addressed email":               {"alarmEmail": "ops+alarms@example.co.uk"},
		"an optional key set empty is none":  {"domain": "", "alarmEmail": "", "hostedZoneId": ""},
		"an empty object takes the defaults": {"db": `{}`, "box": ` { } `},
		"a long but fine domain":             {"domain": strings.Repeat("d", 52) + ".example.com", "hostedZoneId": "Z0123456789ABC"},
		"password of 41":                     {"dbPassword": strings.Repeat("Ab1!", 10) + "x"},
		"stage alias in capitals":            {"stage": " S0 "},
		"aws provider keys":                  {"aws:profile": "ops", "aws:defaultTags": `{"tags":{"a":"b"}}`, "pulumi:tags": `{"x":"y"}`},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(src(kv))
			require.NoError(t, err)
			assert.Empty(t, c.Warnings)
		})
	}
	c, err := Load(src(map[string]string{"adminCidrs": `[" 203.0.113.7/32 "]`}))
	require.NoError(t, err)
	assert.Equal(t, []string{"203.0.113.7/32"}, c.AdminCidrs, "components get the trimmed CIDR")
}

// TestDefaultsOnlyWhenUnset: a default fills a key that is not set, and derived defaults
// follow the keys that are.
func TestDefaultsOnlyWhenUnset(t *testing.T) {
	c, err := Load(src(nil))
	require.NoError(t, err)
	assert.Equal(t, 20, c.DB.AllocatedStorageGb)
	assert.Equal(t, 100, c.DB.MaxAllocatedStorageGb, "5 x 20")
	assert.Equal(t, Box{InstanceType: "t3.small", DataVolumeGb: 20}, c.Box)

	c, err = Load(src(map[string]string{"db": `{"allocatedStorageGb":200}`}))
	require.NoError(t, err)
	assert.Equal(t, 1000, c.DB.MaxAllocatedStorageGb, "the ceiling follows the allocation (the old default, 200, was refused by RDS)")
	c, err = Load(src(map[string]string{"db": `{"allocatedStorageGb":20000}`}))
	require.NoError(t, err)
	assert.Equal(t, MaxStorageGb, c.DB.MaxAllocatedStorageGb, "capped at gp3's limit")
	c, err = Load(src(map[string]string{"db": `{"allocatedStorageGb":60000}`}))
	require.NoError(t, err)
	assert.Zero(t, c.DB.MaxAllocatedStorageGb, "no room left to grow: autoscaling off, not a ceiling RDS refuses")
	assert.Equal(t, 22000, MinStorageCeiling(20000))
	assert.Equal(t, 101, MinStorageCeiling(91), "1.1 x 91 = 100.1, rounded up")

	c, err = Load(src(map[string]string{"web": `{"max":1}`, "readApi": `{"desired":4}`, "writeApi": `{"min":3}`}))
	require.NoError(t, err)
	assert.Equal(t, Tier{InstanceType: "t3.small", Min: 1, Max: 1, Desired: 1, CPUTargetPercent: 60}, c.Web, "desired follows a lower max")
	assert.Equal(t, Tier{InstanceType: "t3.small", Min: 4, Max: 4, Desired: 4, CPUTargetPercent: 60}, c.ReadAPI)
	assert.Equal(t, Tier{InstanceType: "t3.small", Min: 3, Max: 3, Desired: 3, CPUTargetPercent: 60}, c.WriteAPI)
}

func TestWarnings(t *testing.T) {
	c, err := Load(src(map[string]string{"aws:regoin": "eu-west-1", "aws:profile": "ops"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"config aws:regoin is not a setting of the aws provider and is ignored; did you mean aws:region?"}, c.Warnings)

	c, err = Load(src(map[string]string{"scaling-asw:azCount": "3", "random:seed": "1"}))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"config random:seed is in namespace random, which nothing in this program reads; it is ignored",
		"config scaling-asw:azCount is in namespace scaling-asw, which nothing in this program reads; did you mean scaling-aws:azCount?",
	}, c.Warnings)

	// The region missing because it is misspelled: the error says so, not only a warning.
	_, err = Load(MapSource(map[string]string{"aws:regoin": "eu-west-1"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config aws:region = \"\" is invalid: set it: pulumi config set aws:region us-east-1 (aws:regoin is set: did you mean aws:region?)")
}

// TestUndecrypted: offline, a secure value is a placeholder; it is not judged, and the
// warning says why.
func TestUndecrypted(t *testing.T) {
	s := src(map[string]string{"dbPassword": "[secret]", "db": `{"instanceClass":"[secret]"}`, "alarmEmail": "[secret]"})
	s.Undecrypted = []string{"scaling-aws:dbPassword", "scaling-aws:db", "scaling-aws:alarmEmail"}
	c, err := Load(s)
	require.NoError(t, err)
	assert.Equal(t, "[secret]", c.DBPassword, "the placeholder stands in")
	assert.Equal(t, "db.t4g.micro", c.DB.InstanceClass, "an object's defaults stand in")
	require.Len(t, c.Warnings, 3)
	assert.Contains(t, c.Warnings[0], "config scaling-aws:alarmEmail holds a secure value this run cannot decrypt: it is used as a placeholder and not checked")
	assert.Contains(t, c.Warnings[0], "-config scaling-aws:alarmEmail=<value>")

	_, err = Load(src(map[string]string{"dbPassword": "[secret]"}))
	require.Error(t, err, "without the notice the placeholder is judged as a value")
}

func TestSecretUnknownKeyNotEchoed(t *testing.T) {
	s := src(map[string]string{"dbPasword": "hunter2-hunter2-hunter2"})
	s.SecretKeys = append(s.SecretKeys, "scaling-aws:dbPasword")
	_, err := Load(s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did you mean dbPassword?")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestCIDRCoverage(t *testing.T) {
	p := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	v4, v6 := CIDRCoverage(p("0.0.0.0/1", "128.0.0.0/1"))
	assert.Equal(t, "4294967296", v4.String())
	assert.Equal(t, "0", v6.String())
	v4, _ = CIDRCoverage(p("203.0.113.0/24", "203.0.113.7/32", "198.51.100.1/32"))
	assert.Equal(t, "257", v4.String(), "a prefix inside another counts once")
	_, v6 = CIDRCoverage(p("2001:db8::/56"))
	assert.Equal(t, MaxAdminIPv6, v6.String())
}

func TestStrictDecoder(t *testing.T) {
	v, err := decodeStrict(` {"a":{"b":[1,"x",null,true]}} `)
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"b":[1,"x",null,true]}}`, jsonText(v))
	for in, want := range map[string]string{
		`{"a":1`:                   "ends too early",
		`{"a":1,}`:                 "not valid JSON at character",
		`{"a":{"b":1,"B":2}}`:      "differ only in case",
		`[1] [2]`:                  "more after the JSON value",
		``:                         "empty",
		`{"a":1} // comment`:       "more after the JSON value",
		"{\"a\":\"x\"}\n{\"b\":1}": "more after",
	} {
		_, err := decodeStrict(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

// TestTableCoversTheProject: every key Pulumi.yaml declares is a setting of the table, and
// every family of the EC2 table has an architecture Arch agrees with.
func TestTableCoversTheProject(t *testing.T) {
	data, err := os.ReadFile("../Pulumi.yaml")
	require.NoError(t, err)
	var project struct {
		Config map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &project))
	require.NotEmpty(t, project.Config)
	for k := range project.Config {
		assert.Contains(t, topNames(), k, "Pulumi.yaml declares %s", k)
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, k := range topNames() {
		assert.Contains(t, string(readme), "`"+k+"`", "README's config reference documents %s", k)
	}
	for family, arch := range ec2Families {
		assert.Contains(t, []string{"amd64", "arm64"}, arch, family)
		assert.Equal(t, arch, Arch(family+".large"), family)
	}
	for _, f := range fields {
		n := 0
		for _, b := range []bool{f.str != nil, f.num != nil, f.list != nil, f.flag != nil, f.parse != nil} {
			if b {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s binds exactly one field", f.key)
	}
}

// FuzzDecodeStrict: the strict reader never panics, accepts only valid JSON, and agrees
// with encoding/json on the value whenever it accepts.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1} x`, `[1,2]`, `null`, `{"a":{"A":1}}`, `"x"`, `{"a":1,"a":2}`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := decodeStrict(s)
		if err != nil {
			return
		}
		require.True(t, json.Valid([]byte(s)), "accepted invalid JSON %q", s)
		var std any
		require.NoError(t, json.Unmarshal([]byte(jsonQuoted(v)), &std), "re-encodes %q", s)
	})
}
