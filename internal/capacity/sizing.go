package capacity

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/cost"
)

// Sized is one tier sized for the seed's peak with one AZ lost.
type Sized struct {
	// Tier is the tier's name; Type and Count what carries the peak; Headroom is the
	// survivors' share of the peak (>= 1).
	Tier     string  `json:"tier"`
	Type     string  `json:"type"`
	Count    int     `json:"count"`
	Headroom float64 `json:"headroom"`
	// Monthly is USD a month for Count instances all month (the most the peak takes).
	Monthly float64 `json:"monthlyUsd"`
	// Fits is false when no size this stack can deploy carries the peak; Note then says
	// what would (Count is then the serving instances the peak takes of the stage's type).
	Fits bool   `json:"fits"`
	Note string `json:"note,omitempty"`
}

// Sizing is the cheapest set of sizes in the price and size tables that carries the seed's
// peak with one AZ lost, and the stack config that deploys it.
type Sizing struct {
	AZs   int     `json:"azs"`
	Tiers []Sized `json:"tiers"`
	// Config maps a project config key ("web", "db") to its object value.
	Config map[string]map[string]any `json:"config"`
	// Shards is the number of write shards the primary's load takes (1: one primary fits).
	Shards int `json:"shards"`
	// Fits is whether every tier is sized within what the stack deploys.
	Fits bool `json:"fits"`
}

// Limits of what the stack's config accepts (config/config.go).
const (
	maxTierSize      = 100 // MaxTierSize
	maxReplicas      = 15  // db.replicas: RDS for MySQL's read replicas per source
	maxCacheReplicas = 5   // cache.replicas: ElastiCache's replicas per shard
	minTierSize      = 2   // a tier keeps a server in two AZs
)

