package stages

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// usersPlus2 is stage 2, "Users++": a load balancer (TLS terminated there when a domain is
// given) in front of web servers spread over AZs; the web servers (nginx reverse proxies)
// separated from the application servers, which sit behind an internal load balancer split
// into read-API and write-API servers sized apart (GET and HEAD go to the read API); MySQL in
// Multi-AZ master-standby failover; and CloudFront in front of the object store and the load
// balancer. Every server group is an Auto Scaling group of fixed size, so users++++ turns
// knobs rather than replacing servers. The single box is gone (its data volume is retained).
//
// The seed: "our single Web Server bottlenecks during peak hours, resulting in slow responses
// and in some cases, downtime. As the service matures, we'd also like to move towards higher
// availability and redundancy."
func usersPlus2(b *builder) error { return tiered(b, nil) }

// stageExtras is what a later stage adds to the users++ composition without copying it:
// more subnet tiers, and the data tier beside MySQL (built once the database exists) with
// the environment it gives each API role and the links it needs from their servers.
type stageExtras struct {
	tiers []components.Tier
	// endpoints are interface endpoints beyond serverEndpoints (sqs for the workers).
	endpoints []string
	data      func(b *builder, net *components.Network, alarms *components.Alarms, db *components.Database) (*dataTier, error)
	// operate runs last, over everything the composition built: what users++++ adds to run
	// the stack (scaling triggers, monitoring, operations).
	operate func(b *builder, p *tierParts) error
	// appEnv each add to the environment of the API role "read" or "write" (called once per
	// role, after the foundation: the stack key exists).
	appEnv []func(b *builder, role string) (map[string]pulumi.StringInput, error)
}

// tierParts is everything tiered built, for stageExtras.operate.
type tierParts struct {
	net                                *components.Network
	alarms                             *components.Alarms
	logs, store                        *components.Bucket
	db                                 *components.Database
	data                               *dataTier
	public, internal                   *components.LoadBalancer
	webTarget, readTarget, writeTarget *components.TargetGroup
	web, read, write                   *components.ServerGroup
	// worker is the queue workers' group (users+++++ on; nil before).
	worker *components.ServerGroup
	cdn    *components.CDN
	certs  *stageCerts
	// release is the app release every app server runs.
	release *components.AppRelease
}

// dataTier is what stageExtras.data built.
type dataTier struct {
	// env is the extra app environment of role "read" or "write".
	env func(role string) map[string]pulumi.StringInput
	// link opens the security groups and grants the read-API and write-API servers need.
	link func(read, write *components.ServerGroup) error
	// cache is the memory cache (nil before users+++).
	cache *components.Cache
	// scaled is users+++++'s shards, identity database and counters (nil before).
	scaled *scaledData
}

