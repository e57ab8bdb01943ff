package apptest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Dynamo returns the endpoint of the test DynamoDB-compatible server
// (dynalite, TEST_DYNAMO_ENDPOINT, started by scripts/services.sh).
func Dynamo(t testing.TB) string {
	t.Helper()
	return need(t, "TEST_DYNAMO_ENDPOINT")
}

// NewDynamoTable creates, on the test server at endpoint, an on-demand table
// with a string partition key pk and sort key sk, as components.Table does,
// and asks for TTL on the ttl attribute. dynalite has no UpdateTimeToLive (it
// never expires items): where it is refused the test can check only the
// attribute the items carry. The table is dropped when the test ends; its
// name and a client for it are returned.
func NewDynamoTable(t testing.TB, endpoint, pk, sk, ttl string) (string, *dynamodb.Client) {
	t.Helper()
	name := "t-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + suffix()
	if len(name) > 255 {
		name = name[len(name)-255:]
	}
	c := dynamodb.NewFromConfig(AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(pk), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(sk), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange}},
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(c).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)},
		5*time.Second, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond }); err != nil {
		t.Fatalf("table %s never became active: %v", name, err)
	}
	if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)}}); err != nil {
		t.Logf("UpdateTimeToLive refused by the test server (%v): checking %s values only", err, ttl)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name, c
}
