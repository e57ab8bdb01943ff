package rules

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Type tokens the rules examine (pulumi-aws v6).
const (
	tSubnet            = "aws:ec2/subnet:Subnet"
	tVpc               = "aws:ec2/vpc:Vpc"
	tFlowLog           = "aws:ec2/flowLog:FlowLog"
	tNat               = "aws:ec2/natGateway:NatGateway"
	tRouteTable        = "aws:ec2/routeTable:RouteTable"
	tRouteTableAssoc   = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	tSG                = "aws:ec2/securityGroup:SecurityGroup"
	tSGRule            = "aws:ec2/securityGroupRule:SecurityGroupRule"
	tIngress           = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress            = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tInstance          = "aws:ec2/instance:Instance"
	tLaunchTemplate    = "aws:ec2/launchTemplate:LaunchTemplate"
	tVolume            = "aws:ebs/volume:Volume"
	tASG               = "aws:autoscaling/group:Group"
	tASGPolicy         = "aws:autoscaling/policy:Policy"
	tLB                = "aws:lb/loadBalancer:LoadBalancer"
	tALB               = "aws:alb/loadBalancer:LoadBalancer"
	tListener          = "aws:lb/listener:Listener"
	tAListener         = "aws:alb/listener:Listener"
	tTG                = "aws:lb/targetGroup:TargetGroup"
	tATG               = "aws:alb/targetGroup:TargetGroup"
	tRDS               = "aws:rds/instance:Instance"
	tRedis             = "aws:elasticache/replicationGroup:ReplicationGroup"
	tBucket            = "aws:s3/bucketV2:BucketV2"
	tLegacyBucket      = "aws:s3/bucket:Bucket"
	tPAB               = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tSSE               = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tOwnership         = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tBucketPolicy      = "aws:s3/bucketPolicy:BucketPolicy"
	tVersioning        = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tLogging           = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	tDistribution      = "aws:cloudfront/distribution:Distribution"
	tLogDeliverySource = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
	tLogDelivery       = "aws:cloudwatch/logDelivery:LogDelivery"
	tQueue             = "aws:sqs/queue:Queue"
	tQueuePolicy       = "aws:sqs/queuePolicy:QueuePolicy"
	tRole              = "aws:iam/role:Role"
	tRolePolicy        = "aws:iam/rolePolicy:RolePolicy"
	tPolicy            = "aws:iam/policy:Policy"
	tRPA               = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tPolicyAttach      = "aws:iam/policyAttachment:PolicyAttachment"
	tGroupPA           = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
	tUserPA            = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
	tUser              = "aws:iam/user:User"
	tAccessKey         = "aws:iam/accessKey:AccessKey"
	tLoginProfile      = "aws:iam/userLoginProfile:UserLoginProfile"
	tAlarm             = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tLogGroup          = "aws:cloudwatch/logGroup:LogGroup"
	tTable             = "aws:dynamodb/table:Table"
	tScalableTarget    = "aws:appautoscaling/target:Target"
	tScalingPolicy     = "aws:appautoscaling/policy:Policy"
	tRedshift          = "aws:redshift/cluster:Cluster"
	tNamespace         = "aws:redshiftserverless/namespace:Namespace"
	tWorkgroup         = "aws:redshiftserverless/workgroup:Workgroup"
	tKey               = "aws:kms/key:Key"
	tTopic             = "aws:sns/topic:Topic"
	tSecret            = "aws:secretsmanager/secret:Secret"
	tDLMPolicy         = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
	tBackupSelection   = "aws:backup/selection:Selection"
)

// Tag conventions the program follows so the rules can tell what a resource is
// (docs/security.md).
const (
	// TagRole on a security group: "box", "public-lb", "internal", "data", "cache",
	// "endpoints". Only "box" (through BoxMaxStage) and "public-lb" may face the internet.
	TagRole = "role"
	// TagTier on a security group: "data" or "cache" marks a data-tier group, which has no
	// CIDR source. On a subnet: the address-plan tier ("public" subnets may map public IPs).
	TagTier = "tier"
	// TagDataClass on an s3.BucketV2: "data", "logs" or "artifacts".
	TagDataClass = "dataClass"
)

// Values of the tags above.
const (
	RoleBox       = "box"
	RolePublicLB  = "public-lb"
	RoleWorker    = "worker" // on an Auto Scaling group: queue workers, no load balancer
	RoleDLQ       = "dlq"    // on an SQS queue: a dead-letter queue
	ClassData     = "data"
	ClassLogs     = "logs"
	ClassArtifact = "artifacts"
)

// Env is a graph indexed for the rules: by type, by URN, and with the identities (ids,
// names, ARNs as the engine returned them) each resource is referred to by.
type Env struct {
	G   *graph.Graph
	Ctx Context

	byURN map[string]*graph.Resource
	ids   map[*graph.Resource]map[string]bool
}

