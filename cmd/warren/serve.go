package main

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/warrenhq/warren/core/config"
	"github.com/warrenhq/warren/core/serve"
)

// runServe is the production ServeFunc: core/serve's server.
func runServe(ctx context.Context, cfg *config.Config, log *zap.Logger) error {
	serve.BuildVersion = currentBuild().Version
	s, err := serve.New(cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return s.Run(ctx)
}
