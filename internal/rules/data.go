package rules

import (
	"regexp"
	"strings"

	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// replica reports whether an RDS instance is a read replica.
func replica(r *graph.Resource) bool { return r.String("replicateSourceDb") != "" }

func hasRDS(e *Env) bool { return e.Has(tRDS) }

func rdsAll(e *Env) []*graph.Resource { return e.Of(tRDS) }

func rdsPrimaries(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range e.Of(tRDS) {
		if !replica(r) {
			out = append(out, r)
		}
	}
	return out
}

func rdsRules() []Rule {
	const all = "every aws:rds/instance:Instance"
	const primaries = "every aws:rds/instance:Instance without replicateSourceDb (replicas inherit it from their source)"
	return []Rule{{
		ID:        "RDS-1",
		Title:     "RDS storage encrypted",
		Refs:      []string{"CKV_AWS_16", "SH RDS.3"},
		Applies:   primaries + "; applies whenever an RDS instance exists",
		AppliesTo: hasRDS,
		Select:    rdsPrimaries,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "storageEncrypted", true) {
				return []Violation{v("storageEncrypted must be true")}
			}
			return nil
		},
	}, {
		ID:        "RDS-2",
		Title:     "RDS never publicly accessible (set explicitly), in a subnet group",
		Refs:      []string{"CKV_AWS_17", "SH RDS.2"},
		Applies:   all + "; dbSubnetGroupName is required on primaries (a same-region replica takes its source's)",
		AppliesTo: hasRDS,
		Select:    rdsAll,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "publiclyAccessible", false) {
				out = append(out, v("publiclyAccessible must be set to false explicitly"))
			}
			if !replica(r) && r.String("dbSubnetGroupName") == "" {
				out = append(out, v("dbSubnetGroupName must name a private subnet group"))
			}
			return out
		},
	}, {
		ID:        "RDS-3",
		Title:     "RDS Multi-AZ from users++",
		Refs:      []string{"CKV_AWS_157", "SH RDS.5", "REL10-BP01"},
		Applies:   primaries + ", from stage 2 (users++: master-standby failover)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Stage >= StageUsersPP && hasRDS(e) },
		Select:    rdsPrimaries,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !boolIs(r, "multiAz", true) {
				return []Violation{v("multiAz must be true from stage %d", StageUsersPP)}
			}
			return nil
		},
	}, {
		ID:        "RDS-4",
		Title:     "RDS backup retention 7 to 35 days, and above zero on every replica source",
		Refs:      []string{"CKV_AWS_133", "SH RDS.11", "REL09-BP03"},
		Applies:   all + "; primaries need 7..35 days, a replica's source needs > 0",
		AppliesTo: hasRDS,
		Select:    rdsAll,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if replica(r) {
				for _, src := range e.Refs(r, "replicateSourceDb", tRDS) {
					if n, _ := src.Number("backupRetentionPeriod"); n <= 0 {
						return []Violation{v("its source %s has no backups (backupRetentionPeriod %g): replicas need them", src.Name, n)}
					}
					return nil
				}
				return []Violation{v("replicateSourceDb names no RDS instance of the stack")}
			}
			n, ok := r.Number("backupRetentionPeriod")
			if !ok || n < 7 || n > 35 {
				return []Violation{v("backupRetentionPeriod must be set explicitly to 7..35 days")}
			}
			return nil
		},
	}, {
		ID:        "RDS-5",
		Title:     "RDS deletion protection and a final snapshot in prod",
		Refs:      []string{"CKV_AWS_293", "SH RDS.8", "REL09-BP03"},
		Applies:   all + ", in prod; replicas need deletion protection only (a MySQL replica has no final snapshot)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Prod() && hasRDS(e) },
		Select:    rdsAll,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "deletionProtection", true) {
				out = append(out, v("deletionProtection must be true in prod"))
			}
			if !replica(r) {
				if !boolIs(r, "skipFinalSnapshot", false) {
					out = append(out, v("skipFinalSnapshot must be set to false explicitly in prod"))
				}
				if r.String("finalSnapshotIdentifier") == "" {
					out = append(out, v("finalSnapshotIdentifier must be set in prod"))
				}
			}
			return out
		},
	}, {
		ID:        "RDS-6",
		Title:     "RDS master password managed by Secrets Manager or passed as a secret",
		Refs:      []string{"CKV_AWS_161", "SH RDS.10", "CKV_AWS_46"},
		Applies:   primaries,
		AppliesTo: hasRDS,
		Select:    rdsPrimaries,
		Check: func(e *Env, r *graph.Resource) []Violation {
			_, hasPw := r.Inputs["password"]
			switch {
			case hasPw && !secretInput(r, "password"):
				return []Violation{v("password is plain text; use manageMasterUserPassword or a Pulumi secret")}
			case !hasPw && !boolIs(r, "manageMasterUserPassword", true):
				return []Violation{v("no password: manageMasterUserPassword must be true")}
			}
			return nil
		},
	}, rdsMonitoringRule()}
}

