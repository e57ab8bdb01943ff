package components

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOperationsArgsDefaultsAndRefusals: the defaults and their reasons, and bad args
// refused (naming the field) before anything is registered.
func TestOperationsArgsDefaultsAndRefusals(t *testing.T) {
	g := &ServerGroup{Script: &ServerScriptArgs{Tier: "web"}}
	k := &Key{}
	a, err := (&OperationsArgs{Groups: []*ServerGroup{g}, Key: k}).withDefaults("ops")
	require.NoError(t, err)
	assert.Equal(t, 365, a.SessionLogRetentionDays)
	assert.Equal(t, 20, a.SessionIdleTimeoutMinutes)
	assert.Equal(t, 60, a.SessionMaxMinutes)
	assert.Equal(t, 7, a.PatchApproveAfterDays)
	assert.Equal(t, "cron(0 3 ? * SUN *)", a.PatchSchedule)
	assert.Equal(t, "America/Los_Angeles", a.PatchTimeZone)
	assert.Equal(t, "rate(30 minutes)", a.ConvergeSchedule)

	for field, bad := range map[string]*OperationsArgs{
		"Groups":                    {Key: k},
		"Groups ":                   {Groups: []*ServerGroup{{}}, Key: k},
		"Key":                       {Groups: []*ServerGroup{g}},
		"SessionIdleTimeoutMinutes": {Groups: []*ServerGroup{g}, Key: k, SessionIdleTimeoutMinutes: 61},
		"SessionMaxMinutes":         {Groups: []*ServerGroup{g}, Key: k, SessionMaxMinutes: 1441},
		"PatchApproveAfterDays":     {Groups: []*ServerGroup{g}, Key: k, PatchApproveAfterDays: 400},
		"PatchSchedule":             {Groups: []*ServerGroup{g}, Key: k, PatchSchedule: "sundays"},
		"ConvergeSchedule":          {Groups: []*ServerGroup{g}, Key: k, ConvergeSchedule: "often"},
	} {
		_, err := bad.withDefaults("ops")
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), strings.TrimSpace(field)+" = ", field)
	}
}

// TestCommandDocument: the convergence script becomes one runShellScript step, line by line,
// and a script with "{{" (an SSM parameter to Systems Manager) is refused.
func TestCommandDocument(t *testing.T) {
	out, err := commandDocument("d", "#!/bin/bash\necho ok\n")
	require.NoError(t, err)
	var doc struct {
		SchemaVersion string `json:"schemaVersion"`
		MainSteps     []struct {
			Action string `json:"action"`
			Inputs struct {
				RunCommand []string `json:"runCommand"`
			} `json:"inputs"`
		} `json:"mainSteps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "2.2", doc.SchemaVersion)
	require.Len(t, doc.MainSteps, 1)
	assert.Equal(t, "aws:runShellScript", doc.MainSteps[0].Action)
	assert.Equal(t, []string{"#!/bin/bash", "echo ok"}, doc.MainSteps[0].Inputs.RunCommand)
	_, err = commandDocument("d", "echo {{ x }}\n")
	assert.ErrorContains(t, err, "parameter")
}

// TestSessionPreferences: sessions stream to the log group only if it is encrypted, and the
// stream itself is encrypted with the key.
func TestSessionPreferences(t *testing.T) {
	out, err := sessionPreferences("/scaling-aws/sessions-1", "arn:aws:kms:us-east-1:1:key/k", 20, 60)
	require.NoError(t, err)
	var doc struct {
		SessionType string         `json:"sessionType"`
		Inputs      map[string]any `json:"inputs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "Standard_Stream", doc.SessionType)
	assert.Equal(t, "/scaling-aws/sessions-1", doc.Inputs["cloudWatchLogGroupName"])
	assert.Equal(t, true, doc.Inputs["cloudWatchEncryptionEnabled"])
	assert.Equal(t, true, doc.Inputs["cloudWatchStreamingEnabled"])
	assert.Equal(t, "arn:aws:kms:us-east-1:1:key/k", doc.Inputs["kmsKeyId"])
	assert.Equal(t, "20", doc.Inputs["idleSessionTimeout"])
}
