package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/go-logr/logr"
	"github.com/syntasso/kratix/api/v1alpha1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// promiseReport is what checkPromise found in one Promise file.
type promiseReport struct {
	// Problems are what Kratix (or the API server behind its webhook's
	// dry runs) would refuse, sorted.
	Problems []string
	// Newer lists fields Kratix added after the pinned version. The pinned
	// types cannot check them, so they are checked against the upstream
	// source they come from (newerFields) and reported.
	Newer []string
	// PipelineNamespace is spec.workflows.config.pipelineNamespace, a
	// field newer than the pin: "" when the Promise does not set it.
	PipelineNamespace string
	// Promise is the Promise decoded with the pinned types (without the
	// newer fields); nil if it could not be.
	Promise *v1alpha1.Promise
}

func (r *promiseReport) add(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// checkPromise decodes a Promise file strictly into Kratix's types and
// re-checks the rules of Kratix's Promise admission webhook
// (internal/webhook/v1alpha1/promise_webhook.go, validatePromise), which
// this module cannot import. Where the webhook asks the API server for a
// dry run, the API server's rules for that object are applied instead.
func checkPromise(data []byte) promiseReport {
	var r promiseReport
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		r.add("not YAML: %v", err)
		return r
	}
	var raw map[string]any
	if err := json.Unmarshal(js, &raw); err != nil {
		r.add("not an object: %v", err)
		return r
	}
	r.Newer, r.PipelineNamespace = stripNewerFields(raw, &r)
	if js, err = json.Marshal(raw); err != nil {
		r.add("re-encoding: %v", err)
		return r
	}

	var p v1alpha1.Promise
	if err := yaml.UnmarshalStrict(js, &p); err != nil {
		r.add("decoding into v1alpha1.Promise: %v", err)
		return r
	}
	r.Promise = &p
	if p.APIVersion != v1alpha1.GroupVersion.String() || p.Kind != "Promise" {
		r.add("apiVersion/kind: %s %s, want %s Promise", p.APIVersion, p.Kind, v1alpha1.GroupVersion)
	}
	// Promises are cluster-scoped; the API server validates their metadata.
	for _, e := range validation.ValidateObjectMeta(&p.ObjectMeta, false, validation.NameIsDNSSubdomain, field.NewPath("metadata")) {
		r.add("%v", e)
	}

	// validatePromise stops at an invalid API: its pipeline checks call
	// GetAPI again.
	if !p.DoesNotContainAPI() && !checkAPI(&p, &r) {
		slices.Sort(r.Problems)
		return r
	}
	checkPipelines(&p, r.PipelineNamespace, &r)
	slices.Sort(r.Problems)
	return r
}

// checkAPI re-checks promise_webhook.go validateCRD: GetAPI, a dry-run
// create of the CRD, and a namespaced scope. It reports whether the API
// passed.
func checkAPI(p *v1alpha1.Promise, r *promiseReport) bool {
	before := len(r.Problems)
	// GetAPI decodes leniently; decode strictly first so that a misspelt
	// CRD field is not silently dropped.
	var strict apiextensionsv1.CustomResourceDefinition
	strictErrs, err := sigsjson.UnmarshalStrict(p.Spec.API.Raw, &strict, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		r.add("spec.api: %v", err)
		return false
	}
	for _, e := range strictErrs {
		r.add("spec.api: %v", e)
	}
	// GetAPI indexes crd.Spec.Versions[0] without a check (promise_types.go),
	// so the webhook panics on an API without versions.
	if len(strict.Spec.Versions) == 0 {
		r.add("spec.api.spec.versions: empty (Kratix's GetAPI panics on it)")
		return false
	}
	_, crd, err := p.GetAPI()
	if err != nil {
		r.add("spec.api: %v", err)
		return false
	}
	// The webhook's dry-run create runs the API server's CRD validation on
	// the CRD as GetAPI returns it (with metadata.name limited to 63
	// characters, ensureMetadataSchema).
	for _, e := range validateCRDCreate(crd) {
		r.add("spec.api.%v", e)
	}
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		r.add("spec.api.spec.scope: %q, but Kratix requires Namespaced", crd.Spec.Scope)
	}
	return len(r.Problems) == before
}

// validateCRDCreate applies what the API server does on creating a CRD:
// defaulting, the strategy's PrepareForCreate (status reset, stored
// version) and ValidateCustomResourceDefinition.
func validateCRDCreate(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	c := crd.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(c)
	var internal apiextensionsinternal.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(c, &internal, nil); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	internal.Status = apiextensionsinternal.CustomResourceDefinitionStatus{}
	for _, v := range internal.Spec.Versions {
		if v.Storage {
			internal.Status.StoredVersions = []string{v.Name}
			break
		}
	}
	return crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal)
}

