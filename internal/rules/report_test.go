package rules_test

import (
	"strings"
	"testing"

	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/rules"
)

func TestForcedRuleOverNothingFails(t *testing.T) {
	for _, id := range []string{"RDS-1", "LB-4", "MON-3", "S3-5"} {
		rep := rules.Check(newFixture().g, rules.Context{Environment: rules.Dev, Stage: 0, Force: []string{id}})
		res, _ := rep.Result(id)
		if !res.Applied || !res.Failed() || res.Examined != 0 {
			t.Fatalf("%s forced over an empty graph: applied=%v failed=%v examined=%d", id, res.Applied, res.Failed(), res.Examined)
		}
		if !strings.Contains(rep.String(), "rule "+id+" matched no resources") {
			t.Fatalf("report does not say the rule matched nothing:\n%s", rep)
		}
	}
}

func TestRulesNotAppliedAreSkippedNotPassed(t *testing.T) {
	rep := rules.Check(newFixture().g, rules.Context{Environment: rules.Dev, Stage: 0})
	if !rep.OK() {
		t.Fatalf("empty graph: %s", rep)
	}
	for _, res := range rep.Results {
		if res.Applied {
			t.Errorf("%s applied to an empty graph", res.Rule.ID)
		}
	}
	if !strings.Contains(rep.String(), "SKIP   RDS-1") {
		t.Fatalf("skipped rules are not rendered as SKIP:\n%s", rep)
	}
}

func TestSingleBoxPassesInStageZeroDev(t *testing.T) {
	rep := rules.Check(box().g, rules.Context{Environment: rules.Dev, Stage: rules.StageSingleBox})
	if !rep.OK() {
		t.Fatalf("single box in stage 0:\n%s", rep)
	}
	for _, id := range []string{"NET-5", "CMP-3"} {
		if res, _ := rep.Result(id); !res.Applied || res.Examined == 0 {
			t.Errorf("%s did not examine the box", id)
		}
	}
}

func TestProdOnlyRulesAndStagesInDev(t *testing.T) {
	f := compliant()
	f.r("web-lb").Inputs["enableDeletionProtection"] = false
	f.r("db").Inputs["skipFinalSnapshot"] = true
	f.r("db").Protect = false
	f.r("db").Inputs["multiAz"] = false
	// users+ in dev: no deletion protection, no protect, single AZ database is fine.
	rep := rules.Check(f.g, rules.Context{Environment: rules.Dev, Stage: rules.StageUsersPlus})
	for _, id := range []string{"LB-2", "RDS-5", "RDS-3", "STATE-1"} {
		res, _ := rep.Result(id)
		if res.Failed() {
			t.Errorf("%s fails in dev at users+: %v", id, res.Violations)
		}
	}
	// The same graph in prod at users++ fails all four.
	rep = rules.Check(f.g, rules.Context{Environment: rules.Prod, Stage: rules.StageUsersPP})
	for _, id := range []string{"LB-2", "RDS-5", "RDS-3", "STATE-1"} {
		if res, _ := rep.Result(id); !res.Failed() {
			t.Errorf("%s passes in prod at users++", id)
		}
	}
	// Monitoring coverage starts at users++++.
	f.drop("db-CPUUtilization")
	if res, _ := rules.Check(f.g, rules.Context{Environment: rules.Dev, Stage: rules.StageUsers3P}).Result("MON-3"); res.Applied {
		t.Errorf("MON-3 applies before users++++")
	}
}

func TestWaiverIsNamedAndReported(t *testing.T) {
	f := compliant()
	f.r("cache").Inputs["numCacheClusters"] = 1.0
	f.r("cache").Inputs["multiAzEnabled"] = false
	f.r("cache").Inputs["automaticFailoverEnabled"] = false
	ctx := prod5
	ctx.Waivers = map[string]string{"EC-3": "cache.singleNode in dev: one node costs half"}
	rep := rules.Check(f.g, ctx)
	res, _ := rep.Result("EC-3")
	if res.Failed() || len(res.Violations) == 0 || !rep.OK() {
		t.Fatalf("waived rule: failed=%v violations=%d ok=%v", res.Failed(), len(res.Violations), rep.OK())
	}
	if s := rep.String(); !strings.Contains(s, "WAIVED EC-3") || !strings.Contains(s, "cache.singleNode in dev") {
		t.Fatalf("waiver not rendered:\n%s", s)
	}
}

