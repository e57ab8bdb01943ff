package daysim

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Triggers describes a group's scaling in a few words: each policy's metric and target,
// and the schedule's sizes.
func (g Group) Triggers() string {
	var parts []string
	for _, p := range g.Policies {
		switch p.Metric {
		case MetricCPU:
			parts = append(parts, fmt.Sprintf("CPU %s %%", num(p.Target)))
		case MetricRequests:
			parts = append(parts, fmt.Sprintf("%s req/min per server", num(p.Target)))
		case MetricNetworkOut:
			parts = append(parts, fmt.Sprintf("network out %s Mbit/s", num(p.Target*8/60/1e6)))
		case MetricInflight:
			parts = append(parts, fmt.Sprintf("%s in flight", num(p.Target)))
		case MetricLatencyP99, MetricLatencyMean:
			stat := "p99"
			if p.Metric == MetricLatencyMean {
				stat = "mean"
			}
			parts = append(parts, fmt.Sprintf("%s above %s ms: step", stat, num(p.Threshold*1000)))
		}
	}
	for _, a := range g.Schedules {
		if a.MinSize >= 0 {
			parts = append(parts, fmt.Sprintf("min %d at `%s`", a.MinSize, a.Recurrence))
		}
	}
	return strings.Join(parts, ", ")
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Markdown renders the day as a table for a stage page: one row per tier and a total.
func (r *Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "A day of traffic (%s, %s) against the recorded scaling:\n\n", r.Start.Format("Monday 2 January 2006"), r.Start.Location())
	b.WriteString("| tier | min–max | triggers | peak load (req/s) | instances (fewest–most) | instance-hours | cost (USD/day) | fixed at peak (USD/day) | saved | minutes over capacity |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range r.Tiers {
		fewest := t.Minutes[0].Running
		for _, m := range t.Minutes {
			fewest = min(fewest, m.Running)
		}
		fmt.Fprintf(&b, "| %s | %d–%d | %s | %.0f | %d–%d | %.1f | %.2f | %.2f | %s | %d |\n",
			t.Tier.Name, t.Group.MinSize, t.Group.MaxSize, t.Group.Triggers(), t.PeakLoad, fewest, t.PeakInstances,
			t.InstanceHours, t.CostUSD, t.FixedPeakCostUSD, saved(t.CostUSD, t.FixedPeakCostUSD), t.OverCapacityMinutes)
	}
	fmt.Fprintf(&b, "| total | | | | | %.1f | %.2f | %.2f | %s | %d |\n", r.InstanceHours, r.CostUSD, r.FixedPeakCostUSD, saved(r.CostUSD, r.FixedPeakCostUSD), r.OverCapacityMinutes)
	return b.String()
}

func saved(cost, fixed float64) string {
	if fixed <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", (1-cost/fixed)*100)
}

// Chart size: a page-wide figure.
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 8 * vg.Inch
)

// SVG draws the day in three panels against the hours of the day's local time: each
// tier's load (requests per second), its running instances, and its load over the
// capacity in service (above 100 % the tier is over capacity; clipped at 400 %). The same result gives the
// same bytes (fonts are named, not embedded; nothing depends on the clock or map order).
func SVG(r *Result) ([]byte, error) {
	if r == nil || len(r.Tiers) == 0 {
		return nil, fmt.Errorf("daysim: no result to draw: run a day first")
	}
	c := vgsvg.New(chartWidth, chartHeight)
	if err := render(r, c); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("daysim: chart: %w", err)
	}
	return buf.Bytes(), nil
}

// utilisationCeiling clips the utilisation panel (a tier far over capacity, or with no
// instance in service, would flatten the others).
const utilisationCeiling = 400.0

// legendHeadroom raises each panel's top so the legend (top left) does not cover lines.
const legendHeadroom = 1.35

