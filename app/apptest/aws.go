package apptest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// AWSConfig is an AWS configuration for the test servers that stand in for AWS
// services (dynalite, gofakes3, goaws): region us-east-1 and static test
// credentials, which those servers accept without checking.
func AWSConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(
		func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}
}
