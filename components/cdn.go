package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AWS-managed CloudFront policies, by their documented ids (the ids are global constants;
// see "Use managed cache policies" and "Use managed origin request policies" in the
// CloudFront developer guide).
const (
	// CachePolicyCachingDisabled passes every request to the origin (dynamic pages, the API).
	CachePolicyCachingDisabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	// CachePolicyCachingOptimized caches on the path alone, with gzip and brotli variants
	// (static content and user files, which are immutable by key).
	CachePolicyCachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
	// OriginRequestPolicyAllViewerExceptHostHeader forwards every header, cookie and query
	// string but Host, so the load balancer sees its own name and the app sees the rest.
	OriginRequestPolicyAllViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	// ResponseHeadersPolicySecurityHeaders adds HSTS, X-Content-Type-Options, X-Frame-Options,
	// Referrer-Policy and X-XSS-Protection to every response.
	ResponseHeadersPolicySecurityHeaders = "67f7725c-6f97-4210-82d7-5512b31e9d03"
)

// CDNArgs configures a CDN.
type CDNArgs struct {
	// Bucket is the object store served under StaticPathPatterns (or everywhere without a
	// load balancer), through an Origin Access Control: the bucket stays private and reads
	// only with CDN.BucketReadStatement in its policy. Create it with DeferPolicy and attach
	// that statement. Required.
	Bucket *Bucket
	// StaticPathPatterns are the paths served from the bucket when a load balancer serves the
	// rest. Default: "/static/*" and "/media/*" (the app's assets and user files).
	StaticPathPatterns []string
	// LoadBalancer, when set, is the origin of every other path (dynamic pages and the API),
	// uncached. It must be internet-facing, and should be created with FromCloudFrontOnly.
	// Default: none, the bucket is the only origin.
	LoadBalancer *LoadBalancer
	// LoadBalancerOriginDomain is the name CloudFront uses to reach an encrypted load
	// balancer: CloudFront checks the origin's certificate against it, and the load
	// balancer's own DNS name is not on the domain's certificate. Give a name on the
	// certificate that resolves to the load balancer (an alias record such as
	// origin.example.com). Required when the load balancer has a certificate; unused
	// otherwise (CloudFront then reaches it over HTTP, see PlainHTTPNotice).
	LoadBalancerOriginDomain string
	// Aliases are the viewer domain names (example.com). They need AcmCertificateArn.
	// Default: none, viewers use the distribution's cloudfront.net name.
	Aliases []string
	// AcmCertificateArn is an ACM certificate in us-east-1 (CloudFront's only region for
	// certificates) covering Aliases; viewers then negotiate TLSv1.2_2021 or better, by SNI.
	// Default: CloudFront's default *.cloudfront.net certificate.
	AcmCertificateArn pulumi.StringInput
	// LogBucket receives access logs through CloudFront standard logging v2 under
	// "cloudfront/<name>/". Its policy must include CloudFrontLogDeliveryStatement and be
	// attached before NewCDN (the log delivery depends on it). Required:
	// access logging is a security rule (CKV_AWS_86, SH CloudFront.5).
	LogBucket *Bucket
	// LogsProvider is an AWS provider for us-east-1: CloudFront log delivery sources exist
	// only there. Default: the stack's provider, which works only in a us-east-1 stack.
	LogsProvider pulumi.ProviderResource
	// RateLimitPer5Min is the most requests one client IP may send in 5 minutes before the
	// web ACL's rate rule blocks it. Default: 2000 (about 6.7 a second sustained: well above
	// a person using the app, well below a scripted flood; WAF's minimum is 10).
	RateLimitPer5Min int
	// WAFLogRetentionDays keeps the web ACL's logs (a value CloudWatch accepts). Default: 30,
	// as the other logs of the stack.
	WAFLogRetentionDays int
	// WAFLogKey, when set, encrypts the web ACL's log group. It must live in us-east-1 with
	// the web ACL and its logs (a KMS key serves only its own region). Default: nil,
	// CloudWatch Logs' own encryption (dev).
	WAFLogKey *Key
	// PriceClass limits the edge locations. Default: PriceClass_100 (North America and
	// Europe: the cheapest class; other viewers are served from the nearest of those).
	PriceClass string
}

// CDN is a CloudFront distribution: the object store behind an Origin Access Control
// (sigv4, always signed; never a legacy OAI or a public bucket) with the managed
// CachingOptimized policy, and optionally the public load balancer as the default,
// uncached origin (managed CachingDisabled and AllViewerExceptHostHeader policies, all
// seven methods). Every behavior redirects viewers to HTTPS, compresses and adds the
// managed security headers; HTTP/2 and HTTP/3 and IPv6 are on.
//
// CloudFront reaches the load balancer https-only when it has a certificate (through
// LoadBalancerOriginDomain), else http-only: without a domain the viewer leg is HTTPS on the
// cloudfront.net certificate but the CloudFront→ALB leg is plain HTTP (PlainHTTPNotice).
//
// Access logs use standard logging v2 (CloudWatch Logs vended-log delivery to S3): legacy
// standard logging writes through bucket ACLs, which the log bucket disables
// (BucketOwnerEnforced, CKV2_AWS_65); scanners that look only at the distribution's legacy
// loggingConfig report it missing, and the docs record that exception.
//
// AWS resources: cloudfront.Distribution, cloudfront.OriginAccessControl and, in us-east-1,
// cloudwatch.LogDeliverySource, LogDeliveryDestination and LogDelivery.
// Costs money: requests and data transfer out (about 0.085 USD per GB in PriceClass_100),
// log delivery (0.25 USD per GB of logs) and log storage.
type CDN struct {
	pulumi.ResourceState

	// DomainName is the distribution's cloudfront.net name.
	DomainName pulumi.StringOutput
	// Arn is the distribution's ARN.
	Arn pulumi.StringOutput
	// ID is the distribution's id (the DistributionId metric dimension).
	ID pulumi.IDOutput
	// HostedZoneID is CloudFront's hosted zone, for Route 53 alias records.
	HostedZoneID pulumi.StringOutput
	// URL is https:// and the first alias, or the cloudfront.net name.
	URL pulumi.StringOutput

	bucket *Bucket
	// routed are the key prefixes the distribution routes to the bucket; nil: every key.
	routed []string
}

// CloudFrontLogDeliveryStatement is the log bucket policy statement that lets CloudWatch
// Logs deliver this account's CloudFront logs (standard logging v2) into logBucket, and
// only from the account's delivery sources in us-east-1.
func CloudFrontLogDeliveryStatement(logBucket *Bucket, accountID pulumi.StringInput) PolicyStatement {
	return PolicyStatement{
		Sid:       "AllowCloudFrontLogDelivery",
		Effect:    "Allow",
		Principal: map[string]any{"Service": "delivery.logs.amazonaws.com"},
		Actions:   []string{"s3:PutObject"},
		Resource:  logBucket.ObjectsArn(""), // v2 delivery chooses the key layout (AWSLogs/<account>/CloudFront/...)
		Condition: map[string]map[string]pulumi.StringInput{
			"StringEquals": {"aws:SourceAccount": accountID, "s3:x-amz-acl": pulumi.String("bucket-owner-full-control")},
			"ArnLike":      {"aws:SourceArn": pulumi.Sprintf("arn:aws:logs:us-east-1:%s:delivery-source:*", accountID)},
		},
	}
}

// NewCDN creates a CDN.
func NewCDN(ctx *pulumi.Context, name string, args *CDNArgs, opts ...pulumi.ResourceOption) (*CDN, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	c := &CDN{bucket: a.Bucket}
	child, err := register(ctx, "cdn:CDN", name, c, opts)
	if err != nil {
		return nil, err
	}

	oac, err := cloudfront.NewOriginAccessControl(ctx, name, &cloudfront.OriginAccessControlArgs{
		Description:                   pulumi.Sprintf("%s: CloudFront reads the object store, signed", name),
		OriginAccessControlOriginType: pulumi.String("s3"),
		SigningBehavior:               pulumi.String("always"),
		SigningProtocol:               pulumi.String("sigv4"),
	}, child...)
	if err != nil {
		return nil, err
	}

	const s3Origin, lbOrigin = "s3", "alb"
	origins := cloudfront.DistributionOriginArray{&cloudfront.DistributionOriginArgs{
		OriginId:              pulumi.String(s3Origin),
		DomainName:            a.Bucket.RegionalDomainName,
		OriginAccessControlId: oac.ID(),
	}}
	static := func(pattern string) *cloudfront.DistributionOrderedCacheBehaviorArgs {
		return &cloudfront.DistributionOrderedCacheBehaviorArgs{
			PathPattern:             pulumi.String(pattern),
			TargetOriginId:          pulumi.String(s3Origin),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachedMethods:           pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:           pulumi.String(CachePolicyCachingOptimized),
			ResponseHeadersPolicyId: pulumi.String(ResponseHeadersPolicySecurityHeaders),
			Compress:                pulumi.Bool(true),
		}
	}
	var ordered cloudfront.DistributionOrderedCacheBehaviorArray
	def := &cloudfront.DistributionDefaultCacheBehaviorArgs{
		TargetOriginId:          pulumi.String(s3Origin),
		ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
		AllowedMethods:          pulumi.ToStringArray([]string{"GET", "HEAD"}),
		CachedMethods:           pulumi.ToStringArray([]string{"GET", "HEAD"}),
		CachePolicyId:           pulumi.String(CachePolicyCachingOptimized),
		ResponseHeadersPolicyId: pulumi.String(ResponseHeadersPolicySecurityHeaders),
		Compress:                pulumi.Bool(true),
	}
	if l := a.LoadBalancer; l != nil {
		protocol, domain := "http-only", l.DNSName
		if l.Encrypted {
			protocol, domain = "https-only", pulumi.String(a.LoadBalancerOriginDomain).ToStringOutput()
		}
		var headers cloudfront.DistributionOriginCustomHeaderArray
		if l.fronted {
			headers = cloudfront.DistributionOriginCustomHeaderArray{&cloudfront.DistributionOriginCustomHeaderArgs{
				Name: pulumi.String(OriginHeader), Value: l.originSecret,
			}}
		}
		origins = append(origins, &cloudfront.DistributionOriginArgs{
			OriginId:      pulumi.String(lbOrigin),
			DomainName:    domain,
			CustomHeaders: headers,
			CustomOriginConfig: &cloudfront.DistributionOriginCustomOriginConfigArgs{
				HttpPort:               pulumi.Int(80),
				HttpsPort:              pulumi.Int(443),
				OriginProtocolPolicy:   pulumi.String(protocol),
				OriginSslProtocols:     pulumi.ToStringArray([]string{"TLSv1.2"}),
				OriginReadTimeout:      pulumi.Int(30),
				OriginKeepaliveTimeout: pulumi.Int(5),
			},
		})
		def = &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:          pulumi.String(lbOrigin),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
			CachedMethods:           pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:           pulumi.String(CachePolicyCachingDisabled),
			OriginRequestPolicyId:   pulumi.String(OriginRequestPolicyAllViewerExceptHostHeader),
			ResponseHeadersPolicyId: pulumi.String(ResponseHeadersPolicySecurityHeaders),
			Compress:                pulumi.Bool(true),
		}
		simple := true
		for _, p := range a.StaticPathPatterns {
			ordered = append(ordered, static(p))
			prefix, ok := routedPrefix(p)
			simple = simple && ok
			c.routed = append(c.routed, prefix)
		}
		if !simple {
			c.routed = nil
		}
	}

	cert := &cloudfront.DistributionViewerCertificateArgs{CloudfrontDefaultCertificate: pulumi.Bool(true)}
	if a.AcmCertificateArn != nil {
		cert = &cloudfront.DistributionViewerCertificateArgs{
			AcmCertificateArn:      a.AcmCertificateArn,
			MinimumProtocolVersion: pulumi.String("TLSv1.2_2021"),
			SslSupportMethod:       pulumi.String("sni-only"), // dedicated IPs cost 600 USD a month
		}
	}

	acl, err := c.webACL(ctx, name, a, child)
	if err != nil {
		return nil, err
	}

	dist, err := cloudfront.NewDistribution(ctx, name, &cloudfront.DistributionArgs{
		Enabled:               pulumi.Bool(true),
		WebAclId:              acl.Arn, // WAFv2 takes the ACL's ARN here
		Comment:               pulumi.String(name),
		Aliases:               pulumi.ToStringArray(a.Aliases),
		Origins:               origins,
		DefaultCacheBehavior:  def,
		OrderedCacheBehaviors: ordered,
		PriceClass:            pulumi.String(a.PriceClass),
		HttpVersion:           pulumi.String("http2and3"),
		IsIpv6Enabled:         pulumi.Bool(true),
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		ViewerCertificate: cert,
		Tags:              tags(name),
	}, child...)
	if err != nil {
		return nil, err
	}
	c.DomainName, c.Arn, c.ID, c.HostedZoneID = dist.DomainName, dist.Arn, dist.ID(), dist.HostedZoneId
	c.URL = pulumi.Sprintf("https://%s", dist.DomainName)
	if len(a.Aliases) > 0 {
		c.URL = pulumi.String("https://" + a.Aliases[0]).ToStringOutput()
	}

	if err := c.logging(ctx, name, a, dist, child); err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"domainName": dist.DomainName, "arn": dist.Arn, "url": c.URL})
}

