package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	drv "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/scaling-aws/scaling-aws/app/apptest"
	apphttp "github.com/scaling-aws/scaling-aws/app/http"
	"github.com/scaling-aws/scaling-aws/app/mysql"
	"github.com/scaling-aws/scaling-aws/app/redis"
)

// tcpProxy forwards a loopback port to a server; Stop closes it and every connection
// through it, so to the app the server behind it is gone, as a stopped replica is.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) Stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// replica2 is the second replica scripts/services.sh starts (TEST_MYSQL_REPLICA2_DSN): its
// driver config for the test database and an admin connection.
func replica2(t *testing.T, m *apptest.MySQL) (*drv.Config, *sql.DB) {
	t.Helper()
	dsn := os.Getenv("TEST_MYSQL_REPLICA2_DSN")
	if dsn == "" {
		if os.Getenv("SCALING_AWS_REQUIRE_SERVERS") == "1" {
			t.Fatal("TEST_MYSQL_REPLICA2_DSN is not set and SCALING_AWS_REQUIRE_SERVERS=1: start the servers with scripts/services.sh")
		}
		t.Skip("TEST_MYSQL_REPLICA2_DSN is not set: start the servers with scripts/services.sh to run this test")
	}
	c, err := drv.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("TEST_MYSQL_REPLICA2_DSN: %v", err)
	}
	admin := c.Clone()
	admin.DBName = ""
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.DBName = m.Primary.DBName
	return c, db
}

// syncBoth waits until both replicas have applied everything the primary has written.
func syncBoth(t *testing.T, m *apptest.MySQL, r2 *sql.DB) {
	t.Helper()
	m.Sync(t)
	var pos string
	if err := m.PrimaryDB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	var res int
	if err := r2.QueryRow("SELECT MASTER_GTID_WAIT(?, 60)", pos).Scan(&res); err != nil || res != 0 {
		t.Fatalf("second replica did not reach GTID %s (result %d, err %v)", pos, res, err)
	}
}

// tiers is users+++ on the test servers: a read-API server whose database balances over two
// replicas (each behind a proxy that can stop it), a write-API server on the primary only,
// one Redis for both (sessions and posts), and a router sending GET and HEAD to the read API
// and the rest to the write API, as the internal load balancer does.
type tiers struct {
	url          string
	m            *apptest.MySQL
	r2           *sql.DB
	proxies      [2]*tcpProxy
	readMetrics  *prometheus.Registry
	writeMetrics *prometheus.Registry
}

func newTiers(t *testing.T) *tiers {
	t.Helper()
	ctx := context.Background()
	m := apptest.NewMySQL(t)
	r2cfg, r2 := replica2(t, m)
	redisAddr, prefix := apptest.Redis(t)
	if err := mysql.Migrate(ctx, m.Primary, quiet); err != nil {
		t.Fatal(err)
	}
	syncBoth(t, m, r2)
	x := &tiers{m: m, r2: r2}
	x.proxies = [2]*tcpProxy{newTCPProxy(t, m.Replica.Addr), newTCPProxy(t, r2cfg.Addr)}

	rc := redis.NewClient(redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rc.Close() })
	sessions := redis.NewSessions(rc, prefix, nil)

	server := func(role apphttp.Role, replicas []string) (*httptest.Server, *prometheus.Registry) {
		reg := prometheus.NewRegistry()
		db, err := mysql.Open(ctx, m.Primary, replicas, mysql.Options{Logger: quiet, Registerer: reg, HealthInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		// The in-process layer lives a nanosecond, so a second read shows the shared
		// cache (Redis), not this process's memory; the fence is shorter than the default
		// 5 s but long enough for a replica's answer to be cached (fenceTTL).
		cache := redis.NewPostCache(rc, db, redis.CacheOptions{Prefix: prefix, Logger: quiet, Registerer: reg,
			LocalTTL: time.Nanosecond, FenceTTL: fenceTTL})
		t.Cleanup(cache.Close)
		srv := &apphttp.Server{Role: role, Users: db, Posts: cache, Sessions: sessions, BcryptCost: 4,
			Logger: quiet, Registerer: reg, Gatherer: reg}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return hs, reg
	}
	read, readReg := server(apphttp.RoleRead, []string{x.proxies[0].Addr(), x.proxies[1].Addr()})
	write, writeReg := server(apphttp.RoleWrite, nil) // the write API never reads a replica
	x.readMetrics, x.writeMetrics = readReg, writeReg

	ru, _ := url.Parse(read.URL)
	wu, _ := url.Parse(write.URL)
	toRead, toWrite := httputil.NewSingleHostReverseProxy(ru), httputil.NewSingleHostReverseProxy(wu)
	router := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			toRead.ServeHTTP(w, r)
			return
		}
		toWrite.ServeHTTP(w, r)
	}))
	t.Cleanup(router.Close)
	x.url = router.URL
	return x
}

// client is a client of the router, with its own cookies.
func (x *tiers) client(t *testing.T) *client {
	s := &stack{t: t, url: x.url}
	return s.client()
}

