package components

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubnetCIDRFixedPlan(t *testing.T) {
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	want := map[Tier][]string{
		TierPublic: {"10.0.0.0/22", "10.0.64.0/22", "10.0.128.0/22", "10.0.192.0/22"},
		TierWeb:    {"10.0.4.0/22", "10.0.68.0/22", "10.0.132.0/22", "10.0.196.0/22"},
		TierApp:    {"10.0.8.0/21", "10.0.72.0/21", "10.0.136.0/21", "10.0.200.0/21"},
		TierData:   {"10.0.16.0/22", "10.0.80.0/22", "10.0.144.0/22", "10.0.208.0/22"},
		TierCache:  {"10.0.20.0/22", "10.0.84.0/22", "10.0.148.0/22", "10.0.212.0/22"},
		TierWorker: {"10.0.24.0/21", "10.0.88.0/21", "10.0.152.0/21", "10.0.216.0/21"},
	}
	for tier, cidrs := range want {
		for az, c := range cidrs {
			got, err := SubnetCIDR(vpc, tier, az)
			require.NoError(t, err)
			assert.Equal(t, c, got.String(), "%s az %d", tier, az)
		}
	}
}

// TestSubnetsNeverOverlap checks every pair of planned subnets, in every AZ block.
func TestSubnetsNeverOverlap(t *testing.T) {
	vpc := netip.MustParsePrefix("172.20.0.0/16")
	var all []netip.Prefix
	for az := 0; az < MaxPlannedAZs; az++ {
		for _, tier := range AllTiers {
			p, err := SubnetCIDR(vpc, tier, az)
			require.NoError(t, err)
			require.True(t, vpc.Contains(p.Addr()), "%s inside the vpc", p)
			for _, q := range all {
				require.False(t, p.Overlaps(q), "%s overlaps %s", p, q)
			}
			all = append(all, p)
		}
	}
	assert.Len(t, all, MaxPlannedAZs*len(AllTiers))
}

func TestSubnetCIDRRejects(t *testing.T) {
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	_, err := SubnetCIDR(vpc, "dmz", 0)
	assert.ErrorContains(t, err, `unknown tier "dmz"`)
	_, err = SubnetCIDR(vpc, TierWeb, 4)
	assert.ErrorContains(t, err, "az index 4 out of range")
	_, err = SubnetCIDR(netip.MustParsePrefix("10.0.0.0/20"), TierWeb, 0)
	assert.ErrorContains(t, err, "must be an IPv4 /16")
}

func FuzzSubnetCIDR(f *testing.F) {
	f.Add(uint8(10), uint8(0), 0, 2)
	f.Fuzz(func(t *testing.T, a, b uint8, tierIdx, az int) {
		vpc := netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, 0, 0}), 16)
		if tierIdx < 0 || tierIdx >= len(AllTiers) || az < 0 || az >= MaxPlannedAZs {
			return
		}
		p, err := SubnetCIDR(vpc, AllTiers[tierIdx], az)
		if err != nil {
			t.Fatal(err)
		}
		if !vpc.Contains(p.Addr()) || p.Masked() != p {
			t.Fatalf("%s not a network inside %s", p, vpc)
		}
	})
}
