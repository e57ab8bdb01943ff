package stages

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// Logical names users+++++ adds (kept in this file, not builder.go's block, so the helpers
// of users++++ and users+++++ do not edit one list). Identity from users+++++ to the last
// stage.
const (
	nameQueue  = "thumbs"
	nameWorker = "worker"
)

// What the visibility timeout and the backlog target are derived from (docs/decisions.md,
// "The thumbnail queue's visibility timeout" and "The workers' backlog target").
const (
	// workerConcurrency is how many jobs a worker runs at once (the app's WORKER_CONCURRENCY,
	// set by the stage so the arithmetic and the servers agree).
	workerConcurrency = 4
	// longestThumbCPUSeconds is the longest thumbnail job's CPU time on one core: the
	// largest photo the app accepts (40 megapixels; a 7 MB JPEG of 8000x5000) took 1.96 to
	// 2.12 s in thumb.Make with GOMAXPROCS=1 (3 runs on the project's build machine),
	// rounded up.
	longestThumbCPUSeconds = 2.2
	// thumbIOSeconds bounds a job's calls around the CPU work: the 10 MiB original from S3
	// through the gateway endpoint (about 0.1 s at S3's per-connection rate), the thumbnail
	// put, two database statements and the delete, rounded up to a second.
	thumbIOSeconds = 1.0
	// workerFewestVCPUs is the fewest cores a worker instance type has (c7g.medium: 1), so no
	// change of worker.instanceType ever needs a new timeout.
	workerFewestVCPUs = 1
	// workerShutdownSeconds is the app's SHUTDOWN_TIMEOUT default: a stopping worker lets its
	// jobs finish for this long.
	workerShutdownSeconds = 25
)

// thumbVisibilitySeconds is the queue's visibility timeout: 120 s (VisibilityTimeoutFor:
// 2.2 s x 4 jobs / 1 vCPU = 8.8 s a job; a slot wait and the job, 17.6 s, plus 1 s of I/O,
// 18.6 s; x 6 = 111.6 s; rounded up to the minute).
var thumbVisibilitySeconds = components.VisibilityTimeoutFor(components.QueueConsumer{
	LongestJobCPUSeconds: longestThumbCPUSeconds,
	IOSeconds:            thumbIOSeconds,
	Concurrency:          workerConcurrency,
	VCPUs:                workerFewestVCPUs,
	ShutdownSeconds:      workerShutdownSeconds,
})

// usersPlus5 is stage 5, "Users+++++": users++++ unchanged under the same names, plus
// asynchronous work through a queue and workers:
//   - an SQS work queue for thumbnail jobs with its dead-letter queue (encrypted, under the
//     stack key in prod; long polling; a visibility timeout derived from the longest job;
//     TLS-only policies), alarmed on the age of its oldest message, a backlog the fleet
//     cannot drain and anything dead-lettered;
//   - the write API enqueues a job on every photo upload (QUEUE_BACKEND=sqs) instead of
//     making the thumbnail during the request, and may only send to the queue;
//   - a fleet of workers (APP_ROLE=worker, the same release and boot script as the other
//     tiers) in the worker-tier subnets, reaching only the queue (through an SQS interface
//     endpoint), the database, the object store and the AWS endpoints, allowed only to
//     receive, delete and change visibility on the queue, dead-letter to its dead-letter
//     queue, read originals/ and write thumbs/; it scales on the backlog per worker.
//
// and the data tier scaling out (stages/datatier.go): a daily archive pass on the workers
// moving posts older than retentionDays to verified Parquet files and the warehouse (Redshift
// Serverless, with three AZs), per-post view counters in DynamoDB for the read API, the
// content sharded by user over db.shards databases, and optionally users and sessions
// federated into an identity database.
//
// The seed: "Batch processes or computations that do not need to be done in real-time can
// be done Asynchronously with Queues and Workers: [...] in a photo service, the photo upload
// and the thumbnail creation can be separated: Client uploads photo; Application Server puts
// a job in a Queue such as SQS; The Worker Service on EC2 or Lambda pulls work off the Queue
// then: Creates a thumbnail, Updates a Database, Stores the thumbnail in the Object Store."
func usersPlus5(b *builder) error {
	var queue *components.Queue
	return tiered(b, &stageExtras{
		tiers:     []components.Tier{components.TierCache, components.TierWorker},
		endpoints: append([]string{"sqs"}, warehouseEndpoints(b.cfg)...),
		data: func(b *builder, net *components.Network, alarms *components.Alarms, db *components.Database) (*dataTier, error) {
			d, err := cacheAndReplicas(b, net, alarms, db)
			if err != nil {
				return nil, err
			}
			if queue, err = b.thumbQueue(alarms); err != nil {
				return nil, err
			}
			s, err := b.scaleOut(net, alarms, db)
			if err != nil {
				return nil, err
			}
			return withScaledData(withQueue(d, queue), s, net), nil
		},
		operate: func(b *builder, p *tierParts) error {
			wh, err := b.warehouse(p)
			if err != nil {
				return err
			}
			// The workers first, so users++++'s steps (log analysis, the alarm summary
			// and the dashboard) cover them too.
			w, err := b.workers(p, queue, wh)
			if err != nil {
				return err
			}
			p.worker = w
			return operateUsersPlus4(b, p)
		},
		appEnv: usersPlus4Env,
	})
}

