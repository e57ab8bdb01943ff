package app

import (
	"context"
	"time"
)

// ReadSource says where a store served a read from, so that a cache above it
// can refuse to keep a row that may be stale: a replica's answer reflects the
// primary as it was up to LagBound ago.
type ReadSource struct {
	// Replica is true when a replica answered, false for the primary.
	Replica bool
	// LagKnown is true when the replica's lag was measured; LagBound is then
	// an upper bound of how far behind the primary its answer may be.
	LagKnown bool
	// LagBound bounds the replica's lag at the time of the read.
	LagBound time.Duration
}

type readSourceKey struct{}

// WithReadSource returns a context under which a store that routes reads
// records, in *src, where it served the last read from. A store that does
// not route (one database) records nothing: *src stays the primary.
func WithReadSource(ctx context.Context, src *ReadSource) context.Context {
	return context.WithValue(ctx, readSourceKey{}, src)
}

// SetReadSource records src in the ReadSource of ctx, if any.
func SetReadSource(ctx context.Context, src ReadSource) {
	if p, ok := ctx.Value(readSourceKey{}).(*ReadSource); ok {
		*p = src
	}
}
