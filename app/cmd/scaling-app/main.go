// Command scaling-app is the bundled app service of scaling-aws: one binary
// whose role is chosen at start. "all" serves the whole API (and runs the
// worker when a queue is configured) on the single box; "read" serves the
// read API, "write" the whole API including writes, "worker" consumes
// thumbnail jobs, "archive" runs one pass of the archive job and exits
// (app/archive). Configuration comes from the environment (docs/app.md).
//
// Usage:
//
//	scaling-app [-role all|read|write|worker|archive] [-addr :8080] [-migrate-only] [-export-static DIR]
//	scaling-app -move-buckets FROM:TO:BUCKETS   (move content buckets between shards, then exit)
//	scaling-app -copy-identity                  (copy users and sessions to the identity database, then exit)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	drv "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"github.com/scaling-aws/scaling-aws/app"
	"github.com/scaling-aws/scaling-aws/app/dynamo"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/inmem"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	"github.com/scaling-aws/scaling-aws/app/redis"
	"github.com/scaling-aws/scaling-aws/app/redisq"
	apps3 "github.com/scaling-aws/scaling-aws/app/s3"
	"github.com/scaling-aws/scaling-aws/app/sentry"
	appsqs "github.com/scaling-aws/scaling-aws/app/sqs"
	"github.com/scaling-aws/scaling-aws/app/statsd"
	"github.com/scaling-aws/scaling-aws/app/thumb"
	"github.com/scaling-aws/scaling-aws/app/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scaling-app:", err)
		os.Exit(1)
	}
}

