package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scaling-aws/scaling-aws/app/archive"
	"github.com/scaling-aws/scaling-aws/app/sentry"
	"github.com/scaling-aws/scaling-aws/app/statsd"
)

// Config is the whole configuration, read once from the environment (the
// contract with the infrastructure; see docs/app.md) and validated.
type Config struct {
	Role     string // APP_ROLE: all | read | write | worker | archive
	Addr     string // APP_ADDR
	LogLevel string // APP_LOG_LEVEL: debug | info | warn | error

	DBHost, DBName, DBUser, DBPassword string
	DBPort                             int
	DBPasswordSecretARN                string
	DBReplicas                         []string
	DBTLS                              string // false | true | rds | skip-verify
	DBTLSCAFile                        string
	DBMaxOpenConns, DBMaxIdleConns     int
	DBMigrate                          bool
	DBReplicaMaxLag                    time.Duration
	// DBShards are the content shards (DB_SHARD_COUNT, 1 to 16): index 0 is
	// the database above (DB_HOST, ...), the others DB_SHARD_<i>_*. One
	// shard (the default) is the single database of every earlier stage.
	DBShards []DBShard
	// IdentityDB (IDENTITY_DB_*) is the identity database of federation:
	// users and sessions apart from the content. Host "" (the default):
	// they stay on shard 0, as before.
	IdentityDB DBShard
	// DBShardMapRefresh (DB_SHARD_MAP_REFRESH) is how often the bucket map
	// is read again from shard 0 when there are several shards.
	DBShardMapRefresh time.Duration

	RedisAddr, RedisPassword, RedisAuthSecretARN string
	// RedisReadAddr (REDIS_READ_ADDR) is the cache's reader endpoint: the post
	// cache's GETs go there, everything else to RedisAddr.
	RedisReadAddr           string
	RedisTLS                bool
	RedisPoolSize           int
	CacheTTL, CacheLocalTTL time.Duration

	S3Bucket, S3Endpoint, AWSRegion, CDNBaseURL string
	// Origins (APP_ORIGINS) are the site's public origins trusted for
	// browser writes besides the request's Host.
	Origins []string

	QueueBackend, QueueURL, QueueDLQURL, SQSEndpoint string
	QueueMaxAttempts                                 int
	WorkerConcurrency                                int

	SessionTTL      time.Duration
	SessionCacheTTL time.Duration
	StickyFor       time.Duration
	ShutdownTimeout time.Duration

	// SlowRequest (APP_SLOW_REQUEST) is the duration from which a
	// successful request is logged; negative: never.
	SlowRequest time.Duration
	// StatsDAddr (STATSD_ADDR) receives the in-flight requests gauge.
	StatsDAddr string
	// SentryDSN (SENTRY_DSN, or the string of the secret
	// SENTRY_DSN_SECRET_ARN) turns error reporting on.
	SentryDSN, SentryDSNSecretARN, SentryEnvironment string

	// The archive job (APP_ROLE=archive; docs/app.md, "The archive role").
	ArchiveBucket, ArchivePrefix                                string
	RetentionDays, ArchiveBatchRows                             int
	WarehouseWorkgroup, WarehouseDatabase, WarehouseCopyRoleARN string

	// DynamoTable (DYNAMO_TABLE) turns the per-post view counters on, on
	// the read API and the single box (Counting); DynamoEndpoint
	// (DYNAMO_ENDPOINT) replaces AWS's endpoint, for tests only.
	DynamoTable, DynamoEndpoint string
	// CounterFlushInterval (COUNTER_FLUSH_INTERVAL) is how often a server
	// writes its summed views.
	CounterFlushInterval time.Duration
}

// DBShard is one content shard's primary and replicas. User, database
// name and TLS are shard 0's (DB_USER, DB_NAME, DB_TLS).
type DBShard struct {
	Host              string   // DB_SHARD_<i>_HOST
	Port              int      // DB_SHARD_<i>_PORT, default DB_PORT
	Replicas          []string // DB_SHARD_<i>_REPLICAS, host[:port] comma-separated
	PasswordSecretARN string   // DB_SHARD_<i>_PASSWORD_SECRET_ARN; unset: DB_PASSWORD
	// User and Password are filled from the secret (resolveSecrets); unset
	// they are shard 0's.
	User, Password string
}

