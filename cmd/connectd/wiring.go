package main

import (
	"log/slog"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/connector/kafka"
	"github.com/connectd/connectd/sinks/file"
	"github.com/connectd/connectd/sources/generator"
	"github.com/connectd/connectd/transforms/validate"
)

// newRegistry is the explicit list of plugins this binary runs.
func newRegistry() (*connector.Registry, error) {
	reg := connector.NewRegistry()
	for _, p := range []connector.Plugin{
		generator.Plugin(),
		file.Plugin(),
		validate.Plugin(),
	} {
		if err := reg.Register(p); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// kafkaClient adapts connector/kafka's Client to worker.Kafka.
type kafkaClient struct{ c *kafka.Client }

func newKafkaClient(brokers []string, logger *slog.Logger) (*kafkaClient, error) {
	c, err := kafka.NewClient(brokers, logger)
	if err != nil {
		return nil, err
	}
	return &kafkaClient{c}, nil
}

func (k *kafkaClient) NewConsumer(cfg connector.ConsumerConfig) (connector.Consumer, error) {
	return k.c.NewConsumer(cfg)
}

func (k *kafkaClient) NewCommitter(cfg connector.ProducerConfig) (connector.Committer, error) {
	return k.c.NewCommitter(cfg)
}

func (k *kafkaClient) Admin() connector.Admin        { return k.c.Admin() }
func (k *kafkaClient) Reader() connector.TopicReader { return k.c.TopicReader() }
func (k *kafkaClient) Close() error                  { return k.c.Close() }
