package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scaling-aws/scaling-aws/app/apptest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != "all" || c.Addr != ":8080" || c.DBPort != 3306 || c.DBName != "app" || !c.DBMigrate ||
		c.QueueBackend != "none" || c.DBMaxOpenConns != 32 || c.RedisAddr != "" || c.SessionCacheTTL != time.Second {
		t.Errorf("defaults: %+v", c)
	}
	if c.SlowRequest != time.Second || c.StatsDAddr != "" || c.SentryDSN != "" {
		t.Errorf("observability defaults: slow %v statsd %q sentry %q", c.SlowRequest, c.StatsDAddr, c.SentryDSN)
	}
	c, err = loadConfig(envOf(map[string]string{"APP_SLOW_REQUEST": "0", "STATSD_ADDR": "127.0.0.1:8125",
		"SENTRY_DSN": " https://k@o1.ingest.sentry.io/42 ", "SENTRY_ENVIRONMENT": "prod"}))
	if err != nil || c.SlowRequest >= 0 || c.StatsDAddr != "127.0.0.1:8125" || c.SentryDSN != "https://k@o1.ingest.sentry.io/42" ||
		c.SentryEnvironment != "prod" {
		t.Errorf("observability settings: %+v %v", c, err)
	}
	if c.DynamoTable != "" || c.Counting() || c.CounterFlushInterval != time.Second {
		t.Errorf("view counter defaults: table %q counting %v flush %v", c.DynamoTable, c.Counting(), c.CounterFlushInterval)
	}
	for role, counts := range map[string]bool{"all": true, "read": true, "write": false, "worker": false} {
		env := map[string]string{"APP_ROLE": role, "DYNAMO_TABLE": "scaling-prod-counters"}
		if role == "worker" {
			env["QUEUE_BACKEND"], env["REDIS_ADDR"], env["S3_BUCKET"] = "redis", "127.0.0.1:6379", "b"
		}
		c, err := loadConfig(envOf(env))
		if err != nil || c.Counting() != counts || (counts && !c.needsAWS()) {
			t.Errorf("role %s with DYNAMO_TABLE: counting %v (want %v), needsAWS %v, err %v", role, c.Counting(), counts, c.needsAWS(), err)
		}
	}
	c, _ = loadConfig(envOf(map[string]string{"APP_ROLE": "read", "DB_REPLICAS": " r1:3307, r2 "}))
	if c.DBMigrate || strings.Join(c.DBReplicas, ",") != "r1:3307,r2:3306" {
		t.Errorf("read role: migrate %v replicas %v", c.DBMigrate, c.DBReplicas)
	}
	c, err = loadConfig(envOf(map[string]string{"DB_REPLICAS": "[::1]:3307,10.0.0.5", "APP_ORIGINS": "https://www.example.com, http://localhost:8080"}))
	if err != nil || strings.Join(c.DBReplicas, ",") != "[::1]:3307,10.0.0.5:3306" || strings.Join(c.Origins, ",") != "https://www.example.com,http://localhost:8080" {
		t.Errorf("replicas and origins: %v %v %v", c, err, c.Origins)
	}
}

