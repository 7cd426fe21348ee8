// Package hostile runs a corpus of hostile requests through both places a
// bad request can be stopped: admission, where the API server checks the
// Promise's CRD (OpenAPI schema and CEL rules: a real API server,
// internal/apiserver, asked with a dry run), and the
// pipeline stage, which must refuse every one of them by itself: Kratix
// may hand it an object admitted under an older CRD, or never admitted.
//
// Each promise keeps its corpus beside its package, one file per request
// in testdata/hostile/<promise>/, and a table in its hostile_test.go that
// says for every file what admission does with it and how the stage's
// error must start; Run fails on a file without an entry and an entry
// without a file. Where the CRD cannot refuse a request the entry says
// why (Accepted, Decoder, NotServed, BodyLimit) rather than skipping it.
// Inputs too large to commit (huge, deeply nested or densely packed YAML)
// are generated from the promise's valid request by Generated, with the
// same expectations for every promise. A promise joins with its corpus
// directory, a hostile_test.go that calls Run, and its Promise file in the
// list of this package's tests, which fails for a Promise without a
// corpus.
//
// For the stage, every case asserts what Kratix relies on: the run fails;
// the one line kratix.Main prints for the error starts with what the
// table says (the field it names, such as "spec.paths[1].prefix:");
// nothing in the output or metadata directory changes, so the output of
// the earlier good run in the same Pod directories survives; and refusing
// costs little, measured as the bytes the run allocates (a deterministic
// count, unlike time; the harness's own reading and writing included).
// This package's tests run a few cases through a stage process too, to
// hold kratix.Main to the same: exit status 1, one line on stderr.
//
// It is for tests only.
package hostile

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// APIServerBodyLimit is the largest request body the API server decodes
// (MaxRequestBodyBytes in k8s.io/apiserver's server/config.go): a larger
// request is refused before any decoding or schema.
const APIServerBodyLimit = 3 << 20

// MaxStageAlloc is what a stage may allocate refusing a case, unless the
// case says otherwise: a small part of the 256 MiB Kratix gives a
// container by default.
const MaxStageAlloc = 32 << 20

// Admission is what the API server does with a request: the layer that
// refuses it, and the start of the problem the API server reports, or why the
// CRD cannot refuse it.
type Admission struct {
	layer layer
	// field is how one of the API server's problems must start.
	field string
	// why explains a refusal that is not the schema's, or an acceptance.
	why string
}

type layer int

const (
	layerSchema layer = iota + 1
	layerMeta
	layerDecoder
	layerNotServed
	layerAccepted
	layerBodyLimit
)

// Schema is a request the CRD's OpenAPI schema or CEL rules refuse, with a
// problem on field ("spec.paths[1].prefix", or "<object>" for a rule on
// the whole object).
func Schema(field string) Admission { return Admission{layer: layerSchema, field: field} }

// Meta is a request the API server's ObjectMeta validation refuses (name,
// namespace, annotations), which it runs with the schema on every custom
// resource.
func Meta(field string) Admission { return Admission{layer: layerMeta, field: field} }

// Decoder is input the API server cannot make an object of, so that no
// schema applies (kubectl refuses it before sending): the problem must
// start "<object>: " followed by
// detail, in which "…" stands for any text; why says what the API server
// (or kubectl) does instead.
func Decoder(detail, why string) Admission {
	return Admission{layer: layerDecoder, field: "<object>: " + detail, why: why}
}

// NotServed is a request for an API the CRD does not serve (another
// group, version or kind): the API server has no such resource, and
// the problem names field ("apiVersion" or "kind").
func NotServed(field string) Admission { return Admission{layer: layerNotServed, field: field} }

// Accepted is a request the CRD cannot refuse, and the server must admit:
// why says whose job it is, the stage's or another layer's.
func Accepted(why string) Admission { return Admission{layer: layerAccepted, why: why} }

// BodyLimit is input larger than APIServerBodyLimit: the API server
// refuses it before decoding, so the CRD is not asked (it has no such
// limit); the case's size is checked instead.
func BodyLimit() Admission {
	return Admission{layer: layerBodyLimit, why: fmt.Sprintf("larger than the API server's %d-byte request-body limit", APIServerBodyLimit)}
}

