package tests

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

// bootEnv returns the app environment (KEY=value lines of /etc/scaling-app.env) a launch
// template's boot script writes.
func bootEnv(t *testing.T, s *stack, name string) map[string]string {
	t.Helper()
	lt := s.g.ByName("aws:ec2/launchTemplate:LaunchTemplate", name)
	require.NotNil(t, lt, name)
	ud, err := base64.StdEncoding.DecodeString(lt.String("userData"))
	require.NoError(t, err)
	text := string(ud)
	env := map[string]string{}
	start := strings.Index(text, "cat > /etc/scaling-app.env <<'ENV'\n")
	if start < 0 {
		return env
	}
	body := text[start+len("cat > /etc/scaling-app.env <<'ENV'\n"):]
	body = body[:strings.Index(body, "\nENV\n")]
	for _, line := range strings.Split(body, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestUsersPlus3ServersAreStateless: at users+++ every app server keeps its sessions in the
// cache (REDIS_ADDR set, so the app's session store is Redis, never local memory or its
// disk), reaches it over verified TLS with the token from Secrets Manager, and every
// endpoint comes from the stack; only the read API reads replicas, all of them.
func TestUsersPlus3ServersAreStateless(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus3, nil)
		cache := s.one(t, "aws:elasticache/replicationGroup:ReplicationGroup")
		primary := s.g.ByName("aws:rds/instance:Instance", "db")
		require.NotNil(t, primary)
		var replicas []string
		for _, r := range s.g.ByType("aws:rds/instance:Instance") {
			if r.String("replicateSourceDb") != "" {
				replicas = append(replicas, r.String("identifier"))
			}
		}
		require.Len(t, replicas, s.cfg.DB.Replicas, env)
		require.Equal(t, map[string]int{"dev": 1, "prod": 2}[env], len(replicas))

		for _, tier := range []string{"read-api", "write-api"} {
			e := bootEnv(t, s, tier)
			assert.True(t, strings.HasPrefix(e["REDIS_ADDR"], "master."+cache.String("replicationGroupId")+"."), "%s %s: sessions and posts in the cache: %q", env, tier, e["REDIS_ADDR"])
			assert.True(t, strings.HasSuffix(e["REDIS_ADDR"], ":6379"))
			assert.Equal(t, "true", e["REDIS_TLS"], "%s %s verifies the cache's certificate", env, tier)
			assert.Contains(t, e["REDIS_AUTH_SECRET_ARN"], ":secretsmanager:", "%s %s: the token from Secrets Manager", env, tier)
			assert.NotContains(t, e, "REDIS_PASSWORD", "no token in user data")
			assert.Contains(t, e["DB_HOST"], ".rds.amazonaws.com", "the primary from the stack")
			assert.Equal(t, "rds", e["DB_TLS"])
		}
		read, write := bootEnv(t, s, "read-api"), bootEnv(t, s, "write-api")
		got := strings.Split(read["DB_REPLICAS"], ",")
		require.Len(t, got, len(replicas), "%s: the read API gets every replica", env)
		for i, id := range replicas {
			assert.True(t, strings.HasPrefix(got[i], id+"."), "%s: replica %d address %s", env, i+1, got[i])
		}
		assert.Equal(t, "30s", read["DB_REPLICA_MAX_LAG"], "lagging replicas are ejected")
		assert.NotContains(t, write, "DB_REPLICAS", "%s: the write API never reads a replica", env)
		// The read API's cache GETs go to the reader endpoint (over the cache's replicas).
		assert.True(t, strings.HasPrefix(read["REDIS_READ_ADDR"], "replica."+cache.String("replicationGroupId")+"."), "%s: %q", env, read["REDIS_READ_ADDR"])
		assert.True(t, strings.HasSuffix(read["REDIS_READ_ADDR"], ":6379"))
		assert.NotContains(t, write, "REDIS_READ_ADDR", "%s: the write API reads what it writes from the primary", env)
		assert.Empty(t, bootEnv(t, s, "web"), "the web tier is nginx: no app, no sessions")

		// One reader name over the replicas for other clients.
		zone := s.one(t, "aws:route53/zone:Zone")
		assert.NotEmpty(t, zone.Inputs["vpcs"], "a private zone")
		assert.Len(t, s.g.ByType("aws:route53/record:Record")[0:len(replicas)], len(replicas))
		assert.Equal(t, "reader.db.scaling-aws.internal", s.g.Outputs["dbReaderName"])
	}
	// Before users+++ there is no cache: sessions live in MySQL, still not on the servers.
	e := bootEnv(t, evaluate(t, "dev", config.UsersPlus2, nil), "read-api")
	assert.NotContains(t, e, "REDIS_ADDR")
	assert.NotContains(t, e, "DB_REPLICAS")
	// A single-node cache (dev's SINGLE-NODE-CACHE exception) has no reader to spread over.
	e = bootEnv(t, evaluate(t, "dev", config.UsersPlus3, map[string]string{"scaling-aws:cache": `{"replicas": 0}`}), "read-api")
	assert.Contains(t, e, "REDIS_ADDR")
	assert.NotContains(t, e, "REDIS_READ_ADDR")
}

