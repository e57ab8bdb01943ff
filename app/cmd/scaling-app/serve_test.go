package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	drv "github.com/go-sql-driver/mysql"

	"github.com/scaling-aws/scaling-aws/app/apptest"
)

// served is a run of the binary serving in the test, started by serve.
type served struct {
	// Base is the server's URL, http://127.0.0.1:port.
	Base   string
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	logs   strings.Builder
}

// serve runs the binary with -role role and env until the test stops it (or
// ends), and returns once it listens. It fails the test if the server exits
// first, with the logs it wrote.
func serve(t *testing.T, role string, env map[string]string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() { s.done <- run(ctx, []string{"-role", role}, envOf(env), pw); pw.Close() }()
	listening := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			s.mu.Lock()
			s.logs.WriteString(lines.Text() + "\n")
			s.mu.Unlock()
			var line map[string]any
			if json.Unmarshal(lines.Bytes(), &line) == nil && line["msg"] == "listening" {
				select {
				case listening <- line["addr"].(string):
				default:
				}
			}
		}
		close(listening)
	}()
	addr, ok := <-listening
	if !ok {
		cancel()
		t.Fatalf("the %s server stopped before listening: %v; logs:\n%s", role, <-s.done, s.Logs())
	}
	s.Base = "http://" + addr
	t.Cleanup(func() { s.stop(t, false) })
	return s
}

// Logs returns what the server has logged so far.
func (s *served) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Stop cancels the server and fails the test if it does not return cleanly
// within 30 seconds.
func (s *served) Stop(t *testing.T) { t.Helper(); s.stop(t, true) }

func (s *served) stop(t *testing.T, report bool) {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok && err != nil && report {
			t.Errorf("shutdown: %v", err)
		}
		if ok {
			close(s.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
}

// call sends a JSON request to the server with an optional bearer token and
// returns the status, the headers and the decoded JSON body (nil if none).
func (s *served) call(t *testing.T, method, path, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.Base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, res.Header, v
}

// privateDatabase starts a private MariaDB server with m's user and creates m's database
// on it (a second shard or the identity database beside m's primary); it returns the
// server, its driver configuration (no database selected) and an admin connection, closed
// when the test ends.
func privateDatabase(t *testing.T, m *apptest.MySQL) (*apptest.Server, *drv.Config, *sql.DB) {
	t.Helper()
	srv, cfg := apptest.StartMariaDB(t, m.Primary.User, m.Primary.Passwd)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE DATABASE `" + m.Primary.DBName + "`"); err != nil {
		t.Fatal(err)
	}
	return srv, cfg, admin
}
