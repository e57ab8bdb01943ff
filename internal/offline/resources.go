package offline

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// resourceMock says how the mocks answer one resource type. Every field is optional: a type
// with no entry gets the default (an id "<type>-<hash>" and, for aws: types, an ARN built from
// its module), so a new resource type works without code.
//
// Templates expand {partition}, {region}, {regionCode} (use1), {account}, {name} (the
// physical name), {id}, {arn}, {uuid}, {hexN} and {HEXN} (N hex digits of the URN's hash,
// lower or upper case), {tailN} (N other hex digits) and {in.key} (a string input).
type resourceMock struct {
	// autoName is the input holding the physical name; when unset the provider's auto-naming
	// is imitated: the logical name, a dash and 7 hex digits.
	autoName string
	// id is the id template. Default: "{short}-{hex17}".
	id string
	// arn is the ARN template. Default: none for non-AWS types, and for aws: types
	// "arn:aws:<module>:<region>:<account>:<type>/<id>"; noARN for a type without one.
	arn string
	// attrs adds type-specific computed attributes.
	attrs func(a *answer) map[string]any
}

// answer is what a template or attrs function sees of the resource being created.
type answer struct {
	m                    *Mocks
	typ, name, urn, hash string
	in                   map[string]any
	phys, id, arn        string
}

// str returns a string input ("" when absent or not a string).
func (a *answer) str(key string) string {
	s, _ := a.in[key].(string)
	return s
}

