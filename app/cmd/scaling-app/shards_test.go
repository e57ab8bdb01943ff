package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

func TestLoadShardConfig(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"DB_HOST": "db0", "DB_PORT": "3307", "DB_REPLICAS": "r0"}))
	if err != nil || len(c.DBShards) != 1 || c.DBShards[0].Host != "db0" || c.DBShards[0].Port != 3307 ||
		c.DBShardMapRefresh != 2*time.Second {
		t.Fatalf("default: one shard, the primary database: %+v %v", c, err)
	}
	c, err = loadConfig(envOf(map[string]string{"DB_SHARD_COUNT": "3", "DB_PORT": "3307",
		"DB_SHARD_1_HOST": "db1", "DB_SHARD_1_REPLICAS": "r1a, r1b:3310", "DB_SHARD_1_PASSWORD_SECRET_ARN": "arn:s1",
		"DB_SHARD_2_HOST": "db2", "DB_SHARD_2_PORT": "3308", "DB_SHARD_MAP_REFRESH": "500ms"}))
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := c.DBShards[1], c.DBShards[2]
	if len(c.DBShards) != 3 || s1.Host != "db1" || s1.Port != 3307 || strings.Join(s1.Replicas, ",") != "r1a:3307,r1b:3310" ||
		s1.PasswordSecretARN != "arn:s1" || s2.Port != 3308 || s2.Replicas != nil || c.DBShardMapRefresh != 500*time.Millisecond {
		t.Errorf("three shards: %+v", c.DBShards)
	}
	if !c.needsAWS() {
		t.Error("a shard's password secret needs AWS")
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DB_SHARD_COUNT": "0"}, `DB_SHARD_COUNT="0" must be a number from 1 to 16`},
		{map[string]string{"DB_SHARD_COUNT": "17"}, `DB_SHARD_COUNT="17" must be a number from 1 to 16`},
		{map[string]string{"DB_SHARD_COUNT": "2"}, `DB_SHARD_1_HOST="": DB_SHARD_COUNT=2 needs a host name`},
		{map[string]string{"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "db1:3306"}, `DB_SHARD_1_HOST="db1:3306"`},
		{map[string]string{"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "db1", "DB_SHARD_1_PORT": "0"},
			`DB_SHARD_1_PORT="0" must be a port from 1 to 65535`},
		{map[string]string{"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "db1", "DB_SHARD_1_REPLICAS": "r,,s"},
			`DB_SHARD_1_REPLICAS="r,,s": an entry is empty`},
		{map[string]string{"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "127.0.0.1"},
			`DB_SHARD_1_HOST=127.0.0.1 (port 3306) is the same server as shard 0`},
		{map[string]string{"DB_SHARD_COUNT": "3", "DB_SHARD_1_HOST": "db1", "DB_SHARD_2_HOST": "db1"},
			`DB_SHARD_2_HOST=db1 (port 3306) is the same server as shard 1`},
		{map[string]string{"DB_SHARD_2_HOST": "db2"}, `DB_SHARD_2_HOST is set, but DB_SHARD_COUNT=1 uses shards 0 to 0: raise DB_SHARD_COUNT to 3`},
		{map[string]string{"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "db1", "DB_SHARD_16_PORT": "1"}, `DB_SHARD_16_PORT is set`},
		{map[string]string{"DB_SHARD_0_HOST": "db0"}, `DB_SHARD_0_HOST is set, but shard 0 is the primary database: use DB_HOST`},
		{map[string]string{"DB_SHARD_MAP_REFRESH": "1ms"}, `DB_SHARD_MAP_REFRESH="1ms" must be a duration from 100ms to 1m`},
	} {
		_, err := loadConfig(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.env, err, tc.want)
		}
	}
}

func TestParseMove(t *testing.T) {
	from, to, b, err := parseMove("0:2:3,5-6", 3)
	if err != nil || from != 0 || to != 2 || fmt.Sprint(b) != "[3 5 6]" {
		t.Errorf("parseMove: %d %d %v %v", from, to, b, err)
	}
	for _, bad := range []string{"0:1", "0:0:1", "0:3:1", "x:1:1", "0:1:1024", "0:1:"} {
		if _, _, _, err := parseMove(bad, 3); err == nil || !strings.Contains(err.Error(), "expected FROM:TO:BUCKETS") {
			t.Errorf("parseMove(%q): %v, want an error explaining the form", bad, err)
		}
	}
}

// TestRunSharded runs the binary with two shards (shard 1 a private
// server), moves a user's bucket with -move-buckets while the server runs,
// and checks over HTTP that the user's posts go to shard 1, and that with
// shard 1 hung that user gets 503 with Retry-After naming the data shard
// while another user is served and /readyz stays ready.
func TestRunSharded(t *testing.T) {
	m := apptest.NewMySQL(t)
	srv1, c1, admin := privateDatabase(t, m)
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	_, port1, _ := strings.Cut(c1.Addr, ":")
	env := map[string]string{
		"APP_ADDR": "127.0.0.1:0", "DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd, "DB_REPLICAS": m.Replica.Addr,
		"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "127.0.0.1", "DB_SHARD_1_PORT": port1,
		"DB_SHARD_MAP_REFRESH": "100ms", "SESSION_CACHE_TTL": "0",
	}
	if err := run(context.Background(), []string{"-migrate-only"}, envOf(env), io.Discard); err != nil {
		t.Fatalf("-migrate-only: %v", err)
	}
	srv := serve(t, "write", env)
	call := func(method, path, token, body string) (int, http.Header, map[string]any) {
		t.Helper()
		return srv.call(t, method, path, token, body)
	}
	login := func(name string) (int64, string) {
		t.Helper()
		cred := fmt.Sprintf(`{"name":%q,"password":"a long enough passphrase 42"}`, name)
		st, _, u := call("POST", "/api/users", "", cred)
		if st != 201 {
			t.Fatalf("sign up %s: %d %v", name, st, u)
		}
		st, _, s := call("POST", "/api/sessions", "", cred)
		if st != 201 && st != 200 {
			t.Fatalf("log in %s: %d %v", name, st, s)
		}
		return int64(u["id"].(float64)), s["token"].(string)
	}
	movedID, movedTok := login("moved")
	_, stayTok := login("stayed")

	var out bytes.Buffer
	spec := fmt.Sprintf("0:1:%d", mysql.BucketOf(movedID))
	if err := run(context.Background(), []string{"-move-buckets", spec}, envOf(env), &out); err != nil {
		t.Fatalf("-move-buckets %s: %v", spec, err)
	}
	if !strings.Contains(out.String(), "moved 1 buckets from shard 0 to shard 1") {
		t.Errorf("-move-buckets printed %q", out.String())
	}
	post := func(tok, body string) string {
		t.Helper()
		st, _, p := call("POST", "/api/posts", tok, fmt.Sprintf(`{"body":%q}`, body))
		if st != 201 {
			t.Fatalf("post: %d %v", st, p)
		}
		return fmt.Sprint(int64(p["id"].(float64)))
	}
	movedPost, stayPost := post(movedTok, "on shard 1"), post(stayTok, "on shard 0")
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM `"+m.Primary.DBName+"`.posts WHERE id = ?", movedPost).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the moved user's post is not on shard 1: %d %v", n, err)
	}

	// The feed merges both shards (within its refresh and the replicas'
	// lag), and keeps shard 1's posts while it hangs.
	both := func() (bool, string) {
		st, _, body := call("GET", "/api/posts?limit=10", "", "")
		b := fmt.Sprint(st, body)
		return st == 200 && strings.Contains(b, "on shard 1") && strings.Contains(b, "on shard 0"), b
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ok, b := both()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed never showed both users' posts: %s", b)
		}
	}
	srv1.Pause()
	defer srv1.Resume()
	time.Sleep(3 * time.Second) // a refresh of the feed meets the hung shard
	if ok, b := both(); !ok {
		t.Errorf("the feed with shard 1 hung: %s, want both users' posts still", b)
	}
	st, h, body := call("GET", "/api/posts/"+movedPost, "", "")
	if st != 503 || h.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(body), "data shard is unavailable") {
		t.Errorf("the moved user's post with shard 1 hung: %d Retry-After %q %v, want 503 naming the data shard", st, h.Get("Retry-After"), body)
	}
	if st, _, body := call("GET", "/api/posts/"+stayPost, "", ""); st != 200 {
		t.Errorf("the other user's post with shard 1 hung: %d %v", st, body)
	}
	res, err := http.Get(srv.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(metrics), `shard="1"`) || !strings.Contains(string(metrics), `shard="0"`) {
		t.Errorf("/metrics has no series labelled with shard 0 and 1")
	}
	if st, _, body := call("GET", "/readyz", "", ""); st != 200 {
		t.Errorf("readyz with shard 1 hung: %d %v, want 200 (shard 1's check is optional)", st, body)
	}
	srv1.Resume()
	srv.Stop(t)
}

// TestOpenShardsOne: with the default single shard nothing of sharding is
// opened: shard 0 alone, no router (so no map is read, no fence is taken),
// and its metrics keep their names and labels.
func TestOpenShardsOne(t *testing.T) {
	m := apptest.NewMySQL(t)
	if err := mysql.Migrate(context.Background(), m.Primary, slog.Default()); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	shards, router, closeAll, err := openShards(context.Background(), c, m.Primary, mysql.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if len(shards) != 1 || router != nil {
		t.Fatalf("one shard: %d databases, router %v; want shard 0 only", len(shards), router)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "shard" {
					t.Errorf("metric %s has a shard label with one shard", mf.GetName())
				}
			}
		}
	}
}

