module github.com/warrenhq/warren

go 1.26.8

require (
	github.com/go-zookeeper/zk v1.0.4
	github.com/spf13/cobra v1.10.2
	github.com/stretchr/testify v1.12.1
	go.uber.org/zap v1.28.0
)

require (
	github.com/chzyer/readline v1.5.1
	golang.org/x/sys v0.0.0-20220310020820-b874c991c1a5 // indirect
)

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