func TestLoadConfigArchive(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"APP_ROLE": "archive", "ARCHIVE_BUCKET": "scaling-archive",
		"RETENTION_DAYS": "365"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ArchivePrefix != "archive/" || c.ArchiveBatchRows != 10000 || c.WarehouseDatabase != "dev" ||
		c.WarehouseWorkgroup != "" || c.RetentionDays != 365 || c.DBMigrate || !c.needsAWS() {
		t.Errorf("archive defaults: %+v", c)
	}
	c, err = loadConfig(envOf(map[string]string{"APP_ROLE": "archive", "ARCHIVE_BUCKET": "scaling-archive",
		"RETENTION_DAYS": "30", "ARCHIVE_PREFIX": "warehouse/v1/", "ARCHIVE_BATCH_ROWS": "500",
		"WAREHOUSE_WORKGROUP": "scaling-archive", "WAREHOUSE_DATABASE": "analytics",
		"WAREHOUSE_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/scaling-archive-copy"}))
	if err != nil || c.ArchivePrefix != "warehouse/v1/" || c.ArchiveBatchRows != 500 || c.WarehouseDatabase != "analytics" ||
		c.WarehouseCopyRoleARN != "arn:aws:iam::123456789012:role/scaling-archive-copy" {
		t.Errorf("archive settings: %+v %v", c, err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"APP_ROLE": "reader"}, `APP_ROLE="reader" must be all, read, write, worker or archive`},
		{map[string]string{"APP_ROLE": "archive", "RETENTION_DAYS": "30"}, "APP_ROLE=archive needs ARCHIVE_BUCKET"},
		{map[string]string{"APP_ROLE": "archive", "ARCHIVE_BUCKET": "arch"}, "APP_ROLE=archive needs RETENTION_DAYS"},
		{map[string]string{"RETENTION_DAYS": "0"}, `RETENTION_DAYS="0" must be a whole number from 1 to 3650`},
		{map[string]string{"RETENTION_DAYS": "3651"}, `RETENTION_DAYS="3651" must be a whole number from 1 to 3650`},
		{map[string]string{"RETENTION_DAYS": "a year"}, `RETENTION_DAYS="a year" must be a whole number`},
		{map[string]string{"ARCHIVE_BATCH_ROWS": "100001"}, `ARCHIVE_BATCH_ROWS="100001" must be a whole number from 1 to 100000`},
		{map[string]string{"ARCHIVE_BUCKET": "My_Bucket"}, `ARCHIVE_BUCKET="My_Bucket" is not an S3 bucket name`},
		{map[string]string{"ARCHIVE_PREFIX": "archive"}, `ARCHIVE_PREFIX="archive" must be folder names`},
		{map[string]string{"ARCHIVE_PREFIX": "/archive/"}, `ARCHIVE_PREFIX="/archive/" must be folder names`},
		{map[string]string{"ARCHIVE_PREFIX": "it's/"}, `ARCHIVE_PREFIX="it's/" must be folder names`},
		{map[string]string{"WAREHOUSE_WORKGROUP": "Archive WG", "WAREHOUSE_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/copy"},
			`WAREHOUSE_WORKGROUP="Archive WG" must be a Redshift Serverless workgroup name`},
		{map[string]string{"WAREHOUSE_WORKGROUP": "archive"}, "WAREHOUSE_WORKGROUP=archive needs WAREHOUSE_COPY_ROLE_ARN"},
		{map[string]string{"WAREHOUSE_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/copy"}, "WAREHOUSE_WORKGROUP is empty"},
		{map[string]string{"WAREHOUSE_WORKGROUP": "archive", "WAREHOUSE_COPY_ROLE_ARN": "copy-role"},
			`WAREHOUSE_COPY_ROLE_ARN="copy-role" must be an IAM role ARN`},
		{map[string]string{"WAREHOUSE_DATABASE": "1st"}, `WAREHOUSE_DATABASE="1st" must be a Redshift database name`},
		{map[string]string{"DB_PORT": "x"}, `DB_PORT="x" must be a non-negative integer`},
		{map[string]string{"DB_TLS": "yes"}, `DB_TLS="yes" must be false, true, rds or skip-verify`},
		{map[string]string{"DB_TLS_CA_FILE": "/ca.pem"}, "DB_TLS does not verify"},
		{map[string]string{"DB_TLS": "skip-verify", "DB_TLS_CA_FILE": "/ca.pem"}, "DB_TLS does not verify"},
		{map[string]string{"DB_PASSWORD": "a", "DB_PASSWORD_SECRET_ARN": "arn:x"}, "not both"},
		{map[string]string{"QUEUE_BACKEND": "kafka"}, `QUEUE_BACKEND="kafka" must be none, sqs or redis`},
		{map[string]string{"QUEUE_BACKEND": "sqs", "S3_BUCKET": "b"}, "needs QUEUE_URL"},
		{map[string]string{"QUEUE_BACKEND": "redis", "S3_BUCKET": "b"}, "needs REDIS_ADDR"},
		{map[string]string{"APP_ROLE": "worker"}, "APP_ROLE=worker needs QUEUE_BACKEND"},
		{map[string]string{"REDIS_TLS": "maybe"}, `REDIS_TLS="maybe" must be true or false`},
		{map[string]string{"DB_REPLICA_MAX_LAG": "soon"}, `DB_REPLICA_MAX_LAG="soon" must be a duration`},
		{map[string]string{"SESSION_CACHE_TTL": "-1s"}, `SESSION_CACHE_TTL="-1s" must be a duration`},
		{map[string]string{"SESSION_TTL": "1 day"}, `SESSION_TTL="1 day" must be a positive duration`},
		{map[string]string{"DB_REPLICAS": "r1:abc"}, `DB_REPLICAS="r1:abc": entry "r1:abc" has port "abc", not a number from 1 to 65535; expected a comma-separated list`},
		{map[string]string{"DB_REPLICAS": "r1:70000"}, `has port "70000"`},
		{map[string]string{"DB_REPLICAS": "r1,,r2"}, `DB_REPLICAS="r1,,r2": an entry is empty`},
		{map[string]string{"DB_REPLICAS": "r1:3306,"}, `an entry is empty`},
		{map[string]string{"DB_REPLICAS": "::1:3306"}, `is not host:port (an IPv6 address goes in brackets`},
		{map[string]string{"DB_REPLICAS": ":3306"}, `entry ":3306" has no valid host name`},
		{map[string]string{"DB_REPLICAS": "r1 r2:3306"}, `entry "r1 r2:3306" has no valid host name`},
		{map[string]string{"APP_ORIGINS": "example.com"}, `APP_ORIGINS entry "example.com" must start with https://`},
		{map[string]string{"APP_ORIGINS": "https://example.com/app"}, `has a path, query or fragment`},
		{map[string]string{"STATSD_ADDR": "127.0.0.1"}, `STATSD_ADDR="127.0.0.1" is not host:port: expected host:port, e.g. 127.0.0.1:8125`},
		{map[string]string{"STATSD_ADDR": "127.0.0.1:99999"}, `STATSD_ADDR="127.0.0.1:99999" has port "99999"`},
		{map[string]string{"SENTRY_DSN": "o1.ingest.sentry.io/42"}, `SENTRY_DSN must start with https://`},
		{map[string]string{"SENTRY_DSN": "https://o1.ingest.sentry.io/42"}, `SENTRY_DSN has no public key`},
		{map[string]string{"SENTRY_DSN": "https://k@o1.ingest.sentry.io/42", "SENTRY_DSN_SECRET_ARN": "arn:x"}, "set SENTRY_DSN or SENTRY_DSN_SECRET_ARN, not both"},
		{map[string]string{"APP_SLOW_REQUEST": "slow"}, `APP_SLOW_REQUEST="slow" must be a duration such as 10s, or 0 for off`},
		{map[string]string{"DYNAMO_TABLE": "v"}, `DYNAMO_TABLE="v" is not a DynamoDB table name: use 3 to 255 letters`},
		{map[string]string{"DYNAMO_TABLE": "views/prod"}, `DYNAMO_TABLE="views/prod" is not a DynamoDB table name`},
		{map[string]string{"DYNAMO_ENDPOINT": "http://127.0.0.1:8000"}, "DYNAMO_ENDPOINT is set but DYNAMO_TABLE is empty"},
		{map[string]string{"DYNAMO_TABLE": "views", "DYNAMO_ENDPOINT": "127.0.0.1:8000"}, `DYNAMO_ENDPOINT="127.0.0.1:8000"`},
		{map[string]string{"COUNTER_FLUSH_INTERVAL": "10ms"}, `COUNTER_FLUSH_INTERVAL="10ms" must be from 100ms to 1m0s`},
		{map[string]string{"COUNTER_FLUSH_INTERVAL": "2m"}, `COUNTER_FLUSH_INTERVAL="2m" must be from 100ms to 1m0s`},
	} {
		_, err := loadConfig(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.env, err, tc.want)
		}
		if dsn := tc.env["SENTRY_DSN"]; dsn != "" && err != nil && strings.Contains(err.Error(), dsn) {
			t.Errorf("the error repeats the DSN: %v", err)
		}
	}
}

