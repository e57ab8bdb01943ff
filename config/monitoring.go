package config

import (
	"net/url"
	"regexp"
	"strings"
)

// sentryProjectRE is the path of a Sentry DSN: an optional prefix and the numeric project id
// (https://<public key>@<host>/<project id>, docs.sentry.io "Data Source Name").
var sentryProjectRE = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)*/[0-9]+$`)

// validateMonitoring checks the users++++ monitoring settings. Both are secrets: messages
// never echo them, only what is wrong with them.
func (c *Config) validateMonitoring(errs *Errors, ok func(string) bool) {
	if v := c.AlertEndpoint; v != "" && ok("alertEndpoint") {
		switch {
		case c.Stage < UsersPlus4:
			errs.add("alertEndpoint", secretShown, "the incident endpoint arrives at stage users++++ (this stack is at %s); unset alertEndpoint or move the stack up", c.Stage)
		default:
			if fix := httpsURLProblem(v); fix != "" {
				errs.add("alertEndpoint", secretShown, "%s; use the incident tool's CloudWatch integration URL, such as https://events.pagerduty.com/integration/<key>/enqueue, set with pulumi config set --secret", fix)
			}
		}
	}
	if v := c.SentryDSN; v != "" && ok("sentryDsn") {
		switch {
		case c.Stage < UsersPlus4:
			errs.add("sentryDsn", secretShown, "error reporting arrives at stage users++++ (this stack is at %s); unset sentryDsn or move the stack up", c.Stage)
		default:
			if fix := sentryDSNProblem(v); fix != "" {
				errs.add("sentryDsn", secretShown, "%s; use the DSN Sentry shows under Project Settings > Client Keys, such as https://<key>@o0.ingest.sentry.io/<project id>, set with pulumi config set --secret", fix)
			}
		}
	}
}

// parseSecretURL parses a secret URL setting, or says what keeps it from being one (never
// quoting the value).
func parseSecretURL(v string) (*url.URL, string) {
	if strings.ContainsAny(v, " \t\r\n\"'\\") {
		return nil, "it holds spaces, quotes or backslashes"
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, "it is not a URL"
	}
	return u, ""
}

// httpsURLProblem says what keeps v from being an https:// URL SNS can deliver to, or "".
// SNS accepts http too, but an http endpoint would carry the integration key and every
// alarm in plain text over the internet.
func httpsURLProblem(v string) string {
	u, problem := parseSecretURL(v)
	switch {
	case problem != "":
		return problem
	case u.Scheme != "https":
		return "it must start with https:// (SNS would send the key and every alarm in plain text over http)"
	case u.Hostname() == "" || !strings.Contains(u.Hostname(), "."):
		return "its host must be a full DNS name"
	case u.User != nil:
		return "it must not carry a user name or password before the host"
	case len(v) > 2048:
		return "it is longer than 2048 characters"
	}
	return ""
}

// sentryDSNProblem says what keeps v from being a Sentry DSN, or "".
func sentryDSNProblem(v string) string {
	u, problem := parseSecretURL(v)
	switch {
	case problem != "":
		return problem
	case u.Scheme != "https" && u.Scheme != "http":
		return "it must start with https:// (or http:// for a self-hosted Sentry)"
	case u.User == nil || u.User.Username() == "":
		return "it has no public key before the @"
	case u.Hostname() == "":
		return "it has no host"
	case !sentryProjectRE.MatchString(u.Path):
		return "its path must end with the numeric project id"
	}
	return ""
}
