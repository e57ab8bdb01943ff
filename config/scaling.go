package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	// The tz database is embedded, so a time zone validates the same on every machine that
	// runs `pulumi up` (a minimal CI image has no /usr/share/zoneinfo, and time.LoadLocation
	// would refuse every zone there). It adds about 450 KB to the binary.
	_ "time/tzdata"
)

// Autoscaling settings (users++++). Every tier scales between min and max on the triggers
// below; each default holds in dev and prod alike unless it says otherwise, and each is a
// starting point to replace with a load test's figures on AWS (docs/stages/users-plus-4.md).
//
// The load defaults derive from the measured throughput (docs/benchmarks.md, 2 shared
// cores): uncached reads 9 836 req/s, 1 KB writes 4 130 req/s, and, for the web tier, the
// static 1 KB reference (cmd/baseline, 42 815 req/s), which stood in for nginx until nginx
// was measured. A t3.small sustains 20% of its 2 vCPUs without spending CPU credits, so a
// server's sustainable rate is about a fifth of those (1 970, 830 and 8 560 req/s); the
// request targets are a quarter of that, leaving room for a peak while new servers boot.
// nginx as the web tier configures it has since been measured at 7 822 req/s (a new
// upstream connection per request; docs/benchmarks.md "Capacity figures"), a sustainable
// 1 564 req/s on a t3.small: the web target (2 000/s) is above it, so the web tier's CPU
// target is what scales it there (internal/capacity and the stage pages use the measured
// figure); lowering the web default is left to a change of its own.

// DefaultTimeZone is the schedule's time zone unless set: the seed's "regular business
// hours in the U.S.", on the east coast where they start first.
const DefaultTimeZone = "America/New_York"

// Trigger defaults from users++++ (see the comment above for their derivation).
const (
	// DefaultCPUTargetPercent leaves headroom for a peak while new servers boot (240 s).
	DefaultCPUTargetPercent = 60
	// DefaultNetworkOutMbps is about half a t3.small's baseline bandwidth (0.128 Gbit/s in
	// EC2's instance network specifications, as remembered: not re-checked offline; `aws ec2
	// describe-instance-types --instance-types t3.small` shows it): proxies run out of network
	// before CPU. Raise it with a bigger instance type.
	DefaultNetworkOutMbps = 60
	// DefaultInflightRequests: at the read target (500 req/s) and the measured uncached p50
	// (6.2 ms), a server holds about 3 requests at once (Little's law); 10 means requests
	// already queue (3x slower, or 3x the rate): add servers before the p99 shows it.
	DefaultInflightRequests = 10
	// DefaultReadLatencyP99Ms is about 4x the measured uncached-read p99 (26 ms): a read API
	// that slow is saturated.
	DefaultReadLatencyP99Ms = 100
)

// defaultRequestsPerMinute are the request targets per server per minute, a quarter of the
// sustainable rate (above): web 2 000/s, read 500/s, write 200/s.
var defaultRequestsPerMinute = map[string]int{"web": 120000, "readApi": 30000, "writeApi": 12000}

// tierDefaultMin is a tier's floor unless set: below users++++ the fixed size (desired);
// from users++++ the off-hours floor, 2 in prod (one server per AZ of two, so an AZ loss
// leaves one serving while the group replaces the other) and 1 in dev (nobody uses dev at
// night: half the servers' cost), never above desired.
func tierDefaultMin(c *Config, t *Tier) int {
	if c.Stage < UsersPlus4 {
		return t.Desired
	}
	return min(pick(c.Protect(), 2, 1), t.Desired)
}