// Counting reports whether this server counts post views: only the roles
// that serve the read API's traffic do (the write API's reads are its own
// clients' reads-after-writes).
func (c *Config) Counting() bool {
	return c.DynamoTable != "" && (c.Role == "read" || c.Role == "all")
}

// DynamoDB's limits on a table name (CreateTable, TableName): 3 to 255 of
// a-z, A-Z, 0-9, '_', '-' and '.'.
var dynamoTableRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// Bounds of COUNTER_FLUSH_INTERVAL: under 100ms the writes approach one per
// read (the cost the sums exist to avoid); over 1m a crashed server loses a
// minute of views and the counts shown lag as much.
const minFlushInterval, maxFlushInterval = 100 * time.Millisecond, time.Minute

type env func(string) string

func (e env) str(k, def string) string {
	if v := strings.TrimSpace(e(k)); v != "" {
		return v
	}
	return def
}

// loadConfig reads the environment through getenv and validates the result.
// Errors name the variable, the value and what is expected.
func loadConfig(getenv func(string) string) (*Config, error) {
	e := env(getenv)
	var errs []string
	num := func(k string, def int) int {
		v := e.str(k, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s=%q must be a non-negative integer", k, v))
		}
		return n
	}
	boolean := func(k string, def bool) bool {
		v := e.str(k, "")
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q must be true or false", k, v))
		}
		return b
	}
	dur := func(k string, def time.Duration) time.Duration {
		v := e.str(k, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q must be a positive duration such as 5s", k, v))
		}
		return d
	}
	c := &Config{
		Role:     e.str("APP_ROLE", "all"),
		Addr:     e.str("APP_ADDR", ":8080"),
		LogLevel: e.str("APP_LOG_LEVEL", "info"),

		DBHost: e.str("DB_HOST", "127.0.0.1"), DBPort: num("DB_PORT", 3306),
		DBName: e.str("DB_NAME", "app"), DBUser: e.str("DB_USER", "app"),
		DBPassword: e("DB_PASSWORD"), DBPasswordSecretARN: e.str("DB_PASSWORD_SECRET_ARN", ""),
		DBTLS: e.str("DB_TLS", "false"), DBTLSCAFile: e.str("DB_TLS_CA_FILE", ""),
		DBMaxOpenConns: num("DB_MAX_OPEN_CONNS", 32), DBMaxIdleConns: num("DB_MAX_IDLE_CONNS", 0),
		DBReplicaMaxLag: durOrZero(e, "DB_REPLICA_MAX_LAG", &errs),

		RedisAddr: e.str("REDIS_ADDR", ""), RedisPassword: e("REDIS_PASSWORD"), RedisReadAddr: e.str("REDIS_READ_ADDR", ""),
		RedisAuthSecretARN: e.str("REDIS_AUTH_SECRET_ARN", ""), RedisTLS: boolean("REDIS_TLS", false),
		RedisPoolSize: num("REDIS_POOL_SIZE", 0),
		CacheTTL:      dur("CACHE_TTL", 5*time.Minute), CacheLocalTTL: dur("CACHE_LOCAL_TTL", time.Second),

		S3Bucket: e.str("S3_BUCKET", ""), S3Endpoint: e.str("S3_ENDPOINT", ""),
		AWSRegion: e.str("AWS_REGION", "us-east-1"), CDNBaseURL: e.str("CDN_BASE_URL", ""),

		QueueBackend: e.str("QUEUE_BACKEND", "none"), QueueURL: e.str("QUEUE_URL", ""),
		QueueDLQURL: e.str("QUEUE_DLQ_URL", ""), SQSEndpoint: e.str("SQS_ENDPOINT", ""),
		QueueMaxAttempts:  num("QUEUE_MAX_ATTEMPTS", 5),
		WorkerConcurrency: num("WORKER_CONCURRENCY", 4),

		SessionTTL:      dur("SESSION_TTL", 24*time.Hour),
		SessionCacheTTL: time.Second,
		StickyFor:       dur("READ_YOUR_WRITES_WINDOW", 5*time.Second),
		ShutdownTimeout: dur("SHUTDOWN_TIMEOUT", 25*time.Second),

		SlowRequest: time.Second,
		StatsDAddr:  e.str("STATSD_ADDR", ""),
		SentryDSN:   strings.TrimSpace(e("SENTRY_DSN")), SentryDSNSecretARN: e.str("SENTRY_DSN_SECRET_ARN", ""),
		SentryEnvironment: e.str("SENTRY_ENVIRONMENT", ""),

		DynamoTable: e.str("DYNAMO_TABLE", ""), DynamoEndpoint: e.str("DYNAMO_ENDPOINT", ""),
		CounterFlushInterval: dur("COUNTER_FLUSH_INTERVAL", time.Second),
	}
	if v := e.str("APP_SLOW_REQUEST", ""); v != "" {
		if c.SlowRequest = durOrZero(e, "APP_SLOW_REQUEST", &errs); c.SlowRequest == 0 {
			c.SlowRequest = -1
		}
	}
	if c.StatsDAddr != "" {
		if err := statsd.CheckAddr(c.StatsDAddr); err != nil {
			errs = append(errs, fmt.Sprintf("STATSD_ADDR=%q %s: expected host:port, e.g. 127.0.0.1:8125 "+
				"(the CloudWatch agent's StatsD listener)", c.StatsDAddr, err))
		}
	}
	if c.SentryDSN != "" {
		if err := sentry.CheckDSN(c.SentryDSN); err != nil {
			// The value is not repeated: it holds the project's key.
			errs = append(errs, fmt.Sprintf("SENTRY_DSN %s: expected https://PUBLIC_KEY@HOST/PROJECT_ID", err))
		}
		if c.SentryDSNSecretARN != "" {
			errs = append(errs, "set SENTRY_DSN or SENTRY_DSN_SECRET_ARN, not both")
		}
	}
	if v := e.str("SESSION_CACHE_TTL", ""); v != "" {
		c.SessionCacheTTL = durOrZero(e, "SESSION_CACHE_TTL", &errs)
	}
	if v := e.str("DB_REPLICAS", ""); v != "" {
		for _, r := range strings.Split(v, ",") {
			addr, err := replicaAddr(strings.TrimSpace(r), c.DBPort)
			if err != nil {
				errs = append(errs, fmt.Sprintf("DB_REPLICAS=%q: %s; expected a comma-separated list of host or host:port "+
					"(port 1 to 65535, default DB_PORT), e.g. replica1.internal:3306,replica2.internal", v, err))
				break
			}
			c.DBReplicas = append(c.DBReplicas, addr)
		}
	}
	for _, o := range strings.Split(e("APP_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			if err := checkOrigin(o); err != nil {
				errs = append(errs, fmt.Sprintf("APP_ORIGINS entry %q %s: write it as scheme://host[:port], "+
					"e.g. https://www.example.com", o, err))
				continue
			}
			c.Origins = append(c.Origins, o)
		}
	}
	c.DBShards, c.DBShardMapRefresh = loadShards(e, c, &errs)
	c.IdentityDB = loadIdentity(e, c, &errs)
	// Migrations run where writes are served: the write API and the single
	// box. Read and worker instances wait for the schema instead.
	c.DBMigrate = boolean("DB_MIGRATE", c.Role == "all" || c.Role == "write")

	switch c.Role {
	case "all", "read", "write", "worker", "archive":
	default:
		errs = append(errs, fmt.Sprintf("APP_ROLE=%q must be all, read, write, worker or archive", c.Role))
	}
	archiveConfig(e, c, &errs)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("APP_LOG_LEVEL=%q must be debug, info, warn or error", c.LogLevel))
	}
	switch c.DBTLS {
	case "false", "true", "rds", "skip-verify":
	default:
		errs = append(errs, fmt.Sprintf("DB_TLS=%q must be false, true, rds or skip-verify", c.DBTLS))
	}
	if c.DBTLSCAFile != "" && c.DBTLS != "true" && c.DBTLS != "rds" {
		errs = append(errs, "DB_TLS_CA_FILE is set but DB_TLS does not verify: set DB_TLS=true or rds")
	}
	if c.DBPassword != "" && c.DBPasswordSecretARN != "" {
		errs = append(errs, "set DB_PASSWORD or DB_PASSWORD_SECRET_ARN, not both")
	}
	if c.RedisPassword != "" && c.RedisAuthSecretARN != "" {
		errs = append(errs, "set REDIS_PASSWORD or REDIS_AUTH_SECRET_ARN, not both")
	}
	switch c.QueueBackend {
	case "none":
		if c.Role == "worker" {
			errs = append(errs, "APP_ROLE=worker needs QUEUE_BACKEND=sqs or redis, got none")
		}
	case "sqs":
		if c.QueueURL == "" {
			errs = append(errs, "QUEUE_BACKEND=sqs needs QUEUE_URL (the SQS queue URL)")
		}
	case "redis":
		if c.RedisAddr == "" {
			errs = append(errs, "QUEUE_BACKEND=redis needs REDIS_ADDR")
		}
	default:
		errs = append(errs, fmt.Sprintf("QUEUE_BACKEND=%q must be none, sqs or redis", c.QueueBackend))
	}
	if c.RedisReadAddr != "" && c.RedisAddr == "" {
		errs = append(errs, "REDIS_READ_ADDR (the cache's reader endpoint) needs REDIS_ADDR (its primary endpoint)")
	}
	if c.QueueBackend != "none" && c.S3Bucket == "" {
		errs = append(errs, fmt.Sprintf("QUEUE_BACKEND=%s needs S3_BUCKET for the photos", c.QueueBackend))
	}
	if c.Role == "worker" && c.S3Bucket == "" {
		errs = append(errs, "APP_ROLE=worker needs S3_BUCKET")
	}
	if c.DynamoTable != "" && !dynamoTableRE.MatchString(c.DynamoTable) {
		errs = append(errs, fmt.Sprintf("DYNAMO_TABLE=%q is not a DynamoDB table name: use 3 to 255 letters, digits, "+
			"'_', '-' or '.' (the table the infrastructure created)", c.DynamoTable))
	}
	if c.DynamoEndpoint != "" {
		if c.DynamoTable == "" {
			errs = append(errs, "DYNAMO_ENDPOINT is set but DYNAMO_TABLE is empty: set the table, or unset both to count no views")
		}
		if err := checkOrigin(c.DynamoEndpoint); err != nil {
			errs = append(errs, fmt.Sprintf("DYNAMO_ENDPOINT=%q %s: write it as http://host:port (a test server; "+
				"leave it empty on AWS)", c.DynamoEndpoint, err))
		}
	}
	if c.CounterFlushInterval > 0 && (c.CounterFlushInterval < minFlushInterval || c.CounterFlushInterval > maxFlushInterval) {
		errs = append(errs, fmt.Sprintf("COUNTER_FLUSH_INTERVAL=%q must be from %s to %s (default 1s)",
			e.str("COUNTER_FLUSH_INTERVAL", ""), minFlushInterval, maxFlushInterval))
	}
	if c.QueueMaxAttempts < 1 {
		errs = append(errs, "QUEUE_MAX_ATTEMPTS must be at least 1")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// loadShards reads DB_SHARD_COUNT and the DB_SHARD_<i>_* of shards 1 and
// up. Settings of a shard beyond the count are refused rather than ignored:
// they mean the count or a name is wrong.
func loadShards(e env, c *Config, errs *[]string) ([]DBShard, time.Duration) {
	refresh := 2 * time.Second // a moved bucket's reads follow within it
	if v := e.str("DB_SHARD_MAP_REFRESH", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Minute {
			*errs = append(*errs, fmt.Sprintf("DB_SHARD_MAP_REFRESH=%q must be a duration from 100ms to 1m, such as 2s", v))
		}
		refresh = d
	}
	count := 1
	if v := e.str("DB_SHARD_COUNT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16 {
			*errs = append(*errs, fmt.Sprintf("DB_SHARD_COUNT=%q must be a number from 1 to 16 (1: one database, "+
				"as before sharding)", v))
			return nil, refresh
		}
		count = n
	}
	shards := []DBShard{{Host: c.DBHost, Port: c.DBPort, Replicas: c.DBReplicas, PasswordSecretARN: c.DBPasswordSecretARN}}
	seen := map[string]int{net.JoinHostPort(c.DBHost, strconv.Itoa(c.DBPort)): 0}
	for i := 0; i <= 16; i++ {
		k := func(s string) string { return fmt.Sprintf("DB_SHARD_%d_%s", i, s) }
		if i == 0 || i >= count {
			for _, s := range []string{"HOST", "PORT", "REPLICAS", "PASSWORD_SECRET_ARN"} {
				if e.str(k(s), "") == "" {
					continue
				}
				if i == 0 {
					*errs = append(*errs, fmt.Sprintf("%s is set, but shard 0 is the primary database: "+
						"use DB_HOST, DB_PORT, DB_REPLICAS and DB_PASSWORD_SECRET_ARN", k(s)))
				} else {
					*errs = append(*errs, fmt.Sprintf("%s is set, but DB_SHARD_COUNT=%d uses shards 0 to %d: "+
						"raise DB_SHARD_COUNT to %d or unset it", k(s), count, count-1, i+1))
				}
			}
			continue
		}
		sh := DBShard{Host: e.str(k("HOST"), ""), Port: c.DBPort, PasswordSecretARN: e.str(k("PASSWORD_SECRET_ARN"), "")}
		if sh.Host == "" || strings.ContainsAny(sh.Host, " \t/@?#:") {
			*errs = append(*errs, fmt.Sprintf("%s=%q: DB_SHARD_COUNT=%d needs a host name (no port) for shard %d, "+
				"e.g. shard%d.db.internal", k("HOST"), sh.Host, count, i, i))
		}
		if v := e.str(k("PORT"), ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				*errs = append(*errs, fmt.Sprintf("%s=%q must be a port from 1 to 65535 (default DB_PORT)", k("PORT"), v))
			}
			sh.Port = n
		}
		if v := e.str(k("REPLICAS"), ""); v != "" {
			for _, r := range strings.Split(v, ",") {
				addr, err := replicaAddr(strings.TrimSpace(r), sh.Port)
				if err != nil {
					*errs = append(*errs, fmt.Sprintf("%s=%q: %s; expected a comma-separated list of host or host:port "+
						"(default port %s)", k("REPLICAS"), v, err, k("PORT")))
					break
				}
				sh.Replicas = append(sh.Replicas, addr)
			}
		}
		addr := net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port))
		if j, dup := seen[addr]; dup && sh.Host != "" {
			*errs = append(*errs, fmt.Sprintf("%s=%s (port %d) is the same server as shard %d: each shard is its own "+
				"database server (the database name, DB_NAME, is the same on all)", k("HOST"), sh.Host, sh.Port, j))
		}
		seen[addr] = i
		shards = append(shards, sh)
	}
	return shards, refresh
}