// NewEnv indexes g.
func NewEnv(g *graph.Graph, ctx Context) *Env {
	e := &Env{G: g, Ctx: ctx, byURN: map[string]*graph.Resource{}, ids: map[*graph.Resource]map[string]bool{}}
	for _, r := range g.Resources {
		e.byURN[r.URN] = r
		ids := map[string]bool{r.Name: true, r.URN: true, r.Name + "_id": true, r.Name + "-id": true}
		for _, k := range []string{"name", "bucket", "identifier", "replicationGroupId", "clusterIdentifier"} {
			if r.Type == tBucket || k != "bucket" {
				if s, ok := r.Inputs[k].(string); ok && s != "" {
					ids[s] = true
				}
			}
		}
		e.ids[r] = ids
	}
	// Learn the ids the engine gave: a resource that depends on exactly one custom resource
	// refers to it with every reference-shaped input (a companion's "bucket", a rule's
	// "securityGroupId", a subnet's "vpcId").
	for _, r := range g.Resources {
		var only *graph.Resource
		n := 0
		for _, d := range r.Dependencies {
			if dr := e.byURN[d]; dr != nil && dr.Custom {
				only, n = dr, n+1
			}
		}
		if n != 1 {
			continue
		}
		for k, val := range r.Inputs {
			if s, ok := val.(string); ok && s != "" && refKey(k) && s != graph.SecretMarker {
				e.ids[only][s] = true
			}
		}
	}
	return e
}

// refKey reports whether an input key names another resource.
func refKey(k string) bool {
	l := strings.ToLower(k)
	return l == "bucket" || l == "role" || strings.HasSuffix(l, "id") || strings.HasSuffix(l, "arn") || strings.HasSuffix(l, "name")
}

