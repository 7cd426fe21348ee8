package environment

import (
	"os"
	"testing"

	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

// moto is shared by the package's AWS tests, started by the first of them.
var moto motoserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	moto.Close()
	api.Close()
	os.Exit(code)
}