// run is the whole program; ctx is cancelled on SIGINT or SIGTERM, which
// starts a graceful shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := flag.NewFlagSet("scaling-app", flag.ContinueOnError)
	role := fl.String("role", "", "role, overriding APP_ROLE: all, read, write, worker or archive")
	addr := fl.String("addr", "", "listen address, overriding APP_ADDR")
	migrateOnly := fl.Bool("migrate-only", false, "apply the database migrations and exit")
	exportStatic := fl.String("export-static", "", "write the embedded static content to this folder (for the object store) and exit")
	copyIdentity := fl.Bool("copy-identity", false, "copy users and sessions from shard 0 to the identity database (IDENTITY_DB_*), verify, and exit")
	move := fl.String("move-buckets", "", "move buckets between content shards and exit: FROM:TO:BUCKETS, e.g. 0:1:512-1023 (docs/database.md)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *exportStatic != "" {
		return export(*exportStatic)
	}
	overrides := map[string]string{"APP_ROLE": *role, "APP_ADDR": *addr}
	cfg, err := loadConfig(func(k string) string {
		if v := overrides[k]; v != "" {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	logHandler := slog.Handler(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: level}))
	log := slog.New(logHandler)
	slog.SetDefault(log)
	log.Info("starting", "version", appVersion(), "role", cfg.Role, "addr", cfg.Addr, "db_host", cfg.DBHost,
		"db_replicas", len(cfg.DBReplicas), "db_shards", len(cfg.DBShards), "cache", cfg.RedisAddr != "", "s3_bucket", cfg.S3Bucket,
		"queue", cfg.QueueBackend, "cdn", cfg.CDNBaseURL, "statsd", cfg.StatsDAddr,
		"sentry", cfg.SentryDSN != "" || cfg.SentryDSNSecretARN != "")

	var awsCfg aws.Config
	if cfg.needsAWS() {
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.AWSRegion)); err != nil {
			return fmt.Errorf("load AWS configuration: %w", err)
		}
	}
	if err := resolveSecrets(ctx, cfg, awsCfg); err != nil {
		return err
	}
	if cfg.SentryDSN != "" {
		rep, err := sentry.New(sentry.Options{DSN: cfg.SentryDSN, Environment: cfg.SentryEnvironment,
			Release: "scaling-app@" + appVersion()})
		if err != nil {
			return err
		}
		// Sent last, after the workers and requests have stopped; bounded so
		// that an unreachable Sentry cannot hold the exit.
		defer rep.Flush(sentryFlushTimeout)
		log = slog.New(rep.Handler(logHandler))
		slog.SetDefault(log)
		log.Info("error reporting to Sentry", "environment", cfg.SentryEnvironment)
	}
	dbCfg, err := cfg.mysqlConfig()
	if err != nil {
		return err
	}
	if cfg.DBMigrate || *migrateOnly {
		if err := mysql.Migrate(ctx, dbCfg, log); err != nil {
			return err
		}
		if err := migrateShards(ctx, cfg, dbCfg, log); err != nil {
			return err
		}
		if cfg.IdentityDB.Host != "" {
			if err := mysql.MigrateIdentity(ctx, cfg.identityDBConfig(dbCfg), log); err != nil {
				return fmt.Errorf("identity database (IDENTITY_DB_HOST=%s): %w", cfg.IdentityDB.Host, err)
			}
			if err := mysql.MigrateFederation(ctx, dbCfg, log); err != nil {
				return err
			}
		}
		log.Info("migrations applied", "shards", len(cfg.DBShards))
		if *migrateOnly {
			return nil
		}
	}
	if cfg.Role == "archive" {
		return runArchive(ctx, cfg, awsCfg, dbCfg, log)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shards, router, closeShards, err := openShards(ctx, cfg, dbCfg, mysql.Options{MaxOpenConns: cfg.DBMaxOpenConns,
		MaxIdleConns: cfg.DBMaxIdleConns, MaxReplicaLag: cfg.DBReplicaMaxLag, Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	defer closeShards()
	if *move != "" {
		return moveBuckets(ctx, *move, router, cfg, log, stdout)
	}
	// Users and sessions are on shard 0, or in the identity database;
	// posts and photos on the user's shard (one shard: the same database).
	db := shards[0]
	var posts app.PostStore = db
	var photos app.PhotoStore = db
	if router != nil {
		posts, photos = router, router
	}
	identity := db
	if cfg.IdentityDB.Host != "" {
		db.RequireFederationSchema()
		o := mysql.Options{MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns,
			MaxReplicaLag: cfg.DBReplicaMaxLag, Logger: log, Registerer: prometheus.WrapRegistererWithPrefix("identity_", reg)}
		if identity, err = mysql.OpenIdentity(ctx, cfg.identityDBConfig(dbCfg), cfg.IdentityDB.Replicas, o); err != nil {
			return fmt.Errorf("open the identity database: %w", err)
		}
		defer identity.Close()
	}
	if *copyIdentity {
		return copyIdentityCmd(ctx, cfg, db, identity, log, stdout)
	}

	// The newest posts of all users: a merge of every shard's, in memory.
	feed := mysql.NewFeed(shards, mysql.FeedOptions{Logger: log})
	defer feed.Close()

	srv := &apphttp.Server{
		Role: apphttp.Role(cfg.Role), Users: identity, Posts: posts, Photos: photos, Sessions: identity, Latest: feed,
		CDNBaseURL: cfg.CDNBaseURL, Origins: cfg.Origins, SessionTTL: cfg.SessionTTL, StickyFor: cfg.StickyFor,
		Logger: log, Registerer: reg, Gatherer: reg, SlowRequest: cfg.SlowRequest,
		Ready: []apphttp.Check{{Name: "database", Pinger: db}},
	}
	if identity != db {
		// Without it nobody logs in: required, as shard 0 is.
		srv.Ready = append(srv.Ready, apphttp.Check{Name: "identity_database", Pinger: identity})
	}
	// A shard down affects only its users: reported, not failing /readyz.
	for i, sh := range shards[1:] {
		srv.Ready = append(srv.Ready, apphttp.Check{Name: fmt.Sprintf("database_shard_%d", i+1), Pinger: sh, Optional: true})
	}
	var rc *goredis.Client
	if cfg.RedisAddr != "" {
		redis.SetLogger(log)
		rc = redis.NewClient(redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword, TLS: cfg.RedisTLS,
			PoolSize: cfg.RedisPoolSize})
		defer rc.Close()
		srv.Sessions = redis.NewSessions(rc, "", nil)
		opts := redis.CacheOptions{TTL: cfg.CacheTTL, LocalTTL: cfg.CacheLocalTTL, Logger: log, Registerer: reg}
		if cfg.RedisReadAddr != "" {
			// The reader endpoint, with the primary's credentials and TLS.
			reader := redis.NewClient(redis.Options{Addr: cfg.RedisReadAddr, Password: cfg.RedisPassword, TLS: cfg.RedisTLS,
				PoolSize: cfg.RedisPoolSize})
			defer reader.Close()
			opts.Reader = reader
		}
		cache := redis.NewPostCache(rc, posts, opts)
		defer cache.Close()
		srv.Posts = cache
		srv.Ready = append(srv.Ready, apphttp.Check{Name: "cache", Pinger: redis.Pinger{C: rc}, Optional: true})
	}

	counter, err := viewCounter(cfg, awsCfg, posts, log, reg)
	if err != nil {
		return err
	}
	counterCtx, stopCounter := context.WithCancel(context.Background())
	counterDone := make(chan struct{})
	if counter != nil {
		srv.Views = counter
		go func() { defer close(counterDone); counter.Run(counterCtx) }()
	} else {
		close(counterDone)
	}
	// After the last request (hs.Shutdown below), the final flush.
	defer func() { stopCounter(); <-counterDone }()

	if cfg.SessionCacheTTL > 0 {
		srv.Sessions = inmem.NewSessionCache(srv.Sessions, cfg.SessionCacheTTL, 0, nil)
	}

	var w *worker.Worker
	if cfg.S3Bucket != "" {
		blobs := apps3.New(awsCfg, cfg.S3Bucket, cfg.S3Endpoint)
		srv.Blobs = blobs
		srv.Ready = append(srv.Ready, apphttp.Check{Name: "object_store", Pinger: blobs, Optional: true})
		w = &worker.Worker{Photos: photos, Blobs: blobs, Thumbnail: thumb.Make, MaxAttempts: cfg.QueueMaxAttempts,
			Concurrency: cfg.WorkerConcurrency, Logger: log, Registerer: reg}
		switch cfg.QueueBackend {
		case "none":
			w.Queue = worker.Inline{W: w}
		case "sqs":
			w.Queue = appsqs.New(awsCfg, cfg.QueueURL, cfg.QueueDLQURL, cfg.SQSEndpoint)
		case "redis":
			host, _ := os.Hostname()
			q, err := redisq.New(ctx, rc, redisq.Options{Consumer: host + "-" + strconv.Itoa(os.Getpid())})
			if err != nil {
				return err
			}
			w.Queue = q
		}
		srv.Queue = w.Queue
	}

	hs := &http.Server{
		Addr: cfg.Addr, Handler: srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on APP_ADDR=%s: %w", cfg.Addr, err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()

	if cfg.StatsDAddr != "" {
		gauge := &statsd.Gauge{Addr: cfg.StatsDAddr, Name: "app_inflight_requests", Value: srv.InFlight, Logger: log}
		gctx, stopGauge := context.WithCancel(ctx)
		defer stopGauge()
		go func() {
			if err := gauge.Run(gctx); err != nil {
				log.Warn("the in-flight requests gauge is off", "err", err)
			}
		}()
	}

	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	if w != nil && cfg.QueueBackend != "none" && (cfg.Role == "worker" || cfg.Role == "all") {
		go func() {
			defer close(workerDone)
			log.Info("worker started", "queue", cfg.QueueBackend)
			w.Run(workerCtx)
		}()
	} else {
		close(workerDone)
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			stopWorker()
			return fmt.Errorf("serve: %w", err)
		}
	}
	log.Info("shutting down: finishing in-flight requests and jobs", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopWorker()
	err = hs.Shutdown(sctx)
	select {
	case <-workerDone:
	case <-sctx.Done():
		log.Warn("shutdown timed out with jobs still running; they will be redelivered")
	}
	log.Info("stopped")
	return err
}

// sentryFlushTimeout bounds the wait for queued Sentry events at exit:
// after SHUTDOWN_TIMEOUT, within systemd's default stop timeout (90 s).
const sentryFlushTimeout = 2 * time.Second

// secretsTimeout bounds reading every secret at start: an unreachable
// Secrets Manager (no route, no endpoint) then stops the start with an
// error naming the secret, instead of a process that hangs unready.
var secretsTimeout = 15 * time.Second

// version is the app's version, set at build time with
// -ldflags "-X main.version=..." (the release's source fingerprint).
var version string

// appVersion is version, else the VCS revision the binary was built from
// (with "-dirty" for uncommitted changes), else the module version.
func appVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev != "" {
		return rev[:min(12, len(rev))] + dirty
	}
	return bi.Main.Version
}

func (c *Config) needsAWS() bool {
	return c.S3Bucket != "" || c.ArchiveBucket != "" || c.QueueBackend == "sqs" || c.DBPasswordSecretARN != "" ||
		c.RedisAuthSecretARN != "" || c.SentryDSNSecretARN != "" || c.shardSecrets() || c.Counting()
}

// shardSecrets reports whether a shard 1 and up, or the identity database,
// has a password secret.
func (c *Config) shardSecrets() bool {
	if c.IdentityDB.PasswordSecretARN != "" {
		return true
	}
	for _, sh := range c.DBShards[min(1, len(c.DBShards)):] {
		if sh.PasswordSecretARN != "" {
			return true
		}
	}
	return false
}

// resolveSecrets fetches passwords, the cache token and the Sentry DSN from
// Secrets Manager, all within secretsTimeout. Secret values are never
// logged nor put in errors.
func resolveSecrets(ctx context.Context, c *Config, awsCfg aws.Config) error {
	if c.DBPasswordSecretARN == "" && c.RedisAuthSecretARN == "" && c.SentryDSNSecretARN == "" && !c.shardSecrets() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, secretsTimeout)
	defer cancel()
	sm := secretsmanager.NewFromConfig(awsCfg)
	get := func(arn string) (string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("read secret %s: %w", arn, err)
		}
		return aws.ToString(out.SecretString), nil
	}
	if c.DBPasswordSecretARN != "" {
		s, err := get(c.DBPasswordSecretARN)
		if err != nil {
			return err
		}
		user, pass, err := parseDBSecret(s)
		if err != nil {
			return fmt.Errorf("secret DB_PASSWORD_SECRET_ARN=%s: %w", c.DBPasswordSecretARN, err)
		}
		c.DBPassword = pass
		if user != "" {
			c.DBUser = user
		}
	}
	for i := 1; i < len(c.DBShards); i++ {
		sh := &c.DBShards[i]
		if sh.PasswordSecretARN == "" {
			continue
		}
		s, err := get(sh.PasswordSecretARN)
		if err != nil {
			return err
		}
		user, pass, err := parseDBSecret(s)
		if err != nil {
			return fmt.Errorf("secret DB_SHARD_%d_PASSWORD_SECRET_ARN=%s: %w", i, sh.PasswordSecretARN, err)
		}
		sh.User, sh.Password = user, pass
	}
	if arn := c.IdentityDB.PasswordSecretARN; arn != "" {
		s, err := get(arn)
		if err != nil {
			return err
		}
		user, pass, err := parseDBSecret(s)
		if err != nil {
			return fmt.Errorf("secret IDENTITY_DB_PASSWORD_SECRET_ARN=%s: %w", arn, err)
		}
		c.IdentityDB.User, c.IdentityDB.Password = user, pass
	}
	if c.RedisAuthSecretARN != "" {
		s, err := get(c.RedisAuthSecretARN)
		if err != nil {
			return err
		}
		c.RedisPassword = parseRedisSecret(s)
	}
	if c.SentryDSNSecretARN != "" {
		s, err := get(c.SentryDSNSecretARN)
		if err != nil {
			return err
		}
		dsn := strings.TrimSpace(s)
		if err := sentry.CheckDSN(dsn); err != nil {
			return fmt.Errorf("secret SENTRY_DSN_SECRET_ARN=%s: its string %s; it must be the DSN itself, "+
				"https://PUBLIC_KEY@HOST/PROJECT_ID", c.SentryDSNSecretARN, err)
		}
		c.SentryDSN = dsn
	}
	return nil
}

