package tests

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
)

// appEnvFile opens the app's environment in a boot script (components/userdata.sh.tmpl).
const appEnvFile = "/etc/scaling-app.env <<'ENV'\n"

// jobRE finds the scheduled runs of the app a boot script installs (-role archive).
var jobRE = regexp.MustCompile(`(?m)^ExecStart=/opt/scaling-app/scaling-app -role ([a-z]+)$`)

// serverEnvs returns, for every server of the stack that runs the app (the box, or a
// launch template), its boot script's app environment as written, in KEY=value lines, and
// the roles its scheduled jobs run the same binary as.
func serverEnvs(t *testing.T, s *stack) map[string]struct {
	env  []string
	jobs []string
} {
	t.Helper()
	out := map[string]struct {
		env  []string
		jobs []string
	}{}
	for _, typ := range []string{"aws:ec2/instance:Instance", tLT} {
		for _, r := range s.g.ByType(typ) {
			script := r.Script("userData")
			start := strings.Index(script, appEnvFile)
			if start < 0 {
				continue // nginx, or no app
			}
			body := script[start+len(appEnvFile):]
			end := strings.Index(body, "ENV\n")
			require.GreaterOrEqual(t, end, 0, "%s: the env file never ends", r.Name)
			e := out[r.Name]
			for _, line := range strings.Split(strings.TrimSuffix(body[:end], "\n"), "\n") {
				if line != "" {
					e.env = append(e.env, line)
				}
			}
			for _, m := range jobRE.FindAllStringSubmatch(script, -1) {
				e.jobs = append(e.jobs, m[1])
			}
			out[r.Name] = e
		}
	}
	return out
}

// TestBootEnvGolden pins the environment every stage gives the app on each server, in
// testdata/bootenv/<stage>-<env>.env, and users+++++ sharded and federated in
// usersppppp-prod-scaled-out.env (refresh with go test ./tests -update): a section
// "# server NAME" (with "jobs: ROLE..." when it runs scheduled roles) and its KEY=value
// lines, values as the offline mocks resolve them. It is the contract with the app:
// app/cmd/scaling-app's TestStageEnvironments loads each section with the app's own config
// loader, so a stage that writes a variable the app refuses, or misses one it needs, fails
// there rather than on a booting server.
func TestBootEnvGolden(t *testing.T) {
	type variant struct {
		stage config.Stage
		env   string
		file  string
		extra map[string]string
	}
	var variants []variant
	for _, stage := range implemented() {
		for _, env := range []string{"dev", "prod"} {
			variants = append(variants, variant{stage, env, fmt.Sprintf("%s-%s", strings.ReplaceAll(stage.String(), "+", "p"), env), nil})
		}
	}
	// Sharded and federated (three shards, the identity database served): the shards'
	// and the identity database's variables.
	variants = append(variants, variant{config.UsersPlus5, "prod", "usersppppp-prod-scaled-out", scaledOut(t, "prod")})
	for _, v := range variants {
		stage, env := v.stage, v.env
		s := evaluate(t, env, stage, v.extra)
		servers := serverEnvs(t, s)
		require.NotEmpty(t, servers, "%s %s: no server runs the app", stage, env)
		names := slices.Sorted(maps.Keys(servers))
		var b strings.Builder
		fmt.Fprintf(&b, "# The app's environment per server at %s in %s, written by go test ./tests -update\n", stage, env)
		for _, n := range names {
			e := servers[n]
			fmt.Fprintf(&b, "\n# server %s", n)
			if len(e.jobs) > 0 {
				fmt.Fprintf(&b, " jobs: %s", strings.Join(e.jobs, " "))
			}
			b.WriteString("\n")
			for _, line := range e.env {
				assert.NotContains(t, line, "\n")
				b.WriteString(line + "\n")
			}
		}
		goldenFile(t, filepath.Join("testdata", "bootenv", v.file+".env"), b.String(),
			fmt.Sprintf("%s %s: the app's environment changed; review, run -update, and run app/cmd/scaling-app's TestStageEnvironments", stage, env))
	}
}
