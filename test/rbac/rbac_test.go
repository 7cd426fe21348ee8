// Package rbac_test checks every Promise's rbac.permissions against the
// calls its stages make to the platform API: the rules a pipeline asks
// Kratix for must be exactly the calls it can make, nothing more.
//
// A stage reaches the platform API only through pkg/platformapi (the
// binaries link no other Kubernetes client: internal/importguard). So the
// calls are derived in two ways:
//
//   - a binary that does not link pkg/platformapi makes no call at all
//     (go list -deps), and its Promise's pipelines must grant nothing;
//   - the stages of a binary that does are run, in process, through every
//     path that reaches the platform API (scenarios below), against a
//     recording platformapi.API, and the calls recorded for each pipeline
//     (verb, group, resource, namespace) are turned into the rules they
//     need and compared with the pipeline's rules, exactly.
//
// Where a rule applies follows Kratix (api/v1alpha1/pipeline_factory.go,
// role and clusterRole, syntasso/kratix at ae170e22): a permission without
// resourceNamespace is bound by a Role in the pipeline's namespace (the
// Promise's workflows.config.pipelineNamespace), one with
// resourceNamespace "*" by a ClusterRoleBinding, one with a namespace name
// by a RoleBinding there. Requests live in the teams' namespaces, never in
// the pipeline's, so a call on a request's namespace or across namespaces
// needs "*".
package rbac_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/golist"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/apiaggregator"
	"github.com/promisekit/promisekit/promises/environment"
	envoutside "github.com/promisekit/promisekit/promises/environment/outside"
)

const (
	module      = "github.com/promisekit/promisekit"
	platformAPI = module + "/pkg/platformapi"
)

// call is one platform API call a stage made. Namespace "" is a call
// across all namespaces.
type call struct {
	Verb, Group, Resource, Namespace string
}

// rule is one permission expanded to a single verb on a single resource.
// Namespace is the permission's resourceNamespace: "" for the pipeline's
// own namespace, "*" for every namespace, or a namespace name.
type rule struct {
	Verb, Group, Resource, Namespace string
}

func (r rule) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = "(pipeline namespace)"
	}
	return fmt.Sprintf("%s %s/%s in %s", r.Verb, r.Group, r.Resource, ns)
}

// needs is the rule that allows c to a pipeline running in
// pipelineNamespace.
func (c call) needs(pipelineNamespace string) rule {
	ns := "*"
	if c.Namespace != "" && c.Namespace == pipelineNamespace {
		ns = ""
	}
	return rule{Verb: c.Verb, Group: c.Group, Resource: c.Resource, Namespace: ns}
}

// recorder is a platformapi.API that records every call and passes it to
// the local runner's directory implementation, so that stages see real
// objects.
type recorder struct {
	api   platformapi.API
	dir   string
	mu    sync.Mutex
	calls []call
}

func newRecorder(t *testing.T) *recorder {
	dir := t.TempDir()
	return &recorder{api: platformapi.NewDir(dir), dir: dir}
}

func (r *recorder) add(verb string, res platformapi.Resource, namespace string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{Verb: verb, Group: res.Group, Resource: res.Plural, Namespace: namespace})
}

func (r *recorder) List(ctx context.Context, res platformapi.Resource, namespace string) ([]*kratix.Object, error) {
	r.add("list", res, namespace)
	return r.api.List(ctx, res, namespace)
}

func (r *recorder) Delete(ctx context.Context, res platformapi.Resource, namespace, name, uid string) error {
	r.add("delete", res, namespace)
	return r.api.Delete(ctx, res, namespace, name, uid)
}

// connect is a platformapi.Connect that hands every stage the recorder.
func (r *recorder) connect(func(string) string, ...platformapi.Option) (platformapi.API, error) {
	return r, nil
}