// parseDBSecret reads an RDS-managed master secret: JSON with "password"
// and optionally "username".
func parseDBSecret(s string) (user, pass string, err error) {
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if json.Unmarshal([]byte(s), &v) != nil || v.Password == "" {
		return "", "", errors.New(`secret must be JSON with a non-empty "password" (and optional "username")`)
	}
	return v.Username, v.Password, nil
}

// parseRedisSecret accepts a plain token or JSON with "password" or "token".
func parseRedisSecret(s string) string {
	var v struct {
		Password string `json:"password"`
		Token    string `json:"token"`
	}
	if json.Unmarshal([]byte(s), &v) == nil {
		if v.Password != "" {
			return v.Password
		}
		if v.Token != "" {
			return v.Token
		}
	}
	return s
}

// mysqlConfig builds the driver configuration, registering the TLS setup.
func (c *Config) mysqlConfig() (*drv.Config, error) {
	dc := drv.NewConfig()
	dc.User, dc.Passwd, dc.Net = c.DBUser, c.DBPassword, "tcp"
	dc.Addr = net.JoinHostPort(c.DBHost, strconv.Itoa(c.DBPort))
	dc.DBName = c.DBName
	switch c.DBTLS {
	case "skip-verify":
		dc.TLSConfig = "skip-verify"
	case "true", "rds":
		tc, err := c.dbTLSConfig()
		if err != nil {
			return nil, err
		}
		if err := drv.RegisterTLSConfig("app", tc); err != nil {
			return nil, err
		}
		dc.TLSConfig = "app"
	}
	return dc, nil
}