// tierDefaultMax is a tier's ceiling unless set: below users++++ the fixed size; from
// users++++ room for peaks well above the average (the seed), bounded for cost: in prod
// web 12 and read 16 (4x the business-hours floor; reads are 100 to 1), write 6 (writes are
// bound by the one primary: more write servers only add connections to it); in dev 2x the
// floor (4, 6, 4), enough to see a scale-out.
func tierDefaultMax(c *Config, key string, t *Tier) int {
	if c.Stage < UsersPlus4 {
		return t.Desired
	}
	m := map[string]int{"web": 4, "readApi": 6, "writeApi": 4}
	if c.Protect() {
		m = map[string]int{"web": 12, "readApi": 16, "writeApi": 6}
	}
	return max(m[key], t.Desired)
}

func tierBusinessHoursMin(key string, t func(*Config) *Tier) field {
	return field{key: key + ".businessHoursMin", num: func(c *Config) *int { return &t(c).BusinessHoursMin }, min: 0, max: MaxTierSize,
		why: "0 turns the tier's schedule off",
		def: func(c *Config) {
			tt := t(c)
			if c.Stage < UsersPlus4 {
				return
			}
			// The users+++ size during business hours: the move to users++++ keeps the
			// daytime capacity users+++ had.
			if v := min(tierDefaultSizeAt(c, key), tt.Max); v > tt.Min {
				tt.BusinessHoursMin = v
			}
		}}
}

func tierCPUTarget(key string, t func(*Config) *Tier) field {
	return field{key: key + ".cpuTargetPercent", num: func(c *Config) *int { return &t(c).CPUTargetPercent }, min: 0, max: 90,
		why: "0 turns CPU scaling off (from users++++); above 90 leaves no headroom while new servers boot",
		def: func(c *Config) { t(c).CPUTargetPercent = DefaultCPUTargetPercent }}
}

func tierRequestsTarget(key string, t func(*Config) *Tier) field {
	return field{key: key + ".requestsPerTargetPerMinute", num: func(c *Config) *int { return &t(c).RequestsPerTargetPerMinute }, min: 0, max: 1000000,
		why: "requests per server per minute; 0 turns it off",
		def: func(c *Config) {
			if c.Stage >= UsersPlus4 {
				t(c).RequestsPerTargetPerMinute = defaultRequestsPerMinute[key]
			}
		}}
}

func tierNetworkTarget(key string, t func(*Config) *Tier) field {
	return field{key: key + ".networkOutMbps", num: func(c *Config) *int { return &t(c).NetworkOutMbps }, min: 0, max: 100000,
		why: "Mbit/s per server, at most 100 Gbit/s; 0 turns it off",
		def: func(c *Config) {
			// The web tier relays every response: its servers fill their network first. The
			// API servers' responses are small JSON, so CPU and in-flight requests say more.
			if c.Stage >= UsersPlus4 && key == "web" {
				t(c).NetworkOutMbps = DefaultNetworkOutMbps
			}
		}}
}

func tierInflightTarget(key string, t func(*Config) *Tier) field {
	return field{key: key + ".inflightRequestsTarget", num: func(c *Config) *int { return &t(c).InflightRequestsTarget }, min: 0, max: 10000,
		why: "requests in flight per server; 0 turns it off",
		def: func(c *Config) {
			// Only the app publishes the metric (nginx does not): the API tiers.
			if c.Stage >= UsersPlus4 && key != "web" {
				t(c).InflightRequestsTarget = DefaultInflightRequests
			}
		}}
}

func tierLatency(key string, t func(*Config) *Tier) field {
	return field{key: key + ".latencyP99Ms", num: func(c *Config) *int { return &t(c).LatencyP99Ms }, min: 0, max: 60000,
		why: "milliseconds, at most the load balancer's 60 s idle timeout; 0 turns it off",
		def: func(c *Config) {
			// The read API only: the web tier's response time includes the API's (more
			// proxies would not help a slow API), and writes wait on the one primary (more
			// write servers would only add connections to it).
			if c.Stage >= UsersPlus4 && key == "readApi" {
				t(c).LatencyP99Ms = DefaultReadLatencyP99Ms
			}
		}}
}

