// Package rules checks a recorded resource graph (internal/graph) against the security and
// reliability rules of SECURITY.md: what Checkov, Trivy, AWS Security Hub and the
// Well-Architected reliability pillar check on the resources this project provisions,
// mapped to pulumi-aws v6 inputs.
//
// Every rule says which resources it examines and when it applies. A rule that applies but
// examines no resource fails ("matched no resources"): a check over nothing is never a
// silent pass. A rule that does not apply is reported as skipped, with the reason in its
// Applies text. docs/security.md lists the rules and the conventions (tags) the program
// follows so the rules recognise what a resource is.
package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// Environments a Context names.
const (
	Dev  = "dev"
	Prod = "prod"
)

// Stage numbers of the seed, as Context.Stage takes them.
const (
	StageSingleBox = 0 // single box
	StageUsersPlus = 1 // users+
	StageUsersPP   = 2 // users++: load balancer, Multi-AZ, CDN
	StageUsers3P   = 3 // users+++: cache, read replicas
	StageUsers4P   = 4 // users++++: autoscaling, monitoring
	StageUsers5P   = 5 // users+++++: queues, warehouse, NoSQL
)

// BoxMaxStage is the last stage in which the single box may face the internet on 80/443 and
// carry a public address: the box serves users directly in stages 0 (single box) and 1
// (users+); from users++ a load balancer does. It is a named exception of rules NET-5 and
// CMP-3.
const BoxMaxStage = StageUsersPlus

// Context is what the rules need to know beyond the graph.
type Context struct {
	// Environment is "dev" or "prod" (any other value counts as prod: the stricter one).
	Environment string
	// Stage is the seed stage, 0 (single box) to 5 (users+++++).
	Stage int
	// Force lists rule IDs that must apply whatever the graph holds; a forced rule that
	// matches no resource fails. Stage tests use it to assert that what a stage must
	// provision is there.
	Force []string
	// Waivers are deliberate, documented exceptions: rule ID -> the named setting and reason
	// (such as "cache.singleNode in dev: cost"). A waived rule still runs and lists its
	// violations, but they do not fail the report.
	Waivers map[string]string
}

// Prod reports whether the context is a production environment.
func (c Context) Prod() bool { return c.Environment != Dev }

func (c Context) forced(id string) bool {
	for _, f := range c.Force {
		if f == id {
			return true
		}
	}
	return false
}

// Violation is one failed check on one resource.
type Violation struct {
	// Rule is the rule's ID.
	Rule string
	// URN names the failing resource ("" for a rule that matched no resources).
	URN string
	// Message says what is wrong and what the rule expects.
	Message string
}

// String renders the violation on one line.
func (v Violation) String() string {
	if v.URN == "" {
		return fmt.Sprintf("%s: %s", v.Rule, v.Message)
	}
	return fmt.Sprintf("%s: %s: %s", v.Rule, v.URN, v.Message)
}

// Rule is one check.
type Rule struct {
	// ID is stable ("NET-5"); Title says what the rule demands.
	ID    string
	Title string
	// Refs are the scanner and framework ids it implements (CKV_AWS_*, SH *, REL*).
	Refs []string
	// Applies says in words which resources the rule examines and from which stage or in
	// which environment it applies (docs/security.md repeats it).
	Applies string
	// AppliesTo decides whether the rule applies to a graph in a context.
	AppliesTo func(e *Env) bool
	// Select returns the resources the rule examines; none while it applies is a failure.
	Select func(e *Env) []*graph.Resource
	// Check examines one selected resource; violations without a URN name that resource.
	Check func(e *Env, r *graph.Resource) []Violation
}

// Result is the outcome of one rule.
type Result struct {
	// Rule is the rule run.
	Rule Rule
	// Applied is false when the rule did not apply (its resources are absent, or the stage
	// or environment does not ask for it).
	Applied bool
	// Examined counts the resources the rule examined.
	Examined int
	// Violations are sorted by URN, then message.
	Violations []Violation
	// Waiver is the reason the rule's violations do not fail the report ("" if none).
	Waiver string
}

// Failed reports whether the result fails the report.
func (r Result) Failed() bool { return r.Applied && r.Waiver == "" && len(r.Violations) > 0 }

// Report is the outcome of every rule, in rule-ID order.
type Report struct {
	Context Context
	Results []Result
}

// OK reports whether no applied, unwaived rule has a violation.
func (r Report) OK() bool { return len(r.Failures()) == 0 }

