// Command baseline serves the minimal HTTP servers the app's benchmarks are
// measured against (issue 3, "Performance"): what a request costs with no app
// around it, on the same machine, libraries and servers.
//
//	go run ./cmd/baseline -mode=static -addr=127.0.0.1:9001
//	go run ./cmd/baseline -mode=redis  -addr=127.0.0.1:9002 -redis=127.0.0.1:6380
//	go run ./cmd/baseline -mode=select -addr=127.0.0.1:9003 -dsn='u:p@tcp(127.0.0.1:3307)/baseline' -read-dsn='u:p@tcp(127.0.0.1:3308)/baseline'
//	go run ./cmd/baseline -mode=insert -addr=127.0.0.1:9004 -dsn='u:p@tcp(127.0.0.1:3307)/baseline'
//
// Every mode answers GET /healthz, and the app's own routes:
//
//	static  GET /api/posts/{id}   the 1 KB post, JSON-encoded once at start
//	redis   GET /api/posts/{id}   one Redis GET of baseline:post:{id}
//	select  GET /api/posts/{id}   one primary-key SELECT on posts
//	insert  POST /api/posts       decode {"body": ...}, one INSERT into posts
//
// Posts have the app's shape (app.Post, the posts table of
// app/mysql/migrations without the users foreign key). At start the select
// and redis modes seed -seed posts with ids 1..N and Body as their body; the
// select mode waits until the -read-dsn server (a replica) has them.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// Body is the body of every seeded post: 1024 bytes, the seed's "1 KB per
// write" and the app's MaxPostBytes. scripts/bench.sh seeds the app with it too.
var Body = strings.Repeat("0123456789abcdef", 64)

// Post is the app's post as it is sent to clients (same JSON as app.Post).
type Post struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// schema is the app's posts table (app/mysql/migrations/000001) minus the
// foreign key to users, which the baseline has no use for.
const schema = `CREATE TABLE IF NOT EXISTS posts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  body VARCHAR(1024) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY posts_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

func main() {
	mode := flag.String("mode", "static", "static | redis | select | insert")
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	dsn := flag.String("dsn", "", "go-sql-driver DSN of the primary, with a database name (select, insert)")
	readDSN := flag.String("read-dsn", "", "DSN the select mode reads from (default: -dsn)")
	redisAddr := flag.String("redis", "", "Redis host:port (redis mode)")
	seed := flag.Int("seed", 1000, "posts to seed, ids 1..N (redis, select)")
	maxConns := flag.Int("max-conns", 32, "database pool size (the app's DB_MAX_OPEN_CONNS default)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, closeFn, err := handler(ctx, *mode, *dsn, *readDSN, *redisAddr, *seed, *maxConns)
	if err != nil {
		log.Fatalf("baseline %s: %v", *mode, err)
	}
	defer closeFn()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if *mode == "insert" {
		mux.Handle("POST /api/posts", h)
	} else {
		mux.Handle("GET /api/posts/{id}", h)
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("baseline %s listening on %s", *mode, *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("baseline %s: %v", *mode, err)
	}
}

// handler builds the request handler of mode and what closes its clients.
func handler(ctx context.Context, mode, dsn, readDSN, redisAddr string, seed, maxConns int) (http.Handler, func(), error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	switch mode {
	case "static":
		b, err := json.Marshal(&Post{ID: 1, UserID: 1, Body: Body, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return nil, nil, err
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		}), func() {}, nil

	case "redis":
		if redisAddr == "" {
			return nil, nil, errors.New("-redis is required")
		}
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		pipe := rdb.Pipeline()
		for id := 1; id <= seed; id++ {
			b, _ := json.Marshal(&Post{ID: int64(id), UserID: 1, Body: Body, CreatedAt: now, UpdatedAt: now})
			pipe.Set(ctx, "baseline:post:"+strconv.Itoa(id), b, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			rdb.Close()
			return nil, nil, fmt.Errorf("seed redis: %w", err)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := rdb.Get(r.Context(), "baseline:post:"+r.PathValue("id")).Bytes()
			if err != nil {
				http.Error(w, err.Error(), status(err))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		}), func() { rdb.Close() }, nil

	case "select", "insert":
		db, err := openDB(ctx, dsn, maxConns)
		if err != nil {
			return nil, nil, err
		}
		if mode == "insert" {
			return insertHandler(db), func() { db.Close() }, nil
		}
		if err := seedPosts(ctx, db, seed, now); err != nil {
			db.Close()
			return nil, nil, err
		}
		rdb := db
		if readDSN != "" {
			if rdb, err = openDB(ctx, readDSN, maxConns); err != nil {
				db.Close()
				return nil, nil, err
			}
			if err := waitRows(ctx, rdb, seed); err != nil {
				db.Close()
				rdb.Close()
				return nil, nil, err
			}
		}
		return selectHandler(rdb), func() { db.Close(); rdb.Close() }, nil
	}
	return nil, nil, fmt.Errorf("-mode=%q: want static, redis, select or insert", mode)
}

func status(err error) int {
	if errors.Is(err, redis.Nil) || errors.Is(err, sql.ErrNoRows) {
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// openDB opens dsn with a pool of maxConns, creating its database and the
// posts table where the server is writable (a read-only replica gets them
// through replication).
func openDB(ctx context.Context, dsn string, maxConns int) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.DBName == "" {
		return nil, fmt.Errorf("-dsn %q must be a go-sql-driver DSN naming a database: %v", dsn, err)
	}
	cfg.ParseTime = true
	// One round trip per query, as the app does (app/mysql sets the same):
	// without it the driver prepares, executes and closes a statement each time.
	cfg.InterpolateParams = true
	admin := cfg.Clone()
	admin.DBName = ""
	adb, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer adb.Close()
	var readOnly bool
	if err := adb.QueryRowContext(ctx, "SELECT @@read_only").Scan(&readOnly); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Addr, err)
	}
	if !readOnly {
		if _, err := adb.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+cfg.DBName+"`"); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if !readOnly {
		if _, err := db.ExecContext(ctx, schema); err != nil {
			db.Close()
			return nil, fmt.Errorf("create posts: %w", err)
		}
	}
	return db, nil
}

