package main

import (
	"github.com/scaling-aws/scaling-aws/internal/diff"

	"github.com/scaling-aws/scaling-aws/internal/rules"

	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/stages"
)

// keyInputs lists, per type token, the inputs worth reading in a review: sizes, placement,
// engines, ports and the security switches. Paths are dotted (graph.Resource.Lookup).
var keyInputs = map[string][]string{
	"aws:ec2/vpc:Vpc":                                           {"cidrBlock", "enableDnsHostnames", "enableDnsSupport"},
	"aws:ec2/subnet:Subnet":                                     {"cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"},
	"aws:ec2/routeTable:RouteTable":                             {"routes"},
	"aws:ec2/route:Route":                                       {"destinationCidrBlock", "natGatewayId", "gatewayId"},
	"aws:ec2/natGateway:NatGateway":                             {"connectivityType"},
	"aws:ec2/eip:Eip":                                           {"domain"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                           {"serviceName", "vpcEndpointType", "privateDnsEnabled"},
	"aws:ec2/flowLog:FlowLog":                                   {"trafficType", "logDestinationType", "maxAggregationInterval"},
	"aws:ec2/securityGroup:SecurityGroup":                       {"description", "ingress", "egress"},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":         {"ingress", "egress"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"},
	"aws:ec2/instance:Instance":                                 {"instanceType", "ami", "availabilityZone", "associatePublicIpAddress", "metadataOptions.httpTokens", "monitoring", "rootBlockDevice.encrypted"},
	"aws:ebs/volume:Volume":                                     {"size", "type", "encrypted", "availabilityZone"},
	"aws:ec2/volumeAttachment:VolumeAttachment":                 {"deviceName"},
	"aws:ec2/launchTemplate:LaunchTemplate":                     {"instanceType", "imageId", "metadataOptions.httpTokens"},
	"aws:autoscaling/group:Group":                               {"minSize", "maxSize", "desiredCapacity", "healthCheckType"},
	"aws:lb/loadBalancer:LoadBalancer":                          {"loadBalancerType", "internal", "dropInvalidHeaderFields"},
	"aws:lb/listener:Listener":                                  {"port", "protocol", "sslPolicy"},
	"aws:lb/targetGroup:TargetGroup":                            {"port", "protocol", "targetType"},
	"aws:acm/certificate:Certificate":                           {"domainName", "validationMethod"},
	"aws:cloudfront/distribution:Distribution":                  {"enabled", "priceClass", "viewerCertificate.minimumProtocolVersion"},
	"aws:route53/record:Record":                                 {"name", "type", "ttl"},
	"aws:s3/bucketV2:BucketV2":                                  {"bucket", "forceDestroy"},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":    {"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":    {"rule.objectOwnership"},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {"rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"},
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               {"versioningConfiguration.status"},
	"aws:s3/bucketObjectv2:BucketObjectv2":                                                       {"key"},
	"aws:rds/instance:Instance":                                                                  {"engine", "engineVersion", "instanceClass", "multiAz", "allocatedStorage", "storageEncrypted", "port", "publiclyAccessible", "backupRetentionPeriod"},
	"aws:elasticache/replicationGroup:ReplicationGroup":                                          {"engine", "nodeType", "numCacheClusters", "automaticFailoverEnabled", "multiAzEnabled", "atRestEncryptionEnabled", "transitEncryptionEnabled", "port"},
	"aws:sqs/queue:Queue":                                                                        {"fifoQueue", "visibilityTimeoutSeconds", "messageRetentionSeconds", "sqsManagedSseEnabled"},
	"aws:sns/topic:Topic":                                                                        {"kmsMasterKeyId"},
	"aws:sns/topicSubscription:TopicSubscription":                                                {"protocol"},
	"aws:cloudwatch/logGroup:LogGroup":                                                           {"retentionInDays", "kmsKeyId"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                                                     {"metricName", "statistic", "comparisonOperator", "threshold", "evaluationPeriods"},
	"aws:dynamodb/table:Table":                                                                   {"billingMode", "hashKey", "rangeKey", "serverSideEncryption.enabled"},
	"aws:redshift/cluster:Cluster":                                                               {"nodeType", "numberOfNodes", "encrypted", "publiclyAccessible"},
}

// printText prints the header, the tree of components and resources, the summary by type
// and the stack outputs.
func printText(w io.Writer, g *graph.Graph, cfg map[string]string, project string) {
	fmt.Fprintf(w, "Offline preview of %s/%s (Pulumi mock engine: no cloud calls, ids and addresses are fake)\n\n", g.Project, g.Stack)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	if s, ok := stageOf(g, cfg, project); ok {
		fmt.Fprintf(tw, "  stage:\t%s (%d)\n", s, int(s))
		fmt.Fprintf(tw, "  adds:\t%s\n", stages.Lookup(s).Adds)
	}
	env, _ := g.Outputs["environment"].(string)
	if env == "" {
		env = cfg[project+":environment"]
	}
	fmt.Fprintf(tw, "  environment:\t%s\n", env)
	fmt.Fprintf(tw, "  region:\t%s\n", cfg["aws:region"])
	tw.Flush()

	fmt.Fprintf(w, "\nResources:\n")
	stackName := g.Project + "-" + g.Stack
	fmt.Fprintf(w, "+ pulumi:pulumi:Stack %s\n", stackName)
	known := map[string]bool{}
	for _, r := range g.Resources {
		known[r.URN] = true
	}
	children := map[string][]*graph.Resource{}
	for _, r := range g.Resources {
		p := r.Parent
		if !known[p] {
			p = ""
		}
		children[p] = append(children[p], r)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, r := range children[parent] {
			printResource(w, r, depth)
			walk(r.URN, depth+1)
		}
	}
	walk("", 1)

	printSummary(w, g)
	printOutputs(w, g)
}

// printResource prints one resource line, "+ type name", then its flags and key settings.
func printResource(w io.Writer, r *graph.Resource, depth int) {
	indent := strings.Repeat("    ", depth)
	line := indent + "+ " + r.Type + " " + r.Name
	var flags []string
	if r.Protect {
		flags = append(flags, "[protect]")
	}
	if r.RetainOnDelete {
		flags = append(flags, "[retain]")
	}
	if r.DeleteBeforeReplace {
		flags = append(flags, "[delete-before-replace]")
	}
	if len(r.IgnoreChanges) > 0 {
		flags = append(flags, "[ignore-changes: "+strings.Join(r.IgnoreChanges, ", ")+"]")
	}
	if len(flags) > 0 {
		line += " " + strings.Join(flags, " ")
	}
	fmt.Fprintln(w, line)
	var settings []string
	for _, path := range keyInputs[r.Type] {
		if v, ok := r.Lookup(path); ok && v != nil {
			settings = append(settings, path+"="+formatValue(v))
		}
	}
	if len(settings) > 0 {
		fmt.Fprintf(w, "%s      %s\n", indent, strings.Join(settings, " "))
	}
}

// formatValue renders a setting compactly: strings bare (quoted when they hold spaces),
// whole numbers without a decimal point, lists and objects as compact JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " \t\n\"") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// printSummary prints the counts by type token (components included) and the total.
func printSummary(w io.Writer, g *graph.Graph) {
	counts := map[string]int{}
	custom, components := 0, 0
	for _, r := range g.Resources {
		counts[r.Type]++
		if r.Custom {
			custom++
		} else {
			components++
		}
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	fmt.Fprintf(w, "\nSummary by type:\n")
	for _, t := range types {
		fmt.Fprintf(w, "  %4d  %s\n", counts[t], t)
	}
	// The stack itself is one more resource to create, as `pulumi preview` counts it.
	fmt.Fprintf(w, "\nResources:\n    + %d to create (%d cloud resources, %d components, 1 stack)\n",
		len(g.Resources)+1, custom, components)
}

// printOutputs prints the stack outputs sorted by name.
func printOutputs(w io.Writer, g *graph.Graph) {
	if len(g.Outputs) == 0 {
		return
	}
	names := make([]string, 0, len(g.Outputs))
	for n := range g.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\nOutputs:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "    %s:\t%s\n", n, formatValue(g.Outputs[n]))
	}
	tw.Flush()
}