// logging delivers the distribution's access logs to the log bucket (standard logging v2).
func (c *CDN) logging(ctx *pulumi.Context, name string, a *CDNArgs, dist *cloudfront.Distribution, child []pulumi.ResourceOption) error {
	logOpts := child
	if a.LogsProvider != nil {
		logOpts = with(child, pulumi.Provider(a.LogsProvider))
	}
	// The log bucket's policy must exist first: CloudWatch Logs checks that it may write to
	// the bucket when the destination and the delivery are created.
	afterPolicy := pulumi.DependsOn([]pulumi.Resource{a.LogBucket.policy})
	src, err := cloudwatch.NewLogDeliverySource(ctx, childName(name, "logs"), &cloudwatch.LogDeliverySourceArgs{
		Name:        pulumi.String(AccountUniqueName(ctx, LogDeliveryNameMax, name, "cloudfront")),
		LogType:     pulumi.String("ACCESS_LOGS"),
		ResourceArn: dist.Arn,
		Tags:        tags(childName(name, "logs")),
	}, logOpts...)
	if err != nil {
		return err
	}
	dst, err := cloudwatch.NewLogDeliveryDestination(ctx, childName(name, "logs"), &cloudwatch.LogDeliveryDestinationArgs{
		Name:         pulumi.String(AccountUniqueName(ctx, LogDeliveryNameMax, name, "cloudfront-s3")),
		OutputFormat: pulumi.String("parquet"), // columnar and compressed: cheapest to keep and query with Athena
		DeliveryDestinationConfiguration: &cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs{
			DestinationResourceArn: a.LogBucket.Arn,
		},
		Tags: tags(childName(name, "logs")),
	}, with(logOpts, afterPolicy)...)
	if err != nil {
		return err
	}
	_, err = cloudwatch.NewLogDelivery(ctx, childName(name, "logs"), &cloudwatch.LogDeliveryArgs{
		DeliverySourceName:     src.Name,
		DeliveryDestinationArn: dst.Arn,
		S3DeliveryConfigurations: cloudwatch.LogDeliveryS3DeliveryConfigurationArray{&cloudwatch.LogDeliveryS3DeliveryConfigurationArgs{
			SuffixPath: pulumi.String("cloudfront/" + name + "/{yyyy}/{MM}/{dd}"),
		}},
		Tags: tags(childName(name, "logs")),
	}, with(logOpts, afterPolicy)...)
	return err
}

