package offline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaling-aws/scaling-aws/config"
	"github.com/scaling-aws/scaling-aws/internal/graph"
	"github.com/scaling-aws/scaling-aws/stages"
)

// root is the project root, seen from this package.
const root = "../.."

func runStack(t *testing.T, stack string, override map[string]string, secretKeys ...string) (*graph.Graph, error) {
	t.Helper()
	cfg, secrets, err := LoadStackConfig(root, stack)
	require.NoError(t, err)
	for k, v := range override {
		cfg[k] = v
	}
	return Run(RunOptions{Stack: stack, Config: cfg, SecretKeys: append(secrets, secretKeys...), Root: root})
}

func TestRunSingleBox(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			g, err := runStack(t, stack, map[string]string{"scaling-aws:stage": "single-box"})
			require.NoError(t, err)
			assert.Equal(t, graph.SchemaVersion, g.Schema)
			assert.Equal(t, "scaling-aws", g.Project)
			assert.Equal(t, stack, g.Stack)

			network := g.ByName("scaling-aws:network:Network", "network")
			require.NotNil(t, network, "the network component is recorded")
			assert.False(t, network.Custom)
			assert.Equal(t, "", network.Parent, "components at the top are children of the stack")
			assert.Equal(t, "urn:pulumi:"+stack+"::scaling-aws::scaling-aws:network:Network::network", network.URN)

			vpc := g.ByName("aws:ec2/vpc:Vpc", "network")
			require.NotNil(t, vpc)
			assert.True(t, vpc.Custom)
			assert.Equal(t, network.URN, vpc.Parent)
			assert.Equal(t, "urn:pulumi:"+stack+"::scaling-aws::scaling-aws:network:Network$aws:ec2/vpc:Vpc::network", vpc.URN)
			assert.Equal(t, "10.0.0.0/16", vpc.String("cidrBlock"))
			assert.True(t, vpc.Bool("enableDnsHostnames"))

			// Dependencies through inputs are recorded: the subnets depend on the VPC.
			subnets := g.ByType("aws:ec2/subnet:Subnet")
			require.NotEmpty(t, subnets)
			assert.Contains(t, subnets[0].Dependencies, vpc.URN)
			assert.True(t, strings.HasPrefix(subnets[0].String("vpcId"), "vpc-"), "mocked ids flow into inputs")

			for _, r := range g.Resources {
				assertPlainJSON(t, r.URN, r.Inputs)
			}
			assert.Equal(t, "single-box", g.Outputs["stage"])
			assert.Equal(t, stack, g.Outputs["environment"])
			assert.Regexp(t, `^http://203\.0\.113\.\d+$`, g.Outputs["url"])

			protected := 0
			for _, r := range g.Resources {
				if r.Protect {
					protected++
				}
			}
			if stack == "prod" {
				assert.Positive(t, protected, "prod protects stateful resources")
			} else {
				assert.Zero(t, protected, "dev protects nothing")
			}
		})
	}
}

// assertPlainJSON checks that v holds only what encoding/json produces.
func assertPlainJSON(t *testing.T, where string, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, bool, float64, string:
	case []any:
		for _, e := range x {
			assertPlainJSON(t, where, e)
		}
	case map[string]any:
		for _, e := range x {
			assertPlainJSON(t, where, e)
		}
	default:
		t.Errorf("%s: input value %#v (%T) is not plain JSON", where, v, v)
	}
}

func TestRunSecretConfigNeverInGraph(t *testing.T) {
	const email = "ops-7f3a9c@example.com"
	g, err := runStack(t, "dev", map[string]string{"scaling-aws:alarmEmail": email}, "scaling-aws:alarmEmail")
	require.NoError(t, err)
	data, err := json.Marshal(g)
	require.NoError(t, err)
	assert.NotContains(t, string(data), email)
	assert.NotContains(t, string(data), "ops-7f3a9c")

	subs := g.ByType("aws:sns/topicSubscription:TopicSubscription")
	require.Len(t, subs, 1, "the alarm email is subscribed")
	assert.Equal(t, graph.SecretMarker, subs[0].Inputs["endpoint"])
	assert.Contains(t, subs[0].SecretInputs, "endpoint")
}

func TestRunConfigErrorUnchanged(t *testing.T) {
	_, err := runStack(t, "dev", map[string]string{"scaling-aws:stage": "users+++++++"})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "config scaling-aws:stage = \"users+++++++\""), err.Error())
}

