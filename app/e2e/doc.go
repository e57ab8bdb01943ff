// Package e2e holds the app's end-to-end tests: the HTTP API over the real
// adapters (MariaDB primary and replica, Redis cache, sessions and Streams
// queue, S3 on gofakes3) and the worker, wired as cmd/scaling-app does.
package e2e