// take returns the calls recorded so far and forgets them.
func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// store puts obj where the directory API finds it, as the API server
// holds it.
func (r *recorder) store(t *testing.T, res platformapi.Resource, obj map[string]any) {
	t.Helper()
	meta := obj["metadata"].(map[string]any)
	path, err := platformapi.LocalPath(r.dir, res, meta["namespace"].(string), meta["name"].(string))
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// promiseFile is the part of a Promise file this test reads.
type promiseFile struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		API struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Plural string `json:"plural"`
				} `json:"names"`
			} `json:"spec"`
		} `json:"api"`
		Workflows struct {
			Config struct {
				PipelineNamespace string `json:"pipelineNamespace"`
			} `json:"config"`
			Resource map[string][]pipeline `json:"resource"`
			Promise  map[string][]pipeline `json:"promise"`
		} `json:"workflows"`
	} `json:"spec"`
}

type pipeline struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Image string `json:"image"`
		} `json:"containers"`
		RBAC struct {
			Permissions []permission `json:"permissions"`
		} `json:"rbac"`
	} `json:"spec"`
}

// permission is Kratix's Permission: an rbacv1.PolicyRule and where it
// applies.
type permission struct {
	ResourceNamespace string   `json:"resourceNamespace"`
	APIGroups         []string `json:"apiGroups"`
	Resources         []string `json:"resources"`
	Verbs             []string `json:"verbs"`
	ResourceNames     []string `json:"resourceNames"`
	NonResourceURLs   []string `json:"nonResourceURLs"`
}

func readPromise(t *testing.T, file string) promiseFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p promiseFile
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p
}

// rules expands a pipeline's permissions, refusing what cannot be
// compared with calls: wildcards, resource names, non-resource URLs and
// rules that grant nothing.
func (pl pipeline) rules() ([]rule, []string) {
	var rules []rule
	var problems []string
	for i, p := range pl.Spec.RBAC.Permissions {
		where := fmt.Sprintf("rbac.permissions[%d]", i)
		if len(p.ResourceNames) > 0 || len(p.NonResourceURLs) > 0 {
			problems = append(problems, where+": resourceNames and nonResourceURLs are not used by any stage")
		}
		if len(p.APIGroups) == 0 || len(p.Resources) == 0 || len(p.Verbs) == 0 {
			problems = append(problems, where+": grants nothing (apiGroups, resources and verbs are all needed)")
		}
		// resourceNamespace "*" is Kratix's "every namespace"; anywhere
		// else a wildcard grants more than any call needs.
		for _, list := range [][]string{p.APIGroups, p.Resources, p.Verbs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					problems = append(problems, fmt.Sprintf("%s: wildcard %q: grant each verb on each resource by name", where, v))
				}
			}
		}
		for _, g := range p.APIGroups {
			for _, r := range p.Resources {
				for _, v := range p.Verbs {
					rules = append(rules, rule{Verb: v, Group: g, Resource: r, Namespace: p.ResourceNamespace})
				}
			}
		}
	}
	return rules, problems
}

// A scenario runs one Promise's stage for one action, through paths that
// reach the platform API, with rec as its platform API. It returns the
// calls made.
type scenario func(t *testing.T, rec *recorder, p promiseFile, file string) []call

// scenarios are keyed by "<promise name>/<action>" for every Promise whose
// binary links pkg/platformapi.
var scenarios = map[string]scenario{
	"apiaggregator/configure":       aggregatorRuns(kratix.ActionConfigure),
	"apiaggregator/delete":          aggregatorRuns(kratix.ActionDelete),
	"apiaggregatortarget/configure": targetRuns(kratix.ActionConfigure),
	"apiaggregatortarget/delete":    targetRuns(kratix.ActionDelete),
	"environment/configure":         environmentRuns(kratix.ActionConfigure),
	"environment/delete":            environmentRuns(kratix.ActionDelete),
}

