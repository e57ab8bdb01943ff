package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// pricesJSON is the committed price table: region, date and source are written in it, and
// every figure has the pricing page it comes from.
//
//go:embed prices.json
var pricesJSON []byte

// Rate is one price and the page it comes from.
type Rate struct {
	USD    float64 `json:"usd"`
	Source string  `json:"source"`
}

// Step is one step of a tiered price: USD per GB up to UpToGb cumulative GB in the month
// (0: no upper bound, the last step).
type Step struct {
	UpToGB float64 `json:"upToGb"`
	USD    float64 `json:"usd"`
}

// Tiered is a price that falls with volume, such as data transfer out.
type Tiered struct {
	Source string `json:"source"`
	Steps  []Step `json:"steps"`
}

// Cost returns the price of gb GB in one month, through the steps.
func (t Tiered) Cost(gb float64) float64 {
	total, below := 0.0, 0.0
	for _, s := range t.Steps {
		top := s.UpToGB
		if top == 0 || gb <= top {
			return total + (gb-below)*s.USD
		}
		total += (top - below) * s.USD
		below = top
	}
	return total
}

// Prices is the price table (internal/cost/prices.json).
type Prices struct {
	// Region, Currency, Date and Source say what the figures are and where they come from.
	Region   string `json:"region"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
	Source   string `json:"source"`
	// HoursPerMonth is AWS's billing month (730 hours: 24 x 365 / 12).
	HoursPerMonth float64 `json:"hoursPerMonth"`
	// EC2Hourly, RDSHourly and CacheHourly are on-demand hourly prices by instance type,
	// instance class and node type ("_source" names the page).
	EC2HourlyTable map[string]any    `json:"ec2Hourly"`
	RDSHourly      map[string]any    `json:"rdsHourly"`
	CacheHourly    map[string]any    `json:"cacheHourly"`
	Rates          map[string]Rate   `json:"rates"`
	Tiers          map[string]Tiered `json:"tiers"`
	// Types says, for every resource type the program may register, "priced" (an
	// estimator in this package prices it) or "free: why".
	Types map[string]string `json:"types"`
}

// Table returns the committed price table, checked: every rate positive, every tier ending
// with an unbounded step, every type priced or free with a reason.
func Table() (*Prices, error) {
	var p Prices
	dec := json.NewDecoder(strings.NewReader(string(pricesJSON)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("internal/cost/prices.json: %w", err)
	}
	var problems []string
	if p.Region == "" || p.Date == "" || p.Source == "" || p.HoursPerMonth <= 0 {
		problems = append(problems, "region, date, source and hoursPerMonth are required")
	}
	for _, table := range []map[string]any{p.EC2HourlyTable, p.RDSHourly, p.CacheHourly} {
		for k, v := range table {
			if f, ok := v.(float64); k != "_source" && (!ok || f <= 0) {
				problems = append(problems, fmt.Sprintf("%s: want a positive hourly price, got %v", k, v))
			}
		}
	}
	for k, r := range p.Rates {
		if r.USD <= 0 || r.Source == "" {
			problems = append(problems, fmt.Sprintf("rate %s: want a positive usd and a source", k))
		}
	}
	for k, t := range p.Tiers {
		if len(t.Steps) == 0 || t.Steps[len(t.Steps)-1].UpToGB != 0 || t.Source == "" {
			problems = append(problems, fmt.Sprintf("tier %s: want steps ending with upToGb 0 (unbounded) and a source", k))
		}
	}
	for k, v := range p.Types {
		if v != "priced" && !strings.HasPrefix(v, "free: ") {
			problems = append(problems, fmt.Sprintf("type %s: want \"priced\" or \"free: why\", got %q", k, v))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("internal/cost/prices.json: %s", strings.Join(problems, "; "))
	}
	return &p, nil
}

// valkeyDiscount: ElastiCache prices Valkey nodes 20% below Redis OSS nodes.
const valkeyDiscount = 0.8

// hourly looks a size up in one of the hourly tables.
func hourly(table map[string]any, what, size string) (float64, error) {
	if f, ok := table[size].(float64); ok {
		return f, nil
	}
	return 0, fmt.Errorf("the price table has no hourly price for %s %q: add it to internal/cost/prices.json from %v", what, size, table["_source"])
}

// rate returns a named rate; a missing one is a bug in this package (the tests price every
// stage), so it panics with the name.
func (p *Prices) rate(name string) float64 {
	r, ok := p.Rates[name]
	if !ok {
		panic("internal/cost: prices.json has no rate " + name)
	}
	return r.USD
}

// tier returns a named tiered price (panics like rate).
func (p *Prices) tier(name string) Tiered {
	t, ok := p.Tiers[name]
	if !ok {
		panic("internal/cost: prices.json has no tier " + name)
	}
	return t
}

// EC2Hourly returns an EC2 instance type's on-demand price per hour.
func (p *Prices) EC2Hourly(instanceType string) (float64, error) {
	return hourly(p.EC2HourlyTable, "EC2 instance type", instanceType)
}

// RDSHourlyPrice returns an RDS instance class's Single-AZ price per hour.
func (p *Prices) RDSHourlyPrice(class string) (float64, error) {
	return hourly(p.RDSHourly, "RDS instance class", class)
}

// CacheHourlyPrice returns an ElastiCache node type's price per hour for an engine (Valkey
// at 80% of the Redis OSS list price).
func (p *Prices) CacheHourlyPrice(node, engine string) (float64, error) {
	h, err := hourly(p.CacheHourly, "ElastiCache node type", node)
	if engine == "valkey" {
		h *= valkeyDiscount
	}
	return h, err
}

// Sizes returns the sizes a table prices (instance types, classes or node types), sorted.
func Sizes(table map[string]any) []string {
	var out []string
	for k := range table {
		if k != "_source" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
