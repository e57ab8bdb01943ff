package stages

import "github.com/scaling-aws/scaling-aws/components"

// singleBox is stage 0, "1-2 users": one web server with MySQL on the same box, an Elastic
// IP, a DNS record when a domain is given, SSH only from allow-listed addresses, no outbound
// connections but to S3 (packages and the app) and CloudWatch (metrics and logs), and basic
// monitoring with auto-recovery.
//
// The seed: "With only 1-2 users, you only need a basic setup."
func singleBox(b *builder) error {
	_, err := b.network([]components.Tier{components.TierPublic}, boxEndpoints)
	if err != nil {
		return err
	}
	return nil
}

// boxEndpoints are the AWS services the box reaches privately: CloudWatch metrics (memory and
// disk, from the CloudWatch agent) and CloudWatch Logs (the app's logs).
var boxEndpoints = []string{"monitoring", "logs"}
