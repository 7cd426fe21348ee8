package environment

// The tests in this file put a real TCP proxy, toxiproxy (through
// internal/faultproxy), between the stage in AWS api mode and moto, with
// the real AWS SDK client of package awsapi on the stage's side:
//
//	stage (awsapi, SDK) ──▶ toxiproxy ──▶ front: numbers calls, 503s ──▶ awsAnswers: throttling, 500s ──▶ awscalls: names calls ──▶ moto
//
// They fail each AWS call of each kind of run (a first configure, a
// scheduled re-run, a delete) in each way a network or AWS fails, or stop
// the run at each boundary between two calls (in process, or by killing
// the built binaries, environment handing over to environment-aws), then
// run the stage again with the network well, and check that it converged:
//
//   - in moto, exactly the request's repository and role (with its inline
//     policy) after a configure, nothing after a delete, and nothing else
//     (motoserver.Inventory over every case of a test: none duplicated,
//     none orphaned);
//   - output and status byte for byte a fault-free run's, but for the
//     request's name (each case has its own, as the cases share one moto)
//     and, in the message of a first configure, the list of changes: a
//     run after a failed one says only what it still had to do;
//   - the run after that makes no mutating call (AWS holds everything the
//     stage wants) and writes a fault-free re-run's bytes;
//   - no run that succeeded with missing output: a run under a fault fails,
//     on one line naming the AWS call, writing nothing (so that Kratix keeps
//     the earlier output), or succeeds with all of it. A re-run with
//     nothing to do never mutates, whatever fails.
//
// The AWS SDK retries connection errors, timeouts, 500, 502, 503 and 504,
// and throttling, which AWS answers with a 400 and an error code
// (ThrottlingException from ECR, Throttling from IAM): not a bare 429. It
// waits a random time of up to 2 s before its first retry (legacy
// standard mode; nothing the stage reads changes that), so the cases that
// retry mostly wait, and run many at a time (see concurrently). The stage
// has two knobs: AWS_MAX_ATTEMPTS in its environment (2 here: one retry;
// the SDK's default is 3) and config.aws.attemptTimeout.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/faultproxy"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/internal/awscalls"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

const (
	// faultAttempt is the stage's limit per attempt of an AWS call under
	// faults: faults that hold an answer hold it longer. moto, in Python,
	// answers in milliseconds, but can take hundreds on a busy machine.
	faultAttempt = time.Second
	// calmAttempt is the limit per attempt without faults, where a retry
	// would change the calls a test expects.
	calmAttempt = 10 * time.Second
	// faultAttempts is AWS_MAX_ATTEMPTS under faults: one retry.
	faultAttempts = 2
	// faultWidth is how many cases run at once.
	faultWidth = 16
	// runLimit only guards the suite against a run that would hang: every
	// run is bounded by its attempts.
	runLimit = 30 * time.Second
)

// faultSuite is one moto, reset once, shared by every case of a test: each
// case has a request of its own name, so that cases can run at once.
type faultSuite struct {
	motoURL  string
	ecr      *ecr.Client
	iam      *iam.Client
	mu       sync.Mutex
	names    int
	cases    map[string]string // the test of each request name
	expected []string          // what moto must hold once every case is done
}

func newFaultSuite(t *testing.T) *faultSuite {
	t.Helper()
	server := moto.Get(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(motoserver.AccessKeyID, motoserver.SecretAccessKey, "")}
	return &faultSuite{
		motoURL: server.URL,
		cases:   map[string]string{},
		ecr:     ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(server.URL) }),
		iam:     iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(server.URL) }),
	}
}

// name returns a request name no other case of the suite has, for t.
// Every name has the same length, so that outputs differ by the name
// alone.
func (s *faultSuite) name(t *testing.T) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names++
	name := fmt.Sprintf("ft%04d", s.names)
	s.cases[name] = t.Name()
	return name
}

// keeps records that the environment of the request name must be in moto
// once the test is done.
func (s *faultSuite) keeps(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := "default-" + name
	s.expected = append(s.expected,
		"repository environments/"+ns,
		"role env-"+ns,
		"role env-"+ns+" inline policy repository-access")
}

