// Package mysql is the MySQL adapter: it stores users, sessions, posts and
// photos, writes to the primary and spreads reads over health-checked
// replicas, and applies the embedded schema migrations under a lock.
package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	drv "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	migratemysql "github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/scaling-aws/scaling-aws/app"
)

//go:embed migrations/*.sql
var migrations embed.FS

// shardMigrations is the schema of shards 1 and up (see shard.go).
//
//go:embed shard_migrations/*.sql
var shardMigrations embed.FS

// identityMigrations is the schema of the identity database (identity.go).
//
//go:embed identity_migrations/*.sql
var identityMigrations embed.FS

// federationMigrations is what shard 0 changes when users move to the
// identity database: kept in a migrations table of its own, applied only
// with federation.
//
//go:embed federation_migrations/*.sql
var federationMigrations embed.FS

// Options tunes a DB. The zero value is usable.
type Options struct {
	// MaxOpenConns caps connections per pool (primary and each replica).
	// Default: 32.
	MaxOpenConns int
	// MaxIdleConns is the idle connections kept per pool. Default: MaxOpenConns.
	MaxIdleConns int
	// HealthInterval is how often replicas are checked. Default: 2s.
	HealthInterval time.Duration
	// MaxReplicaLag, when positive, also takes out of rotation a replica
	// whose replication is stopped or more than this far behind
	// (SHOW REPLICA STATUS; needs the REPLICATION CLIENT privilege, called
	// REPLICA MONITOR on MariaDB). Default: 0, connectivity only.
	MaxReplicaLag time.Duration
	// ReadTimeout bounds each attempt of a read: a replica that does not
	// answer in time (hung, overloaded) is marked unhealthy and the read is
	// tried on the next replica, then on the primary, so one bad replica
	// costs a read at most this much extra. Reads that must go to the primary
	// get the same bound. Default: 2s (the app's reads are index lookups of
	// milliseconds; 2s leaves room for a loaded server, not for a hung one).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write (and its follow-up reads) on the
	// primary. A write is never retried: its outcome is unknown after a
	// timeout, and the client is told to retry ("unavailable"). Default: 5s.
	WriteTimeout time.Duration
	// Now is the clock. Default: time.Now.
	Now app.Clock
	// Logger receives replica health changes. Default: slog.Default().
	Logger *slog.Logger
	// Registerer receives the DB pool and read-routing metrics. Default: none.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 32
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = o.MaxOpenConns
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 2 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 2 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

type replica struct {
	addr    string
	db      *sql.DB
	healthy atomic.Bool
	// lag is the last measured replication lag, nil when unknown
	// (replication stopped, not measurable, or never measured).
	lag atomic.Pointer[lagSample]
}

type lagSample struct {
	lag time.Duration
	at  time.Time
}

// source describes a read this replica served: its lag is at most the last
// measurement, plus 1s (Seconds_Behind_* is truncated to whole seconds),
// plus the time since it was taken (lag grows at most as fast as the clock).
func (r *replica) source(now time.Time) app.ReadSource {
	s := r.lag.Load()
	if s == nil {
		return app.ReadSource{Replica: true}
	}
	return app.ReadSource{Replica: true, LagKnown: true, LagBound: s.lag + time.Second + now.Sub(s.at)}
}

// DB is a MySQL primary and its read replicas. Writes and reads that must see
// them (app.WithPrimary) go to the primary; other reads go round-robin to the
// healthy replicas, and to the primary when none is healthy.
type DB struct {
	primary  *sql.DB
	replicas []*replica
	next     atomic.Uint64
	opts     Options
	reads    *prometheus.CounterVec
	// schema is the migration set this database must be at (Ping):
	// migrations for shard 0, shard_migrations for shards 1 and up.
	schema schemaSet
	// federated also requires the federation set (RequireFederationSchema).
	federated bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Config returns the driver settings the adapter needs on top of cfg (UTC
// times, interpolated parameters to save a round trip per query, found-rows
// semantics for conditional updates, a short dial timeout so a dead replica
// is skipped fast, and 10s network read and write timeouts as a backstop for
// a server that stops answering: every call also has a context deadline,
// see Options.ReadTimeout and WriteTimeout). It does not modify cfg.
func Config(cfg *drv.Config) *drv.Config {
	c := cfg.Clone()
	c.ParseTime = true
	c.Loc = time.UTC
	c.InterpolateParams = true
	c.ClientFoundRows = true
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Params["time_zone"] = "'+00:00'"
	if c.Collation == "" {
		c.Collation = "utf8mb4_general_ci"
	}
	return c
}

// Open connects to the primary described by primary and to each replica
// address (same user, password, database and TLS as the primary). It does
// not fail when a replica is down: that replica is skipped until healthy.
func Open(ctx context.Context, primary *drv.Config, replicaAddrs []string, o Options) (*DB, error) {
	return openSet(ctx, primary, replicaAddrs, o, mainSchema)
}

// OpenShard is Open for a content shard 1 and up (DB_SHARD_<i>_*): the
// same pools and read routing, with readiness checked against the shard
// schema (MigrateShard) instead of shard 0's.
func OpenShard(ctx context.Context, primary *drv.Config, replicaAddrs []string, o Options) (*DB, error) {
	return openSet(ctx, primary, replicaAddrs, o, shardSchema)
}

// OpenIdentity is Open for the identity database (IDENTITY_DB_*): users
// and sessions apart from the content, readiness checked against the
// identity schema (MigrateIdentity).
func OpenIdentity(ctx context.Context, primary *drv.Config, replicaAddrs []string, o Options) (*DB, error) {
	return openSet(ctx, primary, replicaAddrs, o, identitySchema)
}

func openSet(ctx context.Context, primary *drv.Config, replicaAddrs []string, o Options, set schemaSet) (*DB, error) {
	o = o.withDefaults()
	pc := Config(primary)
	db := &DB{opts: o, schema: set}
	var err error
	if db.primary, err = open(pc, o); err != nil {
		return nil, err
	}
	for _, addr := range replicaAddrs {
		rc := pc.Clone()
		rc.Addr = addr
		rdb, err := open(rc, o)
		if err != nil {
			db.primary.Close()
			return nil, err
		}
		r := &replica{addr: addr, db: rdb}
		r.healthy.Store(true)
		db.replicas = append(db.replicas, r)
	}
	db.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "app_db_reads_total",
		Help: "Database reads by target (primary or replica) and result.",
	}, []string{"target", "result"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(db.reads)
		o.Registerer.MustRegister(collectors.NewDBStatsCollector(db.primary, "primary"))
		for i, r := range db.replicas {
			o.Registerer.MustRegister(collectors.NewDBStatsCollector(r.db, fmt.Sprintf("replica%d", i)))
		}
	}
	hctx, cancel := context.WithCancel(context.Background())
	db.cancel = cancel
	db.CheckReplicas(ctx)
	if len(db.replicas) > 0 {
		db.wg.Add(1)
		go db.healthLoop(hctx)
	}
	return db, nil
}

func open(c *drv.Config, o Options) (*sql.DB, error) {
	conn, err := drv.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysql config for %s: %w", c.Addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxIdleConns)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
}

// Close stops the health checks and closes every pool.
func (db *DB) Close() error {
	db.cancel()
	db.wg.Wait()
	for _, r := range db.replicas {
		r.db.Close()
	}
	return db.primary.Close()
}

// Primary returns the primary's pool (for migrations and tests).
func (db *DB) Primary() *sql.DB { return db.primary }

// Ping checks, for readiness, that the primary answers and that its schema
// is at least the version embedded in this binary and not left dirty by a
// failed migration; so an instance started before the write tier has
// migrated receives no traffic yet. Replicas are optional.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.checkSchema(ctx, db.schema); err != nil || !db.federated {
		return err
	}
	return db.checkSchema(ctx, federationSchema)
}

