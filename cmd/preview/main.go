// Command preview is the offline preview: it evaluates a stack of the program under the
// Pulumi Go SDK's mock engine, with no cloud account, CLI or provider plugin, and prints what
// `pulumi preview` would create.
//
//	go run ./cmd/preview -stack dev                  # readable tree and summary
//	go run ./cmd/preview -stack prod -stage users++  # another stage, same stack config
//	go run ./cmd/preview -stack dev -json            # the whole graph, for machines
//	go run ./cmd/preview -stack dev -stage users++ -cost  # + the monthly cost, deployed and at the seed's load
//	go run ./cmd/preview -list-stages                # the stage registry
//
// It reads Pulumi.<stack>.yaml as the CLI would. Bad config exits 1 with the program's
// message on stderr; bad flags exit 2. The output is deterministic, so CI can diff it.
// docs/preview.md documents the flags, the text format and the JSON schema.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/cost"
	"github.com/scaling-aws/scaling-aws/internal/diagram"
	"github.com/scaling-aws/scaling-aws/internal/diff"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/offline"
	"github.com/scaling-aws/scaling-aws/internal/rules"
	"github.com/scaling-aws/scaling-aws/stages"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // config or program error
	exitUsage = 2 // bad flags
)

// keyValues is a repeatable -config key=value flag.
type keyValues []string

func (k *keyValues) String() string { return strings.Join(*k, ",") }

func (k *keyValues) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*k = append(*k, v)
	return nil
}

// run is the whole command; main only wires it to the process.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack to evaluate: reads Pulumi.<stack>.yaml")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml, Pulumi.<stack>.yaml and app/)")
	stage := fs.String("stage", "", "override scaling-aws:stage (seed name or alias, such as users++ or 2)")
	var overrides keyValues
	fs.Var(&overrides, "config", "override a config key: key=value (repeatable; a bare key takes the project namespace; objects as JSON)")
	asJSON := fs.Bool("json", false, "write the whole resource graph as JSON")
	listStages := fs.Bool("list-stages", false, "list the stages and exit")
	from := fs.String("from", "", "also evaluate the stack at this stage and report what moving from it would create, update, replace and delete (exit 1 if the move would lose data)")
	against := fs.String("against", "", "also compare with a graph saved by -json (the same stack on the base branch, say) and report the changes (exit 1 if they would lose data)")
	mermaid := fs.Bool("mermaid", false, "write the stage's architecture as a Mermaid flowchart (components and who may reach whom)")
	allRules := fs.Bool("rules", false, "print every security rule's result, not only the tally, waivers and failures")
	withCost := fs.Bool("cost", false, "also estimate the monthly cost: deployed, and at the seed's load (internal/cost; with -json, as a \"cost\" field)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: preview [-stack dev] [-dir .] [-stage name] [-config key=value]... [-json] | -list-stages")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "preview: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	if *listStages {
		printStages(stdout)
		return exitOK
	}

	project := offline.ProjectName(*dir)
	cfg, secretKeys, err := offline.LoadStackConfig(*dir, *stack)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return exitError
	}
	if *stage != "" {
		cfg[project+":stage"] = *stage
	}
	for _, kv := range overrides {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.Contains(k, ":") {
			k = project + ":" + k
		}
		cfg[k] = v
	}

	g, err := offline.Run(offline.RunOptions{Project: project, Stack: *stack, Config: cfg, SecretKeys: secretKeys, Root: *dir})
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return exitError
	}
	var moves []diff.Change
	if *from != "" {
		prev := make(map[string]string, len(cfg))
		for k, v := range cfg {
			prev[k] = v
		}
		prev[project+":stage"] = *from
		pg, err := offline.Run(offline.RunOptions{Project: project, Stack: *stack, Config: prev, SecretKeys: secretKeys, Root: *dir})
		if err != nil {
			fmt.Fprintln(stderr, "error: evaluating -from", *from+":", err)
			return exitError
		}
		moves = diff.Compare(pg, g)
	}
	if *against != "" {
		if *from != "" {
			fmt.Fprintln(stderr, "preview: -from and -against are exclusive")
			return exitUsage
		}
		base, err := readGraph(*against)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return exitError
		}
		moves = diff.Compare(base, g)
	}
	rep, err := checkRules(g, cfg, secretKeys, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return exitError
	}
	if *mermaid {
		fmt.Fprint(stdout, diagram.Mermaid(g))
		return exitOK
	}
	var estimate *cost.Report
	if *withCost {
		if estimate, err = estimateCost(g); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return exitError
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, jsonOutput{Graph: g, Cost: estimate}); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return exitError
		}
	} else {
		printText(stdout, g, cfg, project)
		switch {
		case *from != "":
			printMoves(stdout, "stage "+*from, moves)
		case *against != "":
			printMoves(stdout, *against, moves)
		}
		printRules(stdout, rep, *allRules)
		if estimate != nil {
			if err := estimate.WriteText(stdout); err != nil {
				fmt.Fprintln(stderr, "error:", err)
				return exitError
			}
		}
	}
	if lost := diff.Summarize(moves).LosesData; len(lost) > 0 {
		fmt.Fprintln(stderr, "error: this change would lose data:")
		for _, c := range lost {
			fmt.Fprintf(stderr, "  %s\n", c)
		}
		return exitError
	}
	if !rep.OK() {
		fmt.Fprintf(stderr, "error: the stack fails %d security rule checks (see docs/security.md):\n", len(rep.Failures()))
		for _, v := range rep.Failures() {
			fmt.Fprintf(stderr, "  %s %s: %s\n", v.Rule, v.URN, v.Message)
		}
		return exitError
	}
	return exitOK
}