// optionsProgram registers a component with one protected, retained child that takes a
// secret input and depends explicitly on a sibling, and exports a plain and a secret output.
func optionsProgram(opts stages.Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		var comp struct{ pulumi.ResourceState }
		if err := ctx.RegisterComponentResource("test:index:Thing", "thing", &comp); err != nil {
			return err
		}
		var first, second struct{ pulumi.CustomResourceState }
		if err := ctx.RegisterResource("aws:sqs/queue:Queue", "first", pulumi.Map{}, &first, pulumi.Parent(&comp)); err != nil {
			return err
		}
		err := ctx.RegisterResource("aws:rds/instance:Instance", "db", pulumi.Map{
			"engine":   pulumi.String("mysql"),
			"password": pulumi.ToSecret(pulumi.String("hunter2-not-real")),
		}, &second, pulumi.Parent(&comp), pulumi.Protect(true), pulumi.RetainOnDelete(true),
			pulumi.IgnoreChanges([]string{"password", "engine"}), pulumi.DeleteBeforeReplace(true),
			pulumi.DependsOn([]pulumi.Resource{&first}))
		if err != nil {
			return err
		}
		opts.OnExport("plain", pulumi.String("hello"))
		opts.OnExport("secret", pulumi.ToSecret(pulumi.String("hunter2-not-real")))
		return nil
	}
}

func TestRunRecordsOptions(t *testing.T) {
	g, err := Run(RunOptions{Stack: "test", Config: map[string]string{"aws:region": "eu-west-1"}, Root: root, Program: optionsProgram})
	require.NoError(t, err)
	require.Len(t, g.Resources, 3)
	assert.Equal(t, []string{"test:index:Thing", "aws:sqs/queue:Queue", "aws:rds/instance:Instance"},
		[]string{g.Resources[0].Type, g.Resources[1].Type, g.Resources[2].Type}, "program order")

	comp, queue, db := g.Resources[0], g.Resources[1], g.Resources[2]
	assert.False(t, comp.Custom)
	assert.Equal(t, "urn:pulumi:test::scaling-aws::test:index:Thing$aws:rds/instance:Instance::db", db.URN)
	assert.Equal(t, comp.URN, db.Parent)
	assert.True(t, db.Protect)
	assert.True(t, db.RetainOnDelete)
	assert.True(t, db.DeleteBeforeReplace)
	assert.Equal(t, []string{"engine", "password"}, db.IgnoreChanges)
	assert.Equal(t, []string{queue.URN}, db.Dependencies)
	assert.Equal(t, graph.SecretMarker, db.Inputs["password"])
	assert.Equal(t, []string{"password"}, db.SecretInputs)
	assert.False(t, queue.Protect)

	assert.Equal(t, map[string]any{"plain": "hello", "secret": graph.SecretMarker}, g.Outputs)
	data, _ := json.Marshal(g)
	assert.NotContains(t, string(data), "hunter2")
}

func TestRunUnknownInvokeNamesToken(t *testing.T) {
	program := func(stages.Options) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			var out map[string]any
			return ctx.Invoke("aws:ec2/getVpc:getVpc", map[string]any{}, &out)
		}
	}
	_, err := Run(RunOptions{Stack: "test", Root: root, Program: program})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aws:ec2/getVpc:getVpc")
}

