package stages

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
)

// usersPlus3 is stage 3, "Users+++": users++ unchanged under the same names, plus
//   - a memory cache (ElastiCache for Valkey, Multi-AZ with a replica) in the cache-tier
//     subnets, holding the sessions (so web and app servers keep no state and any of them
//     can be replaced at any time) and the hot posts (cache-aside: the read API reads the
//     cache, then a replica, then the primary; the write API writes the primary and
//     invalidates the cache);
//   - MySQL read replicas (config db.replicas) that the read-API servers balance over, every
//     address given to them (DB_REPLICAS) with lag ejection, and one private DNS name
//     over all of them for other clients; the write API never reads a replica;
//   - an explicit InnoDB buffer pool (db.bufferPoolPercent), the seed's first remedy;
//   - more web and app servers (config defaults; groups still of fixed size).
//
// Every endpoint and token reaches the app from the stack at boot: addresses in the
// environment of the boot script, the cache's AUTH token and the database password read
// from Secrets Manager by the app with its instance role (never in user data).
//
// The seed: "our Benchmarks/Load Tests and Profiling show that we are read-heavy (100:1
// with writes) and our database is suffering from poor performance from the high read
// requests."
func usersPlus3(b *builder) error {
	return tiered(b, &stageExtras{tiers: []components.Tier{components.TierCache}, data: cacheAndReplicas})
}

// cacheAndReplicas builds the cache and the reader name, and says what each API role gets.
func cacheAndReplicas(b *builder, net *components.Network, alarms *components.Alarms, db *components.Database) (*dataTier, error) {
	cache, err := b.cache(net, alarms)
	if err != nil {
		return nil, err
	}
	replicas := b.cfg.DB.Replicas
	if replicas > 0 {
		targets := make([]pulumi.StringInput, replicas)
		for i := range targets {
			targets[i] = db.ReplicaAddresses.Index(pulumi.Int(i))
		}
		reader, err := components.NewReaderName(b.ctx, nameReader, &components.ReaderNameArgs{
			Network: net, Targets: targets, Protect: b.cfg.Protect(),
		})
		if err != nil {
			return nil, err
		}
		b.outputs["dbReaderName"] = pulumi.String(reader.FQDN)
		b.outputs["dbReplicaAddresses"] = db.ReplicaAddresses
	}
	return &dataTier{
		cache: cache,
		env: func(role string) map[string]pulumi.StringInput {
			return appCacheEnv(role, cache, db, replicas, b.cfg.Cache.Replicas)
		},
		link: func(read, write *components.ServerGroup) error {
			for _, err := range []error{
				cache.AllowFrom("read-api", read.SecurityGroup),
				cache.AllowFrom("write-api", write.SecurityGroup),
				cache.GrantReadSecret(read.Role),
				cache.GrantReadSecret(write.Role),
			} {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

// replicaMaxLag is how far behind the primary a replica may fall before the read API stops
// reading from it (DB_REPLICA_MAX_LAG): half the replica-lag alarm's 60 s, so the app ejects
// a lagging replica before anyone is paged for it.
const replicaMaxLag = "30s"

// appCacheEnv is the environment users+++ adds to an API server of role "read" or "write":
// the cache over TLS with its token's secret, and, for the read API only, every database
// replica and, when the cache has replicas, its reader endpoint: the post cache's GETs
// spread over the cache's replicas, so they scale with cache.replicas while the primary
// node serves the writes (Redis runs commands on one thread: a bigger node would not add
// reads; internal/capacity, docs/benchmarks.md "Capacity figures").
func appCacheEnv(role string, cache *components.Cache, db *components.Database, replicas, cacheReplicas int) map[string]pulumi.StringInput {
	env := map[string]pulumi.StringInput{
		"REDIS_ADDR": pulumi.Sprintf("%s:%d", cache.PrimaryAddress, cache.Port),
		// ElastiCache's certificate is public (Amazon's CA): the app verifies it with the
		// system roots and the endpoint's name (REDIS_TLS, app/redis).
		"REDIS_TLS":             pulumi.String("true"),
		"REDIS_AUTH_SECRET_ARN": cache.SecretArn,
	}
	if role == "read" && cacheReplicas > 0 {
		env["REDIS_READ_ADDR"] = pulumi.Sprintf("%s:%d", cache.ReaderAddress, cache.Port)
	}
	if role == "read" && replicas > 0 {
		env["DB_REPLICAS"] = db.ReplicaAddresses.ApplyT(func(addrs []string) string {
			return strings.Join(addrs, ",")
		}).(pulumi.StringOutput)
		env["DB_REPLICA_MAX_LAG"] = pulumi.String(replicaMaxLag)
	}
	return env
}
