package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

const tRecord = "aws:route53/record:Record"

// recordKey is what Route 53 keeps unique in a zone: zone, name and type (no routing policy
// here, so no set identifier).
func recordKey(r *graph.Resource) string {
	return strings.Join([]string{r.String("zoneId"), strings.TrimSuffix(strings.ToLower(r.String("name")), "."), r.String("type")}, "|")
}

// TestMovingUpWithADomainNeverCreatesATakenRecord: on every move with a domain, no record is
// created whose zone, name and type a record of the previous stage holds: Route 53 refuses
// that CREATE (the old record is deleted only at the end of the update), and the move stops
// half-way. The domain's record is one resource, updated in place from the box's address to
// an alias to CloudFront.
func TestMovingUpWithADomainNeverCreatesATakenRecord(t *testing.T) {
	stagesList := implemented()
	for _, env := range []string{"dev", "prod"} {
		for i := 0; i+1 < len(stagesList); i++ {
			from, to := stagesList[i], stagesList[i+1]
			t.Run(fmt.Sprintf("%s/%s-to-%s", env, from, to), func(t *testing.T) {
				a, b := evaluate(t, env, from, prodDomain), evaluate(t, env, to, prodDomain)
				held := map[string]string{}
				for _, r := range a.g.ByType(tRecord) {
					held[recordKey(r)] = r.URN
				}
				require.NotEmpty(t, held, "the stack at %s has no record with a domain", from)
				for _, c := range diff.Compare(a.g, b.g) {
					if c.Resource.Type != tRecord || c.Kind != diff.Create {
						continue
					}
					if urn, ok := held[recordKey(c.Resource)]; ok {
						t.Errorf("%s creates %s, which %s already holds: Route 53 refuses the CREATE", to, recordKey(c.Resource), urn)
					}
				}
			})
		}
	}

	// users+ -> users++: the domain's record is updated from the box's Elastic IP to an
	// alias of the distribution.
	a, b := evaluate(t, "prod", config.UsersPlus, prodDomain), evaluate(t, "prod", config.UsersPlus2, prodDomain)
	before, after := a.g.ByName(tRecord, "site-dns"), b.g.ByName(tRecord, "site-dns")
	require.NotNil(t, before)
	require.NotNil(t, after)
	assert.Equal(t, before.URN, after.URN)
	assert.NotEmpty(t, before.Inputs["records"])
	assert.Nil(t, after.Inputs["records"], "an alias record has no records")
	assert.NotEmpty(t, after.Inputs["aliases"])
	var kind diff.Kind
	for _, c := range diff.Compare(a.g, b.g) {
		if c.Resource.URN == after.URN {
			kind = c.Kind
			assert.Contains(t, c.Keys, "aliases")
		}
	}
	assert.Equal(t, diff.Update, kind, "the domain's record is updated, not replaced or created")
}
