package layout

import (
	"fmt"
	"regexp"
)

// ExportJobRecordVersion is the version of the export job record format.
const ExportJobRecordVersion = 1

var exportJobIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ExportJobKey is the key of the record of export job id of a channel in
// an export-to store (serve --export-to; not the archive's store):
// _jobs/<channel>/<id>.json (LAYOUT.md, Export job records). Neither a
// channel's export directory (<channel>-<from>-<to>/) nor a channel name
// starts with "_".
func ExportJobKey(channel, id string) (string, error) {
	if err := ValidName("channel", channel); err != nil {
		return "", err
	}
	if !exportJobIDRE.MatchString(id) {
		return "", fmt.Errorf("%w: export job id %q (want 16 lower-case hex digits)", ErrBadName, id)
	}
	return "_jobs/" + channel + "/" + id + ".json", nil
}
