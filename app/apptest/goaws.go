package apptest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goaws "github.com/Admiral-Piett/goaws/app"
	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/sirupsen/logrus"
)

// GoAWS is an SQS-compatible queue server for tests: goaws v0.4.5
// (github.com/Admiral-Piett/goaws, MIT), its own router and queue code, served
// in this process on a loopback port. It keeps the queues, the receipt
// handles, the visibility timeouts (checked once a second by goaws's
// PeriodicTasks), long polling and the redrive to a dead-letter queue after
// maxReceiveCount.
//
// goaws speaks only SQS's query protocol (form-encoded Action=..., XML
// replies), while aws-sdk-go-v2's SQS client has spoken only the AWS JSON 1.0
// protocol since service/sqs v1.28.0 (2023-11-09): goaws answers its requests
// 400 "Bad Request" (TestGoAWSRefusesTheJSONProtocol pins that). So URL is a
// bridge that re-encodes the three calls the app makes (SendMessage,
// ReceiveMessage, DeleteMessage) from JSON 1.0 to query form and goaws's XML
// reply, decoded with goaws's own response types, back to JSON. The bridge
// keeps no queue state: every queue semantic the tests observe is goaws's.
// Any other call is refused by the bridge, so that a test cannot pass on a
// call that was never translated.
//
// goaws runs in-process, not as its own command, because that command listens
// on 0.0.0.0 with no option to bind loopback only.
type GoAWS struct {
	// URL is the endpoint for the app's SQS adapter (the JSON bridge).
	URL string
	// QueryURL is goaws itself (query protocol).
	QueryURL string
	t        testing.TB
	hc       *http.Client
}

// goawsOnce starts goaws's process-wide state: its queues live in package
// variables, so one goaws serves every test of the process; each test creates
// its own queues (CreateQueue) under unique names.
var goawsOnce struct {
	sync.Once
	query *httptest.Server
}

// guardQueueMap serialises goaws's writes of its queue map with every other
// call: goaws 0.4.5 looks queues up in that map without its lock (SendMessage,
// ReceiveMessage, DeleteMessage...), so a CreateQueue or DeleteQueue of one test
// while a long poll of the previous one is still ending could fail the whole
// process with Go's "concurrent map read and map write". A long poll holds the
// read side for up to its wait time.
func guardQueueMap(h http.Handler) http.Handler {
	var mu sync.RWMutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.FormValue("Action") {
		case "CreateQueue", "DeleteQueue":
			mu.Lock()
			defer mu.Unlock()
		default:
			mu.RLock()
			defer mu.RUnlock()
		}
		h.ServeHTTP(w, r)
	})
}

// StartGoAWS returns the process's goaws (started on first use) and a JSON
// bridge to it for this test.
func StartGoAWS(t testing.TB) *GoAWS {
	t.Helper()
	goawsOnce.Do(func() {
		logrus.SetLevel(logrus.WarnLevel) // goaws logs every message at info level
		goawsOnce.query = httptest.NewServer(guardQueueMap(router.New()))
		u, _ := url.Parse(goawsOnce.query.URL)
		goaws.CurrentEnvironment = goaws.Environment{Host: u.Hostname(), Port: u.Port(),
			Region: "us-east-1", AccountID: "100010001000",
			QueueAttributeDefaults: goaws.EnvQueueAttributes{VisibilityTimeout: 30, MaximumMessageSize: 262144}}
		// goaws's own command runs this every second; visibility timeouts
		// and redrive happen only on its ticks.
		go gosqs.PeriodicTasks(time.Second, make(chan struct{}))
	})
	g := &GoAWS{QueryURL: goawsOnce.query.URL, t: t, hc: &http.Client{Timeout: 30 * time.Second}}
	bridge := httptest.NewServer(http.HandlerFunc(g.bridge))
	t.Cleanup(bridge.Close)
	g.URL = bridge.URL
	return g
}

// Queue is a goaws queue of one test.
type Queue struct {
	Name, URL, Arn string
}

// CreateQueue creates a queue named after the test with the visibility
// timeout (whole seconds, as SQS) and, when dlq is not nil, a redrive policy
// to dlq after maxReceiveCount receives. The queue is deleted when the test
// ends.
func (g *GoAWS) CreateQueue(t testing.TB, role string, visibilitySeconds int, dlq *Queue, maxReceiveCount int) *Queue {
	t.Helper()
	name := strings.ReplaceAll(unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_", "-")
	if len(name) > 40 {
		name = name[:40]
	}
	name += "-" + role + "-" + suffix()
	form := url.Values{"Action": {"CreateQueue"}, "QueueName": {name},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {strconv.Itoa(visibilitySeconds)}}
	if dlq != nil {
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlq.Arn, "maxReceiveCount": strconv.Itoa(maxReceiveCount)})
		form.Set("Attribute.2.Name", "RedrivePolicy")
		form.Set("Attribute.2.Value", string(policy))
	}
	var created struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
	}
	g.query(t, form, &created)
	q := &Queue{Name: name, URL: created.URL}
	q.Arn = g.Attributes(t, q)["QueueArn"]
	t.Cleanup(func() { g.query(t, url.Values{"Action": {"DeleteQueue"}, "QueueUrl": {q.URL}}, nil) })
	return q
}

// Attributes returns goaws's GetQueueAttributes of q. Note that goaws counts
// in ApproximateNumberOfMessages every message it holds, in flight or not.
func (g *GoAWS) Attributes(t testing.TB, q *Queue) map[string]string {
	t.Helper()
	var res goaws.GetQueueAttributesResponse
	g.query(t, url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {q.URL}, "AttributeName.1": {"All"}}, &res)
	m := map[string]string{}
	for _, a := range res.Result.Attrs {
		m[a.Name] = a.Value
	}
	return m
}