var (
	redisAddrRE   = regexp.MustCompile(`(?m)^\s*(?:export\s+)?REDIS_ADDR=['"]?([^\s'"]+)`)
	redisTLSRE    = regexp.MustCompile(`(?m)^\s*(?:export\s+)?REDIS_TLS=['"]?([^\s'"]*)`)
	redisSecretRE = regexp.MustCompile(`(?m)^\s*(?:export\s+)?REDIS_AUTH_SECRET_ARN=['"]?arn:[^\s'"]+`)
	redisPassRE   = regexp.MustCompile(`(?m)^\s*(?:export\s+)?REDIS_PASSWORD=`)
	loopbackRE    = regexp.MustCompile(`^(127\.0\.0\.1|localhost|\[::1\]):`)
)

// cacheClients are the instances and launch templates whose app reaches a Redis or Valkey
// server other than loopback (the tests' own).
func cacheClients(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, r := range instancesAndTemplates(e) {
		m := redisAddrRE.FindStringSubmatch(userData(r))
		if m != nil && !loopbackRE.MatchString(m[1]) {
			out = append(out, r)
		}
	}
	return out
}

func hasRedis(e *Env) bool { return e.Has(tRedis) }

func redis(e *Env) []*graph.Resource { return e.Of(tRedis) }

func cacheRules() []Rule {
	const applies = "every aws:elasticache/replicationGroup:ReplicationGroup"
	return []Rule{{
		ID:        "EC-1",
		Title:     "ElastiCache encrypted at rest and in transit",
		Refs:      []string{"CKV_AWS_29", "CKV_AWS_30", "SH ElastiCache.4", "SH ElastiCache.5"},
		Applies:   applies,
		AppliesTo: hasRedis,
		Select:    redis,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "atRestEncryptionEnabled", true) {
				out = append(out, v("atRestEncryptionEnabled must be true"))
			}
			if !boolIs(r, "transitEncryptionEnabled", true) {
				out = append(out, v("transitEncryptionEnabled must be true"))
			}
			return out
		},
	}, {
		ID:        "EC-2",
		Title:     "ElastiCache authenticates: an auth token as a secret, or RBAC user groups",
		Refs:      []string{"CKV_AWS_31", "SH ElastiCache.6"},
		Applies:   applies,
		AppliesTo: hasRedis,
		Select:    redis,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if len(list(r, "userGroupIds")) > 0 {
				return nil
			}
			if _, ok := r.Inputs["authToken"]; ok {
				if secretInput(r, "authToken") {
					return nil
				}
				return []Violation{v("authToken is plain text; pass it as a Pulumi secret")}
			}
			return []Violation{v("set authToken (as a secret) or userGroupIds")}
		},
	}, {
		ID:        "EC-3",
		Title:     "ElastiCache automatic failover and Multi-AZ with at least two nodes",
		Refs:      []string{"CKV2_AWS_50", "SH ElastiCache.3", "REL10-BP01"},
		Applies:   applies,
		AppliesTo: hasRedis,
		Select:    redis,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "automaticFailoverEnabled", true) {
				out = append(out, v("automaticFailoverEnabled must be true"))
			}
			if !boolIs(r, "multiAzEnabled", true) {
				out = append(out, v("multiAzEnabled must be true"))
			}
			n, _ := r.Number("numCacheClusters")
			if rp, ok := r.Number("replicasPerNodeGroup"); ok {
				n = rp + 1
			}
			if n < 2 {
				out = append(out, v("numCacheClusters must be at least 2 (a primary and a replica)"))
			}
			return out
		},
	}, {
		ID:        "EC-4",
		Title:     "ElastiCache snapshots retained",
		Refs:      []string{"SH ElastiCache.1", "REL09-BP03"},
		Applies:   applies,
		AppliesTo: hasRedis,
		Select:    redis,
		Check: func(e *Env, r *graph.Resource) []Violation {
			if n, ok := r.Number("snapshotRetentionLimit"); !ok || n <= 0 {
				return []Violation{v("snapshotRetentionLimit must be above 0")}
			}
			return nil
		},
	}, {
		ID:    "EC-5",
		Title: "the app reaches its cache over TLS, with the token from Secrets Manager",
		Refs:  []string{"SEC09-BP02", "CKV_AWS_46", "SECURITY.md ElastiCache (encryption in transit)"},
		Applies: "every aws:ec2/instance:Instance and aws:ec2/launchTemplate:LaunchTemplate whose user data sets REDIS_ADDR to a host other than loopback; " +
			"REDIS_TLS must be true (the client then verifies the server's certificate) and REDIS_AUTH_SECRET_ARN must name the token's secret (never REDIS_PASSWORD)",
		AppliesTo: func(e *Env) bool { return len(cacheClients(e)) > 0 },
		Select:    cacheClients,
		Check: func(e *Env, r *graph.Resource) []Violation {
			ud := userData(r)
			var out []Violation
			mode := ""
			if m := redisTLSRE.FindStringSubmatch(ud); m != nil {
				mode = m[1]
			}
			if mode != "true" {
				out = append(out, v("REDIS_TLS=%q: set REDIS_TLS=true; ElastiCache's transit encryption refuses plain clients and an unverified server can be impersonated", mode))
			}
			if !redisSecretRE.MatchString(ud) {
				out = append(out, v("REDIS_AUTH_SECRET_ARN is not set: the app must read the cache's AUTH token from Secrets Manager"))
			}
			if redisPassRE.MatchString(ud) {
				out = append(out, v("REDIS_PASSWORD is set in user data: deliver the token through REDIS_AUTH_SECRET_ARN instead"))
			}
			return out
		},
	}}
}