// tiered composes users++ and, with extras, the stages built on it.
func tiered(b *builder, x *stageExtras) error {
	tiers := []components.Tier{components.TierPublic, components.TierWeb, components.TierApp, components.TierData}
	if x != nil {
		tiers = append(tiers, x.tiers...)
	}
	endpoints := serverEndpoints
	if x != nil {
		endpoints = append(append([]string(nil), serverEndpoints...), x.endpoints...)
	}
	net, alarms, rel, err := b.foundation(tiers, endpoints, b.cfg.ReadAPI.InstanceType)
	if err != nil {
		return err
	}
	logs, store, err := b.objectStore()
	if err != nil {
		return err
	}
	// The log bucket's policy comes before what delivers logs into it: AWS checks it when a
	// load balancer turns access logs on and when CloudFront's log delivery is created.
	if err := b.logDeliveryPolicy(logs); err != nil {
		return err
	}
	if err := b.staticAssets(store); err != nil {
		return err
	}
	db, err := b.database(net, alarms)
	if err != nil {
		return err
	}
	extra := &dataTier{}
	if x != nil && x.data != nil {
		if extra, err = x.data(b, net, alarms, db); err != nil {
			return err
		}
	}
	certs, err := b.certificates()
	if err != nil {
		return err
	}

	public, err := components.NewLoadBalancer(b.ctx, namePublicLB, &components.LoadBalancerArgs{
		Network:            net,
		CertificateArn:     certs.regional,
		LogBucket:          logs,
		DeletionProtection: b.cfg.Protect(),
		FromCloudFrontOnly: true, // CloudFront fronts it: nobody bypasses the CDN
		SecretKey:          b.dataKey(),
	})
	if err != nil {
		return err
	}
	internal, err := components.NewLoadBalancer(b.ctx, nameAppLB, &components.LoadBalancerArgs{
		Network:            net,
		Internal:           true,
		LogBucket:          logs,
		DeletionProtection: b.cfg.Protect(),
	})
	if err != nil {
		return err
	}
	webTarget, err := public.AddTarget("web", components.TargetArgs{})
	if err != nil {
		return err
	}
	// Reads and writes are routed by HTTP method: the read API takes GET and HEAD, the write
	// API everything else, so each tier is sized for its own load.
	readTarget, err := internal.AddTarget("read", components.TargetArgs{Methods: []string{"GET", "HEAD"}, Priority: 10})
	if err != nil {
		return err
	}
	writeTarget, err := internal.AddTarget("write", components.TargetArgs{})
	if err != nil {
		return err
	}

	cdn, err := b.cdn(store, logs, public, certs)
	if err != nil {
		return err
	}
	if err := store.AttachPolicy(cdn.BucketReadStatement()); err != nil {
		return err
	}

	image, err := b.image(b.cfg.Web.InstanceType)
	if err != nil {
		return err
	}
	web, err := b.serverGroup(nameWeb, net, alarms, image, b.cfg.Web, components.TierWeb, webTarget, &components.ServerScriptArgs{
		Tier: nameWeb, Release: rel, Region: b.cfg.Region, ProxyTo: internal.DNSName, AccessLogPercent: b.cfg.WebAccessLogPercent,
	})
	if err != nil {
		return err
	}
	appImage, err := b.image(b.cfg.ReadAPI.InstanceType)
	if err != nil {
		return err
	}
	apiEnv := func(role string) (map[string]pulumi.StringInput, error) {
		env := map[string]pulumi.StringInput{
			"APP_ROLE": pulumi.String(role), "APP_ADDR": pulumi.String(":8080"), "AWS_REGION": pulumi.String(b.cfg.Region),
			"DB_HOST": db.Address, "DB_PORT": pulumi.Sprintf("%d", db.Port), "DB_NAME": pulumi.String("app"), "DB_USER": pulumi.String("admin"),
			"DB_PASSWORD_SECRET_ARN": db.SecretArn, "DB_TLS": pulumi.String("rds"),
			"DB_MIGRATE": pulumi.String(map[string]string{"read": "false", "write": "true"}[role]),
			"S3_BUCKET":  store.ID, "CDN_BASE_URL": cdn.URL,
		}
		if extra.env != nil {
			for k, v := range extra.env(role) {
				env[k] = v
			}
		}
		if x != nil {
			for _, add := range x.appEnv {
				more, err := add(b, role)
				if err != nil {
					return nil, err
				}
				for k, v := range more {
					env[k] = v
				}
			}
		}
		return env, nil
	}
	readEnv, err := apiEnv("read")
	if err != nil {
		return err
	}
	writeEnv, err := apiEnv("write")
	if err != nil {
		return err
	}
	read, err := b.serverGroup(nameReadAPI, net, alarms, appImage, b.cfg.ReadAPI, components.TierApp, readTarget, &components.ServerScriptArgs{
		Tier: nameReadAPI, Release: rel, Region: b.cfg.Region, Env: readEnv,
	})
	if err != nil {
		return err
	}
	write, err := b.serverGroup(nameWriteAPI, net, alarms, appImage, b.cfg.WriteAPI, components.TierApp, writeTarget, &components.ServerScriptArgs{
		Tier: nameWriteAPI, Release: rel, Region: b.cfg.Region, Env: writeEnv,
	})
	if err != nil {
		return err
	}

	// The security-group chain: CloudFront -> public LB -> web -> internal LB -> read and
	// write API -> MySQL, every link by group reference.
	for _, link := range []error{
		public.ForwardTo(web.SecurityGroup, webTarget.Port),
		components.Connect("app-lb", web.SecurityGroup, internal.SecurityGroup, internal.Port),
		internal.ForwardTo(read.SecurityGroup, readTarget.Port),
		internal.ForwardTo(write.SecurityGroup, writeTarget.Port),
		db.AllowFrom("read-api", read.SecurityGroup),
		db.AllowFrom("write-api", write.SecurityGroup),
		db.GrantReadSecret(read.Role),
		db.GrantReadSecret(write.Role),
		store.GrantObjects("read-api", read.Role, appPrefixes...),
		store.GrantObjects("write-api", write.Role, appPrefixes...),
	} {
		if link != nil {
			return link
		}
	}
	if extra.link != nil {
		if err := extra.link(read, write); err != nil {
			return err
		}
	}

	if x != nil && x.operate != nil {
		if err := x.operate(b, &tierParts{
			net: net, alarms: alarms, logs: logs, store: store, db: db, data: extra,
			public: public, internal: internal, webTarget: webTarget, readTarget: readTarget, writeTarget: writeTarget,
			web: web, read: read, write: write, cdn: cdn, certs: certs, release: rel,
		}); err != nil {
			return err
		}
	}

	b.outputs["url"] = cdn.URL
	b.outputs["loadBalancerDns"] = public.DNSName
	if !public.Encrypted {
		b.outputs["notice"] = pulumi.String(components.PlainHTTPNotice)
	}
	return nil
}

