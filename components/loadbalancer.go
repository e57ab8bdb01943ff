package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TLSPolicy is the listener security policy of every HTTPS listener: TLS 1.3 and 1.2 with
// forward-secret ciphers only. An HTTPS listener without an explicit policy gets a 2016
// policy that still allows TLS 1.0 (AVD-AWS-0047, CKV_AWS_103).
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// CloudFrontOriginFacingPrefixList is the AWS-managed prefix list of CloudFront's
// origin-facing addresses: a load balancer fronted by the CDN accepts only these.
const CloudFrontOriginFacingPrefixList = "com.amazonaws.global.cloudfront.origin-facing"

// PlainHTTPNotice is what a public load balancer without a certificate means for users; the
// preview and the docs quote it.
const PlainHTTPNotice = "without a domain the load balancer serves plain HTTP on 80; viewers still get HTTPS " +
	"from CloudFront's default certificate when the CDN fronts it, but CloudFront→ALB is HTTP"

// catchAllPriority is the listener-rule priority of a target without conditions: the
// largest AWS allows, so every rule with conditions is evaluated first.
const catchAllPriority = 50000

// LoadBalancerArgs configures a LoadBalancer.
type LoadBalancerArgs struct {
	// Network is where the load balancer lives. Required.
	Network *Network
	// Internal makes an internal load balancer (the app tier's, reached by the web tier)
	// with no address on the internet. Default: false, internet-facing.
	Internal bool
	// Subnets is the tier whose subnets (one per AZ, at least two) hold the load balancer.
	// Default: public for an internet-facing load balancer, app for an internal one.
	Subnets Tier
	// CertificateArn is an ACM certificate (in the stack's region) for the domain. With it
	// the load balancer serves HTTPS on 443 with TLSPolicy and its port 80 only redirects
	// (301) to HTTPS. Default: none; the load balancer then serves plain HTTP on 80 and
	// Encrypted is false (see PlainHTTPNotice). Ignored for internal load balancers.
	CertificateArn pulumi.StringInput
	// LogBucket receives access logs under "alb/<name>/". It must be a log bucket (Class
	// DataLogs) whose policy, letting load balancer log delivery write, is already attached
	// (AttachPolicy): the load balancer depends on that policy, since AWS refuses to turn
	// access logs on before the bucket allows them. Required: access logs are a security
	// rule (CKV_AWS_91, SH ELB.5).
	LogBucket *Bucket
	// DeletionProtection stops AWS from deleting the load balancer until it is turned off.
	// Default: false; set it in prod (SH ELB.6). It makes `pulumi destroy` fail by design.
	DeletionProtection bool
	// FromCloudFrontOnly opens the public load balancer only to CloudFront's origin-facing
	// prefix list (set it when the CDN fronts the load balancer), so nobody bypasses the CDN.
	// Only the serving port is opened: the CloudFront prefix list counts as about 55 rules
	// against the security group's 60-rule quota, so it can appear once. Default: false,
	// the listener ports are open to 0.0.0.0/0 and ::/0.
	FromCloudFrontOnly bool
	// SecretKey, when set, encrypts the origin secret (FromCloudFrontOnly) with the stack's
	// own key (prod, rule KMS-2). Default: nil, the AWS-managed aws/secretsmanager key.
	SecretKey *Key
	// IdleTimeoutSeconds closes idle connections. Default: 60 (AWS's default, longer than
	// any API call the app makes, shorter than nginx's keepalive so the ALB closes first).
	IdleTimeoutSeconds int
}