func warehouseRules() []Rule {
	return []Rule{{
		ID:        "DDB-1",
		Title:     "DynamoDB point-in-time recovery, encryption, and deletion protection in prod",
		Refs:      []string{"CKV_AWS_28", "CKV_AWS_119", "SH DynamoDB.2", "SH DynamoDB.6"},
		Applies:   "every aws:dynamodb/table:Table (deletionProtectionEnabled in prod only, as RDS-5 for databases)",
		AppliesTo: func(e *Env) bool { return e.Has(tTable) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tTable) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "pointInTimeRecovery.enabled", true) {
				out = append(out, v("pointInTimeRecovery.enabled must be true"))
			}
			if e.Ctx.Prod() && !boolIs(r, "deletionProtectionEnabled", true) {
				out = append(out, v("deletionProtectionEnabled must be true in prod"))
			}
			if !boolIs(r, "serverSideEncryption.enabled", true) {
				out = append(out, v("serverSideEncryption.enabled must be true"))
			}
			return out
		},
	}, {
		ID:    "DDB-2",
		Title: "DynamoDB is reached through a VPC gateway endpoint",
		Refs:  []string{"SECURITY.md Data", "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/vpc-endpoints-dynamodb.html"},
		Applies: "every aws:dynamodb/table:Table: the graph holds an aws:ec2/vpcEndpoint:VpcEndpoint of type Gateway for com.amazonaws.<region>.dynamodb, " +
			"so table traffic from private subnets stays in the VPC and needs no NAT",
		AppliesTo: func(e *Env) bool { return e.Has(tTable) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tTable) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			for _, ep := range e.Of(tVpcEndpoint) {
				if ep.String("vpcEndpointType") == "Gateway" && strings.HasSuffix(ep.String("serviceName"), ".dynamodb") {
					return nil
				}
			}
			return []Violation{v("no DynamoDB gateway endpoint: the table's clients would reach DynamoDB's public endpoint through NAT")}
		},
	}, {
		ID:    "DDB-3",
		Title: "A provisioned DynamoDB table scales its capacity with demand",
		Refs:  []string{"SH DynamoDB.1", "AWS Config dynamodb-autoscaling-enabled"},
		Applies: "every aws:dynamodb/table:Table with billingMode PROVISIONED: for ReadCapacityUnits and WriteCapacityUnits, an aws:appautoscaling/target:Target " +
			"naming the table (resourceId table/<name>) and a TargetTrackingScaling aws:appautoscaling/policy:Policy on it; an on-demand table scales by itself",
		AppliesTo: func(e *Env) bool { return e.Has(tTable) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tTable) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if r.String("billingMode") != "PROVISIONED" {
				return nil
			}
			var out []Violation
			for _, unit := range []string{"ReadCapacityUnits", "WriteCapacityUnits"} {
				dim := "dynamodb:table:" + unit
				target, policy := false, false
				for _, t := range e.Companions(r, tScalableTarget, "resourceId") {
					target = target || (t.String("scalableDimension") == dim && t.String("serviceNamespace") == "dynamodb")
				}
				for _, p := range e.Companions(r, tScalingPolicy, "resourceId") {
					policy = policy || (p.String("scalableDimension") == dim && p.String("policyType") == "TargetTrackingScaling")
				}
				if !target {
					out = append(out, v("provisioned with no autoscaling target for %s: its capacity stays at the minimum whatever the load (throttling) or at whatever was set (cost)", dim))
				} else if !policy {
					out = append(out, v("the autoscaling target for %s has no target-tracking policy: it never scales", dim))
				}
			}
			return out
		},
	}, {
		ID:    "RS-2",
		Title: "Redshift Serverless: the stack's key, audit logs, a managed admin password, private, enhanced VPC routing, TLS",
		Refs:  []string{"CKV_AWS_142", "CKV_AWS_321", "SH Redshift.1", "SH RedshiftServerless.2", "SH RedshiftServerless.4", "SH RedshiftServerless.5", "SH RedshiftServerless.6"},
		Applies: "every aws:redshiftserverless/namespace:Namespace (kmsKeyId set; logExports with connectionlog, userlog and useractivitylog; " +
			"manageAdminPassword true or a secret adminUserPassword) and aws:redshiftserverless/workgroup:Workgroup (publiclyAccessible false explicitly, " +
			"enhancedVpcRouting true, securityGroupIds set, require_ssl and enable_user_activity_logging true)",
		AppliesTo: func(e *Env) bool { return e.Has(tNamespace, tWorkgroup) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tNamespace, tWorkgroup) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if r.Type == tNamespace {
				if r.String("kmsKeyId") == "" {
					out = append(out, v("kmsKeyId must name a key the stack owns"))
				}
				logs := map[string]bool{}
				for _, l := range strings_(r.Inputs["logExports"]) {
					logs[l] = true
				}
				for _, l := range []string{"connectionlog", "userlog", "useractivitylog"} {
					if !logs[l] {
						out = append(out, v("logExports must include %s", l))
					}
				}
				if _, ok := r.Inputs["adminUserPassword"]; ok && !secretInput(r, "adminUserPassword") {
					out = append(out, v("adminUserPassword is plain text"))
				} else if !ok && !boolIs(r, "manageAdminPassword", true) {
					out = append(out, v("no adminUserPassword: manageAdminPassword must be true"))
				}
				return out
			}
			if !boolIs(r, "publiclyAccessible", false) {
				out = append(out, v("publiclyAccessible must be set to false explicitly"))
			}
			if !boolIs(r, "enhancedVpcRouting", true) {
				out = append(out, v("enhancedVpcRouting must be true: COPY and UNLOAD then go through the VPC and its S3 gateway endpoint"))
			}
			if len(list(r, "securityGroupIds")) == 0 {
				out = append(out, v("securityGroupIds must name the warehouse's own group (the VPC's default admits its members)"))
			}
			params := map[string]string{}
			for _, p := range list(r, "configParameters") {
				pm, _ := p.(map[string]any)
				params[mstr(pm, "parameterKey")] = mstr(pm, "parameterValue")
			}
			for _, k := range []string{"require_ssl", "enable_user_activity_logging"} {
				if params[k] != "true" {
					out = append(out, v("configParameters %s must be true", k))
				}
			}
			return out
		},
	}, {
		ID:        "RS-1",
		Title:     "Redshift encrypted, not public (explicitly), in a subnet group, snapshots retained, password managed",
		Refs:      []string{"CKV_AWS_64", "CKV_AWS_87", "SH Redshift.1", "SH Redshift.3"},
		Applies:   "every aws:redshift/cluster:Cluster",
		AppliesTo: func(e *Env) bool { return e.Has(tRedshift) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tRedshift) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if !boolIs(r, "encrypted", true) {
				out = append(out, v("encrypted must be true"))
			}
			if !boolIs(r, "publiclyAccessible", false) {
				out = append(out, v("publiclyAccessible must be set to false explicitly"))
			}
			if r.String("clusterSubnetGroupName") == "" {
				out = append(out, v("clusterSubnetGroupName must name a private subnet group"))
			}
			if n, ok := r.Number("automatedSnapshotRetentionPeriod"); !ok || n <= 0 {
				out = append(out, v("automatedSnapshotRetentionPeriod must be set above 0"))
			}
			if _, ok := r.Inputs["masterPassword"]; ok && !secretInput(r, "masterPassword") {
				out = append(out, v("masterPassword is plain text"))
			} else if !ok && !boolIs(r, "manageMasterPassword", true) {
				out = append(out, v("no masterPassword: manageMasterPassword must be true"))
			}
			return out
		},
	}}
}

