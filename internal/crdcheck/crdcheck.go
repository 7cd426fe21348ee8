// Package crdcheck validates objects against a CustomResourceDefinition the
// way the Kubernetes API server does on create, offline: the structural
// OpenAPI schema, defaults, list-type invariants, embedded ObjectMeta and the
// CEL rules in x-kubernetes-validations, all with k8s.io/apiextensions-apiserver's
// own code. Unknown fields, which the API server prunes silently, are
// reported as problems, as kubectl's strict field validation reports them.
//
// It is for tests only: apiextensions-apiserver pulls in some nine hundred
// packages, and no pipeline binary may import this package.
package crdcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Validator checks objects against one CustomResourceDefinition. Its
// schemas and CEL programs are compiled once by Load; it holds no state
// between calls and is safe for concurrent use.
type Validator struct {
	group      string
	kind       string
	namespaced bool
	// versions holds the served versions only: the API server refuses the others.
	versions map[string]*versionSchema
}

// versionSchema is everything compiled for one served version.
type versionSchema struct {
	structural *structuralschema.Structural
	schema     schemavalidation.SchemaValidator
	// rules is nil when the schema has no x-kubernetes-validations.
	rules *cel.Validator
	// hasStatus records a status subresource: the API server then drops
	// status on create, so its schema does not apply.
	hasStatus bool
}

// LoadFile reads a CustomResourceDefinition from a YAML or JSON file and
// compiles it; see Load.
func LoadFile(path string) (*Validator, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CRD: %w", err)
	}
	v, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Load compiles an apiextensions.k8s.io/v1 CustomResourceDefinition given as
// YAML or JSON. The CRD is decoded strictly and must pass the API server's
// own CRD validation (structural schema, pruned defaults, CEL rules that
// compile within their cost budget), so a CRD the cluster would refuse is an
// error here rather than a validator that accepts everything. That check
// is most of Load's cost (about 0.3 s for Gateway API's HTTPRoute CRD,
// against 2 ms to validate a route): load once per test, not per case.
func Load(crdYAML []byte) (*Validator, error) {
	crd, err := decodeCRD(crdYAML)
	if err != nil {
		return nil, err
	}
	if crd.APIVersion != "apiextensions.k8s.io/v1" || crd.Kind != "CustomResourceDefinition" {
		return nil, fmt.Errorf("not an apiextensions.k8s.io/v1 CustomResourceDefinition (apiVersion %q, kind %q)", crd.APIVersion, crd.Kind)
	}
	if err := validateCRD(crd); err != nil {
		return nil, fmt.Errorf("CRD %s: %w", crd.Name, err)
	}

	v := &Validator{
		group:      crd.Spec.Group,
		kind:       crd.Spec.Names.Kind,
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		versions:   map[string]*versionSchema{},
	}
	for _, ver := range crd.Spec.Versions {
		if !ver.Served {
			continue
		}
		vs, err := compileVersion(ver)
		if err != nil {
			return nil, fmt.Errorf("CRD %s version %s: %w", crd.Name, ver.Name, err)
		}
		v.versions[ver.Name] = vs
	}
	if len(v.versions) == 0 {
		return nil, fmt.Errorf("CRD %s serves no version", crd.Name)
	}
	return v, nil
}

// decodeCRD decodes strictly, naming unknown and duplicate fields by path,
// as kubectl's strict field validation would.
func decodeCRD(data []byte) (*apiextensionsv1.CustomResourceDefinition, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("decoding CRD: %w", err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	strictErrs, err := sigsjson.UnmarshalStrict(js, &crd, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, fmt.Errorf("decoding CRD: %w", err)
	}
	if err := errors.Join(strictErrs...); err != nil {
		return nil, fmt.Errorf("decoding CRD: %w", err)
	}
	return &crd, nil
}

// validateCRD runs the checks the API server applies when the CRD is
// created, after the defaulting and status reset it does first
// (customresourcedefinition strategy PrepareForCreate).
func validateCRD(crd *apiextensionsv1.CustomResourceDefinition) error {
	defaulted := crd.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(defaulted)
	var internal apiextensionsinternal.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(defaulted, &internal, nil); err != nil {
		return fmt.Errorf("converting to the internal version: %w", err)
	}
	internal.Status = apiextensionsinternal.CustomResourceDefinitionStatus{}
	for _, ver := range internal.Spec.Versions {
		if ver.Storage {
			internal.Status.StoredVersions = []string{ver.Name}
			break
		}
	}
	errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal)
	if len(errs) > 0 {
		return errors.New(strings.Join(formatErrors(errs), "; "))
	}
	return nil
}

func compileVersion(ver apiextensionsv1.CustomResourceDefinitionVersion) (*versionSchema, error) {
	if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
		// CRD validation requires a schema for apiextensions.k8s.io/v1.
		return nil, errors.New("no openAPIV3Schema")
	}
	var props apiextensionsinternal.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(ver.Schema.OpenAPIV3Schema, &props, nil); err != nil {
		return nil, fmt.Errorf("converting schema: %w", err)
	}
	structural, err := structuralschema.NewStructural(&props)
	if err != nil {
		return nil, fmt.Errorf("schema is not structural: %w", err)
	}
	validator, _, err := schemavalidation.NewSchemaValidator(&props)
	if err != nil {
		return nil, fmt.Errorf("building schema validator: %w", err)
	}
	return &versionSchema{
		structural: structural,
		schema:     validator,
		rules:      cel.NewValidator(structural, true, celconfig.PerCallLimit),
		hasStatus:  ver.Subresources != nil && ver.Subresources.Status != nil,
	}, nil
}

