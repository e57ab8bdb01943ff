package tests

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
)

// TestLogWritersWaitForTheLogBucketPolicy: in the recorded users++ graph, both load
// balancers and CloudFront's log delivery depend on the log bucket's policy resource, so
// `pulumi up` attaches the policy before turning logging on.
func TestLogWritersWaitForTheLogBucketPolicy(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus2, prodDomain)
		policy := s.g.ByName("aws:s3/bucketPolicy:BucketPolicy", "logs")
		require.NotNil(t, policy, env)
		lbs := s.g.ByType("aws:lb/loadBalancer:LoadBalancer")
		require.Len(t, lbs, 2, env)
		for _, r := range append(lbs, s.g.ByName("aws:cloudwatch/logDelivery:LogDelivery", "cdn-logs"), s.g.ByName("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination", "cdn-logs")) {
			require.NotNil(t, r, env)
			assert.Contains(t, r.Dependencies, policy.URN, "%s %s waits for the log bucket policy", env, r.Name)
		}
	}
}

// internetEgress lists the egress rules open to 0.0.0.0/0, by name.
func internetEgress(s *stack) []string {
	var out []string
	for _, r := range s.g.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if r.String("cidrIpv4") == "0.0.0.0/0" {
			out = append(out, fmt.Sprintf("%s:%v", r.Name, r.Inputs["fromPort"]))
		}
	}
	sort.Strings(out)
	return out
}

// TestNATIsUsableFromTheServers: with NAT gateways (dev single, prod per AZ) the web and
// API tiers may send HTTPS, and only HTTPS, to the internet through them (config refuses
// natStrategy none from users++ on).
func TestNATIsUsableFromTheServers(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		s := evaluate(t, env, config.UsersPlus2, prodDomain)
		require.Positive(t, s.count("aws:ec2/natGateway:NatGateway"), env)
		assert.Equal(t, []string{"read-api-sg-out-https:443", "web-sg-out-https:443", "write-api-sg-out-https:443"}, internetEgress(s), env)
	}
}

// TestEndpointsOnlyGainSubnets: on every move, an interface endpoint keeps every subnet it
// had and only adds subnets (in AZs it did not cover). Swapping its subnet within an AZ
// would need a remove and an add of the same AZ in one ModifyVpcEndpoint call, which AWS may
// refuse (DuplicateSubnetsInSameZone): the endpoints stay in the public tier on every stage.
func TestEndpointsOnlyGainSubnets(t *testing.T) {
	stagesList := implemented()
	for _, env := range []string{"dev", "prod"} {
		for i := 0; i+1 < len(stagesList); i++ {
			a, b := evaluate(t, env, stagesList[i], prodDomain), evaluate(t, env, stagesList[i+1], prodDomain)
			checked := 0
			for _, before := range a.g.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
				after := b.g.ByURN(before.URN)
				if after == nil || before.String("vpcEndpointType") != "Interface" {
					continue
				}
				checked++
				assert.Subset(t, after.Inputs["subnetIds"], before.Inputs["subnetIds"],
					"%s %s -> %s: %s drops a subnet", env, stagesList[i], stagesList[i+1], before.Name)
			}
			assert.Positive(t, checked, "%s %s: no interface endpoint carried over", env, stagesList[i])
		}
	}
}
