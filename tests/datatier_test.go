package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/app/dynamo"
	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

const (
	tTable     = "aws:dynamodb/table:Table"
	tNamespace = "aws:redshiftserverless/namespace:Namespace"
	tWorkgroup = "aws:redshiftserverless/workgroup:Workgroup"
)

// withDB returns extra with the stack's db object (from Pulumi.<env>.yaml) merged with
// fields, as `pulumi config set --path scaling-aws:db.<field>` would leave it.
func withDB(t *testing.T, env string, extra map[string]string, fields map[string]any) map[string]string {
	t.Helper()
	kv, _, err := offline.LoadStackConfig(root, env)
	require.NoError(t, err)
	db := map[string]any{}
	if v := kv["scaling-aws:db"]; v != "" {
		require.NoError(t, json.Unmarshal([]byte(v), &db))
	}
	for k, v := range fields {
		db[k] = v
	}
	b, err := json.Marshal(db)
	require.NoError(t, err)
	out := map[string]string{"scaling-aws:db": string(b)}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// scaledOut is users+++++ with three shards and a federated identity database.
func scaledOut(t *testing.T, env string) map[string]string {
	return withDB(t, env, map[string]string{"scaling-aws:identityDb": `{"instanceClass": "db.t4g.small", "replicas": 1, "serve": true}`}, map[string]any{"shards": 3})
}

// TestScalingOutKeepsState: adding shards and the identity database to a live users+++++
// stack creates them and touches no existing database, bucket, cache, queue or table:
// every stateful resource keeps its URN and its replacement-forcing inputs.
func TestScalingOutKeepsState(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		a, b := evaluate(t, env, config.UsersPlus5, nil), evaluate(t, env, config.UsersPlus5, scaledOut(t, env))
		for _, r := range a.g.Resources {
			if diff.Stateful(r) {
				require.NotNil(t, b.g.ByURN(r.URN), "%s %s is dropped", env, r.URN)
			}
		}
		created := map[string]bool{}
		for _, c := range diff.Compare(a.g, b.g) {
			r := c.Resource
			switch c.Kind {
			case diff.Replace, diff.Delete:
				t.Errorf("%s: %s is %v when scaling out (%v)", env, r.URN, c.Kind, c.Keys)
			case diff.Create:
				created[r.Name] = true
			case diff.Update:
				if diff.Stateful(r) {
					t.Errorf("%s: stateful %s changes when scaling out (%v)", env, r.URN, c.Keys)
				}
			}
		}
		for _, name := range []string{"db-shard-1", "db-shard-2", "db-identity", "db-shard-1-replica-1", "db-identity-replica-1"} {
			assert.True(t, created[name], "%s: %s is created", env, name)
		}
		// Adding a shard never moves another one: shard 1 is the same at 2 and 3 shards.
		two := evaluate(t, env, config.UsersPlus5, withDB(t, env, nil, map[string]any{"shards": 2}))
		for _, c := range diff.Compare(two.g, b.g) {
			if strings.HasPrefix(c.Resource.Name, "db-shard-1") && (c.Kind == diff.Replace || c.Kind == diff.Delete || diff.Stateful(c.Resource)) {
				t.Errorf("%s: %s is %v when a third shard is added (%v)", env, c.Resource.URN, c.Kind, c.Keys)
			}
		}
	}
}

