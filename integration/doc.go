// Package integration holds Vigil's end-to-end tests against real
// components:
//
//   - attack scenarios over real connections from several loopback
//     addresses against PostgreSQL 15 with pgaudit (internal/pgtest) and
//     MariaDB with server_audit (internal/mytest), whose logs are replayed
//     through the whole pipeline and must raise exactly the expected alerts,
//     with no secret in clear;
//   - the live daemon on a real server's log (vigil run);
//   - the real vigil binary killed with SIGKILL 20 times during 200k lines
//     and rotations, run on a full disk (needs root: a tmpfs), and
//     delivering to a webhook across a SIGKILL;
//   - Azure resource logs through a two-member Kafka consumer group
//     (franz-go's kfake) with a member killed midway.
//
// Run: go test ./integration  (about 2 min; needs
// apt-get install postgresql-15 postgresql-15-pgaudit mariadb-server). With
// -update-demo the run also rewrites testdata/demo/attack.log and its README.
package integration