// checkInventory checks that moto holds exactly what the cases left: one
// repository and one role, with its policy, for every environment that
// must remain, and nothing else.
func (s *faultSuite) checkInventory(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	want := slices.Sorted(slices.Values(slices.Clone(s.expected)))
	s.mu.Unlock()
	if len(want) > 3*90 {
		// Inventory lists one page (100) of repositories and of roles.
		t.Fatalf("%d environments left in moto: too many for motoserver.Inventory", len(want)/3)
	}
	got, err := motoserver.Inventory(context.Background(), s.ecr, s.iam)
	if err != nil {
		t.Fatal(err)
	}
	of := func(item string) string { // the test whose request item is for
		if _, name, ok := strings.Cut(item, "default-"); ok {
			name, _, _ = strings.Cut(name, " ")
			if test, ok := s.cases[name]; ok {
				return test
			}
		}
		return "no test"
	}
	for _, item := range got {
		if _, found := slices.BinarySearch(want, item); !found {
			t.Errorf("moto holds %q, which %s must not have left: orphaned or duplicated", item, of(item))
		}
	}
	for _, item := range want {
		if !slices.Contains(got, item) {
			t.Errorf("moto lacks %q, which %s must have left", item, of(item))
		}
	}
}

// faultAWS is one case's way to moto (the chain drawn at the top).
type faultAWS struct {
	net     *faultproxy.HTTP
	answers *awsAnswers
	calls   *awscalls.Proxy
	env     map[string]string
}

func (s *faultSuite) newFaultAWS(t *testing.T) *faultAWS {
	t.Helper()
	calls, err := awscalls.New(s.motoURL)
	if err != nil {
		t.Fatal(err)
	}
	answers := &awsAnswers{next: calls}
	srv := httptest.NewServer(answers)
	t.Cleanup(srv.Close)
	net := faultproxy.StartHTTP(t, srv.URL, nil)
	return &faultAWS{
		net: net, answers: answers, calls: calls,
		env: map[string]string{
			"AWS_ENDPOINT_URL":      net.URL,
			"AWS_ACCESS_KEY_ID":     motoserver.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY": motoserver.SecretAccessKey,
			"AWS_MAX_ATTEMPTS":      strconv.Itoa(faultAttempts),
		},
	}
}

// harness returns a stage harness for object in api mode through e.
func (e *faultAWS) harness(t *testing.T, object []byte) *pipeline {
	t.Helper()
	h := newPipeline(t, object, writeConfig(t, apiConfig), nil)
	maps.Copy(h.Env, e.env)
	h.setAWSAttemptTimeout(t, calmAttempt)
	return h
}

// reset forgets the calls made so far and restarts their numbering.
func (e *faultAWS) reset() {
	e.net.Reset()
	e.answers.reset()
	e.calls.Reset()
}

// heal takes every fault away.
func (e *faultAWS) heal(t *testing.T) {
	t.Helper()
	e.net.Clear(t)
	e.answers.arm(nil)
}

// made returns the calls that reached moto since the last reset, as
// "service:Operation".
func (e *faultAWS) made() []string {
	var out []string
	for _, c := range e.calls.Calls() {
		out = append(out, c.String())
	}
	return out
}

// awsAnswer is an answer in AWS's own shape to chosen calls: throttling,
// or a 500 after moto has handled the call.
type awsAnswer struct {
	call  int // the first call answered, numbered from 1 since the last reset
	times int // how many; 0: every call until healed
	// throttle answers 400 with the service's throttling code instead of
	// passing the call on; otherwise the call takes effect and its answer
	// is replaced by a 500.
	throttle bool
}

// awsAnswers numbers the calls that reach it and answers the armed ones
// itself. The proxy front answers 503s and 429s too, with a plain-text
// body; the SDK retries a 503 by its status alone, but throttling only by
// the error code in the body, as AWS sends it.
type awsAnswers struct {
	next http.Handler

	mu    sync.Mutex
	calls int
	fault *awsAnswer
}

func (a *awsAnswers) arm(f *awsAnswer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fault, a.calls = f, 0
}

func (a *awsAnswers) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = 0
}