// TestShardsAndIdentityReachTheApp: every server that touches content or users (read API,
// write API, workers) gets each shard's and the identity database's address, port and
// secret (the read API their replicas too), may read those secrets, and is let through
// their security groups; with one shard and no identity database nothing is added.
func TestShardsAndIdentityReachTheApp(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus5, scaledOut(t, env))
		for _, tier := range []string{"read-api", "write-api", "worker"} {
			ud := launchScript(t, s, tier)
			for _, want := range []string{"DB_SHARD_COUNT=3", "DB_SHARD_1_HOST=", "DB_SHARD_2_HOST=", "DB_SHARD_2_PASSWORD_SECRET_ARN=", "IDENTITY_DB_HOST=", "IDENTITY_DB_PASSWORD_SECRET_ARN="} {
				assert.Contains(t, ud, "\n"+want, "%s %s", env, tier)
			}
			assert.Equal(t, tier == "read-api", strings.Contains(ud, "\nDB_SHARD_1_REPLICAS="), "%s %s: only the read API reads shard replicas", env, tier)
			for _, db := range []string{"db-shard-1", "db-shard-2", "db-identity"} {
				assert.True(t, readsSecretOf(s, tier, db), "%s %s reads %s's secret", env, tier, db)
			}
		}
		// Each extra database's group admits the three tiers on 3306 and nothing else.
		for _, db := range []string{"db-shard-1", "db-shard-2", "db-identity"} {
			assert.ElementsMatch(t, []string{"read-api-sg 3306", "write-api-sg 3306", "worker-sg 3306"}, ingressSources(s, db+"-sg"), "%s: who reaches %s", env, db)
		}
		// Before identityDb.serve the database is reachable and granted, for the copy, but
		// no server is told to use it.
		unserved := evaluate(t, env, config.UsersPlus5, withDB(t, env, map[string]string{"scaling-aws:identityDb": `{"instanceClass": "db.t4g.small"}`}, nil))
		for _, tier := range []string{"read-api", "write-api", "worker"} {
			assert.NotContains(t, launchScript(t, unserved, tier), "IDENTITY_DB_", "%s %s: not served yet", env, tier)
			assert.True(t, readsSecretOf(unserved, tier, "db-identity"), "%s %s may read the identity secret for the copy", env, tier)
		}
		assert.NotEmpty(t, unserved.g.Outputs["identityDbSecretArn"], "the copy's operator finds the secret")
		one := evaluate(t, env, config.UsersPlus5, nil)
		for _, tier := range []string{"read-api", "write-api", "worker"} {
			assert.NotContains(t, launchScript(t, one, tier), "DB_SHARD_", "%s %s: one shard adds nothing", env, tier)
			assert.NotContains(t, launchScript(t, one, tier), "IDENTITY_DB_", "%s %s", env, tier)
			assert.False(t, readsSecretOf(one, tier, "db-shard-1"), "%s %s", env, tier)
		}
	}
}

// TestCountersTable: the view counters' table is on demand with point-in-time recovery, TTL
// on expires_at, the stack's key and deletion protection in prod; only the read API may use
// it (update and read items, nothing else), over the DynamoDB gateway endpoint.
func TestCountersTable(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus5, nil)
		tbl := s.one(t, tTable)
		assert.Equal(t, "PAY_PER_REQUEST", tbl.String("billingMode"))
		// The key schema and TTL attribute are the app's contract (app/dynamo).
		assert.Equal(t, dynamo.AttrPK, tbl.String("hashKey"))
		assert.Equal(t, dynamo.AttrSK, tbl.String("rangeKey"))
		assert.Equal(t, dynamo.AttrExpiresAt, tbl.String("ttl.attributeName"))
		assert.True(t, tbl.Bool("ttl.enabled"))
		assert.True(t, tbl.Bool("pointInTimeRecovery.enabled"))
		assert.Equal(t, env == "prod", tbl.Bool("deletionProtectionEnabled"), env)
		assert.Equal(t, env == "prod", tbl.String("serverSideEncryption.kmsKeyArn") != "", "%s: the stack's key in prod", env)
		assert.True(t, tbl.RetainOnDelete, "a dropped table stays in AWS")
		assert.Equal(t, env == "prod", tbl.Protect, env)

		read := grantsOf(t, s.g, "read-api")
		for _, a := range []string{"dynamodb:UpdateItem", "dynamodb:GetItem"} {
			assert.Len(t, read[a], 1, "%s: %s on the table only", env, a)
		}
		for a := range read {
			assert.False(t, strings.HasPrefix(a, "dynamodb:") && !strings.Contains("dynamodb:UpdateItem dynamodb:GetItem", a), "%s: the read API may %s", env, a)
		}
		for _, tier := range []string{"web", "write-api", "worker"} {
			for a := range grantsOf(t, s.g, tier) {
				assert.False(t, strings.HasPrefix(a, "dynamodb:"), "%s: %s may %s", env, tier, a)
			}
		}
		assert.Contains(t, launchScript(t, s, "read-api"), "\nDYNAMO_TABLE=", env)
		assert.NotContains(t, launchScript(t, s, "write-api"), "DYNAMO_TABLE", env)
		ep := false
		for _, r := range s.g.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
			ep = ep || (r.String("vpcEndpointType") == "Gateway" && strings.HasSuffix(r.String("serviceName"), ".dynamodb"))
		}
		assert.True(t, ep, "%s: a DynamoDB gateway endpoint", env)
	}
}

