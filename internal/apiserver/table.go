package apiserver

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/rest"
)

// GetOptions are kubectl get's flags that change its table.
type GetOptions struct {
	// Namespace lists one namespace; AllNamespaces (-A) every one, with
	// a NAMESPACE column. Neither: the "default" namespace, as kubectl.
	Namespace     string
	AllNamespaces bool
	// Wide (-o wide) adds the columns of priority above 0.
	Wide bool
}

// KubectlGet writes what `kubectl get <plural>` prints for the objects of
// an installed CRD: the server's own Table (its printer columns, through
// the Table API) printed by k8s.io/cli-runtime's table printer, the one
// kubectl uses.
func (s *Server) KubectlGet(ctx context.Context, w io.Writer, plural string, opts GetOptions) error {
	return KubectlGet(ctx, s.Config(), w, plural, opts)
}

// KubectlGet is Server.KubectlGet for the API server cfg names: the CRD
// serving plural is looked up there.
func KubectlGet(ctx context.Context, cfg *rest.Config, w io.Writer, plural string, opts GetOptions) error {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds, err := client.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	var r *crdResource
	for _, crd := range crds.Items {
		if crd.Spec.Names.Plural != plural {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Storage {
				r = &crdResource{gvr: schema.GroupVersionResource{Group: crd.Spec.Group, Version: v.Name, Resource: plural}, namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped}
			}
		}
	}
	if r == nil {
		return fmt.Errorf("the server serves no resource %q", plural)
	}
	path := "/apis/" + r.gvr.Group + "/" + r.gvr.Version
	if r.namespaced && !opts.AllNamespaces {
		ns := opts.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		path += "/namespaces/" + url.PathEscape(ns)
	}
	path += "/" + r.gvr.Resource + "?includeObject=Object"

	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	// What kubectl get asks for.
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("listing %s: %w", plural, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("listing %s: %w", plural, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("listing %s: %s: %s", plural, resp.Status, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		return fmt.Errorf("decoding the table of %s: %w", plural, err)
	}
	// As kubectl's get does: the printer reads each row's object (for
	// its namespace) decoded.
	for i := range table.Rows {
		raw := table.Rows[i].Object.Raw
		if len(raw) == 0 {
			continue
		}
		obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, raw)
		if err != nil {
			return fmt.Errorf("decoding a row of %s: %w", plural, err)
		}
		table.Rows[i].Object.Object = obj
	}
	if len(table.Rows) == 0 {
		// kubectl writes this to stderr; here it is the output.
		if r.namespaced && !opts.AllNamespaces {
			_, err := fmt.Fprintf(w, "No resources found in %s namespace.\n", cmp.Or(opts.Namespace, metav1.NamespaceDefault))
			return err
		}
		_, err := fmt.Fprintln(w, "No resources found")
		return err
	}
	tw := printers.GetNewTabWriter(w)
	p := printers.NewTablePrinter(printers.PrintOptions{WithNamespace: opts.AllNamespaces && r.namespaced, Wide: opts.Wide})
	if err := p.PrintObj(&table, tw); err != nil {
		return fmt.Errorf("printing %s: %w", plural, err)
	}
	return tw.Flush()
}
