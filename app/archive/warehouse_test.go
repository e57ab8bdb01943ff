package archive_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/archive"
)

// fakeDataAPI answers the Redshift Data API's JSON protocol (X-Amz-Target
// RedshiftData.*): a batch is "STARTED" for the first describes, then ends
// with the status final.
type fakeDataAPI struct {
	mu        sync.Mutex
	final     string
	pending   int // describes answered STARTED before final
	submitted []map[string]any
	describes int
	cancelled []string
}

func (f *fakeDataAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "RedshiftData."); op {
	case "BatchExecuteStatement":
		f.submitted = append(f.submitted, in)
		json.NewEncoder(w).Encode(map[string]any{"Id": "stmt-1", "WorkgroupName": in["WorkgroupName"]})
	case "DescribeStatement":
		f.describes++
		status := "STARTED"
		if f.describes > f.pending {
			status = f.final
		}
		out := map[string]any{"Id": in["Id"], "Status": status}
		if status == "FAILED" {
			out["Error"] = "ERROR: S3ServiceException:Access Denied"
		}
		json.NewEncoder(w).Encode(out)
	case "CancelStatement":
		f.cancelled = append(f.cancelled, in["Id"].(string))
		json.NewEncoder(w).Encode(map[string]any{"Status": true})
	default:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"__type": "ValidationException", "message": "unknown " + op})
	}
}

func TestRedshift(t *testing.T) {
	sqls := []string{"DELETE FROM posts_archive WHERE id BETWEEN 1 AND 2", "COPY posts_archive FROM 's3://b/k'"}
	run := func(t *testing.T, f *fakeDataAPI, timeout time.Duration) error {
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		r := archive.NewRedshift(apptest.AWSConfig(), "archive-wg", "dev", srv.URL)
		r.PollInterval, r.Timeout = 5*time.Millisecond, timeout
		return r.Exec(context.Background(), sqls)
	}
	t.Run("finished", func(t *testing.T) {
		f := &fakeDataAPI{final: "FINISHED", pending: 3}
		if err := run(t, f, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if len(f.submitted) != 1 {
			t.Fatalf("%d submissions, want 1", len(f.submitted))
		}
		in := f.submitted[0]
		var got []string
		for _, s := range in["Sqls"].([]any) {
			got = append(got, s.(string))
		}
		if !slices.Equal(got, sqls) || in["WorkgroupName"] != "archive-wg" || in["Database"] != "dev" ||
			in["SecretArn"] != nil || in["DbUser"] != nil {
			t.Errorf("submitted %v, want the statements to workgroup archive-wg, database dev, IAM identity", in)
		}
		if f.describes != 4 {
			t.Errorf("%d describes, want polling until FINISHED (4)", f.describes)
		}
	})
	t.Run("failed", func(t *testing.T) {
		f := &fakeDataAPI{final: "FAILED", pending: 1}
		err := run(t, f, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(err.Error(), "Access Denied") {
			t.Errorf("Exec: %v, want the statement's error", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		f := &fakeDataAPI{final: "FINISHED", pending: 1 << 30}
		start := time.Now()
		err := run(t, f, 200*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "not finished within 200ms") {
			t.Errorf("Exec: %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Exec returned after %s, want about its 200ms timeout", d)
		}
		if !slices.Equal(f.cancelled, []string{"stmt-1"}) {
			t.Errorf("cancelled %v, want the statement cancelled at the deadline", f.cancelled)
		}
	})
}