// TestWarehouse: where the network spans three AZs (prod, or dev with azCount 3) the
// warehouse exists, passes RS-2 and AWS-8, and the workers get its workgroup, database and
// COPY role with their daily archive timer; with two AZs (dev's default) there is none and
// the archive pass writes to the object store only; asking for it with two AZs is a config
// error that names the fix.
func TestWarehouse(t *testing.T) {
	cases := []struct {
		env   string
		extra map[string]string
		want  bool
	}{
		{"prod", nil, true},
		{"dev", map[string]string{"scaling-aws:azCount": "3"}, true},
		{"dev", nil, false},
	}
	for _, c := range cases {
		s := evaluate(t, c.env, config.UsersPlus5, c.extra)
		name := fmt.Sprintf("%s %v", c.env, c.extra)
		worker := launchScript(t, s, "worker")
		assert.Contains(t, worker, "\nARCHIVE_BUCKET=", name)
		assert.Contains(t, worker, "\nARCHIVE_PREFIX=archive/", name)
		assert.Contains(t, worker, "\nRETENTION_DAYS=90", name)
		assert.Contains(t, worker, "ExecStart=/opt/scaling-app/scaling-app -role archive", name)
		assert.Contains(t, worker, "OnCalendar=*-*-* 03:30:00 UTC", name)
		assert.Contains(t, worker, "systemctl enable --now scaling-archive.timer", name)
		if !c.want {
			assert.Empty(t, s.g.ByType(tWorkgroup), name)
			assert.NotContains(t, worker, "WAREHOUSE_", name)
			continue
		}
		ns, wg := s.one(t, tNamespace), s.one(t, tWorkgroup)
		assert.NotEmpty(t, ns.String("kmsKeyId"), "%s: the stack's key, in every environment", name)
		assert.Equal(t, c.env == "prod", ns.Protect, name)
		assert.True(t, ns.RetainOnDelete && wg.RetainOnDelete, name)
		assert.Equal(t, 8.0, num(t, wg, "baseCapacity"))
		assert.Equal(t, 32.0, num(t, wg, "maxCapacity"))
		for _, want := range []string{"WAREHOUSE_WORKGROUP=", "WAREHOUSE_DATABASE=archive", "WAREHOUSE_COPY_ROLE_ARN="} {
			assert.Contains(t, worker, "\n"+want, name)
		}
		// The COPY role reads the archive prefix and nothing else.
		copyRole := grantsOf(t, s.g, "warehouse-copy")
		store := storeArn(t, s)
		assert.Equal(t, []string{store + "/archive/*"}, copyRole["s3:GetObject"], name)
		assert.Equal(t, []string{store}, copyRole["s3:ListBucket"], name)
		for a := range copyRole {
			assert.Contains(t, []string{"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}, a, "%s: the COPY role may %s", name, a)
		}
		// Nobody reaches the workgroup's port directly: the workers use the Data API.
		assert.Empty(t, ingressSources(s, "warehouse-sg"), name)
		force := []string{"RS-2", "AWS-8", "DDB-1", "DDB-2", "NET-6", "KMS-2"}
		rep := rules.Check(s.g, rules.Context{Environment: c.env, Stage: int(s.cfg.Stage), Force: force, Waivers: stages.Waivers(s.cfg)})
		for _, id := range force {
			res, ok := rep.Result(id)
			require.True(t, ok, id)
			if id == "KMS-2" && c.env != "prod" {
				continue // prod only
			}
			assert.True(t, res.Applied && res.Examined > 0, "%s: %s examined nothing", name, id)
			assert.Empty(t, res.Violations, "%s: %s", name, id)
		}
	}
	_, err := offline.Run(offline.RunOptions{Stack: "dev", Root: root, Config: func() map[string]string {
		kv, _ := stackConfig(t, "dev", config.UsersPlus5, map[string]string{"scaling-aws:warehouse": `{"enabled": true}`})
		return kv
	}()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scaling-aws:warehouse.enabled")
	assert.Contains(t, err.Error(), "set azCount 3")
}

// readsSecretOf reports whether tier's role has the inline grant on db's master secret
// (<db>-secret-read-<n>).
func readsSecretOf(s *stack, tier, db string) bool {
	role := s.g.ByName(tRole, tier)
	for _, p := range s.g.ByType(tRolePolicy) {
		if strings.HasPrefix(p.Name, db+"-secret-read-") && role != nil && dependsOn(p, role) {
			return true
		}
	}
	return false
}

// ingressSources lists a security group's ingress rules as "<peer group> <port>" (from a
// peer group) or "<rule> <port>" (from a CIDR or prefix list).
func ingressSources(s *stack, sg string) []string {
	var out []string
	for _, r := range s.g.ByType(tIngress) {
		rest, ok := strings.CutPrefix(r.Name, sg+"-from-")
		if !ok {
			rest, ok = strings.CutPrefix(r.Name, sg+"-in-")
		}
		if !ok {
			continue
		}
		port, _ := r.Number("fromPort")
		out = append(out, fmt.Sprintf("%s %g", strings.TrimSuffix(rest, fmt.Sprintf("-%g", port)), port))
	}
	return out
}

// launchScript is the boot script of a tier's launch template.
func launchScript(t *testing.T, s *stack, tier string) string {
	t.Helper()
	lt := s.g.ByName(tLT, tier)
	require.NotNil(t, lt, tier)
	return lt.Script("userData")
}

// TestArchiveUnreachableThroughTheCDN: the archive's files share the object store with what
// CloudFront serves, so the distribution's read grant names the prefixes it routes
// (static/, originals/, thumbs/), never the whole bucket: archive/ stays unreadable even
// through the distribution.
func TestArchiveUnreachableThroughTheCDN(t *testing.T) {
	s := evaluate(t, "prod", config.UsersPlus5, nil)
	policy := byName(t, s.g, tokBucketPolicy, "store")
	var doc struct {
		Statement []struct {
			Sid      string
			Resource any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(policy.String("policy")), &doc))
	var found bool
	for _, st := range doc.Statement {
		if st.Sid != "AllowCloudFrontRead" {
			continue
		}
		found = true
		list, ok := st.Resource.([]any)
		require.True(t, ok, "the read grant lists prefixes, got %v", st.Resource)
		for _, r := range list {
			arn := r.(string)
			assert.NotRegexp(t, `^arn:aws:s3:::[^/]+/\*$|/archive/`, arn, "CloudFront may read %s", arn)
		}
	}
	assert.True(t, found, "the store's policy has the CDN's read grant")
}

// TestCountersBilling: counters.billing provisioned makes the same table provisioned at the
// minimums, its capacity left to autoscaling (a target and a target-tracking policy per
// dimension, DDB-3), and switching either way is an update of the table in place, never a
// replacement, that touches no other stateful resource.
func TestCountersBilling(t *testing.T) {
	prov := map[string]string{"scaling-aws:counters": `{"billing": "provisioned", "minWrite": 50, "maxWrite": 30000, "targetPercent": 60}`}
	for _, env := range []string{"dev", "prod"} {
		onDemand, provisioned := evaluate(t, env, config.UsersPlus5, nil), evaluate(t, env, config.UsersPlus5, prov)
		tbl := provisioned.one(t, tTable)
		assert.Equal(t, "PROVISIONED", tbl.String("billingMode"), env)
		assert.Equal(t, 50.0, tbl.Inputs["writeCapacity"], env)
		assert.Equal(t, 5.0, tbl.Inputs["readCapacity"], env)
		assert.ElementsMatch(t, []string{"readCapacity", "writeCapacity"}, tbl.IgnoreChanges, "%s: a deploy never resets autoscaling's capacity", env)
		targets := provisioned.g.ByType("aws:appautoscaling/target:Target")
		require.Len(t, targets, 2, env)
		for _, tg := range targets {
			if tg.String("scalableDimension") == "dynamodb:table:WriteCapacityUnits" {
				assert.Equal(t, 30000.0, tg.Inputs["maxCapacity"], env)
			}
		}
		for _, p := range provisioned.g.ByType("aws:appautoscaling/policy:Policy") {
			v, _ := p.Lookup("targetTrackingScalingPolicyConfiguration.targetValue")
			assert.Equal(t, 60.0, v, env)
		}
		assert.Equal(t, config.CountersMaxUnits, components.MaxTableUnits, "config and the component bound capacity alike")
		rep := rules.Check(provisioned.g, rules.Context{Environment: env, Stage: int(config.UsersPlus5)})
		res, ok := rep.Result("DDB-3")
		require.True(t, ok)
		assert.True(t, res.Applied && !res.Failed(), "%s: %v", env, res.Violations)

		for _, move := range []struct {
			name     string
			from, to *stack
		}{{"to provisioned", onDemand, provisioned}, {"back to on demand", provisioned, onDemand}} {
			tableUpdated := false
			for _, c := range diff.Compare(move.from.g, move.to.g) {
				r := c.Resource
				if c.Kind == diff.Replace || (c.Kind == diff.Delete && diff.Stateful(r)) {
					t.Errorf("%s %s: %s is %v (%v)", env, move.name, r.URN, c.Kind, c.Keys)
				}
				if c.Kind == diff.Update && diff.Stateful(r) && r.Type != tTable {
					t.Errorf("%s %s: stateful %s changes (%v)", env, move.name, r.URN, c.Keys)
				}
				if r.Type == tTable {
					tableUpdated = c.Kind == diff.Update
					assert.Equal(t, diff.Update, c.Kind, "%s %s: the table is updated in place", env, move.name)
					assert.Contains(t, c.Keys, "billingMode", "%s %s", env, move.name)
				}
			}
			assert.True(t, tableUpdated, "%s %s: the switch shows as an update of the table", env, move.name)
		}
	}
}