// Held is how many messages goaws holds in q, visible or in flight.
func (g *GoAWS) Held(t testing.TB, q *Queue) int {
	t.Helper()
	n, err := strconv.Atoi(g.Attributes(t, q)["ApproximateNumberOfMessages"])
	if err != nil {
		t.Fatalf("goaws ApproximateNumberOfMessages of %s: %v", q.Name, err)
	}
	return n
}

// Message is a message read straight from goaws.
type Message struct {
	Body       string
	Attributes map[string]string // message attributes, by name: their string value
}

// Drain receives (and deletes) every visible message of q from goaws itself,
// for reading a dead-letter queue.
func (g *GoAWS) Drain(t testing.TB, q *Queue) []Message {
	t.Helper()
	var out []Message
	for {
		var res goaws.ReceiveMessageResponse
		g.query(t, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {q.URL}, "MaxNumberOfMessages": {"10"},
			"MessageAttributeName.1": {"All"}}, &res)
		if len(res.Result.Message) == 0 {
			return out
		}
		for _, m := range res.Result.Message {
			msg := Message{Body: string(m.Body), Attributes: map[string]string{}}
			for _, a := range m.MessageAttributes {
				msg.Attributes[a.Name] = a.Value.StringValue
			}
			out = append(out, msg)
			g.query(t, url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {q.URL}, "ReceiptHandle": {m.ReceiptHandle}}, nil)
		}
	}
}

// query posts a query-protocol call to goaws and decodes its XML reply.
func (g *GoAWS) query(t testing.TB, form url.Values, into any) {
	t.Helper()
	status, body, err := g.post(form)
	if err != nil || status != 200 {
		t.Fatalf("goaws %s: %d %s %v", form.Get("Action"), status, body, err)
	}
	if into != nil {
		if err := xml.Unmarshal(body, into); err != nil {
			t.Fatalf("goaws %s reply: %v\n%s", form.Get("Action"), err, body)
		}
	}
}

func (g *GoAWS) post(form url.Values) (int, []byte, error) {
	res, err := g.hc.PostForm(g.QueryURL+"/", form)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// jsonAttr is a message attribute in the JSON protocol.
type jsonAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
}

// bridge serves one AWS JSON 1.0 SQS call by making it on goaws.
func (g *GoAWS) bridge(w http.ResponseWriter, r *http.Request) {
	var in struct {
		QueueURL            string              `json:"QueueUrl"`
		MessageBody         string              `json:"MessageBody"`
		MessageAttributes   map[string]jsonAttr `json:"MessageAttributes"`
		MaxNumberOfMessages int                 `json:"MaxNumberOfMessages"`
		WaitTimeSeconds     int                 `json:"WaitTimeSeconds"`
		ReceiptHandle       string              `json:"ReceiptHandle"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jsonError(w, 400, "com.amazonaws.sqs#InvalidParameterValue", "bridge: body is not JSON: "+err.Error())
		return
	}
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	form := url.Values{"Action": {action}, "QueueUrl": {in.QueueURL}}
	switch action {
	case "SendMessage":
		form.Set("MessageBody", in.MessageBody)
		i := 0
		for name, a := range in.MessageAttributes {
			i++
			p := "MessageAttribute." + strconv.Itoa(i) + "."
			form.Set(p+"Name", name)
			form.Set(p+"Value.DataType", a.DataType)
			form.Set(p+"Value.StringValue", a.StringValue)
		}
	case "ReceiveMessage":
		if in.MaxNumberOfMessages > 0 {
			form.Set("MaxNumberOfMessages", strconv.Itoa(in.MaxNumberOfMessages))
		}
		if in.WaitTimeSeconds > 0 {
			form.Set("WaitTimeSeconds", strconv.Itoa(in.WaitTimeSeconds))
		}
	case "DeleteMessage":
		form.Set("ReceiptHandle", in.ReceiptHandle)
	default:
		jsonError(w, 400, "com.amazonaws.sqs#UnsupportedOperation", "bridge: "+action+" is not translated")
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), "POST", g.QueryURL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := g.hc.Do(req)
	if err != nil {
		jsonError(w, 500, "com.amazonaws.sqs#InternalError", "bridge: goaws: "+err.Error())
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		var e goaws.ErrorResponse
		xml.Unmarshal(body, &e)
		code := e.Result.Code
		if code == "AWS.SimpleQueueService.NonExistentQueue" {
			// SQS's JSON protocol names this error QueueDoesNotExist.
			code = "com.amazonaws.sqs#QueueDoesNotExist"
		}
		jsonError(w, res.StatusCode, code, e.Result.Message)
		return
	}
	var out any
	switch action {
	case "SendMessage":
		var x goaws.SendMessageResponse
		err = xml.Unmarshal(body, &x)
		out = map[string]string{"MessageId": x.Result.MessageId, "MD5OfMessageBody": x.Result.MD5OfMessageBody}
	case "ReceiveMessage":
		var x goaws.ReceiveMessageResponse
		err = xml.Unmarshal(body, &x)
		msgs := []map[string]any{}
		for _, m := range x.Result.Message {
			attrs := map[string]string{}
			for _, a := range m.Attributes {
				attrs[a.Name] = a.Value
			}
			msgs = append(msgs, map[string]any{"MessageId": m.MessageId, "ReceiptHandle": m.ReceiptHandle,
				"MD5OfBody": m.MD5OfBody, "Body": string(m.Body), "Attributes": attrs})
		}
		out = map[string]any{"Messages": msgs}
	default:
		out = map[string]any{}
	}
	if err != nil {
		jsonError(w, 500, "com.amazonaws.sqs#InternalError", fmt.Sprintf("bridge: goaws %s reply: %v", action, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
