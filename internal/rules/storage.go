package rules

import (
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

func hasBuckets(e *Env) bool { return e.Has(tBucket, tLegacyBucket) }

func buckets(e *Env) []*graph.Resource { return e.Of(tBucket, tLegacyBucket) }

// companion returns the companions of type typ of a bucket (matched through their "bucket"
// input, by value or by dependency).
func (e *Env) companion(b *graph.Resource, typ string) []*graph.Resource {
	return e.Companions(b, typ, "bucket")
}

// dataBucket reports whether a bucket holds user data (tag dataClass=data).
func dataBucket(b *graph.Resource) bool { return tag(b, TagDataClass) == ClassData }

// denyInsecure reports whether a policy denies requests without TLS.
func denyInsecure(policy any) bool {
	doc, ok := parsePolicy(policy)
	if !ok {
		return false
	}
	for _, s := range doc.Statements {
		if s.Effect != "Deny" {
			continue
		}
		for _, cond := range s.Condition {
			m, _ := cond.(map[string]any)
			for k, val := range m {
				if strings.EqualFold(k, "aws:SecureTransport") {
					for _, x := range strs(val) {
						if x == "false" {
							return true
						}
					}
					if b, ok := val.(bool); ok && !b {
						return true
					}
				}
			}
		}
	}
	return false
}

func s3Rules() []Rule {
	const applies = "every aws:s3/bucketV2:BucketV2 (a legacy aws:s3/bucket:Bucket always fails)"
	one := func(e *Env, b *graph.Resource, typ, what string) (*graph.Resource, []Violation) {
		if b.Type == tLegacyBucket {
			return nil, []Violation{v("legacy aws:s3/bucket:Bucket: use s3.BucketV2 and its companion resources")}
		}
		cs := e.companion(b, typ)
		if len(cs) == 0 {
			return nil, []Violation{v("no %s for this bucket", what)}
		}
		return cs[0], nil
	}
	return []Rule{{
		ID:        "S3-1",
		Title:     "S3 public access blocked (all four settings)",
		Refs:      []string{"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "SH S3.8"},
		Applies:   applies + "; its aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		AppliesTo: hasBuckets,
		Select:    buckets,
		Check: func(e *Env, b *graph.Resource) []Violation {
			c, out := one(e, b, tPAB, "public access block")
			if c == nil {
				return out
			}
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				if !boolIs(c, k, true) {
					out = append(out, vOn(c, "%s must be true", k))
				}
			}
			return out
		},
	}, {
		ID:        "S3-2",
		Title:     "S3 default encryption explicit",
		Refs:      []string{"CKV_AWS_19", "CKV_AWS_145", "SH S3.17"},
		Applies:   applies + "; its aws:s3/bucketServerSideEncryptionConfigurationV2",
		AppliesTo: hasBuckets,
		Select:    buckets,
		Check: func(e *Env, b *graph.Resource) []Violation {
			c, out := one(e, b, tSSE, "server-side encryption configuration")
			if c == nil {
				return out
			}
			if c.String("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") == "" {
				out = append(out, vOn(c, "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm must be set"))
			}
			return out
		},
	}, {
		ID:        "S3-3",
		Title:     "S3 ACLs disabled (BucketOwnerEnforced)",
		Refs:      []string{"CKV2_AWS_65", "SH S3.12"},
		Applies:   applies + "; its aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		AppliesTo: hasBuckets,
		Select:    buckets,
		Check: func(e *Env, b *graph.Resource) []Violation {
			c, out := one(e, b, tOwnership, "ownership controls")
			if c == nil {
				return out
			}
			if c.String("rule.objectOwnership") != "BucketOwnerEnforced" {
				out = append(out, vOn(c, "rule.objectOwnership must be BucketOwnerEnforced, got %q", c.String("rule.objectOwnership")))
			}
			return out
		},
	}, {
		ID:        "S3-4",
		Title:     "S3 bucket policy denies requests without TLS",
		Refs:      []string{"SH S3.5", "CKV_AWS_379"},
		Applies:   applies + "; its aws:s3/bucketPolicy:BucketPolicy must Deny when aws:SecureTransport is false",
		AppliesTo: hasBuckets,
		Select:    buckets,
		Check: func(e *Env, b *graph.Resource) []Violation {
			c, out := one(e, b, tBucketPolicy, "bucket policy")
			if c == nil {
				return out
			}
			if !denyInsecure(c.Inputs["policy"]) {
				out = append(out, vOn(c, "policy has no Deny statement on aws:SecureTransport = false"))
			}
			return out
		},
	}, {
		ID:    "S3-5",
		Title: "data buckets versioned and access-logged to a log bucket",
		Refs:  []string{"CKV_AWS_21", "CKV_AWS_18", "SH S3.9", "REL09-BP02"},
		Applies: "every aws:s3/bucketV2:BucketV2 tagged dataClass=data; its aws:s3/bucketVersioningV2 (Enabled) and aws:s3/bucketLoggingV2 " +
			"(targetBucket, a bucket tagged dataClass=logs when it is in the stack); applies from stage 1 (users+: the object store " +
			"for user files) whenever a bucket exists; stage 0 holds only the artifact bucket",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsersPlus && hasBuckets(e) },
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, b := range e.Of(tBucket) {
				if dataBucket(b) {
					out = append(out, b)
				}
			}
			return out
		},
		Check: func(e *Env, b *graph.Resource) []Violation {
			var out []Violation
			vs := e.companion(b, tVersioning)
			if len(vs) == 0 {
				out = append(out, v("no bucketVersioningV2 for this data bucket"))
			} else if vs[0].String("versioningConfiguration.status") != "Enabled" {
				out = append(out, vOn(vs[0], "versioningConfiguration.status must be Enabled"))
			}
			ls := e.companion(b, tLogging)
			if len(ls) == 0 {
				out = append(out, v("no bucketLoggingV2 for this data bucket"))
				return out
			}
			if ls[0].String("targetBucket") == "" {
				out = append(out, vOn(ls[0], "targetBucket must be set"))
			}
			for _, t := range e.Refs(ls[0], "targetBucket", tBucket) {
				if t == b || tag(t, TagDataClass) != ClassLogs {
					out = append(out, vOn(ls[0], "access logs go to %s, which is not a log bucket (dataClass=logs)", t.Name))
				}
			}
			return out
		},
	}, {
		ID:        "S3-6",
		Title:     "every bucket declares its data class",
		Refs:      []string{"SECURITY.md S3"},
		Applies:   applies + "; the dataClass tag must be data, logs or artifacts (so S3-5 and STATE-1 never miss a data bucket)",
		AppliesTo: hasBuckets,
		Select:    buckets,
		Check: func(e *Env, b *graph.Resource) []Violation {
			if b.Type == tLegacyBucket {
				return []Violation{v("legacy aws:s3/bucket:Bucket: use s3.BucketV2 and its companion resources")}
			}
			switch tag(b, TagDataClass) {
			case ClassData, ClassLogs, ClassArtifact:
				return nil
			}
			return []Violation{v("tag %s must be %q, %q or %q, got %q", TagDataClass, ClassData, ClassLogs, ClassArtifact, tag(b, TagDataClass))}
		},
	}}
}

