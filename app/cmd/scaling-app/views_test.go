package main

import (
	"context"
	"database/sql"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaling-aws/scaling-aws/app/apptest"
	"github.com/scaling-aws/scaling-aws/app/dynamo"
	"github.com/scaling-aws/scaling-aws/app/mysql"
)

// TestRunViews runs the binary as the single box with DYNAMO_TABLE set,
// against the real MariaDB and dynalite: each read of a post is counted in
// the table (flushed at the latest when the server stops), the answer
// carries "views", and a read of a post that does not exist counts nothing.
func TestRunViews(t *testing.T) {
	m := apptest.NewMySQL(t)
	ep := apptest.Dynamo(t)
	table, ddb := apptest.NewDynamoTable(t, ep, dynamo.AttrPK, dynamo.AttrSK, dynamo.AttrExpiresAt)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	host, port, _ := strings.Cut(m.Primary.Addr, ":")
	env := map[string]string{
		"APP_ADDR": "127.0.0.1:0", "DB_HOST": host, "DB_PORT": port, "DB_NAME": m.Primary.DBName,
		"DB_USER": m.Primary.User, "DB_PASSWORD": m.Primary.Passwd,
		"DYNAMO_TABLE": table, "DYNAMO_ENDPOINT": ep, "COUNTER_FLUSH_INTERVAL": "100ms",
	}
	if err := run(context.Background(), []string{"-migrate-only"}, envOf(env), io.Discard); err != nil {
		t.Fatalf("-migrate-only: %v", err)
	}
	db, err := sql.Open("mysql", mysql.Config(m.Primary).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'ann', 'x', NOW())"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO posts (id, user_id, body, created_at, updated_at) VALUES (7, 1, 'hello', NOW(), NOW())"); err != nil {
		t.Fatal(err)
	}

	srv := serve(t, "all", env)
	if !strings.Contains(srv.Logs(), `"msg":"counting post views"`) {
		t.Errorf("the server does not say it counts views; logs:\n%s", srv.Logs())
	}
	for i := 0; i < 3; i++ {
		st, _, body := srv.call(t, "GET", "/api/posts/7", "", "")
		if st != 200 || body["body"] != "hello" {
			t.Fatalf("read %d of post 7: %d %v", i+1, st, body)
		}
		if i == 2 {
			if _, has := body["views"]; !has {
				t.Errorf("the third read has no views field: %v", body)
			}
		}
	}
	if st, _, body := srv.call(t, "GET", "/api/posts/8", "", ""); st != 404 {
		t.Errorf("read of a missing post: %d %v, want 404", st, body)
	}
	srv.Stop(t)

	views := func(id int64) (int64, bool) {
		t.Helper()
		out, err := ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]types.AttributeValue{
				dynamo.AttrPK: &types.AttributeValueMemberS{Value: dynamo.PK(id)},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: dynamo.SKTotal}},
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("get the total of post %d: %v", id, err)
		}
		if out.Item == nil {
			return 0, false
		}
		n, err := strconv.ParseInt(out.Item[dynamo.AttrViews].(*types.AttributeValueMemberN).Value, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n, true
	}
	if n, ok := views(7); !ok || n != 3 {
		t.Errorf("post 7's total after 3 reads and a stop: %d (exists %v), want 3", n, ok)
	}
	if _, ok := views(8); ok {
		t.Error("a read of a missing post created a counter")
	}
}