func TestReportIsDeterministicAndOrdered(t *testing.T) {
	f := compliant()
	f.r("app-a").Inputs["mapPublicIpOnLaunch"] = true
	f.r("app-b").Inputs["mapPublicIpOnLaunch"] = true
	a, b := rules.Check(f.g, prod5).String(), rules.Check(f.g, prod5).String()
	if a != b {
		t.Fatal("two runs render differently")
	}
	rep := rules.Check(f.g, prod5)
	fails := rep.Failures()
	if len(fails) != 2 || fails[0].URN > fails[1].URN || fails[0].Rule != "NET-1" {
		t.Fatalf("failures not sorted: %v", fails)
	}
	if !strings.Contains(a, "FAIL   NET-1") || !strings.Contains(a, "1 failed") {
		t.Fatalf("report:\n%s", a)
	}
	var ids []string
	for _, r := range rules.All() {
		ids = append(ids, r.ID)
	}
	if strings.Index(strings.Join(ids, ","), "NET-2,") > strings.Index(strings.Join(ids, ","), "NET-7") {
		t.Fatalf("rule IDs not in numeric order: %v", ids)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate rule ID %s", id)
		}
		seen[id] = true
	}
}

// TestCompanionsMatchByValueOrDependency: a companion names its bucket by the id the engine
// returned; with no dependency recorded the value alone must do, and with an unknown value
// the dependency must do.
func TestCompanionsMatchByValueOrDependency(t *testing.T) {
	cases := []struct {
		name   string
		value  string
		deps   bool
		wantOK bool
	}{
		{"by physical name, no dependency", "user-files-bucket", false, true},
		{"by logical name, no dependency", "files", false, true},
		{"unknown value, dependency", "xyz-123", true, true},
		{"unknown value, no dependency", "xyz-123", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture()
			b := f.add(tBucket, "files", m{"bucket": "user-files-bucket", "tags": m{"dataClass": "artifacts"}})
			var deps []*graph.Resource
			if c.deps {
				deps = append(deps, b)
			}
			f.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", m{"bucket": c.value, "blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}, deps...)
			res, _ := rules.Check(f.g, prod5).Result("S3-1")
			if res.Failed() == c.wantOK {
				t.Fatalf("S3-1 failed=%v: %v", res.Failed(), res.Violations)
			}
		})
	}
}

// TestUserDataReadingSecretsAtBootPasses: user data that reads a password at boot (command
// substitution, a variable, a printf format) carries no credential.
func TestUserDataReadingSecretsAtBootPasses(t *testing.T) {
	for _, ud := range []string{
		"printf 'DB_PASSWORD=%s\\n' \"$(cat /data/secrets/db-password)\"",
		"export MYSQL_PWD=$(aws secretsmanager get-secret-value)",
		"MYSQL_PWD= mariadb-dump --databases app",
		"DB_PASSWORD=\"$SECRET\"",
		"DB_PASSWORD_SECRET_ARN=arn:aws:secretsmanager:us-east-1:1:secret:x",
	} {
		f := compliant()
		f.r("admin").Inputs["userData"] = ud
		if res, _ := rules.Check(f.g, prod5).Result("SEC-2"); res.Failed() {
			t.Errorf("%q: %v", ud, res.Violations)
		}
	}
}

// TestStageZeroNeedsNoDataBucket: the single box stores only its release (artifacts).
func TestStageZeroNeedsNoDataBucket(t *testing.T) {
	f := newFixture()
	bucket(f, "release", "artifacts", nil)
	if res, _ := rules.Check(f.g, rules.Context{Environment: rules.Prod, Stage: 0}).Result("S3-5"); res.Applied {
		t.Fatalf("S3-5 applies in stage 0: %v", res.Violations)
	}
	if res, _ := rules.Check(f.g, rules.Context{Environment: rules.Prod, Stage: 1}).Result("S3-5"); !res.Failed() {
		t.Fatal("S3-5 passes at users+ without a data bucket")
	}
}
