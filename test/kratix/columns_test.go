package contract

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// pastTimes are the only fields a `type: date` printer column may show: the
// API server prints such a column as the time's age, and "<invalid>" for a
// time in the future (k8s.io/apimachinery duration.HumanDuration), so an
// expiry or a next renewal must be a string column.
var pastTimes = []string{
	".metadata.creationTimestamp",
	".status.lastSuccessfulConfigureWorkflowTime",
}

// claimsReady matches a column that says a request is ready. No stage sees
// what the destination applied (the manifests go to a state store and a
// GitOps agent applies them later), so a column says what it shows:
// CONFIGURED for the pipeline having written the manifests, AWS for the
// AWS resources the stage itself made.
var claimsReady = regexp.MustCompile(`(?i)ready`)

// TestPrinterColumnsSayWhatTheyShow checks every Promise's printer columns:
// none claims readiness, and date columns show only past times.
func TestPrinterColumnsSayWhatTheyShow(t *testing.T) {
	for file, crd := range promiseCRDs(t) {
		for _, v := range crd.Spec.Versions {
			for _, c := range v.AdditionalPrinterColumns {
				if claimsReady.MatchString(c.Name) {
					t.Errorf("%s: column %q (%s) claims readiness; name it for what it shows", file, c.Name, c.JSONPath)
				}
				if c.Type == "date" && !slices.Contains(pastTimes, c.JSONPath) {
					t.Errorf("%s: column %q is a date of %s: kubectl prints its age, and <invalid> for a future time; make it a string", file, c.Name, c.JSONPath)
				}
			}
		}
	}
}

// TestREADMETables checks the hand-written `kubectl get` listings in the
// READMEs against the columns the Promises declare: every line starting
// with "$ kubectl get <kind>" of a Promise's kind is followed by the header
// kubectl would print (NAME, then the columns; NAMESPACE first with -A;
// the priority columns too with -o wide).
func TestREADMETables(t *testing.T) {
	root := repoRoot(t)
	crds := promiseCRDs(t)
	byName := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, crd := range crds {
		n := crd.Spec.Names
		for _, name := range append([]string{n.Plural, n.Singular, strings.ToLower(n.Kind)}, n.ShortNames...) {
			byName[name] = crd
		}
	}
	readmes, err := filepath.Glob(filepath.Join(root, "promises", "*", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	readmes = append(readmes, filepath.Join(root, "README.md"), filepath.Join(root, "test", "example", "README.md"))
	listings := 0
	for _, readme := range readmes {
		data, err := os.ReadFile(readme)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, readme)
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			args, ok := strings.CutPrefix(line, "$ kubectl get ")
			if !ok {
				continue
			}
			fields := strings.Fields(args)
			crd := byName[strings.Split(fields[0], ".")[0]]
			if crd == nil || slices.Contains(fields, "-o") && !slices.Contains(fields, "wide") {
				continue
			}
			listings++
			want := []string{"NAME"}
			if slices.Contains(fields, "-A") || slices.Contains(fields, "--all-namespaces") {
				want = append([]string{"NAMESPACE"}, want...)
			}
			wide := slices.Contains(fields, "wide")
			for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
				if c.Priority == 0 || wide {
					want = append(want, strings.Fields(strings.ToUpper(c.Name))...)
				}
			}
			var got []string
			if i+1 < len(lines) {
				got = strings.Fields(lines[i+1])
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s:%d: %q prints the header\n  %s\nbut the README shows\n  %s", rel, i+2, strings.TrimPrefix(line, "$ "), strings.Join(want, " "), strings.Join(got, " "))
			}
		}
	}
	if listings == 0 {
		t.Error("no `$ kubectl get` listing of a Promise's kind found in the READMEs")
	}
}

// promiseCRDs returns the CRD of every Promise file, by file.
func promiseCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	root := repoRoot(t)
	files, err := promiseFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		r := checkPromise(data)
		if r.Promise == nil || r.Promise.DoesNotContainAPI() {
			continue
		}
		_, crd, err := r.Promise.GetAPI()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[file] = crd
	}
	return out
}