// loadIdentity reads IDENTITY_DB_*: unset host, no identity database.
func loadIdentity(e env, c *Config, errs *[]string) DBShard {
	id := DBShard{Host: e.str("IDENTITY_DB_HOST", ""), Port: c.DBPort,
		PasswordSecretARN: e.str("IDENTITY_DB_PASSWORD_SECRET_ARN", "")}
	if id.Host == "" {
		for _, k := range []string{"IDENTITY_DB_PORT", "IDENTITY_DB_REPLICAS", "IDENTITY_DB_PASSWORD_SECRET_ARN"} {
			if e.str(k, "") != "" {
				*errs = append(*errs, fmt.Sprintf("%s is set but IDENTITY_DB_HOST is not: set IDENTITY_DB_HOST "+
					"(the identity database) or unset %s (users then stay on shard 0)", k, k))
			}
		}
		return id
	}
	if strings.ContainsAny(id.Host, " \t/@?#:") {
		*errs = append(*errs, fmt.Sprintf("IDENTITY_DB_HOST=%q must be a host name (no port), e.g. identity.db.internal", id.Host))
	}
	if v := e.str("IDENTITY_DB_PORT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			*errs = append(*errs, fmt.Sprintf("IDENTITY_DB_PORT=%q must be a port from 1 to 65535 (default DB_PORT)", v))
		}
		id.Port = n
	}
	if v := e.str("IDENTITY_DB_REPLICAS", ""); v != "" {
		for _, r := range strings.Split(v, ",") {
			addr, err := replicaAddr(strings.TrimSpace(r), id.Port)
			if err != nil {
				*errs = append(*errs, fmt.Sprintf("IDENTITY_DB_REPLICAS=%q: %s; expected a comma-separated list of "+
					"host or host:port (default port IDENTITY_DB_PORT)", v, err))
				break
			}
			id.Replicas = append(id.Replicas, addr)
		}
	}
	addr := net.JoinHostPort(id.Host, strconv.Itoa(id.Port))
	for i, sh := range c.DBShards {
		if net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port)) == addr {
			*errs = append(*errs, fmt.Sprintf("IDENTITY_DB_HOST=%s (port %d) is the same server as shard %d: the identity "+
				"database is a server of its own (the database name, DB_NAME, is the same on all)", id.Host, id.Port, i))
		}
	}
	return id
}

