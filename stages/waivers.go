package stages

import (
	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// PlainHTTPOrigin names the one deliberate exception to the security rules a config can
// ask for: a dev stack at users++ or later without a domain has no certificate, so its
// public load balancer serves HTTP (viewers still get HTTPS from CloudFront). Config
// validation refuses it in prod.
const PlainHTTPOrigin = "PLAIN-HTTP-ORIGIN"

// Waivers returns the security rules (internal/rules IDs) that cfg deliberately does not
// meet, each with the named exception and its reason. The tests and the preview check a stage
// with exactly these waivers; every other rule must pass.
func Waivers(cfg *config.Config) map[string]string {
	w := map[string]string{}
	if cfg.Stage >= config.UsersPlus2 && cfg.Domain == "" {
		reason := PlainHTTPOrigin + " (no domain configured, dev only): " + components.PlainHTTPNotice
		w["LB-4"] = reason
		w["LB-5"] = reason
	}
	return w
}
