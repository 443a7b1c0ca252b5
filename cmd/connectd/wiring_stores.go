package main

import (
	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sinks/clickhouse"
	"github.com/connectd/connectd/sinks/iceberg"
	"github.com/connectd/connectd/sinks/s3"
)

// storePlugins lists the sinks for the hot and cold stores (S3, ClickHouse,
// Iceberg); each sink's change adds its Plugin here.
func storePlugins() []connector.Plugin {
	return []connector.Plugin{
		clickhouse.Plugin(),
		iceberg.Plugin(),
		s3.Plugin(),
	}
}