func TestPermissionsAreTheCallsMade(t *testing.T) {
	root := golist.Root(t)
	files, err := filepath.Glob(filepath.Join(root, "promises", "*", "*promise.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Promise files: %v", err)
	}
	links := map[string]bool{} // binary → links pkg/platformapi
	used := map[string]bool{}
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			p := readPromise(t, file)
			if len(p.Spec.Workflows.Promise) > 0 {
				t.Errorf("promise workflows are not covered by this test; add them")
			}
			for _, action := range []string{kratix.ActionConfigure, kratix.ActionDelete} {
				pls := p.Spec.Workflows.Resource[action]
				if len(pls) != 1 {
					t.Errorf("%s: %d pipelines; this test expects one per action", action, len(pls))
					continue
				}
				pl := pls[0]
				granted, problems := pl.rules()
				for _, pr := range problems {
					t.Errorf("%s pipeline %s: %s", action, pl.Metadata.Name, pr)
				}
				bins := binariesOf(t, pl)
				reaches := false
				for _, bin := range bins {
					if _, ok := links[bin]; !ok {
						links[bin] = linksPlatformAPI(t, root, bin)
					}
					reaches = reaches || links[bin]
				}
				var needed []rule
				key := p.Metadata.Name + "/" + action
				switch run, ok := scenarios[key]; {
				case !reaches:
					// No call is possible: nothing may be granted.
				case !ok:
					t.Errorf("%s links %s, but no scenario runs %s: add one to scenarios", strings.Join(bins, ", "), platformAPI, key)
					continue
				default:
					used[key] = true
					for _, c := range run(t, newRecorder(t), p, file) {
						if r := c.needs(p.Spec.Workflows.Config.PipelineNamespace); !slices.Contains(needed, r) {
							needed = append(needed, r)
						}
					}
				}
				compareRules(t, action+" pipeline "+pl.Metadata.Name, needed, granted)
			}
		})
	}
	for key := range scenarios {
		if !used[key] {
			t.Errorf("scenario %s ran for no Promise pipeline that reaches the platform API", key)
		}
	}
}

// compareRules fails for every rule granted and not needed, and every
// rule needed and not granted.
func compareRules(t *testing.T, where string, needed, granted []rule) {
	t.Helper()
	for _, g := range granted {
		if !slices.Contains(needed, g) {
			t.Errorf("%s grants %s, which no call of its stage needs", where, g)
		}
	}
	for _, n := range needed {
		if !slices.Contains(granted, n) {
			t.Errorf("%s makes a call that needs %s, which it does not grant", where, n)
		}
	}
	if len(needed) > 0 {
		t.Logf("%s: calls need exactly %v", where, needed)
	}
}

// binariesOf returns the binaries a pipeline's containers run: the local
// runner's (and the images') mapping, image basename = pipelines/<name>.
func binariesOf(t *testing.T, pl pipeline) []string {
	t.Helper()
	var bins []string
	for _, c := range pl.Spec.Containers {
		name := c.Image
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		name, _, _ = strings.Cut(name, ":")
		name, _, _ = strings.Cut(name, "@")
		if !slices.Contains(bins, name) {
			bins = append(bins, name)
		}
	}
	return bins
}

// linksPlatformAPI reports whether any binary of the image pipelines/<bin>
// (with the ones below it, which ship in the same image) links
// pkg/platformapi.
func linksPlatformAPI(t *testing.T, root, bin string) bool {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "pipelines", bin)); err != nil {
		t.Fatalf("no pipelines/%s for image %s: %v", bin, bin, err)
	}
	out := golist.Deps(t, root, "./pipelines/"+bin+"/...")
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"/pipelines/"+bin) {
		t.Fatalf("go list -deps ./pipelines/%s/... does not list the binary:\n%s", bin, out)
	}
	return slices.Contains(deps, platformAPI)
}

// readObject reads a request from an example file and gives it what the
// API server would: a namespace (if it has none), a UID and a creation
// time.
func readObject(t *testing.T, file, namespace string, created time.Time) map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	if _, ok := meta["namespace"]; !ok {
		meta["namespace"] = namespace
	}
	meta["uid"] = fmt.Sprintf("uid-%s-%s", meta["namespace"], meta["name"])
	meta["creationTimestamp"] = created.Format(time.RFC3339)
	return obj
}