// counter sums a counter of reg whose labels include every pair given.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == pairs[i] && l.GetValue() == pairs[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}

// reads are the read API's database reads by target, and its shared-cache hits.
type reads struct{ replica, primary, cacheHit float64 }

func (x *tiers) reads(t *testing.T) reads {
	return reads{
		replica:  counter(t, x.readMetrics, "app_db_reads_total", "target", "replica", "result", "ok"),
		primary:  counter(t, x.readMetrics, "app_db_reads_total", "target", "primary"),
		cacheHit: counter(t, x.readMetrics, "app_cache_requests_total", "layer", "redis", "result", "hit"),
	}
}

// fenceTTL is the cache's write fence in these tests. The cache keeps a replica's answer only
// when the replica's lag bound (last measured lag + 1 s + the measurement's age) is under
// the fence, so the fence must exceed about 1.1 s for any replica read to be cached.
const fenceTTL = 2 * time.Second

// TestUsersPlus3ReadsAndWrites: the read and write tiers of users+++ on two real replicas and
// Redis. A cache miss is served by a replica, the next read by the cache; a stopped replica
// fails no read; and a writer reads its write back at once while both replicas lag.
func TestUsersPlus3ReadsAndWrites(t *testing.T) {
	x := newTiers(t)
	writer := x.client(t)
	writer.signUp("writer")
	ids := make([]int64, 6)
	for i := range ids {
		ids[i] = writer.post(fmt.Sprintf("post %d", i))
	}
	syncBoth(t, x.m, x.r2)
	time.Sleep(fenceTTL + 200*time.Millisecond) // past the writes' fences, so a read may fill the cache
	reader := x.client(t)                       // no session, no sticky cookie: plain reads

	get := func(c *client, id int64) response {
		t.Helper()
		return c.call("GET", fmt.Sprintf("/api/posts/%d", id), "")
	}

	// A cache miss is served by a replica, never the primary.
	before := x.reads(t)
	if r := get(reader, ids[0]); r.status != 200 || r.json()["body"] != "post 0" {
		t.Fatalf("first read: %d %s", r.status, r.body)
	}
	after := x.reads(t)
	if after.replica != before.replica+1 || after.primary != before.primary {
		t.Fatalf("a cache miss must read one replica and not the primary: before %+v, after %+v", before, after)
	}

	// The next read of the same post is served from the cache (Redis): no database read.
	before = after
	if r := get(reader, ids[0]); r.status != 200 || r.json()["body"] != "post 0" {
		t.Fatalf("second read: %d %s", r.status, r.body)
	}
	after = x.reads(t)
	if after.cacheHit != before.cacheHit+1 || after.replica != before.replica || after.primary != before.primary {
		t.Fatalf("a cached read must touch no database: before %+v, after %+v", before, after)
	}

	// Reads balance over both replicas: cold posts land on each in turn.
	selects := func(db *sql.DB) int {
		var name string
		var n int
		if err := db.QueryRow("SHOW GLOBAL STATUS LIKE 'Com_select'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s1, s2 := selects(x.m.ReplicaDB), selects(x.r2)
	for _, id := range ids[1:3] {
		if r := get(reader, id); r.status != 200 {
			t.Fatalf("read %d: %d %s", id, r.status, r.body)
		}
	}
	if selects(x.m.ReplicaDB) <= s1 || selects(x.r2) <= s2 {
		t.Fatalf("reads did not reach both replicas (Com_select %d->%d, %d->%d)", s1, selects(x.m.ReplicaDB), s2, selects(x.r2))
	}

	// A replica stops: no read fails, the other replica serves them.
	x.proxies[1].Stop()
	before = x.reads(t)
	for _, id := range ids[3:] {
		for i := 0; i < 3; i++ { // also reads that are not cold: every one must succeed
			if r := get(reader, id); r.status != 200 || !strings.HasPrefix(fmt.Sprint(r.json()["body"]), "post ") {
				t.Fatalf("read %d with a replica stopped: %d %s", id, r.status, r.body)
			}
		}
	}
	after = x.reads(t)
	if after.replica < before.replica+1 {
		t.Fatalf("the remaining replica served no read: before %+v, after %+v", before, after)
	}

	// Both replicas lag (SQL threads stopped): a writer still reads its write back at once
	// (its sticky window sends its reads to the primary), while a plain reader, reading a
	// replica, does not see the post yet.
	x.m.StopReplication(t)
	if _, err := x.r2.Exec("STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.r2.Exec("START SLAVE SQL_THREAD") })
	id := writer.post("fresh")
	if r := get(writer, id); r.status != 200 || r.json()["body"] != "fresh" {
		t.Fatalf("the writer does not read its own write at once: %d %s", r.status, r.body)
	}
	if r := get(reader, id); r.status != 404 {
		t.Fatalf("a plain reader saw the post through a lagging replica (%d %s): the test proves nothing", r.status, r.body)
	}
	if n := counter(t, x.writeMetrics, "app_db_reads_total", "target", "replica"); n != 0 {
		t.Fatalf("the write API read a replica %v times", n)
	}
}