// WAF managed rule groups on every distribution (AWS Managed Rules, baseline and IP
// reputation groups; https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html).
var managedRuleGroups = []string{
	"AWSManagedRulesCommonRuleSet",          // OWASP-style common attacks
	"AWSManagedRulesKnownBadInputsRuleSet",  // request patterns known to be invalid or exploits (Log4j and friends)
	"AWSManagedRulesAmazonIpReputationList", // addresses Amazon threat intelligence reports as bots and attackers
}

// wafLogPrefix is the prefix WAF requires of a CloudWatch Logs destination's name.
const wafLogPrefix = "aws-waf-logs-"

// webACL creates the distribution's WAF web ACL in us-east-1 (scope CLOUDFRONT exists
// only there): a per-IP rate rule, then the managed rule groups; everything else allowed.
// Its logs go to a log group named aws-waf-logs-... (WAF refuses any other name).
func (c *CDN) webACL(ctx *pulumi.Context, name string, a *CDNArgs, child []pulumi.ResourceOption) (*wafv2.WebAcl, error) {
	opts := child
	if a.LogsProvider != nil {
		opts = with(child, pulumi.Provider(a.LogsProvider))
	}
	metric := func(n string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(n), SampledRequestsEnabled: pulumi.Bool(true),
		}
	}
	rules := wafv2.WebAclRuleArray{&wafv2.WebAclRuleArgs{
		Name:     pulumi.String("rate-per-ip"),
		Priority: pulumi.Int(0),
		Action:   &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}},
		Statement: &wafv2.WebAclRuleStatementArgs{RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
			Limit: pulumi.Int(a.RateLimitPer5Min), AggregateKeyType: pulumi.String("IP"), EvaluationWindowSec: pulumi.Int(300),
		}},
		VisibilityConfig: metric("rate-per-ip"),
	}}
	for i, g := range managedRuleGroups {
		rules = append(rules, &wafv2.WebAclRuleArgs{
			Name:           pulumi.String(g),
			Priority:       pulumi.Int(i + 1),
			OverrideAction: &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement: &wafv2.WebAclRuleStatementArgs{ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
				VendorName: pulumi.String("AWS"), Name: pulumi.String(g),
			}},
			VisibilityConfig: metric(g),
		})
	}
	aclName := AccountUniqueName(ctx, 128, name)
	acl, err := wafv2.NewWebAcl(ctx, childName(name, "waf"), &wafv2.WebAclArgs{
		Name:          pulumi.String(aclName),
		Description:   pulumi.Sprintf("%s: rate limit and AWS managed rules in front of CloudFront", name),
		Scope:         pulumi.String("CLOUDFRONT"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(aclName), SampledRequestsEnabled: pulumi.Bool(true),
		},
		Tags: tags(childName(name, "waf")),
	}, opts...)
	if err != nil {
		return nil, err
	}
	group, err := cloudwatch.NewLogGroup(ctx, childName(name, "waf"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(wafLogPrefix + AccountUniqueName(ctx, 512-len(wafLogPrefix), name)),
		RetentionInDays: pulumi.Int(a.WAFLogRetentionDays),
		KmsKeyId:        keyArn(a.WAFLogKey),
		Tags:            tags(childName(name, "waf")),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(ctx, childName(name, "waf"), &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{group.Arn},
		// The origin secret travels in a header CloudFront adds after WAF, so it is not in
		// WAF's logs; viewers' credentials are: redact them.
		RedactedFields: wafv2.WebAclLoggingConfigurationRedactedFieldArray{
			&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String("authorization")}},
			&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String("cookie")}},
		},
		// Only what a rule blocked or counted is logged: a record of about 1.5 KB for each
		// allowed request would cost some 16,800 USD a month at the seed's load
		// (docs/stages/users-plus-2.md) for what the distribution's own access logs already
		// hold, one line per request.
		LoggingFilter: &wafv2.WebAclLoggingConfigurationLoggingFilterArgs{
			DefaultBehavior: pulumi.String("DROP"),
			Filters: wafv2.WebAclLoggingConfigurationLoggingFilterFilterArray{&wafv2.WebAclLoggingConfigurationLoggingFilterFilterArgs{
				Behavior:    pulumi.String("KEEP"),
				Requirement: pulumi.String("MEETS_ANY"),
				Conditions: wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArray{
					&wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs{ActionCondition: &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs{Action: pulumi.String("BLOCK")}},
					&wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs{ActionCondition: &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs{Action: pulumi.String("COUNT")}},
				},
			}},
		},
	}, opts...); err != nil {
		return nil, err
	}
	return acl, nil
}

