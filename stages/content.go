package stages

import (
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/components"
)

// The object-store prefixes the app uses (app/http and app/worker): its static assets,
// photo originals and thumbnails. The app's role is granted exactly these, and CloudFront
// serves exactly these paths from the bucket.
const (
	prefixStatic    = "static/"
	prefixOriginals = "originals/"
	prefixThumbs    = "thumbs/"
)

// appPrefixes are the object-store prefixes the app reads and writes.
var appPrefixes = []string{prefixStatic, prefixOriginals, prefixThumbs}

// cdnPathPatterns are the CloudFront paths served from the object store: one per prefix, so
// a URL path is its object key (https://cdn/thumbs/7.jpg is s3://store/thumbs/7.jpg).
func cdnPathPatterns() []string {
	out := make([]string, len(appPrefixes))
	for i, p := range appPrefixes {
		out[i] = "/" + p + "*"
	}
	return out
}

// staticDir holds the app's static assets, relative to the project root.
const staticDir = "app/http/static"

// staticAssets uploads the app's static assets to the object store under static/, so that
// from users+ on they are served from S3 (and from CloudFront in users++) rather than by the
// web server. Each file is one object named store-static-<path>; a changed file is an update.
func (b *builder) staticAssets(store *components.Bucket) error {
	root := b.ctx.RootDirectory()
	if root == "" {
		root = "."
	}
	dir := filepath.Join(root, staticDir)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("upload static assets: %w (run from the project root)", err)
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := prefixStatic + filepath.ToSlash(rel)
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(key))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		_, err = s3.NewBucketObjectv2(b.ctx, nameStore+"-"+strings.ReplaceAll(strings.TrimSuffix(key, "/"), "/", "-"), &s3.BucketObjectv2Args{
			Bucket:       store.ID,
			Key:          pulumi.String(key),
			Content:      pulumi.String(string(body)),
			ContentType:  pulumi.String(ctype),
			CacheControl: pulumi.String("public, max-age=3600"), // as the app serves them
		}, pulumi.Parent(store))
		return err
	})
}