func harness(t *testing.T, stageName string, w kratix.Workflows, promise, action string, obj map[string]any) *stagetest.Harness {
	t.Helper()
	wf, err := kratixsim.ReadWorkflow(promise, action)
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	h := stagetest.New(t, stageName, w, wf, data)
	h.Env[kratix.ConfigVariable] = stagetest.EmptyConfig(t)
	return h
}

func resourceOf(p promiseFile) platformapi.Resource {
	return platformapi.Resource{Group: p.Spec.API.Spec.Group, Version: "v1alpha1", Plural: p.Spec.API.Spec.Names.Plural}
}

// apiaggregatorPromises are the two Promise files of package
// apiaggregator, for scenarios that need both kinds.
func apiaggregatorPromises(t *testing.T) (aggFile string, agg promiseFile, targetFile string, target promiseFile) {
	t.Helper()
	dir := filepath.Join(golist.Root(t), "promises", "apiaggregator")
	aggFile, targetFile = filepath.Join(dir, "apiaggregator-promise.yaml"), filepath.Join(dir, "apiaggregatortarget-promise.yaml")
	return aggFile, readPromise(t, aggFile), targetFile, readPromise(t, targetFile)
}

var t0 = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)

// aggregatorRuns runs the ApiAggregator's stage on its example.
func aggregatorRuns(action string) scenario {
	return func(t *testing.T, rec *recorder, _ promiseFile, _ string) []call {
		aggFile, agg, _, _ := apiaggregatorPromises(t)
		obj := readObject(t, filepath.Join(filepath.Dir(aggFile), "examples", "portal.yaml"), "platform", t0)
		rec.store(t, resourceOf(agg), obj)
		h := harness(t, "apiaggregator", apiaggregator.Workflows(rec.connect), aggFile, action, obj)
		run(t, h, action, true)
		return rec.take()
	}
}