// checkPipelines re-checks promise_webhook.go validatePipelines, and the one
// rule Kratix enforces only by ignoring: lib/workflow/reconciler.go runs the
// first delete pipeline and logs "only one delete pipeline is currently
// supported" for the rest.
func checkPipelines(p *v1alpha1.Promise, pipelineNamespace string, r *promiseReport) {
	// NewPipelinesMap refuses a pipeline whose apiVersion/kind is not
	// platform.kratix.io/v1alpha1 Pipeline, or that has an unknown field
	// (PipelinesFromUnstructured decodes with DisallowUnknownFields).
	pipelines, err := v1alpha1.NewPipelinesMap(p, logr.Discard())
	if err != nil {
		r.add("%v", err)
		return
	}
	request := webhookDryRunRequest(p)
	for _, typ := range []v1alpha1.Type{v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowTypePromise} {
		for _, action := range []v1alpha1.Action{v1alpha1.WorkflowActionConfigure, v1alpha1.WorkflowActionDelete} {
			list := pipelines[typ][action]
			where := fmt.Sprintf("workflows.%s.%s", typ, action)
			if action == v1alpha1.WorkflowActionDelete && len(list) > 1 {
				r.add("%s: %d pipelines; Kratix runs only the first", where, len(list))
			}
			seen := map[string]bool{}
			for i, pl := range list {
				where := fmt.Sprintf("%s[%d] (%s)", where, i, pl.GetName())
				// validatePipelineLabels; the webhook stops at a bad label.
				if errs := metav1validation.ValidateLabels(pl.GetLabels(), field.NewPath(where, "metadata", "labels")); len(errs) > 0 {
					for _, e := range errs {
						r.add("%v", e)
					}
					continue
				}
				if seen[pl.GetName()] {
					r.add("%s: duplicate pipeline name", where)
				}
				seen[pl.GetName()] = true
				checkPipelineJob(p, pl, typ, action, request, pipelineNamespace, where, r)
			}
		}
	}
}

// checkPipelineJob builds the pipeline's resources with Kratix's own
// PipelineFactory, as the webhook does, and applies the rules the API
// server's dry-run create of the Job would.
func checkPipelineJob(p *v1alpha1.Promise, pl v1alpha1.Pipeline, typ v1alpha1.Type, action v1alpha1.Action, request *unstructured.Unstructured, pipelineNamespace, where string, r *promiseReport) {
	factory := pipelineFactory(p, &pl, typ, action, request, pipelineNamespace)
	if len(factory.ID) > 60 {
		r.add("%s: %q is %d characters; Kratix allows 60 (it names the pipeline's ServiceAccount)", where, factory.ID, len(factory.ID))
	}
	if action == v1alpha1.WorkflowActionDelete && len(pl.Spec.Containers) == 0 {
		// PipelineFactory.pipelineJob makes the last container the Pod's
		// main container, indexing past an empty list.
		r.add("%s: a delete pipeline needs a container (Kratix's PipelineFactory panics without one)", where)
		return
	}
	_, resources, err := pipelineResources(p, &pl, typ, action, request, pipelineNamespace)
	if err != nil {
		r.add("%s: Kratix cannot build the pipeline's resources: %v", where, err)
		return
	}
	for _, e := range validateJob(resources.Job) {
		r.add("%s: Job %v", where, e)
	}
}

// pipelineFactory is Pipeline.ForResource or ForPromise as Kratix builds
// them, with spec.workflows.config.pipelineNamespace applied as upstream
// applies it: at ae170e22 (pipeline_types.go ForPromise and ForResource,
// added by 46e85a56, PR #585) both set the factory's Namespace to the
// Promise's pipelineNamespace when it is set, and change nothing else the
// factory is built from. So every object the factory makes (Job,
// ServiceAccount, Roles) is made in that namespace. What the factory does
// differently with the field at ae170e22 (the Job name gains the request's
// namespace, a ClusterRole for the request's resource, the status
// writer's --resource-namespace) is Kratix's own and not re-stated here.
func pipelineFactory(p *v1alpha1.Promise, pl *v1alpha1.Pipeline, typ v1alpha1.Type, action v1alpha1.Action, request *unstructured.Unstructured, pipelineNamespace string) *v1alpha1.PipelineFactory {
	var factory *v1alpha1.PipelineFactory
	switch typ {
	case v1alpha1.WorkflowTypeResource:
		factory = pl.ForResource(p, action, request)
	case v1alpha1.WorkflowTypePromise:
		factory = pl.ForPromise(p, action)
	}
	if pipelineNamespace != "" {
		factory.Namespace = pipelineNamespace
	}
	return factory
}