// render draws the chart on c: load, instances running and utilisation, one panel each.
func render(r *Result, c vg.CanvasSizer) error {
	load, inst, util := plot.New(), plot.New(), plot.New()
	load.Title.Text = fmt.Sprintf("A day of traffic against the autoscaling (%s, %s)", r.Start.Format("Mon 2 Jan 2006"), r.Start.Location())
	load.Y.Label.Text = "load (requests/s)"
	inst.Y.Label.Text = "instances running"
	util.Y.Label.Text = "load / capacity in service (%)"
	util.X.Label.Text = "local time"
	var peakLoad, peakUtil float64
	peakInst := 0
	for i, t := range r.Tiers {
		lxy := make(plotter.XYs, Minutes+1)
		ixy := make(plotter.XYs, Minutes+1)
		uxy := make(plotter.XYs, Minutes+1)
		for k, m := range t.Minutes {
			u := math.Min(m.Utilisation*100, utilisationCeiling)
			lxy[k] = plotter.XY{X: float64(k), Y: m.Load}
			ixy[k] = plotter.XY{X: float64(k), Y: float64(m.Running)}
			uxy[k] = plotter.XY{X: float64(k), Y: u}
			peakInst = max(peakInst, m.Running)
			peakLoad = math.Max(peakLoad, m.Load)
			peakUtil = math.Max(peakUtil, u)
		}
		// Each minute is drawn as a step to the next; the last one ends at 24:00.
		lxy[Minutes], ixy[Minutes], uxy[Minutes] = lxy[Minutes-1], ixy[Minutes-1], uxy[Minutes-1]
		lxy[Minutes].X, ixy[Minutes].X, uxy[Minutes].X = Minutes, Minutes, Minutes
		for _, panel := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{load, lxy}, {inst, ixy}, {util, uxy}} {
			l, err := plotter.NewLine(panel.xys)
			if err != nil {
				return fmt.Errorf("daysim: chart: %w", err)
			}
			l.StepStyle = plotter.PostStep
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.2)
			panel.p.Add(l)
			panel.p.Legend.Add(t.Tier.Name, l)
		}
	}
	full, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 100}, {X: Minutes, Y: 100}})
	if err != nil {
		return fmt.Errorf("daysim: chart: %w", err)
	}
	full.Color = color.Gray{Y: 96}
	full.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	util.Add(full)
	util.Legend.Add("100 %: over capacity above", full)

	hours := hourTicks(r)
	for _, p := range []*plot.Plot{load, inst, util} {
		p.X.Min, p.X.Max = 0, Minutes
		p.X.Tick.Marker = hours
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		p.Legend.TextStyle.Font.Size = vg.Points(9)
	}
	whole := plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ts := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
			}
		}
		return ts
	})
	load.Y.Tick.Marker, util.Y.Tick.Marker = whole, whole
	load.Y.Max = math.Max(peakLoad, 1) * legendHeadroom
	inst.Y.Max = math.Ceil(float64(max(peakInst, 1)) * legendHeadroom)
	util.Y.Max = math.Max(peakUtil, 100) * legendHeadroom
	inst.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		step := math.Max(1, math.Ceil((hi-lo)/8))
		var ts []plot.Tick
		for v := 0.0; v <= hi; v += step {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
		}
		return ts
	})
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{load}, {inst}, {util}}
	canvases := plot.Align(plots, tiles, draw.New(c))
	for k, p := range plots {
		p[0].Draw(canvases[k][0])
	}
	return nil
}

// hourTicks labels every third hour of the day in its local time, with a minor tick each
// hour.
func hourTicks(r *Result) plot.Ticker {
	var ts plot.ConstantTicks
	for h := 0; h <= 24; h++ {
		t := plot.Tick{Value: float64(h * 60)}
		if h%3 == 0 {
			t.Label = r.Start.Add(timeHours(h)).Format("15:04")
			if h == 24 {
				t.Label = "24:00"
			}
		}
		ts = append(ts, t)
	}
	return ts
}
