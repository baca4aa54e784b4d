package testenv

import "encoding/binary"

// NestedBoxes returns depth box headers nested in each other (box i of size
// 8·(depth−i)+len(tail)), the outermost of type first, the others of type
// rest, then tail: the hostile bodies the recorder must refuse cheaply.
// NestedBoxes(1e6, "moof", "moof", nil) overflowed mp4ff's stack;
// NestedBoxes(20000, "moof", "traf", make([]byte, 8)) took GBs of memory.
func NestedBoxes(depth int, first, rest string, tail []byte) []byte {
	out := make([]byte, 8*depth+len(tail))
	for i := range depth {
		binary.BigEndian.PutUint32(out[8*i:], uint32(len(out)-8*i))
		typ := rest
		if i == 0 {
			typ = first
		}
		copy(out[8*i+4:], typ)
	}
	copy(out[8*depth:], tail)
	return out
}
