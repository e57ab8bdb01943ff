package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// stageServer is one "# server" section of a tests/testdata/bootenv file: the environment a
// stage writes for the app on one server, and the roles of its scheduled runs.
type stageServer struct {
	file, name string
	env        map[string]string
	jobs       []string
}

// stageServers reads every section of the boot environments the infrastructure tests pin
// (tests/bootenv_test.go, TestBootEnvGolden).
func stageServers(t *testing.T) []stageServer {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "tests", "testdata", "bootenv", "*.env"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no boot environments in tests/testdata/bootenv (%v): run go test ./tests -update", err)
	}
	var out []stageServer
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(fh)
		for lines.Scan() {
			line := lines.Text()
			if rest, ok := strings.CutPrefix(line, "# server "); ok {
				name, jobs, _ := strings.Cut(rest, " jobs: ")
				s := stageServer{file: filepath.Base(f), name: name, env: map[string]string{}}
				if jobs != "" {
					s.jobs = strings.Fields(jobs)
				}
				out = append(out, s)
				continue
			}
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || len(out) == 0 {
				t.Fatalf("%s: %q is not KEY=value in a server section", f, line)
			}
			out[len(out)-1].env[k] = v
		}
		fh.Close()
		if err := lines.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestStageEnvironments loads, with the app's own loader, the environment every stage
// writes on every server (and each scheduled role run with it): each loads without error,
// every variable is one the app reads (a misspelt name would be ignored silently), each
// server runs the role its tier is for, and what a stage provisions for the app is turned
// on in it (the read API counts views where the table exists, the archive job has its
// bucket and retention; the warehouse is optional: dev's two AZs have none).
func TestStageEnvironments(t *testing.T) {
	wantRole := map[string]string{"box": "all", "read-api": "read", "write-api": "write", "worker": "worker"}
	for _, s := range stageServers(t) {
		roles := append([]string{""}, s.jobs...)
		for _, role := range roles {
			asked := map[string]bool{}
			cfg, err := loadConfig(func(k string) string {
				asked[k] = true
				if k == "APP_ROLE" && role != "" {
					return role
				}
				return s.env[k]
			})
			where := s.file + " " + s.name
			if role != "" {
				where += " -role " + role
			}
			if err != nil {
				t.Errorf("%s: the app refuses the stage's environment: %v", where, err)
				continue
			}
			if role == "" {
				if want, ok := wantRole[s.name]; !ok || cfg.Role != want {
					t.Errorf("%s: APP_ROLE=%s, want %q for this server", where, cfg.Role, want)
				}
				var unread []string
				for k := range s.env {
					if !asked[k] {
						unread = append(unread, k)
					}
				}
				sort.Strings(unread)
				if len(unread) > 0 {
					t.Errorf("%s: the app never reads %v", where, unread)
				}
			}
			if s.env["DYNAMO_TABLE"] != "" && cfg.Role == "read" && !cfg.Counting() {
				t.Errorf("%s: the read API has the counters table but does not count views", where)
			}
			if n := s.env["DB_SHARD_COUNT"]; n != "" && fmt.Sprint(len(cfg.DBShards)) != n {
				t.Errorf("%s: DB_SHARD_COUNT=%s but the app opens %d shards", where, n, len(cfg.DBShards))
			}
			if s.env["IDENTITY_DB_HOST"] != "" && cfg.IdentityDB.Host == "" {
				t.Errorf("%s: the identity database is served but the app does not use it", where)
			}
			if cfg.Role == "archive" && (cfg.ArchiveBucket == "" || cfg.RetentionDays <= 0) {
				t.Errorf("%s: the archive run lacks its bucket or its retention: ARCHIVE_BUCKET=%q RETENTION_DAYS=%d", where, cfg.ArchiveBucket, cfg.RetentionDays)
			}
		}
	}
}