// Failures returns the violations that fail the report, in rule order.
func (r Report) Failures() []Violation {
	var out []Violation
	for _, res := range r.Results {
		if res.Failed() {
			out = append(out, res.Violations...)
		}
	}
	return out
}

// Result returns the result of the rule with id, and whether the rule exists.
func (r Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.Rule.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

// String renders the report: one line per rule (PASS, FAIL, WAIVED or SKIP, with the count
// of resources examined) and one indented line per violation.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "security rules: env=%s stage=%d\n", r.Context.Environment, r.Context.Stage)
	pass, fail, skip, waived := 0, 0, 0, 0
	for _, res := range r.Results {
		status := "PASS"
		switch {
		case !res.Applied:
			status = "SKIP"
			skip++
		case res.Failed():
			status = "FAIL"
			fail++
		case res.Waiver != "" && len(res.Violations) > 0:
			status = "WAIVED"
			waived++
		default:
			pass++
		}
		fmt.Fprintf(&b, "%-6s %-8s %-60s examined=%d\n", status, res.Rule.ID, res.Rule.Title, res.Examined)
		if res.Waiver != "" && res.Applied && len(res.Violations) > 0 {
			fmt.Fprintf(&b, "         waiver: %s\n", res.Waiver)
		}
		for _, v := range res.Violations {
			if v.URN == "" {
				fmt.Fprintf(&b, "         - %s\n", v.Message)
			} else {
				fmt.Fprintf(&b, "         - %s: %s\n", v.URN, v.Message)
			}
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d waived, %d skipped\n", pass, fail, waived, skip)
	return b.String()
}

// Check runs every rule of All on g.
func Check(g *graph.Graph, ctx Context) Report {
	return CheckRules(g, ctx, All())
}

// CheckRules runs rules on g; results are in rule-ID order.
func CheckRules(g *graph.Graph, ctx Context, rules []Rule) Report {
	e := NewEnv(g, ctx)
	rules = append([]Rule(nil), rules...)
	sort.SliceStable(rules, func(i, j int) bool { return idLess(rules[i].ID, rules[j].ID) })
	rep := Report{Context: ctx}
	for _, rule := range rules {
		res := Result{Rule: rule, Waiver: ctx.Waivers[rule.ID]}
		res.Applied = ctx.forced(rule.ID) || (rule.AppliesTo != nil && rule.AppliesTo(e))
		if res.Applied {
			sel := rule.Select(e)
			res.Examined = len(sel)
			if len(sel) == 0 {
				res.Violations = append(res.Violations, Violation{Rule: rule.ID, Message: fmt.Sprintf("rule %s matched no resources (%s)", rule.ID, rule.Applies)})
			}
			for _, r := range sel {
				for _, v := range rule.Check(e, r) {
					v.Rule = rule.ID
					if v.URN == "" {
						v.URN = r.URN
					}
					res.Violations = append(res.Violations, v)
				}
			}
			sort.SliceStable(res.Violations, func(i, j int) bool {
				a, b := res.Violations[i], res.Violations[j]
				if a.URN != b.URN {
					return a.URN < b.URN
				}
				return a.Message < b.Message
			})
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

// idLess orders rule IDs by prefix, then by number ("NET-2" before "NET-10").
func idLess(a, b string) bool {
	pa, na := splitID(a)
	pb, nb := splitID(b)
	if pa != pb {
		return pa < pb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func splitID(id string) (string, int) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return id, 0
	}
	n := 0
	for _, c := range id[i+1:] {
		if c < '0' || c > '9' {
			return id, 0
		}
		n = n*10 + int(c-'0')
	}
	return id[:i], n
}

// All returns every rule, in rule-ID order.
func All() []Rule {
	var all []Rule
	for _, group := range [][]Rule{networkRules(), computeRules(), lbRules(), rdsRules(), cacheRules(), s3Rules(), cdnRules(), sqsRules(), queueRules(), iamRules(), opsRules(), monitoringRules(), crossRules(), warehouseRules(), keyRules(), backupRules(), awsAPIRules(), edgeRules(), loggingRules()} {
		all = append(all, group...)
	}
	sort.SliceStable(all, func(i, j int) bool { return idLess(all[i].ID, all[j].ID) })
	return all
}

// v builds a violation on the examined resource.
func v(format string, args ...any) Violation {
	return Violation{Message: fmt.Sprintf(format, args...)}
}

// vOn builds a violation on another resource than the examined one.
func vOn(r *graph.Resource, format string, args ...any) Violation {
	return Violation{URN: r.URN, Message: fmt.Sprintf(format, args...)}
}