// noPerformanceInsights are the classes on which RDS for MySQL offers no Performance Insights
// (RDS user guide, "DB engine, Region, and instance class support for Database Insights");
// components/database.go holds the same list.
var noPerformanceInsights = map[string]bool{"db.t2.micro": true, "db.t2.small": true, "db.t3.micro": true, "db.t3.small": true, "db.t4g.micro": true, "db.t4g.small": true}

// rdsMonitoringRule is RDS-7.
func rdsMonitoringRule() Rule {
	return Rule{
		ID:    "RDS-7",
		Title: "prod RDS has enhanced monitoring, and Performance Insights where the class offers it",
		Refs:  []string{"CKV_AWS_118", "CKV_AWS_353", "REL06-BP01"},
		Applies: "every aws:rds/instance:Instance, in prod: monitoringInterval above 0 with a monitoringRoleArn; performanceInsightsEnabled true " +
			"unless instanceClass is one RDS for MySQL offers none on (db.t2/t3/t4g micro and small)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Prod() && hasRDS(e) },
		Select:    rdsAll,
		Check: func(e *Env, r *graph.Resource) []Violation {
			var out []Violation
			if n, _ := r.Number("monitoringInterval"); n <= 0 || r.String("monitoringRoleArn") == "" {
				out = append(out, v("enhanced monitoring must be on in prod: monitoringInterval above 0 and a monitoringRoleArn"))
			}
			if !boolIs(r, "performanceInsightsEnabled", true) && !noPerformanceInsights[r.String("instanceClass")] {
				out = append(out, v("performanceInsightsEnabled must be true in prod on %s", r.String("instanceClass")))
			}
			return out
		},
	}
}