// printRules prints the security rules' tally, every waiver with its reason and every
// failure; with all, every rule's line (rules.Report.String).
func printRules(w io.Writer, rep rules.Report, all bool) {
	fmt.Fprintf(w, "\nSecurity rules (docs/security.md):\n")
	if all {
		fmt.Fprint(w, rep.String())
		return
	}
	pass, skip := 0, 0
	for _, res := range rep.Results {
		switch {
		case !res.Applied:
			skip++
		case res.Failed():
			for _, v := range res.Violations {
				fmt.Fprintf(w, "    FAIL   %s %s: %s\n", res.Rule.ID, v.URN, v.Message)
			}
		case res.Waiver != "" && len(res.Violations) > 0:
			fmt.Fprintf(w, "    WAIVED %s (%s): %s\n", res.Rule.ID, res.Rule.Title, res.Waiver)
		default:
			pass++
		}
	}
	fmt.Fprintf(w, "    %d passed, %d failed, %d skipped (not applicable to this stage); -rules lists them all\n", pass, len(rep.Failures()), skip)
}

// printMoves prints what `pulumi up` from the base (a stage, or a saved graph) would do, change by change, and a
// tally. Unchanged resources are not listed.
func printMoves(w io.Writer, from string, changes []diff.Change) {
	fmt.Fprintf(w, "\nChanges from %s:\n", from)
	for _, c := range changes {
		fmt.Fprintf(w, "    %s\n", c)
	}
	s := diff.Summarize(changes)
	fmt.Fprintf(w, "    %d to create, %d to update, %d to replace, %d to delete; %d would lose data\n",
		s.Counts[diff.Create], s.Counts[diff.Update], s.Counts[diff.Replace], s.Counts[diff.Delete], len(s.LosesData))
	// Pulumi refuses to delete a protected resource: `pulumi up` stops at the first one, with
	// the rest of the move half-done. Name every one, before the move.
	var blocked []diff.Change
	for _, c := range changes {
		if (c.Kind == diff.Delete || c.Kind == diff.Replace) && c.Resource.Protect {
			blocked = append(blocked, c)
		}
	}
	if len(blocked) > 0 {
		fmt.Fprintf(w, "    pulumi up stops on %d protected resource(s) this move deletes; check each, then unprotect it first:\n", len(blocked))
		for _, c := range blocked {
			fmt.Fprintf(w, "      pulumi state unprotect '%s'\n", c.Resource.URN)
		}
	}
}
