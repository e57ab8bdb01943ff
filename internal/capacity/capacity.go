// Package capacity says how much load each tier of a stack carries, which tier gives out
// first, and whether the seed's load fits, from the recorded resource graph (what runs: the
// groups' instance types and sizes, the database's classes and replicas, the cache's nodes,
// the AZs) and the per-server throughput this repository's benchmarks measured
// (measured.json, kept equal to docs/benchmarks.md by a test).
//
// How a figure from the measuring machine becomes an instance's (an assumption, to be
// replaced by a load test in AWS):
//
//	rate(instance) = measured req/s / the machine's cores x the instance's vCPUs x its baseline
//
// The measured figure is per core of a machine where the load generator, the server and its
// MariaDB and Redis shared the cores, so a core there did less than a dedicated vCPU would:
// the model errs low. "baseline" is the share of each vCPU a burstable type (t3, t4g)
// sustains without spending CPU credits (20% for a t3.small): a burstable server carries
// more for a while, then falls back to it. Redis runs commands on one thread, so a cache
// node's rate is Redis's measured single-server rate times min(1, vCPUs x baseline).
//
// The seed's load: 40,000 reads/s and 400 writes/s on average, peaks of 3x, and the check is
// made at the peak with one AZ lost (the AZ holding the most of each tier's instances).
package capacity

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

//go:embed measured.json
var measuredJSON []byte

// Figure is one measured throughput and where it was measured.
type Figure struct {
	RPS float64 `json:"rps"`
	// P50Ms is the median latency of the run, where the model uses it (a request's time
	// at load, for the day-of-traffic simulation's latency and in-flight triggers).
	P50Ms  float64 `json:"p50Ms,omitempty"`
	Source string  `json:"source"`
}

// Spec is an instance type's size: vCPUs and the sustained share of each (1 unless burstable).
type Spec struct {
	VCPUs    float64 `json:"vcpus"`
	Baseline float64 `json:"baseline"`
}

// Model is the measured figures and the instance sizes.
type Model struct {
	Doc       string            `json:"_doc"`
	Cores     float64           `json:"cores"`
	Figures   map[string]Figure `json:"figures"`
	Instances map[string]any    `json:"instances"`
}

