package apiserver_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/golist"
	"github.com/promisekit/promisekit/internal/kratixsim"
)

var update = flag.Bool("update", false, "rewrite the kubectl get tables in the READMEs from the server")

// object is a request in a README's table: an example file, and the
// status its pipeline wrote (a golden status.yaml the promise's own tests
// keep, or the status given inline), as Kratix stores them.
type object struct {
	file      string
	namespace string // when the example has none
	status    string // a file, or inline YAML starting with "{"
}

// tables are the `kubectl get` blocks of the READMEs: a fenced block that
// starts with "$ kubectl get ...", printed from the server.
var tables = []struct {
	readme  string
	command string
	plural  string
	opts    apiserver.GetOptions
	objects []object
}{
	{
		readme: "promises/apiaggregator/README.md", command: "kubectl get apiaggregators -A", plural: "apiaggregators",
		opts: apiserver.GetOptions{AllNamespaces: true},
		objects: []object{
			{file: "promises/apiaggregator/examples/portal.yaml", status: "promises/apiaggregator/testdata/golden/envoy-gateway/platform.portal/status.yaml"},
		},
	},
	{
		readme: "promises/apiaggregator/README.md", command: "kubectl get apiaggregatortargets -A", plural: "apiaggregatortargets",
		opts: apiserver.GetOptions{AllNamespaces: true},
		objects: []object{
			{file: "promises/apiaggregator/examples/orders.yaml", status: "promises/apiaggregator/testdata/golden/envoy-gateway/team-orders.orders/status.yaml"},
			{file: "promises/apiaggregator/examples/legacy-orders.yaml", status: "promises/apiaggregator/testdata/golden/envoy-gateway/team-orders.legacy-orders/status.yaml"},
			{file: "promises/apiaggregator/examples/invoices.yaml", status: "promises/apiaggregator/testdata/golden/envoy-gateway/team-billing.invoices/status.yaml"},
		},
	},
	{
		readme: "promises/environment/README.md", command: "kubectl get environments", plural: "environments",
		objects: []object{
			{file: "promises/environment/examples/preview.yaml", namespace: "default", status: "promises/environment/testdata/golden/preview-ack/status.yaml"},
			{file: "promises/environment/examples/development.yaml", namespace: "default", status: "promises/environment/testdata/golden/development-ack/status.yaml"},
		},
	},
	{
		readme: "promises/natsuser/README.md", command: "kubectl get natsusers -n team-orders", plural: "natsusers",
		opts: apiserver.GetOptions{Namespace: "team-orders"},
		objects: []object{
			// The natsuser stage needs a NATS server to issue; its status
			// after a run on 2026-12-01T09:00:00Z, as its README tells.
			{file: "promises/natsuser/examples/orders-api.yaml", status: `{account: default, secretName: orders-api-nats, credentialsExpireAt: "2026-12-31T09:00:00Z", nextRenewal: "2026-12-21T09:00:00Z", message: "NATS user orders-api issued"}`},
		},
	},
}

// configured are the conditions Kratix's controller sets once a configure
// pipeline has run and its Works are applied (syntasso/kratix ae170e22,
// lib/resourceutil/util.go: MarkReconciledTrue), which the tables show.
const configured = `{conditions: [
  {type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: "Pipelines completed", lastTransitionTime: "2026-11-01T09:00:00Z"},
  {type: Reconciled, status: "True", reason: Reconciled, message: Reconciled, lastTransitionTime: "2026-11-01T09:00:00Z"}]}`

// TestREADMETables prints every `kubectl get` table of the READMEs from the
// server, the objects being the examples with their pipelines' status,
// and fails when a README shows another table. AGE depends on when the
// table is printed, so its values are not compared. -update rewrites the
// READMEs.
func TestREADMETables(t *testing.T) {
	root := golist.Root(t)
	for _, tt := range tables {
		t.Run(tt.command, func(t *testing.T) {
			srv := api.For(t, promiseFiles(t)...)
			for _, o := range tt.objects {
				data, err := os.ReadFile(filepath.Join(root, o.file))
				if err != nil {
					t.Fatal(err)
				}
				var obj map[string]any
				if err := yaml.Unmarshal(data, &obj); err != nil {
					t.Fatal(err)
				}
				if meta := obj["metadata"].(map[string]any); meta["namespace"] == nil && o.namespace != "" {
					meta["namespace"] = o.namespace
				}
				status := []byte(o.status)
				if !strings.HasPrefix(o.status, "{") {
					if status, err = os.ReadFile(filepath.Join(root, o.status)); err != nil {
						t.Fatal(err)
					}
				}
				for _, s := range [][]byte{status, []byte(configured)} {
					if err := kratixsim.ApplyStatus(obj, s); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := srv.Apply(t.Context(), obj); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			out.WriteString("$ " + tt.command + "\n")
			if err := srv.KubectlGet(t.Context(), &out, tt.plural, tt.opts); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(root, tt.readme)
			readme, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			block := regexp.MustCompile("(?s)```\n\\$ " + regexp.QuoteMeta(tt.command) + "\n.*?```\n")
			loc := block.FindIndex(readme)
			if loc == nil {
				t.Fatalf("%s has no block starting \"$ %s\"", tt.readme, tt.command)
			}
			got := "```\n" + out.String() + "```\n"
			if *update && withoutAges(string(readme[loc[0]:loc[1]])) != withoutAges(got) {
				readme = append(readme[:loc[0]:loc[0]], append([]byte(got), readme[loc[1]:]...)...)
				if err := os.WriteFile(file, readme, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			// -update leaves a table whose ages alone differ as it is.
			if want := string(readme[loc[0]:loc[1]]); withoutAges(want) != withoutAges(got) {
				t.Errorf("%s shows (ages aside):\n%s\nthe server prints:\n%s\n(go test ./internal/apiserver -run TestREADMETables -update rewrites it)", tt.readme, want, got)
			}
		})
	}
}

// withoutAges blanks the AGE column's values, whose width may change too.
func withoutAges(table string) string {
	lines := strings.Split(table, "\n")
	col := -1
	for i, l := range lines {
		if col < 0 {
			// The last column: "AGE" is also the end of "MESSAGE".
			if j := strings.LastIndex(l, "AGE"); j >= 0 && strings.HasSuffix(strings.TrimRight(l, " "), " AGE") {
				col = j
			}
			continue
		}
		if len(l) > col && !strings.HasPrefix(l, "```") {
			lines[i] = strings.TrimRight(l[:col], " ")
		}
	}
	if col >= 0 {
		for i, l := range lines {
			if strings.HasSuffix(strings.TrimRight(l, " "), " AGE") {
				lines[i] = strings.TrimRight(l[:col], " ")
			}
		}
	}
	return strings.Join(lines, "\n")
}
