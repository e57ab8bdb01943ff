// Package offline evaluates the stack program with no cloud account, no Pulumi CLI and no
// provider plugin: it runs the program under the Pulumi Go SDK's mock engine, answers every
// resource and invoke with realistic fake cloud values (mocks.go), and returns the graph of
// everything the program registered (internal/graph).
//
// The simplest use:
//
//	cfg, secrets, err := offline.LoadStackConfig(".", "dev")
//	g, err := offline.Run(offline.RunOptions{Stack: "dev", Config: cfg, SecretKeys: secrets, Root: "."})
//
// The offline preview (cmd/preview) and the stage tests are built on Run.
package offline

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/internal/release"
	"github.com/scaling-aws/scaling-aws/stages"
)

// DefaultProject is the Pulumi project name used when RunOptions.Project is empty.
const DefaultProject = "scaling-aws"

// DefaultRegion is the region the mocks answer for when the config has no aws:region.
const DefaultRegion = "us-east-1"

// UnknownMarker stands for a value the mock engine could not know (only possible with
// RunOptions.DryRun, where some outputs stay unknown as in `pulumi preview`).
const UnknownMarker = "[unknown]"

// outputTimeout bounds the wait for a stack output after the run: every output is resolved
// by then unless it is unknown.
const outputTimeout = 5 * time.Second

// RunOptions says which stack to evaluate and with what config.
type RunOptions struct {
	// Project is the Pulumi project name. Default: DefaultProject.
	Project string
	// Stack is the stack name, such as "dev". Required.
	Stack string
	// Config holds fully qualified keys ("scaling-aws:stage", "aws:region") with values as
	// the Pulumi CLI passes them: scalars as text, objects and arrays as JSON text.
	Config map[string]string
	// SecretKeys lists the keys of Config that are secret. Their values never appear in the
	// graph: any input or output containing one is replaced by graph.SecretMarker.
	SecretKeys []string
	// Root is the project root; the app release is fingerprinted from it (never compiled).
	// Default: ".".
	Root string
	// Program, when set, replaces the stack program (tests use small programs).
	// Default: stages.Program with a fingerprint-only release.
	Program func(opts stages.Options) pulumi.RunFunc
	// DryRun runs the program as `pulumi preview` would, leaving outputs the mocks do not
	// answer unknown. Default: false, so every output resolves to the mocks' values and
	// every apply runs, which records fully known inputs.
	DryRun bool
}

// Run evaluates the program for opts under the mock engine and returns the recorded graph.
// A program error (such as a config error) is returned as is, with its wording unchanged.
func Run(opts RunOptions) (*graph.Graph, error) {
	if opts.Stack == "" {
		return nil, errors.New("offline: RunOptions.Stack is required")
	}
	project := opts.Project
	if project == "" {
		project = DefaultProject
	}
	root := opts.Root
	if root == "" {
		root = "."
	}
	region := opts.Config["aws:region"]
	if region == "" {
		region = DefaultRegion
	}

	var secrets []string
	for _, k := range opts.SecretKeys {
		if v, ok := opts.Config[k]; ok && v != "" {
			secrets = append(secrets, v)
		}
	}
	mocks := NewMocks(region)
	mocks.secrets = secrets
	mocks.project, mocks.stack = project, opts.Stack

	exports := &exportRecorder{}
	src := ConfigSource(opts.Config, opts.SecretKeys)
	sopts := stages.Options{Release: release.Fingerprint(root), OnExport: exports.add, ConfigKeys: src.Keys, UndecryptedKeys: src.Undecrypted}
	program := stages.Program
	if opts.Program != nil {
		program = opts.Program
	}
	body := program(sopts)

	var programErr error
	wrapped := func(ctx *pulumi.Context) error {
		// A stack transformation runs synchronously, in program order, for every resource:
		// it gives the recorded resources a deterministic order although the SDK registers
		// them from concurrent goroutines.
		if err := ctx.RegisterStackTransformation(mocks.order.observe); err != nil {
			return err
		}
		programErr = body(ctx)
		return programErr
	}
	config := make(map[string]string, len(opts.Config))
	for k, v := range opts.Config {
		config[k] = v
	}
	err := pulumi.RunErr(wrapped, pulumi.WithMocks(project, opts.Stack, mocks), func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = append([]string(nil), opts.SecretKeys...)
		info.DryRun = opts.DryRun
		info.RootDirectory = root
	})
	if programErr != nil {
		// RunErr wraps the program's error in a multierror; the caller gets the original.
		return nil, programErr
	}
	if err != nil {
		return nil, fmt.Errorf("offline run of stack %s: %w", opts.Stack, err)
	}

	g := &graph.Graph{
		Schema:    graph.SchemaVersion,
		Project:   project,
		Stack:     opts.Stack,
		Resources: mocks.Resources(),
		Outputs:   exports.resolve(secrets),
	}
	return g, nil
}

// exportRecorder receives the stack outputs through stages.Options.OnExport. It starts
// resolving each one right away, inside the run, so the run's own wait covers the applies.
type exportRecorder struct {
	mu      sync.Mutex
	outputs []*export
}

type export struct {
	name   string
	secret bool
	done   chan struct{}
	value  any
}

func (r *exportRecorder) add(name string, value pulumi.Input) {
	e := &export{name: name, done: make(chan struct{})}
	r.mu.Lock()
	r.outputs = append(r.outputs, e)
	r.mu.Unlock()
	out := pulumi.ToOutput(value)
	go func() {
		// IsSecret waits for the output to resolve.
		e.secret = pulumi.IsSecret(out)
		pulumi.Unsecret(out).ApplyT(func(v any) any {
			e.value = v
			close(e.done)
			return v
		})
	}()
}

// resolve returns the outputs as plain JSON values, secrets replaced by graph.SecretMarker.
func (r *exportRecorder) resolve(secrets []string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]any, len(r.outputs))
	sort.Slice(r.outputs, func(i, j int) bool { return r.outputs[i].name < r.outputs[j].name })
	timer := time.NewTimer(outputTimeout)
	defer timer.Stop()
	expired := false
	for _, e := range r.outputs {
		if !expired {
			select {
			case <-e.done:
			case <-timer.C:
				expired = true
			}
		}
		if expired {
			select {
			case <-e.done:
			default:
				out[e.name] = UnknownMarker
				continue
			}
		}
		if e.secret {
			out[e.name] = graph.SecretMarker
			continue
		}
		v, secret := scrub(plainJSON(e.value), secrets)
		if secret {
			v = graph.SecretMarker
		}
		out[e.name] = v
	}
	return out
}