// logDeliveryPolicy attaches the log bucket's policy: CloudFront's log delivery (from this
// account's us-east-1 delivery sources) and the load balancers may write.
func (b *builder) logDeliveryPolicy(logs *components.Bucket) error {
	account, err := b.accountID()
	if err != nil {
		return err
	}
	// Load balancers in regions older than August 2022 deliver their logs as the region's
	// Elastic Load Balancing account, not as the service principal the log bucket already
	// allows; name it too.
	elbAccount, err := elb.GetServiceAccount(b.ctx, nil)
	if err != nil {
		return err
	}
	return logs.AttachPolicy(
		components.CloudFrontLogDeliveryStatement(logs, pulumi.String(account)),
		components.LoadBalancerLogDeliveryStatement(logs, elbAccount.Arn),
	)
}

// serverGroup creates a tier of servers registered into target: of fixed size (desired)
// before users++++, then scaling between the tier's min and max (tierScaling).
func (b *builder) serverGroup(name string, net *components.Network, alarms *components.Alarms, image pulumi.StringInput, t config.Tier, tier components.Tier, target *components.TargetGroup, script *components.ServerScriptArgs) (*components.ServerGroup, error) {
	args := &components.ServerGroupArgs{
		Network:          net,
		Tier:             tier,
		InstanceType:     t.InstanceType,
		ImageID:          image,
		MinSize:          t.Desired, // fixed size until users++++
		MaxSize:          t.Desired,
		DesiredCapacity:  t.Desired,
		CPUTargetPercent: float64(t.CPUTargetPercent),
		Script:           script,
		TargetGroups:     []*components.TargetGroup{target},
		// HTTPS to the internet through the stack's NAT gateways (config requires them from
		// users++ on), for AWS APIs the stack has no interface endpoint for: see
		// docs/decisions.md, "NAT at users++".
		EgressHTTPS:      true,
		LogRetentionDays: b.cfg.LogRetentionDays,
		AlarmTopicArn:    alarms.TopicArn,
		Key:              b.dataKey(),
	}
	if b.cfg.Scales() {
		args.MinSize, args.MaxSize, args.CPUTargetPercent = t.Min, t.Max, 0
		args.Scaling = tierScaling(t, b.cfg.Schedule)
	}
	return components.NewServerGroup(b.ctx, name, args)
}

