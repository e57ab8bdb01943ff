// Package daysim replays one day of the seed's uneven traffic against the users++++ scaling
// policies as they are recorded in the resource graph, one minute at a time, and reports
// what each server tier would have run: instances over the day, instance-hours and their
// cost against a fleet fixed at the day's peak, and the minutes a tier ran over capacity.
//
// It is a model, deterministic and fast (a day of three tiers takes milliseconds), of what
// EC2 Auto Scaling does with the recorded groups, policies and scheduled actions; every
// number it uses is written beside the rule it implements, with its reference, and
// docs/daysim.md collects them. Its inputs:
//
//   - the graph (internal/graph): per tier the aws:autoscaling/group:Group named as the tier
//     (minSize, maxSize, desiredCapacity, defaultInstanceWarmup, defaultCooldown), its
//     aws:autoscaling/policy:Policy resources (target tracking on ASGAverageCPUUtilization,
//     ALBRequestCountPerTarget, ASGAverageNetworkOut or the app's CWAgent
//     app_inflight_requests; step scaling on an alarm of the target group's
//     TargetResponseTime) and its aws:autoscaling/schedule:Schedule actions (recurrence,
//     timeZone, minSize, maxSize, desiredCapacity). A policy, alarm or schedule belongs to
//     a group when it depends on the group's URN (what the program's inputs record) or
//     names the group's name input;
//   - per tier a Tier: the capacity and price of one instance and the share of the day's
//     reads and writes it serves, filled by the caller from the capacity and cost models;
//   - a Day: reads and writes per second for each of its 1440 minutes (SeedDay is the
//     seed's).
//
// The model, in order, each minute:
//
//  1. Scheduled actions whose cron recurrence matches the minute (in their time zone) set
//     the group's minimum, maximum and desired capacity (-1 leaves one unchanged); the
//     desired capacity is then kept within [min, max], as UpdateAutoScalingGroup does.
//  2. The group launches instances up to its desired capacity or terminates the newest
//     down to it. A launched instance carries load and reports metrics only after the
//     warm-up (defaultInstanceWarmup; else the policies' estimatedInstanceWarmup; else
//     defaultCooldown; else AWS's 300 s default cooldown). The project sets the warm-up to
//     its boot budget, counted from launch, so the model reads it as launch-to-serving.
//  3. The tier's load (reads x ReadShare + writes x WriteShare) spreads evenly over the
//     instances in service (the load balancer's round robin); the metrics follow from the
//     load per instance: CPU % = served rate / Capacity x 100 (at most 100), requests per
//     target per minute = offered rate x 60, network out = served rate x ResponseBytes
//     bytes a second (the policy's unit, bytes per minute, x 60), latency from a
//     processor-sharing queue (mean = ServiceMillis / (1 - utilisation), utilisation capped
//     at 0.99; p99 = ln(100) x mean, the exponential tail of an M/M/1 queue's response time)
//     and requests in flight = offered rate x mean latency (Little's law).
//  4. Target tracking: each policy's high alarm fires when its metric has been above the
//     target for 3 consecutive minutes, its low alarm when the metric has been below 90 %
//     of the target for 15 (the alarms AWS creates for a target-tracking policy). The group
//     scales out when any policy's high alarm is firing, to the largest ceil(instances x
//     metric / target) they ask for; it scales in only when every policy's low alarm is
//     firing and no instance is warming up, to the largest capacity they ask for. Step
//     scaling: while its alarm is in ALARM the policy adds its step's adjustment (the step
//     the breach falls in) to the instances past warm-up, once a minute (Auto Scaling
//     alarm actions repeat every minute in ALARM), never lowering the desired capacity.
//
// Over capacity: a minute in which the tier's load exceeds the instances in service times
// Capacity. Cost: every running instance (warming up or serving) is billed by the minute
// at HourlyUSD / 60 (per-second billing, rounded to the minute); the fixed fleet is the
// day's peak count, running 24 hours.
//
// Unless Day.FromRecorded is set, the simulated day starts where the same day before it
// left the groups at midnight (that day is run first, from the recorded sizes), so the
// night does not start at a new group's desired capacity.
package daysim