// targetRuns runs every example target against a configured aggregator
// (each lists its aggregator and its siblings, some conflict), one whose
// aggregator does not exist, and one with the platform API turned off.
func targetRuns(action string) scenario {
	return func(t *testing.T, rec *recorder, _ promiseFile, _ string) []call {
		aggFile, agg, targetFile, target := apiaggregatorPromises(t)
		examples := filepath.Join(filepath.Dir(aggFile), "examples")

		aggObj := readObject(t, filepath.Join(examples, "portal.yaml"), "platform", t0)
		ah := harness(t, "apiaggregator", apiaggregator.Workflows(rec.connect), aggFile, kratix.ActionConfigure, aggObj)
		run(t, ah, kratix.ActionConfigure, true)
		rec.store(t, resourceOf(agg), ah.Object)
		rec.take() // the aggregator's calls are its own Promise's

		files, err := filepath.Glob(filepath.Join(examples, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		created := t0
		var calls []call
		for _, file := range files {
			obj := readObject(t, file, "team-a", created)
			if obj["kind"] != apiaggregator.KindTarget {
				continue
			}
			created = created.Add(time.Minute)
			rec.store(t, resourceOf(target), obj)
			h := harness(t, "apiaggregator", apiaggregator.Workflows(rec.connect), targetFile, action, obj)
			run(t, h, action, false)
			rec.store(t, resourceOf(target), h.Object)
			calls = append(calls, rec.take()...)

			// The same target attached to an aggregator that does not exist.
			orphan := readObject(t, file, "team-a", created)
			orphan["spec"].(map[string]any)["aggregatorRef"] = map[string]any{"name": "nowhere", "namespace": "platform"}
			h = harness(t, "apiaggregator", apiaggregator.Workflows(rec.connect), targetFile, action, orphan)
			run(t, h, action, false)
			calls = append(calls, rec.take()...)

			// And with the platform API turned off.
			off := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(off, []byte("platformAPI: off\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			h = harness(t, "apiaggregator", apiaggregator.Workflows(rec.connect), targetFile, action, obj)
			h.Env[kratix.ConfigVariable] = off
			run(t, h, action, false)
			if c := rec.take(); len(c) > 0 {
				t.Errorf("%s with platformAPI off called the platform API: %v", filepath.Base(file), c)
			}
		}
		if action == kratix.ActionConfigure && len(calls) == 0 {
			t.Error("no target configure run reached the platform API: the scenario no longer exercises it")
		}
		return calls
	}
}

// environmentRuns runs the preview example alive, and again once it has
// expired (it deletes its own request), in every AWS mode that needs no
// AWS account: the platform API is reached the same way in api mode.
func environmentRuns(action string) scenario {
	return func(t *testing.T, rec *recorder, p promiseFile, file string) []call {
		obj := readObject(t, filepath.Join(filepath.Dir(file), "examples", "preview.yaml"), "team-a", t0)
		rec.store(t, resourceOf(p), obj)
		h := harness(t, "environment", environment.Workflows(envoutside.New(rec.connect)), file, action, obj)
		h.Now = t0.Add(time.Hour)
		run(t, h, action, true)
		h.Now = t0.Add(90 * 24 * time.Hour) // long expired
		run(t, h, action, true)
		calls := rec.take()
		if action == kratix.ActionConfigure && len(calls) == 0 {
			t.Error("the expired environment did not reach the platform API: the scenario no longer exercises it")
		}
		return calls
	}
}

// run runs action once; mustSucceed fails the test on a failed run (a
// target may fail on purpose: a conflict, a missing aggregator).
func run(t *testing.T, h *stagetest.Harness, action string, mustSucceed bool) {
	t.Helper()
	var out *stagetest.Outcome
	if action == kratix.ActionDelete {
		out = h.Delete(context.Background())
	} else {
		out = h.Configure(context.Background())
	}
	if out.Err != nil && mustSucceed {
		t.Fatalf("%s %s: %v", action, h.Object["kind"], out.Err)
	}
}

// TestRulesOfAPermission checks the expansion and refusals the comparison
// rests on.
func TestRulesOfAPermission(t *testing.T) {
	var pl pipeline
	pl.Spec.RBAC.Permissions = []permission{
		{APIGroups: []string{"g"}, Resources: []string{"a", "b"}, Verbs: []string{"list"}, ResourceNamespace: "*"},
		{APIGroups: []string{"g"}, Resources: []string{"a"}, Verbs: []string{"delete"}},
	}
	got, problems := pl.rules()
	want := []rule{{"list", "g", "a", "*"}, {"list", "g", "b", "*"}, {"delete", "g", "a", ""}}
	if !slices.Equal(got, want) || len(problems) != 0 {
		t.Errorf("rules = %v, %v; want %v and no problem", got, problems, want)
	}
	for _, bad := range []permission{
		{APIGroups: []string{"*"}, Resources: []string{"a"}, Verbs: []string{"list"}},
		{APIGroups: []string{"g"}, Resources: []string{"*"}, Verbs: []string{"list"}},
		{APIGroups: []string{"g"}, Resources: []string{"a"}, Verbs: []string{"*"}},
		{APIGroups: []string{"g"}, Resources: []string{"a"}, Verbs: []string{"get"}, ResourceNames: []string{"x"}},
		{APIGroups: []string{"g"}, Resources: []string{"a"}},
	} {
		pl.Spec.RBAC.Permissions = []permission{bad}
		if _, problems := pl.rules(); len(problems) == 0 {
			t.Errorf("%+v: no problem reported", bad)
		}
	}
	if r := (call{"list", "g", "a", ""}).needs("promisekit-system"); r.Namespace != "*" {
		t.Errorf("a call across namespaces needs %v", r)
	}
	if r := (call{"delete", "g", "a", "team-a"}).needs("promisekit-system"); r.Namespace != "*" {
		t.Errorf("a call in a team's namespace needs %v", r)
	}
	if r := (call{"list", "g", "a", "promisekit-system"}).needs("promisekit-system"); r.Namespace != "" {
		t.Errorf("a call in the pipeline's namespace needs %v", r)
	}
}