func hasCDN(e *Env) bool { return e.Has(tDistribution) }

func cdns(e *Env) []*graph.Resource { return e.Of(tDistribution) }

func cdnRules() []Rule {
	const applies = "every aws:cloudfront/distribution:Distribution"
	return []Rule{{
		ID:        "CF-1",
		Title:     "CloudFront viewers redirected to HTTPS on every cache behavior",
		Refs:      []string{"CKV_AWS_34", "SH CloudFront.3"},
		Applies:   applies,
		AppliesTo: hasCDN,
		Select:    cdns,
		Check: func(e *Env, r *graph.Resource) []Violation {
			ok := func(p string) bool { return p == "redirect-to-https" || p == "https-only" }
			var out []Violation
			if p := r.String("defaultCacheBehavior.viewerProtocolPolicy"); !ok(p) {
				out = append(out, v("defaultCacheBehavior.viewerProtocolPolicy must be redirect-to-https or https-only, got %q", p))
			}
			for i, b := range list(r, "orderedCacheBehaviors") {
				m, _ := b.(map[string]any)
				if p := mstr(m, "viewerProtocolPolicy"); !ok(p) {
					out = append(out, v("orderedCacheBehaviors[%d] (%s).viewerProtocolPolicy must be redirect-to-https or https-only, got %q", i, mstr(m, "pathPattern"), p))
				}
			}
			return out
		},
	}, {
		ID:        "CF-2",
		Title:     "CloudFront modern minimum TLS with a custom certificate",
		Refs:      []string{"CKV_AWS_174", "SH CloudFront.7"},
		Applies:   applies + "; with viewerCertificate.acmCertificateArn (or iamCertificateId) the minimum is TLSv1.2_2021 or later and SNI",
		AppliesTo: hasCDN,
		Select:    cdns,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.String("viewerCertificate.acmCertificateArn") == "" && r.String("viewerCertificate.iamCertificateId") == "" {
				if !boolIs(r, "viewerCertificate.cloudfrontDefaultCertificate", true) {
					return []Violation{v("viewerCertificate must name a certificate or cloudfrontDefaultCertificate")}
				}
				return nil
			}
			var out []Violation
			switch p := r.String("viewerCertificate.minimumProtocolVersion"); p {
			case "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025":
			default:
				out = append(out, v("viewerCertificate.minimumProtocolVersion must be TLSv1.2_2021 or later, got %q", p))
			}
			if r.String("viewerCertificate.sslSupportMethod") != "sni-only" {
				out = append(out, v("viewerCertificate.sslSupportMethod must be sni-only"))
			}
			return out
		},
	}, {
		ID:        "CF-3",
		Title:     "CloudFront S3 origins through Origin Access Control, never a legacy OAI",
		Refs:      []string{"CKV2_AWS_46", "SH CloudFront.13"},
		Applies:   applies + "; an origin without customOriginConfig or vpcOriginConfig is an S3 origin and needs originAccessControlId",
		AppliesTo: hasCDN,
		Select:    cdns,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			for i, o := range list(r, "origins") {
				m, _ := o.(map[string]any)
				id := mstr(m, "originId")
				if oai, _ := m["s3OriginConfig"].(map[string]any); mstr(oai, "originAccessIdentity") != "" {
					out = append(out, v("origin %d (%s) uses a legacy origin access identity; use originAccessControlId", i, id))
					continue
				}
				if m["customOriginConfig"] == nil && m["vpcOriginConfig"] == nil && mstr(m, "originAccessControlId") == "" {
					out = append(out, v("S3 origin %d (%s) has no originAccessControlId", i, id))
				}
			}
			if len(list(r, "origins")) == 0 {
				out = append(out, v("no origins"))
			}
			return out
		},
	}, {
		ID:        "CF-4",
		Title:     "CloudFront access logging on (legacy loggingConfig, or standard logging v2 delivered to S3)",
		Refs:      []string{"CKV_AWS_86", "SH CloudFront.5"},
		Applies:   applies,
		AppliesTo: hasCDN,
		Select:    cdns,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.String("loggingConfig.bucket") != "" || e.logDeliveryOf(r) {
				return nil
			}
			return []Violation{v("no access logs: set loggingConfig.bucket, or deliver ACCESS_LOGS through a cloudwatch LogDeliverySource and LogDelivery")}
		},
	}}
}

