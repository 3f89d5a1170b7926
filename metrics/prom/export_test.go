package prom

import "github.com/prometheus/client_golang/prometheus"

// BreakerGaugeForTest returns the sessfs_breaker_open gauge.
func (o *Observer) BreakerGaugeForTest() prometheus.Gauge { return o.breaker }
