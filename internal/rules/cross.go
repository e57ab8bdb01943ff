package rules

import (
	"encoding/base64"
	"regexp"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// secretKey reports whether an input key names a secret value (password, auth token,
// secret string, private key), as opposed to a reference to one (an ARN, id or name) or a
// switch.
func secretKey(k string) bool {
	l := strings.ToLower(k)
	for _, suffix := range []string{"arn", "id", "ids", "name", "enabled", "length", "policy", "strategy", "version", "wo"} {
		if strings.HasSuffix(l, suffix) {
			return false
		}
	}
	for _, s := range []string{"password", "authtoken", "secret", "privatekey"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// plainSecrets returns the dotted paths of secret-named keys holding plain values.
func plainSecrets(r *graph.Resource) []string {
	var out []string
	var walk func(prefix string, v any, top string)
	walk = func(prefix string, v any, top string) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				t := top
				if t == "" {
					t = k
				}
				if s, ok := val.(string); ok && secretKey(k) && s != "" && s != graph.SecretMarker && !secretInput(r, t) {
					out = append(out, p)
					continue
				}
				walk(p, val, t)
			}
		case []any:
			for _, i := range x {
				walk(prefix, i, top)
			}
		}
	}
	in := map[string]any{}
	for k, val := range r.Inputs {
		if k != "tags" && k != "tagsAll" {
			in[k] = val
		}
	}
	walk("", in, "")
	sort.Strings(out)
	return out
}

// credentialPatterns are what user data must never carry.
var credentialPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"an AWS secret access key", regexp.MustCompile(`(?i)aws_secret_access_key\s*[=:]`)},
	// A literal value; "$(...)", "$VAR", "%s" and templates are read at boot, not carried.
	{"a password assignment", regexp.MustCompile(`(?i)(password|passwd|pwd)=['"]?[^\s'"$%{<]`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
}

// userData returns a resource's user data, decoded when it is base64 (launch templates).
func userData(r *graph.Resource) string {
	var parts []string
	for _, k := range []string{"userData", "userDataBase64"} {
		s := r.String(k)
		if s == "" {
			continue
		}
		if r.Type == tLaunchTemplate || k == "userDataBase64" {
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err == nil {
				s = string(b)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n")
}

// dbHostRE and dbTLSRE find the app's DB_HOST and DB_TLS settings in user data.
var (
	dbHostRE = regexp.MustCompile(`(?m)^\s*(?:export\s+)?DB_HOST=['"]?([^\s'"]+)`)
	dbTLSRE  = regexp.MustCompile(`(?m)^\s*(?:export\s+)?DB_TLS=['"]?([^\s'"]*)`)
)

// remoteDBHost finds a DB_HOST setting in user data naming a host other than
// loopback (the single box's own MySQL), and DB_TLS's value ("" when unset).
func remoteDBHost(ud string) (host, tlsMode string, ok bool) {
	m := dbHostRE.FindStringSubmatch(ud)
	if m == nil || m[1] == "127.0.0.1" || m[1] == "localhost" || m[1] == "::1" {
		return "", "", false
	}
	if t := dbTLSRE.FindStringSubmatch(ud); t != nil {
		tlsMode = t[1]
	}
	return m[1], tlsMode, true
}

// remoteDBClients are the instances and launch templates whose app reaches a
// database over the network.
func remoteDBClients(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range instancesAndTemplates(e) {
		if _, _, ok := remoteDBHost(userData(r)); ok {
			out = append(out, r)
		}
	}
	return out
}

// stateful reports whether a resource holds data that must outlive mistakes.
func stateful(r *graph.Resource) bool {
	switch r.Type {
	case tRDS, tRedis, tTable, tRedshift, tNamespace, tVolume:
		return true
	case tBucket:
		return dataBucket(r)
	}
	return false
}

func crossRules() []Rule {
	return []Rule{{
		ID:        "SEC-1",
		Title:     "no secret in plain text in any input",
		Refs:      []string{"CKV_AWS_46", "CKV_AWS_161", "AVD-AWS-0029"},
		Applies:   "every custom resource; an input key named like a password, token, secret or private key must be a Pulumi secret (listed in SecretInputs)",
		AppliesTo: func(e *Env) bool { return len(e.Of(e.G.Types()...)) > 0 },
		Select:    func(e *Env) []*graph.Resource { return e.Of(e.G.Types()...) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for _, p := range plainSecrets(r) {
				out = append(out, v("input %s holds a plain value; pass it as a Pulumi secret or let AWS manage it", p))
			}
			return out
		},
	}, {
		ID:        "SEC-2",
		Title:     "user data carries no credentials",
		Refs:      []string{"CKV_AWS_46", "AVD-AWS-0029"},
		Applies:   "every aws:ec2/instance:Instance and aws:ec2/launchTemplate:LaunchTemplate (userData, base64-decoded for launch templates)",
		AppliesTo: hasInstances,
		Select:    instancesAndTemplates,
		Check: func(e *Env, r *graph.Resource) []Violation {
			ud := userData(r)
			var out []Violation
			for _, p := range credentialPatterns {
				if p.re.MatchString(ud) {
					out = append(out, v("user data contains %s; read credentials at boot from Secrets Manager instead", p.name))
				}
			}
			return out
		},
	}, {
		ID:        "SEC-3",
		Title:     "the app verifies its database's TLS certificate",
		Refs:      []string{"SEC09-BP02", "SECURITY.md RDS (encryption in transit)"},
		Applies:   "every aws:ec2/instance:Instance and aws:ec2/launchTemplate:LaunchTemplate whose user data sets DB_HOST to a host other than loopback; DB_TLS must be rds or true (never false, skip-verify or unset)",
		AppliesTo: func(e *Env) bool { return len(remoteDBClients(e)) > 0 },
		Select:    remoteDBClients,
		Check: func(e *Env, r *graph.Resource) []Violation {
			host, mode, _ := remoteDBHost(userData(r))
			if mode != "rds" && mode != "true" {
				return []Violation{v("DB_HOST=%s with DB_TLS=%q: set DB_TLS=rds (verify against the Amazon RDS CAs) or true; "+
					"without verification anyone on the path can pose as the database", host, mode)}
			}
			return nil
		},
	}, {
		ID:    "STATE-1",
		Title: "stateful resources are retained on delete, protected in prod, and never delete-before-replace",
		Refs:  []string{"REL09-BP01", "SECURITY.md Cross-cutting"},
		Applies: "every aws:rds/instance:Instance (replicas too), aws:elasticache/replicationGroup:ReplicationGroup, aws:s3/bucketV2:BucketV2 " +
			"tagged dataClass=data, aws:dynamodb/table:Table, aws:redshift/cluster:Cluster and aws:ebs/volume:Volume; protect only in prod",
		AppliesTo: func(e *Env) bool { return len(statefulOf(e)) > 0 },
		Select:    statefulOf,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !r.RetainOnDelete {
				out = append(out, v("must be RetainOnDelete: dropping it from the program must not delete its data"))
			}
			if e.Ctx.Prod() && !r.Protect {
				out = append(out, v("must be protected (pulumi.Protect) in prod"))
			}
			if r.DeleteBeforeReplace {
				out = append(out, v("must not be DeleteBeforeReplace: a replacement would delete the data first"))
			}
			return out
		},
	}}
}

func statefulOf(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.G.Resources {
		if r.Custom && stateful(r) {
			out = append(out, r)
		}
	}
	return out
}
