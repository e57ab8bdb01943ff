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
	"slices"
	"testing"
	"time"
)

// bundleCerts parses every certificate of the embedded bundle.
func bundleCerts(t *testing.T) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := rdsCABundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return certs
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("bundle certificate %d: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
}

func byCommonName(certs []*x509.Certificate, cn string) *x509.Certificate {
	i := slices.IndexFunc(certs, func(c *x509.Certificate) bool { return c.Subject.CommonName == cn })
	if i < 0 {
		return nil
	}
	return certs[i]
}

// TestRDSCABundle checks what the app trusts for DB_TLS=rds: only Amazon RDS
// certificate authorities, every one still valid (this test fails the day one
// expires: refresh with scripts/rds-ca.sh), and the RSA2048 G1 root that
// components/database.go pins (caCertIdentifier rds-ca-rsa2048-g1) for each
// region listed.
func TestRDSCABundle(t *testing.T) {
	certs := bundleCerts(t)
	if len(certs) < 30 {
		t.Fatalf("bundle holds %d certificates, want the RDS CAs of every region", len(certs))
	}
	now := time.Now()
	for _, c := range certs {
		if !c.IsCA || !slices.Equal(c.Subject.Organization, []string{"Amazon Web Services, Inc."}) ||
			!slices.Equal(c.Subject.OrganizationalUnit, []string{"Amazon RDS"}) {
			t.Errorf("%s: not an Amazon RDS CA (IsCA %v)", c.Subject, c.IsCA)
		}
		if now.After(c.NotAfter) || now.Before(c.NotBefore) {
			t.Errorf("%s: valid %s to %s, not now: run scripts/rds-ca.sh", c.Subject, c.NotBefore, c.NotAfter)
		}
	}
	for _, region := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1",
		"ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "sa-east-1"} {
		if byCommonName(certs, "Amazon RDS "+region+" Root CA RSA2048 G1") == nil {
			t.Errorf("no RSA2048 G1 root for %s", region)
		}
	}
}

// TestAddRDSCAs checks that a pool given the RDS CAs trusts an RDS root (an
// empty pool does not) and still refuses a certificate authority it has never
// seen, even one named like RDS's.
func TestAddRDSCAs(t *testing.T) {
	root := byCommonName(bundleCerts(t), "Amazon RDS us-east-1 Root CA RSA2048 G1")
	if root == nil {
		t.Fatal("no us-east-1 RSA2048 G1 root")
	}
	pool := x509.NewCertPool()
	opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := root.Verify(opts); err == nil {
		t.Fatal("an empty pool trusts the RDS root")
	}
	if err := AddRDSCAs(pool); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Verify(opts); err != nil {
		t.Errorf("the us-east-1 RDS root does not verify against the pool: %v", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true,
		Subject:   pkix.Name{CommonName: root.Subject.CommonName, Organization: []string{"Amazon Web Services, Inc."}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	impostor, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if _, err := impostor.Verify(opts); !errors.As(err, &unknown) {
		t.Errorf("a self-made CA with an RDS name: error %v, want an unknown authority", err)
	}
}
