package capacity

import (
	"fmt"
	"strings"
)

// Markdown renders a stage's capacity as a stage page's section: each tier's instances,
// what one carries, what the seed's peak asks of it with one AZ lost, and the verdict.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "The %s stack's tiers at the seed's peak (%s reads/s and %s writes/s: 3x the average) with one of its %d AZs lost, from the per-server throughput measured on 2 shared cores (`internal/capacity`, [../benchmarks.md](../benchmarks.md)) scaled to each type's vCPUs and sustained baseline: an estimate to replace with a load test on AWS.\n\n",
		r.Stack, thousands(r.Peak.Reads), thousands(r.Peak.Writes), r.AZs)
	b.WriteString("| tier | instances (most) | one carries (req/s) | at the average (req/s) | peak needs | left with an AZ lost | headroom | basis |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Tiers {
		var carries []string
		if t.ReadShare > 0 {
			carries = append(carries, thousands(t.ReadRate)+" reads")
		}
		if t.WriteShare > 0 && t.WriteRate != t.ReadRate {
			carries = append(carries, thousands(t.WriteRate)+" writes")
		}
		head := fmt.Sprintf("%.2f", t.Headroom)
		if t.Headroom < 1 {
			head = "**" + head + "**"
		}
		fmt.Fprintf(&b, "| %s | %d x %s | %s | %s | %.1f | %d | %s | %s |\n",
			t.Name, t.Count, t.Type, strings.Join(carries, ", "), thousands(t.Average), t.Need, t.Survivors, head, t.Basis)
	}
	verdict := "does not fit"
	if r.Fits {
		verdict = "fits"
	}
	fmt.Fprintf(&b, "\nBottleneck: **%s**. The seed's peak with one AZ lost %s.\n", r.Bottleneck, verdict)
	return b.String()
}

// Markdown renders the sizing: the sizes and counts that carry the seed's peak with one AZ
// lost, their cost at that count, and the config that deploys them.
func (s *Sizing) Markdown(project string) string {
	var b strings.Builder
	b.WriteString("| tier | carries the peak with an AZ lost | headroom | USD a month at that count |\n|---|---|---:|---:|\n")
	total := 0.0
	var notes []string
	for _, t := range s.Tiers {
		if !t.Fits {
			fmt.Fprintf(&b, "| %s | %d x %s serving: not deployable (below) | | |\n", t.Tier, t.Count, t.Type)
			notes = append(notes, fmt.Sprintf("- **%s**: %s.", t.Tier, t.Note))
			continue
		}
		fmt.Fprintf(&b, "| %s | %d x %s | %.2f | %s |\n", t.Tier, t.Count, t.Type, t.Headroom, thousands(t.Monthly))
		total += t.Monthly
	}
	fmt.Fprintf(&b, "| **the sized tiers** | | | **%s** |\n\n", thousands(total))
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	if s.Shards == 1 {
		b.WriteString("Writes fit on one primary: no write shards at the seed's write rate. ")
	}
	fmt.Fprintf(&b, "The config that deploys the sized tiers (merge into `Pulumi.prod.yaml`; the groups scale up to `max` at the peak):\n\n```yaml\n%s```\n", s.ConfigYAML(project))
	return b.String()
}

// thousands formats a number with thousands separators, no decimals.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
