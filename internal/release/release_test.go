package release

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tree(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	return root
}

func TestVersionFollowsSourcesNotTests(t *testing.T) {
	base := map[string]string{"go.mod": "module x", "go.sum": "", "app/a.go": "package app", "app/a_test.go": "package app // 1", "app/testdata/x": "1"}
	v1, err := Version(tree(t, base))
	require.NoError(t, err)
	assert.Len(t, v1, 12)

	base["app/a_test.go"] = "package app // 2"
	base["app/testdata/x"] = "2"
	v2, err := Version(tree(t, base))
	require.NoError(t, err)
	assert.Equal(t, v1, v2, "tests and testdata do not make a new release")

	base["app/a.go"] = "package app // changed"
	v3, err := Version(tree(t, base))
	require.NoError(t, err)
	assert.NotEqual(t, v1, v3, "a source change makes a new release")

	base["app/a.go"] = "package app"
	base["go.sum"] = "dep v1"
	v4, err := Version(tree(t, base))
	require.NoError(t, err)
	assert.NotEqual(t, v1, v4, "a dependency change makes a new release")
}

func TestVersionNeedsTheApp(t *testing.T) {
	_, err := Version(t.TempDir())
	assert.ErrorContains(t, err, "run from the project root")
}

func TestFingerprintDoesNotBuild(t *testing.T) {
	root := tree(t, map[string]string{"go.mod": "module x", "go.sum": "", "app/a.go": "package app"})
	r, err := Fingerprint(root)("arm64")
	require.NoError(t, err)
	assert.Equal(t, "arm64", r.Arch)
	assert.Contains(t, r.Asset.Text(), r.Version)
}

// TestBuildIsReproducible builds the real app twice from the same sources: the bytes must
// match, or every `pulumi preview` would show the release object changing.
func TestBuildIsReproducible(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	first, err := Build(root)("amd64")
	require.NoError(t, err)
	path := first.Asset.Path()
	a, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
	second, err := Build(root)("amd64")
	require.NoError(t, err)
	b, err := os.ReadFile(second.Asset.Path())
	require.NoError(t, err)
	assert.Equal(t, first.Version, second.Version)
	assert.Equal(t, sha256.Sum256(a), sha256.Sum256(b), "two builds of the same sources differ")
	assert.Greater(t, len(a), 1<<20, "a real binary")
	assert.True(t, bytes.Contains(a, []byte(first.Version)), "the binary carries its version %s (-X main.version)", first.Version)
}