// withQueue gives the write API the queue (QUEUE_BACKEND=sqs, QUEUE_URL) and the right to
// send to it, over what d already gives and links.
func withQueue(d *dataTier, q *components.Queue) *dataTier {
	env, link := d.env, d.link
	out := *d
	out.env = func(role string) map[string]pulumi.StringInput {
		e := env(role)
		if role == "write" {
			e["QUEUE_BACKEND"] = pulumi.String("sqs")
			e["QUEUE_URL"] = q.URL
		}
		return e
	}
	out.link = func(read, write *components.ServerGroup) error {
		if err := link(read, write); err != nil {
			return err
		}
		return q.GrantSend(write.Role)
	}
	return &out
}

// backlogTarget is the backlog per worker that still starts every job within
// worker.latencySeconds (components.BacklogTarget): 30 s / 0.5 s = 60 jobs by default.
func backlogTarget(w config.Worker) float64 {
	return components.BacklogTarget(float64(w.LatencySeconds), float64(w.JobMillis)/1000)
}

// thumbQueue creates the thumbnail queue, under the stack key in prod, alarmed on the
// stack's topic; its backlog alarm fires above what the fleet at its largest drains within
// the acceptable latency.
func (b *builder) thumbQueue(alarms *components.Alarms) (*components.Queue, error) {
	w := b.cfg.Worker
	target := backlogTarget(w)
	if target < 1 {
		return nil, fmt.Errorf("config scaling-aws:worker.latencySeconds = %d is invalid with worker.jobMillis = %d: a worker could not hold even one job; raise latencySeconds above %g", w.LatencySeconds, w.JobMillis, float64(w.JobMillis)/1000)
	}
	q, err := components.NewQueue(b.ctx, nameQueue, &components.QueueArgs{
		VisibilityTimeoutSeconds: thumbVisibilitySeconds,
		Key:                      b.dataKey(),
		Protect:                  b.cfg.Protect(),
		AlarmTopicArn:            alarms.TopicArn,
		BacklogAlarmMessages:     int(target) * w.Max,
	})
	if err != nil {
		return nil, err
	}
	b.outputs["queueUrl"] = q.URL
	b.outputs["deadLetterQueueUrl"] = q.DeadLetterURL
	return q, nil
}

