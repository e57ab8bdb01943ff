package cost

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// traffic adds the lines the load costs, on the path the graph gives a request.
func (e *estimator) traffic() {
	l := e.load
	reqs := l.ReadsPerMonth + l.WritesPerMonth
	if reqs <= 0 {
		return
	}
	outGB := l.ReadsPerMonth * l.ResponseBytes / gb
	inGB := l.WritesPerMonth * l.WriteBytes / gb
	add := func(component, item string, usd float64, assumption string) {
		e.lines = append(e.lines, Line{Component: component, Item: item, Monthly: usd, Traffic: true, Assumption: assumption})
	}
	billions := fmt.Sprintf("%.1f billion requests", reqs/1e9)

	if cdns := e.g.ByType("aws:cloudfront/distribution:Distribution"); len(cdns) > 0 {
		c := e.component(cdns[0])
		add(c, fmt.Sprintf("CloudFront data out, %.0f GB", outGB), e.p.tier("cloudfront.out.gb").Cost(outGB),
			"every read's 1 KB body leaves the edge (the API is not cached: CachingDisabled); a write's answer is small")
		add(c, "CloudFront HTTPS requests, "+billions, reqs/1e4*e.p.rate("cloudfront.https.10k"),
			"every request is HTTPS (viewers are redirected)")
		add(c, fmt.Sprintf("CloudFront to the origin, %.0f GB of write bodies", inGB), inGB*e.p.rate("cloudfront.toOrigin.gb"),
			"origin fetches from AWS are free; the bodies sent to the origin are not")
		if acls := e.g.ByType("aws:wafv2/webAcl:WebAcl"); len(acls) > 0 {
			add(e.component(acls[0]), "WAF requests, "+billions, reqs/1e6*e.p.rate("waf.requests.million"), "every request is inspected")
		}
		if logs := e.g.ByType("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"); len(logs) > 0 {
			logged, what := 1.0, "every request"
			if logs[0].String("loggingFilter.defaultBehavior") == "DROP" {
				logged, what = wafLoggedShare, fmt.Sprintf("each blocked or counted request, assumed %g%% of requests: the seed gives no figure, and the filter drops the allowed ones", wafLoggedShare*100)
			}
			logGB := reqs * logged * wafLogBytes / gb
			add(e.component(logs[0]), fmt.Sprintf("WAF logs to CloudWatch Logs, %.0f GB", logGB), e.p.tier("logs.vended.gb").Cost(logGB),
				fmt.Sprintf("vended-log tiers; one record of about %d bytes for %s", wafLogBytes, what))
		}
	} else if len(e.g.ByType("aws:ec2/eip:Eip")) > 0 || len(e.g.ByType("aws:ec2/instance:Instance")) > 0 {
		var owner string
		if ips := e.g.ByType("aws:ec2/eip:Eip"); len(ips) > 0 {
			owner = e.component(ips[0])
		} else {
			owner = e.component(e.g.ByType("aws:ec2/instance:Instance")[0])
		}
		add(owner, fmt.Sprintf("EC2 data out to the internet, %.0f GB", outGB), e.p.tier("ec2.out.gb").Cost(outGB),
			"every read's 1 KB body; data in is free")
	}

	for _, lb := range e.g.ByType("aws:lb/loadBalancer:LoadBalancer") {
		processed := reqs * balancerBytesPerRequest / gb
		add(e.component(lb), fmt.Sprintf("%s LCUs, %.0f GB processed", lb.Name, processed), processed*e.p.rate("alb.lcuHour"),
			fmt.Sprintf("every request crosses every balancer of the chain; %d bytes a request both ways; processed bytes are the largest LCU dimension (1 GB an hour is one LCU; new connections are few behind CloudFront and nginx keep-alive; rules stay within the 10 free)", balancerBytesPerRequest))
	}

	if owner, share := e.shipsAccessLog(); owner != "" {
		what := "a request"
		if share < 1 {
			what = fmt.Sprintf("%g%% of the requests (the sample) and every 4xx and 5xx, assumed %g%%", share*100, errorShare*100)
			share += (1 - share) * errorShare
		}
		logGB := reqs * share * accessLogBytes / gb
		add(owner, fmt.Sprintf("nginx access logs to CloudWatch Logs, %.0f GB", logGB), logGB*e.p.rate("logs.ingest.gb"),
			fmt.Sprintf("one line of about %d bytes for %s, ingested; storage (0.03 per GB-month compressed) adds a little each month of retention", accessLogBytes, what))
	}

	if azs := len(e.g.AvailabilityZones()); azs > 1 && len(e.g.ByType("aws:autoscaling/group:Group")) > 0 {
		dataGB := outGB + inGB
		share := float64(azs-1) / float64(azs)
		add("traffic", fmt.Sprintf("between AZs, %.0f GB", dataGB*share), dataGB*share*e.p.rate("interAz.gb"),
			fmt.Sprintf("servers spread over %d AZs reach the cache or database in another AZ for %d of %d requests (balancers' own cross-zone traffic is free)", azs, azs-1, azs))
	}
}

// shipsAccessLog returns the component whose servers ship nginx's access log to CloudWatch
// Logs (their boot script configures the agent with it), or "".
func (e *estimator) shipsAccessLog() (string, float64) {
	for _, r := range e.g.Resources {
		if r.Type != "aws:ec2/launchTemplate:LaunchTemplate" && r.Type != "aws:ec2/instance:Instance" {
			continue
		}
		if script := r.Script("userData"); strings.Contains(script, "/var/log/nginx/access.log") {
			share := 1.0
			if m := logSampleRE.FindStringSubmatch(script); m != nil {
				pct, _ := strconv.ParseFloat(m[1], 64)
				share = pct / 100
			}
			return e.component(r), share
		}
	}
	return "", 0
}

// logSampleRE finds the random sample of nginx's access log in a web tier's boot script
// (components/userdata.sh.tmpl: split_clients ... { N% 1; * 0; }).
var logSampleRE = regexp.MustCompile(`split_clients "\$\{request_id\}" \$scaling_sampled \{ ([0-9.]+)% 1;`)