// pipelineResources returns what Kratix makes for a pipeline (Job,
// ServiceAccount, Roles), with pipelineNamespace applied as upstream
// applies it. The pinned factory always makes the request the Job's
// controller (an owner reference), which the API server refuses across
// namespaces; upstream at ae170e22 (pipeline_factory.go setReferences)
// sets none when the Job runs in another namespace than the request. So
// the pinned factory is handed the request as if it lived in the pipeline
// namespace, and the Job is then given what upstream gives it: no owner
// reference, and the request's own namespace in KRATIX_OBJECT_NAMESPACE
// (defaultEnvVars). Labels and the Job's name, which upstream also derives
// from the request's namespace, are left as the pin makes them.
func pipelineResources(p *v1alpha1.Promise, pl *v1alpha1.Pipeline, typ v1alpha1.Type, action v1alpha1.Action, request *unstructured.Unstructured, pipelineNamespace string) (*v1alpha1.PipelineFactory, v1alpha1.PipelineJobResources, error) {
	req := request
	moved := typ == v1alpha1.WorkflowTypeResource && pipelineNamespace != "" && request.GetNamespace() != pipelineNamespace
	if moved {
		req = request.DeepCopy()
		req.SetNamespace(pipelineNamespace)
	}
	factory := pipelineFactory(p, pl, typ, action, req, pipelineNamespace)
	resources, err := factory.Resources(nil)
	if err != nil || !moved {
		return factory, resources, err
	}
	factory.ResourceRequest = request
	resources.Job.OwnerReferences = nil
	spec := &resources.Job.Spec.Template.Spec
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			for j := range list[i].Env {
				if list[i].Env[j].Name == v1alpha1.KratixObjectNamespaceEnvVar {
					list[i].Env[j].Value = request.GetNamespace()
				}
			}
		}
	}
	return factory, resources, nil
}

// webhookDryRunRequest is promise_webhook.go exampleResourceRequest, with a
// fixed UID.
func webhookDryRunRequest(p *v1alpha1.Promise) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{
			"name":      "webhook-dry-run",
			"namespace": v1alpha1.SystemNamespace,
			"uid":       "00000000-0000-4000-8000-000000000000",
		},
	}}
	u.SetGroupVersionKind(p.GroupVersionKind())
	return u
}

// validateJob applies the part of the API server's Job validation that a
// Promise's pipelines can break (k8s.io/kubernetes pkg/apis/core/validation:
// ValidateObjectMeta's labels and annotations, validateInitContainers and
// validateContainers for names, ValidateVolumes, ValidateVolumeMounts).
// k8s.io/kubernetes cannot be imported, so these are re-stated here.
func validateJob(job *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, metav1validation.ValidateLabels(job.Labels, field.NewPath("metadata", "labels"))...)
	tmpl := field.NewPath("spec", "template")
	errs = append(errs, metav1validation.ValidateLabels(job.Spec.Template.Labels, tmpl.Child("metadata", "labels"))...)
	errs = append(errs, validation.ValidateAnnotations(job.Spec.Template.Annotations, tmpl.Child("metadata", "annotations"))...)

	spec := job.Spec.Template.Spec
	specPath := tmpl.Child("spec")
	volumes := map[string]bool{}
	for i, v := range spec.Volumes {
		p := specPath.Child("volumes").Index(i).Child("name")
		for _, msg := range utilvalidation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(p, v.Name, msg))
		}
		if volumes[v.Name] {
			errs = append(errs, field.Duplicate(p, v.Name))
		}
		volumes[v.Name] = true
	}
	// Init and main containers share one namespace of names.
	names := map[string]bool{}
	checkContainers := func(list []corev1.Container, path *field.Path) {
		for i, c := range list {
			p := path.Index(i)
			for _, msg := range utilvalidation.IsDNS1123Label(c.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
			}
			if names[c.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
			}
			names[c.Name] = true
			mountPaths := map[string]bool{}
			for j, m := range c.VolumeMounts {
				mp := p.Child("volumeMounts").Index(j)
				if !volumes[m.Name] {
					errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
				}
				if mountPaths[m.MountPath] {
					errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
				}
				mountPaths[m.MountPath] = true
			}
		}
	}
	checkContainers(spec.InitContainers, specPath.Child("initContainers"))
	checkContainers(spec.Containers, specPath.Child("containers"))
	return errs
}

// promiseFiles lists the repository's Promise files, relative to root.
func promiseFiles(root string) ([]string, error) {
	var files []string
	for _, pattern := range []string{"promises/*/*promise.yaml", "test/example/promise.yaml"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil {
				return nil, err
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	return files, nil
}