// dlmTargets reports whether an enabled DLM snapshot policy with a retained schedule targets
// volume r by its tags.
func (e *Env) dlmTargets(p, r *graph.Resource) bool {
	if p.String("state") == "DISABLED" {
		return false
	}
	d := object(p, "policyDetails")
	if d == nil {
		return false
	}
	vol := false
	for _, t := range strs(d["resourceTypes"]) {
		vol = vol || t == "VOLUME"
	}
	tt, _ := d["targetTags"].(map[string]any)
	if !vol || len(tt) == 0 {
		return false
	}
	for k, val := range tt {
		if s, _ := val.(string); s == "" || tag(r, k) != s {
			return false
		}
	}
	scheds, _ := d["schedules"].([]any)
	for _, s := range scheds {
		sm, _ := s.(map[string]any)
		rr, _ := sm["retainRule"].(map[string]any)
		if n, _ := mnum(rr, "count"); n > 0 {
			return true
		}
		if n, _ := mnum(rr, "interval"); n > 0 {
			return true
		}
	}
	return false
}

// backupSelects reports whether an AWS Backup selection names volume r among its resources.
func (e *Env) backupSelects(sel, r *graph.Resource) bool {
	res := strs(sel.Inputs["resources"])
	for _, x := range res {
		if e.Matches(r, x) {
			return true
		}
	}
	// Opaque ids (a mock engine's): a resources list taken from the volume's ARN depends on it.
	return len(res) > 0 && e.DependsOn(sel, r)
}

func backupRules() []Rule {
	return []Rule{{
		ID:    "BAK-1",
		Title: "every stateful volume is backed up on a schedule",
		Refs:  []string{"REL09-BP01", "REL09-BP03", "SH EC2.28", "CKV2_AWS_9"},
		Applies: "every aws:ebs/volume:Volume (stateful: STATE-1): an enabled aws:dlm/lifecyclePolicy:LifecyclePolicy for VOLUME whose targetTags " +
			"the volume carries, with a schedule that retains snapshots, or an aws:backup/selection:Selection naming the volume",
		AppliesTo: func(e *Env) bool { return e.Has(tVolume) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tVolume) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			for _, p := range e.Of(tDLMPolicy) {
				if e.dlmTargets(p, r) {
					return nil
				}
			}
			for _, s := range e.Of(tBackupSelection) {
				if e.backupSelects(s, r) {
					return nil
				}
			}
			return []Violation{v("no backup: no enabled Data Lifecycle Manager policy targets this volume's tags with a retained schedule, and no AWS Backup selection names it")}
		},
	}}
}
