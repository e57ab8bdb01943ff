package rules

import (
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// sgEntry is one ingress or egress permission: inline in a group or a rule resource.
type sgEntry struct {
	src      *graph.Resource // the resource that declares it
	group    *graph.Resource // the group it belongs to (nil if unresolved)
	cidrs    []string
	proto    string
	from, to float64
	portsSet bool
}

func (s sgEntry) allPorts() bool {
	p := strings.ToLower(s.proto)
	return p == "-1" || p == "all" || (s.portsSet && s.from <= 0 && s.to >= 65535)
}

func (s sgEntry) ports() string {
	if s.allPorts() {
		return "all ports"
	}
	if s.from == s.to {
		return fmt.Sprintf("port %g/%s", s.from, s.proto)
	}
	return fmt.Sprintf("ports %g-%g/%s", s.from, s.to, s.proto)
}

// single returns the one TCP port the entry opens, or -1.
func (s sgEntry) single() float64 {
	if s.allPorts() || !s.portsSet || s.from != s.to || strings.ToLower(s.proto) != "tcp" && s.proto != "6" {
		return -1
	}
	return s.from
}

// internetCIDR reports whether a CIDR is the whole internet (any /0).
func internetCIDR(c string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(c))
	return err == nil && p.Bits() == 0
}

func (s sgEntry) internet() []string {
	var out []string
	for _, c := range s.cidrs {
		if internetCIDR(c) {
			out = append(out, c)
		}
	}
	return out
}

func entryOf(src *graph.Resource, m map[string]any, cidrKeys []string, protoKey string) sgEntry {
	en := sgEntry{src: src, proto: mstr(m, protoKey)}
	for _, k := range cidrKeys {
		en.cidrs = append(en.cidrs, strings_(m[k])...)
	}
	f, ok1 := mnum(m, "fromPort")
	t, ok2 := mnum(m, "toPort")
	en.from, en.to, en.portsSet = f, t, ok1 && ok2
	return en
}

// sgEntries returns the ingress (or egress) entries a resource declares: a group's inline
// blocks, or the rule resource itself.
func (e *Env) sgEntries(r *graph.Resource, egress bool) []sgEntry {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	var out []sgEntry
	switch r.Type {
	case tSG:
		for _, i := range list(r, dir) {
			if m, ok := i.(map[string]any); ok {
				en := entryOf(r, m, []string{"cidrBlocks", "ipv6CidrBlocks"}, "protocol")
				en.group = r
				out = append(out, en)
			}
		}
	case tIngress, tEgress:
		if (r.Type == tEgress) != egress {
			return nil
		}
		en := entryOf(r, r.Inputs, []string{"cidrIpv4", "cidrIpv6"}, "ipProtocol")
		if g := e.Refs(r, "securityGroupId", tSG); len(g) > 0 {
			en.group = g[0]
		}
		out = append(out, en)
	case tSGRule:
		if (r.String("type") == "egress") != egress {
			return nil
		}
		en := entryOf(r, r.Inputs, []string{"cidrBlocks", "ipv6CidrBlocks"}, "protocol")
		if g := e.Refs(r, "securityGroupId", tSG); len(g) > 0 {
			en.group = g[0]
		}
		out = append(out, en)
	}
	return out
}

// groupEntries returns every entry of a group, inline and from rule resources.
func (e *Env) groupEntries(g *graph.Resource, egress bool) []sgEntry {
	out := e.sgEntries(g, egress)
	for _, r := range e.Of(tIngress, tEgress, tSGRule) {
		for _, en := range e.sgEntries(r, egress) {
			if en.group == g {
				out = append(out, en)
			}
		}
	}
	return out
}

// listenerRedirects reports whether an HTTP listener's first default action is a 301 to
// HTTPS.
func listenerRedirects(l *graph.Resource) bool {
	return l.String("defaultActions.0.type") == "redirect" &&
		l.String("defaultActions.0.redirect.statusCode") == "HTTP_301" &&
		strings.EqualFold(l.String("defaultActions.0.redirect.protocol"), "HTTPS")
}

