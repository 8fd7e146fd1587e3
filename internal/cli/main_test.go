package cli_test

import (
	"os"
	"testing"

	"github.com/warrenhq/warren/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunTests(m)) }
