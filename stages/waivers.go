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

// SingleNodeCache names the exception a dev stack asks for with cache.replicas = 0 from
// users+++: one cache node, no Multi-AZ and no failover (rule EC-3), for half the cost. A
// node failure then logs every user out and empties the cache until the node is replaced.
// Config validation refuses it in prod.
const SingleNodeCache = "SINGLE-NODE-CACHE"

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
	if cfg.Stage >= config.UsersPlus3 && cfg.Cache.Replicas == 0 {
		w["EC-3"] = SingleNodeCache + " (cache.replicas = 0, dev only): one node, no Multi-AZ or failover; a node failure logs every user out"
	}
	if cfg.Stage >= config.UsersPlus4 && !cfg.CloudTrail {
		w["TRAIL-1"] = AccountTrail + " (cloudTrail = false): the account's API calls are recorded by a trail outside this stack (an organization trail, or another stack's in the same account)"
	}
	return w
}
