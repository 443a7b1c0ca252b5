//go:build tools

// Package deps pins modules that packages are about to use, so helpers
// working in parallel do not race on go.mod.
package deps

import (
	_ "github.com/IBM/sarama"
	_ "github.com/google/uuid"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/valyala/fastjson"
)
