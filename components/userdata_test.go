package components

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// render executes one of the boot scripts and checks it parses as bash.
func render(t *testing.T, name string, v userDataValues) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, userData.ExecuteTemplate(&buf, name, v))
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(buf.String())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "bash -n: %s\n%s", out, buf.String())
	return buf.String()
}

func TestBoxScriptLocalDatabase(t *testing.T) {
	s := render(t, "box", userDataValues{
		Name: "box", Version: "abc123", Region: "us-east-1", VolumeID: "vol-0123", Bucket: "artifacts", Key: "releases/abc123/scaling-app-linux-amd64",
		LogGroup: "/scaling-aws/box/app-1", LogFile: appLogFile, DiskPaths: `"/", "/data"`, LocalDatabase: true,
		Env: []string{"APP_ROLE=all", "DB_HOST=127.0.0.1"},
	})
	assert.Contains(t, s, "nvme-Amazon_Elastic_Block_Store_${VOLUME_ID//-/}", "finds the data volume by id")
	assert.Contains(t, s, "VOLUME_ID='vol-0123'")
	assert.Contains(t, s, "mariadb105-server")
	assert.Contains(t, s, "datadir=/data/mysql", "MySQL's data on the data volume")
	assert.Contains(t, s, "bind-address=127.0.0.1", "MySQL never listens beyond the box")
	assert.Contains(t, s, "s3://artifacts/releases/abc123/scaling-app-linux-amd64")
	assert.Contains(t, s, "APP_ROLE=all\nDB_HOST=127.0.0.1\n")
	assert.Contains(t, s, `"resources": ["/", "/data"]`)
	assert.NotContains(t, s, "secretsmanager", "stage 0 needs no AWS secret")
	assert.NotContains(t, s, "nginx")
}

func TestBoxScriptMigratesOnce(t *testing.T) {
	s := render(t, "box", userDataValues{
		Name: "box", Version: "v", Region: "eu-west-1", VolumeID: "vol-1", Bucket: "b", Key: "k", LogGroup: "g", LogFile: appLogFile, DiskPaths: `"/"`,
		MigrateFromBox: true, DBHost: "db.example.internal", DBSecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:rds",
	})
	assert.Contains(t, s, "/data/migrated-to-rds", "a marker makes the copy happen once")
	assert.Contains(t, s, `if [ "$TABLES" = "0" ]`, "copies only into an empty database")
	assert.Contains(t, s, "--secret-id 'arn:aws:secretsmanager:eu-west-1:1:secret:rds'")
	assert.Contains(t, s, "systemctl disable --now mariadb", "the local server stops after the copy")
	assert.NotContains(t, s, "systemctl enable --now mariadb")
}

func TestServerScripts(t *testing.T) {
	web := render(t, "server", userDataValues{Name: "web", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", LogGroup: "g", LogFile: "/var/log/nginx/access.log", DiskPaths: `"/"`, Nginx: true, Upstream: "internal-app.elb.amazonaws.com"})
	assert.Contains(t, web, "set $app http://internal-app.elb.amazonaws.com;")
	assert.Contains(t, web, "resolver 169.254.169.253", "re-resolves the load balancer's changing addresses")
	assert.Contains(t, web, "location = /healthz")
	assert.NotContains(t, web, "scaling-app.service", "the web tier runs no app")

	app := render(t, "server", userDataValues{Name: "read-api", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", LogGroup: "g", LogFile: appLogFile, DiskPaths: `"/"`, Env: []string{"APP_ROLE=read"}})
	assert.Contains(t, app, "APP_ROLE=read")
	assert.Contains(t, app, "systemctl enable --now scaling-app")
	assert.NotContains(t, app, "nginx")
	assert.NotContains(t, app, "/data/mysql", "no database on an app server")
}

// TestWebTierNginxConfigIsValid renders the web tier's nginx configuration and has a real
// nginx (Debian's, installed by scripts/test.sh) check it with nginx -t.
func TestWebTierNginxConfigIsValid(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		if os.Getenv("SCALING_AWS_REQUIRE_SERVERS") == "1" {
			t.Fatal("nginx is not installed: scripts/test.sh installs it")
		}
		t.Skip("nginx not installed; scripts/test.sh installs it")
	}
	web := render(t, "server", userDataValues{Name: "web", Version: "v", Region: "us-east-1", Bucket: "b", Key: "k", LogGroup: "g", LogFile: "/var/log/nginx/access.log", DiskPaths: `"/"`, Nginx: true, Upstream: "internal-app-lb-1.us-east-1.elb.amazonaws.com"})
	start := strings.Index(web, "<<'NGINX'\n")
	end := strings.Index(web, "\nNGINX\n")
	require.True(t, start > 0 && end > start, "the script writes an nginx config")
	conf := web[start+len("<<'NGINX'\n") : end]
	dir := t.TempDir()
	main := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n  access_log off;\n" + conf + "\n}\n"
	require.NoError(t, os.WriteFile(dir+"/nginx.conf", []byte(main), 0o644))
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", dir+"/nginx.conf").CombinedOutput()
	require.NoError(t, err, "nginx -t:\n%s\n%s", out, conf)
	assert.Contains(t, string(out), "syntax is ok")
}