// LoadBalancer is an Application Load Balancer with its own closed security group, access
// logs, dropped invalid headers, defensive desync mitigation and HTTP/2, and one serving
// listener whose default action answers 404 until targets are added with AddTarget.
//
// Public with a certificate: HTTPS on 443 (TLSPolicy) and HTTP on 80 that only redirects
// (301) to HTTPS. Public without one: HTTP on 80 (Encrypted false, see PlainHTTPNotice).
// Internal: HTTP on 80 inside the VPC, reached only from the security groups given to
// AllowFrom; there is no private CA in this stack to issue it a certificate, and traffic
// stays inside the VPC between private subnets.
//
// AWS resources: lb.LoadBalancer, one or two lb.Listener, an ec2.SecurityGroup with its
// rules, and per target an lb.TargetGroup and an lb.ListenerRule.
// Costs money: the load balancer (about 16 USD a month plus LCUs) and its log storage.
type LoadBalancer struct {
	pulumi.ResourceState

	// DNSName is the load balancer's DNS name.
	DNSName pulumi.StringOutput
	// ZoneID is the load balancer's hosted zone, for Route 53 alias records.
	ZoneID pulumi.StringOutput
	// Arn is the load balancer's ARN.
	Arn pulumi.StringOutput
	// ArnSuffix is the ARN suffix CloudWatch metrics use as the LoadBalancer dimension.
	ArnSuffix pulumi.StringOutput
	// SecurityGroup guards the load balancer; use ForwardTo and AllowFrom rather than
	// adding rules by hand.
	SecurityGroup *SecurityGroup
	// URL is http(s)://DNSName, per Encrypted.
	URL pulumi.StringOutput
	// Encrypted reports whether clients reach the load balancer over TLS.
	Encrypted bool
	// Internal reports whether the load balancer is internal.
	Internal bool
	// Port is the serving listener's port: 443 with a certificate, else 80.
	Port Port

	ctx   *pulumi.Context
	name  string
	child []pulumi.ResourceOption
	vpcID pulumi.IDOutput
	// originSecret is the value CloudFront sends in OriginHeader (FromCloudFrontOnly):
	// every listener rule requires it, the listener's default answers 403.
	originSecret pulumi.StringOutput
	fronted      bool
	listener     *lb.Listener
	targets      map[string]bool
	priority     map[int]string
}

// TargetGroup is a group of servers behind a LoadBalancer; a ServerGroup registers into it.
type TargetGroup struct {
	// Arn is the target group's ARN.
	Arn pulumi.StringOutput
	// ArnSuffix is the ARN suffix CloudWatch metrics use as the TargetGroup dimension.
	ArnSuffix pulumi.StringOutput
	// Port is the port targets listen on.
	Port Port
	// LoadBalancer is the load balancer routing to the group.
	LoadBalancer *LoadBalancer

	// name is the group's logical name, <lb>-<target> (its alarms' prefix).
	name string
}

// TargetArgs configures a target of a LoadBalancer.
type TargetArgs struct {
	// Port is the port the servers listen on. Default: 8080 (the app's port; nginx on web
	// servers listens there too, so no server needs root's low ports).
	Port Port
	// HealthCheckPath is the path the load balancer polls. Default: "/healthz", the app's
	// liveness check: a readiness check that fails when the database is down would mark every
	// server unhealthy at once, and with ELB health checks the Auto Scaling group would then
	// replace every server for a fault none of them has.
	HealthCheckPath string
	// Methods routes requests with these HTTP methods (such as GET, HEAD for the read API).
	Methods []string
	// PathPatterns routes requests whose path matches (such as "/api/*").
	PathPatterns []string
	// Priority orders the rule among the listener's rules (1 to 49999, unique, lower first).
	// Required with Methods or PathPatterns. A target with neither is the catch-all: it gets
	// priority 50000 and path "/*", the listener's default route.
	Priority int
	// DeregistrationDelaySeconds lets in-flight requests finish on a server being removed.
	// Default: 30 (AWS's 300 makes every rolling refresh five times slower; the app's requests
	// take well under a second).
	DeregistrationDelaySeconds int
}