// internetAllowed says whether an entry from the internet is allowed on its group.
func (e *Env) internetAllowed(en sgEntry) (bool, string) {
	port := en.single()
	if en.group == nil {
		return false, "its security group cannot be identified, so it may not face the internet"
	}
	switch tag(en.group, TagRole) {
	case RolePublicLB:
		switch port {
		case 443:
			return true, ""
		case 80:
			lbs := e.lbsUsing(en.group)
			n := 0
			for _, lb := range lbs {
				for _, l := range e.listenersOf(lb) {
					if p, _ := l.Number("port"); p == 80 {
						n++
						if !listenerRedirects(l) {
							return false, fmt.Sprintf("port 80 is open but listener %s does not redirect to HTTPS with a 301", l.Name)
						}
					}
				}
			}
			if n == 0 {
				return false, "port 80 is open but no HTTP listener of a load balancer in this group redirects it to HTTPS"
			}
			return true, ""
		}
		return false, "a public load balancer faces the internet on 443 (and 80 as a redirect) only"
	case RoleBox:
		if e.Ctx.Stage > BoxMaxStage {
			return false, fmt.Sprintf("the single box faces the internet only through stage %d (BoxMaxStage); stage %d has a load balancer", BoxMaxStage, e.Ctx.Stage)
		}
		if port == 80 || port == 443 {
			return true, ""
		}
		return false, "the single box faces the internet on 80 and 443 only"
	}
	return false, fmt.Sprintf("only groups tagged %s=%s or %s=%s may face the internet (this one: %q)", TagRole, RolePublicLB, TagRole, RoleBox, tag(en.group, TagRole))
}

func (e *Env) lbsUsing(g *graph.Resource) []*graph.Resource {
	var out []*graph.Resource
	for _, lb := range e.Of(tLB, tALB) {
		for _, s := range e.Refs(lb, "securityGroups", tSG) {
			if s == g {
				out = append(out, lb)
			}
		}
	}
	return out
}

func (e *Env) listenersOf(lb *graph.Resource) []*graph.Resource {
	var out []*graph.Resource
	for _, l := range e.Of(tListener, tAListener) {
		for _, x := range e.Refs(l, "loadBalancerArn", tLB, tALB) {
			if x == lb {
				out = append(out, l)
			}
		}
	}
	return out
}

func dataTier(g *graph.Resource) bool {
	t := tag(g, TagTier)
	return t == "data" || t == "cache"
}

func subnetAZ(s *graph.Resource) string {
	if az := s.String("availabilityZone"); az != "" {
		return az
	}
	return s.String("availabilityZoneId")
}

