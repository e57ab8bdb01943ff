package mysql

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

func bundleCerts(t *testing.T) map[string]*x509.Certificate {
	t.Helper()
	certs := map[string]*x509.Certificate{}
	rest := rdsCABundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("bundle: %v", err)
		}
		certs[c.Subject.CommonName] = c
	}
	return certs
}

// TestRDSCABundle checks what the app trusts for DB_TLS=rds: only Amazon RDS
// certificate authorities, all still valid (this test fails the day one
// expires: refresh with scripts/rds-ca.sh), and the RSA2048 G1 root that
// components/database.go pins (caCertIdentifier rds-ca-rsa2048-g1) for each
// region listed.
func TestRDSCABundle(t *testing.T) {
	certs := bundleCerts(t)
	if len(certs) < 30 {
		t.Fatalf("bundle holds %d certificates, want the RDS CAs of every region", len(certs))
	}
	now := time.Now()
	for cn, c := range certs {
		if !c.IsCA || c.Subject.Organization[0] != "Amazon Web Services, Inc." || c.Subject.OrganizationalUnit[0] != "Amazon RDS" {
			t.Errorf("%s: not an Amazon RDS CA (IsCA %v, subject %s)", cn, c.IsCA, c.Subject)
		}
		if now.After(c.NotAfter) || now.Before(c.NotBefore) {
			t.Errorf("%s: valid %s to %s, not now: run scripts/rds-ca.sh", cn, c.NotBefore, c.NotAfter)
		}
	}
	for _, region := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1",
		"ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "sa-east-1"} {
		if _, ok := certs["Amazon RDS "+region+" Root CA RSA2048 G1"]; !ok {
			t.Errorf("no RSA2048 G1 root for %s", region)
		}
	}
}

// TestRDSCertPool checks that the pool trusts an RDS root and refuses a
// certificate authority it has never seen.
func TestRDSCertPool(t *testing.T) {
	pool, err := RDSCertPool()
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	root := bundleCerts(t)["Amazon RDS us-east-1 Root CA RSA2048 G1"]
	if root == nil {
		t.Fatal("no us-east-1 RSA2048 G1 root")
	}
	if _, err := root.Verify(opts); err != nil {
		t.Errorf("the us-east-1 RDS root does not verify against the pool: %v", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true,
		Subject:   pkix.Name{CommonName: "Amazon RDS us-east-1 Root CA RSA2048 G1", Organization: []string{"Amazon Web Services, Inc."}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	impostor, _ := x509.ParseCertificate(der)
	var unknown x509.UnknownAuthorityError
	if _, err := impostor.Verify(opts); !errors.As(err, &unknown) {
		t.Errorf("a self-made CA with an RDS name: error %v, want an unknown authority", err)
	}
}