// TestUsersPlus3Sizes: more web and app servers, still fixed-size groups.
func TestUsersPlus3Sizes(t *testing.T) {
	for env, want := range map[string][]float64{"dev": {2, 3, 2}, "prod": {3, 4, 3}} {
		s := evaluate(t, env, config.UsersPlus3, nil)
		for i, name := range []string{"web", "read-api", "write-api"} {
			g := s.g.ByName("aws:autoscaling/group:Group", name)
			require.NotNil(t, g)
			for _, k := range []string{"minSize", "maxSize", "desiredCapacity"} {
				n, _ := g.Number(k)
				assert.Equal(t, want[i], n, "%s %s %s", env, name, k)
			}
		}
	}
}

// TestAddingReplicasNeverTouchesThePrimary: users++ -> users+++ leaves the primary, its
// parameter group and subnet group, the buckets and the network without any change, and
// only adds the cache, the replicas and the reader name.
func TestAddingReplicasNeverTouchesThePrimary(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		a, b := evaluate(t, env, config.UsersPlus2, nil), evaluate(t, env, config.UsersPlus3, nil)
		for _, c := range diff.Compare(a.g, b.g) {
			r := c.Resource
			switch r.Type {
			case "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
				"aws:s3/bucketV2:BucketV2", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:secretsmanager/secret:Secret":
				if r.Name == "db" || !strings.HasPrefix(r.Name, "db-replica") {
					assert.Equal(t, diff.Create, c.Kind, "%s %s: %s %v (only additions here)", env, r.URN, c.Kind, c.Keys)
				}
			}
		}
		// A second move with more replicas still leaves the primary and the first replica.
		more := evaluate(t, env, config.UsersPlus3, map[string]string{"scaling-aws:db": withKey(t, env, "scaling-aws:db", "replicas", 3)})
		for _, c := range diff.Compare(b.g, more.g) {
			if c.Resource.Type == "aws:rds/instance:Instance" {
				assert.Equal(t, diff.Create, c.Kind, "%s %s: %s %v", env, c.Resource.Name, c.Kind, c.Keys)
			}
		}
		assert.Len(t, more.g.ByType("aws:rds/instance:Instance"), 4)
	}
}

// TestSingleNodeCacheWaiver: a dev stack may run one cache node only through the named
// waiver; without it EC-3 fails, and the default (one replica) needs none.
func TestSingleNodeCacheWaiver(t *testing.T) {
	one := evaluate(t, "dev", config.UsersPlus3, map[string]string{"scaling-aws:cache": withKey(t, "dev", "scaling-aws:cache", "replicas", 0)})
	w := stages.Waivers(one.cfg)
	require.Contains(t, w, "EC-3")
	assert.Contains(t, w["EC-3"], stages.SingleNodeCache)
	rep := rules.Check(one.g, rules.Context{Environment: "dev", Stage: 3})
	res, _ := rep.Result("EC-3")
	assert.True(t, res.Failed(), "without the waiver one node fails EC-3")
	rep = rules.Check(one.g, rules.Context{Environment: "dev", Stage: 3, Waivers: w})
	assert.True(t, rep.OK(), "%s", rep)

	def := evaluate(t, "dev", config.UsersPlus3, prodDomain)
	assert.Empty(t, stages.Waivers(def.cfg), "the default cache needs no waiver")
	cache := def.one(t, "aws:elasticache/replicationGroup:ReplicationGroup")
	assert.True(t, cache.Bool("multiAzEnabled"))
	assert.True(t, cache.RetainOnDelete)

	prod := evaluate(t, "prod", config.UsersPlus3, nil).one(t, "aws:elasticache/replicationGroup:ReplicationGroup")
	assert.True(t, prod.Protect, "the cache is protected in prod")
}

// withKey returns the stack's config object key (JSON) with field set to value, so a test
// overrides one field and keeps the stack's others.
func withKey(t *testing.T, stackName, key, field string, value any) string {
	t.Helper()
	kv, _ := stackConfig(t, stackName, config.UsersPlus3, nil)
	obj := map[string]any{}
	if v, ok := kv[key]; ok {
		require.NoError(t, json.Unmarshal([]byte(v), &obj))
	}
	obj[field] = value
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	return string(b)
}