// Size sizes every tier of rep (a stage's Analyze) for the seed's peak with one AZ lost,
// choosing for each the cheapest type the price table and measured.json both know, with
// the engine the cache runs. Only fixed-performance types are candidates (a burstable
// type sustains its baseline, and the business-hours peak lasts hours), and only x86
// servers (the figures were measured on x86; the database's and cache's classes are
// managed, and their figures are MariaDB's and Redis's, whatever the class's CPU).
func Size(rep *Report, m *Model, p *cost.Prices, cacheEngine string) (*Sizing, error) {
	out := &Sizing{AZs: rep.AZs, Config: map[string]map[string]any{}, Shards: 1, Fits: true}
	if rep.AZs < 2 {
		return nil, fmt.Errorf("one AZ: nothing survives losing it; size a stack with azCount 2 or more")
	}
	hours := p.HoursPerMonth
	best := func(t Tier, sizes []string, price func(string) (float64, error), fig map[string]string, fixed int, maxCount int) (candidate, error) {
		var found []candidate
		for _, s := range sizes {
			spec, err := m.Spec(s)
			if err != nil || spec.Baseline < 1 {
				continue // priced but not sized, or burstable: not a candidate
			}
			if !strings.HasPrefix(s, "db.") && !strings.HasPrefix(s, "cache.") && config.Arch(s) != "amd64" {
				continue // the figures were measured on x86: Graviton servers are not sized until measured there
			}
			h, err := price(s)
			if err != nil {
				return candidate{}, err
			}
			c := t
			if c.ReadShare > 0 {
				r, _ := m.Rate(fig["read"], s)
				c.ReadRate = r
			}
			if c.WriteShare > 0 {
				r, _ := m.Rate(fig["write"], s)
				c.WriteRate = r
			}
			need := c.Need(rep.Peak)
			for n := max(fixed, 1); n <= maxCount; n++ {
				surv := survivors(n, rep.AZs)
				if fixed > 0 {
					surv = t.Survivors // a fixed count (the primary, the cache's one serving node)
				}
				if float64(surv) >= need {
					found = append(found, candidate{s, n, float64(surv) / need, float64(n) * h * hours})
					break
				}
				if fixed > 0 {
					break
				}
			}
		}
		if len(found) == 0 {
			return candidate{}, fmt.Errorf("%s: no size in the tables carries the seed's peak (%.0f reads/s, %.0f writes/s) with one AZ lost within %d", t.Name, rep.Peak.Reads, rep.Peak.Writes, maxCount)
		}
		sort.Slice(found, func(i, j int) bool {
			if found[i].usd != found[j].usd {
				return found[i].usd < found[j].usd
			}
			return found[i].typ < found[j].typ
		})
		return found[0], nil
	}
	ec2 := cost.Sizes(p.EC2HourlyTable)
	rds := cost.Sizes(p.RDSHourly)
	caches := cost.Sizes(p.CacheHourly)
	cfgKey := map[string]string{"web": "web", "read-api": "readApi", "write-api": "writeApi"}
	for _, t := range rep.Tiers {
		var (
			c   candidate
			err error
		)
		switch t.Name {
		case "web":
			c, err = best(t.Tier, ec2, p.EC2Hourly, map[string]string{"read": FigureNginxProxy, "write": FigureNginxProxy}, 0, maxTierSize)
		case "read-api":
			fig := FigureAppUncached
			if strings.HasPrefix(t.Basis, FigureRedisGet) {
				fig = FigureRedisGet
			}
			c, err = best(t.Tier, ec2, p.EC2Hourly, map[string]string{"read": fig}, 0, maxTierSize)
		case "write-api":
			c, err = best(t.Tier, ec2, p.EC2Hourly, map[string]string{"write": FigureAppWrite}, 0, maxTierSize)
		case "db primary":
			c, err = best(t.Tier, rds, func(s string) (float64, error) { h, e := p.RDSHourlyPrice(s); return 2 * h, e }, // Multi-AZ
				map[string]string{"read": FigurePKSelect, "write": FigureInsert}, 1, 1)
			if err != nil {
				// Writes beyond the largest class: shards, each a primary (issue 13).
				out.Shards = int(math.Ceil(t.Need))
				out.Fits = false
				out.Tiers = append(out.Tiers, Sized{Tier: t.Name, Type: t.Type, Count: out.Shards,
					Note: fmt.Sprintf("the writes take %d primaries of %s: shards, which this stack does not deploy yet", out.Shards, t.Type)})
				continue
			}
		case "db replicas":
			c, err = best(t.Tier, rds, p.RDSHourlyPrice, map[string]string{"read": FigurePKSelect}, 0, maxReplicas)
		case "cache":
			// Reads and writes on the primary, one thread: a bigger node does not help, and
			// neither do replicas the app does not read from.
			c, err = best(t.Tier, caches, func(s string) (float64, error) { return p.CacheHourlyPrice(s, cacheEngine) }, map[string]string{"read": FigureRedisServer, "write": FigureRedisServer}, 1, 1)
			if err == nil {
				c.usd *= 2 // the serving node and its standby
			} else {
				serving := int(math.Ceil(t.Need))
				out.Fits = false
				out.Tiers = append(out.Tiers, Sized{Tier: t.Name, Type: t.Type, Count: serving,
					Note: fmt.Sprintf("the peak's GETs take %d nodes serving reads, and the app reads through the primary endpoint only here (REDIS_READ_ADDR unset: cache.replicas 0)", serving)})
				continue
			}
		case "cache primary":
			continue // sized with the replicas: one node type for the group
		case "cache replicas":
			var primary Tier
			for _, r := range rep.Tiers {
				if r.Name == "cache primary" {
					primary = r.Tier
				}
			}
			c, err = sizeCache(t.Tier, primary, rep, m, caches, func(s string) (float64, error) { return p.CacheHourlyPrice(s, cacheEngine) }, hours)
			if err != nil {
				out.Fits = false
				out.Tiers = append(out.Tiers, Sized{Tier: "cache", Type: t.Type, Count: int(math.Ceil(t.Need)),
					Note: fmt.Sprintf("the peak's GETs take %d replicas serving reads with an AZ lost, more than ElastiCache's %d per shard: cluster mode (shards), which this stack does not deploy yet", int(math.Ceil(t.Need)), maxCacheReplicas)})
				continue
			}
		default: // the box: a single server, nothing survives an AZ
			return nil, fmt.Errorf("tier %s cannot be sized for an AZ loss: size the last stage", t.Name)
		}
		if err != nil {
			return nil, err
		}
		name := t.Name
		if name == "cache replicas" {
			name = "cache" // the group: its primary and replicas
		}
		out.Tiers = append(out.Tiers, Sized{Tier: name, Type: c.typ, Count: c.count, Headroom: math.Round(c.head*100) / 100, Monthly: math.Round(c.usd), Fits: true})
		switch t.Name {
		case "web", "read-api", "write-api":
			// A scaling group's max must stay above its min (config refuses max = min from
			// users++++: a fixed size is the users+++ design).
			out.Config[cfgKey[t.Name]] = map[string]any{"instanceType": c.typ, "max": max(c.count, minTierSize, t.Min+1)}
		case "db primary":
			db := out.Config["db"]
			if db == nil {
				db = map[string]any{}
			}
			db["instanceClass"] = c.typ
			out.Config["db"] = db
		case "db replicas":
			db := out.Config["db"]
			if db == nil {
				db = map[string]any{}
			}
			db["replicas"], db["replicaInstanceClass"] = c.count, c.typ
			out.Config["db"] = db
		case "cache":
			out.Config["cache"] = map[string]any{"nodeType": c.typ, "replicas": 0}
		case "cache replicas":
			out.Config["cache"] = map[string]any{"nodeType": c.typ, "replicas": c.count - 1}
		}
	}
	return out, nil
}

