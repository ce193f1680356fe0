// Package integration holds Vigil's end-to-end tests against a real
// PostgreSQL 15 with pgaudit (started by internal/pgtest): an attack scenario
// run over real connections from several loopback addresses, whose server
// logs (stderr, csvlog, jsonlog) are replayed through the whole pipeline and
// must raise exactly the alerts the scenario expects, with no secret in clear.
//
// Run: go test ./integration  (about 10 s; needs
// apt-get install postgresql-15 postgresql-15-pgaudit). With -update-demo the
// run also rewrites testdata/demo/attack.log and its README.
package integration