// stageCerts are the certificates of a stack with a domain (all nil without one).
type stageCerts struct {
	regional pulumi.StringInput // the load balancer's, in the stack's region
	cdn      pulumi.StringInput // CloudFront's, in us-east-1
	// usEast1 is a provider for us-east-1 when the stack is elsewhere (nil in us-east-1).
	usEast1 pulumi.ProviderResource
}

// originName is the name CloudFront uses to reach the load balancer over TLS.
func (b *builder) originName() string { return "origin." + b.cfg.Domain }

// certificates issues the load balancer's certificate (the domain and its origin name) and
// CloudFront's (us-east-1); in us-east-1 one certificate serves both.
func (b *builder) certificates() (*stageCerts, error) {
	c := &stageCerts{}
	if b.cfg.Region != "us-east-1" {
		p, err := aws.NewProvider(b.ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return nil, err
		}
		c.usEast1 = p
	}
	if b.cfg.Domain == "" {
		return c, nil
	}
	regional, err := components.NewCertificate(b.ctx, nameCert, &components.CertificateArgs{
		Domain: b.cfg.Domain, AlternativeNames: []string{b.originName()}, HostedZoneID: b.cfg.HostedZoneID,
	})
	if err != nil {
		return nil, err
	}
	c.regional, c.cdn = regional.Arn, regional.Arn
	if c.usEast1 != nil {
		edge, err := components.NewCertificate(b.ctx, nameCert+"-cdn", &components.CertificateArgs{
			Domain: b.cfg.Domain, HostedZoneID: b.cfg.HostedZoneID, Provider: c.usEast1,
		})
		if err != nil {
			return nil, err
		}
		c.cdn = edge.Arn
	}
	return c, nil
}

// cdn puts CloudFront in front of the object store and the public load balancer, points the
// domain (when given) at it, and lets CloudFront deliver its logs to the log bucket.
func (b *builder) cdn(store, logs *components.Bucket, public *components.LoadBalancer, certs *stageCerts) (*components.CDN, error) {
	wafKey, err := b.edgeKey(certs)
	if err != nil {
		return nil, err
	}
	args := &components.CDNArgs{Bucket: store, StaticPathPatterns: cdnPathPatterns(), LoadBalancer: public, LogBucket: logs, LogsProvider: certs.usEast1, WAFLogKey: wafKey}
	if b.cfg.Domain != "" {
		args.Aliases = []string{b.cfg.Domain}
		args.AcmCertificateArn = certs.cdn
		args.LoadBalancerOriginDomain = b.originName()
	}
	cdn, err := components.NewCDN(b.ctx, nameCDN, args)
	if err != nil {
		return nil, err
	}
	if b.cfg.Domain != "" {
		// The domain's record is the one the box had, now an alias to CloudFront (an update).
		if err := b.siteRecord(siteTarget{aliasName: cdn.DomainName, alias: cdn.HostedZoneID}); err != nil {
			return nil, err
		}
		if _, err := route53.NewRecord(b.ctx, namePublicLB+"-dns", &route53.RecordArgs{
			ZoneId: pulumi.String(b.cfg.HostedZoneID),
			Name:   pulumi.String(b.originName()),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name: public.DNSName, ZoneId: public.ZoneID, EvaluateTargetHealth: pulumi.Bool(false),
			}},
		}); err != nil {
			return nil, err
		}
	}
	b.outputs["cdnDomain"] = cdn.DomainName
	return cdn, nil
}

// edgeKey is the key for what the stack keeps in us-east-1 beside CloudFront (the WAF log
// group): the stack key in a us-east-1 stack; elsewhere a second key of the stack in
// us-east-1, since a KMS key serves only its own region. nil in dev (dataKey).
func (b *builder) edgeKey(certs *stageCerts) (*components.Key, error) {
	if b.dataKey() == nil || certs.usEast1 == nil {
		return b.dataKey(), nil
	}
	account, err := b.accountID()
	if err != nil {
		return nil, err
	}
	k, err := components.NewKey(b.ctx, nameKey+"-edge", &components.KeyArgs{
		AccountID: account,
		Region:    "us-east-1",
		Protect:   b.cfg.Protect(),
	}, pulumi.Provider(certs.usEast1))
	b.edge = k
	return k, err
}