// TestShardDBConfig: a shard's and the identity database's driver settings
// are shard 0's at their own address, with their own credentials when their
// secret gave some, and a TLS setup still unresolved, so that the driver
// checks each server's certificate against the host it dials.
func TestShardDBConfig(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"DB_HOST": "db0", "DB_USER": "app", "DB_PASSWORD": "p0", "DB_TLS": "true",
		"DB_SHARD_COUNT": "2", "DB_SHARD_1_HOST": "db1", "DB_SHARD_1_PORT": "3310", "IDENTITY_DB_HOST": "id"}))
	if err != nil {
		t.Fatal(err)
	}
	base, err := c.mysqlConfig()
	if err != nil {
		t.Fatal(err)
	}
	s1 := c.shardDBConfig(1, base)
	if s1.Addr != "db1:3310" || s1.User != "app" || s1.Passwd != "p0" || s1.DBName != base.DBName || s1.TLSConfig != "app" || s1.TLS != nil {
		t.Errorf("shard 1 without a secret: %+v", s1)
	}
	c.DBShards[1].User, c.DBShards[1].Password = "admin", "p1"
	c.IdentityDB.Password = "pi"
	if s1 := c.shardDBConfig(1, base); s1.User != "admin" || s1.Passwd != "p1" || base.Passwd != "p0" {
		t.Errorf("shard 1 with its secret: user %q, base password changed: %v", s1.User, base.Passwd != "p0")
	}
	if id := c.identityDBConfig(base); id.Addr != "id:3306" || id.User != "app" || id.Passwd != "pi" || id.TLS != nil {
		t.Errorf("identity database: %+v", id)
	}
}
