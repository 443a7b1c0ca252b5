package main

import (
	"log/slog"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/processors/window"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
	"github.com/connectd/connectd/transforms/validate"
	"github.com/connectd/connectd/worker"
)

// newRegistry is the explicit list of plugins this binary runs.
func newRegistry() (*connector.Registry, error) {
	reg := connector.NewRegistry()
	for _, p := range append([]connector.Plugin{
		generator.Plugin(),
		file.Plugin(),
		validate.Plugin(),
		window.Plugin(),
	}, storePlugins()...) {
		if err := reg.Register(p); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// newKafkaClient connects to Kafka; *kafka.Client is a worker.Kafka.
func newKafkaClient(brokers []string, logger *slog.Logger) (*kafka.Client, error) {
	return kafka.NewClient(brokers, logger)
}

var _ worker.Kafka = (*kafka.Client)(nil)