// NewLoadBalancer creates a LoadBalancer.
func NewLoadBalancer(ctx *pulumi.Context, name string, args *LoadBalancerArgs, opts ...pulumi.ResourceOption) (*LoadBalancer, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	net := a.Network
	l := &LoadBalancer{
		ctx: ctx, name: name, vpcID: net.VpcID, Internal: a.Internal,
		targets: map[string]bool{}, priority: map[int]string{},
	}
	l.Encrypted = !a.Internal && a.CertificateArn != nil
	l.Port = 80
	if l.Encrypted {
		l.Port = 443
	}
	child, err := register(ctx, "network:LoadBalancer", name, l, opts)
	if err != nil {
		return nil, err
	}
	l.child = child

	role, desc := RolePublicLB, "public load balancer: listener ports from the internet or CloudFront only"
	if a.Internal {
		role, desc = RoleInternal, "internal load balancer: listener port from peer security groups only"
	}
	sg, err := net.NewSecurityGroup(ctx, childName(name, "sg"), desc, role, child)
	if err != nil {
		return nil, err
	}
	l.SecurityGroup = sg
	if err := l.openIngress(a); err != nil {
		return nil, err
	}
	if a.FromCloudFrontOnly {
		if err := l.newOriginSecret(a.SecretKey); err != nil {
			return nil, err
		}
	}

	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(a.Internal),
		Subnets:                  net.SubnetIDs(a.Subnets),
		SecurityGroups:           pulumi.StringArray{sg.ID},
		IpAddressType:            pulumi.String("ipv4"),
		DropInvalidHeaderFields:  pulumi.Bool(true), // request smuggling through malformed headers
		DesyncMitigationMode:     pulumi.String("defensive"),
		EnableHttp2:              pulumi.Bool(true),
		IdleTimeout:              pulumi.Int(a.IdleTimeoutSeconds),
		EnableDeletionProtection: pulumi.Bool(a.DeletionProtection),
		AccessLogs: &lb.LoadBalancerAccessLogsArgs{
			Bucket:  a.LogBucket.ID,
			Prefix:  pulumi.String("alb/" + name),
			Enabled: pulumi.Bool(true),
		},
		Tags: tags(name),
	}, with(child, pulumi.DependsOn([]pulumi.Resource{a.LogBucket.policy}))...) // AWS checks the bucket policy when access logs are turned on
	if err != nil {
		return nil, err
	}
	l.DNSName, l.ZoneID, l.Arn, l.ArnSuffix = alb.DnsName, alb.ZoneId, alb.Arn, alb.ArnSuffix
	scheme := "http"
	if l.Encrypted {
		scheme = "https"
	}
	l.URL = pulumi.Sprintf("%s://%s", scheme, alb.DnsName)

	notFound := lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
		Type: pulumi.String("fixed-response"),
		FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
			ContentType: pulumi.String("text/plain"),
			MessageBody: pulumi.String("not found"),
			StatusCode:  pulumi.String("404"),
		},
	}}
	if l.fronted {
		// Only requests carrying the origin secret reach a target (the listener rules);
		// anything else, even from CloudFront's address ranges, gets 403.
		notFound = lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
				ContentType: pulumi.String("text/plain"),
				MessageBody: pulumi.String("forbidden"),
				StatusCode:  pulumi.String("403"),
			},
		}}
	}
	if l.Encrypted {
		l.listener, err = lb.NewListener(ctx, childName(name, "https"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(443),
			Protocol:        pulumi.String("HTTPS"),
			SslPolicy:       pulumi.String(TLSPolicy),
			CertificateArn:  a.CertificateArn,
			DefaultActions:  notFound,
			Tags:            tags(childName(name, "https")),
		}, child...)
		if err != nil {
			return nil, err
		}
		// Port 80 exists only to send browsers to HTTPS (CKV_AWS_2, SH ELB.1).
		if _, err := lb.NewListener(ctx, childName(name, "http"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
				Type: pulumi.String("redirect"),
				Redirect: &lb.ListenerDefaultActionRedirectArgs{
					Protocol:   pulumi.String("HTTPS"),
					Port:       pulumi.String("443"),
					StatusCode: pulumi.String("HTTP_301"),
				},
			}},
			Tags: tags(childName(name, "http")),
		}, child...); err != nil {
			return nil, err
		}
	} else {
		l.listener, err = lb.NewListener(ctx, childName(name, "http"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions:  notFound,
			Tags:            tags(childName(name, "http")),
		}, child...)
		if err != nil {
			return nil, err
		}
	}

	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{
		"dnsName":   alb.DnsName,
		"arn":       alb.Arn,
		"url":       l.URL,
		"encrypted": pulumi.Bool(l.Encrypted),
	})
}

