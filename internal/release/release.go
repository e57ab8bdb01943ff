// Package release turns the bundled app (app/) into the artifact a stack deploys.
//
// A release is named by a fingerprint of the app's sources (every non-test file under app/,
// plus go.mod and go.sum), so the artifact's S3 key, and with it the servers' user data,
// change exactly when the app changes: that is what rolls a new app out on `pulumi up`.
// Under `pulumi up` the binary is built reproducibly (-trimpath, no build id, CGO off), so the
// same sources give the same bytes and a preview shows no spurious diff; it carries its
// version (-X main.version), which the app logs at start and reports to Sentry. The offline preview
// and the tests only fingerprint: they never compile the app.
package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppPackage is the app's main package, relative to the module root.
const AppPackage = "./app/cmd/scaling-app"

// Release is one version of the app, for one CPU architecture.
type Release struct {
	// Version is the source fingerprint (12 hex digits).
	Version string
	// Arch is the Go architecture: amd64 or arm64.
	Arch string
	// Asset is the linux binary, or, for a fingerprint-only release, a text asset naming the
	// version (offline previews upload nothing).
	Asset pulumi.Asset
}

// Func produces the release of the current sources for an architecture.
type Func func(arch string) (*Release, error)

// Fingerprint returns a Func that names releases without building them (offline use).
func Fingerprint(root string) Func {
	return func(arch string) (*Release, error) {
		v, err := Version(root)
		if err != nil {
			return nil, err
		}
		return &Release{Version: v, Arch: arch, Asset: pulumi.NewStringAsset("scaling-app " + v + " linux/" + arch + " (not built: offline)\n")}, nil
	}
}

// Build returns a Func that builds the app with the go toolchain (always there under the
// Pulumi Go runtime) into the user cache, once per version and architecture.
func Build(root string) Func {
	return func(arch string) (*Release, error) {
		v, err := Version(root)
		if err != nil {
			return nil, err
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		out := filepath.Join(cache, "scaling-aws", fmt.Sprintf("scaling-app-%s-linux-%s", v, arch))
		if _, err := os.Stat(out); err != nil {
			// -X main.version: the app logs and reports (Sentry's release) the version the stack
			// deployed, not "(devel)" (-buildvcs=false leaves it no VCS revision to read).
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid= -X main.version="+v, "-o", out+".tmp", AppPackage)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if msg, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("build the app (%s) for linux/%s: %w\n%s", AppPackage, arch, err, msg)
			}
			if err := os.Rename(out+".tmp", out); err != nil {
				return nil, err
			}
		}
		return &Release{Version: v, Arch: arch, Asset: pulumi.NewFileAsset(out)}, nil
	}
}

// Version fingerprints the app's sources under root: every file below app/ except tests and
// testdata, and the module files, by path and content.
func Version(root string) (string, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "app"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fingerprint the app: %w (run from the project root)", err)
	}
	files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		fh, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("fingerprint the app: %w", err)
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("fingerprint the app: %w", err)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