// Validate checks one object, given as YAML or JSON, as the API server
// would on create. It returns every problem as "field.path: message",
// sorted; no problems means the object is valid.
//
// An object without a namespace is checked as if in "default", where
// kubectl would create it; a namespace on a cluster-scoped object is
// ignored, as the API server ignores it.
func (v *Validator) Validate(objYAML []byte) []string {
	obj, err := decodeObject(objYAML)
	if err != nil {
		return []string{"<object>: " + err.Error()}
	}
	vs, errs := v.versionFor(obj)
	if len(errs) > 0 {
		return formatErrors(errs)
	}
	if vs.hasStatus {
		// A create through the main resource cannot set status (the
		// strategy's PrepareForCreate drops it), so status is not the
		// requester's to get right.
		delete(obj, "status")
	}

	// Decoding, as the API server's unstructuredSchemaCoercer does it:
	// metadata into ObjectMeta, then pruning, with unknown fields recorded.
	meta, hasMeta, unknown, err := objectmeta.GetObjectMetaWithOptions(obj, objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return []string{"metadata: " + err.Error()}
	}
	unknown = append(unknown, pruning.PruneWithOptions(obj, vs.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, vs.structural)
	ferr, embeddedUnknown := objectmeta.CoerceWithOptions(nil, obj, vs.structural, false, objectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if ferr != nil {
		return formatErrors(field.ErrorList{ferr})
	}
	unknown = append(unknown, embeddedUnknown...)
	if !hasMeta {
		meta = &metav1.ObjectMeta{}
	}
	v.placeNamespace(meta)
	if err := objectmeta.SetObjectMeta(obj, meta); err != nil {
		return []string{"metadata: " + err.Error()}
	}

	// Defaults are applied when decoding, before any validation: CEL rules
	// see defaulted values (HTTPRoute's rules read path.type, which
	// defaults to PathPrefix).
	defaulting.Default(obj, vs.structural)

	u := &unstructured.Unstructured{Object: obj}
	errs = append(errs, metavalidation.ValidateObjectMetaAccessor(u, v.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, schemavalidation.ValidateCustomResource(nil, obj, vs.schema)...)
	errs = append(errs, objectmeta.Validate(nil, obj, vs.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, vs.structural, obj)...)
	var problems []string
	if vs.rules != nil {
		if hasBlockingError(errs) {
			problems = append(problems, "<object>: "+rulesSkipped)
		} else {
			// The cost budget, not a context, bounds CEL evaluation; nothing
			// here waits on the network.
			celErrs, _ := vs.rules.Validate(context.Background(), nil, vs.structural, obj, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}

	problems = append(problems, formatErrors(errs)...)
	for _, p := range unknown {
		problems = append(problems, p+": unknown field")
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// decodeObject decodes YAML into JSON values the way the API server holds
// them: whole numbers as int64, which CEL's int type and defaulting's deep
// copy require, and duplicate keys refused as kubectl refuses them.
func decodeObject(data []byte) (map[string]any, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("empty document")
	}
	return obj, nil
}

// versionFor returns the schema for the object's apiVersion, or the type
// errors the API server would answer with.
func (v *Validator) versionFor(obj map[string]any) (*versionSchema, field.ErrorList) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	var errs field.ErrorList
	if kind != v.kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), kind, "must be "+v.kind))
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	switch {
	case err != nil:
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), apiVersion, err.Error()))
	case gv.Group != v.group:
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), apiVersion, "must be in group "+v.group))
	case v.versions[gv.Version] == nil:
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), apiVersion, v.servedAPIVersions()))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return v.versions[gv.Version], nil
}

func (v *Validator) servedAPIVersions() []string {
	out := make([]string, 0, len(v.versions))
	for name := range v.versions {
		out = append(out, v.group+"/"+name)
	}
	slices.Sort(out)
	return out
}

// placeNamespace does what kubectl and the API server do before
// validation: an unnamespaced request for a namespaced kind goes to
// "default", and a cluster-scoped object loses any namespace it names
// (genericregistry's EnsureObjectNamespaceMatchesRequestNamespace).
func (v *Validator) placeNamespace(meta *metav1.ObjectMeta) {
	switch {
	case !v.namespaced:
		meta.Namespace = ""
	case meta.Namespace == "":
		meta.Namespace = metav1.NamespaceDefault
	}
}

// rulesSkipped is the API server's notice when it skips CEL rules.
const rulesSkipped = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// hasBlockingError mirrors the API server's hasBlockingErr
// (pkg/registry/customresource/strategy.go): after a missing, mistyped,
// unsupported or oversized value, CEL rules are skipped, since they would
// fail on the same value or cost more than their budget allows.
func hasBlockingError(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// formatErrors renders field errors as "field.path: message", sorted.
func formatErrors(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, err := range errs {
		path := err.Field
		if path == "" || path == "<nil>" { // (*field.Path)(nil).String()
			path = "<object>"
		}
		out = append(out, path+": "+err.ErrorBody())
	}
	slices.Sort(out)
	return out
}