// RequireFederationSchema makes Ping of shard 0 also require the federation
// migrations (MigrateFederation): with an identity database, a post of a
// user created there would fail shard 0's foreign key without them.
func (db *DB) RequireFederationSchema() { db.federated = true }

func (db *DB) checkSchema(ctx context.Context, set schemaSet) error {
	var version int
	var dirty bool
	err := db.primary.QueryRowContext(ctx, "SELECT version, dirty FROM "+set.migrationsTable()).Scan(&version, &dirty)
	var me *drv.MySQLError
	want := set.version
	switch {
	case errors.Is(err, sql.ErrNoRows) || errors.As(err, &me) && me.Number == errNoSuchTable:
		return fmt.Errorf("%s not migrated yet: want version %d", set.name, want)
	case err != nil:
		return err
	case dirty:
		return fmt.Errorf("%s version %d is dirty: a migration failed halfway, see the write tier's logs", set.name, version)
	case version < want:
		return fmt.Errorf("%s at version %d, this binary needs %d", set.name, version, want)
	}
	return nil
}

const errNoSuchTable = 1146

// SchemaVersion is the version of the newest embedded migration.
var SchemaVersion = newestVersion(migrations, "migrations")

// ShardSchemaVersion is the version of the newest embedded migration of
// the shard schema (shards 1 and up).
var ShardSchemaVersion = newestVersion(shardMigrations, "shard_migrations")

