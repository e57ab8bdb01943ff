package sqs_test

import (
	"context"
	"github.com/aws/aws-sdk-go-v2/aws"
)

func fakeAWS() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(
		func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}
}
