package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppReleaseArgs configures an AppRelease.
type AppReleaseArgs struct {
	// Version is the app's source fingerprint; it names the object, so a new version is a
	// new key and the servers' user data changes with it. Required.
	Version string
	// Arch is the binary's architecture (amd64 or arm64). Required.
	Arch string
	// Binary is the linux binary (or, offline, a text stand-in). Required.
	Binary pulumi.Asset
	// EncryptionKey encrypts the artifact bucket (SSE-KMS). Default: nil, SSE-S3.
	EncryptionKey *Key
}

// AppRelease is the private artifact bucket and the app binary in it, under
// releases/<version>/scaling-app-linux-<arch>. Servers fetch it through the S3 gateway
// endpoint with their instance role, so no server needs the internet to get the app.
type AppRelease struct {
	pulumi.ResourceState

	// Bucket is the artifact bucket.
	Bucket *Bucket
	// Key is the binary's object key.
	Key string
	// Version is the release's source fingerprint.
	Version string
	// ObjectArn is the binary's ARN, for read grants.
	ObjectArn pulumi.StringOutput
}

// NewAppRelease uploads the app binary to the artifact bucket.
func NewAppRelease(ctx *pulumi.Context, name string, args *AppReleaseArgs, opts ...pulumi.ResourceOption) (*AppRelease, error) {
	if args == nil || args.Version == "" || args.Binary == nil {
		return nil, argError("app release", name, "Version/Binary", args, "pass the release's version and binary")
	}
	if args.Arch != "amd64" && args.Arch != "arm64" {
		return nil, argError("app release", name, "Arch", args.Arch, "use amd64 or arm64")
	}
	r := &AppRelease{Version: args.Version, Key: fmt.Sprintf("releases/%s/scaling-app-linux-%s", args.Version, args.Arch)}
	child, err := register(ctx, "app:AppRelease", name, r, opts)
	if err != nil {
		return nil, err
	}
	r.Bucket, err = NewBucket(ctx, childName(name, "artifacts"), &BucketArgs{Class: DataArtifacts, Key: args.EncryptionKey}, child...)
	if err != nil {
		return nil, err
	}
	obj, err := s3.NewBucketObjectv2(ctx, childName(name, "binary"), &s3.BucketObjectv2Args{
		Bucket:      r.Bucket.ID,
		Key:         pulumi.String(r.Key),
		Source:      args.Binary,
		ContentType: pulumi.String("application/octet-stream"),
	}, child...)
	if err != nil {
		return nil, err
	}
	r.ObjectArn = pulumi.Sprintf("%s/%s", r.Bucket.Arn, obj.Key)
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"key": pulumi.String(r.Key)})
}
