package mysql

import (
	"crypto/x509"
	_ "embed"
	"fmt"
)

// rdsCABundle is the certificate authorities of Amazon RDS in every region
// (RSA2048, RSA4096 and ECC384 G1 roots, and the older ones still valid),
// written by scripts/rds-ca.sh with its source in the header. Embedded so that
// a server with no route to the internet can still verify its database.
//
//go:embed rds-ca-bundle.pem
var rdsCABundle []byte

// AddRDSCAs adds the Amazon RDS certificate authorities to pool, to verify an
// RDS endpoint's certificate (DB_TLS=rds). RDS certificates are not signed by a
// public CA, so the system's roots alone would refuse them; skipping
// verification instead would let anyone on the path impersonate the database.
func AddRDSCAs(pool *x509.CertPool) error {
	if !pool.AppendCertsFromPEM(rdsCABundle) {
		return fmt.Errorf("the embedded RDS CA bundle holds no certificate: run scripts/rds-ca.sh")
	}
	return nil
}
