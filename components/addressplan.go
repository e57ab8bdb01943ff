package components

import (
	"fmt"
	"net/netip"
)

// Tier names a band of subnets with one role. Subnets are keyed by tier and AZ, never by
// list position, so adding a tier or an AZ only adds subnets.
type Tier string

// The tiers of the address plan. Every stage's subnets are laid out from stage 0 on, so a
// later stage never renumbers a subnet (the top complaint of VPC module users).
const (
	TierPublic Tier = "public" // Internet-facing: the single box, load balancers, NAT gateways.
	TierWeb    Tier = "web"    // Web servers (reverse proxies), from users++.
	TierApp    Tier = "app"    // Read-API and write-API servers, interface endpoints.
	TierData   Tier = "data"   // RDS (isolated: no route to the internet).
	TierCache  Tier = "cache"  // ElastiCache (isolated).
	TierWorker Tier = "worker" // Queue workers, from users+++++.
)

// AllTiers lists the tiers in address-plan order.
var AllTiers = []Tier{TierPublic, TierWeb, TierApp, TierData, TierCache, TierWorker}

// Public reports whether the tier's subnets route to the internet gateway.
func (t Tier) Public() bool { return t == TierPublic }

// Isolated reports whether the tier's subnets have no route out of the VPC at all (data
// tiers reach nothing but their peers; AWS services they need come through endpoints).
func (t Tier) Isolated() bool { return t == TierData || t == TierCache }

// slot is where a tier sits inside an AZ's block: its offset and prefix length.
type slot struct {
	offset uint32 // addresses from the start of the AZ block
	bits   int
}

// planSlots lays out one AZ's /18 (16,384 addresses). The last /19 of each AZ block is
// reserved for tiers not yet designed (warehouse, more endpoints), and the fourth AZ block
// of the /16 is reserved for a fourth AZ.
var planSlots = map[Tier]slot{
	TierPublic: {offset: 0, bits: 22},    // x.x.0.0/22   1,024 addresses
	TierWeb:    {offset: 1024, bits: 22}, // x.x.4.0/22   1,024
	TierApp:    {offset: 2048, bits: 21}, // x.x.8.0/21   2,048
	TierData:   {offset: 4096, bits: 22}, // x.x.16.0/22  1,024
	TierCache:  {offset: 5120, bits: 22}, // x.x.20.0/22  1,024
	TierWorker: {offset: 6144, bits: 21}, // x.x.24.0/21  2,048 (x.x.32.0/19 reserved)
}

// azBlockSize is the address count of one AZ's block: a quarter of the /16.
const azBlockSize = 16384

// MaxPlannedAZs is the number of AZ blocks the /16 holds.
const MaxPlannedAZs = 4

// SubnetCIDR returns the CIDR of a tier's subnet in the AZ at position az (0-based) of a /16
// VPC. The result depends only on (vpc, tier, az): the address plan is fixed.
func SubnetCIDR(vpc netip.Prefix, tier Tier, az int) (netip.Prefix, error) {
	s, ok := planSlots[tier]
	if !ok {
		return netip.Prefix{}, fmt.Errorf("address plan: unknown tier %q", tier)
	}
	if !vpc.Addr().Is4() || vpc.Bits() != 16 || vpc.Masked() != vpc {
		return netip.Prefix{}, fmt.Errorf("address plan: vpc cidr %s must be an IPv4 /16 network address", vpc)
	}
	if az < 0 || az >= MaxPlannedAZs {
		return netip.Prefix{}, fmt.Errorf("address plan: az index %d out of range 0..%d", az, MaxPlannedAZs-1)
	}
	b := vpc.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	a := base + uint32(az)*azBlockSize + s.offset
	addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	return netip.PrefixFrom(addr, s.bits), nil
}
