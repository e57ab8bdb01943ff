// Package stages turns a validated config.Config into the architecture of one stage of the
// seed, as a pure composition of components. Each stage's doc says what it adds over the
// previous one and which bottleneck that answers. Moving a stack up a stage is one config
// change (scaling-aws:stage) and one `pulumi up`: later stages reuse the same components under
// the same logical names (see builder.go), so stateful resources are updated, never replaced.
package stages

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/release"
)

// Definition describes one stage of the registry.
type Definition struct {
	// Stage is the stage's number and seed name.
	Stage config.Stage
	// Adds says in a line what the stage adds over the previous one.
	Adds string
	// Bottleneck quotes the seed's reason for the stage.
	Bottleneck string
	// deploy composes the stage; nil while the stage is not implemented.
	deploy func(*builder) error
}

// Implemented reports whether the stage can be deployed.
func (d Definition) Implemented() bool { return d.deploy != nil }

// Registry lists the six stages in order. A stage builds on the previous one by reusing its
// components under the same names and turning knobs (subnet tiers, sizes, Multi-AZ).
var Registry = []Definition{
	{
		Stage:      config.SingleBox,
		Adds:       "one EC2 box running the app and MySQL (MariaDB) on an encrypted data volume, Elastic IP, optional Route 53 record, basic monitoring",
		Bottleneck: "With only 1-2 users, you only need a basic setup.",
		deploy:     singleBox,
	},
	{
		Stage:      config.UsersPlus,
		Adds:       "S3 object store for static content and user files; MySQL moved to RDS (encrypted); private subnets for everything but the web server",
		Bottleneck: "the MySQL Database taking up more and more memory and CPU resources, while the user content is filling up disk space",
		deploy:     usersPlus,
	},
	{
		Stage:      config.UsersPlus2,
		Adds:       "load balancer with TLS over several AZs; web tier separated from read-API and write-API tiers; Multi-AZ MySQL; CloudFront CDN",
		Bottleneck: "our single Web Server bottlenecks during peak hours, resulting in slow responses and in some cases, downtime",
		deploy:     usersPlus2,
	},
	{
		Stage:      config.UsersPlus3,
		Adds:       "ElastiCache for hot content and sessions; MySQL read replicas with reads and writes split; more servers",
		Bottleneck: "we are read-heavy (100:1 with writes) and our database is suffering from poor performance from the high read requests",
		deploy:     usersPlus3,
	},
	{
		Stage:      config.UsersPlus4,
		Adds:       "autoscaling per tier on schedule and load; monitoring and alerting; automated operations",
		Bottleneck: "our traffic spikes during regular business hours in the U.S. and drop significantly when users leave the office",
		deploy:     usersPlus4,
	},
	{
		Stage:      config.UsersPlus5,
		Adds:       "an SQS queue and a worker fleet scaled on backlog per worker (photo thumbnails off the upload request); a daily archive of old posts to Parquet and Redshift Serverless; per-post view counters in DynamoDB; content sharded by user over db.shards databases; optional federated identity database",
		Bottleneck: "Batch processes or computations that do not need to be done in real-time can be done Asynchronously with Queues and Workers",
		deploy:     usersPlus5,
	},
}

// Lookup returns the registry entry of s.
func Lookup(s config.Stage) Definition { return Registry[s] }

// ImplementedStages lists the seed names of the stages that can be deployed.
func ImplementedStages() []string {
	var names []string
	for _, d := range Registry {
		if d.Implemented() {
			names = append(names, d.Stage.String())
		}
	}
	return names
}

// NotImplementedError is returned for a stage that exists in the seed but not yet here.
type NotImplementedError struct{ Stage config.Stage }

func (e *NotImplementedError) Error() string {
	return fmt.Sprintf("config scaling-aws:stage = %q is not implemented yet: implemented stages are %s; set one of them (pulumi config set scaling-aws:stage %s)",
		e.Stage, strings.Join(ImplementedStages(), ", "), ImplementedStages()[len(ImplementedStages())-1])
}