// LogDeliveryNameMax is the longest name CloudWatch Logs takes for a delivery source or
// destination (PutDeliverySource, PutDeliveryDestination: 1 to 60 characters of [\w-];
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDeliverySource.html).
const LogDeliveryNameMax = 60

// nameUnsafe matches what a name unique per account and region may not hold (the
// narrowest alphabet of the APIs that use it: letters, digits, - and _).
var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// AccountUniqueName names a resource whose name AWS keeps unique per account and region
// (CloudWatch Logs delivery sources and destinations, WAF log groups): project, stack,
// component name and parts, so two stacks in one account never collide. A name longer than
// max keeps its start and ends in 8 hex digits of a hash of the whole name, so it stays
// unique and stable.
func AccountUniqueName(ctx *pulumi.Context, max int, name string, parts ...string) string {
	full := nameUnsafe.ReplaceAllString(childName(ctx.Project(), append([]string{ctx.Stack(), name}, parts...)...), "-")
	if len(full) <= max {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	return strings.TrimRight(full[:max-9], "-_") + "-" + hex.EncodeToString(sum[:])[:8]
}

func (a *CDNArgs) withDefaults(name string) (*CDNArgs, error) {
	const cn = "cdn"
	if a == nil {
		return nil, argError(cn, name, "args", nil, "pass CDNArgs")
	}
	out := *a
	if out.Bucket == nil {
		return nil, argError(cn, name, "Bucket", nil, "pass the object store bucket (created with DeferPolicy)")
	}
	if out.LogBucket == nil {
		return nil, argError(cn, name, "LogBucket", nil, "access logs are required; pass the stack's log bucket")
	}
	if out.LogBucket.args.Class != DataLogs {
		return nil, argError(cn, name, "LogBucket", out.LogBucket.name, "pass a bucket of Class DataLogs")
	}
	if out.LogBucket.policy == nil {
		return nil, argError(cn, name, "LogBucket", out.LogBucket.name+" (no policy yet)",
			"attach the log bucket's policy (Bucket.AttachPolicy with CloudFrontLogDeliveryStatement) before creating the CDN: log delivery checks it")
	}
	if len(out.StaticPathPatterns) == 0 {
		out.StaticPathPatterns = []string{"/static/*", "/media/*"}
	}
	for _, p := range out.StaticPathPatterns {
		if !strings.HasPrefix(p, "/") {
			return nil, argError(cn, name, "StaticPathPatterns", p, "start each pattern with /, such as /static/*")
		}
	}
	if l := out.LoadBalancer; l != nil {
		if l.Internal {
			return nil, argError(cn, name, "LoadBalancer", l.name, "CloudFront reaches only an internet-facing load balancer")
		}
		if l.Encrypted && out.LoadBalancerOriginDomain == "" {
			return nil, argError(cn, name, "LoadBalancerOriginDomain", `""`,
				"give a name on the load balancer's certificate that resolves to it (such as origin.example.com): CloudFront checks the origin certificate against it")
		}
	}
	if len(out.Aliases) > 0 && out.AcmCertificateArn == nil {
		return nil, argError(cn, name, "AcmCertificateArn", nil, fmt.Sprintf("aliases %v need an ACM certificate in us-east-1 covering them", out.Aliases))
	}
	if out.RateLimitPer5Min == 0 {
		out.RateLimitPer5Min = 2000
	}
	if out.RateLimitPer5Min < 10 || out.RateLimitPer5Min > 2000000000 {
		return nil, argError(cn, name, "RateLimitPer5Min", out.RateLimitPer5Min, "use 10 to 2000000000 requests per IP per 5 minutes (WAF's range)")
	}
	if out.WAFLogRetentionDays == 0 {
		out.WAFLogRetentionDays = 30
	}
	if out.PriceClass == "" {
		out.PriceClass = "PriceClass_100"
	}
	switch out.PriceClass {
	case "PriceClass_100", "PriceClass_200", "PriceClass_All":
	default:
		return nil, argError(cn, name, "PriceClass", out.PriceClass, "use PriceClass_100, PriceClass_200 or PriceClass_All")
	}
	return &out, nil
}

// BucketReadStatement is the object store's policy statement letting this distribution,
// and only it, read objects through the Origin Access Control: with a load balancer, only
// the objects under StaticPathPatterns (what the distribution routes to the bucket, so the
// bucket's other objects, such as the archive's files, stay unreadable even by CloudFront);
// without one, every object. Pass it to the bucket's AttachPolicy (the bucket is created
// with DeferPolicy, since the statement names the distribution, which is created after the
// bucket).
func (c *CDN) BucketReadStatement() PolicyStatement {
	st := PolicyStatement{
		Sid:       "AllowCloudFrontRead",
		Effect:    "Allow",
		Principal: map[string]any{"Service": "cloudfront.amazonaws.com"},
		Actions:   []string{"s3:GetObject"},
		Resource:  c.bucket.ObjectsArn(""),
		Condition: map[string]map[string]pulumi.StringInput{"StringEquals": {"AWS:SourceArn": c.Arn}},
	}
	if c.routed != nil {
		st.Resource = nil
		for _, prefix := range c.routed {
			st.Resources = append(st.Resources, c.bucket.ObjectsArn(prefix))
		}
	}
	return st
}

// routedPrefix is the object key prefix a path pattern routes to the bucket ("/static/*"
// serves the keys under "static/"), or false when the pattern's wildcards are not one
// trailing "*" (the statement then covers every object).
func routedPrefix(pattern string) (string, bool) {
	p := strings.TrimPrefix(pattern, "/")
	if !strings.HasSuffix(p, "*") {
		return p, !strings.ContainsAny(p, "*?")
	}
	p = strings.TrimSuffix(p, "*")
	return p, !strings.ContainsAny(p, "*?")
}