// workerEnv is the environment of a worker: the API servers' database settings (the
// primary only; no migrations), the object store, and the queue with its dead-letter queue.
// QUEUE_MAX_ATTEMPTS is the queue's maxReceiveCount, so the app dead-letters a failing job
// with its reason at the delivery before SQS's redrive would move it without one.
func (b *builder) workerEnv(p *tierParts, q *components.Queue, wh *components.Warehouse) (map[string]pulumi.StringInput, error) {
	env := map[string]pulumi.StringInput{
		"APP_ROLE": pulumi.String("worker"), "APP_ADDR": pulumi.String(":8080"), "AWS_REGION": pulumi.String(b.cfg.Region),
		"DB_HOST": p.db.Address, "DB_PORT": pulumi.Sprintf("%d", p.db.Port), "DB_NAME": pulumi.String("app"), "DB_USER": pulumi.String("admin"),
		"DB_PASSWORD_SECRET_ARN": p.db.SecretArn, "DB_TLS": pulumi.String("rds"), "DB_MIGRATE": pulumi.String("false"),
		"S3_BUCKET":     p.store.ID,
		"QUEUE_BACKEND": pulumi.String("sqs"), "QUEUE_URL": q.URL, "QUEUE_DLQ_URL": q.DeadLetterURL,
		"QUEUE_MAX_ATTEMPTS": pulumi.String(fmt.Sprint(q.MaxReceiveCount)),
		"WORKER_CONCURRENCY": pulumi.String(fmt.Sprint(workerConcurrency)),
	}
	// Error reporting as on the API servers; not StatsD: its gauge is in-flight requests,
	// and a worker serves none (its fleet scales on the queue's backlog).
	sentry, err := sentryEnv(b, "worker")
	for k, v := range sentry {
		env[k] = v
	}
	// The archive pass's settings, and the shards and identity database it and the jobs
	// reach.
	for k, v := range b.archiveEnv(p, wh) {
		env[k] = v
	}
	if p.data.scaled != nil {
		for k, v := range p.data.scaled.env("worker") {
			env[k] = v
		}
	}
	return env, err
}

// workers creates the worker fleet: an Auto Scaling group in the worker-tier subnets that
// no one can reach, whose only way out is the endpoints (S3, SQS, CloudWatch, Secrets
// Manager) and MySQL, with exactly the grants a thumbnail job needs, scaled on the queue's
// backlog per worker.
func (b *builder) workers(p *tierParts, q *components.Queue, wh *components.Warehouse) (*components.ServerGroup, error) {
	w := b.cfg.Worker
	image, err := b.image(w.InstanceType)
	if err != nil {
		return nil, err
	}
	env, err := b.workerEnv(p, q, wh)
	if err != nil {
		return nil, err
	}
	g, err := components.NewServerGroup(b.ctx, nameWorker, &components.ServerGroupArgs{
		Network:      p.net,
		Tier:         components.TierWorker,
		InstanceType: w.InstanceType,
		ImageID:      image,
		MinSize:      w.Min,
		MaxSize:      w.Max,
		// Created at min; then the backlog policy owns the count (ignored on later deploys).
		DesiredCapacity: w.Min,
		Script: &components.ServerScriptArgs{
			Tier: nameWorker, Release: p.release, Region: b.cfg.Region, Env: env,
			Jobs: []components.ScheduledJob{archiveJob},
		},
		Worker: true,
		// No NAT: SQS, S3, CloudWatch and Secrets Manager are all reached through endpoints.
		EgressHTTPS:      false,
		LogRetentionDays: b.cfg.LogRetentionDays,
		AlarmTopicArn:    p.alarms.TopicArn,
		Key:              b.dataKey(),
	})
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		p.db.AllowFrom(nameWorker, g.SecurityGroup),
		p.db.GrantReadSecret(g.Role),
		p.store.GrantReadWritePrefixes(nameWorker, g.Role, []string{prefixOriginals}, []string{prefixThumbs}),
		q.GrantConsume(g.Role),
		q.GrantDeadLetter(g.Role),
		q.ScaleWorkers(g, components.BacklogScaling{TargetPerInstance: backlogTarget(w)}),
		linkArchive(p, g, wh),
	} {
		if err != nil {
			return nil, err
		}
	}
	if w.Min == 0 {
		// Target tracking never starts an empty fleet: the wake alarm does.
		if err := q.WakeWorkers(g); err != nil {
			return nil, err
		}
	}
	b.outputs["workerGroup"] = g.GroupName
	return g, nil
}