func (a *LoadBalancerArgs) withDefaults(name string) (*LoadBalancerArgs, error) {
	if a == nil {
		return nil, argError("load balancer", name, "args", nil, "pass LoadBalancerArgs")
	}
	out := *a
	if out.Network == nil {
		return nil, argError("load balancer", name, "Network", nil, "pass the stack's Network")
	}
	if out.LogBucket == nil {
		return nil, argError("load balancer", name, "LogBucket", nil, "access logs are required; pass the stack's log bucket")
	}
	if out.LogBucket.args.Class != DataLogs {
		return nil, argError("load balancer", name, "LogBucket", out.LogBucket.name, "pass a bucket of Class DataLogs: only its policy lets load balancer log delivery write")
	}
	if out.LogBucket.policy == nil {
		return nil, argError("load balancer", name, "LogBucket", out.LogBucket.name+" (no policy yet)",
			"attach the log bucket's policy (Bucket.AttachPolicy) before creating the load balancer: turning access logs on fails until the bucket allows delivery")
	}
	if out.Subnets == "" {
		out.Subnets = TierPublic
		if out.Internal {
			out.Subnets = TierApp
		}
	}
	if out.Internal && out.Subnets.Public() {
		return nil, argError("load balancer", name, "Subnets", out.Subnets, "an internal load balancer belongs in a private tier such as app")
	}
	if !out.Internal && !out.Subnets.Public() {
		return nil, argError("load balancer", name, "Subnets", out.Subnets, "an internet-facing load balancer needs the public tier")
	}
	if n := len(out.Network.subnets[out.Subnets]); n < 2 {
		return nil, argError("load balancer", name, "Subnets", fmt.Sprintf("%s (%d AZs)", out.Subnets, n),
			"an application load balancer needs subnets in at least 2 AZs; add the tier and a second AZ to the network")
	}
	if out.Internal && out.FromCloudFrontOnly {
		return nil, argError("load balancer", name, "FromCloudFrontOnly", true, "CloudFront cannot reach an internal load balancer; front the public one")
	}
	if out.Internal {
		out.CertificateArn = nil
	}
	if out.IdleTimeoutSeconds == 0 {
		out.IdleTimeoutSeconds = 60
	}
	if out.IdleTimeoutSeconds < 1 || out.IdleTimeoutSeconds > 4000 {
		return nil, argError("load balancer", name, "IdleTimeoutSeconds", out.IdleTimeoutSeconds, "use 1 to 4000 seconds")
	}
	return &out, nil
}

// openIngress opens the public listener ports; an internal load balancer stays closed until
// AllowFrom names a peer.
func (l *LoadBalancer) openIngress(a *LoadBalancerArgs) error {
	if a.Internal {
		return nil
	}
	if a.FromCloudFrontOnly {
		pl, err := ec2.LookupManagedPrefixList(l.ctx, &ec2.LookupManagedPrefixListArgs{
			Name: pulumi.StringRef(CloudFrontOriginFacingPrefixList),
		}, pulumi.Parent(l))
		if err != nil {
			return fmt.Errorf("load balancer %q: look up %s: %w", l.name, CloudFrontOriginFacingPrefixList, err)
		}
		// CloudFront reaches the origin on the serving port only (https-only to 443 with a
		// certificate, http-only to 80 without); viewers are redirected by CloudFront itself.
		return l.SecurityGroup.AllowFromPrefixList(fmt.Sprintf("cloudfront-%d", l.Port), pulumi.String(pl.Id), l.Port)
	}
	// Port 80 is open with a certificate too, but its listener only redirects to 443.
	ports := []Port{80}
	if l.Encrypted {
		ports = append(ports, 443)
	}
	for _, p := range ports {
		if err := l.SecurityGroup.AllowFromCidr(fmt.Sprintf("internet-%d-ipv4", p), "0.0.0.0/0", p); err != nil {
			return err
		}
		if err := l.SecurityGroup.AllowFromCidr(fmt.Sprintf("internet-%d-ipv6", p), "::/0", p); err != nil {
			return err
		}
	}
	return nil
}

