package rules

import (
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

func hasLB(e *Env) bool { return e.Has(tLB, tALB) }

func lbs(e *Env) []*graph.Resource { return e.Of(tLB, tALB) }

// application reports whether a load balancer is an ALB (the default type).
func application(r *graph.Resource) bool {
	t := r.String("loadBalancerType")
	return t == "" || t == "application"
}

func lbRules() []Rule {
	const lbApplies = "every aws:lb/loadBalancer:LoadBalancer and aws:alb/loadBalancer:LoadBalancer"
	return []Rule{{
		ID:        "LB-1",
		Title:     "load balancer access logs on, to a bucket",
		Refs:      []string{"CKV_AWS_91", "SH ELB.5"},
		Applies:   lbApplies,
		AppliesTo: hasLB,
		Select:    lbs,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "accessLogs.enabled", true) || r.String("accessLogs.bucket") == "" {
				return []Violation{v("accessLogs.enabled must be true with accessLogs.bucket set")}
			}
			return nil
		},
	}, {
		ID:        "LB-2",
		Title:     "load balancer deletion protection in prod",
		Refs:      []string{"CKV_AWS_150", "SH ELB.6"},
		Applies:   lbApplies + ", in prod",
		AppliesTo: func(e *Env) bool { return e.Ctx.Prod() && hasLB(e) },
		Select:    lbs,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "enableDeletionProtection", true) {
				return []Violation{v("enableDeletionProtection must be true in prod")}
			}
			return nil
		},
	}, {
		ID:        "LB-3",
		Title:     "application load balancers drop invalid header fields",
		Refs:      []string{"CKV_AWS_131", "SH ELB.4", "AVD-AWS-0052"},
		Applies:   lbApplies + " of type application",
		AppliesTo: hasLB,
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, r := range lbs(e) {
				if application(r) {
					out = append(out, r)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "dropInvalidHeaderFields", true) {
				return []Violation{v("dropInvalidHeaderFields must be true")}
			}
			return nil
		},
	}, {
		ID:    "LB-4",
		Title: "listeners: HTTPS with a certificate and a TLS 1.3 policy; HTTP only as a 301 redirect to HTTPS",
		Refs:  []string{"CKV_AWS_2", "CKV_AWS_103", "AVD-AWS-0047", "AVD-AWS-0054", "SH ELB.1"},
		Applies: "the listeners of every internet-facing load balancer; applies whenever a load balancer exists, " +
			"so one without listeners fails. Internal load balancers (internal = true) serve HTTP inside the VPC " +
			"between private subnets: there is no private CA in the stack (exception INTERNAL-HTTP, docs/security.md)",
		AppliesTo: hasLB,
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, lb := range lbs(e) {
				if !boolIs(lb, "internal", true) {
					out = append(out, e.listenersOf(lb)...)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			switch r.String("protocol") {
			case "HTTPS", "TLS":
				var out []Violation
				if r.String("certificateArn") == "" {
					out = append(out, v("certificateArn must be set"))
				}
				if !tls13(r.String("sslPolicy")) {
					out = append(out, v("sslPolicy must be set explicitly to a TLS 1.3 policy such as ELBSecurityPolicy-TLS13-1-2-2021-06, got %q", r.String("sslPolicy")))
				}
				return out
			case "HTTP", "":
				if !listenerRedirects(r) {
					return []Violation{v("an HTTP listener must only redirect to HTTPS with HTTP_301 (defaultActions[0].type redirect)")}
				}
				return nil
			}
			return []Violation{v("protocol %q: only HTTPS (or HTTP redirecting) listeners are allowed", r.String("protocol"))}
		},
	}, {
		ID:        "LB-5",
		Title:     "every internet-facing load balancer has an HTTPS listener",
		Refs:      []string{"CKV_AWS_2", "SH ELB.1"},
		Applies:   lbApplies + " whose internal is not true",
		AppliesTo: hasLB,
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, r := range lbs(e) {
				if !boolIs(r, "internal", true) {
					out = append(out, r)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			for _, l := range e.listenersOf(r) {
				if l.String("protocol") == "HTTPS" {
					return nil
				}
			}
			return []Violation{v("no HTTPS listener: TLS terminates at the load balancer")}
		},
	}, {
		ID:        "LB-6",
		Title:     "target groups have explicit health checks (path, matcher, thresholds, timeout < interval)",
		Refs:      []string{"REL06-BP01", "REL11-BP01"},
		Applies:   "every aws:lb/targetGroup:TargetGroup and aws:alb/targetGroup:TargetGroup; applies whenever a load balancer exists",
		AppliesTo: hasLB,
		Select:    func(e *Env) []*graph.Resource { return e.Of(tTG, tATG) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			hc := object(r, "healthCheck")
			if hc == nil {
				return []Violation{v("healthCheck must be set")}
			}
			var out []Violation
			if b, ok := hc["enabled"].(bool); ok && !b {
				out = append(out, v("healthCheck.enabled must not be false"))
			}
			proto := r.String("protocol")
			if proto == "" || proto == "HTTP" || proto == "HTTPS" {
				if mstr(hc, "path") == "" {
					out = append(out, v("healthCheck.path must be set"))
				}
				if mstr(hc, "matcher") == "" {
					out = append(out, v("healthCheck.matcher must be set"))
				}
			}
			for _, k := range []string{"healthyThreshold", "unhealthyThreshold", "interval", "timeout"} {
				if _, ok := mnum(hc, k); !ok {
					out = append(out, v("healthCheck.%s must be set", k))
				}
			}
			t, ok1 := mnum(hc, "timeout")
			i, ok2 := mnum(hc, "interval")
			if ok1 && ok2 && t >= i {
				out = append(out, v("healthCheck.timeout %g must be below interval %g", t, i))
			}
			return out
		},
	}}
}