// Load returns the committed model (measured.json).
func Load() (*Model, error) {
	var m Model
	dec := json.NewDecoder(strings.NewReader(string(measuredJSON)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("internal/capacity/measured.json: %w", err)
	}
	if m.Cores <= 0 {
		return nil, fmt.Errorf("internal/capacity/measured.json: cores must be positive")
	}
	for _, f := range Figures {
		if m.Figures[f].RPS <= 0 {
			return nil, fmt.Errorf("internal/capacity/measured.json: figure %s must be a positive rps", f)
		}
	}
	return &m, nil
}

// The figures the model uses (measured.json's keys).
const (
	FigureNginxProxy  = "nginx_proxy"
	FigureAppUncached = "app_uncached"
	FigureRedisGet    = "redis_get"
	FigureAppWrite    = "app_write"
	FigurePKSelect    = "pk_select"
	FigureInsert      = "insert"
	FigureRedisServer = "redis_server"
)

// Figures lists every figure the model needs.
var Figures = []string{FigureNginxProxy, FigureAppUncached, FigureRedisGet, FigureAppWrite, FigurePKSelect, FigureInsert, FigureRedisServer}

// Spec returns an instance type's size.
func (m *Model) Spec(instanceType string) (Spec, error) {
	raw, ok := m.Instances[instanceType].(map[string]any)
	if !ok {
		return Spec{}, fmt.Errorf("internal/capacity/measured.json has no size for %q: add its vCPUs and baseline (%v)", instanceType, m.Instances["_source"])
	}
	s := Spec{}
	s.VCPUs, _ = raw["vcpus"].(float64)
	s.Baseline, _ = raw["baseline"].(float64)
	if s.VCPUs <= 0 || s.Baseline <= 0 || s.Baseline > 1 {
		return Spec{}, fmt.Errorf("internal/capacity/measured.json: %s wants vcpus > 0 and 0 < baseline <= 1", instanceType)
	}
	return s, nil
}

// Rate is the requests per second one instance of a type carries, from a figure.
func (m *Model) Rate(figure, instanceType string) (float64, error) {
	s, err := m.Spec(instanceType)
	if err != nil {
		return 0, err
	}
	f := m.Figures[figure].RPS
	if figure == FigureRedisServer {
		return f * math.Min(1, s.VCPUs*s.Baseline), nil
	}
	return f / m.Cores * s.VCPUs * s.Baseline, nil
}

// FullRate is the requests per second one instance of a type carries at 100% of every
// vCPU: Rate without the burstable baseline (what a burstable type does while it has CPU
// credits; the same as Rate for the others and for Redis).
func (m *Model) FullRate(figure, instanceType string) (float64, error) {
	s, err := m.Spec(instanceType)
	if err != nil {
		return 0, err
	}
	if figure == FigureRedisServer {
		return m.Figures[figure].RPS * math.Min(1, s.VCPUs), nil
	}
	return m.Figures[figure].RPS / m.Cores * s.VCPUs, nil
}

// Demand is a load in requests per second.
type Demand struct {
	Reads  float64 `json:"readsPerSecond"`
	Writes float64 `json:"writesPerSecond"`
}

// The seed's load (../shared/MISSION.md) and the model's one assumption about the cache.
var (
	// SeedAverage: about 40,000 reads/s and 400 writes/s on average.
	SeedAverage = Demand{Reads: 40000, Writes: 400}
	// PeakFactor: the seed's peaks, 3x the average.
	PeakFactor = 3.0
)

// CacheHitRatio is the share of reads the cache answers (not measured: the seed's "hot
// content"; replace it with the CacheHitRate metric of a deployed stack). The rest reach
// the replicas.
const CacheHitRatio = 0.9

// Tier is one tier of servers (or database instances, or cache nodes) and what it serves.
type Tier struct {
	// Name is the tier ("web", "read-api", "db primary", ...).
	Name string `json:"name"`
	// Type is the instance type, class or node type; Count how many run at the most (a
	// group's max; fixed sizes otherwise); Survivors how many are left with one AZ lost.
	Type      string `json:"type"`
	Count     int    `json:"count"`
	Survivors int    `json:"survivors"`
	// Min is a group's minSize (0 for the others).
	Min int `json:"min,omitempty"`
	// ReadRate and WriteRate are what one instance carries (req/s) of the reads and writes
	// it serves; ReadShare and WriteShare the shares of the load's reads and writes it gets.
	ReadRate   float64 `json:"readRate"`
	WriteRate  float64 `json:"writeRate"`
	ReadShare  float64 `json:"readShare"`
	WriteShare float64 `json:"writeShare"`
	// Basis names the figures and assumptions behind the rates.
	Basis string `json:"basis"`
}

// Need is the instances the tier needs for a load (fractional: 1.5 is one and a half).
func (t Tier) Need(d Demand) float64 {
	n := 0.0
	if t.ReadShare > 0 {
		n += d.Reads * t.ReadShare / t.ReadRate
	}
	if t.WriteShare > 0 {
		n += d.Writes * t.WriteShare / t.WriteRate
	}
	return n
}

// Result is one tier's verdict at the seed's peak with one AZ lost.
type Result struct {
	Tier
	// Need is the instances the peak takes; Headroom is Survivors / Need (>= 1 fits).
	Need     float64 `json:"need"`
	Headroom float64 `json:"headroom"`
	// Average is the requests/s reaching the tier at the seed's average.
	Average float64 `json:"averageRps"`
}

// Report is a stage's capacity.
type Report struct {
	Stack string `json:"stack"`
	Stage string `json:"stage"`
	AZs   int    `json:"azs"`
	// Tiers are in request order; Bottleneck is the tier with the least headroom.
	Tiers      []Result `json:"tiers"`
	Bottleneck string   `json:"bottleneck"`
	// Fits is whether every tier carries the seed's peak with one AZ lost.
	Fits bool `json:"fits"`
	// Peak is the load checked.
	Peak Demand `json:"peak"`
}

// Analyze reads the stage's tiers from g and checks them against the seed's peak.
func Analyze(g *graph.Graph, m *Model) (*Report, error) {
	tiers, azs, err := tiersOf(g, m)
	if err != nil {
		return nil, err
	}
	stage, _ := g.Outputs["stage"].(string)
	peak := Demand{Reads: SeedAverage.Reads * PeakFactor, Writes: SeedAverage.Writes * PeakFactor}
	rep := &Report{Stack: g.Stack, Stage: stage, AZs: azs, Peak: peak, Fits: true}
	least := math.Inf(1)
	for _, t := range tiers {
		need := t.Need(peak)
		r := Result{Tier: t, Need: need, Headroom: float64(t.Survivors) / need,
			Average: SeedAverage.Reads*t.ReadShare + SeedAverage.Writes*t.WriteShare}
		if r.Headroom < 1 {
			rep.Fits = false
		}
		if r.Headroom < least {
			least, rep.Bottleneck = r.Headroom, t.Name
		}
		rep.Tiers = append(rep.Tiers, r)
	}
	return rep, nil
}

// survivors is what is left of instances spread round-robin over azs AZs when the AZ with
// the most of them is lost.
func survivors(n, azs int) int {
	if azs <= 1 {
		return 0
	}
	return n - int(math.Ceil(float64(n)/float64(azs)))
}

// tiersOf reads the tiers from the graph.
func tiersOf(g *graph.Graph, m *Model) ([]Tier, int, error) {
	azs := len(g.AvailabilityZones())
	var tiers []Tier
	var errs []string
	// check records a type measured.json has no size for; the tiers built anyway are
	// dropped with the error at the end.
	check := func(typ string) bool {
		if _, err := m.Spec(typ); err != nil {
			errs = append(errs, err.Error())
			return false
		}
		return true
	}
	rate := func(fig, typ string) float64 {
		r, _ := m.Rate(fig, typ) // typ passed check
		return r
	}
	caches := g.ByType("aws:elasticache/replicationGroup:ReplicationGroup")
	// The content's databases: "db" and, from users+++++, its shards "db-shard-<i>" (each a
	// primary taking its share of the writes, with its replicas). The identity database
	// (users and sessions, federated) is off the request path measured here.
	var primary *graph.Resource
	var replicas []*graph.Resource
	shards := 0
	for _, r := range g.ByType("aws:rds/instance:Instance") {
		if !contentDB.MatchString(r.Name) {
			continue
		}
		if r.String("replicateSourceDb") != "" {
			replicas = append(replicas, r)
		} else {
			shards++
			if primary == nil || r.Name == "db" {
				primary = r
			}
		}
	}

	// The single box (single-box, users+): nginx, the app and, until users+, MySQL.
	for _, box := range g.ByType("aws:ec2/instance:Instance") {
		t := box.String("instanceType")
		if !check(t) {
			continue
		}
		basis := "app_uncached and app_write (measured with MariaDB on the same cores, as on the box)"
		tiers = append(tiers, Tier{Name: "box", Type: t, Count: 1, Survivors: 0,
			ReadRate: rate(FigureAppUncached, t), WriteRate: rate(FigureAppWrite, t), ReadShare: 1, WriteShare: 1, Basis: basis})
	}

	// The server groups, in request order.
	groups := map[string]*graph.Resource{}
	for _, r := range g.ByType("aws:autoscaling/group:Group") {
		groups[r.Name] = r
	}
	for _, name := range []string{"web", "read-api", "write-api"} {
		grp := groups[name]
		if grp == nil {
			continue
		}
		lt := g.Sibling(grp, "aws:ec2/launchTemplate:LaunchTemplate")
		if lt == nil {
			return nil, 0, fmt.Errorf("group %s has no launch template beside it", name)
		}
		t := lt.String("instanceType")
		if !check(t) {
			continue
		}
		n, _ := grp.Number("maxSize")
		lo, _ := grp.Number("minSize")
		tier := Tier{Name: name, Type: t, Count: int(n), Survivors: survivors(int(n), azs), Min: int(lo)}
		switch name {
		case "web":
			tier.ReadRate, tier.WriteRate = rate(FigureNginxProxy, t), rate(FigureNginxProxy, t)
			tier.ReadShare, tier.WriteShare = 1, 1
			tier.Basis = "nginx_proxy: nginx as configured, a new upstream connection per request"
		case "read-api":
			tier.ReadShare = 1
			if len(caches) > 0 {
				tier.ReadRate = rate(FigureRedisGet, t)
				tier.Basis = "redis_get: a read that misses the 1 s in-process layer costs an HTTP answer and a Redis GET (hot posts cost less: app_cached, not counted)"
			} else {
				tier.ReadRate = rate(FigureAppUncached, t)
				tier.Basis = "app_uncached: every read a SELECT"
			}
		case "write-api":
			tier.WriteRate, tier.WriteShare = rate(FigureAppWrite, t), 1
			tier.Basis = "app_write: POST with a 1 KB body"
		}
		tiers = append(tiers, tier)
	}

	if primary != nil {
		class := primary.String("instanceClass")
		if check(class) {
			t := Tier{Name: "db primary", Type: class, Count: shards, Survivors: 0, WriteRate: rate(FigureInsert, class), WriteShare: 1,
				Basis: "insert: one 1 KB INSERT a write"}
			if shards > 1 {
				t.Basis += fmt.Sprintf("; %d shards, each primary taking its users' share", shards)
			}
			if primary.Bool("multiAz") {
				t.Survivors, t.Basis = shards, t.Basis+"; Multi-AZ: the standby takes over"
			}
			if len(replicas) == 0 {
				t.ReadRate, t.ReadShare = rate(FigurePKSelect, class), 1
				t.Basis += "; pk_select: every read a SELECT on the primary"
				if len(caches) > 0 {
					t.ReadShare = 1 - CacheHitRatio
					t.Basis += fmt.Sprintf(" (%.0f%% of them: the cache misses)", 100*(1-CacheHitRatio))
				}
			}
			tiers = append(tiers, t)
		}
	}
	if len(replicas) > 0 {
		class := replicas[0].String("instanceClass")
		if check(class) {
			perAZ := map[string]int{}
			most := 0
			for _, r := range replicas {
				az := r.String("availabilityZone")
				perAZ[az]++
				most = max(most, perAZ[az])
			}
			share := 1.0
			basis := "pk_select: a read a SELECT"
			if len(caches) > 0 {
				share = 1 - CacheHitRatio
				basis = fmt.Sprintf("pk_select, for the %.0f%% of reads the cache misses (assumed)", 100*(1-CacheHitRatio))
			}
			tiers = append(tiers, Tier{Name: "db replicas", Type: class, Count: len(replicas), Survivors: len(replicas) - most,
				ReadRate: rate(FigurePKSelect, class), ReadShare: share, Basis: basis})
		}
	}
	readsFromReplicas := readerInUse(g)
	for _, c := range caches {
		node := c.String("nodeType")
		if !check(node) {
			continue
		}
		n, _ := c.Number("numCacheClusters")
		surv := 0
		if c.Bool("automaticFailoverEnabled") && n > 1 {
			surv = 1
		}
		nodeRate := rate(FigureRedisServer, node)
		if readsFromReplicas && n > 1 {
			// The read API's GETs go to the reader endpoint (the replicas); the primary takes
			// the writes' invalidations and fences and the fills after a miss.
			tiers = append(tiers,
				Tier{Name: "cache primary", Type: node, Count: 1, Survivors: surv,
					ReadRate: nodeRate, WriteRate: nodeRate, ReadShare: 1 - CacheHitRatio, WriteShare: 1,
					Basis: fmt.Sprintf("redis_server: the writes and the fills after a miss (%.0f%% of reads); a replica takes over", 100*(1-CacheHitRatio))},
				Tier{Name: "cache replicas", Type: node, Count: int(n) - 1, Survivors: cacheReadersLeft(int(n), azs),
					ReadRate: nodeRate, ReadShare: 1,
					Basis: "redis_server: every read's GET, through the reader endpoint; with an AZ lost, one of the nodes left is the primary"})
			continue
		}
		// Reads and writes go to the primary node; the others are standbys for failover.
		tiers = append(tiers, Tier{Name: "cache", Type: node, Count: 1, Survivors: surv,
			ReadRate: nodeRate, WriteRate: nodeRate, ReadShare: 1, WriteShare: 1,
			Basis: fmt.Sprintf("redis_server: Redis's own GET rate, one thread; the primary node serves, %g standby", n-1)})
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, 0, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	if len(tiers) == 0 {
		return nil, 0, fmt.Errorf("the graph has no server, database or cache to size")
	}
	return tiers, azs, nil
}

// cacheReadersLeft is how many of a replication group's n nodes, spread over azs AZs, serve
// reads with the AZ holding the most of them lost: one of those left is (or becomes) the
// contentDB names the content's database instances: db, its shards and their replicas.
var contentDB = regexp.MustCompile(`^db(-shard-[0-9]+)?(-replica-[0-9]+)?$`)

// primary, which the reader endpoint does not include while a replica is left; when only
// the primary is left, the reader endpoint resolves to it, and it serves the reads too.
func cacheReadersLeft(n, azs int) int {
	left := n - int(math.Ceil(float64(n)/float64(azs)))
	if left >= 2 {
		return left - 1
	}
	return max(0, left)
}

// readerInUse reports whether the read API's boot script gives the app the cache's reader
// endpoint (REDIS_READ_ADDR, stages/users_plus_3.go).
func readerInUse(g *graph.Graph) bool {
	lt := g.ByName("aws:ec2/launchTemplate:LaunchTemplate", "read-api")
	if lt == nil {
		return false
	}
	return strings.Contains(lt.Script("userData"), "REDIS_READ_ADDR=")
}