// AllowFrom lets members of peer reach the load balancer's serving port. It is how an
// internal load balancer is opened (the web tier to the app tier's load balancer); it opens
// ingress only, so pair it with an egress rule on peer (or use Connect).
func (l *LoadBalancer) AllowFrom(rule string, peer *SecurityGroup) error {
	return l.SecurityGroup.AllowFrom(rule, peer, l.Port)
}

// ForwardTo lets the load balancer reach members of peer on port (traffic and health
// checks): egress on the load balancer's group, ingress on peer's.
func (l *LoadBalancer) ForwardTo(peer *SecurityGroup, port Port) error {
	return Connect("to-"+peer.name, l.SecurityGroup, peer, port)
}

// AddTarget creates a target group named <lb>-<name> and routes requests to it from the
// serving listener: by Methods and PathPatterns at Priority, or as the catch-all.
func (l *LoadBalancer) AddTarget(name string, args TargetArgs) (*TargetGroup, error) {
	a, err := l.targetDefaults(name, args)
	if err != nil {
		return nil, err
	}
	tgName := childName(l.name, name)
	tg, err := lb.NewTargetGroup(l.ctx, tgName, &lb.TargetGroupArgs{
		VpcId:               l.vpcID,
		Port:                pulumi.Int(int(a.Port)),
		Protocol:            pulumi.String("HTTP"),
		TargetType:          pulumi.String("instance"),
		DeregistrationDelay: pulumi.Int(a.DeregistrationDelaySeconds),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:  pulumi.Bool(true),
			Path:     pulumi.String(a.HealthCheckPath),
			Protocol: pulumi.String("HTTP"),
			Port:     pulumi.String("traffic-port"),
			Matcher:  pulumi.String("200"),
			// A server joins after 2 passes (30 s) and leaves after 3 failures (45 s); the
			// timeout stays well under the interval, as AWS requires.
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(3),
			Interval:           pulumi.Int(15),
			Timeout:            pulumi.Int(5),
		},
		Tags: tags(tgName),
	}, l.child...)
	if err != nil {
		return nil, err
	}

	var conds lb.ListenerRuleConditionArray
	if len(a.Methods) > 0 {
		conds = append(conds, &lb.ListenerRuleConditionArgs{
			HttpRequestMethod: &lb.ListenerRuleConditionHttpRequestMethodArgs{Values: pulumi.ToStringArray(a.Methods)},
		})
	}
	if len(a.PathPatterns) > 0 {
		conds = append(conds, &lb.ListenerRuleConditionArgs{
			PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.ToStringArray(a.PathPatterns)},
		})
	}
	if l.fronted {
		conds = append(conds, &lb.ListenerRuleConditionArgs{
			HttpHeader: &lb.ListenerRuleConditionHttpHeaderArgs{
				HttpHeaderName: pulumi.String(OriginHeader),
				Values:         pulumi.StringArray{l.originSecret},
			},
		})
	}
	if _, err := lb.NewListenerRule(l.ctx, tgName, &lb.ListenerRuleArgs{
		ListenerArn: l.listener.Arn,
		Priority:    pulumi.Int(a.Priority),
		Conditions:  conds,
		Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
			Type:           pulumi.String("forward"),
			TargetGroupArn: tg.Arn,
		}},
		Tags: tags(tgName),
	}, l.child...); err != nil {
		return nil, err
	}
	return &TargetGroup{Arn: tg.Arn, ArnSuffix: tg.ArnSuffix, Port: a.Port, LoadBalancer: l, name: tgName}, nil
}