// What admission does with the kinds of input every promise's corpus
// holds, and why.

// DuplicateKey is a mapping with a key twice.
func DuplicateKey() Admission {
	return Decoder("yaml: unmarshal errors:", "kubectl, and the API server when asked for strict field validation, refuse a duplicate key while decoding; with the default (Warn) the API server keeps the last and warns")
}

// NotAnObject is a document that is not a mapping (a list, a scalar,
// nothing); the problem says detail.
func NotAnObject(detail string) Admission {
	return Decoder(detail, "the API server cannot decode it as an object")
}

// AliasRatio is a billion-laughs document.
func AliasRatio() Admission {
	return Decoder("yaml: document contains excessive aliasing", "kubectl and the API server decode YAML with go.yaml.in/yaml/v2, whose alias-ratio check refuses it")
}

// OneDocumentEach is a file of several requests, each valid.
func OneDocumentEach() Admission {
	return Accepted("kubectl sends each document as a request of its own, and the API server decodes only the first of a multi-document body (k8s.io/apimachinery's json serializer): each object is admitted alone, and each is valid")
}

// AliasesExpanded is a valid request written with anchors and aliases.
func AliasesExpanded() Admission {
	return Accepted("aliases are a notation of the YAML text: kubectl and the API server expand them, and admit the expanded, valid object; Kratix never writes one")
}

// Layer names who refuses the request at admission, for the log.
func (a Admission) Layer() string {
	switch a.layer {
	case layerSchema:
		return "CRD schema/CEL"
	case layerMeta:
		return "API server ObjectMeta validation"
	case layerDecoder:
		return "API server decoder, before any schema (" + a.why + ")"
	case layerNotServed:
		return "API server: not a served API"
	case layerAccepted:
		return "admitted: " + a.why
	case layerBodyLimit:
		return "API server body limit"
	}
	return "?"
}

// Case is one hostile request.
type Case struct {
	// Name names a generated case; a file case is named after its file.
	Name string
	// File is the request's file in the promise's corpus directory.
	File string
	// Input is a generated request; file cases leave it nil.
	Input []byte
	// Admission is what the API server does with the request.
	Admission Admission
	// Stage is how the stage's one-line error must start; "…" in it
	// stands for any text, such as a line number.
	Stage string
	// MaxAlloc overrides MaxStageAlloc.
	MaxAlloc uint64
}

// Validator checks a request as the API server would admit it: an
// apiserver.DryRun on a server with the Promise's CRD installed.
type Validator interface {
	Validate(objYAML []byte) []string
}

// Target is one promise's API and stage.
type Target struct {
	// CRD is the API server's admission, the Promise's CRD installed.
	CRD Validator
	// Dir is the promise's corpus: every *.yaml in it must be a case.
	Dir string
	// Harness returns a harness holding a valid request of the promise,
	// with the platform it needs (configuration, fake APIs) in place. Each
	// case configures it once in fresh Pod directories, the output that
	// must survive, then runs its input in the same directories.
	Harness func(t *testing.T) *stagetest.Harness
}

// Run runs every case against the target, each in a subtest.
func Run(t *testing.T, target Target, cases []Case) {
	t.Helper()
	inputs := load(t, target.Dir, cases)
	for _, c := range cases {
		name := c.Name
		if c.File != "" {
			name = strings.TrimSuffix(c.File, ".yaml")
		}
		t.Run(name, func(t *testing.T) {
			input := inputs[c.File]
			if c.File == "" {
				input = c.Input
			}
			checkAdmission(t, target.CRD, c.Admission, input)
			checkStage(t, target.Harness(t), c, input)
		})
	}
}

