package recipe_test

import (
	"os"
	"testing"

	"github.com/warrenhq/warren/internal/testutil"
)

// TestMain builds the warren binary on first use and removes it after the
// run; it also serves the re-executed helper processes (TestHelperProcess).
func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }
