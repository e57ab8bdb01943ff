package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDBTLSConfig checks that DB_TLS=rds and DB_TLS=true verify the server:
// a server whose certificate authority is neither an RDS one nor in
// DB_TLS_CA_FILE is refused, one in DB_TLS_CA_FILE is accepted, and the
// certificate must name the host dialled.
func TestDBTLSConfig(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)          // certificate for 127.0.0.1 and example.com, its own CA
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dial := func(c *Config, serverName string) error {
		tc, err := c.dbTLSConfig()
		if err != nil {
			return err
		}
		if tc.InsecureSkipVerify || tc.ServerName != "" {
			t.Fatalf("DB_TLS=%s: InsecureSkipVerify %v, ServerName %q (must be left to the driver)", c.DBTLS, tc.InsecureSkipVerify, tc.ServerName)
		}
		tc.ServerName = serverName // what go-sql-driver sets from the address it dials
		conn, err := tls.Dial("tcp", addr, tc)
		if err == nil {
			conn.Close()
		}
		return err
	}
	var unknown x509.UnknownAuthorityError
	var badHost x509.HostnameError
	for _, tc := range []struct {
		cfg        Config
		serverName string
		want       any // an error type for errors.As; nil: the handshake succeeds
	}{
		{Config{DBTLS: "rds"}, "127.0.0.1", &unknown},
		{Config{DBTLS: "true"}, "127.0.0.1", &unknown},
		{Config{DBTLS: "rds", DBTLSCAFile: caFile}, "127.0.0.1", nil},
		{Config{DBTLS: "true", DBTLSCAFile: caFile}, "127.0.0.1", nil},
		{Config{DBTLS: "rds", DBTLSCAFile: caFile}, "db.example.org", &badHost},
	} {
		err := dial(&tc.cfg, tc.serverName)
		if tc.want == nil && err != nil || tc.want != nil && !errors.As(err, tc.want) {
			t.Errorf("DB_TLS=%s, CA file %v, server name %s: error %v, want %T", tc.cfg.DBTLS, tc.cfg.DBTLSCAFile != "", tc.serverName, err, tc.want)
		}
	}

	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Config{DBTLS: "rds", DBTLSCAFile: notPEM}).dbTLSConfig(); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}
