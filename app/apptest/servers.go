package apptest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	drv "github.com/go-sql-driver/mysql"
	goredis "github.com/redis/go-redis/v9"
)

// Server is a server process private to one test, so that a fault can be
// injected into it (SIGSTOP, SIGKILL, a restart with no data) without
// disturbing the other tests, which share the servers of scripts/services.sh
// and may run at the same time in other packages.
type Server struct {
	// Addr is its loopback host:port.
	Addr string
	t    testing.TB
	cmd  *exec.Cmd
	args []string
	done chan struct{}
}

// findBin returns the path of the first of names on PATH or in the sbin
// folders, or skips the test (fails it under SCALING_AWS_REQUIRE_SERVERS=1).
func findBin(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
			if p := filepath.Join(d, n); isExec(p) {
				return p
			}
		}
	}
	if os.Getenv("SCALING_AWS_REQUIRE_SERVERS") == "1" {
		t.Fatalf("%s not found and SCALING_AWS_REQUIRE_SERVERS=1: scripts/services.sh install installs it", names[0])
	}
	t.Skipf("%s not found: scripts/services.sh installs it", names[0])
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// freePort returns a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.args[0], err)
	}
	s.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(s.cmd, s.done)
}

// stopProcess ends the process (SIGCONT first, in case it is stopped) and
// waits for it.
func (s *Server) stopProcess() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Pause sends SIGSTOP: the process keeps its port open (the kernel still
// accepts connections) but answers nothing, like a hung server. Resume, or
// the end of the test, sends SIGCONT.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("SIGSTOP: %v", err)
	}
	// The signal is delivered asynchronously: wait until the process is
	// seen stopped (state T in /proc/PID/stat, after the command name).
	stat := fmt.Sprintf("/proc/%d/stat", s.Pid())
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(stat)
		if i := strings.LastIndexByte(string(b), ')'); err == nil && i >= 0 && strings.HasPrefix(string(b[i:]), ") T") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("process %d not stopped 5s after SIGSTOP: %s %v", s.Pid(), b, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// Resume sends SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("SIGCONT: %v", err)
	}
}

// Pid is the process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// StartRedis starts a private redis-server without persistence on a free
// loopback port; it is stopped when the test ends.
func StartRedis(t testing.TB) *Server {
	t.Helper()
	bin := findBin(t, "redis-server")
	port := freePort(t)
	s := &Server{t: t, Addr: "127.0.0.1:" + strconv.Itoa(port), args: []string{bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--logfile", ""}}
	s.start()
	t.Cleanup(s.stopProcess)
	s.waitRedis()
	return s
}

func (s *Server) waitRedis() {
	s.t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("private redis-server at %s not ready: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RestartRedis kills a private Redis (SIGKILL: no clean shutdown) and starts
// it again, empty, on the same port: a restart or a failover to an empty node.
func (s *Server) RestartRedis() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	<-s.done
	s.start()
	s.waitRedis()
}

// StartMariaDB initialises and starts a private mariadbd on a free loopback
// port, with user (password) holding every privilege, and returns it with a
// driver configuration for that user (no database selected). Give it the
// shared servers' user to use it as a replica of a DB opened on them. It
// takes a few seconds (mariadb-install-db).
func StartMariaDB(t testing.TB, user, password string) (*Server, *drv.Config) {
	t.Helper()
	return startMariaDB(t, user, password, nil)
}

// StartMariaDBPair starts two private mariadbd as StartMariaDB does, the
// second a read-only replica of the first (binlog, GTID, MASTER_USE_GTID),
// so that a test can stop a primary and keep its replica, or both. The user
// is created on each server outside the binlog, so replication starts clean.
func StartMariaDBPair(t testing.TB, user, password string) (primary, replica *Server, pc, rc *drv.Config) {
	t.Helper()
	primary, pc = startMariaDB(t, user, password, []string{"--log-bin=mariadb-bin", "--server-id=1", "--binlog-format=ROW"})
	replica, rc = startMariaDB(t, user, password, []string{"--server-id=2", "--read-only=ON", "--log-bin=mariadb-bin"})
	db, err := sql.Open("mysql", rc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	host, port, _ := net.SplitHostPort(primary.Addr)
	for _, q := range []string{
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='%s', MASTER_PASSWORD='%s', "+
			"MASTER_USE_GTID=slave_pos", host, port, user, password),
		"START SLAVE",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("private replica: %s: %v", strings.SplitN(q, " MASTER_PASSWORD", 2)[0], err)
		}
	}
	t.Cleanup(func() {
		if c, err := sql.Open("mysql", rc.FormatDSN()); err == nil {
			c.Exec("STOP SLAVE")
			c.Close()
		}
	})
	return primary, replica, pc, rc
}

// SyncPair waits until the replica of StartMariaDBPair has applied all the
// primary has written (MASTER_GTID_WAIT).
func SyncPair(t testing.TB, pc, rc *drv.Config) {
	t.Helper()
	p, err := sql.Open("mysql", pc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := sql.Open("mysql", rc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pos string
	if err := p.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatalf("private primary GTID position: %v", err)
	}
	var res int
	if err := r.QueryRow("SELECT MASTER_GTID_WAIT(?, 30)", pos).Scan(&res); err != nil || res != 0 {
		t.Fatalf("private replica did not reach GTID %s within 30s (result %d, err %v)", pos, res, err)
	}
}

func startMariaDB(t testing.TB, user, password string, extra []string) (*Server, *drv.Config) {
	t.Helper()
	mariadbd := findBin(t, "mariadbd", "mysqld")
	installDB := findBin(t, "mariadb-install-db", "mysql_install_db")
	// A short folder: the socket path must fit in sun_path (108 bytes).
	dir, err := os.MkdirTemp("", "apptest-db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var asUser []string
	if os.Getuid() == 0 {
		asUser = []string{"--user=root"}
	}
	install := exec.Command(installDB, append([]string{"--no-defaults", "--datadir=" + dir + "/data",
		"--auth-root-authentication-method=normal", "--skip-test-db"}, asUser...)...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freePort(t)
	sock := dir + "/mysqld.sock"
	s := &Server{t: t, Addr: "127.0.0.1:" + strconv.Itoa(port), args: append([]string{mariadbd, "--no-defaults",
		"--datadir=" + dir + "/data", "--socket=" + sock, "--pid-file=" + dir + "/mariadbd.pid",
		"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--log-error=" + dir + "/error.log", "--performance-schema=OFF", "--innodb-buffer-pool-size=32M",
		"--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci"}, append(extra, asUser...)...)}
	s.start()
	t.Cleanup(s.stopProcess)

	root := drv.NewConfig()
	root.User, root.Net, root.Addr = "root", "unix", sock
	admin, err := sql.Open("mysql", root.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// One connection, so that sql_log_bin below holds for the statements
	// after it.
	admin.SetMaxOpenConns(1)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(dir + "/error.log")
			t.Fatalf("private mariadbd exited during start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private mariadbd at %s not ready after 60s: %v", s.Addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, q := range []string{
		// Not in the binlog: each server of a pair creates the user itself.
		"SET SESSION sql_log_bin = 0",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%'", user),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("private mariadbd: %s: %v", q, err)
		}
	}
	c := drv.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = user, password, "tcp", s.Addr
	return s, c
}
