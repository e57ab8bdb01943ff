package config

import (
	"fmt"
	"strings"
)

// Stage is one step of the seed's evolution, numbered from 0 (single box) to 5 (Users+++++).
// The number orders stages: a stack only ever moves to a higher one.
type Stage int

// The six stages of the seed, in order. Their names are the seed's own.
const (
	SingleBox  Stage = iota // 1-2 users: one EC2 box with the web server and MySQL.
	UsersPlus               // Users+: object store, MySQL on RDS, a VPC with public and private subnets.
	UsersPlus2              // Users++: load balancer, web and app tiers over AZs, Multi-AZ MySQL, CDN.
	UsersPlus3              // Users+++: ElastiCache, MySQL read replicas, more servers.
	UsersPlus4              // Users++++: autoscaling, monitoring and alerting, automated operations.
	UsersPlus5              // Users+++++: queues and workers, warehouse, NoSQL, SQL scaling patterns.
	stageCount
)

// stageNames holds each stage's canonical (seed) name first, then its accepted aliases.
var stageNames = [stageCount][]string{
	SingleBox:  {"single-box", "0", "s0", "box"},
	UsersPlus:  {"users+", "1", "s1", "users-plus"},
	UsersPlus2: {"users++", "2", "s2", "users-plus-2"},
	UsersPlus3: {"users+++", "3", "s3", "users-plus-3"},
	UsersPlus4: {"users++++", "4", "s4", "users-plus-4"},
	UsersPlus5: {"users+++++", "5", "s5", "users-plus-5"},
}

// AllStages lists every stage in order.
func AllStages() []Stage {
	out := make([]Stage, stageCount)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// String returns the stage's seed name, such as "users++".
func (s Stage) String() string {
	if s < 0 || s >= stageCount {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s][0]
}

// Aliases returns the short names accepted for the stage besides its seed name.
func (s Stage) Aliases() []string { return append([]string(nil), stageNames[s][1:]...) }

// ParseStage accepts a stage's seed name or one of its aliases, case-insensitively.
func ParseStage(v string) (Stage, error) {
	key := strings.ToLower(strings.TrimSpace(v))
	for i, names := range stageNames {
		for _, n := range names {
			if key == n {
				return Stage(i), nil
			}
		}
	}
	return 0, &Error{Key: "stage", Value: v, Fix: "use one of " + stageList()}
}

func stageList() string {
	var b strings.Builder
	for i, names := range stageNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (or %s)", names[0], strings.Join(names[1:], "/"))
	}
	return b.String()
}