// candidate is one size considered: a type, the count it takes, the survivors' share of the
// peak and the monthly cost.
type candidate struct {
	typ   string
	count int
	head  float64
	usd   float64
}

// sizeCache picks the cheapest node type and replica count (1 to 5) whose replicas left
// after an AZ loss carry the peak's GETs and whose primary carries the writes and fills.
func sizeCache(readers, primary Tier, rep *Report, m *Model, sizes []string, price func(string) (float64, error), hours float64) (candidate, error) {
	var found []candidate
	for _, s := range sizes {
		spec, err := m.Spec(s)
		if err != nil || spec.Baseline < 1 {
			continue
		}
		h, err := price(s)
		if err != nil {
			return candidate{}, err
		}
		r, _ := m.Rate(FigureRedisServer, s)
		rd, pr := readers, primary
		rd.ReadRate, pr.ReadRate, pr.WriteRate = r, r, r
		if pr.Name != "" && pr.Need(rep.Peak) > 1 {
			continue
		}
		need := rd.Need(rep.Peak)
		for replicas := 1; replicas <= maxCacheReplicas; replicas++ {
			n := replicas + 1
			if left := cacheReadersLeft(n, rep.AZs); float64(left) >= need {
				found = append(found, candidate{s, n, float64(left) / need, float64(n) * h * hours})
				break
			}
		}
	}
	if len(found) == 0 {
		return candidate{}, fmt.Errorf("cache: no node type carries the peak's reads with %d replicas", maxCacheReplicas)
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].usd != found[j].usd {
			return found[i].usd < found[j].usd
		}
		return found[i].typ < found[j].typ
	})
	return found[0], nil
}

// ConfigYAML renders the sizing's config as lines of a Pulumi.<stack>.yaml (objects as
// JSON, which YAML reads; merge them into the stack file's own objects).
func (s *Sizing) ConfigYAML(project string) string {
	var keys []string
	for k := range s.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("config:\n")
	for _, k := range keys {
		v, _ := json.Marshal(s.Config[k])
		fmt.Fprintf(&b, "  %s:%s: '%s'\n", project, k, v)
	}
	return b.String()
}
