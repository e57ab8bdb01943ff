package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/scaling-aws/scaling-aws/app"
)

func TestErrorCodeAndMessage(t *testing.T) {
	for _, tc := range []struct {
		err       error
		code, msg string
	}{
		{nil, "", "internal error"},
		{app.Errorf(app.ENOTFOUND, "post %d not found", 3), app.ENOTFOUND, "post 3 not found"},
		{fmt.Errorf("wrapped: %w", app.Errorf(app.EFORBIDDEN, "not yours")), app.EFORBIDDEN, "not yours"},
		{errors.New("dial tcp 10.0.0.1:3306: refused"), app.EINTERNAL, "internal error"},
		{app.Unavailable(errors.New("dial tcp 10.0.0.1:6379: i/o timeout"), "sessions are unavailable"), app.EUNAVAILABLE, "sessions are unavailable"},
	} {
		if got := app.ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if tc.err != nil {
			if got := app.ErrorMessage(tc.err); got != tc.msg {
				t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, tc.msg)
			}
		}
	}
}

func TestWithPrimary(t *testing.T) {
	ctx := context.Background()
	if app.UsePrimary(ctx) || !app.UsePrimary(app.WithPrimary(ctx)) {
		t.Error("WithPrimary/UsePrimary disagree")
	}
}

func TestHashToken(t *testing.T) {
	a, b := app.HashToken("a"), app.HashToken("b")
	if len(a) != 32 || string(a) == string(b) || string(a) != string(app.HashToken("a")) {
		t.Error("HashToken is not a stable 32-byte digest")
	}
}
