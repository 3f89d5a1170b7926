// Package deploy holds no code. Its directory ships what operators deploy
// next to the library: Prometheus alerting rules (prometheus/) with their
// unit tests, and a Grafana dashboard (grafana/). The package's tests check
// them with promtool and against a real Prometheus scraping the
// examples/cluster app and sessgc's textfile, so that a renamed metric
// fails the build rather than an operator's dashboard.
package deploy
