// Package apptest gives the app's tests their real servers: a MariaDB
// primary and replica with replication between them, Redis and a
// DynamoDB-compatible server, as started
// by scripts/services.sh (or by hand) and named by the environment:
//
//	TEST_MYSQL_PRIMARY_DSN  go-sql-driver DSN of the primary, e.g. root:pw@tcp(127.0.0.1:33061)/
//	TEST_MYSQL_REPLICA_DSN  the same for the replica
//	TEST_REDIS_ADDR         host:port of Redis
//	TEST_DYNAMO_ENDPOINT    URL of the DynamoDB-compatible server (dynalite)
//
// When a variable is unset the test is skipped, unless
// SCALING_AWS_REQUIRE_SERVERS=1 (CI), in which case it fails.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	drv "github.com/go-sql-driver/mysql"
	goredis "github.com/redis/go-redis/v9"
)

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("SCALING_AWS_REQUIRE_SERVERS") == "1" {
			t.Fatalf("%s is not set and SCALING_AWS_REQUIRE_SERVERS=1: start the servers with scripts/services.sh", name)
		}
		t.Skipf("%s is not set: start the servers with scripts/services.sh to run this test", name)
	}
	return v
}

// MySQL is a fresh database on the primary, replicated to the replica.
type MySQL struct {
	// Primary and Replica are driver configurations for the test database.
	Primary, Replica *drv.Config
	// PrimaryDB and ReplicaDB are admin connections to the test database.
	PrimaryDB, ReplicaDB *sql.DB
}

var unsafe = regexp.MustCompile(`[^a-z0-9_]`)

// NewMySQL creates a database named after the test on the primary, waits
// for it on the replica and drops it when the test ends.
func NewMySQL(t testing.TB) *MySQL {
	t.Helper()
	pc, err := drv.ParseDSN(need(t, "TEST_MYSQL_PRIMARY_DSN"))
	if err != nil {
		t.Fatalf("TEST_MYSQL_PRIMARY_DSN: %v", err)
	}
	rc, err := drv.ParseDSN(need(t, "TEST_MYSQL_REPLICA_DSN"))
	if err != nil {
		t.Fatalf("TEST_MYSQL_REPLICA_DSN: %v", err)
	}
	lockReplication(t, rc.Addr)
	name := unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + name + "_" + suffix()
	admin := func(c *drv.Config) *sql.DB {
		c = c.Clone()
		c.DBName = ""
		c.ParseTime = true
		db, err := sql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	m := &MySQL{Primary: pc.Clone(), Replica: rc.Clone()}
	m.Primary.DBName, m.Replica.DBName = name, name
	pa, ra := admin(pc), admin(rc)
	if _, err := pa.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pa.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	m.PrimaryDB, m.ReplicaDB = pa, ra
	m.Sync(t)
	return m
}

func suffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Sync waits until the replica has applied everything the primary has
// written so far (MariaDB GTIDs).
func (m *MySQL) Sync(t testing.TB) {
	t.Helper()
	var pos string
	if err := m.PrimaryDB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatalf("primary GTID position: %v", err)
	}
	var res int
	if err := m.ReplicaDB.QueryRow("SELECT MASTER_GTID_WAIT(?, 60)", pos).Scan(&res); err != nil || res != 0 {
		t.Fatalf("replica did not reach GTID %s within 60s (result %d, err %v): is replication running?", pos, res, err)
	}
}

// StopReplication stops the replica's SQL thread so that it lags behind the
// primary, until Start or the end of the test.
func (m *MySQL) StopReplication(t testing.TB) {
	t.Helper()
	if _, err := m.ReplicaDB.Exec("STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatalf("stop replica SQL thread: %v", err)
	}
	t.Cleanup(func() { m.StartReplication(t) })
}

// StartReplication restarts the replica's SQL thread.
func (m *MySQL) StartReplication(t testing.TB) {
	t.Helper()
	if _, err := m.ReplicaDB.Exec("START SLAVE SQL_THREAD"); err != nil {
		t.Errorf("start replica SQL thread: %v", err)
	}
}

// Redis returns the address of the test Redis and a key prefix unique to the
// test; keys under it are deleted when the test ends.
func Redis(t testing.TB) (addr, prefix string) {
	t.Helper()
	addr = need(t, "TEST_REDIS_ADDR")
	prefix = "test:" + suffix() + ":"
	t.Cleanup(func() {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return addr, prefix
}

// ClosedAddr returns a loopback address where nothing listens.
func ClosedAddr() string { return "127.0.0.1:1" }

// lockReplication holds, for the rest of the test, an exclusive lock shared by every test
// process on this machine that uses the replica at addr. Replication is state of the
// server, not of a test's database: go test runs packages in parallel, and one package's
// StopReplication (or its cleanup restarting the SQL thread) would otherwise change what
// another package's test reads from the replica at the same moment. Tests of one package
// run one at a time already; the lock makes the packages that share the replica do so too.
// Within a process it is counted, so a test that wires two stacks takes it once.
func lockReplication(t testing.TB, addr string) {
	t.Helper()
	replLock.Lock()
	defer replLock.Unlock()
	if replLock.held == 0 {
		path := filepath.Join(os.TempDir(), "scaling-aws-replica-"+unsafe.ReplaceAllString(addr, "_")+".lock")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatalf("replication lock: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			t.Fatalf("replication lock %s: %v", path, err)
		}
		replLock.file = f
	}
	replLock.held++
	// Registered first, so it runs last: after the cleanups that restart replication and
	// drop the test's database. Closing the file releases the lock.
	t.Cleanup(func() {
		replLock.Lock()
		defer replLock.Unlock()
		if replLock.held--; replLock.held == 0 {
			replLock.file.Close()
			replLock.file = nil
		}
	})
}

// replLock counts this process's holds of the replication lock.
var replLock struct {
	sync.Mutex
	held int
	file *os.File
}
