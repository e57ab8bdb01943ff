package stages

import (
	"github.com/scaling-aws/scaling-aws/components"
	"github.com/scaling-aws/scaling-aws/config"
)

// nameOperations is the logical name of users++++'s automated operations (Session Manager,
// Patch Manager, State Manager).
const nameOperations = "operations"

// Patch approval delays: dev approves a security update after 3 days and prod after 7, so
// every update runs on dev for the better part of a week before prod installs it.
const (
	devPatchApproveAfterDays  = 3
	prodPatchApproveAfterDays = 7
)

func init() { usersPlus4Steps = append(usersPlus4Steps, operations) }

// operations is users++++'s step "automated operations": no SSH anywhere (config refuses
// adminCidrs, rule OPS-1 any port-22 ingress), Session Manager with logged and encrypted
// sessions, weekly patching, and State Manager converging every server tier's files. The
// sessions are encrypted with the stack key in every environment: it exists in dev too (the
// alarm topic needs it), and what an admin types on a server deserves it.
//
// The seed: "we want to automate as much of the operations as possible."
func operations(b *builder, p *tierParts) error {
	days := prodPatchApproveAfterDays
	if b.cfg.Environment != config.Prod {
		days = devPatchApproveAfterDays
	}
	groups := []*components.ServerGroup{p.web, p.read, p.write}
	if p.worker != nil {
		groups = append(groups, p.worker) // users+++++'s fleet is patched and converged too
	}
	ops, err := components.NewOperations(b.ctx, nameOperations, &components.OperationsArgs{
		Groups:                groups,
		Key:                   b.key,
		PatchApproveAfterDays: days,
	})
	if err != nil {
		return err
	}
	b.outputs["sessionLogGroup"] = ops.SessionLogGroupName
	b.outputs["maintenanceWindowId"] = ops.MaintenanceWindowID
	return nil
}