func (a *awsAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	a.mu.Lock()
	a.calls++
	n, f := a.calls, a.fault
	a.mu.Unlock()
	if f == nil || n < f.call || (f.times > 0 && n >= f.call+f.times) {
		a.next.ServeHTTP(w, r)
		return
	}
	service := awscalls.Identify(r, body).Service
	if f.throttle {
		writeAWSError(w, service, http.StatusBadRequest, map[string]string{"ecr": "ThrottlingException", "iam": "Throttling"}[service], "Rate exceeded")
		return
	}
	a.next.ServeHTTP(httptest.NewRecorder(), r) // it takes effect; the answer is lost
	writeAWSError(w, service, http.StatusInternalServerError, map[string]string{"ecr": "ServerException", "iam": "ServiceFailure"}[service], "We encountered an internal error. Please try again.")
}

// writeAWSError answers as the service does: ECR speaks awsJson1_1, IAM
// awsQuery.
func writeAWSError(w http.ResponseWriter, service string, status int, code, message string) {
	switch service {
	case "ecr":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, message)
	default:
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>4e4c7a9b-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, kind, code, message)
	}
}

// apiRun is one kind of run whose AWS calls the tests fail one by one.
type apiRun struct {
	name   string
	action string
	calls  []string // "service:Operation", in order, of a fault-free run
	// prepared runs start from an environment a fault-free configure made.
	prepared bool
	// shared runs only read: their cases share one environment, the
	// reference's, and its name.
	shared bool
}

var apiRuns = []apiRun{
	{
		name: "first configure", action: kratix.ActionConfigure,
		calls: []string{"ecr:CreateRepository", "ecr:PutLifecyclePolicy", "iam:CreateRole", "iam:PutRolePolicy"},
	},
	{
		name: "re-run", action: kratix.ActionConfigure, prepared: true, shared: true,
		calls: []string{
			"ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:GetLifecyclePolicy",
			"iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
		},
	},
	{
		name: "delete", action: kratix.ActionDelete, prepared: true,
		calls: []string{
			"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:DeleteRolePolicy", "iam:DeleteRole",
			"ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:DeleteRepository",
		},
	},
}

func (r apiRun) run(h *pipeline) *stagetest.Outcome {
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	if r.action == kratix.ActionDelete {
		return h.Delete(ctx)
	}
	return h.Configure(ctx)
}

// apiReference is a kind of run without faults.
type apiReference struct {
	name string // the request's
	// prepared is the object the shared cases start from.
	prepared []byte
	out      *stagetest.Outcome
	// steady is the run after out (configure runs).
	steady *stagetest.Outcome
}

// references runs each kind of run once without faults, checks that it
// makes exactly its calls, and returns its outcome by name.
func (s *faultSuite) references(t *testing.T) map[string]*apiReference {
	t.Helper()
	refs := map[string]*apiReference{}
	for _, r := range apiRuns {
		e := s.newFaultAWS(t)
		ref := &apiReference{name: s.name(t)}
		h := e.harness(t, request(t, "examples/preview.yaml", setName(ref.name)))
		if r.prepared {
			if o := h.Configure(context.Background()); o.Err != nil {
				t.Fatalf("%s: configuring first: %v", r.name, o.Err)
			}
			var err error
			if ref.prepared, err = yaml.Marshal(h.Object); err != nil {
				t.Fatal(err)
			}
		}
		e.reset()
		ref.out = r.run(h)
		if ref.out.Err != nil {
			t.Fatalf("%s without faults: %v", r.name, ref.out.Err)
		}
		if got := e.made(); !slices.Equal(got, r.calls) || len(e.net.Requests()) != len(r.calls) {
			t.Fatalf("%s makes the calls %q (%d requests), want %q: update the calls the fault tests enumerate", r.name, got, len(e.net.Requests()), r.calls)
		}
		if r.action == kratix.ActionConfigure {
			ref.steady = r.run(h)
			if ref.steady.Err != nil {
				t.Fatalf("%s, again: %v", r.name, ref.steady.Err)
			}
			s.keeps(ref.name)
		}
		refs[r.name] = ref
	}
	return refs
}

func setName(name string) func(map[string]any) {
	return func(obj map[string]any) { obj["metadata"].(map[string]any)["name"] = name }
}

// apiCase is one case: its own request (or the shared one) and its own way
// to moto.
type apiCase struct {
	apiRun
	ref  *apiReference
	e    *faultAWS
	h    *pipeline
	name string
}

