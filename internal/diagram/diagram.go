// Package diagram draws a stage's architecture from its recorded resource graph: the
// components the stage composes and who may reach whom, as Mermaid flowchart text. The
// edges are the security-group ingress rules themselves (a peer group, the internet, or
// CloudFront's prefix list), CloudFront's origins and the object-store and queue grants, so the picture
// cannot drift from what the program registers.
package diagram

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

const (
	tIngress      = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tGroup        = "aws:ec2/securityGroup:SecurityGroup"
	tDistribution = "aws:cloudfront/distribution:Distribution"
	tBucket       = "aws:s3/bucketV2:BucketV2"
	internet      = "internet"
)

// shapes draws each component type; unknown types are plain boxes.
var shapes = map[string]string{
	"scaling-aws:compute:Box":          "[%s]",
	"scaling-aws:compute:ServerGroup":  "[[%s]]",
	"scaling-aws:network:LoadBalancer": "{{%s}}",
	"scaling-aws:database:Database":    "[(%s)]",
	"scaling-aws:storage:Bucket":       "[(%s)]",
	"scaling-aws:cdn:CDN":              "([%s])",
	"scaling-aws:messaging:Queue":      ">%s]",
	"scaling-aws:data:Table":           "[(%s)]",
	"scaling-aws:data:Warehouse":       "[(%s)]",
}

// grantEdges label the edge a grant of these components draws from the role's servers:
// the role policy's name after the component's ("<table>-counter-1") picks the label.
var grantEdges = map[string]map[string]string{
	"scaling-aws:data:Table":     {"counter": "DynamoDB"},
	"scaling-aws:data:Warehouse": {"load": "Redshift Data API"},
}

// Mermaid returns the flowchart of g: one node per component that takes part in an edge,
// labelled with its name and what it is, and one edge per allowed path, labelled with the
// port.
func Mermaid(g *graph.Graph) string {
	byURN := map[string]*graph.Resource{}
	for _, r := range g.Resources {
		byURN[r.URN] = r
	}
	owner := func(r *graph.Resource) *graph.Resource { return byURN[r.Parent] }
	edges := map[[2]string]map[string]bool{}
	nodes := map[string]*graph.Resource{}
	add := func(from, to *graph.Resource, fromName, label string) {
		if to == nil {
			return
		}
		if from != nil {
			fromName = from.Name
			nodes[from.Name] = from
		}
		nodes[to.Name] = to
		k := [2]string{fromName, to.Name}
		if edges[k] == nil {
			edges[k] = map[string]bool{}
		}
		edges[k][label] = true
	}
	for _, rule := range g.ByType(tIngress) {
		to := owner(rule)
		if to == nil || to.Type == "scaling-aws:network:Network" {
			continue // interface endpoints: every server reaches them
		}
		port := fmt.Sprint(rule.Inputs["fromPort"])
		switch {
		case rule.String("referencedSecurityGroupId") != "":
			for _, d := range rule.Dependencies {
				if sg := byURN[d]; sg != nil && sg.Type == tGroup && sg.Parent != rule.Parent {
					add(owner(sg), to, "", port)
				}
			}
		case rule.String("prefixListId") != "":
			add(nil, to, "cdn-edge", port)
		default:
			add(nil, to, internet, port)
		}
	}
	for _, d := range g.ByType(tDistribution) {
		cdn := owner(d)
		for _, dep := range d.Dependencies {
			if r := byURN[dep]; r != nil && r.Type == tBucket {
				add(cdn, owner(r), "", "OAC")
			}
		}
		add(nil, cdn, internet, "443")
	}
	// Object-store grants: a role policy the bucket component owns names the servers' role.
	for _, p := range g.ByType("aws:iam/rolePolicy:RolePolicy") {
		bucket := owner(p)
		if bucket == nil || bucket.Type != "scaling-aws:storage:Bucket" {
			continue
		}
		for _, dep := range p.Dependencies {
			if r := byURN[dep]; r != nil && r.Type == "aws:iam/role:Role" {
				add(owner(r), bucket, "", "S3 API")
			}
		}
	}
	// Queue grants: a role policy the queue component owns names the producer's or the
	// consumer's role (Queue.GrantSend, GrantConsume, GrantDeadLetter name them so).
	for _, p := range g.ByType("aws:iam/rolePolicy:RolePolicy") {
		queue := owner(p)
		if queue == nil || queue.Type != "scaling-aws:messaging:Queue" {
			continue
		}
		label := "SQS receive"
		switch {
		case strings.HasPrefix(p.Name, queue.Name+"-send-"):
			label = "SQS send"
		case strings.HasPrefix(p.Name, queue.Name+"-dead-letter-"):
			label = "SQS dead-letter"
		}
		for _, dep := range p.Dependencies {
			if r := byURN[dep]; r != nil && r.Type == "aws:iam/role:Role" {
				add(owner(r), queue, "", label)
			}
		}
	}
	// Table and warehouse grants, and the warehouse's COPY from the archive.
	for _, p := range g.ByType("aws:iam/rolePolicy:RolePolicy") {
		c := owner(p)
		if c == nil || grantEdges[c.Type] == nil {
			continue
		}
		if c.Type == "scaling-aws:data:Warehouse" && p.Name == c.Name+"-copy" {
			for _, dep := range p.Dependencies {
				if r := byURN[dep]; r != nil && r.Type == tBucket {
					add(c, owner(r), "", "COPY")
				}
			}
			continue
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(p.Name, c.Name+"-"), "-")
		label, ok := grantEdges[c.Type][kind]
		if !ok {
			continue
		}
		for _, dep := range p.Dependencies {
			if r := byURN[dep]; r != nil && r.Type == "aws:iam/role:Role" && r.Parent != c.URN {
				add(owner(r), c, "", label)
			}
		}
	}
	// CloudFront's origin-facing prefix list is the CDN itself, when the stack has one.
	for k, labels := range edges {
		if k[0] == "cdn-edge" {
			for name, n := range nodes {
				if n.Type == "scaling-aws:cdn:CDN" {
					delete(edges, k)
					if edges[[2]string{name, k[1]}] == nil {
						edges[[2]string{name, k[1]}] = map[string]bool{}
					}
					for l := range labels {
						edges[[2]string{name, k[1]}][l] = true
					}
				}
			}
		}
	}

	var b strings.Builder
	b.WriteString("flowchart LR\n")
	b.WriteString("  internet((Internet))\n")
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := nodes[n]
		shape, ok := shapes[r.Type]
		if !ok {
			shape = "[%s]"
		}
		kind := r.Type[strings.LastIndex(r.Type, ":")+1:]
		fmt.Fprintf(&b, "  %s"+shape+"\n", id(n), fmt.Sprintf("\"%s<br/><small>%s</small>\"", n, kind))
	}
	keys := make([][2]string, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		var labels []string
		for l := range edges[k] {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", id(k[0]), strings.Join(labels, ", "), id(k[1]))
	}
	return b.String()
}

// id turns a logical name into a Mermaid node id.
func id(name string) string { return strings.NewReplacer("-", "_", ".", "_").Replace(name) }
