package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	drv "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// shardDBConfig is the driver configuration of content shard i (i >= 1):
// shard 0's (base: user, database name, TLS) at the shard's address, with
// the shard's credentials when its secret gave some.
func (c *Config) shardDBConfig(i int, base *drv.Config) *drv.Config {
	sh := c.DBShards[i]
	dc := base.Clone()
	dc.Addr = net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port))
	if sh.Password != "" {
		dc.Passwd = sh.Password
	}
	if sh.User != "" {
		dc.User = sh.User
	}
	return dc
}

// identityDBConfig is the identity database's driver configuration, as
// shardDBConfig.
func (c *Config) identityDBConfig(base *drv.Config) *drv.Config {
	id := c.IdentityDB
	dc := base.Clone()
	dc.Addr = net.JoinHostPort(id.Host, strconv.Itoa(id.Port))
	if id.Password != "" {
		dc.Passwd = id.Password
	}
	if id.User != "" {
		dc.User = id.User
	}
	return dc
}

// copyIdentityCmd runs -copy-identity and prints its report.
func copyIdentityCmd(ctx context.Context, c *Config, shard0, identity *mysql.DB, log *slog.Logger, stdout io.Writer) error {
	if c.IdentityDB.Host == "" {
		return fmt.Errorf("-copy-identity needs IDENTITY_DB_HOST (the identity database to copy users and sessions to)")
	}
	rep, err := mysql.CopyIdentity(ctx, shard0, identity, mysql.CopyOptions{Logger: log})
	if err != nil {
		return fmt.Errorf("-copy-identity: %w", err)
	}
	fmt.Fprintf(stdout, "identity database holds all %d users and %d unexpired sessions of shard 0 (%d users written this run)\n",
		rep.Users, rep.Sessions, rep.Copied)
	return nil
}

// migrateShards applies the shard schema on shards 1 and up.
func migrateShards(ctx context.Context, c *Config, base *drv.Config, log *slog.Logger) error {
	for i := 1; i < len(c.DBShards); i++ {
		if err := mysql.MigrateShard(ctx, c.shardDBConfig(i, base), log); err != nil {
			return fmt.Errorf("shard %d (DB_SHARD_%d_HOST=%s): %w", i, i, c.DBShards[i].Host, err)
		}
	}
	return nil
}

// openShards opens every shard and, with more than one, the router over
// them. With one shard it returns only shard 0, exactly the database of the
// earlier stages (no map, no new query). Metrics of each shard carry a
// shard label when there are several.
func openShards(ctx context.Context, c *Config, base *drv.Config, o mysql.Options) (
	shards []*mysql.DB, router *mysql.Sharded, closeAll func(), err error) {
	reg := o.Registerer
	closeAll = func() {
		if router != nil {
			router.Close()
		}
		for _, db := range shards {
			db.Close()
		}
	}
	for i := range c.DBShards {
		oi := o
		if len(c.DBShards) > 1 && reg != nil {
			oi.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"shard": strconv.Itoa(i)}, reg)
		}
		var db *mysql.DB
		if i == 0 {
			db, err = mysql.Open(ctx, base, c.DBShards[0].Replicas, oi)
		} else {
			db, err = mysql.OpenShard(ctx, c.shardDBConfig(i, base), c.DBShards[i].Replicas, oi)
		}
		if err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("open shard %d: %w", i, err)
		}
		shards = append(shards, db)
	}
	if len(shards) > 1 {
		router, err = mysql.NewSharded(ctx, shards, mysql.ShardOptions{MapRefresh: c.DBShardMapRefresh, Logger: o.Logger})
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
	}
	return shards, router, closeAll, nil
}

// moveBuckets runs -move-buckets FROM:TO:BUCKETS and prints its report.
func moveBuckets(ctx context.Context, spec string, router *mysql.Sharded, c *Config, log *slog.Logger, stdout io.Writer) error {
	from, to, buckets, err := parseMove(spec, len(c.DBShards))
	if err != nil {
		return err
	}
	if router == nil {
		return fmt.Errorf("-move-buckets needs DB_SHARD_COUNT of 2 or more, got %d", len(c.DBShards))
	}
	rep, err := router.MoveBuckets(ctx, from, to, buckets, mysql.MoveOptions{Wait: 3 * c.DBShardMapRefresh, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "moved %d buckets from shard %d to shard %d: %d users, %d rows copied, %d deleted from shard %d\n",
		len(rep.Buckets), from, to, rep.Users, rep.Copied, rep.Deleted, from)
	return nil
}

// parseMove reads FROM:TO:BUCKETS, e.g. 0:1:512-1023.
func parseMove(spec string, count int) (from, to int, buckets []int, err error) {
	parts := strings.SplitN(spec, ":", 3)
	bad := func(why string) error {
		return fmt.Errorf("-move-buckets %q: %s; expected FROM:TO:BUCKETS with shards below DB_SHARD_COUNT=%d, "+
			"e.g. 0:1:512-1023 or 0:2:3,5,7-9", spec, why, count)
	}
	if len(parts) != 3 {
		return 0, 0, nil, bad("not three fields")
	}
	if from, err = strconv.Atoi(parts[0]); err != nil || from < 0 || from >= count {
		return 0, 0, nil, bad("FROM is not a shard")
	}
	if to, err = strconv.Atoi(parts[1]); err != nil || to < 0 || to >= count || to == from {
		return 0, 0, nil, bad("TO is not another shard")
	}
	if buckets, err = mysql.ParseBuckets(parts[2]); err != nil {
		return 0, 0, nil, bad(err.Error())
	}
	return from, to, buckets, nil
}