// checkRules checks the graph against the security rules (internal/rules), with exactly the
// waivers the stack's config names (stages.Waivers). It prints the config's warnings
// (unknown keys of other namespaces, secure values it could not check) to stderr.
func checkRules(g *graph.Graph, cfg map[string]string, secretKeys []string, stderr io.Writer) (rules.Report, error) {
	c, err := config.Load(offline.ConfigSource(cfg, secretKeys))
	if err != nil {
		return rules.Report{}, err
	}
	for _, w := range c.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return rules.Check(g, rules.Context{Environment: string(c.Environment), Stage: int(c.Stage), Waivers: stages.Waivers(c)}), nil
}

// jsonOutput is what -json writes: the graph's fields and, with -cost, the estimate.
type jsonOutput struct {
	*graph.Graph
	Cost *cost.Report `json:"cost,omitempty"`
}

// estimateCost prices the graph with the committed price table at the seed's load.
func estimateCost(g *graph.Graph) (*cost.Report, error) {
	p, err := cost.Table()
	if err != nil {
		return nil, err
	}
	return cost.Estimate(g, p, cost.SeedLoad)
}

// writeJSON writes v as indented JSON; map keys are sorted, so it is deterministic.
func writeJSON(w io.Writer, g any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// printStages prints the stage registry.
func printStages(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTAGE\tALIASES\tIMPLEMENTED\tADDS")
	for _, d := range stages.Registry {
		impl := "no"
		if d.Implemented() {
			impl = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", int(d.Stage), d.Stage, strings.Join(d.Stage.Aliases(), ", "), impl, d.Adds)
	}
	tw.Flush()
}

// stageOf returns the stage the program deployed (its "stage" output) or the configured one.
func stageOf(g *graph.Graph, cfg map[string]string, project string) (config.Stage, bool) {
	name, _ := g.Outputs["stage"].(string)
	if name == "" {
		name = cfg[project+":stage"]
	}
	if name == "" {
		name = config.SingleBox.String()
	}
	s, err := config.ParseStage(name)
	return s, err == nil
}

// readGraph reads a graph written by -json.
func readGraph(path string) (*graph.Graph, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the base graph: %w", err)
	}
	var g graph.Graph
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("read the base graph %s: %w", path, err)
	}
	if g.Schema != graph.SchemaVersion {
		return nil, fmt.Errorf("the base graph %s has schema %d; this preview reads schema %d", path, g.Schema, graph.SchemaVersion)
	}
	return &g, nil
}