// replicaAddr checks one DB_REPLICAS entry and returns it as host:port.
func replicaAddr(r string, defPort int) (string, error) {
	if r == "" {
		return "", fmt.Errorf("an entry is empty (two commas, or one at an end)")
	}
	host, port := r, strconv.Itoa(defPort)
	if strings.Contains(r, ":") {
		h, p, err := net.SplitHostPort(r)
		if err != nil {
			return "", fmt.Errorf("entry %q is not host:port (an IPv6 address goes in brackets: [::1]:3306)", r)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("entry %q has port %q, not a number from 1 to 65535", r, p)
		}
		host, port = h, p
	}
	if host == "" || strings.ContainsAny(host, " \t/@?#") {
		return "", fmt.Errorf("entry %q has no valid host name", r)
	}
	return net.JoinHostPort(host, port), nil
}

// checkOrigin checks an origin as browsers send it in Origin.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must start with https:// or http://")
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("has no host")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("has a path, query or fragment: an origin has none")
	}
	return nil
}

// durOrZero reads an optional duration where 0 (or unset) means off.
func durOrZero(e env, k string, errs *[]string) time.Duration {
	v := e.str(k, "")
	if v == "" || v == "0" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		*errs = append(*errs, fmt.Sprintf("%s=%q must be a duration such as 10s, or 0 for off", k, v))
	}
	return d
}