// IdentitySchemaVersion is the version of the newest embedded migration of
// the identity schema.
var IdentitySchemaVersion = newestVersion(identityMigrations, "identity_migrations")

// schemaSet is one embedded migration set.
type schemaSet struct {
	name, dir string
	fs        embed.FS
	version   int
	// table is its migrations table; "": schema_migrations.
	table string
}

func (s schemaSet) migrationsTable() string {
	if s.table == "" {
		return migratemysql.DefaultMigrationsTable
	}
	return s.table
}

var (
	mainSchema  = schemaSet{name: "schema", dir: "migrations", fs: migrations, version: SchemaVersion}
	shardSchema = schemaSet{name: "shard schema", dir: "shard_migrations", fs: shardMigrations, version: ShardSchemaVersion}
	// identitySchema is the identity database's.
	identitySchema = schemaSet{name: "identity schema", dir: "identity_migrations", fs: identityMigrations,
		version: IdentitySchemaVersion}
	// federationSchema is shard 0's change for federation, beside its own.
	federationSchema = schemaSet{name: "federation schema of shard 0", dir: "federation_migrations",
		fs: federationMigrations, version: newestVersion(federationMigrations, "federation_migrations"),
		table: "schema_migrations_federation"}
)

func newestVersion(fsys embed.FS, dir string) int {
	entries, _ := fsys.ReadDir(dir)
	v := 0
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err == nil && n > v {
			v = n
		}
	}
	return v
}

func (db *DB) healthLoop(ctx context.Context) {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			db.CheckReplicas(ctx)
		}
	}
}

// CheckReplicas checks every replica now and updates its health; Open and
// a background loop call it.
func (db *DB) CheckReplicas(ctx context.Context) {
	for _, r := range db.replicas {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := db.checkReplica(cctx, r)
		cancel()
		if ctx.Err() != nil {
			return
		}
		db.setHealth(r, err)
	}
}

// checkReplica pings a replica and measures its lag. The lag is always
// recorded (the cache above uses it to decide whether a replica's answer may
// be kept); it makes the replica unhealthy only when MaxReplicaLag is set.
func (db *DB) checkReplica(ctx context.Context, r *replica) error {
	if err := r.db.PingContext(ctx); err != nil {
		r.lag.Store(nil)
		return err
	}
	lag, err := replicaLag(ctx, r.db)
	if err != nil {
		r.lag.Store(nil)
	} else {
		r.lag.Store(&lagSample{lag: lag, at: db.opts.Now()})
	}
	if db.opts.MaxReplicaLag <= 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if lag > db.opts.MaxReplicaLag {
		return fmt.Errorf("replica is %s behind, more than %s", lag, db.opts.MaxReplicaLag)
	}
	return nil
}

// replicaLag reads Seconds_Behind_Source (MySQL) or Seconds_Behind_Master
// (MariaDB); NULL means replication is stopped.
func replicaLag(ctx context.Context, q *sql.DB) (time.Duration, error) {
	rows, err := q.QueryContext(ctx, "SHOW REPLICA STATUS")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return 0, errors.New("the server is not replicating")
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return 0, err
	}
	for i, c := range cols {
		if c != "Seconds_Behind_Source" && c != "Seconds_Behind_Master" {
			continue
		}
		if vals[i] == nil {
			return 0, errors.New("replication is stopped")
		}
		n, err := strconv.Atoi(string(vals[i]))
		if err != nil {
			return 0, fmt.Errorf("replica lag %q: %w", vals[i], err)
		}
		return time.Duration(n) * time.Second, nil
	}
	return 0, errors.New("SHOW REPLICA STATUS has no Seconds_Behind column")
}

func (db *DB) setHealth(r *replica, err error) {
	ok := err == nil
	if r.healthy.Swap(ok) != ok {
		if ok {
			db.opts.Logger.Info("replica healthy", "replica", r.addr)
		} else {
			db.opts.Logger.Warn("replica unhealthy", "replica", r.addr, "err", err)
		}
	}
}