func TestSecrets(t *testing.T) {
	u, p, err := parseDBSecret(`{"username":"admin","password":"s3cr3t","engine":"mysql"}`)
	if err != nil || u != "admin" || p != "s3cr3t" {
		t.Errorf("RDS secret: %q %q %v", u, p, err)
	}
	if _, _, err := parseDBSecret(`not json s3cr3t`); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("bad secret: %v (must fail without echoing the value)", err)
	}
	if got := parseRedisSecret("plain-token"); got != "plain-token" {
		t.Errorf("plain redis secret: %q", got)
	}
	if got := parseRedisSecret(`{"password":"pw"}`); got != "pw" {
		t.Errorf("JSON redis secret: %q", got)
	}
}

// TestRun starts the binary's run on the real servers, checks that it
// serves, that the password is not logged, and that cancelling (SIGTERM)
// shuts it down cleanly.
func TestRun(t *testing.T) {
	m := apptest.NewMySQL(t)
	redisAddr, _ := apptest.Redis(t)
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	env := map[string]string{
		"APP_ADDR": "127.0.0.1:0", "DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd, "DB_REPLICAS": m.Replica.Addr,
		"REDIS_ADDR": redisAddr,
	}
	if err := run(context.Background(), []string{"-migrate-only"}, envOf(env), io.Discard); err != nil {
		t.Fatalf("-migrate-only: %v", err)
	}
	srv := serve(t, "write", env)
	res, err := http.Get(srv.Base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("readyz: %d", res.StatusCode)
	}
	srv.Stop(t)
	if m.Primary.Passwd != "" && strings.Contains(srv.Logs(), m.Primary.Passwd) {
		t.Error("the database password appears in the logs")
	}
}

