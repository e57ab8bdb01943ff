package rules

import (
	"github.com/scaling-aws/scaling-aws/internal/graph"
)

// sqsDefaultRetentionSeconds is what SQS keeps a message when messageRetentionSeconds is
// unset: 4 days (CreateQueue, MessageRetentionPeriod).
const sqsDefaultRetentionSeconds = 345600

// queuePolicies returns the policies that govern queue q: its inline policy and every
// aws:sqs/queuePolicy:QueuePolicy whose queueUrl refers to it.
func (e *Env) queuePolicies(q *graph.Resource) []any {
	var out []any
	if p, ok := q.Inputs["policy"]; ok && q.String("policy") != "" {
		out = append(out, p)
	}
	for _, p := range e.Companions(q, tQueuePolicy, "queueUrl") {
		out = append(out, p.Inputs["policy"])
	}
	return out
}

// deniesInsecureTransport reports whether a policy denies every principal every SQS action
// when aws:SecureTransport is false.
func deniesInsecureTransport(policy any) bool {
	doc, ok := parsePolicy(policy)
	if !ok {
		return false
	}
	for _, s := range doc.Statements {
		if s.Effect != "Deny" || !s.anyPrincipal() {
			continue
		}
		all := false
		for _, a := range s.Actions {
			if a == "*" || a == "sqs:*" {
				all = true
			}
		}
		b, _ := s.Condition["Bool"].(map[string]any)
		if all && b != nil && strs(b["aws:SecureTransport"]) != nil && strs(b["aws:SecureTransport"])[0] == "false" {
			return true
		}
	}
	return false
}

// retention returns a queue's messageRetentionSeconds, SQS's default when unset.
func retention(q *graph.Resource) float64 {
	if n, ok := q.Number("messageRetentionSeconds"); ok {
		return n
	}
	return sqsDefaultRetentionSeconds
}

// workQueues returns the queues with a redrive policy, each with its dead-letter queues.
func (e *Env) workQueues() map[*graph.Resource][]*graph.Resource {
	out := map[*graph.Resource][]*graph.Resource{}
	for _, q := range e.Of(tQueue) {
		if rp := redrive(q); rp != nil {
			if arn := mstr(rp, "deadLetterTargetArn"); arn != "" {
				out[q] = e.RefsOf(q, []string{arn}, tQueue)
			}
		}
	}
	return out
}

// sqsRules are SECURITY.md's SQS rules; queueRules below add what issue 12 asks.
func hasQueues(e *Env) bool { return e.Has(tQueue) }