var (
	// S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens,
	// starting and ending with a letter or digit
	// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// ARCHIVE_PREFIX: characters safe in an object key, in a Hive-style
	// partition path and inside a Redshift string literal, ending in "/".
	archivePrefix = regexp.MustCompile(`^([A-Za-z0-9._=-]+/)+$`)
	// Redshift Serverless workgroup names: 3 to 64 lowercase letters, digits
	// and hyphens.
	workgroupName = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)
	// Redshift database names: a lowercase identifier of at most 127 bytes
	// (https://docs.aws.amazon.com/redshift/latest/dg/r_names.html).
	warehouseDB = regexp.MustCompile(`^[a-z_][a-z0-9_$]{0,126}$`)
	// IAM role ARNs (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
	roleARN = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

// archiveConfig reads and checks the archive job's settings. They are
// required only by APP_ROLE=archive, and checked whenever set.
func archiveConfig(e env, c *Config, errs *[]string) {
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Sprintf(format, args...)) }
	c.ArchiveBucket = e.str("ARCHIVE_BUCKET", "")
	c.ArchivePrefix = e.str("ARCHIVE_PREFIX", archive.DefaultPrefix)
	c.WarehouseWorkgroup = e.str("WAREHOUSE_WORKGROUP", "")
	// "dev" is the database Redshift Serverless creates in a new namespace.
	c.WarehouseDatabase = e.str("WAREHOUSE_DATABASE", "dev")
	c.WarehouseCopyRoleARN = e.str("WAREHOUSE_COPY_ROLE_ARN", "")
	c.ArchiveBatchRows = archive.DefaultBatchRows
	intIn := func(k string, lo, hi int, fix string) (int, bool) {
		v := e.str(k, "")
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			add("%s=%q must be a whole number from %d to %d: %s", k, v, lo, hi, fix)
			return 0, false
		}
		return n, true
	}
	if n, ok := intIn("RETENTION_DAYS", 1, 3650, "the days of posts and photos kept in MySQL, e.g. 365"); ok {
		c.RetentionDays = n
	}
	// More rows per file would hold more in memory and make longer MySQL
	// deletes and bigger binlog events (see archive.DefaultBatchRows).
	if n, ok := intIn("ARCHIVE_BATCH_ROWS", 1, 100000, "rows per Parquet file; unset means 10000"); ok {
		c.ArchiveBatchRows = n
	}
	if c.ArchiveBucket != "" && !bucketName.MatchString(c.ArchiveBucket) {
		add("ARCHIVE_BUCKET=%q is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens", c.ArchiveBucket)
	}
	if !archivePrefix.MatchString(c.ArchivePrefix) {
		add("ARCHIVE_PREFIX=%q must be folder names of letters, digits, '.', '_', '=' and '-', each ending in '/', "+
			"with no leading '/', e.g. archive/", c.ArchivePrefix)
	}
	if c.WarehouseWorkgroup != "" && !workgroupName.MatchString(c.WarehouseWorkgroup) {
		add("WAREHOUSE_WORKGROUP=%q must be a Redshift Serverless workgroup name: 3 to 64 lowercase letters, digits and hyphens",
			c.WarehouseWorkgroup)
	}
	if !warehouseDB.MatchString(c.WarehouseDatabase) {
		add("WAREHOUSE_DATABASE=%q must be a Redshift database name (lowercase letters, digits, '_' and '$', "+
			"not starting with a digit); unset means dev", c.WarehouseDatabase)
	}
	switch {
	case c.WarehouseCopyRoleARN != "" && !roleARN.MatchString(c.WarehouseCopyRoleARN):
		add("WAREHOUSE_COPY_ROLE_ARN=%q must be an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME", c.WarehouseCopyRoleARN)
	case c.WarehouseWorkgroup != "" && c.WarehouseCopyRoleARN == "":
		add("WAREHOUSE_WORKGROUP=%s needs WAREHOUSE_COPY_ROLE_ARN: the IAM role the workgroup assumes to read "+
			"ARCHIVE_BUCKET in COPY", c.WarehouseWorkgroup)
	case c.WarehouseWorkgroup == "" && c.WarehouseCopyRoleARN != "":
		add("WAREHOUSE_COPY_ROLE_ARN is set but WAREHOUSE_WORKGROUP is empty: set the workgroup to load the warehouse, " +
			"or unset the role to archive to S3 only")
	}
	if c.Role != "archive" {
		return
	}
	if c.ArchiveBucket == "" {
		add("APP_ROLE=archive needs ARCHIVE_BUCKET (the bucket the Parquet files go to)")
	}
	if c.RetentionDays == 0 && e.str("RETENTION_DAYS", "") == "" {
		add("APP_ROLE=archive needs RETENTION_DAYS (1 to 3650: rows older than that many days leave MySQL)")
	}
}