// seedPosts makes posts 1..n exist with Body as their body.
func seedPosts(ctx context.Context, db *sql.DB, n int, now time.Time) error {
	const batch = 500
	for lo := 1; lo <= n; lo += batch {
		hi := min(lo+batch-1, n)
		var q strings.Builder
		args := make([]any, 0, 5*(hi-lo+1))
		q.WriteString("INSERT IGNORE INTO posts (id, user_id, body, created_at, updated_at) VALUES ")
		for id := lo; id <= hi; id++ {
			if id > lo {
				q.WriteByte(',')
			}
			q.WriteString("(?,1,?,?,?)")
			args = append(args, id, Body, now, now)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("seed posts: %w", err)
		}
	}
	return nil
}

// waitRows waits up to a minute for post n to reach a replica.
func waitRows(ctx context.Context, db *sql.DB, n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var id int64
		err := db.QueryRowContext(ctx, "SELECT id FROM posts WHERE id = ?", n).Scan(&id)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("post %d has not reached the read server after a minute: %w", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func selectHandler(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Post
		err := db.QueryRowContext(r.Context(),
			"SELECT id, user_id, body, created_at, updated_at FROM posts WHERE id = ?", r.PathValue("id")).
			Scan(&p.ID, &p.UserID, &p.Body, &p.CreatedAt, &p.UpdatedAt)
		if err != nil {
			http.Error(w, err.Error(), status(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&p)
	})
}

func insertHandler(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Body string `json:"body"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		p := Post{UserID: 1, Body: in.Body, CreatedAt: now, UpdatedAt: now}
		res, err := db.ExecContext(r.Context(),
			"INSERT INTO posts (user_id, body, created_at, updated_at) VALUES (?, ?, ?, ?)",
			p.UserID, p.Body, p.CreatedAt, p.UpdatedAt)
		if err == nil {
			p.ID, err = res.LastInsertId()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(&p)
	})
}