func TestLoadStackConfig(t *testing.T) {
	dev, secrets, err := LoadStackConfig(root, "dev")
	require.NoError(t, err)
	assert.Empty(t, secrets)
	assert.Equal(t, "us-east-1", dev["aws:region"])
	assert.Equal(t, "2", dev["scaling-aws:azCount"])
	assert.JSONEq(t, `{"instanceType":"t3.small","dataVolumeGb":20}`, dev["scaling-aws:box"])
	assert.JSONEq(t, `{"tags":{"project":"scaling-aws","environment":"dev"}}`, dev["aws:defaultTags"])

	prod, _, err := LoadStackConfig(root, "prod")
	require.NoError(t, err)
	assert.Equal(t, "prod", prod["scaling-aws:environment"])
	assert.Equal(t, "3", prod["scaling-aws:azCount"])
	assert.Contains(t, prod, "scaling-aws:box")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.s.yaml"), []byte(`config:
  stage: users+
  scaling-aws:alarmEmail:
    secure: v1:abc==
  scaling-aws:db:
    instanceClass: db.t4g.micro
    password:
      secure: v1:def==
  scaling-aws:adminCidrs: ["203.0.113.7/32"]
  scaling-aws:enabled: true
`), 0o600))
	cfg, secrets, err := LoadStackConfig(dir, "s")
	require.NoError(t, err)
	assert.Equal(t, "users+", cfg["scaling-aws:stage"], "a bare key takes the project namespace")
	assert.Equal(t, SecretPlaceholder, cfg["scaling-aws:alarmEmail"])
	assert.JSONEq(t, `{"instanceClass":"db.t4g.micro","password":"[secret]"}`, cfg["scaling-aws:db"])
	assert.Equal(t, `["203.0.113.7/32"]`, cfg["scaling-aws:adminCidrs"])
	assert.Equal(t, "true", cfg["scaling-aws:enabled"])
	assert.Equal(t, []string{"scaling-aws:alarmEmail", "scaling-aws:db"}, secrets)

	_, _, err = LoadStackConfig(dir, "missing")
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "Pulumi.missing.yaml"))
}

func TestMockAnswers(t *testing.T) {
	m := NewMocks("eu-west-1")
	m.project, m.stack = "p", "s"
	answer := func(typ, name string, in map[string]any) (string, resource.PropertyMap) {
		return m.answer(typ, name, m.urn("", typ, name), resource.NewPropertyMapFromMap(in), true)
	}

	id, out := answer("aws:ec2/vpc:Vpc", "net", nil)
	assert.Regexp(t, `^vpc-[0-9a-f]{17}$`, id)
	assert.Equal(t, "arn:aws:ec2:eu-west-1:123456789012:vpc/"+id, out["arn"].StringValue())

	id, out = answer("aws:s3/bucketV2:BucketV2", "Assets", nil)
	assert.Regexp(t, `^assets-[0-9a-f]{7}$`, id, "auto-named, lower case")
	assert.Equal(t, "arn:aws:s3:::"+id, out["arn"].StringValue())
	assert.Equal(t, id+".s3.eu-west-1.amazonaws.com", out["bucketRegionalDomainName"].StringValue())

	id, out = answer("aws:lb/loadBalancer:LoadBalancer", "web", map[string]any{"name": "web-lb"})
	assert.Regexp(t, `^arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web-lb/[0-9a-f]{16}$`, id)
	assert.Regexp(t, `^web-lb-\d+\.eu-west-1\.elb\.amazonaws\.com$`, out["dnsName"].StringValue())
	assert.Equal(t, "Z32O12XQLNTSW2", out["zoneId"].StringValue())
	assert.Equal(t, "web-lb", out["name"].StringValue(), "inputs win over mocked attributes")

	_, out = answer("aws:rds/instance:Instance", "db", map[string]any{"engine": "mysql", "manageMasterUserPassword": true})
	assert.Equal(t, 3306.0, out["port"].NumberValue())
	assert.Regexp(t, `^db-[0-9a-f]{7}\.[0-9a-f]{12}\.eu-west-1\.rds\.amazonaws\.com:3306$`, out["endpoint"].StringValue())
	assert.True(t, out.HasValue("masterUserSecrets"))

	_, out = answer("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", map[string]any{"serviceName": "com.amazonaws.eu-west-1.s3", "vpcEndpointType": "Gateway"})
	assert.Regexp(t, `^pl-[0-9a-f]{8}$`, out["prefixListId"].StringValue())

	id, out = answer("aws:newmodule/widget:Widget", "w", nil)
	assert.Regexp(t, `^widget-[0-9a-f]{17}$`, id, "types without an entry get the default")
	assert.Equal(t, "arn:aws:newmodule:eu-west-1:123456789012:widget/"+id, out["arn"].StringValue())

	doc, err := getPolicyDocument(m, map[string]any{"statements": []any{map[string]any{
		"actions":    []any{"s3:GetObject"},
		"resources":  []any{"arn:aws:s3:::b/*", "arn:aws:s3:::b"},
		"principals": []any{map[string]any{"type": "Service", "identifiers": []any{"ec2.amazonaws.com"}}},
		"conditions": []any{map[string]any{"test": "Bool", "variable": "aws:SecureTransport", "values": []any{"false"}}},
	}}})
	require.NoError(t, err)
	assert.Equal(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, doc["minifiedJson"])

	azs, err := getAvailabilityZones(m, nil)
	require.NoError(t, err)
	assert.Equal(t, []any{"eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"}, azs["names"])
	assert.Equal(t, "euw1-az1", azs["zoneIds"].([]any)[0])
}

// writeStack writes Pulumi.<stack>.yaml under a temporary root and returns the root.
func writeStack(t *testing.T, stack, body string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(body), 0o600))
	return dir
}

// TestStackConfigUnknownKeys: a misspelled key in a stack file or an override fails the
// run (the program sees every key), with the closest key as the fix.
func TestStackConfigUnknownKeys(t *testing.T) {
	dir := writeStack(t, "s", "config:\n  aws:region: us-east-1\n  scaling-aws:azcount: \"3\"\n")
	cfg, secrets, err := LoadStackConfig(dir, "s")
	require.NoError(t, err)
	_, err = Run(RunOptions{Stack: "s", Config: cfg, SecretKeys: secrets, Root: root})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `config scaling-aws:azcount = "3" is invalid: scaling-aws has no setting azcount; did you mean azCount?`)

	_, err = runStack(t, "dev", map[string]string{"scaling-aws:totallyUnknown": "1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scaling-aws has no setting totallyUnknown")

	// Another namespace is warned about, not refused.
	c, err := config.Load(ConfigSource(map[string]string{"aws:region": "us-east-1", "aws:regoin": "eu-west-1"}, nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"config aws:regoin is not a setting of the aws provider and is ignored; did you mean aws:region?"}, c.Warnings)
	_, err = runStack(t, "dev", map[string]string{"aws:regoin": "eu-west-1"})
	require.NoError(t, err)

	for _, stack := range []string{"dev", "prod"} {
		cfg, secrets, err := LoadStackConfig(root, stack)
		require.NoError(t, err)
		c, err := config.Load(ConfigSource(cfg, secrets))
		require.NoError(t, err, stack)
		assert.Empty(t, c.Warnings, "the project's own stack %s is clean", stack)
	}
}

// TestStackConfigSecureOffline: a secure value cannot be decrypted offline; the run says
// so and goes on, instead of judging the placeholder as the value.
func TestStackConfigSecureOffline(t *testing.T) {
	dir := writeStack(t, "s", `config:
  aws:region: us-east-1
  scaling-aws:stage: users+
  scaling-aws:dbPassword:
    secure: v1:AAAABBBBCCCC==
`)
	cfg, secrets, err := LoadStackConfig(dir, "s")
	require.NoError(t, err)
	src := ConfigSource(cfg, secrets)
	assert.Equal(t, []string{"scaling-aws:dbPassword"}, src.Undecrypted)
	c, err := config.Load(src)
	require.NoError(t, err)
	require.Len(t, c.Warnings, 1)
	assert.Contains(t, c.Warnings[0], "config scaling-aws:dbPassword holds a secure value this run cannot decrypt")
	_, err = Run(RunOptions{Stack: "s", Config: cfg, SecretKeys: secrets, Root: root})
	require.NoError(t, err, "the placeholder is not judged as a password")

	// An override is a real value again, and is checked.
	cfg["scaling-aws:dbPassword"] = "short"
	_, err = Run(RunOptions{Stack: "s", Config: cfg, SecretKeys: secrets, Root: root})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config scaling-aws:dbPassword = \"[secret]\" is invalid: it has 5 characters")
}

// TestStackConfigFileErrors: a malformed stack file is explained in words, with the line,
// not in the YAML parser's Go types.
func TestStackConfigFileErrors(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"config is a list":     {"config:\n  - scaling-aws:stage\n", "line 2: config: must be a mapping of keys to values (scaling-aws:stage: users+), not a list"},
		"file is a list":       {"- config\n", "line 1: the file must be a mapping with a config: section, not a list"},
		"key set twice":        {"config:\n  scaling-aws:stage: users+\n  stage: single-box\n", "line 3: config scaling-aws:stage is set twice (lines 2 and 3); keep one"},
		"field set twice":      {"config:\n  scaling-aws:box:\n    dataVolumeGb: 20\n    dataVolumeGb: 30\n", "line 4: field dataVolumeGb is set twice"},
		"a key that is a list": {"config:\n  [a, b]: 1\n", "a config key must be a name such as scaling-aws:stage, not a list"},
		"bad yaml":             {"config:\n  stage: [\n", "is not valid YAML: "},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeStack(t, "s", c.body)
			_, _, err := LoadStackConfig(dir, "s")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "unmarshal")
			assert.NotContains(t, err.Error(), "yaml.Node")
		})
	}
}