// start prepares a case of r: the request where the run starts, without
// faults, and the calls reset.
func (s *faultSuite) start(t *testing.T, r apiRun, ref *apiReference) *apiCase {
	t.Helper()
	c := &apiCase{apiRun: r, ref: ref, e: s.newFaultAWS(t)}
	switch {
	case r.shared:
		c.name = ref.name
		c.h = c.e.harness(t, ref.prepared)
	default:
		c.name = s.name(t)
		c.h = c.e.harness(t, request(t, "examples/preview.yaml", setName(c.name)))
		if r.prepared {
			if o := c.h.Configure(context.Background()); o.Err != nil {
				t.Fatalf("configuring first: %v", o.Err)
			}
		}
		if r.action == kratix.ActionConfigure {
			s.keeps(c.name)
		}
	}
	c.e.reset()
	return c
}

// outcome is what a run under a fault must do.
type outcome int

const (
	// succeeds: the SDK's retry carries the run through the fault.
	succeeds outcome = iota
	// fails: the fault outlasts the run's attempts.
	fails
	// cutShort: the answer is cut halfway. The SDK retries a connection
	// lost before the answer's header is through, not a body cut short
	// (its error is one of deserialization, "unexpected EOF"): which one
	// depends on the size of the answer.
	cutShort
)

// faultThenHeal runs c under the fault that inject arms, checks the run,
// takes the fault away, runs the stage again and checks that it
// converged.
func (c *apiCase) faultThenHeal(t *testing.T, want outcome, bites bool, call int, inject func(*faultAWS)) {
	t.Helper()
	before, err := yaml.Marshal(c.h.Object)
	if err != nil {
		t.Fatal(err)
	}
	inject(c.e)
	out := c.run(c.h)
	if bites && len(c.e.net.Requests()) <= len(c.calls) {
		t.Errorf("the run made only the calls of a fault-free run (%q): the fault never reached it", c.e.made())
	}
	switch {
	case out.Err == nil && want == fails:
		t.Errorf("the run succeeded without the calls the fault stopped (%q)", c.e.made())
	case out.Err != nil && want == succeeds:
		t.Errorf("the run failed, where the SDK's retry should have carried it: %v", out.Err)
	}
	c.checkFailedOrComplete(t, out, call, before)
	if c.shared && len(c.e.calls.Mutating()) != 0 {
		t.Errorf("a re-run with nothing due made mutating calls: %v", c.e.calls.Mutating())
	}
	if c.shared && out.Err == nil {
		return // checked as the run after it would be
	}
	c.e.heal(t)
	c.e.reset()
	again := c.run(c.h)
	if out.Err == nil || c.shared {
		// Nothing was left to do.
		c.checkSteady(t, again)
		return
	}
	c.checkConverged(t, again)
}

// checkFailedOrComplete checks a run made under a fault at call: it failed
// on one line naming that call and wrote nothing, or it succeeded with the
// whole of a fault-free run's output.
func (c *apiCase) checkFailedOrComplete(t *testing.T, out *stagetest.Outcome, call int, before []byte) {
	t.Helper()
	if out.Err == nil {
		c.checkSame(t, out, c.ref.out)
		return
	}
	if len(out.Files) != 0 || out.StatusYAML != nil {
		t.Errorf("a failed run wrote %v and status %q: Kratix would take them", slices.Sorted(maps.Keys(out.Files)), out.StatusYAML)
	}
	if after, _ := yaml.Marshal(c.h.Object); !bytes.Equal(before, after) {
		t.Error("the failed run changed the object's status")
	}
	line := out.Err.Error()
	if strings.ContainsAny(line, "\r\n") {
		t.Errorf("the error is not one line: %q", line)
	}
	if op := sdkOperation(c.calls[call-1]); !strings.Contains(line, op) {
		t.Errorf("the error %q does not name the call that failed, %s", line, op)
	}
}

// sdkOperation is how the SDK names a call in its errors.
func sdkOperation(call string) string {
	service, op, _ := strings.Cut(call, ":")
	return "operation error " + strings.ToUpper(service) + ": " + op
}

// checkConverged checks the first successful run after a failed one
// against the fault-free run, then that the environment is complete in
// AWS: the run after it has nothing left to do.
func (c *apiCase) checkConverged(t *testing.T, out *stagetest.Outcome) {
	t.Helper()
	if out.Err != nil {
		t.Fatalf("the run after the fault: %v", out.Err)
	}
	c.checkSame(t, out, c.ref.out)
	c.e.reset()
	c.checkSteady(t, c.run(c.h))
}

