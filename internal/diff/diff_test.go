package diff

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

func res(typ, name string, in map[string]any) *graph.Resource {
	return &graph.Resource{URN: "urn:pulumi:dev::p::" + typ + "::" + name, Type: typ, Name: name, Custom: true, Inputs: in}
}

func TestCompareClassifiesSteps(t *testing.T) {
	db := res("aws:rds/instance:Instance", "db", map[string]any{"identifier": "app", "multiAz": false})
	vol := res("aws:ebs/volume:Volume", "data", map[string]any{"availabilityZone": "a"})
	vol.RetainOnDelete = true
	box := res("aws:ec2/instance:Instance", "box", map[string]any{"userData": "v1", "userDataReplaceOnChange": true, "ami": "ami-1"})
	box.IgnoreChanges = []string{"ami"}
	a := &graph.Graph{Resources: []*graph.Resource{db, vol, box}}

	db2 := res("aws:rds/instance:Instance", "db", map[string]any{"identifier": "app", "multiAz": true})
	box2 := res("aws:ec2/instance:Instance", "box", map[string]any{"userData": "v2", "userDataReplaceOnChange": true, "ami": "ami-2"})
	box2.IgnoreChanges = []string{"ami"}
	lb := res("aws:lb/loadBalancer:LoadBalancer", "lb", map[string]any{})
	b := &graph.Graph{Resources: []*graph.Resource{db2, box2, lb}}

	changes := Compare(a, b)
	require.Len(t, changes, 4)
	kinds := map[string]Kind{}
	for _, c := range changes {
		kinds[c.Resource.Name] = c.Kind
	}
	assert.Equal(t, map[string]Kind{"db": Update, "box": Replace, "lb": Create, "data": Delete}, kinds)
	assert.Equal(t, []string{"multiAz"}, changes[0].Keys)
	assert.Equal(t, []string{"userData"}, changes[1].Keys, "ami is ignored, userData replaces")
	s := Summarize(changes)
	assert.Empty(t, s.LosesData, "an update and a retained delete lose nothing")
	assert.Contains(t, changes[3].String(), "(retained in AWS)")
}

func TestLosesData(t *testing.T) {
	db := res("aws:rds/instance:Instance", "db", map[string]any{"identifier": "app"})
	renamed := res("aws:rds/instance:Instance", "db", map[string]any{"identifier": "app2"})
	bucket := res("aws:s3/bucketV2:BucketV2", "store", map[string]any{})
	a := &graph.Graph{Resources: []*graph.Resource{db, bucket}}
	b := &graph.Graph{Resources: []*graph.Resource{renamed}}
	s := Summarize(Compare(a, b))
	require.Len(t, s.LosesData, 2, "a replaced database and a bucket dropped without RetainOnDelete")
	assert.Equal(t, Replace, s.LosesData[0].Kind)
	assert.Equal(t, []string{"identifier"}, s.LosesData[0].Keys)
	assert.True(t, strings.HasSuffix(s.LosesData[1].String(), "LOSES DATA"))
}