// load reads the corpus, and fails unless its files and the file cases
// are the same set.
func load(t *testing.T, dir string, cases []Case) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = data
	}
	listed := map[string]bool{}
	for _, c := range cases {
		switch {
		case c.File == "" && c.Input == nil:
			t.Errorf("case %q has neither a file nor an input", c.Name)
		case c.File == "":
		case listed[c.File]:
			t.Errorf("%s is in the table twice", c.File)
		case inputs[c.File] == nil:
			t.Errorf("%s is in the table but not in %s", c.File, dir)
		default:
			listed[c.File] = true
		}
		switch a := c.Admission; {
		case a.layer == 0:
			t.Errorf("case %s%s says nothing about admission", c.Name, c.File)
		case (a.layer == layerAccepted || a.layer == layerDecoder) && a.why == "":
			t.Errorf("case %s%s does not say why the CRD does not refuse it", c.Name, c.File)
		}
		if c.Stage == "" {
			t.Errorf("case %s%s says nothing about the stage", c.Name, c.File)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(inputs)) {
		if !listed[f] {
			t.Errorf("%s/%s has no case in the table: say what admission and the stage do with it", dir, f)
		}
	}
	if len(inputs) == 0 {
		t.Errorf("no corpus in %s", dir)
	}
	return inputs
}

func checkAdmission(t *testing.T, crd Validator, a Admission, input []byte) {
	t.Helper()
	if a.layer == layerBodyLimit {
		if len(input) <= APIServerBodyLimit {
			t.Errorf("admission: %d bytes is within the API server's body limit; the CRD must decide", len(input))
		}
		return
	}
	problems := crd.Validate(input)
	switch {
	case a.layer == layerAccepted && len(problems) > 0:
		t.Errorf("admission: the CRD refuses it (%q), but the case says it cannot: %s", problems, a.why)
	case a.layer != layerAccepted && !slices.ContainsFunc(problems, func(p string) bool { return Matches(p, a.field) }):
		t.Errorf("admission: want a problem starting %q, got %q", a.field, problems)
	}
}

func checkStage(t *testing.T, h *stagetest.Harness, c Case, input []byte) {
	t.Helper()
	h.T = t
	ctx := context.Background()
	dirs := h.PodDirs()
	if good := h.RunIn(ctx, kratix.ActionConfigure, dirs); good.Err != nil {
		t.Fatalf("the valid request the case runs after: %v", good.Err)
	}
	output := stagetest.ReadTree(t, dirs.OutputDir)
	metadata := stagetest.ReadTree(t, dirs.MetadataDir)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	bad := h.RunInput(ctx, kratix.ActionConfigure, dirs, input)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc

	if bad.Err == nil {
		t.Fatalf("stage: accepted it")
	}
	// kratix.Main prints the error as this one line.
	line := kratix.OneLine(bad.Err)
	if !Matches(line, c.Stage) {
		t.Errorf("stage: error %q does not start with %q", line, c.Stage)
	}
	if now := stagetest.ReadTree(t, dirs.OutputDir); !maps.EqualFunc(output, now, bytes.Equal) {
		t.Errorf("stage: the refused run changed the output: %q, was %q", slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(output)))
	}
	if now := stagetest.ReadTree(t, dirs.MetadataDir); !maps.EqualFunc(metadata, now, bytes.Equal) {
		t.Errorf("stage: the refused run changed the metadata: %q, was %q", slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(metadata)))
	}
	limit := cmp.Or(c.MaxAlloc, MaxStageAlloc)
	if alloc > limit {
		t.Errorf("stage: allocated %d KiB refusing %d bytes, more than %d KiB", alloc>>10, len(input), limit>>10)
	}
	t.Logf("%d bytes | admission: %s | stage (%v, %d KiB allocated): %s", len(input), c.Admission.Layer(), took.Round(time.Millisecond), alloc>>10, line)
}