// Options carries what the program needs besides config: how the app reaches the stack.
type Options struct {
	// Release builds (or, offline, only fingerprints) the app for a CPU architecture
	// ("amd64" or "arm64").
	Release release.Func
	// OnExport, when set, also receives every stack output (the offline engine records them
	// this way, since the mock monitor does not see exports).
	OnExport func(name string, value pulumi.Input)
	// ConfigKeys, when set, lists every config key of the stack, and UndecryptedKeys those
	// whose values are ciphertexts the run cannot read (offline runs: the mock engine hides
	// both). Default: the keys of PULUMI_CONFIG, none undecrypted (see PulumiSource).
	ConfigKeys      []string
	UndecryptedKeys []string
}

// Program returns the Pulumi program: read and validate config, pick the stage, deploy it,
// export the outputs. main.go runs it under `pulumi up`; the offline preview and the tests
// run the same function under the mock engine.
func Program(opts Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		src, err := PulumiSource(ctx, opts)
		if err != nil {
			return err
		}
		cfg, err := config.Load(src)
		if err != nil {
			return err
		}
		for _, w := range cfg.Warnings {
			if err := ctx.Log.Warn(w, nil); err != nil {
				return err
			}
		}
		return Deploy(ctx, cfg, opts)
	}
}

// PulumiSource reads the stack's configuration from the Pulumi context. The SDK looks
// values up one key at a time and does not list the keys, which config.Load needs to
// refuse unknown ones: under `pulumi up` they are the keys of the PULUMI_CONFIG variable,
// the JSON object of every config value in which the Go language host passes the stack's
// config to the program (pulumi-language-go constructEnv; the SDK's getEnvInfo decodes the
// same variable into the context). Offline runs give them in opts.ConfigKeys.
func PulumiSource(ctx *pulumi.Context, opts Options) (config.Source, error) {
	keys := opts.ConfigKeys
	if keys == nil {
		var err error
		if keys, err = envConfigKeys(os.Getenv(pulumi.EnvConfig)); err != nil {
			return config.Source{}, err
		}
	}
	var secret []string
	for _, k := range keys {
		if ctx.IsConfigSecret(k) {
			secret = append(secret, k)
		}
	}
	return config.Source{
		Lookup: func(key string) (string, bool) {
			v, err := pconfig.Try(ctx, key)
			return v, err == nil
		},
		Keys:        keys,
		SecretKeys:  secret,
		Undecrypted: opts.UndecryptedKeys,
	}, nil
}

// envConfigKeys lists the keys of a PULUMI_CONFIG value, sorted; an empty value (a stack
// without config) has none.
func envConfigKeys(env string) ([]string, error) {
	if env == "" {
		return []string{}, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(env), &m); err != nil {
		return nil, fmt.Errorf("read the stack's config keys from %s: %w", pulumi.EnvConfig, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Deploy registers the resources of cfg.Stage and exports the stack outputs.
func Deploy(ctx *pulumi.Context, cfg *config.Config, opts Options) error {
	def := Lookup(cfg.Stage)
	if !def.Implemented() {
		return &NotImplementedError{Stage: cfg.Stage}
	}
	if opts.Release == nil {
		return fmt.Errorf("stages: Options.Release is required")
	}
	b := &builder{ctx: ctx, cfg: cfg, opts: opts, outputs: pulumi.Map{}}
	if err := def.deploy(b); err != nil {
		return fmt.Errorf("stage %s: %w", cfg.Stage, err)
	}
	b.outputs["stage"] = pulumi.String(cfg.Stage.String())
	b.outputs["environment"] = pulumi.String(string(cfg.Environment))
	for k, v := range b.outputs {
		ctx.Export(k, v)
		if opts.OnExport != nil {
			opts.OnExport(k, v)
		}
	}
	return nil
}