// Of returns the custom resources of the given types, in registration order.
func (e *Env) Of(types ...string) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.G.Resources {
		if !r.Custom {
			continue
		}
		for _, t := range types {
			if r.Type == t {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Has reports whether the graph holds a custom resource of any of the types.
func (e *Env) Has(types ...string) bool { return len(e.Of(types...)) > 0 }

// Matches reports whether a value refers to r: one of r's identities, or an ARN ending in
// one.
func (e *Env) Matches(r *graph.Resource, val string) bool {
	if val == "" {
		return false
	}
	ids := e.ids[r]
	if ids[val] {
		return true
	}
	if strings.HasPrefix(val, "arn:") {
		for id := range ids {
			if id != r.URN && (strings.HasSuffix(val, ":"+id) || strings.HasSuffix(val, "/"+id)) {
				return true
			}
		}
	}
	return false
}

// Refs resolves the values at path of from (a string or a list of strings) to resources of
// the given types: by identity first, then through from's dependencies on those types that
// no other reference of from accounts for.
func (e *Env) Refs(from *graph.Resource, path string, types ...string) []*graph.Resource {
	v, _ := from.Lookup(path)
	return e.RefsOf(from, strings_(v), types...)
}

// RefsOf resolves the given values as Refs does.
func (e *Env) RefsOf(from *graph.Resource, vals []string, types ...string) []*graph.Resource {
	cands := e.Of(types...)
	seen := map[*graph.Resource]bool{}
	var out []*graph.Resource
	unresolved := 0
	for _, val := range vals {
		found := false
		for _, c := range cands {
			if c != from && e.Matches(c, val) {
				found = true
				if !seen[c] {
					seen[c] = true
					out = append(out, c)
				}
			}
		}
		if !found && val != "" {
			unresolved++
		}
	}
	if unresolved == 0 {
		return out
	}
	// Fall back on dependencies, leaving out those that another input of from names.
	other := map[*graph.Resource]bool{}
	for _, s := range allStrings(from.Inputs) {
		for _, c := range cands {
			if e.Matches(c, s) {
				other[c] = true
			}
		}
	}
	var deps []*graph.Resource
	for _, d := range from.Dependencies {
		dr := e.byURN[d]
		if dr == nil || dr == from || seen[dr] || other[dr] || !isType(dr, types) {
			continue
		}
		deps = append(deps, dr)
	}
	if len(deps) <= unresolved || len(vals) == 1 {
		out = append(out, deps...)
	}
	return out
}

// RefersTo reports whether from's value at path refers to to.
func (e *Env) RefersTo(from *graph.Resource, path string, to *graph.Resource) bool {
	for _, r := range e.Refs(from, path, to.Type) {
		if r == to {
			return true
		}
	}
	return false
}

// Companions returns the resources of type typ whose input at path refers to r (an S3
// companion's "bucket", a flow log's "vpcId", a scaling policy's "autoscalingGroupName").
func (e *Env) Companions(r *graph.Resource, typ, path string) []*graph.Resource {
	var out []*graph.Resource
	for _, c := range e.Of(typ) {
		if e.RefersTo(c, path, r) {
			out = append(out, c)
		}
	}
	return out
}

// DependsOn reports whether from depends on to, or names it in any input value.
func (e *Env) DependsOn(from, to *graph.Resource) bool {
	for _, d := range from.Dependencies {
		if d == to.URN {
			return true
		}
	}
	return false
}

func isType(r *graph.Resource, types []string) bool {
	for _, t := range types {
		if r.Type == t {
			return true
		}
	}
	return false
}

// strings_ returns a string or the strings of a list.
func strings_(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		var out []string
		for _, i := range x {
			if s, ok := i.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// allStrings returns every string value under v, sorted.
func allStrings(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, i := range x {
				walk(i)
			}
		case map[string]any:
			for _, i := range x {
				walk(i)
			}
		}
	}
	walk(v)
	sort.Strings(out)
	return out
}

// tag returns a resource's tag (from the tags map, or an Auto Scaling group's tag list).
func tag(r *graph.Resource, key string) string {
	switch t := r.Inputs["tags"].(type) {
	case map[string]any:
		s, _ := t[key].(string)
		return s
	case []any:
		for _, i := range t {
			if m, ok := i.(map[string]any); ok && m["key"] == key {
				s, _ := m["value"].(string)
				return s
			}
		}
	}
	return ""
}

// list returns the input at path as a list (nil if absent or not a list).
func list(r *graph.Resource, path string) []any {
	v, _ := r.Lookup(path)
	l, _ := v.([]any)
	return l
}

// object returns the input at path as a map (an object, or the first element of a one-item
// list, as nested blocks sometimes record).
func object(r *graph.Resource, path string) map[string]any {
	v, _ := r.Lookup(path)
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		if len(x) > 0 {
			m, _ := x[0].(map[string]any)
			return m
		}
	}
	return nil
}

// isSet reports whether the input at path is present (and not JSON null).
func isSet(r *graph.Resource, path string) bool {
	v, ok := r.Lookup(path)
	return ok && v != nil
}

// boolIs reports whether the input at path is explicitly the boolean want (strings "true"
// and "false" count, as launch templates record them).
func boolIs(r *graph.Resource, path string, want bool) bool {
	v, ok := r.Lookup(path)
	if !ok {
		return false
	}
	switch b := v.(type) {
	case bool:
		return b == want
	case string:
		return b == map[bool]string{true: "true", false: "false"}[want]
	}
	return false
}

// mstr, mnum and mbool read a key of a plain map.
func mstr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func mnum(m map[string]any, k string) (float64, bool) {
	f, ok := m[k].(float64)
	return f, ok
}

func mbool(m map[string]any, k string) bool {
	switch b := m[k].(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// secretInput reports whether a top-level input key is a secret.
func secretInput(r *graph.Resource, key string) bool {
	for _, k := range r.SecretInputs {
		if k == key {
			return true
		}
	}
	return r.Inputs[key] == graph.SecretMarker
}

// policyDoc is an IAM policy document decoded from its JSON string.
type policyDoc struct {
	Statements []policyStatement
}

type policyStatement struct {
	Sid                      string
	Effect                   string
	Principal                any
	Actions, NotActions      []string
	Resources, NotResources  []string
	Condition                map[string]any
	HasNotAction, HasNotRsrc bool
}

// parsePolicy decodes a policy given as a JSON string or an already-decoded object.
func parsePolicy(v any) (policyDoc, bool) {
	var raw map[string]any
	switch x := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(x), &raw); err != nil {
			return policyDoc{}, false
		}
	case map[string]any:
		raw = x
	default:
		return policyDoc{}, false
	}
	var stmts []any
	switch s := raw["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	var doc policyDoc
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		st := policyStatement{Sid: mstr(m, "Sid"), Effect: mstr(m, "Effect"), Principal: m["Principal"]}
		st.Actions = strs(m["Action"])
		st.NotActions = strs(m["NotAction"])
		st.Resources = strs(m["Resource"])
		st.NotResources = strs(m["NotResource"])
		_, st.HasNotAction = m["NotAction"]
		_, st.HasNotRsrc = m["NotResource"]
		if c, ok := m["Condition"].(map[string]any); ok && len(c) > 0 {
			st.Condition = c
		}
		doc.Statements = append(doc.Statements, st)
	}
	return doc, true
}

// strs returns a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, i := range x {
			if s, ok := i.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// principals returns a statement's principals as "type:value" ("*" for a bare "*").
func (s policyStatement) principals() []string {
	switch p := s.Principal.(type) {
	case string:
		return []string{p}
	case map[string]any:
		var out []string
		for k, val := range p {
			for _, x := range strs(val) {
				out = append(out, k+":"+x)
			}
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// anyPrincipal reports whether a statement's principal is everyone.
func (s policyStatement) anyPrincipal() bool {
	for _, p := range s.principals() {
		if p == "*" || p == "AWS:*" {
			return true
		}
	}
	return false
}