// redrive decodes a queue's redrivePolicy (a JSON string or an object).
func redrive(r *graph.Resource) map[string]any {
	switch x := r.Inputs["redrivePolicy"].(type) {
	case map[string]any:
		return x
	case string:
		var m map[string]any
		if err := jsonUnmarshal(x, &m); err == nil {
			return m
		}
	}
	return nil
}

// dlqs returns the queues some redrive policy points to, and queues tagged role=dlq.
func (e *Env) dlqs() map[*graph.Resource]bool {
	out := map[*graph.Resource]bool{}
	for _, q := range e.Of(tQueue) {
		if tag(q, TagRole) == RoleDLQ {
			out[q] = true
		}
		if rp := redrive(q); rp != nil {
			if arn := mstr(rp, "deadLetterTargetArn"); arn != "" {
				for _, d := range e.RefsOf(q, []string{arn}, tQueue) {
					out[d] = true
				}
			}
		}
	}
	return out
}

// logDeliveryOf reports whether a distribution's ACCESS_LOGS are delivered by standard
// logging v2: a LogDeliverySource whose resourceArn is the distribution, and a LogDelivery
// from that source.
func (e *Env) logDeliveryOf(dist *graph.Resource) bool {
	for _, src := range e.Of(tLogDeliverySource) {
		if src.String("logType") != "ACCESS_LOGS" || !e.RefersTo(src, "resourceArn", dist) {
			continue
		}
		for _, d := range e.Of(tLogDelivery) {
			if e.RefersTo(d, "deliverySourceName", src) {
				return true
			}
		}
	}
	return false
}