// boolean returns a boolean input, accepting "true" as the provider does.
func (a *answer) boolean(key string) bool {
	switch v := a.in[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// num returns a numeric input or def.
func (a *answer) num(key string, def float64) float64 {
	switch v := a.in[key].(type) {
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// octet returns a number in [lo, hi] derived from the hash, for IP addresses.
func (a *answer) octet(i, lo, hi int) int {
	n, _ := strconv.ParseUint(a.hash[2*i:2*i+2], 16, 8)
	return lo + int(n)%(hi-lo+1)
}

func (a *answer) privateIP() string {
	return fmt.Sprintf("10.0.%d.%d", a.octet(0, 0, 255), a.octet(1, 4, 254))
}

// publicIP is in TEST-NET-3 (203.0.113.0/24), reserved for documentation: plainly not real.
func (a *answer) publicIP() string { return fmt.Sprintf("203.0.113.%d", a.octet(2, 1, 254)) }

// noARN marks a type that has no ARN.
const noARN = "-"

var placeholderRE = regexp.MustCompile(`\{([A-Za-z0-9_.]+)\}`)

// expand fills a template.
func (a *answer) expand(t string) string {
	return placeholderRE.ReplaceAllStringFunc(t, func(p string) string {
		key := p[1 : len(p)-1]
		switch key {
		case "partition":
			return "aws"
		case "region":
			return a.m.Region
		case "regionCode":
			return regionCode(a.m.Region)
		case "account":
			return a.m.Account
		case "name":
			return a.phys
		case "id":
			return a.id
		case "arn":
			return a.arn
		case "short":
			return shortType(a.typ)
		case "lbKind":
			return lbKind(a)
		case "wafScope":
			if strings.EqualFold(a.str("scope"), "CLOUDFRONT") {
				return "global"
			}
			return "regional"
		case "listenerArn":
			return strings.Replace(a.str("loadBalancerArn"), ":loadbalancer/", ":listener/", 1) + "/" + a.hash[len(a.hash)-16:]
		case "listenerRuleArn":
			return strings.Replace(a.str("listenerArn"), ":listener/", ":listener-rule/", 1) + "/" + a.hash[len(a.hash)-16:]
		case "uuid":
			h := a.hash
			return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		}
		if v, ok := strings.CutPrefix(key, "in."); ok {
			return a.str(v)
		}
		for _, f := range []struct {
			prefix string
			fn     func(n int) string
		}{
			{"hex", func(n int) string { return a.hash[:n] }},
			{"HEX", func(n int) string { return strings.ToUpper(a.hash[:n]) }},
			{"tail", func(n int) string { return a.hash[len(a.hash)-n:] }},
		} {
			if v, ok := strings.CutPrefix(key, f.prefix); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= len(a.hash) {
					return f.fn(n)
				}
			}
		}
		return p
	})
}

// shortType is the lower-case resource name of a type token: "aws:ec2/vpc:Vpc" -> "vpc".
func shortType(typ string) string {
	i := strings.LastIndex(typ, ":")
	return strings.ToLower(typ[i+1:])
}

// module is the module of a type token: "aws:ec2/vpc:Vpc" -> "ec2".
func module(typ string) string {
	parts := strings.SplitN(typ, ":", 3)
	if len(parts) < 2 {
		return ""
	}
	return strings.SplitN(parts[1], "/", 2)[0]
}

// regionCode is AWS's short region code used in zone ids: us-east-1 -> use1.
func regionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := parts[1]
	switch dir {
	case "northeast", "southeast", "northwest", "southwest":
		dir = dir[:1] + dir[5:6]
	default:
		dir = dir[:1]
	}
	return parts[0] + dir + parts[2]
}

// answer computes a resource's id and output state: its inputs plus computed attributes.
// Inputs win over mocked attributes, as a provider echoes what it was given.
func (m *Mocks) answer(typ, name, urn string, inputs resource.PropertyMap, custom bool) (string, resource.PropertyMap) {
	if !custom {
		return "", inputs
	}
	in, _ := mapToJSON(inputs)
	a := &answer{m: m, typ: typ, name: name, urn: urn, hash: digest(urn), in: in}
	spec := lookupResourceMock(typ)

	computed := map[string]any{}
	if spec.autoName != "" {
		a.phys = a.str(spec.autoName)
		if a.phys == "" {
			a.phys = autoName(typ, name, a.hash)
			if typ == "aws:sqs/queue:Queue" && a.boolean("fifoQueue") {
				a.phys += ".fifo"
			}
			computed[spec.autoName] = a.phys
		}
	} else {
		a.phys = name
	}
	idTemplate := spec.id
	if idTemplate == "" {
		idTemplate = "{short}-{hex17}"
	}
	if !strings.Contains(idTemplate, "{arn}") {
		a.id = a.expand(idTemplate)
	}
	arnTemplate := spec.arn
	if arnTemplate == "" && strings.HasPrefix(typ, "aws:") {
		arnTemplate = "arn:{partition}:" + module(typ) + ":{region}:{account}:{short}/{id}"
	}
	if arnTemplate != "" && arnTemplate != noARN {
		a.arn = a.expand(arnTemplate)
		computed["arn"] = a.arn
	}
	if strings.Contains(idTemplate, "{arn}") {
		a.id = a.expand(idTemplate)
	}
	computed["id"] = a.id
	if spec.attrs != nil {
		for k, v := range spec.attrs(a) {
			if t, ok := v.(string); ok {
				v = a.expand(t)
			}
			computed[k] = v
		}
	}
	state := resource.NewPropertyMapFromMap(computed)
	for k, v := range inputs {
		state[k] = v
	}
	return a.id, state
}

// autoName imitates the provider's auto-naming: the logical name, a dash, 7 hex digits.
// S3 bucket names are lower case.
func autoName(typ, name, hash string) string {
	n := name + "-" + hash[:7]
	if module(typ) == "s3" {
		n = strings.ToLower(n)
	}
	return n
}

func lookupResourceMock(typ string) resourceMock {
	if r, ok := resourceMocks[typ]; ok {
		return r
	}
	// The many S3 bucket settings resources are identified by their bucket.
	if strings.HasPrefix(typ, "aws:s3/bucket") {
		return resourceMock{id: "{in.bucket}", arn: "arn:{partition}:s3:::{in.bucket}"}
	}
	return resourceMock{}
}

// elbZones are the canonical hosted zones of load balancers, by region (default us-east-1).
var elbZones = map[string]string{
	"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
	"us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5",
	"ap-northeast-1": "Z14GRHDCWA56QT", "ap-southeast-2": "Z1GM3OXH4ZPM65",
}

// s3Zones are the S3 website/bucket hosted zones, by region (default us-east-1).
var s3Zones = map[string]string{
	"us-east-1": "Z3AQBSTGFYJSTF", "us-east-2": "Z2O1EMRO9K5GLX", "us-west-1": "Z2F56UZL2M1ACD",
	"us-west-2": "Z3BJ6K6RIION7M", "eu-west-1": "Z1BKCTXD74EZPE", "eu-central-1": "Z21DNDUVLTQW6Q",
	"ap-northeast-1": "Z2M4EHUR26P7ZW", "ap-southeast-2": "Z1WCIGYICN2BYD",
}

func zoneFor(table map[string]string, region string) string {
	if z, ok := table[region]; ok {
		return z
	}
	return table["us-east-1"]
}

// internalDNS is EC2's private DNS domain of the region.
func internalDNS(region string) string {
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}

func dashed(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

func publicDNS(region, ip string) string {
	if region == "us-east-1" {
		return "ec2-" + dashed(ip) + ".compute-1.amazonaws.com"
	}
	return "ec2-" + dashed(ip) + "." + region + ".compute.amazonaws.com"
}

// ec2ARN is the ARN template of an EC2 resource kind.
func ec2ARN(kind string) string {
	return "arn:{partition}:ec2:{region}:{account}:" + kind + "/{id}"
}

// resourceMocks answers the resource types whose computed attributes programs read.
var resourceMocks = map[string]resourceMock{
	// Network.
	"aws:ec2/vpc:Vpc": {id: "vpc-{hex17}", arn: ec2ARN("vpc"), attrs: func(a *answer) map[string]any {
		return map[string]any{
			"defaultSecurityGroupId": "sg-{tail17}", "defaultRouteTableId": "rtb-{tail17}",
			"mainRouteTableId": "rtb-{tail17}", "defaultNetworkAclId": "acl-{tail17}",
			"dhcpOptionsId": "dopt-{tail8}", "ownerId": a.m.Account,
		}
	}},
	"aws:ec2/subnet:Subnet": {id: "subnet-{hex17}", arn: ec2ARN("subnet"), attrs: func(a *answer) map[string]any {
		az := a.str("availabilityZone")
		out := map[string]any{"ownerId": a.m.Account}
		if az != "" {
			out["availabilityZoneId"] = fmt.Sprintf("%s-az%d", regionCode(a.m.Region), int(az[len(az)-1]-'a')+1)
		}
		return out
	}},
	"aws:ec2/internetGateway:InternetGateway":             {id: "igw-{hex17}", arn: ec2ARN("internet-gateway")},
	"aws:ec2/routeTable:RouteTable":                       {id: "rtb-{hex17}", arn: ec2ARN("route-table")},
	"aws:ec2/route:Route":                                 {id: "r-{in.routeTableId}{hex10}"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {id: "rtbassoc-{hex17}"},
	"aws:ec2/securityGroup:SecurityGroup":                 {autoName: "name", id: "sg-{hex17}", arn: ec2ARN("security-group")},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {id: "sg-{hex17}", arn: ec2ARN("security-group"), attrs: func(a *answer) map[string]any {
		return map[string]any{"name": "default", "ownerId": a.m.Account}
	}},
	"aws:ec2/securityGroupRule:SecurityGroupRule":                               {id: "sgrule-{hex10}"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":                 {id: "sgr-{hex17}", arn: ec2ARN("security-group-rule"), attrs: ruleAttrs},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":                   {id: "sgr-{hex17}", arn: ec2ARN("security-group-rule"), attrs: ruleAttrs},
	"aws:ec2/natGateway:NatGateway":                                             {id: "nat-{hex17}", attrs: natAttrs},
	"aws:ec2/eip:Eip":                                                           {id: "eipalloc-{hex17}", arn: ec2ARN("elastic-ip"), attrs: eipAttrs},
	"aws:ec2/eipAssociation:EipAssociation":                                     {id: "eipassoc-{hex17}"},
	"aws:ec2/flowLog:FlowLog":                                                   {id: "fl-{hex17}", arn: ec2ARN("vpc-flow-log")},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                                           {id: "vpce-{hex17}", arn: ec2ARN("vpc-endpoint"), attrs: endpointAttrs},
	"aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation": {id: "a-{in.vpcEndpointId}{hex10}"},
	"aws:ec2/networkInterface:NetworkInterface": {id: "eni-{hex17}", arn: ec2ARN("network-interface"), attrs: func(a *answer) map[string]any {
		return map[string]any{"privateIp": a.privateIP()}
	}},
	"aws:ec2/networkAcl:NetworkAcl": {id: "acl-{hex17}", arn: ec2ARN("network-acl")},

	// Compute.
	"aws:ec2/instance:Instance":                 {id: "i-{hex17}", arn: ec2ARN("instance"), attrs: instanceAttrs},
	"aws:ebs/volume:Volume":                     {id: "vol-{hex17}", arn: ec2ARN("volume")},
	"aws:ec2/volumeAttachment:VolumeAttachment": {id: "vai-{hex10}"},
	"aws:ec2/launchTemplate:LaunchTemplate": {autoName: "name", id: "lt-{hex17}", arn: ec2ARN("launch-template"), attrs: func(a *answer) map[string]any {
		return map[string]any{"latestVersion": 1, "defaultVersion": 1}
	}},
	"aws:ec2/keyPair:KeyPair": {autoName: "keyName", id: "{name}", arn: ec2ARN("key-pair"), attrs: func(a *answer) map[string]any {
		return map[string]any{"keyPairId": a.expand("key-{hex17}"), "fingerprint": a.expand("{hex32}")}
	}},
	"aws:autoscaling/group:Group": {autoName: "name", id: "{name}", arn: "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:{uuid}:autoScalingGroupName/{name}"},
	"aws:autoscaling/policy:Policy": {autoName: "name", id: "{name}",
		arn: "arn:{partition}:autoscaling:{region}:{account}:scalingPolicy:{uuid}:autoScalingGroupName/{in.autoscalingGroupName}:policyName/{name}"},
	"aws:autoscaling/schedule:Schedule": {id: "{in.scheduledActionName}",
		arn: "arn:{partition}:autoscaling:{region}:{account}:scheduledUpdateGroupAction:{uuid}:autoScalingGroupName/{in.autoscalingGroupName}:scheduledActionName/{in.scheduledActionName}"},
	"aws:lambda/function:Function": {autoName: "name", id: "{name}", arn: "arn:{partition}:lambda:{region}:{account}:function:{name}", attrs: func(a *answer) map[string]any {
		return map[string]any{
			"invokeArn":    a.expand("arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"),
			"qualifiedArn": a.arn + ":1", "version": "1",
		}
	}},

	// Load balancing and TLS.
	"aws:lb/loadBalancer:LoadBalancer":  {autoName: "name", id: "{arn}", arn: "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/{lbKind}/{name}/{hex16}", attrs: lbAttrs},
	"aws:alb/loadBalancer:LoadBalancer": {autoName: "name", id: "{arn}", arn: "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/{lbKind}/{name}/{hex16}", attrs: lbAttrs},
	"aws:lb/targetGroup:TargetGroup": {autoName: "name", id: "{arn}", arn: "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{hex16}", attrs: func(a *answer) map[string]any {
		return map[string]any{"arnSuffix": a.expand("targetgroup/{name}/{hex16}")}
	}},
	"aws:alb/targetGroup:TargetGroup": {autoName: "name", id: "{arn}", arn: "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{hex16}", attrs: func(a *answer) map[string]any {
		return map[string]any{"arnSuffix": a.expand("targetgroup/{name}/{hex16}")}
	}},
	"aws:lb/listener:Listener":                            {id: "{arn}", arn: "{listenerArn}"},
	"aws:alb/listener:Listener":                           {id: "{arn}", arn: "{listenerArn}"},
	"aws:lb/listenerRule:ListenerRule":                    {id: "{arn}", arn: "{listenerRuleArn}"},
	"aws:acm/certificate:Certificate":                     {id: "{arn}", arn: "arn:{partition}:acm:{region}:{account}:certificate/{uuid}", attrs: certificateAttrs},
	"aws:acm/certificateValidation:CertificateValidation": {id: "{in.certificateArn}", arn: "{in.certificateArn}"},
	"aws:wafv2/webAcl:WebAcl": {autoName: "name", id: "{uuid}", arn: "arn:{partition}:wafv2:{region}:{account}:{wafScope}/webacl/{name}/{uuid}", attrs: func(a *answer) map[string]any {
		return map[string]any{"capacity": 50, "lockToken": a.expand("{tail8}-0000-0000-0000-000000000000")}
	}},

	// DNS and CDN.
	"aws:route53/record:Record": {id: "{in.zoneId}_{in.name}_{in.type}", arn: noARN, attrs: func(a *answer) map[string]any {
		return map[string]any{"fqdn": a.str("name")}
	}},
	"aws:route53/zone:Zone": {id: "Z{HEX20}", arn: "arn:{partition}:route53:::hostedzone/{id}", attrs: func(a *answer) map[string]any {
		return map[string]any{"zoneId": a.id, "nameServers": nameServers(a.hash)}
	}},
	"aws:cloudfront/distribution:Distribution": {id: "E{HEX13}", arn: "arn:{partition}:cloudfront::{account}:distribution/{id}", attrs: func(a *answer) map[string]any {
		return map[string]any{
			"domainName": a.expand("d{hex13}.cloudfront.net"), "hostedZoneId": "Z2FDTNDATAQYW2",
			"status": "Deployed", "etag": a.expand("E{tail13}"), "callerReference": a.expand("terraform-{hex26}"),
			"inProgressValidationBatches": 0, "lastModifiedTime": "2024-01-01 00:00:00 +0000 UTC",
		}
	}},
	"aws:cloudfront/originAccessControl:OriginAccessControl":     {id: "E{HEX13}", arn: noARN, attrs: etagAttrs},
	"aws:cloudfront/cachePolicy:CachePolicy":                     {id: "{uuid}", arn: noARN, attrs: etagAttrs},
	"aws:cloudfront/originRequestPolicy:OriginRequestPolicy":     {id: "{uuid}", arn: noARN, attrs: etagAttrs},
	"aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": {id: "{uuid}", arn: noARN, attrs: etagAttrs},
	"aws:cloudfront/function:Function":                           {id: "{in.name}", arn: "arn:{partition}:cloudfront::{account}:function/{in.name}", attrs: etagAttrs},

	// Storage.
	"aws:s3/bucketV2:BucketV2":             {autoName: "bucket", id: "{name}", arn: "arn:{partition}:s3:::{name}", attrs: bucketAttrs},
	"aws:s3/bucket:Bucket":                 {autoName: "bucket", id: "{name}", arn: "arn:{partition}:s3:::{name}", attrs: bucketAttrs},
	"aws:s3/bucketObjectv2:BucketObjectv2": {id: "{in.key}", arn: "arn:{partition}:s3:::{in.bucket}/{in.key}", attrs: objectAttrs},
	"aws:s3/bucketObject:BucketObject":     {id: "{in.key}", arn: "arn:{partition}:s3:::{in.bucket}/{in.key}", attrs: objectAttrs},

	// Databases and caches.
	"aws:rds/instance:Instance":                         {autoName: "identifier", id: "db-{HEX26}", arn: "arn:{partition}:rds:{region}:{account}:db:{name}", attrs: rdsAttrs},
	"aws:rds/subnetGroup:SubnetGroup":                   {autoName: "name", id: "{name}", arn: "arn:{partition}:rds:{region}:{account}:subgrp:{name}"},
	"aws:rds/parameterGroup:ParameterGroup":             {autoName: "name", id: "{name}", arn: "arn:{partition}:rds:{region}:{account}:pg:{name}"},
	"aws:rds/optionGroup:OptionGroup":                   {autoName: "name", id: "{name}", arn: "arn:{partition}:rds:{region}:{account}:og:{name}"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {id: "{in.replicationGroupId}", arn: "arn:{partition}:elasticache:{region}:{account}:replicationgroup:{in.replicationGroupId}", attrs: cacheAttrs},
	"aws:elasticache/subnetGroup:SubnetGroup":           {id: "{in.name}", arn: "arn:{partition}:elasticache:{region}:{account}:subnetgroup:{in.name}"},
	"aws:elasticache/parameterGroup:ParameterGroup":     {id: "{in.name}", arn: "arn:{partition}:elasticache:{region}:{account}:parametergroup:{in.name}"},
	"aws:elasticache/cluster:Cluster": {id: "{in.clusterId}", arn: "arn:{partition}:elasticache:{region}:{account}:cluster:{in.clusterId}", attrs: func(a *answer) map[string]any {
		host := a.expand("{in.clusterId}.{hex6}.0001." + regionCode(a.m.Region) + ".cache.amazonaws.com")
		port := a.num("port", 6379)
		return map[string]any{
			"clusterAddress": a.expand("{in.clusterId}.{hex6}.cfg." + regionCode(a.m.Region) + ".cache.amazonaws.com"),
			"cacheNodes":     []any{map[string]any{"id": "0001", "address": host, "port": port, "availabilityZone": a.m.Region + "a"}},
		}
	}},
	"aws:dynamodb/table:Table": {autoName: "name", id: "{name}", arn: "arn:{partition}:dynamodb:{region}:{account}:table/{name}", attrs: func(a *answer) map[string]any {
		if !a.boolean("streamEnabled") {
			return nil
		}
		return map[string]any{"streamArn": a.arn + "/stream/2024-01-01T00:00:00.000", "streamLabel": "2024-01-01T00:00:00.000"}
	}},
	"aws:redshift/cluster:Cluster": {id: "{in.clusterIdentifier}", arn: "arn:{partition}:redshift:{region}:{account}:cluster:{in.clusterIdentifier}", attrs: func(a *answer) map[string]any {
		host := a.expand("{in.clusterIdentifier}.{hex12}.{region}.redshift.amazonaws.com")
		port := a.num("port", 5439)
		return map[string]any{"dnsName": host, "endpoint": fmt.Sprintf("%s:%d", host, int(port)), "port": port,
			"clusterNamespaceArn": a.expand("arn:{partition}:redshift:{region}:{account}:namespace:{uuid}")}
	}},
	"aws:redshift/subnetGroup:SubnetGroup": {id: "{in.name}", arn: "arn:{partition}:redshift:{region}:{account}:subnetgroup:{in.name}"},

	// Messaging, secrets, keys.
	"aws:sqs/queue:Queue": {autoName: "name", id: "https://sqs.{region}.amazonaws.com/{account}/{name}", arn: "arn:{partition}:sqs:{region}:{account}:{name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"url": a.id}
	}},
	"aws:sqs/queuePolicy:QueuePolicy":               {id: "{in.queueUrl}", arn: noARN},
	"aws:sqs/redrivePolicy:RedrivePolicy":           {id: "{in.queueUrl}", arn: noARN},
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": {id: "{in.queueUrl}", arn: noARN},
	"aws:sns/topic:Topic":                           {autoName: "name", id: "{arn}", arn: "arn:{partition}:sns:{region}:{account}:{name}"},
	"aws:sns/topicSubscription:TopicSubscription": {id: "{arn}", arn: "{in.topic}:{uuid}", attrs: func(a *answer) map[string]any {
		return map[string]any{"pendingConfirmation": a.str("protocol") == "email", "ownerId": a.m.Account}
	}},
	"aws:sns/topicPolicy:TopicPolicy":  {id: "{in.arn}", arn: noARN},
	"aws:secretsmanager/secret:Secret": {autoName: "name", id: "{arn}", arn: "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{tail6}"},
	"aws:secretsmanager/secretVersion:SecretVersion": {id: "{in.secretId}|{uuid}", arn: "{in.secretId}", attrs: func(a *answer) map[string]any {
		return map[string]any{"versionId": a.expand("{uuid}"), "versionStages": []any{"AWSCURRENT"}}
	}},
	"aws:kms/key:Key": {id: "{uuid}", arn: "arn:{partition}:kms:{region}:{account}:key/{uuid}", attrs: func(a *answer) map[string]any {
		return map[string]any{"keyId": a.id}
	}},
	"aws:kms/alias:Alias": {id: "{in.name}", arn: "arn:{partition}:kms:{region}:{account}:{in.name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"targetKeyArn": a.expand("arn:{partition}:kms:{region}:{account}:key/{in.targetKeyId}")}
	}},
	// Systems Manager (users++++'s operations): ids as the API returns them; a document
	// starts at version 1.
	"aws:ssm/document:Document": {id: "{in.name}", arn: "arn:{partition}:ssm:{region}:{account}:document/{in.name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"latestVersion": "1", "defaultVersion": "1", "documentVersion": "1", "owner": a.m.Account, "status": "Active"}
	}},
	"aws:ssm/association:Association": {id: "{uuid}", arn: "arn:{partition}:ssm:{region}:{account}:association/{uuid}", attrs: func(a *answer) map[string]any {
		return map[string]any{"associationId": a.id}
	}},
	"aws:ssm/patchBaseline:PatchBaseline":                     {id: "pb-{hex17}", arn: "arn:{partition}:ssm:{region}:{account}:patchbaseline/{id}"},
	"aws:ssm/patchGroup:PatchGroup":                           {id: "{in.patchGroup},{in.baselineId}", arn: noARN},
	"aws:ssm/maintenanceWindow:MaintenanceWindow":             {id: "mw-{hex17}", arn: "arn:{partition}:ssm:{region}:{account}:maintenancewindow/{id}"},
	"aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget": {id: "{uuid}", arn: noARN},
	"aws:ssm/maintenanceWindowTask:MaintenanceWindowTask":     {id: "{uuid}", arn: "arn:{partition}:ssm:{region}:{account}:windowtask/{id}"},
	"aws:ssm/parameter:Parameter": {id: "{in.name}", arn: "arn:{partition}:ssm:{region}:{account}:parameter{in.name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"version": 1}
	}},

	// Identity.
	"aws:iam/role:Role": {autoName: "name", id: "{name}", arn: "arn:{partition}:iam::{account}:role/{name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"uniqueId": a.expand("AROA{HEX17}"), "createDate": "2024-01-01T00:00:00Z"}
	}},
	"aws:iam/rolePolicy:RolePolicy":                     {autoName: "name", id: "{in.role}:{name}", arn: noARN},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {id: "{in.role}-{hex26}", arn: noARN},
	"aws:iam/instanceProfile:InstanceProfile": {autoName: "name", id: "{name}", arn: "arn:{partition}:iam::{account}:instance-profile/{name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"uniqueId": a.expand("AIPA{HEX17}")}
	}},
	"aws:iam/policy:Policy": {autoName: "name", id: "{arn}", arn: "arn:{partition}:iam::{account}:policy/{name}", attrs: func(a *answer) map[string]any {
		return map[string]any{"policyId": a.expand("ANPA{HEX17}")}
	}},

	// Observability.
	"aws:cloudwatch/logGroup:LogGroup":               {autoName: "name", id: "{name}", arn: "arn:{partition}:logs:{region}:{account}:log-group:{name}"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":         {autoName: "name", id: "{name}", arn: "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"},
	"aws:cloudwatch/dashboard:Dashboard":             {id: "{in.dashboardName}", arn: "arn:{partition}:cloudwatch::{account}:dashboard/{in.dashboardName}"},
	"aws:cloudwatch/logMetricFilter:LogMetricFilter": {autoName: "name", id: "{name}", arn: noARN},

	// Non-AWS helpers.
	"random:index/randomPassword:RandomPassword": {id: "none", attrs: func(a *answer) map[string]any {
		return map[string]any{"result": "offline-" + a.hash[:min(int(a.num("length", 16)), len(a.hash))]}
	}},
}

func ruleAttrs(a *answer) map[string]any { return map[string]any{"securityGroupRuleId": a.id} }

func natAttrs(a *answer) map[string]any {
	return map[string]any{"publicIp": a.publicIP(), "privateIp": a.privateIP(), "networkInterfaceId": a.expand("eni-{tail17}"), "allocationId": a.str("allocationId")}
}

func eipAttrs(a *answer) map[string]any {
	ip := a.publicIP()
	return map[string]any{"publicIp": ip, "allocationId": a.id, "publicDns": publicDNS(a.m.Region, ip), "domain": "vpc"}
}

func endpointAttrs(a *answer) map[string]any {
	service := a.str("serviceName")
	out := map[string]any{"state": "available", "ownerId": a.m.Account}
	if t := a.str("vpcEndpointType"); t == "" || t == "Gateway" {
		out["prefixListId"] = a.expand("pl-{hex8}")
		out["cidrBlocks"] = []any{"52.216.0.0/15"}
		return out
	}
	short := service[strings.LastIndex(service, ".")+1:]
	out["dnsEntries"] = []any{map[string]any{"dnsName": a.expand("{id}-{tail8}." + short + ".{region}.vpce.amazonaws.com"), "hostedZoneId": "Z7HUB22UULQXV"}}
	out["networkInterfaceIds"] = []any{a.expand("eni-{tail17}")}
	return out
}

func instanceAttrs(a *answer) map[string]any {
	ip := a.privateIP()
	out := map[string]any{
		"privateIp": ip, "privateDns": "ip-" + dashed(ip) + "." + internalDNS(a.m.Region),
		"primaryNetworkInterfaceId": a.expand("eni-{tail17}"), "instanceState": "running",
		"outpostArn": "", "passwordData": "",
	}
	if a.boolean("associatePublicIpAddress") {
		pub := a.publicIP()
		out["publicIp"], out["publicDns"] = pub, publicDNS(a.m.Region, pub)
	} else {
		out["publicIp"], out["publicDns"] = "", ""
	}
	return out
}

func lbAttrs(a *answer) map[string]any {
	prefix := ""
	if a.boolean("internal") {
		prefix = "internal-"
	}
	kind := lbKind(a)
	return map[string]any{
		"dnsName":   fmt.Sprintf("%s%s-%d.%s.elb.amazonaws.com", prefix, a.phys, a.octet(3, 100000000, 999999999), a.m.Region),
		"zoneId":    zoneFor(elbZones, a.m.Region),
		"arnSuffix": a.expand(kind + "/{name}/{hex16}"),
	}
}

func lbKind(a *answer) string {
	switch a.str("loadBalancerType") {
	case "network":
		return "net"
	case "gateway":
		return "gwy"
	}
	return "app"
}

func certificateAttrs(a *answer) map[string]any {
	names := []string{a.str("domainName")}
	if sans, ok := a.in["subjectAlternativeNames"].([]any); ok {
		for _, s := range sans {
			if n, ok := s.(string); ok && n != names[0] {
				names = append(names, n)
			}
		}
	}
	var opts []any
	for _, n := range names {
		h := digest(a.urn + n)
		opts = append(opts, map[string]any{
			"domainName":          n,
			"resourceRecordName":  "_" + h[:32] + "." + strings.TrimPrefix(n, "*.") + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + h[32:] + ".jkddzztszm.acm-validations.aws.",
		})
	}
	return map[string]any{"domainValidationOptions": opts, "status": "ISSUED", "validationMethod": "DNS"}
}

func nameServers(hash string) []any {
	n := int(hash[0]) % 64
	return []any{
		fmt.Sprintf("ns-%d.awsdns-%02d.com", 100+n, n), fmt.Sprintf("ns-%d.awsdns-%02d.net", 600+n, n),
		fmt.Sprintf("ns-%d.awsdns-%02d.org", 1100+n, n), fmt.Sprintf("ns-%d.awsdns-%02d.co.uk", 1600+n, n),
	}
}

func etagAttrs(a *answer) map[string]any { return map[string]any{"etag": a.expand("E{HEX13}")} }

func bucketAttrs(a *answer) map[string]any {
	return map[string]any{
		"bucketDomainName":         a.phys + ".s3.amazonaws.com",
		"bucketRegionalDomainName": a.phys + ".s3." + a.m.Region + ".amazonaws.com",
		"hostedZoneId":             zoneFor(s3Zones, a.m.Region),
		"region":                   a.m.Region,
	}
}

func objectAttrs(a *answer) map[string]any {
	return map[string]any{"etag": a.expand("{hex32}"), "versionId": a.expand("{HEX32}")}
}

func rdsAttrs(a *answer) map[string]any {
	port := a.num("port", 0)
	if port == 0 {
		port = 3306
		if strings.HasPrefix(a.str("engine"), "postgres") {
			port = 5432
		}
	}
	host := a.expand("{name}.{hex12}.{region}.rds.amazonaws.com")
	out := map[string]any{
		"address": host, "endpoint": fmt.Sprintf("%s:%d", host, int(port)), "port": port,
		"resourceId": a.id, "hostedZoneId": "Z2R2ITUGPM61AM", "status": "available",
		"engineVersionActual": a.str("engineVersion"),
	}
	if a.boolean("manageMasterUserPassword") {
		out["masterUserSecrets"] = []any{map[string]any{
			"secretArn":    a.expand("arn:{partition}:secretsmanager:{region}:{account}:secret:rds!db-{uuid}-{tail6}"),
			"secretStatus": "active",
			"kmsKeyId":     a.expand("arn:{partition}:kms:{region}:{account}:key/{uuid}"),
		}}
	}
	return out
}

func cacheAttrs(a *answer) map[string]any {
	code := regionCode(a.m.Region)
	id := a.str("replicationGroupId")
	port := a.num("port", 6379)
	out := map[string]any{"port": port, "memberClusters": []any{id + "-001", id + "-002"}}
	if a.boolean("clusterModeEnabled") || a.num("numNodeGroups", 1) > 1 {
		out["configurationEndpointAddress"] = a.expand("clustercfg.{in.replicationGroupId}.{hex6}." + code + ".cache.amazonaws.com")
	} else {
		out["primaryEndpointAddress"] = a.expand("master.{in.replicationGroupId}.{hex6}." + code + ".cache.amazonaws.com")
		out["readerEndpointAddress"] = a.expand("replica.{in.replicationGroupId}.{hex6}." + code + ".cache.amazonaws.com")
	}
	return out
}