// checkSteady checks a run with nothing left to do, made since the last
// reset: it makes no mutating call, and writes what a fault-free run does
// when there is nothing to do (a configure's re-run, a second delete).
func (c *apiCase) checkSteady(t *testing.T, out *stagetest.Outcome) {
	t.Helper()
	if out.Err != nil {
		t.Fatalf("the run after convergence: %v", out.Err)
	}
	if m := c.e.calls.Mutating(); len(m) != 0 {
		t.Errorf("the run after convergence made mutating calls %v: AWS was left incomplete", m)
	}
	ref := c.ref.out
	if c.ref.steady != nil {
		ref = c.ref.steady
	}
	c.checkSame(t, out, ref)
}

// checkSame checks that out is ref's outcome, byte for byte but for the
// request's name and the changes a first configure lists.
func (c *apiCase) checkSame(t *testing.T, out, ref *stagetest.Outcome) {
	t.Helper()
	rename := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(c.name), []byte(c.ref.name)) }
	files := map[string][]byte{}
	for name, data := range out.Files {
		files[string(rename([]byte(name)))] = rename(data)
	}
	if !maps.EqualFunc(files, ref.Files, bytes.Equal) {
		t.Errorf("output %v differs from a fault-free run's %v", slices.Sorted(maps.Keys(files)), slices.Sorted(maps.Keys(ref.Files)))
		for name, data := range files {
			if !bytes.Equal(data, ref.Files[name]) {
				t.Logf("--- %s\n%s\n--- want\n%s", name, data, ref.Files[name])
			}
		}
	}
	got, gotMsg := splitMessage(t, rename(out.StatusYAML))
	want, wantMsg := splitMessage(t, ref.StatusYAML)
	if got != want {
		t.Errorf("status differs from a fault-free run's:\n%s\nwant\n%s", got, want)
	}
	checkMessage(t, gotMsg, wantMsg)
}

// splitMessage returns status.yaml without its message, and the message.
func splitMessage(t *testing.T, statusYAML []byte) (string, string) {
	t.Helper()
	var status map[string]any
	if err := yaml.Unmarshal(statusYAML, &status); err != nil {
		t.Fatalf("status.yaml: %v", err)
	}
	msg, _ := status["message"].(string)
	delete(status, "message")
	rest, err := yaml.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	return string(rest), msg
}

// changesRE splits a configure's message into what it says of every run
// and the changes it made.
var changesRE = regexp.MustCompile(`^(.*; ECR repository and IAM role in place)(?: \((.*)\))?$`)

// checkMessage checks a message against a fault-free run's: the same but
// that a configure may list fewer of the same changes, in the same order
// (a run after a failed one says only what it still had to do).
func checkMessage(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := changesRE.FindStringSubmatch(got), changesRE.FindStringSubmatch(want)
	if g == nil || w == nil || g[1] != w[1] || !subsequence(splitChanges(g[2]), splitChanges(w[2])) {
		t.Errorf("message %q, want %q or the same with fewer of its changes", got, want)
	}
}

func splitChanges(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ", ")
}

// subsequence reports whether sub is seq with some elements left out.
func subsequence(sub, seq []string) bool {
	for _, s := range sub {
		i := slices.Index(seq, s)
		if i < 0 {
			return false
		}
		seq = seq[i+1:]
	}
	return true
}

// apiFault is one way a call can fail. inject arms it for the call-th
// call of the run. bites says whether the run must make more calls than a
// fault-free run (a retry): proof that the fault reached the stage.
type apiFault struct {
	name   string
	inject func(t *testing.T, e *faultAWS, call int)
	want   outcome
	bites  bool
}

// toxic is a fault of the proxy at the call.
func toxic(f faultproxy.Fault) func(*testing.T, *faultAWS, int) {
	return func(t *testing.T, e *faultAWS, call int) {
		f := f // the table's fault is every case's
		f.Call = call
		e.net.Inject(t, f)
	}
}

// answer is an answer of AWS's own shape from the call on.
func answer(a awsAnswer) func(*testing.T, *faultAWS, int) {
	return func(_ *testing.T, e *faultAWS, call int) {
		a := a // the table's answer is every case's
		a.call = call
		e.answers.arm(&a)
	}
}

