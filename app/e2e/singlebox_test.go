package e2e_test

import (
	"strconv"
	"testing"
)

// TestSingleBox runs the stage-0 configuration: no Redis (sessions in
// MySQL, no cache) and no queue (the thumbnail is made during the upload).
func TestSingleBox(t *testing.T) {
	s := newStack(t, options{singleBox: true})
	alice, anon := s.client(), s.client()
	alice.signUp("alice")
	if s.count("sessions") != 1 {
		t.Fatalf("sessions table holds %d rows, want 1", s.count("sessions"))
	}
	id := strconv.FormatInt(alice.post("hello"), 10)
	s.m.Sync(t)
	if r := anon.call("GET", "/api/posts/"+id, ""); r.status != 200 || r.json()["body"] != "hello" {
		t.Errorf("read: %d %s", r.status, r.body)
	}
	v := alice.upload(pngImage(t, 20, 10))
	if v["status"] != "ready" || v["thumbnail_url"] == nil {
		t.Errorf("inline upload: %v, want ready with a thumbnail", v)
	}
	if r := alice.call("DELETE", "/api/sessions", ""); r.status != 204 || s.count("sessions") != 0 {
		t.Errorf("log out: %d, %d sessions left", r.status, s.count("sessions"))
	}
	if r := alice.call("POST", "/api/posts", `{"body":"x"}`); r.status != 401 {
		t.Errorf("write after log out: %d", r.status)
	}
}
