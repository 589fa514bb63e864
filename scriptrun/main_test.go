package scriptrun

import (
	"os"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestMain removes the programs the tests built (testenv.Main).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