// apiFaults are the faults put on every call: faultproxy's connection
// faults; 503s from the proxy's front, like a load balancer's; throttling
// and a 500 after the call took effect in AWS's own shape.
func apiFaults(t *testing.T) []apiFault {
	type want struct {
		outcome outcome
		bites   bool
	}
	var faults []apiFault
	for _, f := range faultproxy.Expect(t, faultAttempt, map[string]want{
		"latency within the attempt limit": {succeeds, false},
		"latency beyond the attempt limit": {succeeds, true},
		"reset_peer":                       {succeeds, true},
		// Answers longer than about 1,000 bytes (some of IAM's) outlast
		// the attempt limit; shorter ones are only slowed.
		"slow body (bandwidth)":           {succeeds, false},
		"answer cut halfway (limit_data)": {cutShort, false},
		"slow_close":                      {succeeds, false},
		"timeout: no answer from here on": {fails, false},
	}) {
		faults = append(faults, apiFault{f.Name, toxic(f.Fault), f.Want.outcome, f.Want.bites})
	}
	return append(faults,
		apiFault{"503 once", toxic(faultproxy.Fault{Status: 503, Times: 1}), succeeds, true},
		apiFault{"503 until healed", toxic(faultproxy.Fault{Status: 503}), fails, false},
		apiFault{"500 after taking effect, once", answer(awsAnswer{times: 1}), succeeds, true},
		apiFault{"500 after taking effect, until healed", answer(awsAnswer{}), fails, false},
		apiFault{"throttled once", answer(awsAnswer{times: 1, throttle: true}), succeeds, true},
		apiFault{"throttled until healed", answer(awsAnswer{throttle: true}), fails, false},
		// A proxy's 429, without AWS's error code: the SDK does not retry it.
		apiFault{"429 once, not from AWS", toxic(faultproxy.Fault{Status: 429, RetryAfter: "0", Times: 1}), fails, false},
	)
}