// read runs fn on a replica, or on the primary when ctx asks for it or no
// replica is healthy, each attempt under Options.ReadTimeout. A replica that
// fails or times out (other than "no rows") is marked unhealthy and the read
// is retried on the next one, then on the primary, so a dying or hung
// replica costs latency, not errors. Reads are idempotent: retrying them is
// safe (writes never go through here). It records where the answer came
// from in ctx's app.ReadSource.
func (db *DB) read(ctx context.Context, fn func(ctx context.Context, q *sql.DB) error) error {
	if !app.UsePrimary(ctx) && len(db.replicas) > 0 {
		n := len(db.replicas)
		start := int(db.next.Add(1) % uint64(n))
		for i := 0; i < n; i++ {
			r := db.replicas[(start+i)%n]
			if !r.healthy.Load() {
				continue
			}
			actx, cancel := context.WithTimeout(ctx, db.opts.ReadTimeout)
			err := fn(actx, r.db)
			cancel()
			if err == nil || errors.Is(err, sql.ErrNoRows) || app.ErrorCode(err) != app.EINTERNAL {
				db.reads.WithLabelValues("replica", "ok").Inc()
				app.SetReadSource(ctx, r.source(db.opts.Now()))
				return err
			}
			if ctx.Err() != nil {
				return err
			}
			db.reads.WithLabelValues("replica", "error").Inc()
			db.setHealth(r, err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, db.opts.ReadTimeout)
	defer cancel()
	err := fn(actx, db.primary)
	if err != nil && !errors.Is(err, sql.ErrNoRows) && app.ErrorCode(err) == app.EINTERNAL {
		db.reads.WithLabelValues("primary", "error").Inc()
	} else {
		db.reads.WithLabelValues("primary", "ok").Inc()
	}
	app.SetReadSource(ctx, app.ReadSource{})
	return err
}

// readCtx and writeCtx bound a call on the primary.
func (db *DB) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.opts.ReadTimeout)
}

func (db *DB) writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.opts.WriteTimeout)
}

// Migrate applies the embedded migrations that the database lacks. It holds
// the library's GET_LOCK lock meanwhile, so instances starting together
// apply each migration once; it retries while another instance holds it.
func Migrate(ctx context.Context, cfg *drv.Config, log *slog.Logger) error {
	return migrateSet(ctx, cfg, log, mainSchema)
}

// MigrateShard is Migrate for a content shard 1 and up: it applies the
// shard schema (shard_migrations: posts and photos without their foreign
// key to users, which live on shard 0).
func MigrateShard(ctx context.Context, cfg *drv.Config, log *slog.Logger) error {
	return migrateSet(ctx, cfg, log, shardSchema)
}

// MigrateIdentity is Migrate for the identity database: users and sessions
// (identity_migrations).
func MigrateIdentity(ctx context.Context, cfg *drv.Config, log *slog.Logger) error {
	return migrateSet(ctx, cfg, log, identitySchema)
}

// MigrateFederation applies, on shard 0, what federation changes there
// (federation_migrations: posts and photos lose their foreign key to users,
// which the identity database now holds), recorded in its own table
// schema_migrations_federation. Only servers with IDENTITY_DB_HOST call it.
func MigrateFederation(ctx context.Context, cfg *drv.Config, log *slog.Logger) error {
	return migrateSet(ctx, cfg, log, federationSchema)
}

func migrateSet(ctx context.Context, cfg *drv.Config, log *slog.Logger, set schemaSet) error {
	c := Config(cfg)
	c.MultiStatements = true // migration files hold several statements
	c.InterpolateParams = false
	// A migration's DDL may run for long on a big table: no network
	// timeout unless the caller set one (ctx still bounds it).
	c.ReadTimeout, c.WriteTimeout = cfg.ReadTimeout, cfg.WriteTimeout
	db, err := open(c, Options{MaxOpenConns: 2}.withDefaults())
	if err != nil {
		return err
	}
	defer db.Close()
	var last error
	for attempt := 1; attempt <= 6; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		last = migrateOnce(ctx, db, c.DBName, set)
		if last == nil || !(errors.Is(last, database.ErrLocked) || errors.Is(last, migrate.ErrLocked) ||
			errors.Is(last, migrate.ErrLockTimeout)) {
			return last
		}
		log.Info("migration lock held by another instance, retrying", "attempt", attempt)
	}
	return last
}

func migrateOnce(ctx context.Context, db *sql.DB, dbName string, set schemaSet) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return internal("migrate connect", err)
	}
	// Closing m closes conn (not db).
	target, err := migratemysql.WithConnection(ctx, conn, &migratemysql.Config{DatabaseName: dbName,
		MigrationsTable: set.table})
	if err != nil {
		conn.Close()
		return fmt.Errorf("migrate database %q: %w", dbName, err)
	}
	src, err := iofs.New(set.fs, set.dir)
	if err != nil {
		target.Close()
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "mysql", target)
	if err != nil {
		target.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate database %q: %w", dbName, err)
	}
	return nil
}

// internal wraps a database error for logs. A timeout or a lost or refused
// connection is "unavailable" (the client may retry); anything else is
// EINTERNAL, its detail only in the logs.
func internal(op string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, drv.ErrInvalidConn) || errors.As(err, &ne) {
		return app.Unavailable(fmt.Errorf("mysql %s: %w", op, err), "the database is unavailable, retry later")
	}
	return fmt.Errorf("mysql %s: %w", op, err)
}
