package daysim

import (
	"fmt"
	"math"
	"time"
)

// Minutes is the length of a simulated day: one step a minute, 24 hours.
const Minutes = 24 * 60

// The seed's load ("Design a system that scales to millions of users on AWS", usage
// calculations): 100 billion reads and 1 billion writes a month over its 2.5 million
// seconds a month, that is 40,000 reads/s and 400 writes/s on average.
const (
	SeedReadsPerSecond  = 40000.0
	SeedWritesPerSecond = 400.0
)

// SeedPeakFactor is the seed day's peak over its average: "peaks of 3x" (issue 14; the
// seed says only "uneven traffic" and "significantly higher peaks").
const SeedPeakFactor = 3.0

// SeedTimeZone is the seed day's clock: "regular business hours in the U.S.", on the east
// coast where they start first (the same reason as config.DefaultTimeZone).
const SeedTimeZone = "America/New_York"

// SeedDate is the seed day: Wednesday 17 June 2026, a weekday (the business-hours schedule
// runs on weekdays) without a daylight-saving change (the day has exactly 1440 minutes).
var SeedDate = struct {
	Year  int
	Month time.Month
	Day   int
}{2026, time.June, 17}

// Day is the load of one day, minute by minute, on a local calendar day.
type Day struct {
	// Start is the day's first minute (local midnight); its Location is the clock the
	// load's shape, the chart's hours and the table are read in. Schedules are matched in
	// their own time zones at the same instants.
	Start time.Time
	// Reads and Writes are the requests per second reaching the stack during each minute
	// of the day, Minutes values each, none negative.
	Reads, Writes []float64
	// FromRecorded starts the day at the graph's recorded sizes with every instance in
	// service (a new group at midnight), instead of where the same day before left the
	// groups. Tests use it to start from a known state. Default: false, the day before is
	// simulated first.
	FromRecorded bool
}

// shape parameters of the seed day, in local hours; each is a modelling choice (the seed
// gives no hourly figures), documented in docs/daysim.md.
const (
	nightLevel    = 0.1  // night as a fraction of the business-hours plateau: "drop significantly when users leave the office"
	rampUpStart   = 7.0  // users start arriving
	plateauStart  = 9.0  // offices full
	plateauEnd    = 17.0 // offices start emptying
	rampDownEnd   = 20.0 // back to the night level
	spikeCenter   = 13.0 // a short spike on top of the plateau (a campaign, a link from a news site)
	spikeHalfBase = 10.0 // minutes from the spike's start to its top (a triangle 20 minutes wide)
)

// SeedShape returns the seed day's load as a multiple of the day's average, per minute:
// a quiet night, a business-hours plateau (about 2x the average) and a 20-minute spike at
// 13:00 whose top is exactly SeedPeakFactor times the average. Its mean is 1 (up to
// floating-point rounding).
func SeedShape() []float64 {
	base := make([]float64, Minutes)
	spike := make([]float64, Minutes)
	var baseSum, spikeSum, baseMax float64
	for i := range base {
		base[i] = nightLevel + (1-nightLevel)*daytime(float64(i)/60)
		spike[i] = math.Max(0, 1-math.Abs(float64(i)-spikeCenter*60)/spikeHalfBase)
		baseSum += base[i]
		spikeSum += spike[i]
		baseMax = math.Max(baseMax, base[i])
	}
	// The spike's top sits on the plateau (base 1, its maximum), and its height h makes the
	// top exactly SeedPeakFactor x the mean:
	// (baseMax + h) / ((baseSum + h spikeSum) / Minutes) = SeedPeakFactor.
	meanBase, meanSpike := baseSum/Minutes, spikeSum/Minutes
	h := (SeedPeakFactor*meanBase - baseMax) / (1 - SeedPeakFactor*meanSpike)
	mean := meanBase + h*meanSpike
	out := make([]float64, Minutes)
	for i := range out {
		out[i] = (base[i] + h*spike[i]) / mean
	}
	return out
}

// daytime is 0 at night and 1 on the plateau, with half-cosine ramps between.
func daytime(h float64) float64 {
	ramp := func(x float64) float64 { return (1 - math.Cos(math.Pi*x)) / 2 }
	switch {
	case h < rampUpStart || h >= rampDownEnd:
		return 0
	case h < plateauStart:
		return ramp((h - rampUpStart) / (plateauStart - rampUpStart))
	case h < plateauEnd:
		return 1
	default:
		return ramp((rampDownEnd - h) / (rampDownEnd - plateauEnd))
	}
}

// SeedDay returns the seed's day (SeedDate in SeedTimeZone) at scale times the seed's
// load: on average 40,000 x scale reads/s and 400 x scale writes/s, shaped by SeedShape.
// Scale 1 is the seed; a smaller scale is a smaller stack's day (tests and stage pages
// use one that a users++++ stack carries).
func SeedDay(scale float64) (Day, error) {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return Day{}, fmt.Errorf("daysim: seed day scale %v is invalid: use a positive factor (1 is the seed's load)", scale)
	}
	loc, err := time.LoadLocation(SeedTimeZone)
	if err != nil {
		return Day{}, fmt.Errorf("daysim: time zone %s: %w", SeedTimeZone, err)
	}
	shape := SeedShape()
	d := Day{
		Start:  time.Date(SeedDate.Year, SeedDate.Month, SeedDate.Day, 0, 0, 0, 0, loc),
		Reads:  make([]float64, Minutes),
		Writes: make([]float64, Minutes),
	}
	for i, f := range shape {
		d.Reads[i] = SeedReadsPerSecond * scale * f
		d.Writes[i] = SeedWritesPerSecond * scale * f
	}
	return d, nil
}

// validate checks a Day before a run.
func (d Day) validate() error {
	if d.Start.IsZero() {
		return fmt.Errorf("daysim: Day.Start is unset: give the day's local midnight (SeedDay sets it)")
	}
	for name, s := range map[string][]float64{"Reads": d.Reads, "Writes": d.Writes} {
		if len(s) != Minutes {
			return fmt.Errorf("daysim: Day.%s has %d values: give one a minute, %d", name, len(s), Minutes)
		}
		for i, v := range s {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("daysim: Day.%s[%d] = %v: give requests per second, 0 or more", name, i, v)
			}
		}
	}
	return nil
}

// minute returns the instant of the day's minute i.
func (d Day) minute(i int) time.Time { return d.Start.Add(time.Duration(i) * time.Minute) }

// timeHours is h hours as a duration.
func timeHours(h int) time.Duration { return time.Duration(h) * time.Hour }