// concurrently runs run(t, i) as the subtest names[i], for every i, up to
// faultWidth at a time, and returns once all have finished. Most of a
// case's time is the SDK's wait before a retry, or a fault's: waiting
// that costs no CPU, which -parallel (the number of CPUs by default)
// would make the cases do one or two at a time.
func concurrently(t *testing.T, names []string, run func(t *testing.T, i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range faultWidth {
		wg.Go(func() {
			for i := range work {
				t.Run(names[i], func(t *testing.T) { run(t, i) })
			}
		})
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
}

// TestAPIFaultAtEachCall fails each AWS call of each kind of run in each
// way of apiFaults, then runs the stage again without faults.
func TestAPIFaultAtEachCall(t *testing.T) {
	s := newFaultSuite(t)
	refs := s.references(t)
	type tc struct {
		r     apiRun
		call  int
		fault apiFault
	}
	var cases []tc
	var names []string
	faults := apiFaults(t)
	for _, r := range apiRuns {
		for i, call := range r.calls {
			for _, f := range faults {
				cases = append(cases, tc{r, i + 1, f})
				names = append(names, fmt.Sprintf("%s/%d %s/%s", r.name, i+1, call, f.name))
			}
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		tc := cases[i]
		c := s.start(t, tc.r, refs[tc.r.name])
		c.h.setAWSAttemptTimeout(t, faultAttempt)
		c.faultThenHeal(t, tc.fault.want, tc.fault.bites, tc.call, func(e *faultAWS) { tc.fault.inject(t, e, tc.call) })
	})
	s.checkInventory(t)
}

// boundary is a point between two calls of a run where it stops: before
// call n reaches AWS, or after AWS has handled it (its answer lost).
type boundary struct {
	call  int
	after bool
}

func (b boundary) String() string {
	if b.after {
		return fmt.Sprintf("after call %d", b.call)
	}
	return fmt.Sprintf("before call %d", b.call)
}

// outage is the proxy fault that stops everything at b: no request from
// there on reaches AWS, and after a call, no answer leaves it. toxic is
// reset_peer to fail fast, timeout(0) to hang.
func (b boundary) outage(tx faultproxy.Toxic) faultproxy.Fault {
	if !b.after {
		return faultproxy.Fault{Call: b.call, Before: true, Toxics: []faultproxy.Toxic{tx.On(faultproxy.Upstream)}}
	}
	return faultproxy.Fault{Call: b.call, Toxics: []faultproxy.Toxic{tx.On(faultproxy.Downstream), tx.On(faultproxy.Upstream)}}
}

// TestAPIStoppedAtEachBoundary stops each kind of run at every boundary
// between its AWS calls, in process: from the boundary on, the network is
// gone, with no retry (AWS_MAX_ATTEMPTS 1), and the stage fails through its
// own error paths; then it runs again with the network back.
func TestAPIStoppedAtEachBoundary(t *testing.T) {
	s := newFaultSuite(t)
	refs := s.references(t)
	type tc struct {
		r apiRun
		b boundary
	}
	var cases []tc
	var names []string
	for _, r := range apiRuns {
		for call := 1; call <= len(r.calls); call++ {
			for _, after := range []bool{false, true} {
				b := boundary{call, after}
				cases = append(cases, tc{r, b})
				names = append(names, fmt.Sprintf("%s/%s %s", r.name, b, r.calls[call-1]))
			}
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		tc := cases[i]
		c := s.start(t, tc.r, refs[tc.r.name])
		c.h.Env["AWS_MAX_ATTEMPTS"] = "1"
		c.faultThenHeal(t, fails, false, tc.b.call, func(e *faultAWS) { e.net.Inject(t, tc.b.outage(faultproxy.ResetPeer())) })
	})
	s.checkInventory(t)
}

// TestAPIKilledAtEachBoundary builds the stage's binaries and kills the
// process (SIGKILL: no deferred code, no error path) at every boundary
// between the AWS calls of a first configure and of a delete: before the
// first, and after each (AWS handled the call; the stage never got the
// answer). The process is environment, which in api mode replaces itself
// with environment-aws, as in the image. The network holds it at the
// boundary: from there on, everything goes into a black hole (toxiproxy's
// timeout; the limit per attempt is longer than the test). Killing it
// before call n>1 leaves what killing it after call n-1 leaves, so those
// are not repeated. The container is then restarted in the same Pod, with
// the network back.
func TestAPIKilledAtEachBoundary(t *testing.T) {
	bins := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bins+string(os.PathSeparator), "../../pipelines/environment/...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := newFaultSuite(t)
	refs := s.references(t)
	type tc struct {
		r apiRun
		b boundary
	}
	var cases []tc
	var names []string
	for _, r := range apiRuns {
		if r.shared {
			continue // it only reads: a kill leaves nothing a failed read does not
		}
		kills := []boundary{{1, false}}
		for call := 1; call <= len(r.calls); call++ {
			kills = append(kills, boundary{call, true})
		}
		for _, b := range kills {
			cases = append(cases, tc{r, b})
			names = append(names, fmt.Sprintf("%s/%s %s", r.name, b, r.calls[b.call-1]))
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		tc := cases[i]
		c := s.start(t, tc.r, refs[tc.r.name])
		c.h.Env["AWS_MAX_ATTEMPTS"] = "1"
		c.h.setAWSAttemptTimeout(t, time.Minute)
		c.e.net.Inject(t, tc.b.outage(faultproxy.Timeout(0)))
		dirs := c.h.PodDirs()
		var stderr bytes.Buffer
		cmd := c.h.Command(context.Background(), c.action, dirs, filepath.Join(bins, "environment"))
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-c.e.net.Struck():
		case err := <-exited:
			t.Fatalf("the stage exited (%v) before reaching the boundary: %s", err, stderr.Bytes())
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatal("the stage did not reach the boundary within 10s")
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		c.h.Leaks.Check(t, "the killed stage's stdout and stderr", stderr.Bytes())
		if left := c.h.Collect(dirs); len(left.Files) != 0 || left.StatusYAML != nil {
			t.Errorf("the killed stage left %v and status %q", slices.Sorted(maps.Keys(left.Files)), left.StatusYAML)
		}
		handled := tc.b.call - 1
		if tc.b.after {
			handled = tc.b.call
		}
		if got := c.e.made(); !slices.Equal(got, c.calls[:handled]) {
			t.Errorf("AWS handled %q before the kill, want %q", got, c.calls[:handled])
		}
		c.e.heal(t)
		c.e.reset()
		ctx, cancel := context.WithTimeout(context.Background(), runLimit)
		defer cancel()
		out := c.h.RunIn(ctx, c.action, dirs)
		if out.Err != nil {
			t.Fatalf("the restarted stage: %v", out.Err)
		}
		c.checkConverged(t, out)
	})
	s.checkInventory(t)
}
