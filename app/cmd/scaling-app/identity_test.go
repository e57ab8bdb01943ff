package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/scaling-aws/scaling-aws/app/apptest"
)

func TestLoadIdentityConfig(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"IDENTITY_DB_HOST": "id", "IDENTITY_DB_REPLICAS": "r1,r2:3310",
		"IDENTITY_DB_PASSWORD_SECRET_ARN": "arn:id"}))
	if err != nil || c.IdentityDB.Host != "id" || c.IdentityDB.Port != 3306 ||
		strings.Join(c.IdentityDB.Replicas, ",") != "r1:3306,r2:3310" || !c.needsAWS() {
		t.Errorf("identity database: %+v %v", c.IdentityDB, err)
	}
	if c, err := loadConfig(envOf(nil)); err != nil || c.IdentityDB.Host != "" {
		t.Errorf("default: users on shard 0, got %+v %v", c.IdentityDB, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"IDENTITY_DB_PORT": "3307"}, "IDENTITY_DB_PORT is set but IDENTITY_DB_HOST is not"},
		{map[string]string{"IDENTITY_DB_HOST": "id:3306"}, `IDENTITY_DB_HOST="id:3306" must be a host name (no port)`},
		{map[string]string{"IDENTITY_DB_HOST": "id", "IDENTITY_DB_PORT": "x"}, `IDENTITY_DB_PORT="x" must be a port`},
		{map[string]string{"IDENTITY_DB_HOST": "id", "IDENTITY_DB_REPLICAS": ",r"}, `IDENTITY_DB_REPLICAS=",r": an entry is empty`},
		{map[string]string{"IDENTITY_DB_HOST": "127.0.0.1"}, "IDENTITY_DB_HOST=127.0.0.1 (port 3306) is the same server as shard 0"},
	} {
		if _, err := loadConfig(envOf(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.env, err, tc.want)
		}
	}
}

// TestRunIdentity moves to federation as an operator would: a user signs up
// and logs in on the single database; -copy-identity copies them to a
// private identity server; the server restarted with IDENTITY_DB_* logs that
// user in, keeps their session, signs new users up in the identity
// database only, and their posts still go to shard 0.
func TestRunIdentity(t *testing.T) {
	m := apptest.NewMySQL(t)
	_, ci, admin := privateDatabase(t, m)
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	_, portID, _ := strings.Cut(ci.Addr, ":")
	env := map[string]string{
		"APP_ADDR": "127.0.0.1:0", "DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd, "SESSION_CACHE_TTL": "0",
	}
	call := func(srv *served, method, path, token, body string) (int, map[string]any) {
		t.Helper()
		st, _, v := srv.call(t, method, path, token, body)
		return st, v
	}
	cred := func(name string) string {
		return fmt.Sprintf(`{"name":%q,"password":"a long enough passphrase 42"}`, name)
	}

	srv := serve(t, "write", env)
	if st, u := call(srv, "POST", "/api/users", "", cred("before")); st != 201 {
		t.Fatalf("sign up: %d %v", st, u)
	}
	st, s := call(srv, "POST", "/api/sessions", "", cred("before"))
	if st != 201 {
		t.Fatalf("log in: %d %v", st, s)
	}
	token := s["token"].(string)
	srv.Stop(t)

	env["IDENTITY_DB_HOST"], env["IDENTITY_DB_PORT"] = "127.0.0.1", portID
	if err := run(context.Background(), []string{"-migrate-only"}, envOf(env), io.Discard); err != nil {
		t.Fatalf("-migrate-only with the identity database: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-copy-identity"}, envOf(env), &out); err != nil {
		t.Fatalf("-copy-identity: %v", err)
	}
	if !strings.Contains(out.String(), "identity database holds all 1 users and 1 unexpired sessions") {
		t.Errorf("-copy-identity printed %q", out.String())
	}
	srv = serve(t, "write", env)
	if st, me := call(srv, "GET", "/api/me", token, ""); st != 200 {
		t.Errorf("the session from before the copy: %d %v", st, me)
	}
	if st, s := call(srv, "POST", "/api/sessions", "", cred("before")); st != 201 {
		t.Errorf("log in of the copied user: %d %v", st, s)
	}
	if st, u := call(srv, "POST", "/api/users", "", cred("after")); st != 201 {
		t.Fatalf("sign up with the identity database: %d %v", st, u)
	}
	if st, s = call(srv, "POST", "/api/sessions", "", cred("after")); st != 201 {
		t.Fatalf("log in of the new user: %d %v", st, s)
	}
	if st, p := call(srv, "POST", "/api/posts", s["token"].(string), `{"body":"hello"}`); st != 201 {
		t.Errorf("a post of a user of the identity database: %d %v", st, p)
	}
	var onID, on0 int
	admin.QueryRow("SELECT COUNT(*) FROM `" + m.Primary.DBName + "`.users WHERE name = 'after'").Scan(&onID)
	m.PrimaryDB.QueryRow("SELECT COUNT(*) FROM `" + m.Primary.DBName + "`.users WHERE name = 'after'").Scan(&on0)
	if onID != 1 || on0 != 0 {
		t.Errorf("the new user: %d rows in the identity database, %d on shard 0; want 1 and 0", onID, on0)
	}
}