func networkRules() []Rule {
	sgAndRules := func(e *Env) []*graph.Resource { return e.Of(tSG, tIngress, tSGRule) }
	return []Rule{{
		ID:        "NET-1",
		Title:     "private subnets never map public IPs on launch",
		Refs:      []string{"CKV_AWS_130", "SH EC2.15"},
		Applies:   "every aws:ec2/subnet:Subnet; a subnet tagged tier=public may map public IPs, every other must set mapPublicIpOnLaunch=false explicitly",
		AppliesTo: func(e *Env) bool { return e.Has(tSubnet) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tSubnet) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if tag(r, TagTier) == "public" || boolIs(r, "mapPublicIpOnLaunch", false) {
				return nil
			}
			return []Violation{v("private subnet (tier %q) must set mapPublicIpOnLaunch=false explicitly", tag(r, TagTier))}
		},
	}, {
		ID:        "NET-2",
		Title:     "every subnet tier spans at least two AZs",
		Refs:      []string{"REL10-BP01"},
		Applies:   "every aws:ec2/subnet:Subnet, grouped by its tier tag, from stage 2 (users++: several AZs)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsersPP && e.Has(tSubnet) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tSubnet) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			azs := map[string]bool{}
			for _, s := range e.Of(tSubnet) {
				if tag(s, TagTier) == tag(r, TagTier) && subnetAZ(s) != "" {
					azs[subnetAZ(s)] = true
				}
			}
			if len(azs) < 2 {
				return []Violation{v("tier %q has subnets in %d AZ(s); it must survive an AZ loss (>= 2 AZs)", tag(r, TagTier), len(azs))}
			}
			return nil
		},
	}, {
		ID:      "NET-3",
		Title:   "with a NAT gateway per AZ, each private route table uses the NAT in its own AZ",
		Refs:    []string{"REL10-BP01"},
		Applies: "aws:ec2/routeTable:RouteTable with a natGatewayId route, when the graph holds two or more NAT gateways",
		AppliesTo: func(e *Env) bool {
			return len(e.Of(tNat)) >= 2
		},
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, rt := range e.Of(tRouteTable) {
				for _, rte := range list(rt, "routes") {
					if m, ok := rte.(map[string]any); ok && mstr(m, "natGatewayId") != "" {
						out = append(out, rt)
						break
					}
				}
			}
			return out
		},
		Check: func(e *Env, rt *graph.Resource) []Violation {
			var natAZs []string
			for _, rte := range list(rt, "routes") {
				m, _ := rte.(map[string]any)
				if id := mstr(m, "natGatewayId"); id != "" {
					for _, nat := range e.RefsOf(rt, []string{id}, tNat) {
						for _, s := range e.Refs(nat, "subnetId", tSubnet) {
							natAZs = append(natAZs, subnetAZ(s))
						}
					}
				}
			}
			if len(natAZs) != 1 {
				return []Violation{v("cannot tell the AZ of its NAT gateway (found %v)", natAZs)}
			}
			var out []Violation
			n := 0
			for _, a := range e.Of(tRouteTableAssoc) {
				if !e.RefersTo(a, "routeTableId", rt) {
					continue
				}
				for _, s := range e.Refs(a, "subnetId", tSubnet) {
					n++
					if subnetAZ(s) != natAZs[0] {
						out = append(out, v("subnet %s in %s routes through the NAT gateway in %s: an AZ loss cuts it off", s.Name, subnetAZ(s), natAZs[0]))
					}
				}
			}
			if n == 0 {
				out = append(out, v("no subnet association found for this private route table"))
			}
			return out
		},
	}, {
		ID:        "NET-4",
		Title:     "every VPC has flow logs",
		Refs:      []string{"CKV2_AWS_11", "SH EC2.6"},
		Applies:   "every aws:ec2/vpc:Vpc; an aws:ec2/flowLog:FlowLog must name it in vpcId",
		AppliesTo: func(e *Env) bool { return e.Has(tVpc) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tVpc) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if len(e.Companions(r, tFlowLog, "vpcId")) == 0 {
				return []Violation{v("no aws:ec2/flowLog:FlowLog names this VPC")}
			}
			return nil
		},
	}, {
		ID:    "NET-5",
		Title: "no ingress from the internet except the public load balancer (443, 80 as a redirect) and the single box (80/443, stages 0-1)",
		Refs:  []string{"CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277", "SH EC2.18", "SH EC2.19"},
		Applies: "every aws:ec2/securityGroup:SecurityGroup (inline ingress), aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule and " +
			"aws:ec2/securityGroupRule:SecurityGroupRule of type ingress; groups are recognised by their role tag",
		AppliesTo: func(e *Env) bool { return e.Has(tSG, tIngress, tSGRule) },
		Select:    sgAndRules,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for _, en := range e.sgEntries(r, false) {
				inet := en.internet()
				if len(inet) == 0 {
					continue
				}
				if ok, why := e.internetAllowed(en); !ok {
					out = append(out, v("ingress from %s on %s: %s", strings.Join(inet, ","), en.ports(), why))
				}
			}
			return out
		},
	}, {
		ID:    "NET-6",
		Title: "data-tier security groups have no CIDR sources (tiers chain by group reference)",
		Refs:  []string{"SECURITY.md Network"},
		Applies: "aws:ec2/securityGroup:SecurityGroup tagged tier=data or tier=cache, with their ingress rules; applies whenever the graph holds " +
			"an RDS instance, an ElastiCache replication group, a Redshift cluster or a Redshift Serverless workgroup (so their groups must be tagged)",
		AppliesTo: func(e *Env) bool { return e.Has(tRDS, tRedis, tRedshift, tWorkgroup) },
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, g := range e.Of(tSG) {
				if dataTier(g) {
					out = append(out, g)
				}
			}
			return out
		},
		Check: func(e *Env, g *graph.Resource) []Violation {
			var out []Violation
			for _, en := range e.groupEntries(g, false) {
				if len(en.cidrs) > 0 {
					out = append(out, vOn(en.src, "data-tier group %s admits CIDR %s on %s; reference the client tier's security group instead", g.Name, strings.Join(en.cidrs, ","), en.ports()))
				}
			}
			return out
		},
	}, {
		ID:    "NET-7",
		Title: "egress is limited: no all-port egress to the internet, data tiers none to any CIDR",
		Refs:  []string{"SECURITY.md Network"},
		Applies: "every aws:ec2/securityGroup:SecurityGroup (inline egress), aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule and " +
			"aws:ec2/securityGroupRule:SecurityGroupRule of type egress",
		AppliesTo: func(e *Env) bool { return e.Has(tSG, tEgress, tSGRule) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tSG, tEgress, tSGRule) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for _, en := range e.sgEntries(r, true) {
				if en.group != nil && dataTier(en.group) && len(en.cidrs) > 0 {
					out = append(out, v("data-tier group %s sends to CIDR %s; data tiers reach only their peers", en.group.Name, strings.Join(en.cidrs, ",")))
					continue
				}
				if inet := en.internet(); len(inet) > 0 && (en.allPorts() || !en.portsSet || en.from != en.to) {
					out = append(out, v("egress to %s on %s; open only the ports the tier needs", strings.Join(inet, ","), en.ports()))
				}
			}
			return out
		},
	}, {
		ID:    "NET-8",
		Title: "SSH (port 22) ingress covers at most 1024 IPv4 addresses (and a /56 of IPv6) per group, summed over its rules",
		Refs:  []string{"CKV_AWS_24", "SH EC2.13", "SECURITY.md Network"},
		Applies: "every aws:ec2/securityGroup:SecurityGroup with port-22 ingress from a CIDR (inline or rule resources); " +
			"the CIDRs of all its rules are merged and counted: at most SSHMaxAddresses IPv4 and SSHMaxIPv6Bits worth of IPv6 (a /56)",
		AppliesTo: func(e *Env) bool { return len(sshGroups(e)) > 0 },
		Select:    sshGroups,
		Check: func(e *Env, g *graph.Resource) []Violation {
			total, v6, srcs := e.sshCoverage(g)
			var out []Violation
			if total > SSHMaxAddresses {
				names := make([]string, len(srcs))
				for i, s := range srcs {
					names[i] = s.Name
				}
				out = append(out, v("port 22 is open to %d IPv4 addresses across %s; at most %d (a /22's worth): list admin addresses, not ranges", total, strings.Join(names, ","), SSHMaxAddresses))
			}
			if over := ipv6Addresses(v6); over.Cmp(new(big.Int).Lsh(big.NewInt(1), SSHMaxIPv6Bits)) > 0 {
				out = append(out, v("port 22 is open to %s IPv6 addresses (%s); at most a /56's worth (2^%d): list your own prefix", over, strings.Join(v6, ","), SSHMaxIPv6Bits))
			}
			return out
		},
	}}
}