// dbTLSConfig is the verifying TLS setup of DB_TLS=true (the system's roots)
// and DB_TLS=rds (those plus the Amazon RDS certificate authorities), with
// DB_TLS_CA_FILE's certificates added to either. ServerName stays empty: the
// driver then checks each server's certificate against the host it dials, the
// primary's DB_HOST or a replica's address.
func (c *Config) dbTLSConfig() (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if c.DBTLS == "rds" {
		if err := mysql.AddRDSCAs(pool); err != nil {
			return nil, err
		}
	}
	if c.DBTLSCAFile != "" {
		pem, err := os.ReadFile(c.DBTLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("DB_TLS_CA_FILE=%s: %w", c.DBTLSCAFile, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("DB_TLS_CA_FILE=%s holds no PEM certificate", c.DBTLSCAFile)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func export(dir string) error {
	return fs.WalkDir(apphttp.StaticFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(apphttp.StaticFS(), p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, "static", p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// viewCounter is the DynamoDB view counter when the role counts
// (Config.Counting), else nil. A counter is created only for a post the
// primary of its shard has (a replica may not have a post just written yet):
// one read per post, at its first counted view. posts is the store itself,
// not the cache in front of it.
func viewCounter(cfg *Config, awsCfg aws.Config, posts app.PostStore, log *slog.Logger, reg prometheus.Registerer) (*dynamo.Counter, error) {
	if !cfg.Counting() {
		return nil, nil
	}
	c, err := dynamo.New(awsCfg, dynamo.Options{Table: cfg.DynamoTable, Endpoint: cfg.DynamoEndpoint,
		FlushInterval: cfg.CounterFlushInterval, Logger: log, Registerer: reg,
		Exists: func(ctx context.Context, id int64) (bool, error) {
			_, err := posts.Post(app.WithPrimary(ctx), id)
			if app.ErrorCode(err) == app.ENOTFOUND {
				return false, nil
			}
			return err == nil, err
		}})
	if err != nil {
		return nil, err
	}
	log.Info("counting post views", "table", cfg.DynamoTable, "flush_interval", cfg.CounterFlushInterval)
	return c, nil
}

var _ app.Pinger = (*mysql.DB)(nil)
