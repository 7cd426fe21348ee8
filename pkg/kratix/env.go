package kratix

import (
	"fmt"
	"strconv"
)

// Workflow actions and types, as Kratix sets them in KRATIX_WORKFLOW_ACTION
// and KRATIX_WORKFLOW_TYPE.
const (
	ActionConfigure = "configure"
	ActionDelete    = "delete"
	TypeResource    = "resource"
	TypePromise     = "promise"
)

// Env is what Kratix tells a pipeline container through its environment.
type Env struct {
	WorkflowAction  string // KRATIX_WORKFLOW_ACTION: configure or delete
	WorkflowType    string // KRATIX_WORKFLOW_TYPE: resource or promise
	PromiseName     string // KRATIX_PROMISE_NAME
	PipelineName    string // KRATIX_PIPELINE_NAME
	ObjectKind      string // KRATIX_OBJECT_KIND
	ObjectGroup     string // KRATIX_OBJECT_GROUP
	ObjectVersion   string // KRATIX_OBJECT_VERSION
	ObjectName      string // KRATIX_OBJECT_NAME
	ObjectNamespace string // KRATIX_OBJECT_NAMESPACE; empty in promise workflows
	CRDPlural       string // KRATIX_CRD_PLURAL
	ClusterScoped   bool   // KRATIX_CLUSTER_SCOPED
	// DryRun is KRATIX_DRY_RUN, set since Kratix added the kratix.io/dry-run
	// label (August 2026). A stage must make no mutating call to an outside
	// system when it is true.
	DryRun bool
}

// ReadEnv reads the variables Kratix sets. getenv is os.Getenv in a binary
// and a map lookup in tests. It fails when the action or type is missing or
// unknown, since nothing sensible can run then.
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		WorkflowAction:  getenv("KRATIX_WORKFLOW_ACTION"),
		WorkflowType:    getenv("KRATIX_WORKFLOW_TYPE"),
		PromiseName:     getenv("KRATIX_PROMISE_NAME"),
		PipelineName:    getenv("KRATIX_PIPELINE_NAME"),
		ObjectKind:      getenv("KRATIX_OBJECT_KIND"),
		ObjectGroup:     getenv("KRATIX_OBJECT_GROUP"),
		ObjectVersion:   getenv("KRATIX_OBJECT_VERSION"),
		ObjectName:      getenv("KRATIX_OBJECT_NAME"),
		ObjectNamespace: getenv("KRATIX_OBJECT_NAMESPACE"),
		CRDPlural:       getenv("KRATIX_CRD_PLURAL"),
	}
	switch e.WorkflowAction {
	case ActionConfigure, ActionDelete:
	case "":
		return Env{}, fmt.Errorf("KRATIX_WORKFLOW_ACTION is not set: run this binary as a Kratix pipeline stage or through kratix-run")
	default:
		return Env{}, fmt.Errorf("KRATIX_WORKFLOW_ACTION: unknown action %q (want configure or delete)", e.WorkflowAction)
	}
	switch e.WorkflowType {
	case TypeResource, TypePromise:
	case "":
		return Env{}, fmt.Errorf("KRATIX_WORKFLOW_TYPE is not set")
	default:
		return Env{}, fmt.Errorf("KRATIX_WORKFLOW_TYPE: unknown type %q (want resource or promise)", e.WorkflowType)
	}
	var err error
	if e.ClusterScoped, err = parseBool("KRATIX_CLUSTER_SCOPED", getenv); err != nil {
		return Env{}, err
	}
	if e.DryRun, err = parseBool("KRATIX_DRY_RUN", getenv); err != nil {
		return Env{}, err
	}
	return e, nil
}

func parseBool(name string, getenv func(string) string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean", name, v)
	}
	return b, nil
}

// Paths are where a stage reads its input and writes its results. Kratix
// mounts them at /kratix; the KRATIX_INPUT_FILE, KRATIX_OUTPUT_DIR and
// KRATIX_METADATA_DIR overrides (the convention of Syntasso's own Go stages;
// Kratix never sets them) let a stage run outside a Pod.
type Paths struct {
	InputFile   string
	OutputDir   string
	MetadataDir string
}

// ReadPaths returns the /kratix paths, overridden where the environment says so.
func ReadPaths(getenv func(string) string) Paths {
	p := Paths{
		InputFile:   "/kratix/input/object.yaml",
		OutputDir:   "/kratix/output",
		MetadataDir: "/kratix/metadata",
	}
	if v := getenv("KRATIX_INPUT_FILE"); v != "" {
		p.InputFile = v
	}
	if v := getenv("KRATIX_OUTPUT_DIR"); v != "" {
		p.OutputDir = v
	}
	if v := getenv("KRATIX_METADATA_DIR"); v != "" {
		p.MetadataDir = v
	}
	return p
}