// Matches reports whether s starts with pattern, in which "…" stands for
// any text (a line number).
func Matches(s, pattern string) bool {
	parts := strings.Split(pattern, "…")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// Generated returns the cases too large to commit, built on base, a valid
// request of the promise. They hold for every promise: each either breaks
// a limit of the YAML decoder or of kratix.ParseObject, or adds a field no
// spec has.
func Generated(t testing.TB, base []byte) []Case {
	t.Helper()
	return []Case{
		{
			Name:      "deep-nesting",
			Input:     With(t, base, "spec.hostileDeep", Nested(5000)),
			Admission: Schema("spec.hostileDeep: unknown field"),
			Stage:     "spec.hostileDeep: unknown field",
		},
		{
			Name:      "deeper-than-the-decoder-allows",
			Input:     With(t, base, "spec.hostileDeep", Nested(10001)),
			Admission: Decoder("yaml: line …: exceeded max depth of 10000", "the API server's YAML decoder is the same go.yaml.in/yaml/v2, with the same limit"),
			Stage:     "input object: yaml: line …: exceeded max depth of 10000",
		},
		{
			Name:      "huge-annotation",
			Input:     With(t, base, "metadata.annotations.hostile", `"`+strings.Repeat("x", 2<<20)+`"`),
			Admission: Meta("metadata.annotations: Too long"),
			Stage:     "input object: larger than",
		},
		{
			Name:      "huge-document",
			Input:     With(t, base, "spec.hostileBulk", Dense("1", 4<<20)),
			Admission: BodyLimit(),
			Stage:     "input object: larger than",
		},
		{
			// The densest document the stage reads in full: what refusing
			// it costs is what kratix.MaxInputBytes bounds.
			Name:      "dense-document-within-the-size-limit",
			Input:     Fill(t, base, "spec.hostileBulk", "1", kratix.MaxInputBytes),
			Admission: Schema("spec.hostileBulk: unknown field"),
			Stage:     "spec.hostileBulk: unknown field",
			MaxAlloc:  256 << 20,
		},
	}
}

// placeholder stands in a marshalled document for a value With inserts
// verbatim.
const placeholder = "hostile-value-placeholder"

// With returns doc, a YAML object, with the dotted path set to value, YAML
// written as is (a flow collection or a scalar). Maps on the way are made.
func With(t testing.TB, doc []byte, path, value string) []byte {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		t.Fatalf("hostile.With: %v", err)
	}
	keys := strings.Split(path, ".")
	m := obj
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = placeholder
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatalf("hostile.With: %v", err)
	}
	if bytes.Count(out, []byte(placeholder)) != 1 {
		t.Fatalf("hostile.With: the placeholder is not in the document once")
	}
	return bytes.Replace(out, []byte(placeholder), []byte(value), 1)
}

// Fill returns doc with the dotted path set to a Dense sequence of item
// that makes the whole document size bytes, give or take an item.
func Fill(t testing.TB, doc []byte, path, item string, size int) []byte {
	t.Helper()
	rest := size - len(With(t, doc, path, "[]"))
	out := With(t, doc, path, Dense(item, rest))
	for len(out) > size {
		rest -= len(out) - size
		out = With(t, doc, path, Dense(item, rest))
	}
	return out
}

// Nested is depth flow sequences, each the only item of the one outside
// it: "[[[]]]" for 3.
func Nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// Dense is a flow sequence of item, repeated to about size bytes: the most
// YAML nodes a document of that size holds ("1" makes two bytes a node).
func Dense(item string, size int) string {
	n := max(1, size/(len(item)+1))
	return "[" + strings.Repeat(item+",", n-1) + item + "]"
}

// AnchorCopies is a flow mapping whose "anchor" is a sequence of n
// one-key maps and whose "copies" are k aliases of it: with n large and k
// small, within go.yaml.in/yaml/v2's alias-ratio check, which stops only
// aliases that make up most of what is decoded.
func AnchorCopies(n, k int) string {
	return "{anchor: &a [" + strings.Repeat("{a: 1},", n-1) + "{a: 1}], copies: [" + strings.Repeat("*a,", k-1) + "*a]}"
}

// AliasBomb is a flow sequence holding a billion-laughs: levels anchored
// sequences, each of fanout aliases of the one before, so that the last
// expands to fanout^levels scalars.
func AliasBomb(levels, fanout int) string {
	var b strings.Builder
	b.WriteString("[&l0 [" + strings.TrimSuffix(strings.Repeat("lol,", fanout), ",") + "]")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, ", &l%d [", i)
		for j := range fanout {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]")
	}
	b.WriteString("]")
	return b.String()
}
