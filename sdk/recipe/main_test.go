package recipe_test

import (
	"os"
	"testing"

	"github.com/warrenhq/warren/internal/testutil"
)

// TestMain builds the warren binary on first use and removes it after the
// run; it also serves the re-executed helper processes (TestHelperProcess).
// The compiled Java test programs are removed too.
func TestMain(m *testing.M) {
	code := testutil.RunTests(m)
	removeJavaClasses()
	os.Exit(code)
}