// usesStackKey reports whether the value at path of r names a customer-managed key of the
// stack (an aws:kms/key:Key it refers to), as opposed to an AWS-managed key ("alias/aws/...")
// or none.
func (e *Env) usesStackKey(r *graph.Resource, path string) bool {
	v, _ := r.Lookup(path)
	s, _ := v.(string)
	return e.namesKey(r, s)
}

// namesKey reports whether value s of r names a key of the stack: one of its identities, or,
// as a mock engine's ARNs are opaque, a key r depends on (an input taken from the key's ARN).
func (e *Env) namesKey(r *graph.Resource, s string) bool {
	if s == "" || strings.Contains(s, "alias/aws/") {
		return false
	}
	for _, k := range e.Of(tKey) {
		if e.Matches(k, s) || e.DependsOn(r, k) {
			return true
		}
	}
	return false
}

// keyHolders are, per resource type, the inputs naming the key that encrypts its data.
var keyHolders = map[string][]string{
	tRDS:      {"kmsKeyId"},
	tVolume:   {"kmsKeyId"},
	tLogGroup: {"kmsKeyId"},
	tSecret:   {"kmsKeyId"},
	tTopic:    {"kmsMasterKeyId"},
	tInstance: {"rootBlockDevice.kmsKeyId"},
	tRedis:    {"kmsKeyId"},
	tTable:    {"serverSideEncryption.kmsKeyArn"},
	// A Serverless namespace takes the stack's key in every environment (RS-2).
	tNamespace: {"kmsKeyId"},
	// Buckets (through their encryption companion) and launch templates (every block
	// device) are checked in KMS-2 itself.
}

