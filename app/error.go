package app

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status, in one place (package http).
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "too_large"
	EINTERNAL     = "internal"
	// EUNSUPPORTED is a request body of a media type the endpoint does not
	// take (415): the message names the type expected.
	EUNSUPPORTED = "unsupported_media_type"
	// EMETHOD is a known path called with a method it does not serve (405).
	EMETHOD = "method_not_allowed"
	// EUNAVAILABLE is a dependency that cannot answer now (a lost or
	// stalled session store): the client should retry later (503 with
	// Retry-After).
	EUNAVAILABLE = "unavailable"
)

// Error is an error meant for the client: a stable code and a message safe to
// show. Any other error is internal: logged, and shown only as EINTERNAL.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is shown to the client as is.
	Message string
	// Err is the cause, logged but never shown to the client (nil for
	// errors about the request itself).
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Unavailable wraps err, a failure of a dependency, as EUNAVAILABLE with a
// client-safe message; err itself is kept for the logs only.
func Unavailable(err error, format string, args ...any) *Error {
	return &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf(format, args...), Err: err}
}

// Errorf returns an *Error with the code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, EINTERNAL for any other error,
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or a generic one for internal errors so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