// TestResolveSecrets checks the Secrets Manager exchange (AWS JSON 1.1,
// recorded shape of GetSecretValue) for the RDS-managed master secret and a
// Redis token, and that neither value reaches an error message.
func TestResolveSecrets(t *testing.T) {
	secrets := map[string]string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1":  `{"username":"admin","password":"s3cr3t-db"}`,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:redis":     "s3cr3t-redis",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:bad":       `{"user":"x","pass":"s3cr3t-bad"}`,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:sentry":    "https://s3cr3tkey@o1.ingest.sentry.io/42\n",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:badsentry": "s3cr3tkey@o1.ingest.sentry.io/42",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target %q", got)
		}
		var in struct{ SecretId string }
		json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := secrets[in.SecretId]
		if !ok {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "n", "SecretString": v,
			"VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1", "VersionStages": []string{"AWSCURRENT"}})
	}))
	defer srv.Close()
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}
	ctx := context.Background()
	c := &Config{DBUser: "app", DBPasswordSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1",
		RedisAuthSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:redis",
		SentryDSNSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:sentry"}
	if err := resolveSecrets(ctx, c, awsCfg); err != nil {
		t.Fatal(err)
	}
	if c.DBUser != "admin" || c.DBPassword != "s3cr3t-db" || c.RedisPassword != "s3cr3t-redis" ||
		c.SentryDSN != "https://s3cr3tkey@o1.ingest.sentry.io/42" {
		t.Errorf("resolved user %q, passwords %q %q, DSN %q", c.DBUser, c.DBPassword, c.RedisPassword, c.SentryDSN)
	}
	err := resolveSecrets(ctx, &Config{SentryDSNSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:badsentry"}, awsCfg)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "SENTRY_DSN_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:badsentry") {
		t.Errorf("a secret that is not a DSN: %v (want an error naming the variable, without the value)", err)
	}
	for _, arn := range []string{"arn:aws:secretsmanager:us-east-1:123456789012:secret:bad",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:missing"} {
		err := resolveSecrets(ctx, &Config{DBPasswordSecretARN: arn}, awsCfg)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error %v (want one, without the secret)", arn, err)
		}
	}
}

// TestResolveSecretsDeadline: a Secrets Manager that never answers stops
// the start after secretsTimeout with an error naming the secret.
func TestResolveSecretsDeadline(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	defer func(d time.Duration) { secretsTimeout = d }(secretsTimeout)
	secretsTimeout = 300 * time.Millisecond
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}
	start := time.Now()
	err := resolveSecrets(context.Background(), &Config{SentryDSNSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:sentry"}, awsCfg)
	if err == nil || !strings.Contains(err.Error(), "secret:sentry") {
		t.Errorf("hung Secrets Manager: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("resolveSecrets took %v with a 300ms deadline", d)
	}
}

// TestExportStatic: -export-static writes the assets and never the page
// template (which /static/ would then serve raw from the bucket).
func TestExportStatic(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"-export-static", dir}, envOf(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "static"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, "static", e.Name()))
		if strings.Contains(string(b), "{{") {
			t.Errorf("%s is a raw template", e.Name())
		}
	}
	if strings.Join(names, ",") != "app.js,style.css" {
		t.Errorf("exported %v, want app.js and style.css", names)
	}
}