func keyRules() []Rule {
	return []Rule{{
		ID:    "KMS-1",
		Title: "customer-managed keys rotate and have a policy that keeps the account in control",
		Refs:  []string{"CKV_AWS_7", "CKV_AWS_33", "SH KMS.4", "AWS KMS developer guide: default key policy"},
		Applies: "every aws:kms/key:Key: enableKeyRotation true; bypassPolicyLockoutSafetyCheck not true; an explicit policy with an Allow of kms:* " +
			"to the account root (KMS refuses, or with the bypass accepts, a policy that locks the account out); no Allow to every principal without a condition",
		AppliesTo: func(e *Env) bool { return e.Has(tKey) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tKey) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "enableKeyRotation", true) {
				out = append(out, v("enableKeyRotation must be true"))
			}
			if boolIs(r, "bypassPolicyLockoutSafetyCheck", true) {
				out = append(out, v("bypassPolicyLockoutSafetyCheck must not be true: KMS's lockout check is what keeps the key manageable"))
			}
			doc, ok := parsePolicy(r.Inputs["policy"])
			if !ok {
				return append(out, v("policy must be an explicit key policy (JSON)"))
			}
			root := false
			for i, s := range doc.Statements {
				if s.Effect != "Allow" {
					continue
				}
				if s.anyPrincipal() && s.Condition == nil {
					out = append(out, v("statement %d (%s) allows every principal without a condition", i, s.Sid))
				}
				for _, p := range s.principals() {
					if strings.HasPrefix(p, "AWS:arn:") && strings.HasSuffix(p, ":root") && s.Condition == nil {
						for _, a := range s.Actions {
							root = root || a == "kms:*"
						}
					}
				}
			}
			if !root {
				out = append(out, v("policy must allow kms:* to the account root (arn:aws:iam::<account>:root) without a condition, or the key can lock its account out"))
			}
			return out
		},
	}, {
		ID:    "KMS-2",
		Title: "prod data is encrypted with the stack's own key",
		Refs:  []string{"CKV_AWS_149", "CKV_AWS_158", "CKV_AWS_189", "CKV_AWS_145", "CKV_AWS_26", "AVD-AWS-0017", "AVD-AWS-0095"},
		Applies: "in prod: every aws:rds/instance:Instance without replicateSourceDb (kmsKeyId), aws:ebs/volume:Volume (kmsKeyId), " +
			"aws:ec2/instance:Instance (rootBlockDevice.kmsKeyId), aws:ec2/launchTemplate:LaunchTemplate (every blockDeviceMappings[].ebs.kmsKeyId), " +
			"aws:cloudwatch/logGroup:LogGroup, aws:secretsmanager/secret:Secret, aws:elasticache/replicationGroup:ReplicationGroup and aws:redshiftserverless/namespace:Namespace (kmsKeyId), " +
			"aws:dynamodb/table:Table (serverSideEncryption.kmsKeyArn), aws:sns/topic:Topic (kmsMasterKeyId), and " +
			"aws:s3/bucketV2:BucketV2 tagged dataClass=data or artifacts (SSE aws:kms with kmsMasterKeyId) must name an aws:kms/key:Key of the stack; " +
			"log buckets stay SSE-S3 (load balancer logs are delivered only there); replicas inherit their source's key",
		AppliesTo: func(e *Env) bool {
			return e.Ctx.Prod() && e.Has(tKey, tRDS, tVolume, tLogGroup, tSecret, tTopic, tBucket, tLaunchTemplate, tRedis, tTable, tNamespace)
		},
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, r := range e.Of(tRDS, tVolume, tLogGroup, tSecret, tTopic, tInstance, tLaunchTemplate, tBucket, tRedis, tTable, tNamespace) {
				switch {
				case r.Type == tRDS && replica(r):
				case r.Type == tBucket && tag(r, TagDataClass) == ClassLogs:
				default:
					out = append(out, r)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			switch r.Type {
			case tBucket:
				cs := e.companion(r, tSSE)
				if len(cs) == 0 {
					return []Violation{v("no server-side encryption configuration")}
				}
				if cs[0].String("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" ||
					!e.usesStackKey(cs[0], "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId") {
					return []Violation{vOn(cs[0], "default encryption must be aws:kms with the stack's key (kmsMasterKeyId) in prod")}
				}
				return nil
			case tLaunchTemplate:
				var out []Violation
				for i, b := range list(r, "blockDeviceMappings") {
					bm, _ := b.(map[string]any)
					ebs, _ := bm["ebs"].(map[string]any)
					if ebs == nil {
						continue
					}
					if !e.namesKey(r, mstr(ebs, "kmsKeyId")) {
						out = append(out, v("blockDeviceMappings[%d].ebs.kmsKeyId must name the stack's key in prod", i))
					}
				}
				return out
			}
			for _, path := range keyHolders[r.Type] {
				if !e.usesStackKey(r, path) {
					return []Violation{v("%s must name the stack's key in prod, got %q", path, r.String(path))}
				}
			}
			return nil
		},
	}}
}