var (
	clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	// dayNames are cron's day-of-week numbers (SUN = 0); recurrences use the numbers,
	// which every cron reads (names in ranges are not portable cron).
	dayNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// scheduleTimeZoneProblem checks a time zone against Go's embedded tz database, which holds
// the IANA names EC2 Auto Scaling's scheduled actions take.
func scheduleTimeZoneProblem(tz string) string {
	if tz == "Local" || tz == "" {
		return "name an IANA time zone such as America/New_York, Europe/Berlin or UTC (the stack's servers and the deploying machine do not share a local time)"
	}
	if _, err := time.LoadLocation(tz); err != nil || strings.HasPrefix(tz, "/") {
		return "is not an IANA time zone name; use one such as America/New_York, America/Los_Angeles, Europe/Berlin or UTC (names are case-sensitive: https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)"
	}
	return ""
}

// CronDays turns a days setting (MON-FRI, SAT,SUN, MON) into cron's day-of-week field in
// numbers (1-5, 6,0, 1); the fix says what is wrong otherwise.
func CronDays(days string) (cron, fix string) {
	const example = "use a range or a list of days MON, TUE, WED, THU, FRI, SAT, SUN, such as MON-FRI or MON,WED,FRI"
	day := func(s string) int {
		for i, n := range dayNames {
			if strings.EqualFold(s, n) {
				return i
			}
		}
		return -1
	}
	if lo, hi, ok := strings.Cut(days, "-"); ok {
		a, b := day(lo), day(hi)
		if a < 0 || b < 0 {
			return "", example
		}
		if a > b {
			return "", fmt.Sprintf("the range runs backwards (%s after %s in cron's week, which starts on SUN); list the days instead, such as FRI,SAT,SUN", lo, hi)
		}
		return fmt.Sprintf("%d-%d", a, b), ""
	}
	var nums []string
	seen := map[int]bool{}
	for _, s := range strings.Split(days, ",") {
		d := day(strings.TrimSpace(s))
		if d < 0 {
			return "", example
		}
		if seen[d] {
			return "", fmt.Sprintf("%s is listed twice; list each day once", dayNames[d])
		}
		seen[d] = true
		nums = append(nums, strconv.Itoa(d))
	}
	return strings.Join(nums, ","), ""
}

// clock reads HH:MM (24-hour) as hour and minute.
func clock(s string) (h, m int, ok bool) {
	g := clockRE.FindStringSubmatch(s)
	if g == nil {
		return 0, 0, false
	}
	h, _ = strconv.Atoi(g[1])
	m, _ = strconv.Atoi(g[2])
	return h, m, true
}

// Recurrences returns the cron recurrences (minute hour * * days) of the window's start and
// end, for scheduled actions in TimeZone. It assumes a validated Schedule.
func (s Schedule) Recurrences() (up, down string) {
	days, _ := CronDays(s.Days)
	uh, um, _ := clock(s.ScaleUpAt)
	dh, dm, _ := clock(s.ScaleDownAt)
	return fmt.Sprintf("%d %d * * %s", um, uh, days), fmt.Sprintf("%d %d * * %s", dm, dh, days)
}

// Scales reports whether the stack's server groups autoscale (from users++++).
func (c *Config) Scales() bool { return c.Stage >= UsersPlus4 }

// scalingKeys are a tier's autoscaling fields that only users++++ reads.
var scalingKeys = []string{"businessHoursMin", "requestsPerTargetPerMinute", "networkOutMbps", "inflightRequestsTarget", "latencyP99Ms"}

// validateScaling holds the autoscaling checks that involve other settings (the table bounds
// the numbers).
func (c *Config) validateScaling(errs *Errors, ok func(string) bool) {
	tiers := []struct {
		key string
		t   Tier
	}{{"web", c.Web}, {"readApi", c.ReadAPI}, {"writeApi", c.WriteAPI}}
	if !c.Scales() {
		for _, tr := range tiers {
			for _, m := range scalingKeys {
				if k := tr.key + "." + m; c.isSet(k) {
					errs.add(k, fieldText(c, k), "autoscaling arrives at stage users++++ (this stack is at %s: its groups have a fixed size); unset %s or move the stack up", c.Stage, k)
				}
			}
			if k := tr.key + ".cpuTargetPercent"; ok(k) && tr.t.CPUTargetPercent == 0 {
				errs.add(k, "0", "the fixed-size group keeps its CPU policy before users++++ (every group has a scaling policy: SH AutoScaling); use 1 to 90")
			}
		}
		for _, m := range memberNames("schedule") {
			if k := "schedule." + m; c.isSet(k) {
				errs.add(k, fieldText(c, k), "scheduled scaling arrives at stage users++++ (this stack is at %s); unset %s or move the stack up", c.Stage, k)
			}
		}
		return
	}
	scheduled := false
	for _, tr := range tiers {
		k, t := tr.key, tr.t
		if !ok(k+".min") || !ok(k+".max") || !ok(k+".desired") {
			continue
		}
		if t.Max <= t.Min {
			errs.add(k+".max", strconv.Itoa(t.Max), "from users++++ a group scales between min and max: use a max above min (%d); a fixed size is the users+++ design", t.Min)
		}
		if b := t.BusinessHoursMin; ok(k+".businessHoursMin") && b != 0 {
			scheduled = true
			if b <= t.Min || b > t.Max {
				errs.add(k+".businessHoursMin", strconv.Itoa(b), "use a business-hours floor above min (%d) and at most max (%d), or 0 for no schedule on this tier", t.Min, t.Max)
			}
		}
		if k == "web" && ok("web.inflightRequestsTarget") && t.InflightRequestsTarget != 0 {
			errs.add("web.inflightRequestsTarget", strconv.Itoa(t.InflightRequestsTarget), "the web tier runs nginx, which publishes no app_inflight_requests metric (only the app on readApi and writeApi does); use 0")
		}
		if t.CPUTargetPercent == 0 && t.RequestsPerTargetPerMinute == 0 && t.NetworkOutMbps == 0 && t.InflightRequestsTarget == 0 {
			errs.add(k+".cpuTargetPercent", "0", "a tier needs at least one target-tracking trigger (cpuTargetPercent, requestsPerTargetPerMinute, networkOutMbps or inflightRequestsTarget): only target tracking scales a group back in (latency and the schedule only add servers or move the floor); set one above 0")
		}
	}
	if !scheduled {
		return
	}
	s := c.Schedule
	if ok("schedule.timeZone") {
		if fix := scheduleTimeZoneProblem(s.TimeZone); fix != "" {
			errs.add("schedule.timeZone", s.TimeZone, "%s", fix)
		}
	}
	if ok("schedule.days") {
		if _, fix := CronDays(s.Days); fix != "" {
			errs.add("schedule.days", s.Days, "%s", fix)
		}
	}
	uh, um, upOK := clock(s.ScaleUpAt)
	dh, dm, downOK := clock(s.ScaleDownAt)
	if !upOK && ok("schedule.scaleUpAt") {
		errs.add("schedule.scaleUpAt", s.ScaleUpAt, "use a 24-hour time HH:MM such as 07:30")
	}
	if !downOK && ok("schedule.scaleDownAt") {
		errs.add("schedule.scaleDownAt", s.ScaleDownAt, "use a 24-hour time HH:MM such as 19:00")
	}
	if upOK && downOK && dh*60+dm <= uh*60+um {
		errs.add("schedule.scaleDownAt", s.ScaleDownAt, "business hours run within one day: use a time after scaleUpAt (%s)", s.ScaleUpAt)
	}
}

// fieldText renders a set field's value for a message.
func fieldText(c *Config, key string) string {
	f := fieldByKey(key)
	switch {
	case f == nil:
		return ""
	case f.num != nil:
		return strconv.Itoa(*f.num(c))
	case f.str != nil:
		return *f.str(c)
	}
	return ""
}