func sqsRules() []Rule {
	return []Rule{{
		ID:        "SQS-1",
		Title:     "SQS server-side encryption on",
		Refs:      []string{"CKV_AWS_27", "SH SQS.1"},
		Applies:   "every aws:sqs/queue:Queue",
		AppliesTo: hasQueues,
		Select:    func(e *Env) []*graph.Resource { return e.Of(tQueue) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if boolIs(r, "sqsManagedSseEnabled", true) || r.String("kmsMasterKeyId") != "" {
				return nil
			}
			return []Violation{v("sqsManagedSseEnabled must be true or kmsMasterKeyId set")}
		},
	}, {
		ID:    "SQS-2",
		Title: "every work queue has a dead-letter queue with a bounded maxReceiveCount (1..10)",
		Refs:  []string{"REL05-BP04", "SH SQS.3"},
		Applies: "every aws:sqs/queue:Queue that is not a dead-letter queue (one some redrivePolicy.deadLetterTargetArn names, or tagged role=dlq); " +
			"applies whenever a queue exists",
		AppliesTo: hasQueues,
		Select: func(e *Env) []*graph.Resource {
			d := e.dlqs()
			var out []*graph.Resource
			for _, q := range e.Of(tQueue) {
				if !d[q] {
					out = append(out, q)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			rp := redrive(r)
			if rp == nil {
				return []Violation{v("redrivePolicy must send failing messages to a dead-letter queue")}
			}
			var out []Violation
			if mstr(rp, "deadLetterTargetArn") == "" {
				out = append(out, v("redrivePolicy.deadLetterTargetArn must be set"))
			}
			n, ok := mnum(rp, "maxReceiveCount")
			if s := mstr(rp, "maxReceiveCount"); s != "" {
				n, ok = atof(s)
			}
			if !ok || n < 1 || n > 10 {
				out = append(out, v("redrivePolicy.maxReceiveCount must be 1..10"))
			}
			return out
		},
	}, {
		ID:        "SQS-3",
		Title:     "SQS queue policies never allow * principals or actions without a condition",
		Refs:      []string{"CKV_AWS_72", "CKV_AWS_168"},
		Applies:   "every aws:sqs/queuePolicy:QueuePolicy and every aws:sqs/queue:Queue with an inline policy",
		AppliesTo: func(e *Env) bool { return e.Has(tQueuePolicy) || len(queuesWithPolicy(e)) > 0 },
		Select: func(e *Env) []*graph.Resource {
			return append(e.Of(tQueuePolicy), queuesWithPolicy(e)...)
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			doc, ok := parsePolicy(r.Inputs["policy"])
			if !ok {
				return []Violation{v("policy is not a JSON policy document")}
			}
			var out []Violation
			for i, s := range doc.Statements {
				if s.Effect != "Allow" || s.Condition != nil {
					continue
				}
				if s.anyPrincipal() {
					out = append(out, v("statement %d allows principal * without a condition", i))
				}
				for _, a := range s.Actions {
					if a == "*" || a == "sqs:*" {
						out = append(out, v("statement %d allows action %s without a condition", i, a))
					}
				}
			}
			return out
		},
	}}
}

func queuesWithPolicy(e *Env) []*graph.Resource {
	var out []*graph.Resource
	for _, q := range e.Of(tQueue) {
		if q.String("policy") != "" {
			out = append(out, q)
		}
	}
	return out
}

// queueRules are the SQS rules beyond SECURITY.md's three (sqsRules): what issue 12 asks
// of the stage-5 queue.
func queueRules() []Rule {
	return []Rule{{
		ID:        "SQS-4",
		Title:     "SQS queues deny requests without TLS",
		Refs:      []string{"SH SQS.2", "AVD-AWS-0096"},
		Applies:   "every aws:sqs/queue:Queue: its inline policy or an aws:sqs/queuePolicy:QueuePolicy on it must Deny principal * sqs:* (or *) with Bool aws:SecureTransport false",
		AppliesTo: hasQueues,
		Select:    func(e *Env) []*graph.Resource { return e.Of(tQueue) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			for _, p := range e.queuePolicies(r) {
				if deniesInsecureTransport(p) {
					return nil
				}
			}
			return []Violation{v("no queue policy denies requests without TLS (Deny * sqs:* when aws:SecureTransport is false)")}
		},
	}, {
		ID:    "SQS-5",
		Title: "dead-letter queues keep messages longer than their source queues",
		Refs:  []string{"REL05-BP04"},
		Applies: "every aws:sqs/queue:Queue with a redrivePolicy: its dead-letter queue's messageRetentionSeconds must exceed its own " +
			"(SQS keeps a message's enqueue time when it moves it to a standard dead-letter queue; unset is 4 days)",
		AppliesTo: func(e *Env) bool { return len(e.workQueues()) > 0 },
		Select: func(e *Env) []*graph.Resource {
			var out []*graph.Resource
			for _, q := range e.Of(tQueue) {
				if _, ok := e.workQueues()[q]; ok {
					out = append(out, q)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			dlqs := e.workQueues()[r]
			if len(dlqs) == 0 {
				return []Violation{v("redrivePolicy.deadLetterTargetArn names no queue of the stack")}
			}
			var out []Violation
			for _, d := range dlqs {
				if retention(d) <= retention(r) {
					out = append(out, v("dead-letter queue %s keeps messages %g s, not longer than this queue's %g s", d.Name, retention(d), retention(r)))
				}
			}
			return out
		},
	}, {
		ID:    "SQS-6",
		Title: "dead-letter queues accept redrives only from their own source queues",
		Refs:  []string{"REL05-BP04"},
		Applies: "every dead-letter aws:sqs/queue:Queue (one a redrivePolicy names, or tagged role=dlq): its redriveAllowPolicy (inline or an " +
			"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy) must be redrivePermission byQueue with sourceQueueArns",
		AppliesTo: func(e *Env) bool { return len(e.dlqs()) > 0 },
		Select: func(e *Env) []*graph.Resource {
			d := e.dlqs()
			var out []*graph.Resource
			for _, q := range e.Of(tQueue) {
				if d[q] {
					out = append(out, q)
				}
			}
			return out
		},
		Check: func(e *Env, r *graph.Resource) []Violation {
			policies := []any{r.Inputs["redriveAllowPolicy"]}
			for _, p := range e.Companions(r, tRedriveAllow, "queueUrl") {
				policies = append(policies, p.Inputs["redriveAllowPolicy"])
			}
			for _, p := range policies {
				m := jsonObject(p)
				if mstr(m, "redrivePermission") == "byQueue" && len(strs(m["sourceQueueArns"])) > 0 {
					return nil
				}
			}
			return []Violation{v("no redrive-allow policy limits this dead-letter queue to its source queues (redrivePermission byQueue, sourceQueueArns)")}
		},
	}, {
		ID:        "SQS-7",
		Title:     "prod queues are encrypted with the stack's own key",
		Refs:      []string{"CKV_AWS_27", "AVD-AWS-0135"},
		Applies:   "in prod: every aws:sqs/queue:Queue (kmsMasterKeyId must name an aws:kms/key:Key of the stack, not SSE-SQS or alias/aws/sqs)",
		AppliesTo: func(e *Env) bool { return e.Ctx.Prod() && hasQueues(e) },
		Select:    func(e *Env) []*graph.Resource { return e.Of(tQueue) },
		Check: func(e *Env, r *graph.Resource) []Violation {
			if !e.usesStackKey(r, "kmsMasterKeyId") {
				return []Violation{v("kmsMasterKeyId must name the stack's key in prod, got %q", r.String("kmsMasterKeyId"))}
			}
			return nil
		},
	}}
}

// tRedriveAllow is the separate redrive-allow policy resource.
const tRedriveAllow = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"

// jsonObject decodes a JSON object given as a string, or returns an object as is.
func jsonObject(v any) map[string]any {
	switch x := v.(type) {
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
