module github.com/warrenhq/warren

go 1.26.8

require (
	github.com/go-zookeeper/zk v1.0.4 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
