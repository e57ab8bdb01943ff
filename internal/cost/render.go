package cost

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText writes the report as the offline preview prints it: every line with its
// component, the totals, then the traffic lines, then the assumptions.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMonthly cost of %s at %s, USD (%s on-demand list prices of %s; internal/cost/prices.json)\n", r.Stack, r.Stage, r.Region, r.Date)
	row := func(a, c, comp, item string) { fmt.Fprintf(&b, "  %10s %10s  %-13s %s\n", a, c, comp, item) }
	row("DEPLOYED", "AT MAX", "COMPONENT", "ITEM")
	for _, l := range r.Lines {
		if !l.Traffic {
			at := ""
			if l.AtMax > l.Monthly+0.005 {
				at = usd(l.AtMax)
			}
			row(usd(l.Monthly), at, l.Component, l.Item)
		}
	}
	row(usd(r.Fixed), usd(r.FixedAtMax), "total", "deployed, before traffic")
	if r.Traffic > 0 {
		fmt.Fprintf(&b, "\nAt the load: %.0f billion reads and %.1f billion writes a month, %.0f bytes each\n", r.Load.ReadsPerMonth/1e9, r.Load.WritesPerMonth/1e9, r.Load.ResponseBytes)
		row("USD", "", "COMPONENT", "ITEM")
		for _, l := range r.Lines {
			if l.Traffic {
				row(usd(l.Monthly), "", l.Component, l.Item)
			}
		}
		row(usd(r.Traffic), "", "total", "the load")
		row(usd(r.Total), "", "total", "deployed + the load")
	}
	b.WriteString("\nAssumptions:\n")
	seen := map[string]bool{}
	for _, l := range r.Lines {
		if l.Assumption != "" && !seen[l.Assumption] {
			seen[l.Assumption] = true
			fmt.Fprintf(&b, "  - %s: %s\n", l.Item, l.Assumption)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown renders the dev and prod reports of one stage as a stage page's cost section:
// the deployed cost by component side by side, then prod at the seed's load line by line.
func Markdown(dev, prod *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Computed from the recorded graph by `internal/cost` (%s on-demand list prices of %s,\n", prod.Region, prod.Date)
	b.WriteString("`internal/cost/prices.json`; `go run ./cmd/preview -stack prod -cost` prints every line). USD a month.\n\n")
	b.WriteString("| component | dev | prod |\n|---|---:|---:|\n")
	dc, pc := byComponent(dev), byComponent(prod)
	names := map[string]bool{}
	for n := range dc {
		names[n] = true
	}
	for n := range pc {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	cell := func(m map[string][2]float64, n string) string {
		v, ok := m[n]
		switch {
		case !ok:
			return "—"
		case v[1] > v[0]+0.005:
			return fmt.Sprintf("%s (up to %s)", usd(v[0]), usd(v[1]))
		}
		return usd(v[0])
	}
	for _, n := range sorted {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", n, cell(dc, n), cell(pc, n))
	}
	total := func(r *Report) string {
		if r.FixedAtMax > r.Fixed+0.005 {
			return fmt.Sprintf("**%s** (up to %s)", usd(r.Fixed), usd(r.FixedAtMax))
		}
		return "**" + usd(r.Fixed) + "**"
	}
	fmt.Fprintf(&b, "| **deployed, before traffic** | %s | %s |\n", total(dev), total(prod))
	if prod.Traffic == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "\nProd at the seed's load (%.0f billion reads and %.0f billion writes a month, 1 KB each), whether or not this stage carries it (see the capacity below):\n\n",
		prod.Load.ReadsPerMonth/1e9, prod.Load.WritesPerMonth/1e9)
	b.WriteString("| item | USD | assumption |\n|---|---:|---|\n")
	for _, l := range prod.Lines {
		if l.Traffic {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", l.Item, usd(l.Monthly), l.Assumption)
		}
	}
	fmt.Fprintf(&b, "| **the load** | **%s** | |\n| **deployed + the load** | **%s** | |\n", usd(prod.Traffic), usd(prod.Total))
	return b.String()
}

// byComponent sums the fixed lines by component: [deployed, at max].
func byComponent(r *Report) map[string][2]float64 {
	out := map[string][2]float64{}
	for _, l := range r.Lines {
		if l.Traffic {
			continue
		}
		v := out[l.Component]
		v[0] += l.Monthly
		if l.AtMax > 0 {
			v[1] += l.AtMax
		} else {
			v[1] += l.Monthly
		}
		out[l.Component] = v
	}
	return out
}

// FormatUSD formats dollars as the reports do: cents below 100, whole dollars with
// thousands separators above.
func FormatUSD(f float64) string { return usd(f) }

// usd formats dollars: cents below 100, whole dollars with thousands separators above.
func usd(f float64) string {
	if f < 100 {
		return fmt.Sprintf("%.2f", f)
	}
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