func (l *LoadBalancer) targetDefaults(name string, a TargetArgs) (TargetArgs, error) {
	what := l.name + " target " + name
	if name == "" {
		return a, argError("load balancer", l.name, "target name", `""`, "name the target, such as read or write")
	}
	if l.targets[name] {
		return a, argError("load balancer", what, "name", name, "target names must be unique per load balancer")
	}
	if a.Port == 0 {
		a.Port = 8080
	}
	if a.Port < 1 || a.Port > 65535 {
		return a, argError("load balancer", what, "Port", a.Port, "use 1 to 65535")
	}
	if a.HealthCheckPath == "" {
		a.HealthCheckPath = "/healthz"
	}
	if a.DeregistrationDelaySeconds == 0 {
		a.DeregistrationDelaySeconds = 30
	}
	if len(a.Methods) == 0 && len(a.PathPatterns) == 0 {
		if a.Priority != 0 {
			return a, argError("load balancer", what, "Priority", a.Priority, "a catch-all target (no Methods or PathPatterns) takes no priority")
		}
		a.Priority = catchAllPriority
		a.PathPatterns = []string{"/*"}
	} else if a.Priority < 1 || a.Priority >= catchAllPriority {
		return a, argError("load balancer", what, "Priority", a.Priority, fmt.Sprintf("give a priority from 1 to %d to a target with conditions", catchAllPriority-1))
	}
	if other, ok := l.priority[a.Priority]; ok {
		return a, argError("load balancer", what, "Priority", a.Priority, "already used by target "+other+"; priorities are unique per listener")
	}
	l.targets[name] = true
	l.priority[a.Priority] = name
	return a, nil
}

// OriginHeader is the header CloudFront adds to every request to a load balancer created
// with FromCloudFrontOnly, carrying the origin secret; the listener forwards only requests
// that carry it. The CloudFront prefix list admits every distribution's edge addresses,
// anyone's: the header is what makes this distribution the only way in.
const OriginHeader = "X-Origin-Verify"

// newOriginSecret generates the origin secret once and keeps it: the value is drawn with
// crypto/rand on every run, stored in a Secrets Manager secret version that ignores later
// draws (ignoreChanges secretString), and read back from that version, so CloudFront and
// the listener always agree on the first value. It is a Pulumi secret and never an output.
func (l *LoadBalancer) newOriginSecret(key *Key) error {
	value, err := generatePassword(32)
	if err != nil {
		return fmt.Errorf("load balancer %q: generate the origin secret: %w", l.name, err)
	}
	secret, err := secretsmanager.NewSecret(l.ctx, childName(l.name, "origin"), &secretsmanager.SecretArgs{
		Description:          pulumi.Sprintf("%s: the %s value CloudFront sends and the load balancer requires", l.name, OriginHeader),
		RecoveryWindowInDays: pulumi.Int(7),
		KmsKeyId:             keyArn(key),
		Tags:                 tags(childName(l.name, "origin")),
	}, l.child...)
	if err != nil {
		return err
	}
	version, err := secretsmanager.NewSecretVersion(l.ctx, childName(l.name, "origin"), &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(pulumi.String(value)).(pulumi.StringOutput),
	}, with(l.child, pulumi.IgnoreChanges([]string{"secretString"}))...)
	if err != nil {
		return err
	}
	l.originSecret = pulumi.ToSecret(version.SecretString.Elem()).(pulumi.StringOutput)
	l.fronted = true
	return nil
}

// LoadBalancerLogDeliveryStatement lets the region's Elastic Load Balancing account
// (elb.GetServiceAccount) write access logs under alb/ in logBucket. Regions opened since
// August 2022 deliver as the service principal logdelivery.elasticloadbalancing.amazonaws.com,
// which every log bucket already allows; older regions, us-east-1 among them, need this.
func LoadBalancerLogDeliveryStatement(logBucket *Bucket, elbAccountArn string) PolicyStatement {
	return PolicyStatement{
		Sid:       "AllowLoadBalancerLogDelivery",
		Effect:    "Allow",
		Principal: map[string]any{"AWS": elbAccountArn},
		Actions:   []string{"s3:PutObject"},
		Resource:  logBucket.ObjectsArn("alb/"),
	}
}