// sshGroups are the security groups with port-22 ingress from a CIDR.
func sshGroups(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, g := range e.Of(tSG) {
		if _, v6, srcs := e.sshCoverage(g); len(srcs) > 0 || len(v6) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// SSHMaxAddresses is the most IPv4 addresses port-22 ingress may cover in one security
// group, summed over all its rules: 1024, a /22's worth (an office /24 and a few single
// addresses, with room to spare), so an allow-list stays an allow-list however it is split
// ("0.0.0.0/1" plus "128.0.0.0/1" is the whole internet in two rules). It equals
// config.MaxAdminIPv4, the adminCidrs check (tests/TestSSHLimitAgrees).
const SSHMaxAddresses = 1024

// SSHMaxIPv6Bits bounds IPv6 port-22 ingress to 2^72 addresses, a /56's worth (what an ISP
// delegates to one site), as config's adminCidrs check does (config.MaxAdminIPv6).
const SSHMaxIPv6Bits = 72

// ipv6Addresses sums the addresses of IPv6 prefixes (overlaps counted twice: config refuses
// overlapping entries, and an overcount only errs on the strict side).
func ipv6Addresses(cidrs []string) *big.Int {
	sum := new(big.Int)
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
			sum.Add(sum, new(big.Int).Lsh(big.NewInt(1), uint(128-p.Bits())))
		}
	}
	return sum
}

// opensPort reports whether an ingress entry admits TCP port p.
func (s sgEntry) opensPort(p float64) bool {
	if s.allPorts() {
		return true
	}
	proto := strings.ToLower(s.proto)
	return s.portsSet && (proto == "tcp" || proto == "6") && s.from <= p && p <= s.to
}

// sshCoverage sums the IPv4 addresses a group's port-22 ingress covers (overlaps merged)
// and lists its IPv6 sources.
func (e *Env) sshCoverage(g *graph.Resource) (total uint64, v6 []string, srcs []*graph.Resource) {
	var prefixes []netip.Prefix
	seen := map[*graph.Resource]bool{}
	for _, en := range e.groupEntries(g, false) {
		if !en.opensPort(22) {
			continue
		}
		for _, c := range en.cidrs {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				continue
			}
			if !seen[en.src] {
				seen[en.src] = true
				srcs = append(srcs, en.src)
			}
			if p.Addr().Is6() {
				v6 = append(v6, c)
				continue
			}
			prefixes = append(prefixes, p.Masked())
		}
	}
	// Merge: drop a prefix inside another, then sum.
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].Bits() < prefixes[j].Bits() })
	var kept []netip.Prefix
	for _, p := range prefixes {
		inside := false
		for _, k := range kept {
			if k.Contains(p.Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, p)
			total += uint64(1) << (32 - p.Bits())
		}
	}
	return total, v6, srcs
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
